/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gatewayclass: accept or reject the GatewayClasses whose controllerName is
 * ours.  The credentials Secret named by parametersRef is checked by cfapi
 * (cred.verify): this process never reads Secret data.  Status is written
 * (merge patch on the status subresource) only when it changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "proto.h"
#include "queue.h"
#include "reconciler.h"
#include "status.h"
#include "store.h"

#define GC_STEP_VERIFY	1
#define GC_MAX		64

/* Gateway API bundle versions we support: v1.N with N >= this. */
#define GC_MIN_MINOR	1

struct gc_job {
	char		 name[256];
	uint64_t	 reqid;		/* cred.verify in flight, or 0 */
};

static struct gc_job	 gc_jobs[GC_MAX];

static const char *gc_features[] = {	/* sorted, as the API requires */
	"GRPCRoute",
	"Gateway",
	"GatewayInfrastructurePropagation",
	"HTTPRoute",
	"HTTPRouteMethodMatching",
	"HTTPRouteQueryParamMatching",
	"ReferenceGrant",
};

static struct gc_job	*gc_job(const char *name);
static void		 gc_version(struct rec *, struct conds *, int *ok);
static void		 gc_write(struct rec *, const char *name,
			    struct conds *);
static int		 gc_params(yajl_val gc, const char **ns,
			    const char **name, char *why, size_t whysz);

int
gatewayclass_ours(yajl_val gc)
{
	const char	*cn;

	cn = json_str(json_path(gc, "spec", NULL), "controllerName");
	return cn != NULL && strcmp(cn, REC_CONTROLLER) == 0;
}

int
gatewayclass_ready(struct rec *r, const char *name)
{
	yajl_val	 gc;

	gc = store_get(r->store, "GatewayClass", NULL, name);
	if (gc == NULL || !gatewayclass_ours(gc))
		return 0;
	return status_cond_true(json_path(gc, "status", "conditions", NULL),
	    "Accepted");
}

static struct gc_job *
gc_job(const char *name)
{
	size_t	 i, free_slot = GC_MAX;

	if (strlen(name) >= sizeof(gc_jobs[0].name))
		return NULL;
	for (i = 0; i < GC_MAX; i++) {
		if (strcmp(gc_jobs[i].name, name) == 0)
			return &gc_jobs[i];
		if (gc_jobs[i].name[0] == '\0' && free_slot == GC_MAX)
			free_slot = i;
	}
	if (free_slot == GC_MAX)
		free_slot = 0;	/* reuse: a lost reply only costs a retry */
	memset(&gc_jobs[free_slot], 0, sizeof(gc_jobs[0]));
	strcpy(gc_jobs[free_slot].name, name);
	return &gc_jobs[free_slot];
}

/*
 * SupportedVersion from the gatewayclasses CRD's bundle-version annotation.
 * A missing CRD or annotation is "unknown": we accept and say so.
 */
static void
gc_version(struct rec *r, struct conds *c, int *ok)
{
	yajl_val	 crd;
	const char	*v;
	int		 major, minor;

	*ok = 1;
	crd = store_get(r->store, "CustomResourceDefinition", NULL,
	    REC_CRD_GATEWAYCLASS);
	v = json_str(json_path(crd, "metadata", "annotations", NULL),
	    REC_ANN_BUNDLE);
	if (v == NULL) {
		status_cond_set(c, "SupportedVersion", "Unknown",
		    "UnknownVersion", "Gateway API CRD bundle version is "
		    "unknown (no %s annotation on %s); accepted anyway",
		    REC_ANN_BUNDLE, REC_CRD_GATEWAYCLASS);
		return;
	}
	if (sscanf(v, "v%d.%d", &major, &minor) == 2 && major == 1 &&
	    minor >= GC_MIN_MINOR) {
		status_cond_set(c, "SupportedVersion", "True",
		    "SupportedVersion",
		    "Gateway API CRD version \"%s\" is supported", v);
		return;
	}
	*ok = 0;
	status_cond_set(c, "SupportedVersion", "False", "UnsupportedVersion",
	    "Gateway API CRD version \"%s\" is not supported (need v1.%d "
	    "or later v1.x)", v, GC_MIN_MINOR);
}

/* 0 with the Secret's coordinates, 1 when there is no parametersRef,
 * -1 with a reason when the reference is invalid. */
static int
gc_params(yajl_val gc, const char **ns, const char **name, char *why,
    size_t whysz)
{
	yajl_val	 pr;
	const char	*group, *kind;

	pr = json_path(gc, "spec", "parametersRef", NULL);
	if (pr == NULL)
		return 1;
	group = json_str(pr, "group");
	kind = json_str(pr, "kind");
	*ns = json_str(pr, "namespace");
	*name = json_str(pr, "name");
	if (kind == NULL || strcmp(kind, "Secret") != 0 ||
	    (group != NULL && *group != '\0' && strcmp(group, "core") != 0)) {
		snprintf(why, whysz, "parametersRef must be a core Secret "
		    "(group \"\", kind Secret), not %s/%s",
		    group != NULL ? group : "", kind != NULL ? kind : "");
		return -1;
	}
	if (*ns == NULL || **ns == '\0' || *name == NULL || **name == '\0') {
		snprintf(why, whysz, "parametersRef must name the Secret's "
		    "namespace and name");
		return -1;
	}
	return 0;
}

static void
gc_set_result(struct conds *c, int vok, const char *reason,
    const char *msg)
{
	if (reason == NULL && !vok)
		reason = "UnsupportedVersion";
	if (reason == NULL) {
		status_cond_set(c, "Accepted", "True", "Accepted",
		    "GatewayClass is accepted");
		status_cond_set(c, "Ready", "True", "ReconciliationSucceeded",
		    "GatewayClass is ready");
	} else {
		status_cond_set(c, "Accepted", "False", reason, "%s",
		    msg != NULL ? msg : "Gateway API version not supported");
		status_cond_set(c, "Ready", "False", reason, "%s",
		    msg != NULL ? msg : "Gateway API version not supported");
	}
}

void
gatewayclass_reconcile(struct rec *r, const char *name)
{
	yajl_val	 gc, sec;
	struct gc_job	*j;
	struct conds	 c = { .n = 0 };
	struct jw	*w;
	const char	*sns = NULL, *sname = NULL, *rv, *buf;
	size_t		 len;
	char		 why[512];
	int		 vok, rc;

	gc = store_get(r->store, "GatewayClass", NULL, name);
	if (gc == NULL || !gatewayclass_ours(gc) ||
	    json_path(gc, "metadata", "deletionTimestamp", NULL) != NULL)
		return;
	if ((j = gc_job(name)) == NULL)
		return;
	gc_version(r, &c, &vok);
	rc = gc_params(gc, &sns, &sname, why, sizeof(why));
	if (rc != 0 || !vok) {
		gc_set_result(&c, vok, rc == -1 ? "InvalidParameters" : NULL,
		    rc == -1 ? why : NULL);
		gc_write(r, name, &c);
		status_conds_free(&c);
		j->reqid = 0;
		return;
	}
	status_conds_free(&c);
	sec = store_get(r->store, "Secret", sns, sname);
	rv = json_str(json_get(sec, "metadata"), "resourceVersion");
	if ((w = jw_new()) == NULL)
		return;
	jw_obj(w);
	jw_kstr(w, "op", "cred.verify");
	jw_kstr(w, "priority", "high");
	jw_key(w, "cred");
	jw_obj(w);
	jw_kstr(w, "namespace", sns);
	jw_kstr(w, "name", sname);
	jw_obj_end(w);
	jw_kstr(w, "resource_version", rv != NULL ? rv : "");
	jw_obj_end(w);
	snprintf(why, sizeof(why), "GatewayClass/%s", name);
	if (jw_result(w, &buf, &len) == 0)
		j->reqid = rec_request(r, REC_PEER_CFAPI, MSG_CF_REQUEST,
		    why, GC_STEP_VERIFY, buf, len, REC_CF_TIMEOUT_MS);
	jw_free(&w);
}

static int
gc_error_terminal(const char *kind)
{
	return kind != NULL && (strcmp(kind, "credentials") == 0 ||
	    strcmp(kind, "auth") == 0 || strcmp(kind, "validation") == 0 ||
	    strcmp(kind, "not_found") == 0);
}

void
gatewayclass_resume(struct rec *r, const char *name, int step,
    uint64_t reqid, yajl_val reply)
{
	struct gc_job	*j;
	struct conds	 c = { .n = 0 };
	yajl_val	 e;
	const char	*kind, *msg;
	char		 key[300];
	int		 vok, ok = 0;

	(void)step;
	if ((j = gc_job(name)) == NULL || j->reqid != reqid)
		return;		/* superseded */
	j->reqid = 0;
	gc_version(r, &c, &vok);
	e = json_get(reply, "error");
	kind = json_str(e, "kind");
	msg = json_str(e, "message");
	(void)json_bool(reply, "ok", &ok);
	snprintf(key, sizeof(key), "GatewayClass/%s", name);
	if (reply != NULL && ok) {
		gc_set_result(&c, vok, NULL, NULL);
		queue_forget(r->queue, key);
		rec_enqueue(r, key, REC_EVERY_DEFAULT_MS);	/* re-verify */
	} else if (reply != NULL && gc_error_terminal(kind)) {
		rec_enqueue(r, key, REC_EVERY_DEFAULT_MS);
		gc_set_result(&c, vok, "InvalidParameters", NULL);
		status_cond_set(&c, "Accepted", "False", "InvalidParameters",
		    "Failed to verify credentials: %s",
		    msg != NULL ? msg : kind);
		status_cond_set(&c, "Ready", "False", "InvalidParameters",
		    "Failed to verify credentials: %s",
		    msg != NULL ? msg : kind);
	} else {
		status_cond_set(&c, "Ready", "Unknown", "ProgressingWithRetry",
		    "Could not verify credentials: %s", reply == NULL ?
		    "no answer from cfapi" : msg != NULL ? msg : "error");
		rec_enqueue(r, key, -1);	/* backoff */
	}
	gc_write(r, name, &c);
	status_conds_free(&c);
}

static void
gc_write_features(struct jw *w)
{
	size_t	 i;

	jw_arr(w);
	for (i = 0; i < sizeof(gc_features) / sizeof(*gc_features); i++) {
		jw_obj(w);
		jw_kstr(w, "name", gc_features[i]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* An Event when Accepted changes. */
static void
gc_event(struct rec *r, yajl_val gc, const struct conds *c)
{
	const struct cond	*a = status_cond_get(c, "Accepted");
	const char		*was;

	if (a == NULL)
		return;
	was = json_str(status_cond_find(json_path(gc, "status", "conditions",
	    NULL), "Accepted"), "status");
	log_info("GatewayClass %s: Accepted=%s %s",
	    json_str(json_get(gc, "metadata"), "name"), a->status, a->reason);
	if (was != NULL && strcmp(was, a->status) == 0)
		return;
	events_emit(r, gc, "gateway.networking.k8s.io/v1", "GatewayClass",
	    strcmp(a->status, "True") == 0 ? "Normal" : "Warning", a->reason,
	    "%s", a->message != NULL ? a->message : "");
}

/* Patch status.conditions and supportedFeatures if they differ. */
static void
gc_write(struct rec *r, const char *name, struct conds *c)
{
	yajl_val	 gc, old, mine = NULL;
	struct jw	*w;
	const char	*buf;
	size_t		 len;
	long long	 gen = 0;
	char		 now[32], err[512];

	if ((gc = store_get(r->store, "GatewayClass", NULL, name)) == NULL ||
	    (w = jw_new()) == NULL)
		return;
	(void)json_int(json_get(gc, "metadata"), "generation", &gen);
	old = json_get(gc, "status");
	status_now(now, sizeof(now));
	jw_obj(w);
	jw_key(w, "status");
	jw_obj(w);
	jw_key(w, "conditions");
	status_write_conds(w, json_get(old, "conditions"), c, gen, now, 1);
	jw_key(w, "supportedFeatures");
	gc_write_features(w);
	jw_obj_end(w);
	jw_obj_end(w);
	if (jw_result(w, &buf, &len) == 0 &&
	    (mine = json_parse(buf, len, NULL, 0)) != NULL &&
	    status_json_equal(json_path(mine, "status", "conditions", NULL),
	    json_get(old, "conditions")) &&
	    status_json_equal(json_path(mine, "status", "supportedFeatures",
	    NULL), json_get(old, "supportedFeatures"))) {
		log_debug("GatewayClass %s: status unchanged", name);
	} else if (mine != NULL) {
		if (kio_merge(r, "GatewayClass", NULL, name, buf, len, 1, err,
		    sizeof(err)) == -1) {
			log_warnx("GatewayClass %s: %s", name, err);
			snprintf(err, sizeof(err), "GatewayClass/%s", name);
			rec_enqueue(r, err, -1);
		} else
			gc_event(r, gc, c);
	}
	json_free(&mine);
	jw_free(&w);
}
