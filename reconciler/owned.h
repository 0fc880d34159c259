/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_RECONCILER_OWNED_H
#define CFGW_RECONCILER_OWNED_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "json.h"

/*
 * Desired state of the objects the reconciler owns per Gateway, as JSON
 * bodies ready for server-side apply (apiVersion, kind, metadata with
 * labels and a controller ownerReference to the Gateway, spec).  Pure
 * functions: same inputs, byte-identical output.  Every function returns a
 * malloc'd NUL-terminated string (length in *len if len is not NULL), or
 * NULL when a name would be too long or memory ran out.
 */

#define OWNED_MANAGER		"cloudflare-gateway-controller"
#define OWNED_APP_NAME		"cloudflared"
#define OWNED_ROUTES_KEY	"routes.json"
#define OWNED_TOKEN_KEY		"TUNNEL_TOKEN"
#define OWNED_ANN_TOKEN_HASH \
	"gateways.cloudflare-gateway-controller.io/tokenHash"
#define OWNED_DEFAULT_REPLICA	"primary"
#define OWNED_MIN_READY_DEFAULT	600
#define OWNED_UID		65532
#define OWNED_PROXY_HTTP_PORT	8080
#define OWNED_PROXY_HTTPS_PORT	8443
#define OWNED_PROXY_ADMIN_PORT	9090
#define OWNED_NAME_MAX		253
/* The proxy's session-persistence key: Secret gateway-<gw>-session. */
#define OWNED_SESSION_SUFFIX	"session"
#define OWNED_SESSION_KEY	"key"
#define OWNED_SESSION_BYTES	32
#define OWNED_SESSION_DIR	"/etc/cfgw/session"

/* The Gateway the objects belong to. */
struct owned_gw {
	const char	*ns;
	const char	*name;
	const char	*uid;
	yajl_val	 infra_labels;		/* spec.infrastructure. */
	yajl_val	 infra_annotations;	/* labels, annotations */
};

/* One tunnel Deployment. */
struct owned_deploy {
	const char	*replica;		/* "primary" */
	const char	*tunnel_image;
	const char	*proxy_image;
	const char	*token_hash;		/* pod annotation or NULL */
	long long	 min_ready_seconds;	/* < 0: default 600 */
	yajl_val	 resources;		/* CGP tunnel.resources */
	const char	*zone;			/* replica zone pinning */
	yajl_val	 node_selector;		/* replica nodeSelector */
	yajl_val	 affinity;		/* replica affinity or NULL */
};

/* VerticalPodAutoscaler "gateway-<gw>-<replica>" from CGP
 * tunnel.autoscaling (as). */
char	*owned_vpa(const struct owned_gw *, const char *replica, yajl_val as,
	    size_t *len);

/* {"affinity":…,"nodeSelector":…} as the replica sets them (or {}). */
char	*owned_placement_json(const struct owned_deploy *, size_t *len);

/* "gateway-<gw>" or "gateway-<gw>-<suffix>"; -1 if it does not fit. */
int	 owned_name(char *buf, size_t sz, const char *gw, const char *suffix);

/* Pieces, for tests and for the CGS/token Secret. */
void	 owned_write_labels(struct jw *, const struct owned_gw *,
	    const char *component);
void	 owned_write_owner_ref(struct jw *, const struct owned_gw *);
/* The ownerReference object alone, as JSON (cfapi's tunnel.token_secret). */
char	*owned_owner_ref_json(const struct owned_gw *, size_t *len);
/* The labels object alone (for cfapi's tunnel.token_secret). */
char	*owned_labels_json(const struct owned_gw *, const char *component,
	    size_t *len);

char	*owned_configmap(const struct owned_gw *, const char *table,
	    size_t table_len, size_t *len);
char	*owned_serviceaccount(const struct owned_gw *, size_t *len);
char	*owned_role(const struct owned_gw *, size_t *len);
char	*owned_rolebinding(const struct owned_gw *, size_t *len);
char	*owned_deployment(const struct owned_gw *, const struct owned_deploy *,
	    size_t *len);
/* CloudflareGatewayStatus without status (created once; status patched). */
char	*owned_cgs(const struct owned_gw *, size_t *len);
char	*owned_session_secret(const struct owned_gw *, const char *key_b64,
	    size_t *len);

#endif
