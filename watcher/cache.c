/* SPDX-License-Identifier: Apache-2.0 */
/* cache: the watcher's objects of one kind, by "namespace/name". */
#include <stdlib.h>
#include <string.h>

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
			free(o->key);
			yajl_tree_free(o->obj);
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

int
wcache_put(struct wcache *c, const char *key, yajl_val obj)
{
	struct wobj	*o;
	size_t		 h;

	if ((o = wcache_get(c, key)) != NULL) {
		yajl_tree_free(o->obj);
		o->obj = obj;
		return 0;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->key = strdup(key)) == NULL) {
		free(o);
		yajl_tree_free(obj);
		return -1;
	}
	o->obj = obj;
	h = wcache_hash(key) % c->nb;
	o->next = c->b[h];
	c->b[h] = o;
	if (++c->n > c->nb * 2)
		wcache_grow(c);
	return 0;
}

yajl_val
wcache_take(struct wcache *c, const char *key)
{
	struct wobj	**pp, *o;
	yajl_val	  v;

	for (pp = &c->b[wcache_hash(key) % c->nb]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) != 0)
			continue;
		o = *pp;
		*pp = o->next;
		v = o->obj;
		free(o->key);
		free(o);
		c->n--;
		return v;
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
