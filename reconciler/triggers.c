/* SPDX-License-Identifier: Apache-2.0 */
/*
 * triggers: which keys a changed object puts on the work queue.  Status
 * writes of our own come back as deltas too; they must not start a new
 * run, so Gateways and routes count only when their generation,
 * annotations, finalizers or deletion change.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "queue.h"
#include "log.h"
#include "reconciler.h"
#include "status.h"
#include "store.h"

#define TRIG_DELAY_MS	100	/* coalesce bursts of events */

static long long
trig_gen(yajl_val o)
{
	long long	 g = -1;

	(void)json_int(json_get(o, "metadata"), "generation", &g);
	return g;
}

static int
trig_same(yajl_val a, yajl_val b, const char *k1, const char *k2)
{
	return status_json_equal(json_path(a, k1, k2, NULL),
	    json_path(b, k1, k2, NULL));
}

/* Spec-level change: new, gone, generation, annotations, deletion. */
static int
trig_meta_changed(yajl_val old, yajl_val obj)
{
	if (old == NULL || obj == NULL)
		return 1;
	return trig_gen(old) != trig_gen(obj) ||
	    !trig_same(old, obj, "metadata", "annotations") ||
	    !trig_same(old, obj, "metadata", "finalizers") ||
	    !trig_same(old, obj, "metadata", "deletionTimestamp") ||
	    !trig_same(old, obj, "metadata", "uid");
}

static void
trig_gateways(struct rec *r, const char *ns, const char *cls)
{
	yajl_val	 gw;
	const char	*c, *gns;
	size_t		 i;

	for (i = 0; i < store_count(r->store, "Gateway"); i++) {
		gw = store_at(r->store, "Gateway", i);
		c = json_str(json_get(gw, "spec"), "gatewayClassName");
		gns = json_str(json_get(gw, "metadata"), "namespace");
		if (ns != NULL && (gns == NULL || strcmp(ns, gns) != 0))
			continue;
		if (cls != NULL && (c == NULL || strcmp(c, cls) != 0))
			continue;
		if (!gatewayclass_ours(store_get(r->store, "GatewayClass",
		    NULL, c)) && json_path(gw, "metadata", "deletionTimestamp",
		    NULL) == NULL)
			continue;
		rec_enqueue_gateway(r, json_str(json_get(gw, "metadata"),
		    "namespace"), json_str(json_get(gw, "metadata"), "name"),
		    TRIG_DELAY_MS);
	}
}

static void
trig_class(struct rec *r, const char *name)
{
	char	 key[300];

	if (name != NULL && strlen(name) < 250) {
		snprintf(key, sizeof(key), "GatewayClass/%s", name);
		rec_enqueue(r, key, TRIG_DELAY_MS);
	}
}

static void
trig_classes(struct rec *r, const char *sns, const char *sname)
{
	yajl_val	 gc, pr;
	size_t		 i;

	for (i = 0; i < store_count(r->store, "GatewayClass"); i++) {
		gc = store_at(r->store, "GatewayClass", i);
		if (!gatewayclass_ours(gc))
			continue;
		pr = json_path(gc, "spec", "parametersRef", NULL);
		if (sname != NULL && (json_str(pr, "name") == NULL ||
		    json_str(pr, "namespace") == NULL ||
		    strcmp(json_str(pr, "name"), sname) != 0 ||
		    strcmp(json_str(pr, "namespace"), sns) != 0))
			continue;
		trig_class(r, json_str(json_get(gc, "metadata"), "name"));
	}
}

/* Every Gateway a route names, in spec or in our status entries. */
static void
trig_route_parents(struct rec *r, yajl_val rt)
{
	yajl_val	 refs, p;
	const char	*rns, *ns, *kind, *cn;
	size_t		 i;

	if (rt == NULL)
		return;
	rns = json_str(json_get(rt, "metadata"), "namespace");
	refs = json_path(rt, "spec", "parentRefs", NULL);
	for (i = 0; i < json_len(refs); i++) {
		p = json_at(refs, i);
		kind = json_str(p, "kind");
		if (kind != NULL && strcmp(kind, "Gateway") != 0)
			continue;
		ns = json_str(p, "namespace");
		rec_enqueue_gateway(r, ns != NULL ? ns : rns,
		    json_str(p, "name"), TRIG_DELAY_MS);
	}
	refs = json_path(rt, "status", "parents", NULL);
	for (i = 0; i < json_len(refs); i++) {
		p = json_at(refs, i);
		cn = json_str(p, "controllerName");
		if (cn == NULL || strcmp(cn, REC_CONTROLLER) != 0)
			continue;
		ns = json_str(json_get(p, "parentRef"), "namespace");
		rec_enqueue_gateway(r, ns != NULL ? ns : rns,
		    json_str(json_get(p, "parentRef"), "name"),
		    TRIG_DELAY_MS);
	}
}

static void
trig_ready(struct rec *r, const char *ns, const char *name)
{
	char	 key[QUEUE_KEY_MAX];

	if (ns == NULL || name == NULL || snprintf(key, sizeof(key),
	    "Ready/%s/%s", ns, name) >= (int)sizeof(key))
		return;
	rec_enqueue(r, key, TRIG_DELAY_MS);
}

/* The Gateway that controls an owned object; ready_only: just Ready. */
static void
trig_owner(struct rec *r, yajl_val o, int ready_only)
{
	yajl_val	 refs = json_path(o, "metadata", "ownerReferences",
			    NULL), ref;
	const char	*kind;
	size_t		 i;
	int		 ctl = 0;

	for (i = 0; i < json_len(refs); i++) {
		ref = json_at(refs, i);
		kind = json_str(ref, "kind");
		if (kind == NULL || strcmp(kind, "Gateway") != 0 ||
		    json_bool(ref, "controller", &ctl) == -1 || !ctl)
			continue;
		if (ready_only)
			trig_ready(r, json_str(json_get(o, "metadata"),
			    "namespace"), json_str(ref, "name"));
		else
			rec_enqueue_gateway(r, json_str(json_get(o,
			    "metadata"), "namespace"), json_str(ref, "name"),
			    TRIG_DELAY_MS);
	}
}

static void
trig_gatewayclass(struct rec *r, yajl_val old, yajl_val obj)
{
	yajl_val	 o = obj != NULL ? obj : old;
	const char	*name = json_str(json_get(o, "metadata"), "name");

	if (!gatewayclass_ours(old) && !gatewayclass_ours(obj))
		return;
	if (trig_meta_changed(old, obj) ||
	    !trig_same(old, obj, "spec", "parametersRef"))
		trig_class(r, name);
	if (old == NULL || obj == NULL ||
	    status_cond_true(json_path(old, "status", "conditions", NULL),
	    "Accepted") != status_cond_true(json_path(obj, "status",
	    "conditions", NULL), "Accepted"))
		trig_gateways(r, NULL, name);
}

void
triggers_changed(struct rec *r, const char *kind, yajl_val old,
    yajl_val obj)
{
	yajl_val	 o = obj != NULL ? obj : old;
	const char	*ns = json_str(json_get(o, "metadata"), "namespace");
	const char	*name = json_str(json_get(o, "metadata"), "name");

	if (o == NULL || name == NULL)
		return;
	if (strcmp(kind, "GatewayClass") == 0)
		trig_gatewayclass(r, old, obj);
	else if (strcmp(kind, "Gateway") == 0) {
		if (trig_meta_changed(old, obj))
			rec_enqueue_gateway(r, ns, name, TRIG_DELAY_MS);
	} else if (strcmp(kind, "HTTPRoute") == 0 ||
	    strcmp(kind, "GRPCRoute") == 0) {
		if (trig_meta_changed(old, obj)) {
			trig_route_parents(r, old);
			trig_route_parents(r, obj);
		}
	} else if (strcmp(kind, "Service") == 0) {
		if (old == NULL || obj == NULL || !trig_same(old, obj, "spec",
		    "ports") || !trig_same(old, obj, "spec", "type"))
			trig_gateways(r, NULL, NULL);
	} else if (strcmp(kind, "ReferenceGrant") == 0 ||
	    strcmp(kind, "Namespace") == 0) {
		if (trig_meta_changed(old, obj) ||
		    !trig_same(old, obj, "metadata", "labels"))
			trig_gateways(r, NULL, NULL);
	} else if (strcmp(kind, "Secret") == 0) {
		if (old == NULL || obj == NULL || !trig_same(old, obj,
		    "metadata", "resourceVersion"))
			trig_classes(r, ns, name);
	} else if (strcmp(kind, "CloudflareGatewayParameters") == 0) {
		if (trig_meta_changed(old, obj))
			trig_gateways(r, ns, NULL);
	} else if (strcmp(kind, "Deployment") == 0) {
		if (obj == NULL || old == NULL ||
		    !trig_same(old, obj, "status", "readyReplicas") ||
		    !trig_same(old, obj, "status", "updatedReplicas") ||
		    !trig_same(old, obj, "status", "observedGeneration") ||
		    !trig_same(old, obj, "status", "conditions"))
			trig_owner(r, o, obj != NULL && old != NULL);
	} else if (strcmp(kind, "ConfigMap") == 0) {
		if (obj == NULL)
			trig_owner(r, o, 0);
	} else if (strcmp(kind, "CustomResourceDefinition") == 0)
		trig_classes(r, NULL, NULL);
}

void
triggers_all(struct rec *r)
{
	trig_classes(r, NULL, NULL);
	trig_gateways(r, NULL, NULL);
}
