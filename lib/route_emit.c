/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_emit: turn attached routes into host entries (listener isolation
 * applied), sort each host's entries by Gateway API precedence, and write
 * the route table, the tunnel ingress document and the DNS list.
 *
 * Host entries: the set P of every effective route hostname and every
 * listener hostname.  The proxy picks, for a request host, the most
 * specific pattern of P that matches it.  All hosts that pick pattern p
 * select the same listener (the most specific listener hostname covering
 * p), so entry p holds exactly the routes attached to that listener whose
 * effective hostname covers p.  A listener hostname with no routes gives
 * an empty entry: its hosts get 404 instead of leaking to a wider
 * listener's routes.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "json.h"
#include "route_priv.h"

struct rt_item {
	const struct rt_match	*m;
	const struct rt_route	*rt;
	const char		*e;	/* the route's matching hostname */
	unsigned		 schemes; /* RT_SCHEME_* of its listeners */
};

#define RT_SCHEME_HTTP	0x1
#define RT_SCHEME_HTTPS	0x2

struct rt_host {
	const char	*p;
	long		 listener;	/* representative, -1: none */
	struct rt_item	*http;
	size_t		 n_http;
	struct rt_item	*grpc;
	size_t		 n_grpc;
};

struct rt_emit {
	struct rt_ctx	*c;
	struct rt_host	*hosts;
	size_t		 n_hosts;
};

static int
host_any(const char *h)
{
	return h == NULL || strcmp(h, "*") == 0;
}

static size_t
host_exact_len(const char *e)
{
	return host_any(e) || rt_host_is_wild(e) ? 0 : strlen(e);
}

static int
cmp_size_desc(size_t a, size_t b)
{
	return a == b ? 0 : a > b ? -1 : 1;
}

/* Route ties: the older route first (no timestamp: last), then ns/name. */
static int
route_tie_cmp(const struct rt_route *a, const struct rt_route *b)
{
	int	 r;

	if ((a->created[0] == '\0') != (b->created[0] == '\0'))
		return a->created[0] == '\0' ? 1 : -1;
	if ((r = strcmp(a->created, b->created)) != 0)
		return r;
	if ((r = strcmp(a->ns, b->ns)) != 0)
		return r;
	return strcmp(a->name, b->name);
}

/* Ties after the match criteria: route, then rule and match order. */
static int
item_cmp_tail(const struct rt_item *a, const struct rt_item *b)
{
	int	 r;

	if ((r = route_tie_cmp(a->rt, b->rt)) != 0)
		return r;
	if (a->m->rule != b->m->rule)
		return a->m->rule < b->m->rule ? -1 : 1;
	return a->m->index < b->m->index ? -1 : a->m->index > b->m->index;
}

static int
item_cmp_host(const struct rt_item *a, const struct rt_item *b)
{
	int	 r;

	if ((r = cmp_size_desc(host_exact_len(a->e), host_exact_len(b->e))))
		return r;
	return cmp_size_desc(host_any(a->e) ? 0 : strlen(a->e),
	    host_any(b->e) ? 0 : strlen(b->e));
}

/* SPEC-NOTES 3.5; RegularExpression paths rank between Exact and Prefix. */
static int
item_cmp_http(const void *va, const void *vb)
{
	const struct rt_item	*a = va, *b = vb;
	int			 r;

	if ((r = item_cmp_host(a, b)) != 0)
		return r;
	if (a->m->path_rank != b->m->path_rank)
		return a->m->path_rank > b->m->path_rank ? -1 : 1;
	if ((r = cmp_size_desc(a->m->path_len, b->m->path_len)) != 0)
		return r;
	if (a->m->has_method != b->m->has_method)
		return a->m->has_method ? -1 : 1;
	if ((r = cmp_size_desc(a->m->n_headers, b->m->n_headers)) != 0)
		return r;
	if ((r = cmp_size_desc(a->m->n_query, b->m->n_query)) != 0)
		return r;
	return item_cmp_tail(a, b);
}

static int
item_cmp_grpc(const void *va, const void *vb)
{
	const struct rt_item	*a = va, *b = vb;
	int			 r;

	if ((r = item_cmp_host(a, b)) != 0)
		return r;
	if ((r = cmp_size_desc(a->m->svc_len, b->m->svc_len)) != 0)
		return r;
	if ((r = cmp_size_desc(a->m->meth_len, b->m->meth_len)) != 0)
		return r;
	if ((r = cmp_size_desc(a->m->n_headers, b->m->n_headers)) != 0)
		return r;
	return item_cmp_tail(a, b);
}

static int
host_same(const char *a, const char *b)
{
	if (host_any(a) || host_any(b))
		return host_any(a) && host_any(b);
	return strcasecmp(a, b) == 0;
}

static void
pattern_add(struct rt_emit *e, const char *p)
{
	struct rt_host	*a;
	size_t		 i;

	if (p == NULL)
		p = "*";
	for (i = 0; i < e->n_hosts; i++)
		if (host_same(e->hosts[i].p, p))
			return;
	a = rt_reallocarray(e->c, e->hosts, e->n_hosts + 1, sizeof(*a));
	if (a == NULL)
		return;
	e->hosts = a;
	memset(&a[e->n_hosts], 0, sizeof(*a));
	a[e->n_hosts++].p = p;
}

static int
host_sort_cmp(const void *va, const void *vb)
{
	const struct rt_host	*a = va, *b = vb;

	return rt_host_cmp(a->p, b->p);
}

/* The most specific usable listener whose hostname covers p. */
static long
host_listener(struct rt_ctx *c, const char *p)
{
	long	 best = -1;
	size_t	 i;

	for (i = 0; i < c->n_ls; i++) {
		if (!c->ls[i].usable || c->ls[i].conflict != NULL ||
		    !rt_host_covers(c->ls[i].hostname, p))
			continue;
		if (best < 0 || rt_host_cmp(c->ls[i].hostname,
		    c->ls[best].hostname) < 0)
			best = (long)i;
	}
	return best;
}

static void
item_add(struct rt_ctx *c, struct rt_host *h, const struct rt_route *rt,
    const char *e, unsigned schemes)
{
	struct rt_item	**list, *a;
	size_t		 *n, i;

	list = rt->grpc ? &h->grpc : &h->http;
	n = rt->grpc ? &h->n_grpc : &h->n_http;
	a = rt_reallocarray(c, *list, *n + rt->n_matches, sizeof(*a));
	if (a == NULL)
		return;
	*list = a;
	for (i = 0; i < rt->n_matches; i++) {
		a[*n].m = &rt->matches[i];
		a[*n].rt = rt;
		a[*n].schemes = schemes;
		a[(*n)++].e = e;
	}
}

/* Fill entry h with the routes of its listener covering its pattern. */
static void
host_fill(struct rt_ctx *c, struct rt_host *h)
{
	const struct rt_route	*rt;
	const char		*lh, *best;
	size_t			 i, k;
	unsigned		 schemes;

	if ((h->listener = host_listener(c, h->p)) < 0)
		return;
	lh = c->ls[h->listener].hostname;
	for (i = 0; i < c->n_routes; i++) {
		rt = &c->routes[i];
		best = NULL;
		schemes = 0;
		for (k = 0; k < rt->n_att; k++) {
			if (!host_same(c->ls[rt->att[k].listener].hostname,
			    lh) || !rt_host_covers(rt->att[k].hostname, h->p))
				continue;
			schemes |= strcmp(c->ls[rt->att[k].listener].protocol,
			    "HTTPS") == 0 ? RT_SCHEME_HTTPS : RT_SCHEME_HTTP;
			if (best == NULL ||
			    rt_host_cmp(rt->att[k].hostname, best) < 0)
				best = rt->att[k].hostname;
		}
		if (best != NULL)
			item_add(c, h, rt, best, schemes);
	}
	if (h->n_http > 1)
		qsort(h->http, h->n_http, sizeof(*h->http), item_cmp_http);
	if (h->n_grpc > 1)
		qsort(h->grpc, h->n_grpc, sizeof(*h->grpc), item_cmp_grpc);
}

/*
 * Keep an entry if a route names its pattern, or if it is an empty
 * listener hostname (hosts of that listener must get 404, not a wider
 * listener's routes).  Any other entry holds only routes of wider
 * wildcards and equals the entry of the narrowest of them.
 */
static int
host_keep(struct rt_ctx *c, const struct rt_host *h)
{
	size_t	 i;

	for (i = 0; i < h->n_http; i++)
		if (host_same(h->http[i].e, h->p))
			return 1;
	for (i = 0; i < h->n_grpc; i++)
		if (host_same(h->grpc[i].e, h->p))
			return 1;
	if (h->n_http + h->n_grpc > 0)
		return 0;
	for (i = 0; i < c->n_ls; i++)
		if (c->ls[i].usable && c->ls[i].conflict == NULL &&
		    host_same(c->ls[i].hostname, h->p))
			return 1;
	return 0;
}

static void
hosts_build(struct rt_emit *e)
{
	struct rt_ctx	*c = e->c;
	size_t		 i, k;

	for (i = 0; i < c->n_routes; i++)
		for (k = 0; k < c->routes[i].n_att; k++)
			pattern_add(e, c->routes[i].att[k].hostname);
	for (i = 0; i < c->n_ls; i++)
		if (c->ls[i].usable && c->ls[i].conflict == NULL)
			pattern_add(e, c->ls[i].hostname);
	if (c->oom)
		return;
	if (e->n_hosts > 1)
		qsort(e->hosts, e->n_hosts, sizeof(*e->hosts), host_sort_cmp);
	for (i = 0, k = 0; i < e->n_hosts; i++) {
		host_fill(c, &e->hosts[i]);
		if (host_keep(c, &e->hosts[i]))
			e->hosts[k++] = e->hosts[i];
		else {
			free(e->hosts[i].http);
			free(e->hosts[i].grpc);
		}
	}
	e->n_hosts = k;
}

static void
items_emit(struct jw *w, const char *key, const struct rt_item *it,
    size_t n)
{
	size_t	 i;

	yajl_val	 v;
	size_t		 k;

	jw_key(w, key);
	jw_arr(w);
	for (i = 0; i < n; i++) {
		v = it[i].m->entry;
		jw_obj(w);
		for (k = 0; k < json_len(v); k++) {
			jw_key(w, json_key_at(v, k));
			jw_val(w, json_at(v, k));
		}
		jw_key(w, "schemes");
		jw_arr(w);
		if (it[i].schemes & RT_SCHEME_HTTP)
			jw_str(w, "http");
		if (it[i].schemes & RT_SCHEME_HTTPS)
			jw_str(w, "https");
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void
host_emit(struct rt_emit *e, struct jw *w, const struct rt_host *h)
{
	struct rt_ctx	*c = e->c;
	size_t		 i;

	jw_obj(w);
	jw_kstr(w, "hostname", h->p);
	jw_kbool(w, "wildcard", !rt_host_is_wild(h->p) ? 0 : 1);
	jw_key(w, "listeners");
	jw_arr(w);
	for (i = 0; h->listener >= 0 && i < c->n_ls; i++)
		if (c->ls[i].usable && c->ls[i].conflict == NULL &&
		    host_same(c->ls[i].hostname,
		    c->ls[h->listener].hostname))
			jw_str(w, c->ls[i].name);
	jw_arr_end(w);
	items_emit(w, "http", h->http, h->n_http);
	items_emit(w, "grpc", h->grpc, h->n_grpc);
	jw_obj_end(w);
}

static void
table_emit(struct rt_emit *e, struct jw *w, const char *gen)
{
	struct rt_ctx	*c = e->c;
	size_t		 i;

	jw_obj(w);
	jw_kstr(w, "version", ROUTE_TABLE_VERSION);
	if (gen != NULL)
		jw_kstr(w, "generation", gen);
	jw_key(w, "gateway");
	jw_obj(w);
	jw_kstr(w, "namespace", c->gw_ns);
	jw_kstr(w, "name", c->gw_name);
	jw_obj_end(w);
	jw_kstr(w, "cluster_domain", c->domain);
	jw_key(w, "listeners");
	jw_arr(w);
	for (i = 0; i < c->n_ls; i++) {
		jw_obj(w);
		jw_kstr(w, "name", c->ls[i].name);
		jw_kstr(w, "protocol", c->ls[i].protocol);
		jw_kint(w, "port", c->ls[i].port);
		jw_kstr(w, "hostname", c->ls[i].hostname);
		jw_kbool(w, "usable", c->ls[i].usable &&
		    c->ls[i].conflict == NULL);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "hosts");
	jw_arr(w);
	for (i = 0; i < e->n_hosts; i++)
		host_emit(e, w, &e->hosts[i]);
	jw_arr_end(w);
	jw_obj_end(w);
}

static int
table_build(struct rt_emit *e)
{
	struct route_result	*r = e->c->res;
	unsigned char		 sum[crypto_hash_sha256_BYTES];
	char			 hex[2 * sizeof(sum) + 1];
	struct jw		*w;
	const char		*buf;
	size_t			 len;

	if ((w = jw_new()) == NULL)
		return -1;
	table_emit(e, w, NULL);
	if (jw_result(w, &buf, &len) == -1) {
		jw_free(&w);
		return -1;
	}
	crypto_hash_sha256(sum, (const unsigned char *)buf, len);
	jw_free(&w);
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	if ((r->generation = strdup(hex)) == NULL ||
	    (w = jw_new()) == NULL)
		return -1;
	table_emit(e, w, hex);
	r->table = jw_take(w, &r->table_len);
	jw_free(&w);
	return r->table != NULL ? 0 : -1;
}

/* gRPC needs HTTP/2 to the origin, which cloudflared only does over TLS. */
static void
origin_emit(struct jw *w, int grpc)
{
	if (!grpc) {
		jw_kstr(w, "service", ROUTE_HTTP_ORIGIN);
		return;
	}
	jw_kstr(w, "service", ROUTE_GRPC_ORIGIN);
	jw_key(w, "originRequest");
	jw_obj(w);
	jw_kbool(w, "http2Origin", 1);
	jw_kbool(w, "noTLSVerify", 1);
	jw_obj_end(w);
}

/*
 * One rule per non-empty entry in table order, then the catch-all: 404,
 * or the proxy when hostname-less routes exist on a hostname-less
 * listener (the "*" entry), so names pointed at the tunnel by hand reach
 * them.
 */
static int
tunnel_build(struct rt_emit *e)
{
	struct route_result	*r = e->c->res;
	const struct rt_host	*h;
	struct jw		*w;
	size_t			 i;

	if ((w = jw_new()) == NULL)
		return -1;
	jw_obj(w);
	jw_key(w, "ingress");
	jw_arr(w);
	for (i = 0; i < e->n_hosts; i++) {
		h = &e->hosts[i];
		if (host_any(h->p) || h->n_http + h->n_grpc == 0)
			continue;
		jw_obj(w);
		jw_kstr(w, "hostname", h->p);
		origin_emit(w, h->n_grpc > 0);
		jw_obj_end(w);
	}
	jw_obj(w);
	h = e->n_hosts > 0 ? &e->hosts[e->n_hosts - 1] : NULL;
	if (h != NULL && host_any(h->p) && h->n_http + h->n_grpc > 0)
		origin_emit(w, h->n_grpc > 0);
	else
		jw_kstr(w, "service", "http_status:404");
	jw_obj_end(w);
	jw_arr_end(w);
	jw_obj_end(w);
	r->tunnel = jw_take(w, &r->tunnel_len);
	jw_free(&w);
	return r->tunnel != NULL ? 0 : -1;
}

/* The owner of a hostname: the oldest contributing route, then ns/name. */
static const struct rt_route *
host_owner(const struct rt_host *h)
{
	const struct rt_route	*best = NULL, *rt;
	size_t			 i;

	for (i = 0; i < h->n_http + h->n_grpc; i++) {
		rt = i < h->n_http ? h->http[i].rt : h->grpc[i - h->n_http].rt;
		if (best == NULL || route_tie_cmp(rt, best) < 0)
			best = rt;
	}
	return best;
}

static int
dns_cmp(const void *va, const void *vb)
{
	const struct route_dns_name	*a = va, *b = vb;

	return strcmp(a->hostname, b->hostname);
}

static int
dns_build(struct rt_emit *e)
{
	struct route_result	*r = e->c->res;
	const struct rt_route	*o;
	size_t			 i;

	if ((r->dns = calloc(e->n_hosts + 1, sizeof(*r->dns))) == NULL)
		return -1;
	for (i = 0; i < e->n_hosts; i++) {
		if (host_any(e->hosts[i].p) ||
		    (o = host_owner(&e->hosts[i])) == NULL)
			continue;
		r->dns[r->n_dns].hostname = rt_strdup(e->c, e->hosts[i].p);
		r->dns[r->n_dns++].route = rt_printf(e->c, "%s/%s/%s",
		    o->grpc ? "GRPCRoute" : "HTTPRoute", o->ns, o->name);
	}
	qsort(r->dns, r->n_dns, sizeof(*r->dns), dns_cmp);
	return e->c->oom ? -1 : 0;
}

int
rt_emit(struct rt_ctx *c)
{
	struct rt_emit	 e;
	size_t		 i;
	int		 rc = -1;

	memset(&e, 0, sizeof(e));
	e.c = c;
	hosts_build(&e);
	if (!c->oom && table_build(&e) == 0 && tunnel_build(&e) == 0 &&
	    dns_build(&e) == 0)
		rc = 0;
	for (i = 0; i < e.n_hosts; i++) {
		free(e.hosts[i].http);
		free(e.hosts[i].grpc);
	}
	free(e.hosts);
	return rc;
}
