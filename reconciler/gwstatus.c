/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gwstatus: what a user sees of a Gateway's reconcile: the Gateway's
 * conditions, listeners and address, our entries in the routes'
 * status.parents (other controllers' entries are never touched), the
 * CloudflareGatewayStatus, and readiness from the tunnel Deployments.
 * Every write is skipped when the result equals what is there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwjob.h"
#include "json.h"
#include "log.h"
#include "owned.h"
#include "reconciler.h"
#include "route.h"
#include "status.h"
#include "store.h"
#include "timefmt.h"

static int	gws_route_write(struct rec *, struct gw_job *,
		    const char *kind, yajl_val obj,
		    const struct route_status *, yajl_val dnsres);

/* Convert the compiler's conditions into ours. */
static void
gws_conds_from_route(struct conds *c, const struct route_cond *rc, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		status_cond_set(c, rc[i].type,
		    route_cond_status_name(rc[i].status), rc[i].reason, "%s",
		    rc[i].message != NULL ? rc[i].message : "");
}

static yajl_val
gws_find_listener(yajl_val listeners, const char *name)
{
	size_t	 i;

	for (i = 0; i < json_len(listeners); i++) {
		const char *n = json_str(json_at(listeners, i), "name");

		if (n != NULL && strcmp(n, name) == 0)
			return json_at(listeners, i);
	}
	return NULL;
}

static void
gws_write_listeners(struct jw *w, const struct route_result *rr,
    yajl_val old, long long gen, const char *now)
{
	const struct route_listener_status	*l;
	struct conds				 c;
	size_t					 i, k;

	jw_arr(w);
	for (i = 0; i < rr->n_listeners; i++) {
		l = &rr->listeners[i];
		jw_obj(w);
		jw_kstr(w, "name", l->name);
		jw_key(w, "supportedKinds");
		jw_arr(w);
		for (k = 0; k < l->n_supported_kinds; k++) {
			jw_obj(w);
			jw_kstr(w, "group", REC_GW_GROUP);
			jw_kstr(w, "kind", l->supported_kinds[k]);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_kint(w, "attachedRoutes", l->attached_routes);
		memset(&c, 0, sizeof(c));
		gws_conds_from_route(&c, l->conds, l->n_conds);
		jw_key(w, "conditions");
		status_write_conds(w, json_get(gws_find_listener(old, l->name),
		    "conditions"), &c, gen, now, 0);
		status_conds_free(&c);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* Patch status paths of obj that differ; body is {"status":{...}}. */
static int
gws_patch_if_changed(struct rec *r, const char *kind, const char *ns,
    const char *name, yajl_val old, struct jw *w)
{
	yajl_val	 mine, st;
	const char	*buf;
	size_t		 len, i;
	char		 err[512];
	int		 same = 1;

	if (jw_result(w, &buf, &len) == -1 ||
	    (mine = json_parse(buf, len, NULL, 0)) == NULL)
		return -1;
	st = json_get(mine, "status");
	for (i = 0; i < json_len(st); i++)
		if (!status_json_equal(st->u.object.values[i],
		    json_get(old, st->u.object.keys[i])))
			same = 0;
	json_free(&mine);
	if (same)
		return 0;
	if (kio_merge(r, kind, ns, name, buf, len, 1, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	log_debug("%s %s/%s: status written", kind, ns ? ns : "", name);
	return 1;
}

/* An Event when Ready changes status or reason. */
static void
gws_event(struct rec *r, yajl_val gw, const struct conds *c)
{
	const struct cond	*rd = status_cond_get(c, "Ready");
	yajl_val		 old;
	const char		*os, *orsn;

	if (rd == NULL)
		return;
	old = status_cond_find(json_path(gw, "status", "conditions", NULL),
	    "Ready");
	os = json_str(old, "status");
	orsn = json_str(old, "reason");
	if (os != NULL && orsn != NULL && strcmp(os, rd->status) == 0 &&
	    strcmp(orsn, rd->reason) == 0)
		return;
	events_emit(r, gw, "gateway.networking.k8s.io/v1", "Gateway",
	    strcmp(rd->status, "False") == 0 ||
	    strcmp(rd->reason, "ProgressingWithRetry") == 0 ? "Warning" :
	    "Normal", rd->reason, "Ready=%s: %s", rd->status,
	    rd->message != NULL ? rd->message : "");
}

void
gwstatus_gateway(struct rec *r, struct gw_job *j, yajl_val gw,
    const struct gw_outcome *o)
{
	struct jw	*w;
	yajl_val	 old = json_get(gw, "status");
	long long	 gen = 0;
	char		 now[32], addr[GW_ID_MAX + 32];

	if ((w = jw_new()) == NULL)
		return;
	(void)json_int(json_get(gw, "metadata"), "generation", &gen);
	status_now(now, sizeof(now));
	jw_obj(w);
	jw_key(w, "status");
	jw_obj(w);
	jw_key(w, "conditions");
	status_write_conds(w, json_get(old, "conditions"), &o->c, gen, now,
	    o->keep_others);
	if (!o->keep_others && j->rr != NULL) {
		jw_key(w, "listeners");
		gws_write_listeners(w, j->rr, json_get(old, "listeners"), gen,
		    now);
	}
	if (j->tunnel_id[0] != '\0' && !o->keep_others) {
		snprintf(addr, sizeof(addr), "%s.cfargotunnel.com",
		    j->tunnel_id);
		jw_key(w, "addresses");
		jw_arr(w);
		jw_obj(w);
		jw_kstr(w, "type", "Hostname");
		jw_kstr(w, "value", addr);
		jw_obj_end(w);
		jw_arr_end(w);
	}
	jw_obj_end(w);
	jw_obj_end(w);
	if (gws_patch_if_changed(r, "Gateway", j->ns, j->name, old, w) == 1)
		gws_event(r, gw, &o->c);
	jw_free(&w);
}

/* Is p (a status.parents entry) ours and for this Gateway? */
static int
gws_parent_is_ours(yajl_val p, const char *route_ns, const struct gw_job *j)
{
	const char	*cn, *name, *ns, *kind;

	cn = json_str(p, "controllerName");
	name = json_str(json_get(p, "parentRef"), "name");
	ns = json_str(json_get(p, "parentRef"), "namespace");
	kind = json_str(json_get(p, "parentRef"), "kind");
	if (ns == NULL)
		ns = route_ns;
	return cn != NULL && strcmp(cn, REC_CONTROLLER) == 0 &&
	    name != NULL && strcmp(name, j->name) == 0 &&
	    strcmp(ns, j->ns) == 0 &&
	    (kind == NULL || strcmp(kind, "Gateway") == 0);
}

/*
 * The parentRef as the user wrote it, with the group and kind defaults
 * filled in: the API server defaults them in status too, and writing
 * them keeps our comparison stable.
 */
static void
gws_write_parent_ref(struct jw *w, const struct route_parent_ref *p)
{
	jw_obj(w);
	jw_kstr(w, "group", p->group != NULL ? p->group : REC_GW_GROUP);
	jw_kstr(w, "kind", p->kind != NULL ? p->kind : "Gateway");
	if (p->namespace != NULL)
		jw_kstr(w, "namespace", p->namespace);
	jw_kstr(w, "name", p->name);
	if (p->section_name != NULL)
		jw_kstr(w, "sectionName", p->section_name);
	if (p->port >= 0)
		jw_kint(w, "port", p->port);
	jw_obj_end(w);
}

/* Our previous entry for the same parentRef, for lastTransitionTime. */
static yajl_val
gws_old_entry(yajl_val parents, const char *route_ns, const struct gw_job *j,
    const struct route_parent_ref *ref)
{
	yajl_val	 p, pr;
	const char	*sn;
	long long	 port = -1;
	size_t		 i;

	for (i = 0; i < json_len(parents); i++) {
		p = json_at(parents, i);
		if (!gws_parent_is_ours(p, route_ns, j))
			continue;
		pr = json_get(p, "parentRef");
		sn = json_str(pr, "sectionName");
		port = -1;
		(void)json_int(pr, "port", &port);
		if ((sn == NULL) != (ref->section_name == NULL) ||
		    (sn != NULL && strcmp(sn, ref->section_name) != 0) ||
		    port != ref->port)
			continue;
		return p;
	}
	return NULL;
}

static int
gws_in(yajl_val arr, const char *h)
{
	size_t	 i;

	for (i = 0; i < json_len(arr); i++) {
		const char *s = json_str(json_at(arr, i), NULL);

		if (s != NULL && strcmp(s, h) == 0)
			return 1;
	}
	return 0;
}

static const char *
gws_conflict(yajl_val conflicts, const char *h)
{
	size_t	 i;

	for (i = 0; i < json_len(conflicts); i++) {
		const char *s = json_str(json_at(conflicts, i), "hostname");

		if (s != NULL && strcmp(s, h) == 0) {
			s = json_str(json_at(conflicts, i), "message");
			return s != NULL ? s : "record owned by someone else";
		}
	}
	return NULL;
}

static void
gws_append(char **buf, const char *head, const char *h, const char *extra)
{
	char	*n = NULL;

	if (asprintf(&n, "%s%s\n- %s%s%s", *buf != NULL ? *buf : "",
	    *buf == NULL ? head : "", h, extra ? ": " : "",
	    extra ? extra : "") == -1)
		return;
	free(*buf);
	*buf = n;
}

/*
 * DNSRecordsApplied for one route from the DNS result: the hostnames the
 * compiler attributed to it, split into applied, skipped and conflicting.
 * A conflict rejects the route (Accepted=False) with the reason.
 */
static void
gws_dns_conds(struct gw_job *j, const char *rkey, yajl_val dnsres,
    struct conds *c)
{
	const struct cond	*acc = status_cond_get(c, "Accepted");
	const char		*derr, *why;
	char			*app = NULL, *skip = NULL, *conf = NULL;
	size_t			 i;

	if (j->dns_disabled || acc == NULL || strcmp(acc->status, "True"))
		return;
	if (dnsres == NULL || (derr = json_str(dnsres, "error")) != NULL) {
		status_cond_set(c, "DNSRecordsApplied", "Unknown",
		    "ProgressingWithRetry", "%s", dnsres == NULL ?
		    "DNS not reconciled yet" : derr);
		return;
	}
	for (i = 0; i < j->rr->n_dns; i++) {
		const char *h = j->rr->dns[i].hostname;

		if (strcmp(j->rr->dns[i].route, rkey) != 0)
			continue;
		if ((why = gws_conflict(json_get(dnsres, "conflicts"), h)))
			gws_append(&conf, "", h, why);
		else if (gws_in(json_get(dnsres, "skipped"), h))
			gws_append(&skip, "", h, NULL);
		else if (gws_in(json_get(dnsres, "applied"), h))
			gws_append(&app, "", h, NULL);
	}
	if (conf != NULL) {
		status_cond_set(c, "Accepted", "False", "UnsupportedValue",
		    "Conflicting hostname (DNS record owned by someone "
		    "else):%s", conf);
		status_cond_set(c, "DNSRecordsApplied", "False",
		    "HostnameConflict", "Conflicting hostnames:%s", conf);
	} else
		status_cond_set(c, "DNSRecordsApplied", "True",
		    "ReconciliationSucceeded", "Applied hostnames:%s%s%s",
		    app != NULL ? app : "\n(none)", skip != NULL ?
		    "\nSkipped hostnames (not in any managed zone):" : "",
		    skip != NULL ? skip : "");
	free(app);
	free(skip);
	free(conf);
}

static void
gws_write_entries(struct jw *w, struct gw_job *j, yajl_val old_parents,
    const char *route_ns, const struct route_status *rs, yajl_val dnsres,
    long long gen, const char *now)
{
	const struct route_parent_status	*ps;
	struct conds				 c;
	char					 rkey[600];
	size_t					 i;

	snprintf(rkey, sizeof(rkey), "%s/%s/%s", rs->kind, rs->namespace,
	    rs->name);
	for (i = 0; i < rs->n_parents; i++) {
		ps = &rs->parents[i];
		memset(&c, 0, sizeof(c));
		gws_conds_from_route(&c, ps->conds, ps->n_conds);
		gws_dns_conds(j, rkey, dnsres, &c);
		jw_obj(w);
		jw_key(w, "parentRef");
		gws_write_parent_ref(w, &ps->ref);
		jw_kstr(w, "controllerName", REC_CONTROLLER);
		jw_key(w, "conditions");
		status_write_conds(w, json_get(gws_old_entry(old_parents,
		    route_ns, j, &ps->ref), "conditions"), &c, gen, now, 0);
		jw_obj_end(w);
		status_conds_free(&c);
	}
}

/*
 * Rewrite status.parents of one route: everyone else's entries as they
 * are, ours for this Gateway replaced (rs) or dropped (rs NULL).  The
 * patch carries the resourceVersion: a concurrent writer makes it fail
 * with a conflict and the caller retries on fresh data.
 */
static int
gws_route_write(struct rec *r, struct gw_job *j, const char *kind,
    yajl_val obj, const struct route_status *rs, yajl_val dnsres)
{
	struct jw	*w;
	yajl_val	 old = json_path(obj, "status", "parents", NULL);
	yajl_val	 md = json_get(obj, "metadata"), mine;
	const char	*ns = json_str(md, "namespace"), *buf;
	const char	*name = json_str(md, "name");
	const char	*rv = json_str(md, "resourceVersion");
	long long	 gen = 0;
	size_t		 i, len;
	char		 now[32], err[512];
	int		 rc = -1, same;

	if (ns == NULL || name == NULL || (w = jw_new()) == NULL)
		return -1;
	(void)json_int(md, "generation", &gen);
	status_now(now, sizeof(now));
	jw_obj(w);
	jw_key(w, "metadata");
	jw_obj(w);
	jw_kstr(w, "resourceVersion", rv);
	jw_obj_end(w);
	jw_key(w, "status");
	jw_obj(w);
	jw_key(w, "parents");
	jw_arr(w);
	for (i = 0; i < json_len(old); i++)
		if (!gws_parent_is_ours(json_at(old, i), ns, j))
			jw_val(w, json_at(old, i));
	if (rs != NULL)
		gws_write_entries(w, j, old, ns, rs, dnsres, gen, now);
	jw_arr_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	if (jw_result(w, &buf, &len) == 0 &&
	    (mine = json_parse(buf, len, NULL, 0)) != NULL) {
		same = status_json_equal(json_path(mine, "status", "parents",
		    NULL), old) || (old == NULL && json_len(json_path(mine,
		    "status", "parents", NULL)) == 0);
		json_free(&mine);
		if (same)
			rc = 0;
		else if ((rc = kio_merge(r, kind, ns, name, buf, len, 1, err,
		    sizeof(err))) == -1)
			log_warnx("%s", err);
	}
	jw_free(&w);
	return rc;
}

/* One route, with one retry on fresh data after a conflict. */
static int
gws_route(struct rec *r, struct gw_job *j, const char *kind,
    const char *ns, const char *name, const struct route_status *rs,
    yajl_val dnsres)
{
	yajl_val	 obj, fresh;
	char		 err[512];
	int		 nf;

	if ((obj = store_fetch(r->store, kind, ns, name)) == NULL)
		return 0;	/* gone meanwhile */
	nf = gws_route_write(r, j, kind, obj, rs, dnsres);
	yajl_tree_free(obj);
	if (nf == 0)
		return 0;
	if ((fresh = kio_get(r, kind, ns, name, &nf, err,
	    sizeof(err))) == NULL)
		return nf ? 0 : -1;
	nf = gws_route_write(r, j, kind, fresh, rs, dnsres);
	json_free(&fresh);
	return nf;
}

static int
gws_listed(const struct route_result *rr, const char *kind, const char *ns,
    const char *name)
{
	size_t	 i;

	for (i = 0; rr != NULL && i < rr->n_routes; i++)
		if (strcmp(rr->routes[i].kind, kind) == 0 &&
		    strcmp(rr->routes[i].namespace, ns) == 0 &&
		    strcmp(rr->routes[i].name, name) == 0)
			return 1;
	return 0;
}

/* Drop our entries for this Gateway from routes not in rr (all if NULL). */
static int
gws_forget(struct rec *r, struct gw_job *j, const struct route_result *rr)
{
	static const char	*kinds[] = { "HTTPRoute", "GRPCRoute" };
	yajl_val		 obj, parents;
	const char		*ns, *name;
	size_t			 k, i, p;
	int			 rc = 0, ours;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < store_count(r->store, kinds[k]); i++) {
			if (store_key_at(r->store, kinds[k], i, &ns,
			    &name) == -1 || gws_listed(rr, kinds[k], ns, name))
				continue;
			if ((obj = store_load(r->store, kinds[k], i)) == NULL)
				continue;
			parents = json_path(obj, "status", "parents", NULL);
			for (p = 0, ours = 0; p < json_len(parents); p++)
				ours |= gws_parent_is_ours(json_at(parents, p),
				    ns, j);
			yajl_tree_free(obj);
			if (ours && gws_route(r, j, kinds[k], ns, name, NULL,
			    NULL) == -1)
				rc = -1;
		}
	}
	return rc;
}

void
gwstatus_routes(struct rec *r, struct gw_job *j, yajl_val dnsres)
{
	const struct route_status	*rs;
	size_t				 i;

	for (i = 0; i < j->rr->n_routes; i++) {
		rs = &j->rr->routes[i];
		(void)gws_route(r, j, rs->kind, rs->namespace, rs->name, rs,
		    dnsres);
	}
	(void)gws_forget(r, j, j->rr);
}

int
gwstatus_routes_forget(struct rec *r, struct gw_job *j)
{
	return gws_forget(r, j, NULL);
}

int
gwstatus_ready(struct rec *r, struct gw_job *j, yajl_val cgp,
    struct conds *c)
{
	yajl_val	 dep;
	const char	*rep;
	char		 name[OWNED_NAME_MAX + 1], *wait = NULL, *late = NULL;
	size_t		 i, n = rollout_replica_count(cgp);
	int		 dl;

	for (i = 0; i < n; i++) {
		if ((rep = rollout_replica_name(cgp, i)) == NULL ||
		    owned_name(name, sizeof(name), j->name, rep) == -1)
			continue;
		dep = store_get(r->store, "Deployment", j->ns, name);
		if (dep != NULL && rollout_done(dep, j->token_hash, &dl))
			continue;
		if (dep != NULL && dl)
			gws_append(&late, "", rep, NULL);
		else
			gws_append(&wait, "", rep, NULL);
	}
	if (late != NULL)
		status_cond_set(c, "Ready", "False", "ReconciliationFailed",
		    "tunnel deployment(s) exceeded progress deadline:%s",
		    late);
	else if (wait != NULL)
		status_cond_set(c, "Ready", "Unknown", "Progressing",
		    "Waiting for tunnel deployment(s) to become ready:%s",
		    wait);
	else
		status_cond_set(c, "Ready", "True", "ReconciliationSucceeded",
		    "Gateway is ready");
	n = late == NULL && wait == NULL;
	/*
	 * An on-demand rotation is handled once the new token has rolled
	 * out everywhere: only then is lastHandledRotateAt recorded.
	 */
	if (n && j->handled_rotate[0] != '\0' &&
	    strcmp(j->rotated_for, j->handled_rotate) == 0)
		snprintf(j->rotate_done, sizeof(j->rotate_done), "%s",
		    j->handled_rotate);
	free(late);
	free(wait);
	return (int)n;
}

static void
gws_inv(struct jw *w, const char *api, const char *kind, const char *name)
{
	jw_obj(w);
	jw_kstr(w, "apiVersion", api);
	jw_kstr(w, "kind", kind);
	jw_kstr(w, "name", name);
	jw_obj_end(w);
}

static void
gws_write_inventory(struct jw *w, struct gw_job *j, yajl_val cgp)
{
	char		 name[OWNED_NAME_MAX + 1];
	const char	*rep;
	size_t		 i;

	jw_arr(w);
	for (i = 0; i < rollout_replica_count(cgp); i++)
		if ((rep = rollout_replica_name(cgp, i)) != NULL &&
		    owned_name(name, sizeof(name), j->name, rep) == 0)
			gws_inv(w, "apps/v1", "Deployment", name);
	(void)owned_name(name, sizeof(name), j->name, NULL);
	gws_inv(w, "v1", "Secret", name);
	(void)owned_name(name, sizeof(name), j->name, OWNED_SESSION_SUFFIX);
	gws_inv(w, "v1", "Secret", name);
	(void)owned_name(name, sizeof(name), j->name, NULL);
	gws_inv(w, "v1", "ConfigMap", name);
	gws_inv(w, "v1", "ServiceAccount", name);
	gws_inv(w, "rbac.authorization.k8s.io/v1", "Role", name);
	gws_inv(w, "rbac.authorization.k8s.io/v1", "RoleBinding", name);
	jw_arr_end(w);
}

/* Rotation bookkeeping the CGS carries across controller restarts. */
static void
gws_cgs_rotation(struct gw_job *j, yajl_val old, const char *now)
{
	yajl_val	 rot = json_path(old, "tunnel", "token", "rotation",
			    NULL);
	const char	*s;

	if (j->last_rotated_at[0] == '\0') {
		s = json_str(rot, "lastRotatedAt");
		snprintf(j->last_rotated_at, sizeof(j->last_rotated_at), "%s",
		    s != NULL ? s : now);	/* seed: no rotation now */
	}
	if (j->handled_rotate[0] == '\0' &&
	    (s = json_str(rot, "lastHandledRotateAt")) != NULL) {
		snprintf(j->handled_rotate, sizeof(j->handled_rotate), "%s",
		    s);
		snprintf(j->rotate_done, sizeof(j->rotate_done), "%s", s);
		snprintf(j->rotated_for, sizeof(j->rotated_for), "%s", s);
	}
}

static void
gws_write_cgs_tunnel(struct jw *w, struct gw_job *j)
{
	jw_key(w, "tunnel");
	jw_obj(w);
	jw_kstr(w, "name", j->tunnel_name);
	jw_kstr(w, "id", j->tunnel_id);
	jw_key(w, "token");
	jw_obj(w);
	jw_kstr(w, "hash", j->token_hash);
	jw_key(w, "rotation");
	jw_obj(w);
	jw_kstr(w, "lastRotatedAt", j->last_rotated_at);
	if (j->rotate_done[0] != '\0')
		jw_kstr(w, "lastHandledRotateAt", j->rotate_done);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
}

/*
 * A failed run still reports that it handled an on-demand reconcile, so
 * `cfgwctl reconcile --wait` can show the failure instead of timing out.
 */
void
gwstatus_cgs_handled(struct rec *r, struct gw_job *j, yajl_val gw)
{
	struct jw	*w;
	yajl_val	 cgs;
	const char	*req;
	char		 err[512];
	int		 nf;

	req = json_str(json_path(gw, "metadata", "annotations", NULL),
	    REC_ANN_REQUESTED);
	if (req == NULL)
		return;
	cgs = kio_get(r, "CloudflareGatewayStatus", j->ns, j->name, &nf, err,
	    sizeof(err));
	if (cgs == NULL)
		return;
	if ((w = jw_new()) != NULL) {
		jw_obj(w);
		jw_key(w, "status");
		jw_obj(w);
		jw_kstr(w, "lastHandledReconcileAt", req);
		jw_obj_end(w);
		jw_obj_end(w);
		(void)gws_patch_if_changed(r, "CloudflareGatewayStatus", j->ns,
		    j->name, json_get(cgs, "status"), w);
		jw_free(&w);
	}
	json_free(&cgs);
}

void
gwstatus_cgs(struct rec *r, struct gw_job *j, yajl_val gw, yajl_val cgp,
    const struct gw_outcome *o)
{
	struct owned_gw	 og;
	struct jw	*w;
	yajl_val	 cgs, old;
	const char	*req;
	char		 err[512], now[32], *body;
	size_t		 len;
	long long	 gen = 0;
	int		 nf;

	cgs = kio_get(r, "CloudflareGatewayStatus", j->ns, j->name, &nf, err,
	    sizeof(err));
	if (cgs == NULL && !nf) {
		log_warnx("%s", err);
		return;
	}
	if (cgs == NULL) {
		memset(&og, 0, sizeof(og));
		og.ns = j->ns;
		og.name = j->name;
		og.uid = j->uid;
		if ((body = owned_cgs(&og, &len)) == NULL)
			return;
		if (kio_create(r, "CloudflareGatewayStatus", j->ns, body, len,
		    err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			free(body);
			return;
		}
		free(body);
	}
	old = json_get(cgs, "status");
	status_now(now, sizeof(now));
	gws_cgs_rotation(j, old, now);
	(void)json_int(json_get(gw, "metadata"), "generation", &gen);
	if ((w = jw_new()) != NULL) {
		jw_obj(w);
		jw_key(w, "status");
		jw_obj(w);
		jw_key(w, "conditions");
		status_write_conds(w, json_get(old, "conditions"), &o->c, gen,
		    now, o->keep_others);
		gws_write_cgs_tunnel(w, j);
		jw_key(w, "inventory");
		gws_write_inventory(w, j, cgp);
		req = json_str(json_path(gw, "metadata", "annotations", NULL),
		    REC_ANN_REQUESTED);
		if (req != NULL)
			jw_kstr(w, "lastHandledReconcileAt", req);
		jw_obj_end(w);
		jw_obj_end(w);
		(void)gws_patch_if_changed(r, "CloudflareGatewayStatus", j->ns,
		    j->name, old, w);
		jw_free(&w);
	}
	json_free(&cgs);
}
