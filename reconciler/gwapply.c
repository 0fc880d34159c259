/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gwapply: a Gateway's owned Kubernetes objects, built by owned.c and
 * written with server-side apply: the routes ConfigMap (from gateway.c),
 * ServiceAccount, Role, RoleBinding and the tunnel Deployments, and the
 * removal of Deployments for replicas the parameters no longer list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gwjob.h"
#include "json.h"
#include "jsonpatch.h"
#include "kube.h"
#include "log.h"
#include "owned.h"
#include "reconciler.h"
#include "store.h"

void
gw_owned_init(struct owned_gw *og, struct gw_job *j, yajl_val gw)
{
	memset(og, 0, sizeof(*og));
	og->ns = j->ns;
	og->name = j->name;
	og->uid = j->uid;
	og->infra_labels = json_path(gw, "spec", "infrastructure", "labels",
	    NULL);
	og->infra_annotations = json_path(gw, "spec", "infrastructure",
	    "annotations", NULL);
}

/*
 * Apply one owned object (body is freed); -1 after gw_fail.  With
 * unserved set, a 404 (the kind's API is not served) sets *unserved and
 * returns -1 without gw_fail, for kinds a cluster may lack.
 */
static int
gw_apply_opt(struct rec *r, struct gw_job *j, const char *kind,
    const char *name, char *body, size_t len, int *unserved)
{
	char	 err[512];
	long	 code;

	if (body == NULL) {
		gw_fail(r, j, GW_TERMINAL, NULL, "cannot build %s %s (name "
		    "too long?)", kind, name);
		return -1;
	}
	if (kio_apply_code(r, kind, j->ns, name, body, len, &code, err,
	    sizeof(err)) == -1) {
		free(body);
		if (unserved != NULL && code == 404)
			*unserved = 1;
		else
			gw_fail(r, j, GW_RETRY, NULL, "%s", err);
		return -1;
	}
	free(body);
	return 0;
}

int
gw_apply(struct rec *r, struct gw_job *j, const char *kind,
    const char *name, char *body, size_t len)
{
	return gw_apply_opt(r, j, kind, name, body, len, NULL);
}

/* CGP tunnel.autoscaling.enabled: VPAs wanted. */
static int
gw_autoscaling(yajl_val cgp)
{
	int	 on = 0;

	return json_bool(json_path(cgp, "spec", "tunnel", "autoscaling",
	    NULL), "enabled", &on) == 0 && on;
}

/*
 * Is obj one of this Gateway's per-replica objects (tunnel Deployment or
 * VPA) that cgp no longer wants?  all: every one of ours is.
 */
static int
gw_replica_obj_stale(struct gw_job *j, yajl_val obj, yajl_val cgp, int all)
{
	yajl_val	 md = json_get(obj, "metadata"), refs;
	const char	*ns = json_str(md, "namespace"), *rep;
	char		 name[OWNED_NAME_MAX + 1];
	size_t		 i;
	int		 mine = 0;

	if (ns == NULL || strcmp(ns, j->ns) != 0 ||
	    json_str(md, "name") == NULL)
		return 0;
	refs = json_get(md, "ownerReferences");
	for (i = 0; i < json_len(refs); i++) {
		const char *uid = json_str(json_at(refs, i), "uid");
		const char *k = json_str(json_at(refs, i), "kind");

		if (uid != NULL && k != NULL && strcmp(k, "Gateway") == 0 &&
		    strcmp(uid, j->uid) == 0)
			mine = 1;
	}
	rep = json_str(json_get(md, "labels"), "app.kubernetes.io/managed-by");
	if (!mine || rep == NULL || strcmp(rep, OWNED_MANAGER) != 0)
		return 0;
	if (all)
		return 1;
	for (i = 0; i < rollout_replica_count(cgp); i++)
		if ((rep = rollout_replica_name(cgp, i)) != NULL &&
		    owned_name(name, sizeof(name), j->name, rep) == 0 &&
		    strcmp(name, json_str(md, "name")) == 0)
			return 0;
	return 1;
}

/*
 * Replicas removed from the CGP: their Deployments and VPAs go; all our
 * VPAs when autoscaling is off.
 */
static void
gw_delete_stale(struct rec *r, struct gw_job *j, yajl_val cgp)
{
	const struct {
		const char	*kind;
		int		 all;	/* none of them wanted */
	} kinds[] = {
		{ "Deployment", 0 },
		{ "VerticalPodAutoscaler", !gw_autoscaling(cgp) },
	};
	yajl_val	 obj;
	const char	*kind, *name;
	char		 err[512];
	size_t		 i, k;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		kind = kinds[k].kind;
		for (i = 0; i < store_count(r->store, kind); i++) {
			obj = store_at(r->store, kind, i);
			if (!gw_replica_obj_stale(j, obj, cgp, kinds[k].all))
				continue;
			name = json_str(json_get(obj, "metadata"), "name");
			if (kio_delete(r, kind, j->ns, name, err,
			    sizeof(err)) == -1)
				log_warnx("%s", err);
			else
				log_info("Gateway %s/%s: deleted %s %s (no "
				    "longer wanted)", j->ns, j->name, kind,
				    name);
		}
	}
}

static void
gw_deploy_init(struct rec *r, struct gw_job *j, yajl_val cgp, size_t i,
    struct owned_deploy *d)
{
	yajl_val	 rep = rollout_replica(cgp, i);

	memset(d, 0, sizeof(*d));
	d->replica = rollout_replica_name(cgp, i);
	d->tunnel_image = r->w.cfg.tunnel_image[0] ?
	    r->w.cfg.tunnel_image : "cloudflare/cloudflared:2025.4.0";
	d->proxy_image = r->w.cfg.proxy_image[0] ?
	    r->w.cfg.proxy_image : "cfgw-proxy:latest";
	d->token_hash = j->token_hash;
	d->min_ready_seconds = -1;
	(void)json_int(json_path(cgp, "spec", "tunnel", NULL),
	    "minReadySeconds", &d->min_ready_seconds);
	d->resources = json_path(cgp, "spec", "tunnel", "resources", NULL);
	d->zone = json_str(rep, "zone");
	d->node_selector = json_get(rep, "nodeSelector");
	d->affinity = json_get(rep, "affinity");
}

/*
 * With several replicas, a new token reaches them one Deployment at a
 * time: an existing Deployment that is still rolling out holds back the
 * ones after it, and one whose token hash changes ends this run's updates
 * (its status change runs us again).  New Deployments are created at once.
 * 1 when dep may be applied now; *hold set when the later ones must wait.
 */
static int
gw_gate(struct gw_job *j, yajl_val dep, size_t n, int *hold)
{
	const char	*h;
	int		 dl;

	if (dep == NULL || n < 2)
		return 1;
	if (*hold)
		return 0;
	h = json_str(json_path(dep, "spec", "template", "metadata",
	    "annotations", NULL), OWNED_ANN_TOKEN_HASH);
	if (!rollout_done(dep, h, &dl) && !dl) {
		*hold = 1;
		return 0;
	}
	if (h == NULL || strcmp(h, j->token_hash) != 0)
		*hold = 1;	/* this one rolls now; the rest later */
	return 1;
}

/*
 * The session key Secret, created once with 32 random bytes.  The watcher
 * sees Secrets as metadata, which is all we need to know it exists.
 */
static int
gw_session_secret(struct rec *r, struct gw_job *j, struct owned_gw *og)
{
	unsigned char	 key[OWNED_SESSION_BYTES];
	char		 b64[sodium_base64_ENCODED_LEN(OWNED_SESSION_BYTES,
			    sodium_base64_VARIANT_ORIGINAL)];
	char		 name[OWNED_NAME_MAX + 1], err[512], *b;
	size_t		 len;
	int		 rc;

	if (owned_name(name, sizeof(name), j->name,
	    OWNED_SESSION_SUFFIX) == -1)
		return 0;
	if (store_get(r->store, "Secret", j->ns, name) != NULL)
		return 0;
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key),
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	b = owned_session_secret(og, b64, &len);
	sodium_memzero(b64, sizeof(b64));
	if (b == NULL)
		return 0;
	rc = kio_create(r, "Secret", j->ns, b, len, err, sizeof(err));
	sodium_memzero(b, len);
	free(b);
	if (rc == -1) {
		gw_fail(r, j, GW_RETRY, NULL, "%s", err);
		return -1;
	}
	return 0;
}

/*
 * CGP tunnel.patches (RFC 6902) on a built Deployment, then the replica's
 * placement again: its zone, affinity and nodeSelector win over a patch,
 * as in the reference.  *body is replaced; -1 with err for a patch that
 * does not apply.
 */
static int
gw_patch_deployment(char **body, size_t *len, yajl_val patches,
    const struct owned_deploy *d, char *err, size_t errsz)
{
	yajl_val	 doc = NULL, pl = NULL;
	struct jw	*w;
	char		*s, path[300];
	size_t		 i, n;
	int		 rc = -1;

	if (json_len(patches) == 0 || *body == NULL)
		return 0;
	if ((doc = json_parse(*body, *len, err, errsz)) == NULL ||
	    jsonpatch_apply(&doc, patches, err, errsz) == -1)
		goto out;
	if ((s = owned_placement_json(d, &n)) == NULL)
		goto oom;
	pl = json_parse(s, n, err, errsz);
	free(s);
	for (i = 0; i < json_len(pl); i++) {
		snprintf(path, sizeof(path), "/spec/template/spec/%s",
		    json_key_at(pl, i));
		if (jsonpatch_add(&doc, path, kube_val_dup(json_at(pl, i)),
		    err, errsz) == -1)
			goto out;
	}
	if ((w = jw_new()) == NULL)
		goto oom;
	jw_val(w, doc);
	s = jw_take(w, &n);
	jw_free(&w);
	if (s == NULL)
		goto oom;
	free(*body);
	*body = s;
	*len = n;
	rc = 0;
	goto out;
oom:
	snprintf(err, errsz, "out of memory");
out:
	json_free(&doc);
	json_free(&pl);
	return rc;
}

/*
 * Replica i's VPA.  Without the VPA API (404) the VPAs are skipped, with
 * a Warning Event once per Gateway, and the run goes on: autoscaling is
 * not worth the tunnel's DNS.
 */
static int
gw_apply_vpa(struct rec *r, struct gw_job *j, yajl_val gw,
    const struct owned_gw *og, yajl_val cgp, size_t i)
{
	const char	*rep = rollout_replica_name(cgp, i);
	char		 name[OWNED_NAME_MAX + 1], *b;
	size_t		 len;
	int		 unserved = 0;

	if (rep == NULL || owned_name(name, sizeof(name), j->name, rep) == -1)
		return 0;
	b = owned_vpa(og, rep, json_path(cgp, "spec", "tunnel", "autoscaling",
	    NULL), &len);
	if (gw_apply_opt(r, j, "VerticalPodAutoscaler", name, b, len,
	    &unserved) == 0) {
		j->vpa_warned = 0;
		return 0;
	}
	if (!unserved)
		return -1;
	if (!j->vpa_warned) {
		log_warnx("Gateway %s/%s: tunnel.autoscaling: no VPA API "
		    "(autoscaling.k8s.io/v1); no VPA created", j->ns, j->name);
		events_emit(r, gw, "gateway.networking.k8s.io/v1", "Gateway",
		    "Warning", "VPAUnavailable", "tunnel.autoscaling is "
		    "enabled but the cluster does not serve autoscaling.k8s.io"
		    "/v1 VerticalPodAutoscalers; no VPA is created");
	}
	j->vpa_warned = 1;
	return 0;
}

/* ServiceAccount, Role, RoleBinding, the session key, then one Deployment
 * per replica, then (tunnel.autoscaling) one VPA per replica. */
int
gw_apply_workload(struct rec *r, struct gw_job *j, yajl_val gw,
    yajl_val cgp)
{
	struct owned_gw		 og;
	struct owned_deploy	 d;
	char			 name[OWNED_NAME_MAX + 1], *b, err[512];
	size_t			 len, i, n;
	int			 hold = 0;

	gw_owned_init(&og, j, gw);
	(void)owned_name(name, sizeof(name), j->name, NULL);
	b = owned_serviceaccount(&og, &len);
	if (gw_apply(r, j, "ServiceAccount", name, b, len) == -1)
		return -1;
	b = owned_role(&og, &len);
	if (gw_apply(r, j, "Role", name, b, len) == -1)
		return -1;
	b = owned_rolebinding(&og, &len);
	if (gw_apply(r, j, "RoleBinding", name, b, len) == -1)
		return -1;
	if (gw_session_secret(r, j, &og) == -1)
		return -1;
	n = rollout_replica_count(cgp);
	j->held = 0;
	for (i = 0; i < n; i++) {
		gw_deploy_init(r, j, cgp, i, &d);
		if (d.replica == NULL ||
		    owned_name(name, sizeof(name), j->name, d.replica) == -1)
			continue;
		if (!gw_gate(j, store_get(r->store, "Deployment", j->ns, name),
		    n, &hold)) {
			j->held = 1;
			continue;
		}
		b = owned_deployment(&og, &d, &len);
		if (gw_patch_deployment(&b, &len, json_path(cgp, "spec",
		    "tunnel", "patches", NULL), &d, err, sizeof(err)) == -1) {
			free(b);
			gw_fail(r, j, GW_TERMINAL, "InvalidParameters",
			    "tunnel.patches%s", err);
			return -1;
		}
		if (gw_apply(r, j, "Deployment", name, b, len) == -1)
			return -1;
	}
	if (gw_autoscaling(cgp))
		for (i = 0; i < n; i++)
			if (gw_apply_vpa(r, j, gw, &og, cgp, i) == -1)
				return -1;
	gw_delete_stale(r, j, cgp);
	return 0;
}
