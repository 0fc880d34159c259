/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CHECK_ROUTE_H
#define CHECK_ROUTE_H

/*
 * Helpers shared by the route compiler tests (check_route*.c): compile
 * inline YAML manifests and look things up in the result.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "manifest.h"
#include "route.h"

struct rtest {
	struct manifest_set	 set;
	struct route_result	*r;
	yajl_val		 table;
	yajl_val		 tunnel;
	yajl_val		 gw, http[32], grpc[32], svc[32];
	yajl_val		 rg[16], ns[16];
	size_t			 n_http, n_grpc, n_svc, n_rg, n_ns;
};

static inline void
rtest_sort(struct rtest *t)
{
	size_t		 i;
	const char	*k;

	for (i = 0; i < t->set.n; i++) {
		k = t->set.docs[i].kind;
		if (strcmp(k, "Gateway") == 0 && t->gw == NULL)
			t->gw = t->set.docs[i].obj;
		else if (strcmp(k, "HTTPRoute") == 0)
			t->http[t->n_http++] = t->set.docs[i].obj;
		else if (strcmp(k, "GRPCRoute") == 0)
			t->grpc[t->n_grpc++] = t->set.docs[i].obj;
		else if (strcmp(k, "Service") == 0)
			t->svc[t->n_svc++] = t->set.docs[i].obj;
		else if (strcmp(k, "ReferenceGrant") == 0)
			t->rg[t->n_rg++] = t->set.docs[i].obj;
		else if (strcmp(k, "Namespace") == 0)
			t->ns[t->n_ns++] = t->set.docs[i].obj;
	}
}

/* Compile YAML; assume_services when the YAML has no Service. */
static inline void
rtest_compile(struct rtest *t, const char *yaml)
{
	struct route_input	 in;
	char			 err[512];

	memset(t, 0, sizeof(*t));
	ck_assert_msg(manifest_load_buf(&t->set, "test.yaml", yaml,
	    strlen(yaml), err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(manifest_default_namespace(&t->set, "default"), 0);
	rtest_sort(t);
	memset(&in, 0, sizeof(in));
	in.gateway = t->gw;
	in.httproutes = t->http;
	in.n_http = t->n_http;
	in.grpcroutes = t->grpc;
	in.n_grpc = t->n_grpc;
	in.services = t->svc;
	in.n_svc = t->n_svc;
	in.refgrants = t->rg;
	in.n_rg = t->n_rg;
	in.namespaces = t->ns;
	in.n_ns = t->n_ns;
	in.assume_services = t->n_svc == 0;
	t->r = route_compile(&in, err, sizeof(err));
	ck_assert_msg(t->r != NULL, "compile: %s", err);
	t->table = json_parse(t->r->table, t->r->table_len, err, sizeof(err));
	ck_assert_msg(t->table != NULL, "table: %s", err);
	t->tunnel = json_parse(t->r->tunnel, t->r->tunnel_len, err,
	    sizeof(err));
	ck_assert_msg(t->tunnel != NULL, "tunnel: %s", err);
}

static inline void
rtest_free(struct rtest *t)
{
	json_free(&t->table);
	json_free(&t->tunnel);
	route_result_free(&t->r);
	manifest_set_free(&t->set);
}

static inline yajl_val
rtest_host(struct rtest *t, const char *hostname)
{
	yajl_val	 hosts = json_get(t->table, "hosts");
	size_t		 i;

	for (i = 0; i < json_len(hosts); i++)
		if (strcmp(json_str(json_at(hosts, i), "hostname"),
		    hostname) == 0)
			return json_at(hosts, i);
	return NULL;
}

/* "ns/name#rule.match" of entry i of a host's list, or "" past the end. */
static inline const char *
rtest_entry(struct rtest *t, const char *hostname, const char *list,
    size_t i)
{
	static char	 buf[256];
	yajl_val	 h = rtest_host(t, hostname), e, r;
	long long	 rule = -1, match = -1;

	ck_assert_msg(h != NULL, "no host entry %s", hostname);
	if ((e = json_at(json_get(h, list), i)) == NULL)
		return "";
	r = json_get(e, "route");
	json_int(r, "rule", &rule);
	json_int(r, "match", &match);
	snprintf(buf, sizeof(buf), "%s/%s#%lld.%lld", json_str(r,
	    "namespace"), json_str(r, "name"), rule, match);
	return buf;
}

static inline size_t
rtest_count(struct rtest *t, const char *hostname, const char *list)
{
	yajl_val	 h = rtest_host(t, hostname);

	ck_assert_msg(h != NULL, "no host entry %s", hostname);
	return json_len(json_get(h, list));
}

static inline const struct route_status *
rtest_route(struct rtest *t, const char *ns, const char *name)
{
	size_t	 i;

	for (i = 0; i < t->r->n_routes; i++)
		if (strcmp(t->r->routes[i].namespace, ns) == 0 &&
		    strcmp(t->r->routes[i].name, name) == 0)
			return &t->r->routes[i];
	ck_abort_msg("no route status %s/%s", ns, name);
	return NULL;
}

/* "Status/Reason" of a condition type of parent p of a route. */
static inline const char *
rtest_cond(struct rtest *t, const char *ns, const char *name, size_t p,
    const char *type)
{
	static char			 buf[128];
	const struct route_status	*s = rtest_route(t, ns, name);
	size_t				 i;

	ck_assert_msg(p < s->n_parents, "%s/%s: no parent %zu", ns, name, p);
	for (i = 0; i < s->parents[p].n_conds; i++)
		if (strcmp(s->parents[p].conds[i].type, type) == 0) {
			snprintf(buf, sizeof(buf), "%s/%s",
			    route_cond_status_name(
			    s->parents[p].conds[i].status),
			    s->parents[p].conds[i].reason);
			return buf;
		}
	return "absent";
}

static inline const struct route_listener_status *
rtest_listener(struct rtest *t, const char *name)
{
	size_t	 i;

	for (i = 0; i < t->r->n_listeners; i++)
		if (strcmp(t->r->listeners[i].name, name) == 0)
			return &t->r->listeners[i];
	ck_abort_msg("no listener %s", name);
	return NULL;
}

#define GW_HEAD \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: Gateway\n" \
	"metadata: {name: gw, namespace: default}\n" \
	"spec:\n" \
	"  gatewayClassName: cfgw\n" \
	"  listeners:\n"

#define GW_ONE_LISTENER GW_HEAD \
	"  - {name: http, protocol: HTTP, port: 80}\n"

#endif
