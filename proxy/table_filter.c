/* SPDX-License-Identifier: Apache-2.0 */
/*
 * table_filter: the Gateway API filters of a route table entry.  Filters
 * the proxy implements are compiled and their listed order is kept
 * (trule.steps); an unknown, repeated or "unsupported" filter, or
 * RequestRedirect with URLRewrite, or a header modifier that names a
 * framing field, marks the entry so its requests get 500 -- a filter is
 * never silently skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "table_int.h"

static int	 table_filter(struct tctx *, yajl_val, struct trule *);

/* Host names and paths from filters: visible ASCII only. */
static int
token_ok(const char *s)
{
	if (s == NULL)
		return 1;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* Join a string array with ", " ("*" left out if skip); NULL if empty. */
static char *
join_list(yajl_val a, int *star, int skip)
{
	size_t		 i, len = 1;
	char		*out;
	const char	*s;

	for (i = 0; a != NULL && YAJL_IS_ARRAY(a) && i < json_len(a); i++)
		if ((s = json_str(json_at(a, i), NULL)) != NULL)
			len += strlen(s) + 2;
	if (len == 1 || (out = calloc(1, len)) == NULL)
		return NULL;
	for (i = 0; i < json_len(a); i++) {
		if ((s = json_str(json_at(a, i), NULL)) == NULL)
			continue;
		if (strcmp(s, "*") == 0 && star != NULL)
			*star = 1;
		if (strcmp(s, "*") == 0 && skip)
			continue;
		if (out[0] != '\0')
			strcat(out, ", ");
		strcat(out, s);
	}
	return out;
}

static int
table_cors(struct tctx *t, yajl_val c, struct cors *co)
{
	yajl_val	 o = json_get(c, "allowOrigins");
	size_t		 i, n = json_len(o);
	long long	 age;
	const char	*s;

	if (c == NULL || !YAJL_IS_OBJECT(c))
		return terr(t, "CORS filter without configuration");
	if (n > 0 && (co->origins = calloc(n, sizeof(char *))) == NULL)
		return terr(t, "out of memory");
	for (i = 0; i < n; i++) {
		if ((s = json_str(json_at(o, i), NULL)) == NULL)
			continue;
		if ((co->origins[co->norigins++] = lowerdup(s)) == NULL)
			return terr(t, "out of memory");
	}
	(void)json_bool(c, "allowCredentials", &co->credentials);
	co->methods = join_list(json_get(c, "allowMethods"),
	    &co->any_method, 0);
	co->headers = join_list(json_get(c, "allowHeaders"),
	    &co->any_header, 0);
	/* exposeHeaders "*" may not be used with credentials. */
	co->expose = join_list(json_get(c, "exposeHeaders"), &co->any_expose,
	    co->credentials);
	if (co->expose != NULL && co->expose[0] == '\0') {
		free(co->expose);
		co->expose = NULL;
	}
	if ((co->methods && !http_field_value_ok(co->methods)) ||
	    (co->headers && !http_field_value_ok(co->headers)) ||
	    (co->expose && !http_field_value_ok(co->expose)))
		return terr(t, "CORS filter with control characters");
	co->max_age = 5;
	if (json_int(c, "maxAge", &age) == 0 && age >= 0 && age < 86400 * 365)
		co->max_age = age;
	return 0;
}

static int
table_mirror(struct tctx *t, yajl_val f, struct mirror *m)
{
	yajl_val	 c = json_get(f, "requestMirror");
	yajl_val	 b = json_get(f, "backend"), fr;
	const char	*host = json_str(b, "host");
	const char	*proto = json_str(b, "protocol");
	long long	 v, num, den;

	m->ppm = 1000000;
	if (json_int(c, "percent", &v) == 0 && v >= 0 && v <= 100)
		m->ppm = v * 10000;
	fr = json_get(c, "fraction");
	if (fr != NULL && json_int(fr, "numerator", &num) == 0) {
		den = 100;
		(void)json_int(fr, "denominator", &den);
		if (den > 0 && num >= 0 && num <= den)
			m->ppm = num * 1000000 / den;
	}
	if (json_int(b, "port", &v) == -1)
		v = 0;
	m->be.port = v;
	m->be.weight = 1;
	m->be.proto = proto != NULL && strcmp(proto, "h2c") == 0 ? BE_H2C :
	    BE_HTTP;
	m->be.host = strdup(host != NULL ? host : "");
	m->be.name = strdup(json_str(b, "name") ? json_str(b, "name") : "?");
	if (m->be.host == NULL || m->be.name == NULL)
		return terr(t, "out of memory");
	/* An unusable mirror is skipped: mirroring never affects answers. */
	if ((json_get(b, "invalid") != NULL &&
	    !YAJL_IS_NULL(json_get(b, "invalid"))) || host == NULL ||
	    m->be.port < 1 || m->be.port > 65535)
		m->ppm = 0;
	return 0;
}

static int
table_strpairs(struct tctx *t, yajl_val a, char ***names, char ***vals,
    size_t *n)
{
	size_t	 i, len = json_len(a);

	if (a == NULL || !YAJL_IS_ARRAY(a) || len == 0)
		return 0;
	*names = calloc(len, sizeof(char *));
	if (vals != NULL)
		*vals = calloc(len, sizeof(char *));
	if (*names == NULL || (vals != NULL && *vals == NULL))
		return terr(t, "out of memory");
	for (i = 0; i < len; i++) {
		yajl_val	 e = json_at(a, i);
		const char	*nm = vals ? json_str(e, "name") :
		    json_str(e, NULL);
		const char	*v = vals ? json_str(e, "value") : NULL;

		*n = i + 1;
		if (nm == NULL || (vals != NULL && v == NULL) ||
		    !http_field_name_ok(nm) ||
		    (v != NULL && !http_field_value_ok(v)))
			return terr(t, "bad header modifier entry");
		if (((*names)[i] = lowerdup(nm)) == NULL ||
		    (vals != NULL && ((*vals)[i] = strdup(v)) == NULL))
			return terr(t, "out of memory");
	}
	return 0;
}

static int
any_framing(char **names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (http_field_framing(names[i], strlen(names[i])))
			return 1;
	return 0;
}

/*
 * Fields that frame or carry the connection: the proxy writes them
 * itself, so a modifier that names them would send two framings (request
 * smuggling on a shared backend connection).  1: the modifier names one.
 */
int
hmod_framing(const struct hmod *h)
{
	return any_framing(h->set_name, h->nset) ||
	    any_framing(h->add_name, h->nadd) ||
	    any_framing(h->remove, h->nremove);
}

int
table_hmod(struct tctx *t, yajl_val v, struct hmod *h)
{
	if (v == NULL || !YAJL_IS_OBJECT(v))
		return terr(t, "header modifier without configuration");
	if (table_strpairs(t, json_get(v, "set"), &h->set_name,
	    &h->set_value, &h->nset) == -1 ||
	    table_strpairs(t, json_get(v, "add"), &h->add_name,
	    &h->add_value, &h->nadd) == -1 ||
	    table_strpairs(t, json_get(v, "remove"), &h->remove, NULL,
	    &h->nremove) == -1)
		return -1;
	return 0;
}

static int
table_pathmod(struct tctx *t, yajl_val p, char **path, int *prefix)
{
	const char	*type = json_str(p, "type");
	const char	*v;

	if (type == NULL)
		return terr(t, "path modifier without type");
	if (strcmp(type, "ReplaceFullPath") == 0) {
		v = json_str(p, "replaceFullPath");
		*prefix = 0;
	} else if (strcmp(type, "ReplacePrefixMatch") == 0) {
		v = json_str(p, "replacePrefixMatch");
		*prefix = 1;
	} else
		return terr(t, "unknown path modifier \"%.32s\"", type);
	/* "" is valid (prefix: drop the prefix; full: "/"). */
	if (v == NULL || (v[0] != '/' && v[0] != '\0') || !token_ok(v) ||
	    (*path = strdup(v)) == NULL)
		return terr(t, "bad path modifier");
	return 0;
}

static int
redirect_status_ok(long long n)
{
	return n == 301 || n == 302 || n == 303 || n == 307 || n == 308;
}

/* ReplacePrefixMatch needs a PathPrefix match (else: 500). */
static int
table_pathmod_rule(struct tctx *t, yajl_val p, struct trule *r, char **path,
    int *prefix)
{
	if (table_pathmod(t, p, path, prefix) == -1)
		return -1;
	if (*prefix && r->path_type != PATH_PREFIX)
		r->filter_error = 1;
	return 0;
}

/* Remember where a filter was listed (each kind once, mirrors apart). */
static void
step_add(struct trule *r, int kind, size_t arg)
{
	if (r->nsteps >= MAX_FSTEPS) {
		r->filter_error = 1;
		return;
	}
	r->steps[r->nsteps].kind = kind;
	r->steps[r->nsteps++].arg = arg;
}

static int
table_redirect(struct tctx *t, yajl_val c, struct trule *r)
{
	long long	 n;
	const char	*scheme = json_str(c, "scheme");

	r->redirect.status = 302;
	if (json_int(c, "statusCode", &n) == 0)
		r->redirect.status = n;
	if (json_int(c, "port", &n) == 0 && n > 0 && n < 65536)
		r->redirect.port = n;
	if (!token_ok(scheme) || !token_ok(json_str(c, "hostname")))
		return terr(t, "%s: bad redirect", r->route);
	/* A value the spec does not know: 500, never a guess. */
	if (!redirect_status_ok(r->redirect.status) || (scheme != NULL &&
	    strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		r->filter_error = 1;
	r->redirect.scheme = tstrdup(scheme);
	r->redirect.hostname = tstrdup(json_str(c, "hostname"));
	if (json_get(c, "path") != NULL && !YAJL_IS_NULL(json_get(c, "path")))
		return table_pathmod_rule(t, json_get(c, "path"), r,
		    &r->redirect.path, &r->redirect.path_prefix);
	return 0;
}

static int
table_rewrite(struct tctx *t, yajl_val c, struct trule *r)
{
	if (!token_ok(json_str(c, "hostname")))
		return terr(t, "%s: bad rewrite hostname", r->route);
	r->rewrite.hostname = tstrdup(json_str(c, "hostname"));
	if (json_get(c, "path") != NULL && !YAJL_IS_NULL(json_get(c,
	    "path"))) {
		r->rewrite.has_path = 1;
		return table_pathmod_rule(t, json_get(c, "path"), r,
		    &r->rewrite.path, &r->rewrite.path_prefix);
	}
	return 0;
}

/*
 * One filter of the rule, at the next position of r->steps.  Unknown,
 * "unsupported" and repeated filters mark the rule (500).
 */
static int
table_filter(struct tctx *t, yajl_val f, struct trule *r)
{
	const char	*type = json_str(f, "type");
	int		 unsup = 0;

	if (type == NULL)
		return terr(t, "%s: filter without type", r->route);
	if (json_bool(f, "unsupported", &unsup) == 0 && unsup) {
		r->filter_error = 1;
		return 0;
	}
	if (strcmp(type, "RequestHeaderModifier") == 0 && !r->has_reqmod) {
		r->has_reqmod = 1;
		step_add(r, F_REQMOD, 0);
		if (table_hmod(t, json_get(f, "requestHeaderModifier"),
		    &r->reqmod) == -1)
			return -1;
		r->filter_error |= hmod_framing(&r->reqmod);
		return 0;
	}
	if (strcmp(type, "ResponseHeaderModifier") == 0 && !r->has_respmod) {
		r->has_respmod = 1;
		step_add(r, F_RESPMOD, 0);
		if (table_hmod(t, json_get(f, "responseHeaderModifier"),
		    &r->respmod) == -1)
			return -1;
		r->filter_error |= hmod_framing(&r->respmod);
		return 0;
	}
	if (strcmp(type, "RequestRedirect") == 0 && !r->has_redirect) {
		r->has_redirect = 1;
		step_add(r, F_REDIRECT, 0);
		return table_redirect(t, json_get(f, "requestRedirect"), r);
	}
	if (strcmp(type, "URLRewrite") == 0 && !r->has_rewrite) {
		r->has_rewrite = 1;
		step_add(r, F_REWRITE, 0);
		return table_rewrite(t, json_get(f, "urlRewrite"), r);
	}
	if (strcmp(type, "CORS") == 0 && !r->has_cors) {
		r->has_cors = 1;
		step_add(r, F_CORS, 0);
		return table_cors(t, json_get(f, "cors"), &r->cors);
	}
	if (strcmp(type, "RequestMirror") == 0 && r->nmirrors < MAX_MIRRORS) {
		step_add(r, F_MIRROR, r->nmirrors);
		return table_mirror(t, f, &r->mirrors[r->nmirrors++]);
	}
	/* Unknown or repeated filter: never skipped, the rule answers 500. */
	r->filter_error = 1;
	return 0;
}

int
table_filters(struct tctx *t, yajl_val a, struct trule *r)
{
	size_t	 i;

	if (a == NULL || YAJL_IS_NULL(a))
		return 0;
	if (!YAJL_IS_ARRAY(a))
		return terr(t, "%s: filters must be an array", r->route);
	for (i = 0; i < json_len(a); i++)
		if (table_filter(t, json_at(a, i), r) == -1)
			return -1;
	/* The specification forbids the pair; no order makes sense of it. */
	if (r->has_redirect && r->has_rewrite)
		r->filter_error = 1;
	return 0;
}

/* "schemes": ["http", "https"] -> bit mask; absent or empty: any. */
unsigned
table_schemes(yajl_val a)
{
	unsigned	 m = 0;
	size_t		 i;
	const char	*s;

	for (i = 0; a != NULL && YAJL_IS_ARRAY(a) && i < json_len(a); i++) {
		if ((s = json_str(json_at(a, i), NULL)) == NULL)
			continue;
		if (strcmp(s, "http") == 0)
			m |= SCHEME_HTTP;
		else if (strcmp(s, "https") == 0)
			m |= SCHEME_HTTPS;
	}
	return m;
}
