/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_filters: check a rule's filters before it reaches the table, so
 * that what the proxy could only answer with 500 is refused here and
 * reported in the route's status instead.  A rule fails the check (and is
 * dropped) for
 *   - IncompatibleFilters: a filter listed twice that cannot be repeated
 *     (everything but RequestMirror), RequestRedirect with URLRewrite, a
 *     backendRef's header modifier listed twice;
 *   - UnsupportedValue: a filter without its configuration, a redirect
 *     status other than 301/302/303/307/308, a scheme other than
 *     http/https, a port outside 1-65535, a host name or path the proxy
 *     cannot write, ReplacePrefixMatch on a rule with a match that is not
 *     PathPrefix, header names or values the proxy refuses, a header
 *     modifier naming a framing field (Content-Length, Transfer-Encoding,
 *     Connection, ...), more than RT_MAX_MIRRORS mirrors, a mirror's
 *     percent outside 0-100 or fraction above 1, or both set.
 * Filter types the proxy does not implement (ExtensionRef, ExternalAuth,
 * any unknown type; for GRPCRoute the HTTP-only ones; per backendRef all
 * but the header modifiers) stay in the table marked "unsupported", so
 * the requests they would see are answered with 500; rt_filters_check
 * names the first one so the caller can report it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpfield.h"
#include "json.h"
#include "route_priv.h"

/*
 * The filter types the proxy implements, their configuration field
 * (Gateway API names) and where they may appear.
 */
enum { FT_REQMOD, FT_RESPMOD, FT_REDIRECT, FT_REWRITE, FT_MIRROR, FT_CORS };

#define FW_GRPC		0x1	/* on a GRPCRoute rule too */
#define FW_BACKEND	0x2	/* on a backendRef too */

static const struct {
	const char	*type;
	const char	*field;
	int		 where;
} ffields[] = {
	{ "RequestHeaderModifier", "requestHeaderModifier",
	    FW_GRPC | FW_BACKEND },
	{ "ResponseHeaderModifier", "responseHeaderModifier",
	    FW_GRPC | FW_BACKEND },
	{ "RequestRedirect", "requestRedirect", 0 },
	{ "URLRewrite", "urlRewrite", 0 },
	{ "RequestMirror", "requestMirror", FW_GRPC },
	{ "CORS", "cors", 0 },
};

#define NFTYPES		(sizeof(ffields) / sizeof(ffields[0]))

/* The index of a type the proxy implements there, or -1. */
static int
ftype_index(const struct rt_route *rt, const char *type, int backend)
{
	size_t	 i;

	if (type == NULL)
		return -1;
	for (i = 0; i < NFTYPES; i++)
		if (strcmp(ffields[i].type, type) == 0)
			break;
	if (i == NFTYPES || (backend && !(ffields[i].where & FW_BACKEND)) ||
	    (rt->grpc && !(ffields[i].where & FW_GRPC)))
		return -1;
	return (int)i;
}

int
rt_filter_known(const struct rt_route *rt, const char *type, int backend)
{
	return ftype_index(rt, type, backend) != -1;
}

/* A host name to write into Host or Location: letters, digits, '-', '.'. */
static int
hostname_ok(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return 0;
	return n > 0 && n <= 253;
}

/* A path to write: "" or starting with '/', visible ASCII. */
static int
path_ok(const char *s)
{
	if (s[0] != '\0' && s[0] != '/')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
hmod_check(yajl_val v, char *msg, size_t msgsz)
{
	static const char	*lists[] = { "set", "add", NULL };
	yajl_val		 a, e;
	size_t			 i, k;
	const char		*n;

	for (k = 0; lists[k] != NULL; k++) {
		a = json_get(v, lists[k]);
		for (i = 0; i < json_len(a); i++) {
			e = json_at(a, i);
			n = json_str(e, "name");
			if (!http_field_name_ok(n) ||
			    !http_field_value_ok(json_str(e, "value"))) {
				snprintf(msg, msgsz, "%s[%zu]: invalid header "
				    "name or value", lists[k], i);
				return -1;
			}
			if (http_field_framing(n, strlen(n))) {
				snprintf(msg, msgsz, "%s[%zu]: %.32s is set by "
				    "the gateway", lists[k], i, n);
				return -1;
			}
		}
	}
	a = json_get(v, "remove");
	for (i = 0; i < json_len(a); i++) {
		n = json_str(json_at(a, i), NULL);
		if (!http_field_name_ok(n) ||
		    http_field_framing(n, strlen(n))) {
			snprintf(msg, msgsz, "remove[%zu]: invalid header "
			    "name, or one set by the gateway", i);
			return -1;
		}
	}
	return 0;
}

/* Every match of the rule is a PathPrefix one (the default included). */
static int
all_prefix(yajl_val rule)
{
	yajl_val	 m = json_get(rule, "matches");
	size_t		 i;

	for (i = 0; i < json_len(m); i++)
		if (strcmp(rt_str_or(json_path(json_at(m, i), "path", NULL),
		    "type", "PathPrefix"), "PathPrefix") != 0)
			return 0;
	return 1;
}

static int
pathmod_check(yajl_val rule, yajl_val p, char *msg, size_t msgsz)
{
	const char	*type = rt_str_or(p, "type", "");
	const char	*v;
	int		 prefix;

	if (p == NULL || YAJL_IS_NULL(p))
		return 0;
	prefix = strcmp(type, "ReplacePrefixMatch") == 0;
	if (prefix)
		v = json_str(p, "replacePrefixMatch");
	else if (strcmp(type, "ReplaceFullPath") == 0)
		v = json_str(p, "replaceFullPath");
	else {
		snprintf(msg, msgsz, "unsupported path modifier type %s",
		    type);
		return -1;
	}
	if (v == NULL || !path_ok(v)) {
		snprintf(msg, msgsz, "%s without a valid path", type);
		return -1;
	}
	if (prefix && !all_prefix(rule)) {
		snprintf(msg, msgsz, "ReplacePrefixMatch needs PathPrefix "
		    "matches");
		return -1;
	}
	return 0;
}

static int
redirect_check(yajl_val rule, yajl_val v, char *msg, size_t msgsz)
{
	const char	*s;
	long long	 n;

	if ((s = json_str(v, "scheme")) != NULL && strcmp(s, "http") != 0 &&
	    strcmp(s, "https") != 0) {
		snprintf(msg, msgsz, "unsupported scheme %.32s", s);
		return -1;
	}
	if (json_get(v, "statusCode") != NULL && (json_int(v, "statusCode",
	    &n) == -1 || (n != 301 && n != 302 && n != 303 && n != 307 &&
	    n != 308))) {
		snprintf(msg, msgsz, "unsupported statusCode (301, 302, 303, "
		    "307 or 308)");
		return -1;
	}
	if (json_get(v, "port") != NULL && (json_int(v, "port", &n) == -1 ||
	    n < 1 || n > 65535)) {
		snprintf(msg, msgsz, "invalid port");
		return -1;
	}
	if ((s = json_str(v, "hostname")) != NULL && !hostname_ok(s)) {
		snprintf(msg, msgsz, "invalid hostname");
		return -1;
	}
	return pathmod_check(rule, json_get(v, "path"), msg, msgsz);
}

static int
rewrite_check(yajl_val rule, yajl_val v, char *msg, size_t msgsz)
{
	const char	*s;

	if ((s = json_str(v, "hostname")) != NULL && !hostname_ok(s)) {
		snprintf(msg, msgsz, "invalid hostname");
		return -1;
	}
	return pathmod_check(rule, json_get(v, "path"), msg, msgsz);
}

static int
cors_check(yajl_val v, char *msg, size_t msgsz)
{
	static const char	*lists[] = { "allowOrigins", "allowMethods",
				    "allowHeaders", "exposeHeaders", NULL };
	yajl_val		 a;
	size_t			 i, k;

	for (k = 0; lists[k] != NULL; k++) {
		a = json_get(v, lists[k]);
		for (i = 0; i < json_len(a); i++)
			if (!http_field_value_ok(json_str(json_at(a, i),
			    NULL))) {
				snprintf(msg, msgsz, "invalid %s[%zu]",
				    lists[k], i);
				return -1;
			}
	}
	return 0;
}

/*
 * percent (0-100) or fraction (numerator <= denominator, denominator >= 1,
 * 100 when absent), not both; the proxy would otherwise guess a rate.
 */
static int
mirror_check(yajl_val v, char *msg, size_t msgsz)
{
	yajl_val	 fr = json_get(v, "fraction");
	long long	 n, num, den = 100;

	if (json_get(v, "percent") != NULL && fr != NULL) {
		snprintf(msg, msgsz, "RequestMirror with both percent and "
		    "fraction");
		return -1;
	}
	if (json_get(v, "percent") != NULL && (json_int(v, "percent",
	    &n) == -1 || n < 0 || n > 100)) {
		snprintf(msg, msgsz, "RequestMirror percent outside 0-100");
		return -1;
	}
	if (fr == NULL)
		return 0;
	if (!YAJL_IS_OBJECT(fr) || json_int(fr, "numerator", &num) == -1 ||
	    (json_get(fr, "denominator") != NULL && json_int(fr,
	    "denominator", &den) == -1) || num < 0 || den < 1 ||
	    den > 0x7fffffff || num > den) {
		snprintf(msg, msgsz, "RequestMirror fraction is not a "
		    "numerator 0-denominator over a denominator >= 1");
		return -1;
	}
	return 0;
}

/* One known filter's configuration. */
static int
filter_config_check(yajl_val rule, yajl_val f, int ti, char *msg,
    size_t msgsz)
{
	yajl_val	 v = json_get(f, ffields[ti].field);

	if (v == NULL || !YAJL_IS_OBJECT(v)) {
		snprintf(msg, msgsz, "%s without %s", ffields[ti].type,
		    ffields[ti].field);
		return -1;
	}
	switch (ti) {
	case FT_REQMOD:
	case FT_RESPMOD:
		return hmod_check(v, msg, msgsz);
	case FT_REDIRECT:
		return redirect_check(rule, v, msg, msgsz);
	case FT_REWRITE:
		return rewrite_check(rule, v, msg, msgsz);
	case FT_MIRROR:
		return mirror_check(v, msg, msgsz);
	case FT_CORS:
		return cors_check(v, msg, msgsz);
	}
	return 0;
}

/*
 * One filter list (the rule's, or backendRefs[be]'s with be >= 0).
 * -1 with *reason and msg when the rule must be dropped.
 */
static int
list_check(struct rt_route *rt, yajl_val rule, yajl_val list, long long be,
    struct rt_fcheck *fc, char *msg, size_t msgsz)
{
	size_t		 i, count[NFTYPES];
	const char	*type;
	char		 m[200];
	int		 ti;

	memset(count, 0, sizeof(count));
	for (i = 0; i < json_len(list); i++) {
		type = rt_str_or(json_at(list, i), "type", "");
		if ((ti = ftype_index(rt, type, be >= 0)) == -1) {
			if (fc->unsup == NULL &&
			    strcmp(type, "ExtensionRef") != 0) {
				fc->unsup = type;
				fc->unsup_be = be;
			}
			continue;
		}
		if (++count[ti] > 1 && ti != FT_MIRROR) {
			fc->reason = "IncompatibleFilters";
			snprintf(m, sizeof(m), "%s cannot be repeated", type);
			goto bad;
		}
		if (filter_config_check(rule, json_at(list, i), ti, m,
		    sizeof(m)) == -1) {
			fc->reason = "UnsupportedValue";
			goto bad;
		}
	}
	if (count[FT_REDIRECT] > 0 && count[FT_REWRITE] > 0) {
		fc->reason = "IncompatibleFilters";
		snprintf(m, sizeof(m), "RequestRedirect and URLRewrite cannot "
		    "be combined");
		goto bad;
	}
	if (count[FT_MIRROR] > RT_MAX_MIRRORS) {
		fc->reason = "UnsupportedValue";
		snprintf(m, sizeof(m), "more than %d RequestMirror filters",
		    RT_MAX_MIRRORS);
		goto bad;
	}
	return 0;
bad:
	if (be >= 0)
		snprintf(msg, msgsz, "backendRefs[%lld].filters: %s", be, m);
	else
		snprintf(msg, msgsz, "filters: %s", m);
	return -1;
}

int
rt_filters_check(struct rt_route *rt, yajl_val rule, struct rt_fcheck *fc,
    char *msg, size_t msgsz)
{
	yajl_val	 refs = json_get(rule, "backendRefs");
	size_t		 i;

	memset(fc, 0, sizeof(*fc));
	fc->unsup_be = -1;
	if (list_check(rt, rule, json_get(rule, "filters"), -1, fc, msg,
	    msgsz) == -1)
		return -1;
	for (i = 0; i < json_len(refs); i++)
		if (list_check(rt, rule, json_get(json_at(refs, i),
		    "filters"), (long long)i, fc, msg, msgsz) == -1)
			return -1;
	return 0;
}
