/* SPDX-License-Identifier: Apache-2.0 */
/*
 * owned: the desired Kubernetes objects of one Gateway, built as JSON for
 * server-side apply.  Pure: no I/O, no clock, no globals.  The names,
 * labels and annotations are the reference implementation's, so a user can
 * switch controllers without touching selectors or dashboards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "owned.h"

static const char *owned_base_keys[] = {
	"app.kubernetes.io/name",
	"app.kubernetes.io/managed-by",
	"app.kubernetes.io/instance",
	"app.kubernetes.io/component",
};

static char	*owned_finish(struct jw *, size_t *);
static void	 owned_write_meta(struct jw *, const struct owned_gw *,
		    const char *name, const char *component, int annotations);
static void	 owned_write_map_except(struct jw *, yajl_val, int base);
static void	 owned_write_selector(struct jw *, const struct owned_gw *,
		    const char *component);
static void	 owned_write_secctx(struct jw *);
static void	 owned_write_resources(struct jw *, yajl_val);
static void	 owned_write_cloudflared(struct jw *, const struct owned_gw *,
		    const struct owned_deploy *);
static void	 owned_write_proxy(struct jw *, const struct owned_gw *,
		    const struct owned_deploy *);
static void	 owned_write_placement(struct jw *,
		    const struct owned_deploy *);

int
owned_name(char *buf, size_t sz, const char *gw, const char *suffix)
{
	int	 n;

	if (suffix != NULL)
		n = snprintf(buf, sz, "gateway-%s-%s", gw, suffix);
	else
		n = snprintf(buf, sz, "gateway-%s", gw);
	if (n < 0 || (size_t)n >= sz || n > OWNED_NAME_MAX)
		return -1;
	return 0;
}

static char *
owned_finish(struct jw *w, size_t *len)
{
	char	*s;

	s = jw_take(w, len);
	jw_free(&w);
	return s;
}

static int
owned_is_base_key(const char *k)
{
	size_t	 i;

	for (i = 0; i < sizeof(owned_base_keys) / sizeof(*owned_base_keys);
	    i++)
		if (strcmp(k, owned_base_keys[i]) == 0)
			return 1;
	return 0;
}

/* Copy a string map; with base set, our own label keys win. */
static void
owned_write_map_except(struct jw *w, yajl_val m, int base)
{
	size_t	 i;

	if (m == NULL || !YAJL_IS_OBJECT(m))
		return;
	for (i = 0; i < m->u.object.len; i++) {
		if (!YAJL_IS_STRING(m->u.object.values[i]))
			continue;
		if (base && owned_is_base_key(m->u.object.keys[i]))
			continue;
		if (!base && strcmp(m->u.object.keys[i],
		    OWNED_ANN_TOKEN_HASH) == 0)
			continue;
		jw_kstr(w, m->u.object.keys[i],
		    m->u.object.values[i]->u.string);
	}
}

void
owned_write_labels(struct jw *w, const struct owned_gw *g,
    const char *component)
{
	jw_obj(w);
	owned_write_map_except(w, g->infra_labels, 1);
	jw_kstr(w, "app.kubernetes.io/name", OWNED_APP_NAME);
	jw_kstr(w, "app.kubernetes.io/managed-by", OWNED_MANAGER);
	jw_kstr(w, "app.kubernetes.io/instance", g->name);
	if (component != NULL)
		jw_kstr(w, "app.kubernetes.io/component", component);
	jw_obj_end(w);
}

void
owned_write_owner_ref(struct jw *w, const struct owned_gw *g)
{
	jw_obj(w);
	jw_kstr(w, "apiVersion", "gateway.networking.k8s.io/v1");
	jw_kstr(w, "kind", "Gateway");
	jw_kstr(w, "name", g->name);
	jw_kstr(w, "uid", g->uid != NULL ? g->uid : "");
	jw_kbool(w, "controller", 1);
	jw_kbool(w, "blockOwnerDeletion", 1);
	jw_obj_end(w);
}

char *
owned_owner_ref_json(const struct owned_gw *g, size_t *len)
{
	struct jw	*w;

	if ((w = jw_new()) == NULL)
		return NULL;
	owned_write_owner_ref(w, g);
	return owned_finish(w, len);
}

char *
owned_labels_json(const struct owned_gw *g, const char *component,
    size_t *len)
{
	struct jw	*w;

	if ((w = jw_new()) == NULL)
		return NULL;
	owned_write_labels(w, g, component);
	return owned_finish(w, len);
}

static void
owned_write_meta(struct jw *w, const struct owned_gw *g, const char *name,
    const char *component, int annotations)
{
	jw_key(w, "metadata");
	jw_obj(w);
	jw_kstr(w, "name", name);
	jw_kstr(w, "namespace", g->ns);
	jw_key(w, "labels");
	owned_write_labels(w, g, component);
	if (annotations && json_len(g->infra_annotations) > 0) {
		jw_key(w, "annotations");
		jw_obj(w);
		owned_write_map_except(w, g->infra_annotations, 0);
		jw_obj_end(w);
	}
	jw_key(w, "ownerReferences");
	jw_arr(w);
	owned_write_owner_ref(w, g);
	jw_arr_end(w);
	jw_obj_end(w);
}

static struct jw *
owned_begin(const char *api, const char *kind)
{
	struct jw	*w;

	if ((w = jw_new()) == NULL)
		return NULL;
	jw_obj(w);
	jw_kstr(w, "apiVersion", api);
	jw_kstr(w, "kind", kind);
	return w;
}

char *
owned_configmap(const struct owned_gw *g, const char *table,
    size_t table_len, size_t *len)
{
	struct jw	*w;
	char		 name[OWNED_NAME_MAX + 1];

	if (owned_name(name, sizeof(name), g->name, NULL) == -1 ||
	    (w = owned_begin("v1", "ConfigMap")) == NULL)
		return NULL;
	owned_write_meta(w, g, name, "routes", 0);
	jw_key(w, "data");
	jw_obj(w);
	jw_key(w, OWNED_ROUTES_KEY);
	jw_strn(w, table, table_len);
	jw_obj_end(w);
	jw_obj_end(w);
	return owned_finish(w, len);
}

/*
 * The key that authenticates the proxy's session-persistence values.  It
 * is created once and never rewritten (rotating it would end every
 * session), so it is created, not applied.
 */
char *
owned_session_secret(const struct owned_gw *g, const char *key_b64,
    size_t *len)
{
	struct jw	*w;
	char		 name[OWNED_NAME_MAX + 1];

	if (owned_name(name, sizeof(name), g->name,
	    OWNED_SESSION_SUFFIX) == -1 ||
	    (w = owned_begin("v1", "Secret")) == NULL)
		return NULL;
	owned_write_meta(w, g, name, "session", 1);
	jw_kstr(w, "type", "Opaque");
	jw_key(w, "data");
	jw_obj(w);
	jw_kstr(w, OWNED_SESSION_KEY, key_b64);
	jw_obj_end(w);
	jw_obj_end(w);
	return owned_finish(w, len);
}

char *
owned_serviceaccount(const struct owned_gw *g, size_t *len)
{
	struct jw	*w;
	char		 name[OWNED_NAME_MAX + 1];

	if (owned_name(name, sizeof(name), g->name, NULL) == -1 ||
	    (w = owned_begin("v1", "ServiceAccount")) == NULL)
		return NULL;
	owned_write_meta(w, g, name, "tunnel", 1);
	jw_obj_end(w);
	return owned_finish(w, len);
}

/* The proxy reads its one ConfigMap and nothing else. */
char *
owned_role(const struct owned_gw *g, size_t *len)
{
	struct jw	*w;
	char		 name[OWNED_NAME_MAX + 1];

	if (owned_name(name, sizeof(name), g->name, NULL) == -1 ||
	    (w = owned_begin("rbac.authorization.k8s.io/v1", "Role")) == NULL)
		return NULL;
	owned_write_meta(w, g, name, "tunnel", 1);
	jw_key(w, "rules");
	jw_arr(w);
	jw_obj(w);
	jw_key(w, "apiGroups");
	jw_arr(w);
	jw_str(w, "");
	jw_arr_end(w);
	jw_key(w, "resources");
	jw_arr(w);
	jw_str(w, "configmaps");
	jw_arr_end(w);
	jw_key(w, "resourceNames");
	jw_arr(w);
	jw_str(w, name);
	jw_arr_end(w);
	jw_key(w, "verbs");
	jw_arr(w);
	jw_str(w, "get");
	jw_str(w, "list");
	jw_str(w, "watch");
	jw_arr_end(w);
	jw_obj_end(w);
	jw_arr_end(w);
	jw_obj_end(w);
	return owned_finish(w, len);
}

char *
owned_rolebinding(const struct owned_gw *g, size_t *len)
{
	struct jw	*w;
	char		 name[OWNED_NAME_MAX + 1];

	if (owned_name(name, sizeof(name), g->name, NULL) == -1 ||
	    (w = owned_begin("rbac.authorization.k8s.io/v1",
	    "RoleBinding")) == NULL)
		return NULL;
	owned_write_meta(w, g, name, "tunnel", 1);
	jw_key(w, "roleRef");
	jw_obj(w);
	jw_kstr(w, "apiGroup", "rbac.authorization.k8s.io");
	jw_kstr(w, "kind", "Role");
	jw_kstr(w, "name", name);
	jw_obj_end(w);
	jw_key(w, "subjects");
	jw_arr(w);
	jw_obj(w);
	jw_kstr(w, "kind", "ServiceAccount");
	jw_kstr(w, "name", name);
	jw_kstr(w, "namespace", g->ns);
	jw_obj_end(w);
	jw_arr_end(w);
	jw_obj_end(w);
	return owned_finish(w, len);
}

static void
owned_write_selector(struct jw *w, const struct owned_gw *g,
    const char *component)
{
	jw_obj(w);
	jw_kstr(w, "app.kubernetes.io/name", OWNED_APP_NAME);
	jw_kstr(w, "app.kubernetes.io/managed-by", OWNED_MANAGER);
	jw_kstr(w, "app.kubernetes.io/instance", g->name);
	jw_kstr(w, "app.kubernetes.io/component", component);
	jw_obj_end(w);
}

static void
owned_write_secctx(struct jw *w)
{
	jw_key(w, "securityContext");
	jw_obj(w);
	jw_kbool(w, "runAsNonRoot", 1);
	jw_kint(w, "runAsUser", OWNED_UID);
	jw_kint(w, "runAsGroup", OWNED_UID);
	jw_kbool(w, "readOnlyRootFilesystem", 1);
	jw_kbool(w, "allowPrivilegeEscalation", 0);
	jw_key(w, "capabilities");
	jw_obj(w);
	jw_key(w, "drop");
	jw_arr(w);
	jw_str(w, "ALL");
	jw_arr_end(w);
	jw_obj_end(w);
	jw_key(w, "seccompProfile");
	jw_obj(w);
	jw_kstr(w, "type", "RuntimeDefault");
	jw_obj_end(w);
	jw_obj_end(w);
}

/* CGP tunnel.resources replaces the defaults wholesale, as in the
 * reference. */
static void
owned_write_resources(struct jw *w, yajl_val res)
{
	jw_key(w, "resources");
	if (res != NULL && YAJL_IS_OBJECT(res)) {
		jw_val(w, res);
		return;
	}
	jw_obj(w);
	jw_key(w, "requests");
	jw_obj(w);
	jw_kstr(w, "cpu", "50m");
	jw_kstr(w, "memory", "64Mi");
	jw_obj_end(w);
	jw_key(w, "limits");
	jw_obj(w);
	jw_kstr(w, "cpu", "500m");
	jw_kstr(w, "memory", "256Mi");
	jw_obj_end(w);
	jw_obj_end(w);
}

/*
 * cloudflared, stock: token from the Secret, HTTP/2 to the edge so gRPC
 * trailers survive, metrics only on loopback.
 */
static void
owned_write_cloudflared(struct jw *w, const struct owned_gw *g,
    const struct owned_deploy *d)
{
	char	 secret[OWNED_NAME_MAX + 1];

	(void)owned_name(secret, sizeof(secret), g->name, NULL);
	jw_obj(w);
	jw_kstr(w, "name", "cloudflared");
	jw_kstr(w, "image", d->tunnel_image);
	jw_key(w, "args");
	jw_arr(w);
	jw_str(w, "tunnel");
	jw_str(w, "--no-autoupdate");
	jw_str(w, "--protocol");
	jw_str(w, "http2");
	jw_str(w, "--metrics");
	jw_str(w, "127.0.0.1:2000");
	jw_str(w, "run");
	jw_arr_end(w);
	jw_key(w, "env");
	jw_arr(w);
	jw_obj(w);
	jw_kstr(w, "name", OWNED_TOKEN_KEY);
	jw_key(w, "valueFrom");
	jw_obj(w);
	jw_key(w, "secretKeyRef");
	jw_obj(w);
	jw_kstr(w, "name", secret);
	jw_kstr(w, "key", OWNED_TOKEN_KEY);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_arr_end(w);
	owned_write_resources(w, d->resources);
	owned_write_secctx(w);
	jw_obj_end(w);
}

static void
owned_write_port(struct jw *w, const char *name, int port)
{
	jw_obj(w);
	jw_kstr(w, "name", name);
	jw_kint(w, "containerPort", port);
	jw_kstr(w, "protocol", "TCP");
	jw_obj_end(w);
}

static void
owned_write_probe(struct jw *w, const char *key, const char *path,
    int period, int failures)
{
	jw_key(w, key);
	jw_obj(w);
	jw_key(w, "httpGet");
	jw_obj(w);
	jw_kstr(w, "path", path);
	jw_kstr(w, "port", "admin");
	jw_obj_end(w);
	jw_kint(w, "periodSeconds", period);
	jw_kint(w, "failureThreshold", failures);
	jw_obj_end(w);
}

static void
owned_write_proxy(struct jw *w, const struct owned_gw *g,
    const struct owned_deploy *d)
{
	char	 cm[OWNED_NAME_MAX + 1], ref[2 * OWNED_NAME_MAX + 2];
	char	 admin[32];

	(void)owned_name(cm, sizeof(cm), g->name, NULL);
	snprintf(ref, sizeof(ref), "%s/%s", g->ns, cm);
	snprintf(admin, sizeof(admin), "0.0.0.0:%d", OWNED_PROXY_ADMIN_PORT);
	jw_obj(w);
	jw_kstr(w, "name", "proxy");
	jw_kstr(w, "image", d->proxy_image);
	jw_key(w, "args");
	jw_arr(w);
	jw_str(w, "--routes-configmap");
	jw_str(w, ref);
	jw_str(w, "--admin-addr");
	jw_str(w, admin);
	jw_str(w, "--session-key-file");
	jw_str(w, OWNED_SESSION_DIR "/" OWNED_SESSION_KEY);
	jw_arr_end(w);
	jw_key(w, "volumeMounts");
	jw_arr(w);
	jw_obj(w);
	jw_kstr(w, "name", "session-key");
	jw_kstr(w, "mountPath", OWNED_SESSION_DIR);
	jw_kbool(w, "readOnly", 1);
	jw_obj_end(w);
	jw_arr_end(w);
	jw_key(w, "ports");
	jw_arr(w);
	owned_write_port(w, "http", OWNED_PROXY_HTTP_PORT);
	owned_write_port(w, "https", OWNED_PROXY_HTTPS_PORT);
	owned_write_port(w, "admin", OWNED_PROXY_ADMIN_PORT);
	jw_arr_end(w);
	owned_write_probe(w, "startupProbe", "/healthz", 2, 60);
	owned_write_probe(w, "readinessProbe", "/readyz", 5, 3);
	owned_write_probe(w, "livenessProbe", "/healthz", 10, 3);
	owned_write_resources(w, d->resources);
	owned_write_secctx(w);
	jw_obj_end(w);
}

/* Zone pinning is shorthand for a required node affinity on the zone. */
static void
owned_write_placement(struct jw *w, const struct owned_deploy *d)
{
	if (d->affinity != NULL && YAJL_IS_OBJECT(d->affinity)) {
		jw_key(w, "affinity");
		jw_val(w, d->affinity);
	} else if (d->zone != NULL) {
		jw_key(w, "affinity");
		jw_obj(w);
		jw_key(w, "nodeAffinity");
		jw_obj(w);
		jw_key(w, "requiredDuringSchedulingIgnoredDuringExecution");
		jw_obj(w);
		jw_key(w, "nodeSelectorTerms");
		jw_arr(w);
		jw_obj(w);
		jw_key(w, "matchExpressions");
		jw_arr(w);
		jw_obj(w);
		jw_kstr(w, "key", "topology.kubernetes.io/zone");
		jw_kstr(w, "operator", "In");
		jw_key(w, "values");
		jw_arr(w);
		jw_str(w, d->zone);
		jw_arr_end(w);
		jw_obj_end(w);
		jw_arr_end(w);
		jw_obj_end(w);
		jw_arr_end(w);
		jw_obj_end(w);
		jw_obj_end(w);
		jw_obj_end(w);
	}
	if (d->node_selector != NULL && YAJL_IS_OBJECT(d->node_selector)) {
		jw_key(w, "nodeSelector");
		jw_val(w, d->node_selector);
	}
}

/* The replica's placement fields of the pod spec, as one JSON object. */
char *
owned_placement_json(const struct owned_deploy *d, size_t *len)
{
	struct jw	*w;

	if ((w = jw_new()) == NULL)
		return NULL;
	jw_obj(w);
	owned_write_placement(w, d);
	jw_obj_end(w);
	return owned_finish(w, len);
}

static void
owned_write_session_volume(struct jw *w, const struct owned_gw *g)
{
	char	 secret[OWNED_NAME_MAX + 1];

	(void)owned_name(secret, sizeof(secret), g->name,
	    OWNED_SESSION_SUFFIX);
	jw_key(w, "volumes");
	jw_arr(w);
	jw_obj(w);
	jw_kstr(w, "name", "session-key");
	jw_key(w, "secret");
	jw_obj(w);
	jw_kstr(w, "secretName", secret);
	jw_kint(w, "defaultMode", 0440);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_arr_end(w);
}

static void
owned_write_pod(struct jw *w, const struct owned_gw *g,
    const struct owned_deploy *d)
{
	char	 sa[OWNED_NAME_MAX + 1];

	(void)owned_name(sa, sizeof(sa), g->name, NULL);
	jw_key(w, "template");
	jw_obj(w);
	jw_key(w, "metadata");
	jw_obj(w);
	jw_key(w, "labels");
	owned_write_labels(w, g, d->replica);
	jw_key(w, "annotations");
	jw_obj(w);
	owned_write_map_except(w, g->infra_annotations, 0);
	if (d->token_hash != NULL)
		jw_kstr(w, OWNED_ANN_TOKEN_HASH, d->token_hash);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_key(w, "spec");
	jw_obj(w);
	jw_kstr(w, "serviceAccountName", sa);
	jw_key(w, "securityContext");
	jw_obj(w);
	jw_kbool(w, "runAsNonRoot", 1);
	jw_kint(w, "runAsUser", OWNED_UID);
	jw_kint(w, "runAsGroup", OWNED_UID);
	jw_key(w, "seccompProfile");
	jw_obj(w);
	jw_kstr(w, "type", "RuntimeDefault");
	jw_obj_end(w);
	jw_obj_end(w);
	owned_write_placement(w, d);
	jw_key(w, "containers");
	jw_arr(w);
	owned_write_cloudflared(w, g, d);
	owned_write_proxy(w, g, d);
	jw_arr_end(w);
	owned_write_session_volume(w, g);
	jw_obj_end(w);
	jw_obj_end(w);
}

/*
 * One replica at a time is replaced and a new pod must stay ready for
 * minReadySeconds before the old one goes: Cloudflare's guidance for
 * rotating a tunnel token without dropping connections.
 */
char *
owned_deployment(const struct owned_gw *g, const struct owned_deploy *d,
    size_t *len)
{
	struct jw	*w;
	char		 name[OWNED_NAME_MAX + 1];
	long long	 mrs;

	if (d->replica == NULL || d->tunnel_image == NULL ||
	    d->proxy_image == NULL ||
	    owned_name(name, sizeof(name), g->name, d->replica) == -1 ||
	    (w = owned_begin("apps/v1", "Deployment")) == NULL)
		return NULL;
	mrs = d->min_ready_seconds < 0 ? OWNED_MIN_READY_DEFAULT :
	    d->min_ready_seconds;
	owned_write_meta(w, g, name, d->replica, 1);
	jw_key(w, "spec");
	jw_obj(w);
	jw_kint(w, "replicas", 1);
	jw_kint(w, "minReadySeconds", mrs);
	jw_kint(w, "progressDeadlineSeconds", mrs + 60);
	jw_key(w, "selector");
	jw_obj(w);
	jw_key(w, "matchLabels");
	owned_write_selector(w, g, d->replica);
	jw_obj_end(w);
	jw_key(w, "strategy");
	jw_obj(w);
	jw_kstr(w, "type", "RollingUpdate");
	jw_key(w, "rollingUpdate");
	jw_obj(w);
	jw_kint(w, "maxSurge", 1);
	jw_kint(w, "maxUnavailable", 0);
	jw_obj_end(w);
	jw_obj_end(w);
	owned_write_pod(w, g, d);
	jw_obj_end(w);
	jw_obj_end(w);
	return owned_finish(w, len);
}

/*
 * The VerticalPodAutoscaler of one replica's Deployment (CGP
 * tunnel.autoscaling, the reference's shape): updateMode
 * InPlaceOrRecreate; both our containers Auto within minAllowed and
 * maxAllowed (controlledResources, controlledValues when given), any
 * other container Off.
 */
char *
owned_vpa(const struct owned_gw *g, const char *replica, yajl_val as,
    size_t *len)
{
	static const char *const ctrs[] = { "cloudflared", "proxy" };
	static const char *const opt[] = { "minAllowed", "maxAllowed",
	    "controlledResources", "controlledValues" };
	struct jw	*w;
	char		 name[OWNED_NAME_MAX + 1];
	size_t		 i, k;

	if (replica == NULL ||
	    owned_name(name, sizeof(name), g->name, replica) == -1 ||
	    (w = owned_begin("autoscaling.k8s.io/v1",
	    "VerticalPodAutoscaler")) == NULL)
		return NULL;
	owned_write_meta(w, g, name, replica, 0);
	jw_key(w, "spec");
	jw_obj(w);
	jw_key(w, "targetRef");
	jw_obj(w);
	jw_kstr(w, "apiVersion", "apps/v1");
	jw_kstr(w, "kind", "Deployment");
	jw_kstr(w, "name", name);
	jw_obj_end(w);
	jw_key(w, "updatePolicy");
	jw_obj(w);
	jw_kstr(w, "updateMode", "InPlaceOrRecreate");
	jw_obj_end(w);
	jw_key(w, "resourcePolicy");
	jw_obj(w);
	jw_key(w, "containerPolicies");
	jw_arr(w);
	jw_obj(w);
	jw_kstr(w, "containerName", "*");
	jw_kstr(w, "mode", "Off");
	jw_obj_end(w);
	for (i = 0; i < sizeof(ctrs) / sizeof(ctrs[0]); i++) {
		jw_obj(w);
		jw_kstr(w, "containerName", ctrs[i]);
		jw_kstr(w, "mode", "Auto");
		for (k = 0; k < sizeof(opt) / sizeof(opt[0]); k++)
			if (json_get(as, opt[k]) != NULL) {
				jw_key(w, opt[k]);
				jw_val(w, json_get(as, opt[k]));
			}
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	return owned_finish(w, len);
}

char *
owned_cgs(const struct owned_gw *g, size_t *len)
{
	struct jw	*w;

	if ((w = owned_begin("cloudflare-gateway-controller.io/v1",
	    "CloudflareGatewayStatus")) == NULL)
		return NULL;
	owned_write_meta(w, g, g->name, NULL, 0);
	jw_obj_end(w);
	return owned_finish(w, len);
}
