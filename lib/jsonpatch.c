/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jsonpatch: RFC 6902 on yajl trees, for CloudflareGatewayParameters
 * tunnel.patches (applied to each tunnel Deployment, as the reference
 * does).  Pointers are RFC 6901.  Objects keep their key order; an added
 * key goes last, a replaced value stays where it was.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonpatch.h"
#include "kube.h"

#define JP_TOK_MAX	256
/*
 * Copies can double a document per operation (copy "" into it): no
 * document grows past this many values (a Deployment has ~200), and a
 * patch has at most JP_MAX_OPS operations, so one costs little.
 */
#define JP_MAX_VALUES	10000
#define JP_MAX_OPS	256

/* The next reference token at *p (which must be at a '/'), unescaped. */
static int
jp_token(const char **p, char *tok, size_t sz)
{
	const char	*s = *p;
	size_t		 n = 0;
	char		 c;

	if (*s != '/')
		return -1;
	for (s++; *s != '\0' && *s != '/'; s++) {
		c = *s;
		if (c == '~') {
			if (s[1] != '0' && s[1] != '1')
				return -1;
			c = s[1] == '0' ? '~' : '/';
			s++;
		}
		if (n + 1 >= sz)
			return -1;
		tok[n++] = c;
	}
	tok[n] = '\0';
	*p = s;
	return 0;
}

static long
jp_find(yajl_val o, const char *k)
{
	size_t	 i;

	for (i = 0; i < o->u.object.len; i++)
		if (strcmp(o->u.object.keys[i], k) == 0)
			return (long)i;
	return -1;
}

/* An array index (digits, no leading zero); "-" is len when end is set. */
static long
jp_index(const char *t, size_t len, int end)
{
	size_t	 n = strlen(t);

	if (end && strcmp(t, "-") == 0)
		return (long)len;
	if (n == 0 || n > 9 || (t[0] == '0' && n > 1) ||
	    strspn(t, "0123456789") != n)
		return -1;
	return strtol(t, NULL, 10);
}

/*
 * The container holding the pointer's last token (NULL for "", the
 * document itself), and that token.
 */
static int
jp_parent(yajl_val doc, const char *path, yajl_val *parent, char *last,
    size_t sz)
{
	const char	*p = path;
	yajl_val	 cur = doc;
	long		 i;

	*parent = NULL;
	if (*path == '\0')
		return 0;
	if (jp_token(&p, last, sz) == -1)
		return -1;
	while (*p != '\0') {
		if (YAJL_IS_OBJECT(cur) && (i = jp_find(cur, last)) >= 0)
			cur = cur->u.object.values[i];
		else if (YAJL_IS_ARRAY(cur) && (i = jp_index(last,
		    cur->u.array.len, 0)) >= 0 &&
		    (size_t)i < cur->u.array.len)
			cur = cur->u.array.values[i];
		else
			return -1;
		if (jp_token(&p, last, sz) == -1)
			return -1;
	}
	if (!YAJL_IS_OBJECT(cur) && !YAJL_IS_ARRAY(cur))
		return -1;
	*parent = cur;
	return 0;
}

/* The value's slot in its container, or NULL. */
static yajl_val *
jp_slot(yajl_val *doc, const char *path)
{
	yajl_val	 par;
	char		 last[JP_TOK_MAX];
	long		 i;

	if (jp_parent(*doc, path, &par, last, sizeof(last)) == -1)
		return NULL;
	if (par == NULL)
		return doc;
	if (YAJL_IS_OBJECT(par))
		return (i = jp_find(par, last)) < 0 ? NULL :
		    &par->u.object.values[i];
	i = jp_index(last, par->u.array.len, 0);
	return i < 0 || (size_t)i >= par->u.array.len ? NULL :
	    &par->u.array.values[i];
}

static int
jp_add(yajl_val *doc, const char *path, yajl_val v, const char **why)
{
	yajl_val	 par, *vals;
	const char	**keys;
	char		 last[JP_TOK_MAX], *k;
	size_t		 n;
	long		 i;

	*why = "path not found";
	if (jp_parent(*doc, path, &par, last, sizeof(last)) == -1)
		goto fail;
	*why = "out of memory";
	if (par == NULL) {
		yajl_tree_free(*doc);
		*doc = v;
		return 0;
	}
	if (YAJL_IS_OBJECT(par)) {
		if ((i = jp_find(par, last)) >= 0) {
			yajl_tree_free(par->u.object.values[i]);
			par->u.object.values[i] = v;
			return 0;
		}
		n = par->u.object.len;
		if ((k = strdup(last)) == NULL)
			goto fail;
		keys = reallocarray(par->u.object.keys, n + 1, sizeof(*keys));
		if (keys != NULL)
			par->u.object.keys = keys;
		vals = reallocarray(par->u.object.values, n + 1,
		    sizeof(*vals));
		if (vals != NULL)
			par->u.object.values = vals;
		if (keys == NULL || vals == NULL) {
			free(k);
			goto fail;
		}
		keys[n] = k;
		vals[n] = v;
		par->u.object.len++;
		return 0;
	}
	n = par->u.array.len;
	if ((i = jp_index(last, n, 1)) < 0 || (size_t)i > n) {
		*why = "array index out of range";
		goto fail;
	}
	if ((vals = reallocarray(par->u.array.values, n + 1,
	    sizeof(*vals))) == NULL)
		goto fail;
	par->u.array.values = vals;
	memmove(vals + i + 1, vals + i, (n - (size_t)i) * sizeof(*vals));
	vals[i] = v;
	par->u.array.len++;
	return 0;
fail:
	yajl_tree_free(v);
	return -1;
}

/* Take the value out of the document; NULL if it is not there. */
static yajl_val
jp_detach(yajl_val *doc, const char *path)
{
	yajl_val	 par, v;
	char		 last[JP_TOK_MAX];
	size_t		 n;
	long		 i;

	if (jp_parent(*doc, path, &par, last, sizeof(last)) == -1 ||
	    par == NULL)
		return NULL;
	if (YAJL_IS_OBJECT(par)) {
		if ((i = jp_find(par, last)) < 0)
			return NULL;
		n = par->u.object.len - (size_t)i - 1;
		v = par->u.object.values[i];
		free((char *)(uintptr_t)par->u.object.keys[i]);
		memmove(par->u.object.keys + i, par->u.object.keys + i + 1,
		    n * sizeof(*par->u.object.keys));
		memmove(par->u.object.values + i, par->u.object.values + i + 1,
		    n * sizeof(*par->u.object.values));
		par->u.object.len--;
		return v;
	}
	if ((i = jp_index(last, par->u.array.len, 0)) < 0 ||
	    (size_t)i >= par->u.array.len)
		return NULL;
	n = par->u.array.len - (size_t)i - 1;
	v = par->u.array.values[i];
	memmove(par->u.array.values + i, par->u.array.values + i + 1,
	    n * sizeof(*par->u.array.values));
	par->u.array.len--;
	return v;
}

static int
jp_equal(yajl_val a, yajl_val b)
{
	size_t	 i;
	long	 k;

	if (a == NULL || b == NULL || a->type != b->type)
		return 0;
	switch (a->type) {
	case yajl_t_string:
		return strcmp(a->u.string, b->u.string) == 0;
	case yajl_t_number:
		if (YAJL_IS_INTEGER(a) && YAJL_IS_INTEGER(b))
			return a->u.number.i == b->u.number.i;
		return strtod(a->u.number.r, NULL) ==
		    strtod(b->u.number.r, NULL);
	case yajl_t_object:
		if (a->u.object.len != b->u.object.len)
			return 0;
		for (i = 0; i < a->u.object.len; i++)
			if ((k = jp_find(b, a->u.object.keys[i])) < 0 ||
			    !jp_equal(a->u.object.values[i],
			    b->u.object.values[k]))
				return 0;
		return 1;
	case yajl_t_array:
		if (a->u.array.len != b->u.array.len)
			return 0;
		for (i = 0; i < a->u.array.len; i++)
			if (!jp_equal(a->u.array.values[i],
			    b->u.array.values[i]))
				return 0;
		return 1;
	default:
		return 1;	/* null, true, false */
	}
}

/* How many values v holds, counting stops past max. */
static size_t
jp_count(yajl_val v, size_t max)
{
	size_t	 i, n = 1;

	if (YAJL_IS_OBJECT(v))
		for (i = 0; i < v->u.object.len && n <= max; i++)
			n += jp_count(v->u.object.values[i], max - n);
	else if (YAJL_IS_ARRAY(v))
		for (i = 0; i < v->u.array.len && n <= max; i++)
			n += jp_count(v->u.array.values[i], max - n);
	return n;
}

/* One operation; NULL or why it failed. */
static const char *
jp_op(yajl_val *doc, const char *op, const char *path, const char *from,
    yajl_val value)
{
	yajl_val	 v, *slot;
	const char	*why = NULL;
	size_t		 n;

	if (strcmp(op, "add") == 0 || strcmp(op, "replace") == 0 ||
	    strcmp(op, "test") == 0) {
		if (value == NULL)
			return "no value";
		if (strcmp(op, "test") == 0)
			return (slot = jp_slot(doc, path)) != NULL &&
			    jp_equal(*slot, value) ? NULL : "test failed";
		if ((v = kube_val_dup(value)) == NULL)
			return "out of memory";
		if (strcmp(op, "add") == 0)
			return jp_add(doc, path, v, &why) == 0 ? NULL : why;
		if ((slot = jp_slot(doc, path)) == NULL) {
			yajl_tree_free(v);
			return "path not found";
		}
		yajl_tree_free(*slot);
		*slot = v;
		return NULL;
	}
	if (strcmp(op, "remove") == 0) {
		if ((v = jp_detach(doc, path)) == NULL)
			return *path == '\0' ? "cannot remove the document" :
			    "path not found";
		yajl_tree_free(v);
		return NULL;
	}
	if (strcmp(op, "move") != 0 && strcmp(op, "copy") != 0)
		return "unknown op";
	if (from == NULL)
		return "no from";
	if (strcmp(op, "copy") == 0) {
		if ((slot = jp_slot(doc, from)) == NULL)
			return "from not found";
		if (jp_count(*doc, JP_MAX_VALUES) + jp_count(*slot,
		    JP_MAX_VALUES) > JP_MAX_VALUES)
			return "the document would grow too large";
		if ((v = kube_val_dup(*slot)) == NULL)
			return "out of memory";
		return jp_add(doc, path, v, &why) == 0 ? NULL : why;
	}
	if (strcmp(path, from) == 0)
		return jp_slot(doc, from) != NULL ? NULL : "from not found";
	n = strlen(from);
	if (strncmp(path, from, n) == 0 && path[n] == '/')
		return "path is inside from";
	if ((v = jp_detach(doc, from)) == NULL)
		return "from not found";
	return jp_add(doc, path, v, &why) == 0 ? NULL : why;
}

int
jsonpatch_apply(yajl_val *doc, yajl_val ops, char *err, size_t errsz)
{
	yajl_val	 o;
	const char	*op, *path, *why;
	size_t		 i;

	if (ops == NULL)
		return 0;
	if (!YAJL_IS_ARRAY(ops)) {
		snprintf(err, errsz, "not a list of operations");
		return -1;
	}
	if (json_len(ops) > JP_MAX_OPS) {
		snprintf(err, errsz, "more than %d operations", JP_MAX_OPS);
		return -1;
	}
	for (i = 0; i < json_len(ops); i++) {
		o = json_at(ops, i);
		op = json_str(o, "op");
		path = json_str(o, "path");
		if (op == NULL || path == NULL) {
			snprintf(err, errsz, "[%zu]: op and path are required",
			    i);
			return -1;
		}
		if ((why = jp_op(doc, op, path, json_str(o, "from"),
		    json_get(o, "value"))) != NULL) {
			snprintf(err, errsz, "[%zu] (%.16s %.200s): %s", i, op,
			    path, why);
			return -1;
		}
	}
	return 0;
}

int
jsonpatch_add(yajl_val *doc, const char *path, yajl_val v, char *err,
    size_t errsz)
{
	const char	*why;

	if (jp_add(doc, path, v, &why) == 0)
		return 0;
	snprintf(err, errsz, "add %.200s: %s", path, why);
	return -1;
}
