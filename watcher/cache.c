/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache: the watcher's objects of one kind, by "namespace/name".  An
 * object is kept as its compact JSON (what is published), packed with
 * objpack, in one allocation with its key and resourceVersion: a parsed
 * tree costs about eight times the JSON, the JSON about four times the
 * packed form.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "objpack.h"
#include "watcher.h"

#define WCACHE_MIN	64

static size_t
wcache_hash(const char *s)
{
	size_t	 h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h;
}

int
wcache_init(struct wcache *c)
{
	c->n = 0;
	c->nb = WCACHE_MIN;
	c->b = calloc(c->nb, sizeof(*c->b));
	return c->b == NULL ? -1 : 0;
}

void
wcache_free(struct wcache *c)
{
	struct wobj	*o, *next;
	size_t		 i;

	for (i = 0; i < c->nb; i++)
		for (o = c->b[i]; o != NULL; o = next) {
			next = o->next;
			free(o);
		}
	free(c->b);
	c->b = NULL;
	c->nb = c->n = 0;
}

struct wobj *
wcache_get(struct wcache *c, const char *key)
{
	struct wobj	*o;

	for (o = c->b[wcache_hash(key) % c->nb]; o != NULL; o = o->next)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

static void
wcache_grow(struct wcache *c)
{
	struct wobj	**nb, *o, *next;
	size_t		 i, n = c->nb * 2, h;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* keep the longer chains */
	for (i = 0; i < c->nb; i++)
		for (o = c->b[i]; o != NULL; o = next) {
			next = o->next;
			h = wcache_hash(o->key) % n;
			o->next = nb[h];
			nb[h] = o;
		}
	free(c->b);
	c->b = nb;
	c->nb = n;
}

struct wobj *
wobj_new(const char *key, const char *rv, const char *json, size_t len)
{
	struct wobj	*o;
	const void	*pack;
	size_t		 kl = strlen(key), rl = strlen(rv), pl;

	if (kl + rl + 2 > UINT16_MAX ||
	    (pack = objpack_pack(json, len, &pl)) == NULL ||
	    (o = malloc(offsetof(struct wobj, key) + kl + rl + pl + 2)) == NULL)
		return NULL;
	o->next = NULL;
	memcpy(o->key, key, kl + 1);
	o->rv = (uint16_t)(kl + 1);
	memcpy(o->key + o->rv, rv, rl + 1);
	o->pack = (uint16_t)(kl + rl + 2);
	memcpy(o->key + o->pack, pack, pl);
	o->packlen = (uint32_t)pl;
	return o;
}

char *
wobj_json(const struct wobj *o, size_t *len)
{
	char	*json;

	if ((json = objpack_unpack(WOBJ_PACK(o), o->packlen, 0, len)) ==
	    NULL)
		log_warnx("%s: cannot unpack the cached object", o->key);
	return json;
}

void
wcache_put(struct wcache *c, struct wobj *o)
{
	struct wobj	**pp;
	size_t		  h = wcache_hash(o->key) % c->nb;

	for (pp = &c->b[h]; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->key, o->key) == 0) {
			o->next = (*pp)->next;
			free(*pp);
			*pp = o;
			return;
		}
	o->next = c->b[h];
	c->b[h] = o;
	if (++c->n > c->nb * 2)
		wcache_grow(c);
}

struct wobj *
wcache_take(struct wcache *c, const char *key)
{
	struct wobj	**pp, *o;

	for (pp = &c->b[wcache_hash(key) % c->nb]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) != 0)
			continue;
		o = *pp;
		*pp = o->next;
		o->next = NULL;
		c->n--;
		return o;
	}
	return NULL;
}

void
wcache_walk(struct wcache *c, void (*fn)(void *, struct wobj *), void *arg)
{
	struct wobj	*o;
	size_t		 i;

	for (i = 0; i < c->nb; i++)
		for (o = c->b[i]; o != NULL; o = o->next)
			fn(arg, o);
}

void
wcache_swap(struct wcache *a, struct wcache *b)
{
	struct wcache	 t = *a;

	*a = *b;
	*b = t;
}

int
wjson_set_str(yajl_val obj, const char *key, const char *v)
{
	yajl_val	 s, *vals;
	const char	**keys;
	size_t		 i, n;

	if (obj == NULL || !YAJL_IS_OBJECT(obj))
		return -1;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->type = yajl_t_string;
	if ((s->u.string = strdup(v)) == NULL) {
		free(s);
		return -1;
	}
	n = obj->u.object.len;
	for (i = 0; i < n; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0) {
			yajl_tree_free(obj->u.object.values[i]);
			obj->u.object.values[i] = s;
			return 0;
		}
	keys = realloc(obj->u.object.keys, (n + 1) * sizeof(*keys));
	if (keys != NULL)
		obj->u.object.keys = keys;
	vals = realloc(obj->u.object.values, (n + 1) * sizeof(*vals));
	if (vals != NULL)
		obj->u.object.values = vals;
	if (keys == NULL || vals == NULL ||
	    (keys[n] = strdup(key)) == NULL) {
		yajl_tree_free(s);
		return -1;
	}
	vals[n] = s;
	obj->u.object.len++;
	return 0;
}

void
wjson_del(yajl_val obj, const char *key)
{
	size_t	 i, n;

	if (obj == NULL || !YAJL_IS_OBJECT(obj))
		return;
	n = obj->u.object.len;
	for (i = 0; i < n; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0) {
			free((char *)obj->u.object.keys[i]);
			yajl_tree_free(obj->u.object.values[i]);
			memmove(&obj->u.object.keys[i],
			    &obj->u.object.keys[i + 1],
			    (n - i - 1) * sizeof(*obj->u.object.keys));
			memmove(&obj->u.object.values[i],
			    &obj->u.object.values[i + 1],
			    (n - i - 1) * sizeof(*obj->u.object.values));
			obj->u.object.len--;
			return;
		}
}
