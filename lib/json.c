/* SPDX-License-Identifier: Apache-2.0 */
/* json: tree lookups and a writer over yajl. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct jw {
	yajl_gen	 g;
	int		 failed;
};

/*
 * Trees are freed, copied and compared recursively: nothing deeper than
 * this is parsed (the watch decoder stops at 64 already).
 */
#define JSON_MAX_DEPTH	256

/* 1 if the text nests arrays and objects deeper than JSON_MAX_DEPTH. */
static int
json_too_deep(const char *s, size_t len)
{
	size_t	 i;
	int	 depth = 0, str = 0;

	for (i = 0; i < len; i++) {
		if (str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				str = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			str = 1;
			break;
		case '[':
		case '{':
			if (++depth > JSON_MAX_DEPTH)
				return 1;
			break;
		case ']':
		case '}':
			depth--;
			break;
		}
	}
	return 0;
}

yajl_val
json_parse(const char *buf, size_t len, char *err, size_t errsz)
{
	char		*copy;
	yajl_val	 v;

	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if ((copy = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	if (memchr(buf, '\0', len) != NULL || json_too_deep(buf, len)) {
		if (err != NULL && errsz > 0)
			strncpy(err, memchr(buf, '\0', len) != NULL ?
			    "NUL byte in JSON" : "JSON nested too deeply",
			    errsz - 1), err[errsz - 1] = '\0';
		free(copy);
		return NULL;
	}
	v = yajl_tree_parse(copy, err, errsz);
	free(copy);
	return v;
}

void
json_free(yajl_val *v)
{
	if (*v != NULL)
		yajl_tree_free(*v);
	*v = NULL;
}

yajl_val
json_get(yajl_val obj, const char *key)
{
	size_t	 i;

	if (obj == NULL || !YAJL_IS_OBJECT(obj))
		return NULL;
	for (i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

yajl_val
json_path(yajl_val v, ...)
{
	va_list		 ap;
	const char	*k;

	va_start(ap, v);
	while (v != NULL && (k = va_arg(ap, const char *)) != NULL)
		v = json_get(v, k);
	va_end(ap);
	return v;
}

const char *
json_str(yajl_val obj, const char *key)
{
	yajl_val v = key != NULL ? json_get(obj, key) : obj;

	return (v != NULL && YAJL_IS_STRING(v)) ? v->u.string : NULL;
}

int
json_int(yajl_val obj, const char *key, long long *out)
{
	yajl_val v = key != NULL ? json_get(obj, key) : obj;

	if (v == NULL || !YAJL_IS_INTEGER(v))
		return -1;
	*out = YAJL_GET_INTEGER(v);
	return 0;
}

int
json_bool(yajl_val obj, const char *key, int *out)
{
	yajl_val v = key != NULL ? json_get(obj, key) : obj;

	if (v == NULL || !(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)))
		return -1;
	*out = YAJL_IS_TRUE(v);
	return 0;
}

size_t
json_len(yajl_val v)
{
	if (v == NULL)
		return 0;
	if (YAJL_IS_ARRAY(v))
		return v->u.array.len;
	if (YAJL_IS_OBJECT(v))
		return v->u.object.len;
	return 0;
}

yajl_val
json_at(yajl_val v, size_t i)
{
	if (v == NULL)
		return NULL;
	if (YAJL_IS_ARRAY(v))
		return i < v->u.array.len ? v->u.array.values[i] : NULL;
	if (YAJL_IS_OBJECT(v))
		return i < v->u.object.len ? v->u.object.values[i] : NULL;
	return NULL;
}

const char *
json_key_at(yajl_val v, size_t i)
{
	if (v == NULL || !YAJL_IS_OBJECT(v) || i >= v->u.object.len)
		return NULL;
	return v->u.object.keys[i];
}

struct jw *
jw_new(void)
{
	struct jw	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->g = yajl_gen_alloc(NULL)) == NULL) {
		free(w);
		return NULL;
	}
	yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);
	return w;
}

void
jw_free(struct jw **pw)
{
	if (*pw == NULL)
		return;
	yajl_gen_free((*pw)->g);
	free(*pw);
	*pw = NULL;
}

static void
jw_check(struct jw *w, yajl_gen_status st)
{
	if (st != yajl_gen_status_ok)
		w->failed = 1;
}

void jw_obj(struct jw *w) { jw_check(w, yajl_gen_map_open(w->g)); }
void jw_obj_end(struct jw *w) { jw_check(w, yajl_gen_map_close(w->g)); }
void jw_arr(struct jw *w) { jw_check(w, yajl_gen_array_open(w->g)); }
void jw_arr_end(struct jw *w) { jw_check(w, yajl_gen_array_close(w->g)); }
void jw_null(struct jw *w) { jw_check(w, yajl_gen_null(w->g)); }
void jw_bool(struct jw *w, int b) { jw_check(w, yajl_gen_bool(w->g, b)); }
void jw_int(struct jw *w, long long v) { jw_check(w, yajl_gen_integer(w->g, v)); }
void jw_double(struct jw *w, double d) { jw_check(w, yajl_gen_double(w->g, d)); }

void
jw_strn(struct jw *w, const char *s, size_t n)
{
	jw_check(w, yajl_gen_string(w->g, (const unsigned char *)s, n));
}

void
jw_str(struct jw *w, const char *s)
{
	if (s == NULL)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void
jw_key(struct jw *w, const char *k)
{
	jw_strn(w, k, strlen(k));
}

void
jw_kstr(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	jw_str(w, v);
}

void
jw_kint(struct jw *w, const char *k, long long v)
{
	jw_key(w, k);
	jw_int(w, v);
}

void
jw_kbool(struct jw *w, const char *k, int v)
{
	jw_key(w, k);
	jw_bool(w, v);
}

void
jw_val(struct jw *w, yajl_val v)
{
	size_t	 i;

	if (v == NULL) {
		jw_null(w);
		return;
	}
	switch (v->type) {
	case yajl_t_string:
		jw_str(w, v->u.string);
		break;
	case yajl_t_number:
		jw_check(w, yajl_gen_number(w->g, v->u.number.r,
		    strlen(v->u.number.r)));
		break;
	case yajl_t_object:
		jw_obj(w);
		for (i = 0; i < v->u.object.len; i++) {
			jw_key(w, v->u.object.keys[i]);
			jw_val(w, v->u.object.values[i]);
		}
		jw_obj_end(w);
		break;
	case yajl_t_array:
		jw_arr(w);
		for (i = 0; i < v->u.array.len; i++)
			jw_val(w, v->u.array.values[i]);
		jw_arr_end(w);
		break;
	case yajl_t_true:
		jw_bool(w, 1);
		break;
	case yajl_t_false:
		jw_bool(w, 0);
		break;
	default:
		jw_null(w);
		break;
	}
}

int
jw_result(struct jw *w, const char **buf, size_t *len)
{
	const unsigned char	*b;

	if (w->failed)
		return -1;
	if (yajl_gen_get_buf(w->g, &b, len) != yajl_gen_status_ok)
		return -1;
	*buf = (const char *)b;
	return 0;
}

char *
jw_take(struct jw *w, size_t *lenp)
{
	const char	*b;
	size_t		 len;
	char		*out;

	if (jw_result(w, &b, &len) == -1)
		return NULL;
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(out, b, len);
	out[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return out;
}
