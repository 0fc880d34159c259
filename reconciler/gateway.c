/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway: reconcile one Gateway of our class.  The pipeline is
 *   finalizer -> class finalizer -> tunnel.ensure -> compile routes ->
 *   ConfigMap -> tunnel.config -> tunnel.token_secret -> RBAC +
 *   Deployments -> DNS_SYNC -> route, Gateway and CGS status,
 * and on deletion DNS_CLEANUP -> tunnel.delete -> route status entries ->
 * class finalizers -> finalizer.  Each Cloudflare step is an asynchronous
 * request; the job (gwjob.h) remembers where it is.  Kubernetes writes are
 * synchronous.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwjob.h"
#include "json.h"
#include "log.h"
#include "owned.h"
#include "proto.h"
#include "queue.h"
#include "reconciler.h"
#include "route.h"
#include "status.h"
#include "store.h"

static struct gw_job	**gw_jobs;
static size_t		  gw_njobs, gw_capjobs;

static struct gw_job	*gw_job_get(const char *ns, const char *name,
			    int create);
static void		 gw_job_drop(struct gw_job *);
static int		 gw_prepare(struct rec *, struct gw_job *, yajl_val gw,
			    yajl_val *cgp);
static void		 gw_step_tunnel(struct rec *, struct gw_job *,
			    yajl_val result);
static void		 gw_step_config(struct rec *, struct gw_job *,
			    yajl_val result);
static void		 gw_step_token(struct rec *, struct gw_job *,
			    yajl_val result);
static void		 gw_step_dns(struct rec *, struct gw_job *,
			    yajl_val reply);

static struct gw_job *
gw_job_get(const char *ns, const char *name, int create)
{
	struct gw_job	*j, **nv;
	size_t		 i;

	for (i = 0; i < gw_njobs; i++)
		if (strcmp(gw_jobs[i]->ns, ns) == 0 &&
		    strcmp(gw_jobs[i]->name, name) == 0)
			return gw_jobs[i];
	if (!create || strlen(ns) >= GW_NAME_MAX ||
	    strlen(name) >= GW_NAME_MAX)
		return NULL;
	if (gw_njobs == gw_capjobs) {
		nv = reallocarray(gw_jobs, gw_capjobs ? gw_capjobs * 2 : 16,
		    sizeof(*nv));
		if (nv == NULL)
			return NULL;
		gw_jobs = nv;
		gw_capjobs = gw_capjobs ? gw_capjobs * 2 : 16;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	strcpy(j->ns, ns);
	strcpy(j->name, name);
	snprintf(j->key, sizeof(j->key), "Gateway/%s/%s", ns, name);
	gw_jobs[gw_njobs++] = j;
	return j;
}

void
gw_job_reset(struct gw_job *j)
{
	route_result_free(&j->rr);
	free(j->zones);
	j->zones = NULL;
	j->step = GW_IDLE;
	j->reqid = 0;
}

static void
gw_job_drop(struct gw_job *j)
{
	size_t	 i;

	for (i = 0; i < gw_njobs; i++) {
		if (gw_jobs[i] != j)
			continue;
		gw_job_reset(j);
		free(j);
		gw_jobs[i] = gw_jobs[--gw_njobs];
		return;
	}
}

void
gateway_forget_all(struct rec *r)
{
	(void)r;
	while (gw_njobs > 0)
		gw_job_drop(gw_jobs[0]);
	free(gw_jobs);
	gw_jobs = NULL;
	gw_capjobs = 0;
}

/* End of a run: requeue (periodic or at once if asked while busy). */
void
gw_done(struct rec *r, struct gw_job *j, long long delay_ms)
{
	gw_job_reset(j);
	if (j->dirty) {
		j->dirty = 0;
		delay_ms = 0;
	}
	rec_enqueue(r, j->key, delay_ms);
}

/*
 * A run that cannot continue.  Terminal failures (bad input) wait for the
 * objects to change; the others retry with the key's backoff.  Either way
 * the Gateway's status says why.
 */
void
gw_fail(struct rec *r, struct gw_job *j, int terminal,
    const char *accepted_reason, const char *fmt, ...)
{
	struct gw_outcome	 o = { .c = { .n = 0 }, .keep_others = 1 };
	yajl_val		 gw;
	va_list			 ap;
	char			*msg = NULL;
	long long		 delay;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	j->complete = 0;
	log_warnx("Gateway %s/%s: %s", j->ns, j->name, msg ? msg : "error");
	if (accepted_reason != NULL)
		status_cond_set(&o.c, "Accepted", "False", accepted_reason,
		    "%s", msg ? msg : "");
	if (terminal)
		status_cond_set(&o.c, "Ready", "False",
		    "ReconciliationFailed", "%s", msg ? msg : "");
	else
		status_cond_set(&o.c, "Ready", "Unknown",
		    "ProgressingWithRetry", "%s", msg ? msg : "");
	if ((gw = store_get(r->store, "Gateway", j->ns, j->name)) != NULL &&
	    j->step < GW_FIN_LIST) {
		gwstatus_gateway(r, j, gw, &o);
		gwstatus_cgs_handled(r, j, gw);
	}
	status_conds_free(&o.c);
	free(msg);
	/* Deletion never waits a whole period: the user is waiting. */
	if (terminal && j->step < GW_FIN_LIST)
		delay = j->every_ms > 0 ? j->every_ms : REC_EVERY_DEFAULT_MS;
	else
		delay = (long long)queue_backoff(r->queue, j->key);
	gw_done(r, j, delay);
}

struct jw *
gw_cf_begin(struct gw_job *j, const char *op)
{
	struct jw	*w;

	if ((w = jw_new()) == NULL)
		return NULL;
	jw_obj(w);
	jw_kstr(w, "op", op);
	jw_kstr(w, "priority", "normal");
	jw_key(w, "cred");
	jw_obj(w);
	jw_kstr(w, "namespace", j->cred_ns);
	jw_kstr(w, "name", j->cred_name);
	jw_obj_end(w);
	return w;
}

/* Close the object begun by gw_cf_begin and send it. */
int
gw_send_cf(struct rec *r, struct gw_job *j, enum gw_step step,
    const char *op, struct jw *w)
{
	const char	*buf;
	size_t		 len;

	jw_obj_end(w);
	if (jw_result(w, &buf, &len) == -1) {
		jw_free(&w);
		gw_fail(r, j, GW_RETRY, NULL, "cannot encode %s", op);
		return -1;
	}
	j->step = step;
	j->reqid = rec_request(r, REC_PEER_CFAPI, MSG_CF_REQUEST, j->key,
	    step, buf, len, REC_CF_TIMEOUT_MS);
	jw_free(&w);
	if (j->reqid == 0) {
		gw_fail(r, j, GW_RETRY, NULL, "cannot send %s to cfapi", op);
		return -1;
	}
	return 0;
}

/* Add or remove our finalizer (kio_finalizer: optimistic lock, retried on
 * a conflict). */
int
gw_finalizer(struct rec *r, struct gw_job *j, yajl_val gw, int add)
{
	char	 err[512];

	if (kio_finalizer(r, "Gateway", j->ns, j->name, gw, REC_FINALIZER,
	    add, err, sizeof(err)) == -1) {
		log_warnx("Gateway %s/%s: finalizer: %s", j->ns, j->name,
		    err);
		return -1;
	}
	return 0;
}

/* Everything checked before the first Cloudflare call. */
static int
gw_prepare(struct rec *r, struct gw_job *j, yajl_val gw, yajl_val *cgp)
{
	const char	*cluster;

	(void)json_int(json_get(gw, "metadata"), "generation",
	    &j->generation);
	if (gw_copy(j->uid, sizeof(j->uid),
	    json_str(json_get(gw, "metadata"), "uid")) == -1)
		j->uid[0] = '\0';
	if (gw_every(gw, &j->every_ms) == -1) {
		gw_fail(r, j, GW_TERMINAL, "InvalidParameters",
		    "annotation %s: not a duration: %s", REC_ANN_EVERY,
		    gw_annotation(gw, REC_ANN_EVERY));
		return -1;
	}
	if (json_len(json_path(gw, "spec", "addresses", NULL)) > 0) {
		gw_fail(r, j, GW_TERMINAL, "UnsupportedAddress",
		    "spec.addresses is not supported: the address is the "
		    "tunnel's <id>.cfargotunnel.com");
		return -1;
	}
	if (gw_params(r, j, gw, cgp) == -1)
		return -1;
	cluster = r->w.cfg.cluster_name[0] ? r->w.cfg.cluster_name :
	    "default";
	snprintf(j->tunnel_name, sizeof(j->tunnel_name),
	    "cloudflare-gateway-controller.io/clusters/%s/namespaces/%s/"
	    "gateways/%s", cluster, j->ns, j->name);
	return 0;
}

void
gateway_reconcile(struct rec *r, const char *ns, const char *name)
{
	struct gw_job	*j;
	yajl_val	 gw, gc, cgp = NULL;
	const char	*cls, *sus;
	struct jw	*w;

	gw = store_get(r->store, "Gateway", ns, name);
	if ((j = gw_job_get(ns, name, gw != NULL)) == NULL)
		return;
	if (j->step != GW_IDLE) {
		j->dirty = 1;
		return;
	}
	if (gw == NULL) {
		gw_job_drop(j);
		return;
	}
	cls = json_str(json_get(gw, "spec"), "gatewayClassName");
	gc = store_get(r->store, "GatewayClass", NULL, cls);
	sus = gw_annotation(gw, REC_ANN_RECONCILE);
	if (json_path(gw, "metadata", "deletionTimestamp", NULL) != NULL) {
		if (kio_has_finalizer(gw, REC_FINALIZER))
			gw_finalize(r, j, gw);
		return;
	}
	if (gc == NULL || !gatewayclass_ours(gc))
		return;
	if (sus != NULL && strcmp(sus, "disabled") == 0) {
		log_debug("Gateway %s/%s: reconcile disabled", ns, name);
		return;
	}
	if (!gatewayclass_ready(r, cls)) {
		log_debug("Gateway %s/%s: class %s not accepted", ns, name,
		    cls);
		return;
	}
	if (!kio_has_finalizer(gw, REC_FINALIZER) &&
	    gw_finalizer(r, j, gw, 1) == -1) {
		gw_fail(r, j, GW_RETRY, NULL, "cannot add finalizer");
		return;
	}
	if (gwclassfin_ensure(r, j, cls) == -1) {
		gw_fail(r, j, GW_RETRY, NULL,
		    "cannot set the GatewayClass finalizer");
		return;
	}
	if (gw_prepare(r, j, gw, &cgp) == -1)
		return;
	if ((w = gw_cf_begin(j, "tunnel.ensure")) == NULL)
		return;
	jw_kstr(w, "name", j->tunnel_name);
	(void)gw_send_cf(r, j, GW_TUNNEL, "tunnel.ensure", w);
}

/*
 * A tunnel Deployment's status changed: only Ready can have moved, so
 * when the last run completed cleanly, recompute Ready alone (no
 * Cloudflare calls); otherwise run the whole pipeline.
 */
void
gateway_refresh_ready(struct rec *r, const char *ns, const char *name)
{
	struct gw_outcome	 o = { .c = { .n = 0 }, .keep_others = 1 };
	struct gw_job		*j = gw_job_get(ns, name, 0);
	yajl_val		 gw, cgp;
	const char		*sus;

	gw = store_get(r->store, "Gateway", ns, name);
	if (gw == NULL || j == NULL || j->step != GW_IDLE)
		return;		/* a run in flight ends with Ready */
	sus = gw_annotation(gw, REC_ANN_RECONCILE);
	if (sus != NULL && strcmp(sus, "disabled") == 0)
		return;
	if (!j->complete || j->dns_failed || j->held ||
	    json_path(gw, "metadata", "deletionTimestamp", NULL) != NULL) {
		rec_enqueue(r, j->key, 0);
		return;
	}
	cgp = store_get(r->store, "CloudflareGatewayParameters", ns,
	    json_str(json_path(gw, "spec", "infrastructure", "parametersRef",
	    NULL), "name"));
	(void)gwstatus_ready(r, j, cgp, &o.c);
	gwstatus_gateway(r, j, gw, &o);
	gwstatus_cgs(r, j, gw, cgp, &o);
	status_conds_free(&o.c);
}

/* Cloudflare error kinds that retrying will not fix. */
static int
gw_cf_terminal(const char *kind)
{
	return kind != NULL && (strcmp(kind, "credentials") == 0 ||
	    strcmp(kind, "auth") == 0 || strcmp(kind, "validation") == 0);
}

void
gateway_resume(struct rec *r, const char *ns, const char *name, int step,
    uint64_t reqid, yajl_val reply)
{
	struct gw_job	*j;
	yajl_val	 e;
	const char	*kind, *msg;
	int		 ok = 0;

	if ((j = gw_job_get(ns, name, 0)) == NULL || j->reqid != reqid ||
	    (int)j->step != step)
		return;		/* a late reply to an abandoned run */
	j->reqid = 0;
	if (reply == NULL) {
		gw_fail(r, j, GW_RETRY, NULL, "no answer from %s (step %d)",
		    step == GW_DNS || step == GW_FIN_DNS ? "dnsworker" :
		    "cfapi", step);
		return;
	}
	if (step == GW_DNS || step == GW_FIN_DNS) {
		if (step == GW_DNS)
			gw_step_dns(r, j, reply);
		else
			gw_fin_next(r, j, GW_FIN_DNS, reply);
		return;
	}
	(void)json_bool(reply, "ok", &ok);
	e = json_get(reply, "error");
	kind = json_str(e, "kind");
	msg = json_str(e, "message");
	if (!ok && !(step == GW_FIN_DELETE && kind != NULL &&
	    strcmp(kind, "not_found") == 0)) {
		if (gw_cf_terminal(kind) && step < GW_FIN_LIST)
			gw_fail(r, j, GW_TERMINAL, "InvalidParameters",
			    "Failed to use credentials %s/%s: %s", j->cred_ns,
			    j->cred_name, msg != NULL ? msg : kind);
		else
			gw_fail(r, j, GW_RETRY, NULL, "Cloudflare: %s",
			    msg != NULL ? msg : kind != NULL ? kind :
			    "malformed reply");
		return;
	}
	switch (step) {
	case GW_TUNNEL:
		gw_step_tunnel(r, j, json_get(reply, "result"));
		break;
	case GW_CONFIG:
		gw_step_config(r, j, json_get(reply, "result"));
		break;
	case GW_TOKEN:
		gw_step_token(r, j, json_get(reply, "result"));
		break;
	default:
		gw_fin_next(r, j, (enum gw_step)step, json_get(reply,
		    "result"));
		break;
	}
}

/*
 * The compiler's input.  Routes, Services and ReferenceGrants are kept as
 * text in the store; each route is parsed in turn and kept only when
 * route_names_gateway (the compiler's own test) says it is attached, and
 * only the Services and ReferenceGrants of the namespaces those routes
 * live in or reference are parsed.  The trees are owned here and freed
 * after the compile.
 */
struct gw_in {
	yajl_val	*v;
	size_t		 n, cap;
};

struct gw_nsset {
	char		**v;
	size_t		 n, cap;
};

static int
gw_in_add(struct gw_in *a, yajl_val t)
{
	yajl_val	*nv;
	size_t		 cap;

	if (a->n + 1 >= a->cap) {
		cap = a->cap ? a->cap * 2 : 16;
		if ((nv = reallocarray(a->v, cap, sizeof(*nv))) == NULL) {
			yajl_tree_free(t);
			return -1;
		}
		a->v = nv;
		a->cap = cap;
	}
	a->v[a->n++] = t;
	a->v[a->n] = NULL;
	return 0;
}

static void
gw_in_free(struct gw_in *a)
{
	size_t	 i;

	for (i = 0; i < a->n; i++)
		yajl_tree_free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static int
gw_nsset_has(const struct gw_nsset *set, const char *ns)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->v[i], ns) == 0)
			return 1;
	return 0;
}

static int
gw_nsset_add(struct gw_nsset *set, const char *ns)
{
	char	**nv;

	if (ns == NULL || gw_nsset_has(set, ns))
		return 0;
	if (set->n == set->cap) {
		nv = reallocarray(set->v, set->cap ? set->cap * 2 : 16,
		    sizeof(*nv));
		if (nv == NULL)
			return -1;
		set->v = nv;
		set->cap = set->cap ? set->cap * 2 : 16;
	}
	if ((set->v[set->n] = strdup(ns)) == NULL)
		return -1;
	set->n++;
	return 0;
}

static void
gw_nsset_free(struct gw_nsset *set)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		free(set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

/* Every "namespace" string under v (backendRefs, mirrors, ...). */
static int
gw_nsset_walk(struct gw_nsset *set, yajl_val v)
{
	size_t	 i;

	if (YAJL_IS_ARRAY(v)) {
		for (i = 0; i < v->u.array.len; i++)
			if (gw_nsset_walk(set, v->u.array.values[i]) == -1)
				return -1;
	} else if (YAJL_IS_OBJECT(v)) {
		for (i = 0; i < v->u.object.len; i++) {
			if (strcmp(v->u.object.keys[i], "namespace") == 0 &&
			    YAJL_IS_STRING(v->u.object.values[i]) &&
			    gw_nsset_add(set, YAJL_GET_STRING(
			    v->u.object.values[i])) == -1)
				return -1;
			if (gw_nsset_walk(set, v->u.object.values[i]) == -1)
				return -1;
		}
	}
	return 0;
}

/* The routes of a kind attached to the Gateway, and their namespaces. */
static int
gw_in_routes(struct rec *r, const char *kind, const char *ns,
    const char *name, struct gw_in *a, struct gw_nsset *set)
{
	yajl_val	 rt;
	const char	*rns;
	size_t		 i;

	for (i = 0; i < store_count(r->store, kind); i++) {
		if ((rt = store_load(r->store, kind, i)) == NULL)
			continue;
		if (!route_names_gateway(rt, ns, name)) {
			yajl_tree_free(rt);
			continue;
		}
		if ((rns = json_str(json_get(rt, "metadata"), "namespace")) ==
		    NULL)
			rns = "default";
		if (gw_nsset_add(set, rns) == -1 || gw_nsset_walk(set,
		    json_path(rt, "spec", "rules", NULL)) == -1) {
			yajl_tree_free(rt);
			return -1;
		}
		if (gw_in_add(a, rt) == -1)
			return -1;
	}
	return 0;
}

/* The objects of a kind in the namespaces of set. */
static int
gw_in_scoped(struct rec *r, const char *kind, const struct gw_nsset *set,
    struct gw_in *a)
{
	const char	*ons, *oname;
	yajl_val	 o;
	size_t		 i;

	for (i = 0; i < store_count(r->store, kind); i++) {
		if (store_key_at(r->store, kind, i, &ons, &oname) == -1 ||
		    !gw_nsset_has(set, ons))
			continue;
		if ((o = store_load(r->store, kind, i)) != NULL &&
		    gw_in_add(a, o) == -1)
			return -1;
	}
	return 0;
}

/* Every Namespace (kept parsed: borrowed); malloc'd array. */
static yajl_val *
gw_namespaces(struct rec *r, size_t *n)
{
	yajl_val	*v;
	size_t		 i;

	*n = store_count(r->store, "Namespace");
	if ((v = calloc(*n + 1, sizeof(*v))) == NULL) {
		*n = 0;
		return NULL;
	}
	for (i = 0; i < *n; i++)
		v[i] = store_at(r->store, "Namespace", i);
	return v;
}

static struct route_result *
gw_compile(struct rec *r, yajl_val gw, char *err, size_t errsz)
{
	struct route_input	 in;
	struct route_result	*rr = NULL;
	struct gw_in		 http, grpc, svc, rg;
	struct gw_nsset		 set;
	const char		*ns, *name;

	memset(&in, 0, sizeof(in));
	memset(&http, 0, sizeof(http));
	memset(&grpc, 0, sizeof(grpc));
	memset(&svc, 0, sizeof(svc));
	memset(&rg, 0, sizeof(rg));
	memset(&set, 0, sizeof(set));
	if ((ns = json_str(json_get(gw, "metadata"), "namespace")) == NULL)
		ns = "default";
	if ((name = json_str(json_get(gw, "metadata"), "name")) == NULL)
		name = "";
	if (gw_nsset_add(&set, ns) == -1 ||
	    gw_in_routes(r, "HTTPRoute", ns, name, &http, &set) == -1 ||
	    gw_in_routes(r, "GRPCRoute", ns, name, &grpc, &set) == -1 ||
	    gw_in_scoped(r, "Service", &set, &svc) == -1 ||
	    gw_in_scoped(r, "ReferenceGrant", &set, &rg) == -1) {
		snprintf(err, errsz, "cannot gather the compiler's input "
		    "(out of memory)");
		goto done;
	}
	in.gateway = gw;
	in.gatewayclass = store_get(r->store, "GatewayClass", NULL,
	    json_str(json_get(gw, "spec"), "gatewayClassName"));
	in.httproutes = http.v;
	in.n_http = http.n;
	in.grpcroutes = grpc.v;
	in.n_grpc = grpc.n;
	in.services = svc.v;
	in.n_svc = svc.n;
	in.refgrants = rg.v;
	in.n_rg = rg.n;
	in.namespaces = gw_namespaces(r, &in.n_ns);
	in.cluster_domain = r->w.cfg.cluster_domain[0] ?
	    r->w.cfg.cluster_domain : NULL;
	in.controller_name = REC_CONTROLLER;
	rr = route_compile(&in, err, errsz);
	free(in.namespaces);
done:
	gw_in_free(&http);
	gw_in_free(&grpc);
	gw_in_free(&svc);
	gw_in_free(&rg);
	gw_nsset_free(&set);
	return rr;
}

static void
gw_step_tunnel(struct rec *r, struct gw_job *j, yajl_val res)
{
	struct owned_gw	 og;
	struct jw	*w;
	yajl_val	 gw, ing;
	char		 err[512], cm[OWNED_NAME_MAX + 1];
	char		*body;
	size_t		 len;

	if (gw_copy(j->tunnel_id, sizeof(j->tunnel_id),
	    json_str(res, "id")) == -1) {
		gw_fail(r, j, GW_RETRY, NULL, "tunnel.ensure: no tunnel id");
		return;
	}
	if ((gw = store_get(r->store, "Gateway", j->ns, j->name)) == NULL) {
		gw_done(r, j, 0);
		return;
	}
	route_result_free(&j->rr);
	if ((j->rr = gw_compile(r, gw, err, sizeof(err))) == NULL) {
		gw_fail(r, j, GW_TERMINAL, "Invalid", "route compiler: %s",
		    err);
		return;
	}
	gw_owned_init(&og, j, gw);
	(void)owned_name(cm, sizeof(cm), j->name, NULL);
	body = owned_configmap(&og, j->rr->table, j->rr->table_len, &len);
	if (gw_apply(r, j, "ConfigMap", cm, body, len) == -1)
		return;
	ing = json_parse(j->rr->tunnel, j->rr->tunnel_len, err, sizeof(err));
	if (ing == NULL) {
		gw_fail(r, j, GW_TERMINAL, NULL, "ingress document: %s", err);
		return;
	}
	if ((w = gw_cf_begin(j, "tunnel.config")) != NULL) {
		jw_kstr(w, "id", j->tunnel_id);
		jw_key(w, "config");
		jw_val(w, ing);
		(void)gw_send_cf(r, j, GW_CONFIG, "tunnel.config", w);
	}
	json_free(&ing);
}

static void
gw_step_config(struct rec *r, struct gw_job *j, yajl_val res)
{
	struct owned_gw	 og;
	struct jw	*w;
	yajl_val	 gw;
	char		 sec[OWNED_NAME_MAX + 1];

	j->config_version = -1;
	(void)json_int(res, "version", &j->config_version);
	if ((gw = store_get(r->store, "Gateway", j->ns, j->name)) == NULL) {
		gw_done(r, j, 0);
		return;
	}
	gw_owned_init(&og, j, gw);
	(void)owned_name(sec, sizeof(sec), j->name, NULL);
	if ((w = gw_cf_begin(j, "tunnel.token_secret")) == NULL)
		return;
	jw_kstr(w, "id", j->tunnel_id);
	jw_key(w, "secret");
	jw_obj(w);
	jw_kstr(w, "namespace", j->ns);
	jw_kstr(w, "name", sec);
	jw_obj_end(w);
	jw_key(w, "owner");
	owned_write_owner_ref(w, &og);
	jw_key(w, "labels");
	owned_write_labels(w, &og, NULL);
	(void)gw_send_cf(r, j, GW_TOKEN, "tunnel.token_secret", w);
}

static void
gw_step_token(struct rec *r, struct gw_job *j, yajl_val res)
{
	yajl_val	 gw, cgp = NULL;
	struct jw	*w;
	const char	*buf, *cluster;
	size_t		 len, i;
	char		 owner[800], target[GW_ID_MAX + 32];

	if (gw_copy(j->token_hash, sizeof(j->token_hash),
	    json_str(res, "token_hash")) == -1) {
		gw_fail(r, j, GW_RETRY, NULL, "tunnel.token_secret: no hash");
		return;
	}
	if ((gw = store_get(r->store, "Gateway", j->ns, j->name)) == NULL) {
		gw_done(r, j, 0);
		return;
	}
	cgp = store_get(r->store, "CloudflareGatewayParameters", j->ns,
	    json_str(json_path(gw, "spec", "infrastructure", "parametersRef",
	    NULL), "name"));
	if (gw_apply_workload(r, j, gw, cgp) == -1)
		return;
	cluster = r->w.cfg.cluster_name[0] ? r->w.cfg.cluster_name :
	    "default";
	snprintf(owner, sizeof(owner), "%s/%s/%s", cluster, j->ns, j->name);
	if ((w = jw_new()) == NULL)
		return;
	jw_obj(w);
	jw_key(w, "gateway");
	jw_strn(w, j->key + strlen("Gateway/"),
	    strlen(j->key) - strlen("Gateway/"));
	jw_key(w, "cred");
	jw_obj(w);
	jw_kstr(w, "namespace", j->cred_ns);
	jw_kstr(w, "name", j->cred_name);
	jw_obj_end(w);
	snprintf(target, sizeof(target), "%s.cfargotunnel.com", j->tunnel_id);
	jw_kstr(w, "target", target);
	jw_kstr(w, "owner", owner);
	jw_key(w, "zones");
	if (j->zones != NULL) {
		yajl_val z = json_parse(j->zones, strlen(j->zones), NULL, 0);

		jw_val(w, z);
		json_free(&z);
	} else
		jw_null(w);
	jw_key(w, "hostnames");
	jw_arr(w);
	for (i = 0; i < j->rr->n_dns; i++) {
		jw_obj(w);
		jw_kstr(w, "hostname", j->rr->dns[i].hostname);
		jw_kstr(w, "route", j->rr->dns[i].route);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	if (jw_result(w, &buf, &len) == 0) {
		j->step = GW_DNS;
		j->reqid = rec_request(r, REC_PEER_DNS, MSG_DNS_SYNC, j->key,
		    GW_DNS, buf, len, REC_DNS_TIMEOUT_MS);
	}
	jw_free(&w);
	if (j->reqid == 0)
		gw_fail(r, j, GW_RETRY, NULL, "cannot send DNS_SYNC");
}

static void
gw_dns_condition(struct gw_job *j, struct conds *c)
{
	yajl_val	 z;
	size_t		 i, off = 0;
	char		 msg[2048];

	if (j->dns_disabled) {
		status_cond_set(c, "DNSManagement", "False", "Disabled",
		    "DNS management is disabled");
		return;
	}
	if (j->zones == NULL) {
		status_cond_set(c, "DNSManagement", "True", "Enabled",
		    "All hostnames");
		return;
	}
	z = json_parse(j->zones, strlen(j->zones), NULL, 0);
	msg[0] = '\0';
	for (i = 0; i < json_len(z) && off < sizeof(msg); i++)
		off += snprintf(msg + off, sizeof(msg) - off, "\n- %s",
		    json_str(json_at(z, i), NULL));
	json_free(&z);
	status_cond_set(c, "DNSManagement", "True", "Enabled",
	    "Allowed zones:%s", msg);
}

static int
gw_listeners_ok(const struct route_result *rr)
{
	size_t	 i, k;

	if (rr->n_listeners == 0)
		return 0;
	for (i = 0; i < rr->n_listeners; i++)
		for (k = 0; k < rr->listeners[i].n_conds; k++)
			if (strcmp(rr->listeners[i].conds[k].type,
			    "Accepted") == 0 &&
			    rr->listeners[i].conds[k].status ==
			    ROUTE_COND_TRUE)
				return 1;
	return 0;
}

/* DNS done: write what the user sees, then wait for the next run. */
static void
gw_step_dns(struct rec *r, struct gw_job *j, yajl_val dnsres)
{
	struct gw_outcome	 o = { .c = { .n = 0 }, .keep_others = 0 };
	yajl_val		 gw, cgp;
	const char		*derr;
	long long		 delay;
	int			 ready;

	if ((gw = store_get(r->store, "Gateway", j->ns, j->name)) == NULL) {
		gw_done(r, j, 0);
		return;
	}
	cgp = store_get(r->store, "CloudflareGatewayParameters", j->ns,
	    json_str(json_path(gw, "spec", "infrastructure", "parametersRef",
	    NULL), "name"));
	gwstatus_routes(r, j, dnsres);
	if (gw_listeners_ok(j->rr))
		status_cond_set(&o.c, "Accepted", "True", "Accepted",
		    "Gateway is accepted");
	else
		status_cond_set(&o.c, "Accepted", "False", "ListenersNotValid",
		    "No listener is valid");
	status_cond_set(&o.c, "Programmed", "True", "Programmed",
	    "Gateway is programmed: tunnel %s, configuration version %lld",
	    j->tunnel_id, j->config_version);
	derr = json_str(dnsres, "error");
	ready = gwstatus_ready(r, j, cgp, &o.c);
	if (derr != NULL) {
		status_cond_set(&o.c, "Ready", "Unknown",
		    "ProgressingWithRetry", "DNS: %s", derr);
		ready = 0;
	}
	gw_dns_condition(j, &o.c);
	j->complete = 1;
	j->dns_failed = derr != NULL;
	gwstatus_gateway(r, j, gw, &o);
	gwstatus_cgs(r, j, gw, cgp, &o);
	r->rotate_dirty = 1;
	gateway_rotation_request(r, j, gw);
	status_conds_free(&o.c);
	if (derr != NULL)
		delay = (long long)queue_backoff(r->queue, j->key);
	else {
		queue_forget(r->queue, j->key);
		delay = ready ? j->every_ms : 30000;
		if (delay > j->every_ms)
			delay = j->every_ms;
	}
	log_info("Gateway %s/%s: reconciled (tunnel %s, %zu hostnames%s)",
	    j->ns, j->name, j->tunnel_id, j->rr->n_dns,
	    ready ? ", ready" : "");
	gw_done(r, j, delay);
}

size_t
gw_job_count(void)
{
	return gw_njobs;
}

struct gw_job *
gw_job_at(size_t i)
{
	return i < gw_njobs ? gw_jobs[i] : NULL;
}

struct gw_job *
gw_job_find(const char *ns, const char *name)
{
	return gw_job_get(ns, name, 0);
}
