/* SPDX-License-Identifier: Apache-2.0 */
/* kube: Kubernetes API client (work in progress: requests return -1). */
#include <stdlib.h>
#include <string.h>

#include "kube.h"
#include "kubeconfig.h"

const struct kube_res kube_res_table[] = {
	{ "gateway.networking.k8s.io", "v1", "gatewayclasses",
	    "GatewayClass", 0 },
	{ "gateway.networking.k8s.io", "v1", "gateways", "Gateway", 1 },
	{ "gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", 1 },
	{ "gateway.networking.k8s.io", "v1", "grpcroutes", "GRPCRoute", 1 },
	{ "gateway.networking.k8s.io", "v1beta1", "referencegrants",
	    "ReferenceGrant", 1 },
	{ "", "v1", "namespaces", "Namespace", 0 },
	{ "", "v1", "services", "Service", 1 },
	{ "", "v1", "secrets", "Secret", 1 },
	{ "", "v1", "configmaps", "ConfigMap", 1 },
	{ "", "v1", "serviceaccounts", "ServiceAccount", 1 },
	{ "", "v1", "events", "Event", 1 },
	{ "", "v1", "pods", "Pod", 1 },
	{ "apps", "v1", "deployments", "Deployment", 1 },
	{ "rbac.authorization.k8s.io", "v1", "roles", "Role", 1 },
	{ "rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding",
	    1 },
	{ "coordination.k8s.io", "v1", "leases", "Lease", 1 },
	{ "autoscaling.k8s.io", "v1", "verticalpodautoscalers",
	    "VerticalPodAutoscaler", 1 },
	{ "apiextensions.k8s.io", "v1", "customresourcedefinitions",
	    "CustomResourceDefinition", 0 },
	{ "cloudflare-gateway-controller.io", "v1",
	    "cloudflaregatewayparameters", "CloudflareGatewayParameters", 1 },
	{ "cloudflare-gateway-controller.io", "v1",
	    "cloudflaregatewaystatuses", "CloudflareGatewayStatus", 1 },
	{ NULL, NULL, NULL, NULL, 0 },
};

const struct kube_res *
kube_res_lookup(const char *kind)
{
	const struct kube_res	*r;

	for (r = kube_res_table; r->kind != NULL; r++)
		if (strcmp(r->kind, kind) == 0)
			return r;
	return NULL;
}

void
kube_resp_free(struct kube_resp *r)
{
	free(r->body);
	r->body = NULL;
	if (r->json != NULL)
		yajl_tree_free(r->json);
	r->json = NULL;
}

struct kube *kube_new(const struct kube_opts *o) { (void)o; return NULL; }
void kube_free(struct kube **k) { *k = NULL; }
const char *kube_server(const struct kube *k) { (void)k; return ""; }
const char *kube_namespace(const struct kube *k) { (void)k; return ""; }
int kube_request(struct kube *k, const char *m, const char *p, const char *q,
    const char *ct, const char *a, const char *b, size_t l,
    struct kube_resp *o) { (void)k; (void)m; (void)p; (void)q; (void)ct;
    (void)a; (void)b; (void)l; memset(o, 0, sizeof(*o)); return -1; }
int kube_path(char *buf, size_t sz, const struct kube_res *r, const char *ns,
    const char *n, const char *s) { (void)buf; (void)sz; (void)r; (void)ns;
    (void)n; (void)s; return -1; }
int kube_served(struct kube *k, const struct kube_res *r) { (void)k; (void)r;
    return -1; }
int kube_get(struct kube *k, const struct kube_res *r, const char *ns,
    const char *n, int m, struct kube_resp *o) { (void)k; (void)r; (void)ns;
    (void)n; (void)m; memset(o, 0, sizeof(*o)); return -1; }
int kube_list(struct kube *k, const struct kube_res *r, const char *ns,
    const struct kube_list_opts *lo, struct kube_resp *o) { (void)k;
    (void)r; (void)ns; (void)lo; memset(o, 0, sizeof(*o)); return -1; }
int kube_create(struct kube *k, const struct kube_res *r, const char *ns,
    const char *b, size_t l, const char *fm, struct kube_resp *o) { (void)k;
    (void)r; (void)ns; (void)b; (void)l; (void)fm; memset(o, 0, sizeof(*o));
    return -1; }
int kube_update(struct kube *k, const struct kube_res *r, const char *ns,
    const char *n, const char *b, size_t l, const char *fm,
    struct kube_resp *o) { (void)k; (void)r; (void)ns; (void)n; (void)b;
    (void)l; (void)fm; memset(o, 0, sizeof(*o)); return -1; }
int kube_update_status(struct kube *k, const struct kube_res *r,
    const char *ns, const char *n, const char *b, size_t l, const char *fm,
    struct kube_resp *o) { return kube_update(k, r, ns, n, b, l, fm, o); }
int kube_patch(struct kube *k, const struct kube_res *r, const char *ns,
    const char *n, enum kube_patch_type t, const char *b, size_t l,
    const char *fm, int f, const char *s, struct kube_resp *o) { (void)t;
    (void)f; (void)s; return kube_update(k, r, ns, n, b, l, fm, o); }
int kube_delete(struct kube *k, const struct kube_res *r, const char *ns,
    const char *n, const struct kube_delete_opts *d, struct kube_resp *o)
    { (void)d; return kube_update(k, r, ns, n, NULL, 0, NULL, o); }
struct kube_watch *kube_watch_start(struct kube *k, const struct kube_res *r,
    const char *ns, const struct kube_watch_opts *wo, kube_watch_cb cb,
    void *arg) { (void)k; (void)r; (void)ns; (void)wo; (void)cb; (void)arg;
    return NULL; }
void kube_watch_free(struct kube_watch **w) { *w = NULL; }
int kube_watch_fds(struct kube *k, struct pollfd *p, int m, long *t)
    { (void)k; (void)p; (void)m; *t = -1; return 0; }
int kube_watch_perform(struct kube *k) { (void)k; return -1; }
int kube_watch_done(const struct kube_watch *w, long *s) { (void)w; *s = 0;
    return 1; }
uint64_t kube_watch_events(const struct kube_watch *w) { (void)w; return 0; }
uint64_t kube_watch_dropped(const struct kube_watch *w) { (void)w; return 0; }
struct kube_decoder *kube_decoder_new(size_t m,
    void (*cb)(void *, enum kube_event_type, yajl_val), void *a) { (void)m;
    (void)cb; (void)a; return NULL; }
int kube_decoder_feed(struct kube_decoder *d, const char *b, size_t l)
    { (void)d; (void)b; (void)l; return -1; }
int kube_decoder_finish(struct kube_decoder *d) { (void)d; return -1; }
uint64_t kube_decoder_events(const struct kube_decoder *d) { (void)d;
    return 0; }
uint64_t kube_decoder_dropped(const struct kube_decoder *d) { (void)d;
    return 0; }
void kube_decoder_free(struct kube_decoder **d) { *d = NULL; }
void kube_obj_trim(yajl_val o) { (void)o; }
const char *kube_obj_name(yajl_val o) { (void)o; return NULL; }
const char *kube_obj_namespace(yajl_val o) { (void)o; return NULL; }
const char *kube_obj_rv(yajl_val o) { (void)o; return NULL; }
const char *kube_obj_uid(yajl_val o) { (void)o; return NULL; }
yajl_val kube_val_dup(yajl_val v) { (void)v; return NULL; }
