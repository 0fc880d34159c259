/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_compile: the pure route compiler (Gateway API v1.6.1).  Parses the
 * Gateway's listeners, attaches HTTPRoutes and GRPCRoutes to them
 * (parentRef sectionName/port, allowedRoutes kinds and namespaces,
 * hostname intersection), computes listener and route conditions, and
 * hands the attached routes to route_emit.c for the table, the tunnel
 * ingress document and the DNS list.  No I/O; inputs are never modified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "route_priv.h"

#define RT_HOSTSZ	256

static void
listener_parse(struct rt_ctx *c, struct rt_listener *l, yajl_val v)
{
	yajl_val	 ar = json_get(v, "allowedRoutes"), kinds, k;
	const char	*from, *kind;
	size_t		 i;

	l->name = rt_str_or(v, "name", "");
	l->protocol = rt_str_or(v, "protocol", "");
	l->port = 0;
	(void)json_int(v, "port", &l->port);
	l->hostname = json_str(v, "hostname");
	if (l->hostname != NULL && (l->hostname[0] == '\0' ||
	    strcmp(l->hostname, "*") == 0))
		l->hostname = NULL;
	l->usable = strcmp(l->protocol, "HTTP") == 0 ||
	    strcmp(l->protocol, "HTTPS") == 0;
	from = rt_str_or(json_get(ar, "namespaces"), "from", "Same");
	l->from = strcmp(from, "All") == 0 ? RT_FROM_ALL :
	    strcmp(from, "Selector") == 0 ? RT_FROM_SELECTOR : RT_FROM_SAME;
	l->selector = json_path(ar, "namespaces", "selector", NULL);
	kinds = json_get(ar, "kinds");
	if (json_len(kinds) == 0) {
		l->allow_http = l->allow_grpc = 1;
		return;
	}
	for (i = 0; i < json_len(kinds); i++) {
		k = json_at(kinds, i);
		kind = rt_str_or(k, "kind", "");
		if (strcmp(rt_str_or(k, "group", RT_GROUP), RT_GROUP) != 0)
			l->bad_kinds = 1;
		else if (strcmp(kind, "HTTPRoute") == 0)
			l->allow_http = 1;
		else if (strcmp(kind, "GRPCRoute") == 0)
			l->allow_grpc = 1;
		else
			l->bad_kinds = 1;
	}
	(void)c;
}

static int
hostname_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcasecmp(a, b) == 0;
}

/* Same port: different protocols conflict, else the same hostname. */
static void
listeners_conflicts(struct rt_ctx *c)
{
	struct rt_listener	*a, *b;
	size_t			 i, k;

	for (i = 0; i < c->n_ls; i++)
		for (k = 0; k < c->n_ls; k++) {
			a = &c->ls[i];
			b = &c->ls[k];
			if (i == k || a->port != b->port)
				continue;
			if (strcmp(a->protocol, b->protocol) != 0)
				a->conflict = "ProtocolConflict";
			else if (hostname_eq(a->hostname, b->hostname) &&
			    a->conflict == NULL)
				a->conflict = "HostnameConflict";
		}
}

static int
listeners_parse(struct rt_ctx *c)
{
	yajl_val	 ls = json_path(c->in->gateway, "spec", "listeners",
			    NULL);
	size_t		 i;

	c->n_ls = json_len(ls);
	if ((c->ls = calloc(c->n_ls + 1, sizeof(*c->ls))) == NULL)
		return -1;
	for (i = 0; i < c->n_ls; i++)
		listener_parse(c, &c->ls[i], json_at(ls, i));
	listeners_conflicts(c);
	return 0;
}

static void
listener_status(struct rt_ctx *c, const struct rt_listener *l,
    struct route_listener_status *s)
{
	int	 ok = l->usable && l->conflict == NULL;

	s->name = rt_strdup(c, l->name);
	s->attached_routes = l->attached;
	if ((s->supported_kinds = calloc(2, sizeof(char *))) == NULL) {
		c->oom = 1;
		return;
	}
	if (l->usable && l->allow_http)
		s->supported_kinds[s->n_supported_kinds++] = "HTTPRoute";
	if (l->usable && l->allow_grpc)
		s->supported_kinds[s->n_supported_kinds++] = "GRPCRoute";
	if (l->usable)
		rt_cond_add(c, &s->conds, &s->n_conds, "Accepted",
		    ROUTE_COND_TRUE, "Accepted", "Listener is accepted");
	else
		rt_cond_add(c, &s->conds, &s->n_conds, "Accepted",
		    ROUTE_COND_FALSE, "UnsupportedProtocol", "Protocol %s is "
		    "not supported (only HTTP and HTTPS)", l->protocol);
	rt_cond_add(c, &s->conds, &s->n_conds, "Programmed",
	    ok ? ROUTE_COND_TRUE : ROUTE_COND_FALSE, ok ? "Programmed" :
	    "Invalid", ok ? "Listener is programmed" : "Listener is invalid");
	rt_cond_add(c, &s->conds, &s->n_conds, "ResolvedRefs",
	    l->bad_kinds ? ROUTE_COND_FALSE : ROUTE_COND_TRUE,
	    l->bad_kinds ? "InvalidRouteKinds" : "ResolvedRefs",
	    l->bad_kinds ? "Only HTTPRoute and GRPCRoute kinds are "
	    "supported" : "References resolved");
	rt_cond_add(c, &s->conds, &s->n_conds, "Conflicted",
	    l->conflict != NULL ? ROUTE_COND_TRUE : ROUTE_COND_FALSE,
	    l->conflict != NULL ? l->conflict : "NoConflicts",
	    l->conflict != NULL ? "Listener conflicts with another listener "
	    "on the same port" : "No conflicts");
}

/* Does parentRef p (of a route in route_ns) name Gateway gw_ns/gw_name? */
static int
parent_names(yajl_val p, const char *route_ns, const char *gw_ns,
    const char *gw_name)
{
	return strcmp(rt_str_or(p, "group", RT_GROUP), RT_GROUP) == 0 &&
	    strcmp(rt_str_or(p, "kind", "Gateway"), "Gateway") == 0 &&
	    strcmp(rt_str_or(p, "namespace", route_ns), gw_ns) == 0 &&
	    strcmp(rt_str_or(p, "name", ""), gw_name) == 0;
}

int
route_names_gateway(yajl_val obj, const char *gw_ns, const char *gw_name)
{
	yajl_val	 prs = json_path(obj, "spec", "parentRefs", NULL);
	const char	*ns;
	size_t		 i;

	ns = rt_str_or(json_get(obj, "metadata"), "namespace", "default");
	for (i = 0; i < json_len(prs); i++)
		if (parent_names(json_at(prs, i), ns, gw_ns, gw_name))
			return 1;
	return 0;
}

/* Does parentRef p name this Gateway? */
static int
parent_is_ours(struct rt_ctx *c, yajl_val p, const char *route_ns)
{
	return parent_names(p, route_ns, c->gw_ns, c->gw_name);
}

static int
route_cmp(const void *va, const void *vb)
{
	const struct rt_route	*a = va, *b = vb;
	int			 r;

	if (a->grpc != b->grpc)
		return a->grpc - b->grpc;
	if ((r = strcmp(a->ns, b->ns)) != 0)
		return r;
	return strcmp(a->name, b->name);
}

static void
routes_collect_kind(struct rt_ctx *c, yajl_val *objs, size_t n, int grpc)
{
	struct rt_route	*rt;
	yajl_val	 md;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (objs[i] == NULL ||
		    !route_names_gateway(objs[i], c->gw_ns, c->gw_name))
			continue;
		rt = &c->routes[c->n_routes++];
		memset(rt, 0, sizeof(*rt));
		md = json_get(objs[i], "metadata");
		rt->grpc = grpc;
		rt->obj = objs[i];
		rt->ns = rt_str_or(md, "namespace", "default");
		rt->name = rt_str_or(md, "name", "");
		rt->created = rt_str_or(md, "creationTimestamp", "");
	}
}

static int
routes_collect(struct rt_ctx *c)
{
	const struct route_input	*in = c->in;
	struct route_result		*r = c->res;
	size_t				 i;
	long long			 g;

	c->routes = calloc(in->n_http + in->n_grpc + 1, sizeof(*c->routes));
	if (c->routes == NULL)
		return -1;
	routes_collect_kind(c, in->httproutes, in->n_http, 0);
	routes_collect_kind(c, in->grpcroutes, in->n_grpc, 1);
	qsort(c->routes, c->n_routes, sizeof(*c->routes), route_cmp);
	if ((r->routes = calloc(c->n_routes + 1, sizeof(*r->routes))) == NULL)
		return -1;
	r->n_routes = c->n_routes;
	for (i = 0; i < c->n_routes; i++) {
		c->routes[i].st = &r->routes[i];
		r->routes[i].kind = c->routes[i].grpc ? "GRPCRoute" :
		    "HTTPRoute";
		r->routes[i].namespace = rt_strdup(c, c->routes[i].ns);
		r->routes[i].name = rt_strdup(c, c->routes[i].name);
		g = 0;
		(void)json_int(json_get(c->routes[i].obj, "metadata"),
		    "generation", &g);
		r->routes[i].generation = g;
	}
	return c->oom ? -1 : 0;
}

static int
listener_admits(struct rt_ctx *c, const struct rt_listener *l,
    const struct rt_route *rt)
{
	if (!l->usable || l->conflict != NULL ||
	    !(rt->grpc ? l->allow_grpc : l->allow_http))
		return 0;
	switch (l->from) {
	case RT_FROM_ALL:
		return 1;
	case RT_FROM_SELECTOR:
		return rt_selector_match(l->selector, rt_find_named(
		    c->in->namespaces, c->in->n_ns, NULL, rt->ns), rt->ns);
	default:
		return strcmp(rt->ns, c->gw_ns) == 0;
	}
}

static void
attach_add(struct rt_ctx *c, struct rt_route *rt, const char *host,
    size_t li)
{
	struct rt_attach	*a;
	size_t			 i;

	for (i = 0; i < rt->n_att; i++)
		if (rt->att[i].listener == li &&
		    strcmp(rt->att[i].hostname, host) == 0)
			return;
	if ((a = rt_reallocarray(c, rt->att, rt->n_att + 1,
	    sizeof(*a))) == NULL)
		return;
	rt->att = a;
	a[rt->n_att].listener = li;
	if ((a[rt->n_att].hostname = rt_strdup(c, host)) != NULL)
		rt->n_att++;
}

/* Intersect the route's hostnames with listener li; 1 if any. */
static int
attach_listener(struct rt_ctx *c, struct rt_route *rt, size_t li)
{
	yajl_val	 hs = json_path(rt->obj, "spec", "hostnames", NULL);
	const char	*lh = c->ls[li].hostname, *h;
	char		 out[RT_HOSTSZ], low[RT_HOSTSZ];
	size_t		 i, k;
	int		 any = 0, rc;

	if (json_len(hs) == 0) {
		attach_add(c, rt, lh != NULL ? lh : "*", li);
		return 1;
	}
	for (i = 0; i < json_len(hs); i++) {
		if ((h = json_str(json_at(hs, i), NULL)) == NULL ||
		    strlen(h) >= sizeof(low))
			continue;
		for (k = 0; h[k] != '\0' && k < sizeof(low) - 1; k++)
			low[k] = (h[k] >= 'A' && h[k] <= 'Z') ? h[k] + 32 :
			    h[k];
		low[k] = '\0';
		rc = route_hostname_intersect(low, lh, out, sizeof(out));
		if (rc == 0)
			continue;
		attach_add(c, rt, rc == 2 ? "*" : out, li);
		any = 1;
	}
	return any;
}

static void
parent_ref_copy(struct rt_ctx *c, struct route_parent_ref *ref, yajl_val p)
{
	ref->group = rt_strdup(c, json_str(p, "group"));
	ref->kind = rt_strdup(c, json_str(p, "kind"));
	ref->namespace = rt_strdup(c, json_str(p, "namespace"));
	ref->name = rt_strdup(c, rt_str_or(p, "name", ""));
	ref->section_name = rt_strdup(c, json_str(p, "sectionName"));
	ref->port = -1;
	(void)json_int(p, "port", &ref->port);
}

static void
parent_conds(struct rt_ctx *c, struct rt_route *rt,
    struct route_parent_status *ps, const char *reason, const char *msg)
{
	struct route_status	*st = rt->st;
	char			*drops = NULL;
	size_t			 i;

	rt_cond_add(c, &ps->conds, &ps->n_conds, "Accepted",
	    reason == NULL ? ROUTE_COND_TRUE : ROUTE_COND_FALSE,
	    reason == NULL ? "Accepted" : reason, "%s", msg);
	if (rt->refs_reason != NULL)
		rt_cond_add(c, &ps->conds, &ps->n_conds, "ResolvedRefs",
		    ROUTE_COND_FALSE, rt->refs_reason, "Unresolved "
		    "references:\n%s", rt->refs_msg != NULL ? rt->refs_msg :
		    "");
	else
		rt_cond_add(c, &ps->conds, &ps->n_conds, "ResolvedRefs",
		    ROUTE_COND_TRUE, "ResolvedRefs", "References resolved");
	if (reason != NULL || st->n_dropped == 0)
		return;
	for (i = 0; i < st->n_dropped; i++)
		rt_append(c, &drops, "%s", st->dropped[i].message != NULL ?
		    st->dropped[i].message : "Dropped Rule");
	rt_cond_add(c, &ps->conds, &ps->n_conds, "PartiallyInvalid",
	    ROUTE_COND_TRUE, "UnsupportedValue", "%s", drops != NULL ? drops :
	    "Dropped Rule");
	free(drops);
}

/*
 * Accepted=False for a route without a valid rule: IncompatibleFilters
 * when that is why every rule was dropped, else UnsupportedValue.
 */
static const char *
drops_reason(const struct route_status *st)
{
	size_t	 i;

	for (i = 0; i < st->n_dropped; i++)
		if (strcmp(st->dropped[i].reason, "IncompatibleFilters") != 0)
			return "UnsupportedValue";
	return "IncompatibleFilters";
}

/* Attach through one parentRef; returns the Accepted=False reason. */
static const char *
parent_attach(struct rt_ctx *c, struct rt_route *rt, yajl_val p,
    char *attached, char *msg, size_t msgsz)
{
	const char	*sec = json_str(p, "sectionName");
	long long	 port = -1;
	size_t		 li, ncand = 0, nadm = 0;
	int		 host_ok = 0;

	(void)json_int(p, "port", &port);
	for (li = 0; li < c->n_ls; li++) {
		if ((sec != NULL && strcmp(c->ls[li].name, sec) != 0) ||
		    (port >= 0 && c->ls[li].port != port))
			continue;
		ncand++;
		if (!listener_admits(c, &c->ls[li], rt))
			continue;
		nadm++;
		if (attach_listener(c, rt, li))
			host_ok = attached[li] = 1;
	}
	if (ncand == 0) {
		if (port >= 0)
			snprintf(msg, msgsz, "No listener %s%s%swith port "
			    "%lld", sec != NULL ? "named " : "", sec != NULL ?
			    sec : "", sec != NULL ? " " : "", port);
		else
			snprintf(msg, msgsz, "No listener named %s", sec);
		return "NoMatchingParent";
	}
	if (nadm == 0) {
		snprintf(msg, msgsz, "%s not allowed by any matching "
		    "listener (kind, namespace or protocol)",
		    rt->grpc ? "GRPCRoute" : "HTTPRoute");
		return "NotAllowedByListeners";
	}
	if (!host_ok) {
		snprintf(msg, msgsz, "No route hostname intersects a "
		    "listener hostname");
		return "NoMatchingListenerHostname";
	}
	snprintf(msg, msgsz, "%s is accepted", rt->grpc ? "GRPCRoute" :
	    "HTTPRoute");
	return NULL;
}

static void
route_attach(struct rt_ctx *c, struct rt_route *rt)
{
	yajl_val		 prs = json_path(rt->obj, "spec", "parentRefs",
				    NULL), p;
	struct route_parent_status *ps;
	struct route_status	*st = rt->st;
	const char		*reason;
	char			 msg[256], *attached;
	size_t			 i;

	if ((attached = calloc(c->n_ls + 1, 1)) == NULL ||
	    (st->parents = calloc(json_len(prs) + 1,
	    sizeof(*st->parents))) == NULL) {
		free(attached);
		c->oom = 1;
		return;
	}
	for (i = 0; i < json_len(prs); i++) {
		p = json_at(prs, i);
		if (!parent_is_ours(c, p, rt->ns))
			continue;
		ps = &st->parents[st->n_parents++];
		ps->index = i;
		parent_ref_copy(c, &ps->ref, p);
		if (rt->n_matches == 0 && st->n_dropped > 0) {
			reason = drops_reason(st);
			snprintf(msg, sizeof(msg), "All rules are invalid");
		} else
			reason = parent_attach(c, rt, p, attached, msg,
			    sizeof(msg));
		parent_conds(c, rt, ps, reason, msg);
	}
	for (i = 0; i < c->n_ls; i++)
		c->ls[i].attached += attached[i];
	free(attached);
}

static void
ctx_free(struct rt_ctx *c)
{
	struct rt_route	*rt;
	size_t		 i, k;

	for (i = 0; i < c->n_routes; i++) {
		rt = &c->routes[i];
		for (k = 0; k < rt->n_matches; k++)
			json_free(&rt->matches[k].entry);
		free(rt->matches);
		for (k = 0; k < rt->n_att; k++)
			free(rt->att[k].hostname);
		free(rt->att);
		free(rt->refs_msg);
	}
	free(c->routes);
	free(c->ls);
}

static int
compile_run(struct rt_ctx *c)
{
	struct route_result	*r = c->res;
	size_t			 i;

	if (listeners_parse(c) == -1 || routes_collect(c) == -1)
		return -1;
	for (i = 0; i < c->n_routes && !c->oom; i++) {
		rt_rules_compile(c, &c->routes[i]);
		route_attach(c, &c->routes[i]);
	}
	if (c->oom)
		return -1;
	r->n_listeners = c->n_ls;
	if ((r->listeners = calloc(c->n_ls + 1, sizeof(*r->listeners))) ==
	    NULL)
		return -1;
	for (i = 0; i < c->n_ls; i++)
		listener_status(c, &c->ls[i], &r->listeners[i]);
	if (c->oom)
		return -1;
	return rt_emit(c);
}

struct route_result *
route_compile(const struct route_input *in, char *err, size_t errsz)
{
	struct rt_ctx	 c;
	yajl_val	 md;

	if (err != NULL && errsz > 0)
		err[0] = '\0';
	memset(&c, 0, sizeof(c));
	c.in = in;
	c.err = err;
	c.errsz = errsz;
	md = json_get(in != NULL ? in->gateway : NULL, "metadata");
	if (md == NULL || json_str(md, "name") == NULL) {
		snprintf(err, errsz, "no Gateway, or Gateway without "
		    "metadata.name");
		return NULL;
	}
	c.gw_ns = rt_str_or(md, "namespace", "default");
	c.gw_name = json_str(md, "name");
	c.domain = in->cluster_domain != NULL ? in->cluster_domain :
	    ROUTE_DEFAULT_DOMAIN;
	if ((c.res = calloc(1, sizeof(*c.res))) == NULL ||
	    compile_run(&c) == -1) {
		snprintf(err, errsz, "route compiler: out of memory");
		route_result_free(&c.res);
	}
	ctx_free(&c);
	return c.res;
}
