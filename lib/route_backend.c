/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_backend: resolve one backendRef (rule backend, per-backend or a
 * RequestMirror target) against Services and ReferenceGrants and write its
 * table object.  An unresolvable backend stays in the table with "invalid"
 * set, so the proxy answers 500 for its share of the traffic; the route's
 * ResolvedRefs condition records the first failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "route_priv.h"

static int
grant_from_ok(yajl_val from, const char *kind, const char *ns)
{
	size_t	 i;

	for (i = 0; i < json_len(from); i++) {
		yajl_val	 f = json_at(from, i);

		if (strcmp(rt_str_or(f, "group", ""), RT_GROUP) == 0 &&
		    strcmp(rt_str_or(f, "kind", ""), kind) == 0 &&
		    strcmp(rt_str_or(f, "namespace", ""), ns) == 0)
			return 1;
	}
	return 0;
}

static int
grant_to_ok(yajl_val to, const char *name)
{
	size_t		 i;
	const char	*tn;

	for (i = 0; i < json_len(to); i++) {
		yajl_val	 t = json_at(to, i);

		if (strcmp(rt_str_or(t, "group", ""), "") != 0 ||
		    strcmp(rt_str_or(t, "kind", ""), "Service") != 0)
			continue;
		tn = json_str(t, "name");
		if (tn == NULL || tn[0] == '\0' || strcmp(tn, name) == 0)
			return 1;
	}
	return 0;
}

/* A ReferenceGrant in the Service's namespace admits the reference. */
static int
backend_granted(struct rt_ctx *c, const struct rt_route *rt,
    const char *ns, const char *name)
{
	const struct route_input	*in = c->in;
	const char			*kind, *gns;
	size_t				 i;

	kind = rt->grpc ? "GRPCRoute" : "HTTPRoute";
	for (i = 0; i < in->n_rg; i++) {
		gns = json_str(json_get(in->refgrants[i], "metadata"),
		    "namespace");
		if (gns == NULL || strcmp(gns, ns) != 0)
			continue;
		if (grant_from_ok(json_path(in->refgrants[i], "spec", "from",
		    NULL), kind, rt->ns) && grant_to_ok(json_path(
		    in->refgrants[i], "spec", "to", NULL), name))
			return 1;
	}
	return 0;
}

static void
backend_fail(struct rt_ctx *c, struct rt_route *rt, const char *reason,
    const char *ns, const char *name, const char *msg)
{
	if (rt->refs_reason == NULL)
		rt->refs_reason = reason;
	rt_append(c, &rt->refs_msg, "- %s/%s: %s", ns, name, msg);
}

/* Map a Service port's appProtocol; NULL if unsupported. */
static const char *
backend_protocol(const struct rt_route *rt, const char *app)
{
	if (app == NULL || app[0] == '\0')
		return rt->grpc ? "h2c" : "http";
	if (strcmp(app, "kubernetes.io/h2c") == 0 ||
	    strcmp(app, "grpc") == 0)
		return "h2c";
	if (rt->grpc)
		return NULL;
	if (strcmp(app, "http") == 0 || strcmp(app, "HTTP") == 0)
		return "http";
	if (strcmp(app, "kubernetes.io/ws") == 0)
		return "ws";
	return NULL;
}

/* Find the Service port; sets *proto and returns a failure or NULL. */
static const char *
backend_port(const struct rt_route *rt, yajl_val svc, long long port,
    const char **proto, char *msg, size_t msgsz)
{
	yajl_val	 ports = json_path(svc, "spec", "ports", NULL);
	yajl_val	 p;
	long long	 n;
	size_t		 i;
	const char	*app;

	for (i = 0; i < json_len(ports); i++) {
		p = json_at(ports, i);
		if (json_int(p, "port", &n) == -1 || n != port)
			continue;
		app = json_str(p, "appProtocol");
		if ((*proto = backend_protocol(rt, app)) == NULL) {
			snprintf(msg, msgsz, "unsupported appProtocol %s on "
			    "port %lld", app, port);
			return "UnsupportedProtocol";
		}
		return NULL;
	}
	snprintf(msg, msgsz, "Service has no port %lld", port);
	return "BackendNotFound";
}

/* Check a core Service reference; returns a failure reason or NULL. */
static const char *
backend_check_service(struct rt_ctx *c, struct rt_route *rt,
    const char *ns, const char *name, long long port, const char **proto,
    const char **ext, char *msg, size_t msgsz)
{
	yajl_val	 svc;

	if (strcmp(ns, rt->ns) != 0 && !backend_granted(c, rt, ns, name)) {
		snprintf(msg, msgsz, "reference to Service %s/%s not "
		    "permitted by any ReferenceGrant", ns, name);
		return "RefNotPermitted";
	}
	if (port < 0) {
		snprintf(msg, msgsz, "port is required for a Service");
		return "BackendNotFound";
	}
	svc = rt_find_named(c->in->services, c->in->n_svc, ns, name);
	if (svc == NULL) {
		if (c->in->assume_services)
			return NULL;
		snprintf(msg, msgsz, "Service %s/%s not found", ns, name);
		return "BackendNotFound";
	}
	if (strcmp(rt_str_or(json_get(svc, "spec"), "type", ""),
	    "ExternalName") == 0)
		*ext = json_str(json_get(svc, "spec"), "externalName");
	return backend_port(rt, svc, port, proto, msg, msgsz);
}

/*
 * Write the fields of one backend object (the caller opens and closes the
 * object).  Mirrors carry no weight.
 */
void
rt_backend_emit(struct rt_ctx *c, struct rt_route *rt, struct jw *w,
    yajl_val ref, int is_mirror)
{
	const char	*group, *kind, *name, *ns, *reason = NULL;
	const char	*proto, *ext = NULL;
	long long	 port = -1, weight = 1;
	char		 msg[256], host[512];

	group = rt_str_or(ref, "group", "");
	kind = rt_str_or(ref, "kind", "Service");
	name = rt_str_or(ref, "name", "");
	ns = rt_str_or(ref, "namespace", rt->ns);
	proto = rt->grpc ? "h2c" : "http";
	(void)json_int(ref, "port", &port);
	(void)json_int(ref, "weight", &weight);
	if (weight < 0)
		weight = 0;
	msg[0] = '\0';
	if ((strcmp(group, "") != 0 && strcmp(group, "core") != 0) ||
	    strcmp(kind, "Service") != 0) {
		reason = "InvalidKind";
		snprintf(msg, sizeof(msg), "unsupported backend %s/%s "
		    "(only core Service)", group[0] ? group : "core", kind);
	} else
		reason = backend_check_service(c, rt, ns, name, port, &proto,
		    &ext, msg, sizeof(msg));
	if (reason != NULL)
		backend_fail(c, rt, reason, ns, name, msg);
	if (ext != NULL)
		snprintf(host, sizeof(host), "%s", ext);
	else
		snprintf(host, sizeof(host), "%s.%s.svc.%s", name, ns,
		    c->domain);
	if (group[0] != '\0')
		jw_kstr(w, "group", group);
	jw_kstr(w, "kind", kind);
	jw_kstr(w, "namespace", ns);
	jw_kstr(w, "name", name);
	if (port >= 0)
		jw_kint(w, "port", port);
	else
		jw_kstr(w, "port", NULL);
	jw_kstr(w, "host", host);
	if (!is_mirror)
		jw_kint(w, "weight", weight);
	jw_kstr(w, "protocol", proto);
	jw_kstr(w, "invalid", reason);
}
