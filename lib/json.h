/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_JSON_H
#define CFGW_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/*
 * Small helpers over yajl: a tree parser that never trusts its input and a
 * writer that always produces valid UTF-8 JSON.  Lookups return NULL (or -1)
 * on a missing key or a wrong type; they never abort.  json_parse refuses
 * NUL bytes and nesting deeper than 256 arrays/objects.
 */

yajl_val	 json_parse(const char *buf, size_t len, char *err,
		    size_t errsz);
void		 json_free(yajl_val *);

yajl_val	 json_get(yajl_val obj, const char *key);
/* json_path(v, "metadata", "name", NULL) */
yajl_val	 json_path(yajl_val v, ...) __attribute__((sentinel));
const char	*json_str(yajl_val obj, const char *key);
int		 json_int(yajl_val obj, const char *key, long long *out);
int		 json_bool(yajl_val obj, const char *key, int *out);
size_t		 json_len(yajl_val arr);	/* array or object size */
yajl_val	 json_at(yajl_val arr, size_t i);
const char	*json_key_at(yajl_val obj, size_t i);

/* Writer. */
struct jw;
struct jw	*jw_new(void);
void		 jw_free(struct jw **);
void		 jw_obj(struct jw *);		/* { */
void		 jw_obj_end(struct jw *);	/* } */
void		 jw_arr(struct jw *);		/* [ */
void		 jw_arr_end(struct jw *);	/* ] */
void		 jw_key(struct jw *, const char *);
void		 jw_str(struct jw *, const char *);
void		 jw_strn(struct jw *, const char *, size_t);
void		 jw_int(struct jw *, long long);
void		 jw_double(struct jw *, double);
void		 jw_bool(struct jw *, int);
void		 jw_null(struct jw *);
void		 jw_val(struct jw *, yajl_val);	/* copy a parsed tree */
void		 jw_kstr(struct jw *, const char *k, const char *v); /* NULL v: null */
void		 jw_kint(struct jw *, const char *k, long long v);
void		 jw_kbool(struct jw *, const char *k, int v);
/* The text so far; valid until the next call.  -1 if a call failed. */
int		 jw_result(struct jw *, const char **buf, size_t *len);
/* Malloc'd NUL-terminated copy of the text; NULL on error. */
char		*jw_take(struct jw *, size_t *len);

#endif
