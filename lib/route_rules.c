/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_rules: compile the rules of one HTTPRoute or GRPCRoute into table
 * entries, one per (rule, match), each with its precedence sort keys.
 * Invalid rules (bad regular expression, bad duration, unknown match type)
 * are dropped with a reason, and so are rules whose filters the proxy
 * could only answer with 500 (route_filters.c); filters the proxy does not
 * implement are kept, in the order listed, marked "unsupported", so the
 * proxy fails those requests instead of skipping the filter.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "route_priv.h"

#define RT_MSGSZ	320

static const char *methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
	"TRACE", "PATCH", NULL
};

static int
in_list(const char **list, const char *s)
{
	for (; s != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/*
 * Copy a filter (be: of a backendRef), in the order listed; mirrors get
 * their resolved "backend".
 */
static void
filter_emit(struct rt_ctx *c, struct rt_route *rt, struct jw *w,
    yajl_val f, int be)
{
	const char	*type = rt_str_or(f, "type", "");
	int		 known;
	size_t		 i;

	known = rt_filter_known(rt, type, be);
	jw_obj(w);
	for (i = 0; i < json_len(f); i++) {
		jw_key(w, json_key_at(f, i));
		jw_val(w, json_at(f, i));
	}
	if (!known)
		jw_kbool(w, "unsupported", 1);
	if (strcmp(type, "ExtensionRef") == 0) {
		if (rt->refs_reason == NULL)
			rt->refs_reason = "InvalidKind";
		rt_append(c, &rt->refs_msg, "- ExtensionRef %s/%s: no "
		    "extension filters are supported",
		    rt_str_or(json_get(f, "extensionRef"), "kind", ""),
		    rt_str_or(json_get(f, "extensionRef"), "name", ""));
	}
	if (known && strcmp(type, "RequestMirror") == 0) {
		jw_key(w, "backend");
		jw_obj(w);
		rt_backend_emit(c, rt, w, json_path(f, "requestMirror",
		    "backendRef", NULL), 1);
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

static void
filters_emit(struct rt_ctx *c, struct rt_route *rt, struct jw *w,
    yajl_val list, int be)
{
	size_t	 i;

	jw_arr(w);
	for (i = 0; i < json_len(list); i++)
		filter_emit(c, rt, w, json_at(list, i), be);
	jw_arr_end(w);
}

static void
backends_emit(struct rt_ctx *c, struct rt_route *rt, struct jw *w,
    yajl_val list)
{
	size_t	 i;

	jw_arr(w);
	for (i = 0; i < json_len(list); i++) {
		jw_obj(w);
		rt_backend_emit(c, rt, w, json_at(list, i), 0);
		jw_key(w, "filters");
		filters_emit(c, rt, w, json_get(json_at(list, i), "filters"),
		    1);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* A duration field: absent → null, invalid → -1 (caller drops). */
static int
duration_emit(struct jw *w, const char *key, yajl_val obj,
    const char *field, long long *out, char *msg, size_t msgsz)
{
	const char	*s = json_str(obj, field);

	*out = -2;
	if (s == NULL) {
		jw_kstr(w, key, NULL);
		return 0;
	}
	if ((*out = route_duration_ms(s)) < 0) {
		snprintf(msg, msgsz, "invalid duration %s: %s", field, s);
		return -1;
	}
	jw_kint(w, key, *out);
	return 0;
}

static int
timeouts_emit(struct jw *w, yajl_val t, char *msg, size_t msgsz)
{
	long long	 req, be;

	jw_key(w, "timeouts");
	if (t == NULL) {
		jw_null(w);
		return 0;
	}
	jw_obj(w);
	if (duration_emit(w, "request_ms", t, "request", &req, msg,
	    msgsz) == -1 || duration_emit(w, "backend_request_ms", t,
	    "backendRequest", &be, msg, msgsz) == -1)
		return -1;
	jw_obj_end(w);
	if (req > 0 && be > req) {
		snprintf(msg, msgsz, "timeouts.backendRequest (%s) exceeds "
		    "timeouts.request (%s)", json_str(t, "backendRequest"),
		    json_str(t, "request"));
		return -1;
	}
	return 0;
}

static int
retry_emit(struct jw *w, yajl_val r, char *msg, size_t msgsz)
{
	long long	 n;

	jw_key(w, "retry");
	if (r == NULL) {
		jw_null(w);
		return 0;
	}
	jw_obj(w);
	jw_key(w, "codes");
	jw_val(w, json_get(r, "codes"));
	if (json_int(r, "attempts", &n) == 0)
		jw_kint(w, "attempts", n);
	else
		jw_kstr(w, "attempts", NULL);
	if (duration_emit(w, "backoff_ms", r, "backoff", &n, msg,
	    msgsz) == -1)
		return -1;
	jw_obj_end(w);
	return 0;
}

static int
session_emit(struct rt_route *rt, struct jw *w, yajl_val sp, char *msg,
    size_t msgsz)
{
	const char	*type;
	long long	 n;

	jw_key(w, "session_persistence");
	if (sp == NULL) {
		jw_null(w);
		return 0;
	}
	type = rt_str_or(sp, "type", "Cookie");
	if (strcmp(type, "Cookie") != 0 && strcmp(type, "Header") != 0) {
		snprintf(msg, msgsz, "unsupported sessionPersistence.type "
		    "%s", type);
		return -1;
	}
	(void)rt;
	jw_obj(w);
	jw_kstr(w, "type", type);
	jw_kstr(w, "session_name", rt_str_or(sp, "sessionName",
	    strcmp(type, "Cookie") == 0 ? "cgw-session" : "X-Cgw-Session"));
	if (duration_emit(w, "absolute_timeout_ms", sp, "absoluteTimeout",
	    &n, msg, msgsz) == -1)
		return -1;
	jw_kstr(w, "lifetime_type", rt_str_or(json_get(sp, "cookieConfig"),
	    "lifetimeType", "Session"));
	jw_obj_end(w);
	return 0;
}

/*
 * The part of an entry shared by every match of a rule, rendered once
 * (so backends are resolved once) and parsed back into a tree.
 */
static yajl_val
rule_tail(struct rt_ctx *c, struct rt_route *rt, yajl_val rule, char *msg,
    size_t msgsz)
{
	struct jw	*w;
	char		*txt;
	yajl_val	 v = NULL;
	int		 bad = 0;

	if ((w = jw_new()) == NULL) {
		c->oom = 1;
		return NULL;
	}
	jw_obj(w);
	jw_key(w, "filters");
	filters_emit(c, rt, w, json_get(rule, "filters"), 0);
	jw_key(w, "backends");
	backends_emit(c, rt, w, json_get(rule, "backendRefs"));
	if (!rt->grpc)
		bad = timeouts_emit(w, json_get(rule, "timeouts"), msg,
		    msgsz) == -1 || retry_emit(w, json_get(rule, "retry"),
		    msg, msgsz) == -1;
	if (!bad)
		bad = session_emit(rt, w, json_get(rule,
		    "sessionPersistence"), msg, msgsz) == -1;
	if (!bad)
		jw_obj_end(w);
	if (!bad && (txt = jw_take(w, NULL)) != NULL) {
		v = json_parse(txt, strlen(txt), NULL, 0);
		free(txt);
		if (v == NULL)
			c->oom = 1;
	} else if (!bad)
		c->oom = 1;
	jw_free(&w);
	return bad ? NULL : v;
}

/* headers / queryParams: dedupe names (first wins), check regexes. */
static int
kv_emit(struct jw *w, const char *key, yajl_val list, int fold,
    size_t *count, char *msg, size_t msgsz)
{
	size_t		 i, k;
	const char	*type, *name, *val, *prev;
	char		 lname[256];

	*count = 0;
	jw_key(w, key);
	jw_arr(w);
	for (i = 0; i < json_len(list); i++) {
		type = rt_str_or(json_at(list, i), "type", "Exact");
		name = rt_str_or(json_at(list, i), "name", "");
		val = rt_str_or(json_at(list, i), "value", "");
		for (k = 0; k < i; k++) {
			prev = rt_str_or(json_at(list, k), "name", "");
			if (fold ? strcasecmp(prev, name) == 0 :
			    strcmp(prev, name) == 0)
				break;
		}
		if (k < i)
			continue;
		if (strcmp(type, "RegularExpression") == 0) {
			if (!rt_regex_valid(val, msg, msgsz))
				return -1;
		} else if (strcmp(type, "Exact") != 0) {
			snprintf(msg, msgsz, "unsupported %s match type %s",
			    key, type);
			return -1;
		}
		if (strlen(name) >= sizeof(lname)) {
			snprintf(msg, msgsz, "%s name longer than %zu "
			    "characters", key, sizeof(lname) - 1);
			return -1;
		}
		memcpy(lname, name, strlen(name) + 1);
		for (k = 0; fold && lname[k] != '\0'; k++)
			lname[k] = tolower((unsigned char)lname[k]);
		jw_obj(w);
		jw_kstr(w, "type", type);
		jw_kstr(w, "name", lname);
		jw_kstr(w, "value", val);
		jw_obj_end(w);
		(*count)++;
	}
	jw_arr_end(w);
	return 0;
}

static int
http_path_emit(struct jw *w, yajl_val path, struct rt_match *m, char *msg,
    size_t msgsz)
{
	const char	*type = rt_str_or(path, "type", "PathPrefix");
	const char	*val = rt_str_or(path, "value", "/");
	char		 norm[1024];
	size_t		 n;

	if (strcmp(type, "RegularExpression") == 0) {
		if (!rt_regex_valid(val, msg, msgsz))
			return -1;
		m->path_rank = 2;
	} else if (strcmp(type, "Exact") == 0 ||
	    strcmp(type, "PathPrefix") == 0) {
		if (val[0] != '/') {
			snprintf(msg, msgsz, "path %s must start with /", val);
			return -1;
		}
		m->path_rank = type[0] == 'E' ? 3 : 1;
	} else {
		snprintf(msg, msgsz, "unsupported path match type %s", type);
		return -1;
	}
	if ((n = strlen(val)) >= sizeof(norm)) {
		snprintf(msg, msgsz, "path longer than %zu characters",
		    sizeof(norm) - 1);
		return -1;
	}
	memcpy(norm, val, n + 1);
	while (m->path_rank == 1 && n > 1 && norm[n - 1] == '/')
		norm[--n] = '\0';
	m->path_len = n;
	jw_key(w, "path");
	jw_obj(w);
	jw_kstr(w, "type", type);
	jw_kstr(w, "value", norm);
	jw_obj_end(w);
	return 0;
}

static int
http_match_emit(struct jw *w, yajl_val mv, struct rt_match *m, char *msg,
    size_t msgsz)
{
	const char	*method = json_str(mv, "method");

	if (http_path_emit(w, json_get(mv, "path"), m, msg, msgsz) == -1)
		return -1;
	if (method != NULL && !in_list(methods, method)) {
		snprintf(msg, msgsz, "unsupported method %s", method);
		return -1;
	}
	m->has_method = method != NULL;
	jw_kstr(w, "method", method);
	if (kv_emit(w, "headers", json_get(mv, "headers"), 1, &m->n_headers,
	    msg, msgsz) == -1)
		return -1;
	return kv_emit(w, "query", json_get(mv, "queryParams"), 0,
	    &m->n_query, msg, msgsz);
}

static int
grpc_match_emit(struct jw *w, yajl_val mv, struct rt_match *m, char *msg,
    size_t msgsz)
{
	yajl_val	 meth = json_get(mv, "method");
	const char	*type = rt_str_or(meth, "type", "Exact");
	const char	*svc = json_str(meth, "service");
	const char	*name = json_str(meth, "method");

	if (strcmp(type, "RegularExpression") == 0) {
		if ((svc != NULL && !rt_regex_valid(svc, msg, msgsz)) ||
		    (name != NULL && !rt_regex_valid(name, msg, msgsz)))
			return -1;
	} else if (strcmp(type, "Exact") != 0) {
		snprintf(msg, msgsz, "unsupported method match type %s",
		    type);
		return -1;
	}
	m->svc_len = svc != NULL ? strlen(svc) : 0;
	m->meth_len = name != NULL ? strlen(name) : 0;
	jw_kstr(w, "type", type);
	jw_kstr(w, "service", svc);
	jw_kstr(w, "method", name);
	return kv_emit(w, "headers", json_get(mv, "headers"), 1,
	    &m->n_headers, msg, msgsz);
}

/* Render one entry: route identity, the match, then the shared tail. */
static int
match_build(struct rt_ctx *c, struct rt_route *rt, yajl_val rule,
    yajl_val mv, yajl_val tail, struct rt_match *m, char *msg, size_t msgsz)
{
	struct jw	*w;
	char		*txt;
	size_t		 i;
	int		 rc;

	if ((w = jw_new()) == NULL)
		return c->oom = 1, -1;
	jw_obj(w);
	jw_key(w, "route");
	jw_obj(w);
	jw_kstr(w, "kind", rt->grpc ? "GRPCRoute" : "HTTPRoute");
	jw_kstr(w, "namespace", rt->ns);
	jw_kstr(w, "name", rt->name);
	jw_kint(w, "rule", (long long)m->rule);
	jw_kstr(w, "rule_name", json_str(rule, "name"));
	jw_kint(w, "match", (long long)m->index);
	jw_obj_end(w);
	jw_key(w, "match");
	jw_obj(w);
	rc = rt->grpc ? grpc_match_emit(w, mv, m, msg, msgsz) :
	    http_match_emit(w, mv, m, msg, msgsz);
	jw_obj_end(w);
	for (i = 0; i < json_len(tail); i++) {
		jw_key(w, json_key_at(tail, i));
		jw_val(w, json_at(tail, i));
	}
	jw_obj_end(w);
	if (rc == 0 && (txt = jw_take(w, NULL)) != NULL) {
		m->entry = json_parse(txt, strlen(txt), NULL, 0);
		free(txt);
	}
	if (rc == 0 && m->entry == NULL)
		c->oom = 1, rc = -1;
	jw_free(&w);
	return rc;
}

/*
 * A dropped rule's backends must not count in ResolvedRefs: remember the
 * route's reference state before the rule and restore it on drop.
 */
struct rt_refs_mark {
	const char	*reason;
	size_t		 msglen;
};

static void
refs_mark(const struct rt_route *rt, struct rt_refs_mark *mk)
{
	mk->reason = rt->refs_reason;
	mk->msglen = rt->refs_msg != NULL ? strlen(rt->refs_msg) : 0;
}

static void
refs_reset(struct rt_route *rt, const struct rt_refs_mark *mk)
{
	rt->refs_reason = mk->reason;
	if (rt->refs_msg == NULL)
		return;
	if (mk->msglen == 0) {
		free(rt->refs_msg);
		rt->refs_msg = NULL;
	} else
		rt->refs_msg[mk->msglen] = '\0';
}

static void
rule_drop(struct rt_ctx *c, struct rt_route *rt, const struct rt_refs_mark
    *mk, size_t ri, long long mi, const char *reason, const char *msg)
{
	refs_reset(rt, mk);
	if (c->oom)
		return;
	if (mi < 0)
		rt_dropped_add(c, rt, ri, -1, reason, "Dropped Rule %zu: %s",
		    ri, msg);
	else
		rt_dropped_add(c, rt, ri, mi, reason,
		    "Dropped Rule %zu: match %lld: %s", ri, mi, msg);
}

/*
 * A kept rule with a filter the proxy does not implement: its requests
 * (or a backendRef's share) are answered with 500, which the status says.
 * ExtensionRef is reported through ResolvedRefs instead.
 */
static void
rule_unsupported(struct rt_ctx *c, struct rt_route *rt, size_t ri,
    const struct rt_fcheck *fc)
{
	struct route_status	*st = rt->st;
	size_t			 n = st->n_dropped;

	if (fc->unsup == NULL || c->oom)
		return;
	if (fc->unsup_be < 0)
		rt_dropped_add(c, rt, ri, -1, "UnsupportedValue",
		    "Rule %zu: unsupported filter %.64s: the requests it "
		    "matches are answered with 500", ri, fc->unsup);
	else
		rt_dropped_add(c, rt, ri, -1, "UnsupportedValue",
		    "Rule %zu: backendRefs[%lld]: unsupported filter %.64s: "
		    "the requests sent to it are answered with 500", ri,
		    fc->unsup_be, fc->unsup);
	if (st->n_dropped > n)
		st->dropped[n].kept = 1;
}

/* Compile one rule; on any invalid part the whole rule is dropped. */
static void
rule_compile(struct rt_ctx *c, struct rt_route *rt, yajl_val rule,
    size_t ri)
{
	struct rt_match		*a, *m;
	struct rt_refs_mark	 mk;
	struct rt_fcheck	 fc;
	yajl_val		 tail, matches = json_get(rule, "matches");
	size_t			 nm = json_len(matches), i;
	size_t			 first = rt->n_matches;
	char			 msg[RT_MSGSZ];

	msg[0] = '\0';
	refs_mark(rt, &mk);
	if (rt_filters_check(rt, rule, &fc, msg, sizeof(msg)) == -1) {
		rule_drop(c, rt, &mk, ri, -1, fc.reason, msg);
		return;
	}
	if ((tail = rule_tail(c, rt, rule, msg, sizeof(msg))) == NULL) {
		rule_drop(c, rt, &mk, ri, -1, "UnsupportedValue", msg);
		return;
	}
	a = rt_reallocarray(c, rt->matches, rt->n_matches + (nm ? nm : 1),
	    sizeof(*a));
	if (a == NULL)
		goto out;
	rt->matches = a;
	for (i = 0; i < (nm ? nm : 1); i++) {
		m = &rt->matches[rt->n_matches++];
		memset(m, 0, sizeof(*m));
		m->rule = ri;
		m->index = i;
		if (match_build(c, rt, rule, json_at(matches, i), tail, m, msg,
		    sizeof(msg)) == -1)
			break;
	}
	if (i < (nm ? nm : 1)) {
		while (rt->n_matches > first)
			json_free(&rt->matches[--rt->n_matches].entry);
		rule_drop(c, rt, &mk, ri, (long long)i, "UnsupportedValue",
		    msg);
	} else
		rule_unsupported(c, rt, ri, &fc);
out:
	json_free(&tail);
}

void
rt_rules_compile(struct rt_ctx *c, struct rt_route *rt)
{
	yajl_val	 rules = json_path(rt->obj, "spec", "rules", NULL);
	yajl_val	 dflt;
	size_t		 i;

	if (json_len(rules) == 0) {
		/* The API default: one rule matching everything. */
		dflt = json_parse("{}", 2, NULL, 0);
		if (dflt == NULL) {
			c->oom = 1;
			return;
		}
		rule_compile(c, rt, dflt, 0);
		json_free(&dflt);
		return;
	}
	for (i = 0; i < json_len(rules); i++)
		rule_compile(c, rt, json_at(rules, i), i);
}
