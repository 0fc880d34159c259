/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_ROUTE_H
#define CFGW_ROUTE_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

/*
 * The route compiler: a pure function from the Kubernetes objects of one
 * Gateway (as yajl trees, exactly as the API returns them) to
 *   - the proxy's route table (docs/route-table.md),
 *   - the tunnel ingress document (the "config" object of PUT
 *     /cfd_tunnel/{id}/configurations),
 *   - the DNS hostname list,
 *   - listener status and per-route per-parentRef conditions.
 * No I/O, no globals, no logging of object contents; the same inputs give
 * byte-identical outputs.  Shared by the reconciler and `cfgwctl plan`.
 */

#define ROUTE_TABLE_VERSION	"1.0"
#define ROUTE_DEFAULT_DOMAIN	"cluster.local"
#define ROUTE_DEFAULT_CONTROLLER "cloudflare-gateway-controller.io/controller"
#define ROUTE_HTTP_ORIGIN	"http://localhost:8080"
#define ROUTE_GRPC_ORIGIN	"https://localhost:8443"

/*
 * Objects in any order.  Routes whose parentRefs do not name this Gateway
 * are ignored, so a caller may pass every route it knows.  The caller
 * decides whether the Gateway is ours (GatewayClass controllerName);
 * gatewayclass and controller_name are carried for that and are not used
 * by the compiler itself.
 */
struct route_input {
	yajl_val	 gateway;		/* required */
	yajl_val	 gatewayclass;		/* may be NULL */
	yajl_val	*httproutes;
	size_t		 n_http;
	yajl_val	*grpcroutes;
	size_t		 n_grpc;
	yajl_val	*services;
	size_t		 n_svc;
	yajl_val	*refgrants;		/* v1 and v1beta1 alike */
	size_t		 n_rg;
	yajl_val	*namespaces;		/* for allowedRoutes Selector */
	size_t		 n_ns;
	const char	*cluster_domain;	/* NULL: "cluster.local" */
	const char	*controller_name;	/* NULL: the default */
	int		 assume_services;	/* offline (cfgwctl plan): a
						   Service not in services[] is
						   assumed to exist with the
						   referenced port */
};

enum route_cond_status {
	ROUTE_COND_TRUE,
	ROUTE_COND_FALSE,
	ROUTE_COND_UNKNOWN,
};

/* One status condition.  type and reason are static strings. */
struct route_cond {
	const char		*type;
	enum route_cond_status	 status;
	const char		*reason;
	char			*message;
};

/* spec.parentRefs[i] echoed, defaults NOT filled in (as the user wrote). */
struct route_parent_ref {
	char		*group;		/* NULL when absent */
	char		*kind;
	char		*namespace;
	char		*name;
	char		*section_name;
	long long	 port;		/* -1 when absent */
};

/* Status of one route for one parentRef that names this Gateway. */
struct route_parent_status {
	size_t			 index;		/* in spec.parentRefs */
	struct route_parent_ref	 ref;
	struct route_cond	*conds;		/* Accepted, ResolvedRefs,
						   PartiallyInvalid (if any) */
	size_t			 n_conds;
};

/* A rule (or a match of it) that did not make it into the table. */
struct route_dropped {
	size_t		 rule;
	long long	 match;		/* -1: the whole rule */
	const char	*reason;	/* UnsupportedValue, ... */
	char		*message;
	int		 kept;		/* not dropped: answered with 500 */
};

struct route_status {
	const char		 *kind;		/* "HTTPRoute" / "GRPCRoute" */
	char			 *namespace;
	char			 *name;
	long long		  generation;	/* metadata.generation, or 0 */
	struct route_parent_status *parents;	/* only refs to this Gateway */
	size_t			  n_parents;
	struct route_dropped	 *dropped;
	size_t			  n_dropped;
};

struct route_listener_status {
	char			*name;
	long long		 attached_routes;
	const char		**supported_kinds;	/* static strings */
	size_t			 n_supported_kinds;
	struct route_cond	*conds;	/* Accepted, Programmed, ResolvedRefs,
					   Conflicted */
	size_t			 n_conds;
};

struct route_dns_name {
	char		*hostname;	/* may be "*.example.com" */
	char		*route;		/* "HTTPRoute/ns/name" (first owner by
					   precedence: oldest, then ns/name) */
};

struct route_result {
	char			*table;		/* route table JSON */
	size_t			 table_len;
	char			*generation;	/* sha256 hex, also in table */
	char			*tunnel;	/* {"ingress":[...]} JSON */
	size_t			 tunnel_len;
	struct route_dns_name	*dns;		/* unique, sorted by hostname */
	size_t			 n_dns;
	struct route_listener_status *listeners; /* spec order */
	size_t			 n_listeners;
	struct route_status	*routes;	/* HTTPRoutes then GRPCRoutes,
						   each sorted ns/name; only
						   routes with a parentRef to
						   this Gateway */
	size_t			 n_routes;
};

/*
 * Compile.  NULL on a fatal input error (no Gateway, Gateway without
 * metadata, out of memory), with a message in err.  Bad routes never make
 * it fail: they get conditions instead.
 */
struct route_result	*route_compile(const struct route_input *, char *err,
			    size_t errsz);
void			 route_result_free(struct route_result **);

/*
 * The statuses as one JSON document (malloc'd, NUL-terminated):
 * {"listeners":[{"name","attachedRoutes","supportedKinds":[{group,kind}],
 *   "conditions":[{type,status,reason,message}]}],
 *  "routes":[{"kind","namespace","name","parents":[{"parentRef":{...},
 *   "controllerName","conditions":[...]}],"dropped":[{rule,match,reason,
 *   message[,kept: true when the rule stays and answers 500]}]}]}
 * Condition objects carry no lastTransitionTime/observedGeneration; the
 * caller adds them.
 */
char			*route_result_status_json(const struct route_result *,
			    const char *controller_name, size_t *len);

/*
 * 1 if one of obj's spec.parentRefs names the Gateway gw_ns/gw_name: the
 * routes route_compile compiles (for a caller choosing its input).
 */
int			 route_names_gateway(yajl_val obj, const char *gw_ns,
			    const char *gw_name);

/* Static condition status names: "True", "False", "Unknown". */
const char		*route_cond_status_name(enum route_cond_status);

/*
 * Helpers exported for the proxy and tests.
 * route_hostname_match: 1 if a request host matches a (possibly wildcard)
 * route/listener hostname per the Gateway API (suffix, at least one label).
 * route_hostname_intersect: the intersection of two hostnames (NULL means
 * "any"), written to out; 0 if none, 1 if out holds the result, 2 if both
 * were NULL (any).
 * route_duration_ms: a GEP-2257 duration ("1h30m", "500ms", "0s") in
 * milliseconds; -1 if invalid.
 */
int			 route_hostname_match(const char *pattern,
			    const char *host);
int			 route_hostname_intersect(const char *a, const char *b,
			    char *out, size_t outsz);
long long		 route_duration_ms(const char *);

#endif
