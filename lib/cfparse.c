/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cloudflare v4 envelope and rate-limit header parsing (cfparse.h).  Every
 * field is type-checked; anything unexpected is ignored, never trusted.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfparse.h"
#include "json.h"

static void
cfparse_copy_msg(char *dst, size_t sz, const char *src)
{
	size_t	 i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < sz; i++)
		dst[i] = iscntrl((unsigned char)src[i]) ? ' ' : src[i];
	dst[i] = '\0';
}

static void
cfparse_add_errors(struct cfresp *r, yajl_val arr, int depth)
{
	yajl_val	 e, v;
	size_t		 i;
	long long	 code;

	if (arr == NULL || !YAJL_IS_ARRAY(arr) || depth > 2)
		return;
	for (i = 0; i < json_len(arr); i++) {
		e = json_at(arr, i);
		if (e == NULL || !YAJL_IS_OBJECT(e))
			continue;
		if (r->nerrors < CFPARSE_MAX_ERRORS) {
			v = json_get(e, "code");
			r->errors[r->nerrors].code = (v != NULL &&
			    json_int(e, "code", &code) == 0 &&
			    code >= LONG_MIN && code <= LONG_MAX) ?
			    (long)code : 0;
			cfparse_copy_msg(r->errors[r->nerrors].message,
			    sizeof(r->errors[0].message),
			    json_str(e, "message"));
			r->nerrors++;
		}
		cfparse_add_errors(r, json_get(e, "error_chain"), depth + 1);
	}
}

static long
cfparse_long(yajl_val obj, const char *key)
{
	long long	 v;

	if (obj == NULL || json_int(obj, key, &v) == -1 || v < 0 ||
	    v > LONG_MAX)
		return -1;
	return (long)v;
}

static void
cfparse_info(struct cfresp *r, yajl_val info)
{
	yajl_val	 c;

	r->page = r->per_page = r->count = r->total_count = -1;
	r->total_pages = -1;
	r->cursor = NULL;
	if (info == NULL || !YAJL_IS_OBJECT(info))
		return;
	r->page = cfparse_long(info, "page");
	r->per_page = cfparse_long(info, "per_page");
	r->count = cfparse_long(info, "count");
	r->total_count = cfparse_long(info, "total_count");
	r->total_pages = cfparse_long(info, "total_pages");
	if ((r->cursor = json_str(info, "cursor")) == NULL &&
	    (c = json_get(info, "cursors")) != NULL)
		r->cursor = json_str(c, "after");
	if (r->cursor != NULL && r->cursor[0] == '\0')
		r->cursor = NULL;
}

static int
cfparse_root(struct cfresp *out, char *err, size_t errsz)
{
	yajl_val	 v;
	int		 ok;

	if (!YAJL_IS_OBJECT(out->root) ||
	    json_bool(out->root, "success", &ok) == -1) {
		snprintf(err, errsz, "not a Cloudflare API envelope");
		return -1;
	}
	out->success = ok;
	v = json_get(out->root, "result");
	out->result = (v != NULL && !YAJL_IS_NULL(v)) ? v : NULL;
	cfparse_add_errors(out, json_get(out->root, "errors"), 0);
	cfparse_info(out, json_get(out->root, "result_info"));
	return 0;
}

int
cfparse_envelope(const char *body, size_t len, struct cfresp *out,
    char *err, size_t errsz)
{
	memset(out, 0, sizeof(*out));
	cfparse_info(out, NULL);
	if (body == NULL || len == 0) {
		snprintf(err, errsz, "empty response body");
		return -1;
	}
	if ((out->root = json_parse(body, len, err, errsz)) == NULL)
		return -1;
	return cfparse_root(out, err, errsz);
}

int
cfparse_envelope_str(const char *body, struct cfresp *out, char *err,
    size_t errsz)
{
	char	 e[128];

	memset(out, 0, sizeof(*out));
	cfparse_info(out, NULL);
	if (body == NULL || body[0] == '\0') {
		snprintf(err, errsz, "empty response body");
		return -1;
	}
	/* No copy, and yajl's verbose error text (which quotes the input)
	 * is not passed on. */
	if ((out->root = yajl_tree_parse(body, e, sizeof(e))) == NULL) {
		snprintf(err, errsz, "response is not JSON");
		return -1;
	}
	return cfparse_root(out, err, errsz);
}

void
cfparse_free(struct cfresp *r)
{
	json_free(&r->root);
	r->result = NULL;
	r->cursor = NULL;
}

int
cfparse_has_code(const struct cfresp *r, long code)
{
	size_t	 i;

	for (i = 0; i < r->nerrors; i++)
		if (r->errors[i].code == code)
			return 1;
	return 0;
}

void
cfparse_errors_text(const struct cfresp *r, char *buf, size_t sz)
{
	size_t	 i, off = 0;
	int	 n;

	if (sz == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < r->nerrors && off < sz; i++) {
		n = snprintf(buf + off, sz - off, "%s%ld: %s", i ? "; " : "",
		    r->errors[i].code, r->errors[i].message);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Find ";<key>=<digits>" (or at the start) in a structured header. */
static int
cfparse_param(const char *value, char key, long *out)
{
	const char	*p;
	char		*end;
	long		 v;

	for (p = value; p != NULL && *p != '\0'; p++) {
		if (*p != key || p[1] != '=' ||
		    (p != value && p[-1] != ';' && p[-1] != ' ' &&
		    p[-1] != ','))
			continue;
		if (!isdigit((unsigned char)p[2]))
			return -1;
		errno = 0;
		v = strtol(p + 2, &end, 10);
		if (errno != 0 || v < 0)
			return -1;
		if (*end != '\0' && *end != ';' && *end != ',' &&
		    !isspace((unsigned char)*end))
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

int
cfparse_ratelimit(const char *value, long *remaining, long *reset)
{
	long	 r, t;

	if (value == NULL || cfparse_param(value, 'r', &r) == -1 ||
	    cfparse_param(value, 't', &t) == -1)
		return -1;
	*remaining = r;
	*reset = t;
	return 0;
}

int
cfparse_ratelimit_policy(const char *value, long *quota, long *window)
{
	long	 q, w;

	if (value == NULL || cfparse_param(value, 'q', &q) == -1 ||
	    cfparse_param(value, 'w', &w) == -1 || w == 0)
		return -1;
	*quota = q;
	*window = w;
	return 0;
}
