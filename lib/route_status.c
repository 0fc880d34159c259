/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_status: the condition lists the compiler produces, their JSON
 * rendering for status patches and `cfgwctl plan -o status`, and freeing
 * a result.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "route_priv.h"

const char *
route_cond_status_name(enum route_cond_status s)
{
	switch (s) {
	case ROUTE_COND_TRUE:
		return "True";
	case ROUTE_COND_FALSE:
		return "False";
	default:
		return "Unknown";
	}
}

struct route_cond *
rt_cond_add(struct rt_ctx *c, struct route_cond **conds, size_t *n,
    const char *type, enum route_cond_status st, const char *reason,
    const char *fmt, ...)
{
	struct route_cond	*a, *cd;
	va_list			 ap;
	char			*msg;

	if ((a = rt_reallocarray(c, *conds, *n + 1, sizeof(*a))) == NULL)
		return NULL;
	*conds = a;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		c->oom = 1;
		msg = NULL;
	}
	va_end(ap);
	cd = &a[(*n)++];
	cd->type = type;
	cd->status = st;
	cd->reason = reason;
	cd->message = msg;
	return cd;
}

void
rt_dropped_add(struct rt_ctx *c, struct rt_route *rt, size_t rule,
    long long match, const char *reason, const char *fmt, ...)
{
	struct route_status	*st = rt->st;
	struct route_dropped	*a, *d;
	va_list			 ap;
	char			*msg;

	a = rt_reallocarray(c, st->dropped, st->n_dropped + 1, sizeof(*a));
	if (a == NULL)
		return;
	st->dropped = a;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		c->oom = 1;
		msg = NULL;
	}
	va_end(ap);
	d = &a[st->n_dropped++];
	d->rule = rule;
	d->match = match;
	d->reason = reason;
	d->message = msg;
	d->kept = 0;
}

static void
conds_free(struct route_cond *conds, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(conds[i].message);
	free(conds);
}

static void
status_free(struct route_status *st)
{
	struct route_parent_status	*p;
	size_t				 i;

	for (i = 0; i < st->n_parents; i++) {
		p = &st->parents[i];
		free(p->ref.group);
		free(p->ref.kind);
		free(p->ref.namespace);
		free(p->ref.name);
		free(p->ref.section_name);
		conds_free(p->conds, p->n_conds);
	}
	free(st->parents);
	for (i = 0; i < st->n_dropped; i++)
		free(st->dropped[i].message);
	free(st->dropped);
	free(st->namespace);
	free(st->name);
}

void
route_result_free(struct route_result **pr)
{
	struct route_result	*r = *pr;
	size_t			 i;

	if (r == NULL)
		return;
	free(r->table);
	free(r->generation);
	free(r->tunnel);
	for (i = 0; i < r->n_dns; i++) {
		free(r->dns[i].hostname);
		free(r->dns[i].route);
	}
	free(r->dns);
	for (i = 0; i < r->n_listeners; i++) {
		free(r->listeners[i].name);
		free(r->listeners[i].supported_kinds);
		conds_free(r->listeners[i].conds, r->listeners[i].n_conds);
	}
	free(r->listeners);
	for (i = 0; i < r->n_routes; i++)
		status_free(&r->routes[i]);
	free(r->routes);
	free(r);
	*pr = NULL;
}

static void
conds_emit(struct jw *w, const struct route_cond *conds, size_t n)
{
	size_t	 i;

	jw_arr(w);
	for (i = 0; i < n; i++) {
		jw_obj(w);
		jw_kstr(w, "type", conds[i].type);
		jw_kstr(w, "status", route_cond_status_name(conds[i].status));
		jw_kstr(w, "reason", conds[i].reason);
		jw_kstr(w, "message", conds[i].message != NULL ?
		    conds[i].message : "");
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void
parent_ref_emit(struct jw *w, const struct route_parent_ref *ref)
{
	jw_obj(w);
	if (ref->group != NULL)
		jw_kstr(w, "group", ref->group);
	if (ref->kind != NULL)
		jw_kstr(w, "kind", ref->kind);
	if (ref->namespace != NULL)
		jw_kstr(w, "namespace", ref->namespace);
	jw_kstr(w, "name", ref->name);
	if (ref->section_name != NULL)
		jw_kstr(w, "sectionName", ref->section_name);
	if (ref->port >= 0)
		jw_kint(w, "port", ref->port);
	jw_obj_end(w);
}

static void
route_status_emit(struct jw *w, const struct route_status *st,
    const char *cn)
{
	size_t	 i;

	jw_obj(w);
	jw_kstr(w, "kind", st->kind);
	jw_kstr(w, "namespace", st->namespace);
	jw_kstr(w, "name", st->name);
	jw_kint(w, "generation", st->generation);
	jw_key(w, "parents");
	jw_arr(w);
	for (i = 0; i < st->n_parents; i++) {
		jw_obj(w);
		jw_key(w, "parentRef");
		parent_ref_emit(w, &st->parents[i].ref);
		jw_kstr(w, "controllerName", cn);
		jw_key(w, "conditions");
		conds_emit(w, st->parents[i].conds, st->parents[i].n_conds);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "dropped");
	jw_arr(w);
	for (i = 0; i < st->n_dropped; i++) {
		jw_obj(w);
		jw_kint(w, "rule", (long long)st->dropped[i].rule);
		if (st->dropped[i].match >= 0)
			jw_kint(w, "match", st->dropped[i].match);
		else
			jw_kstr(w, "match", NULL);
		jw_kstr(w, "reason", st->dropped[i].reason);
		jw_kstr(w, "message", st->dropped[i].message);
		if (st->dropped[i].kept)
			jw_kbool(w, "kept", 1);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

char *
route_result_status_json(const struct route_result *r, const char *cn,
    size_t *len)
{
	const struct route_listener_status	*l;
	struct jw				*w;
	char					*out;
	size_t					 i, k;

	if (cn == NULL)
		cn = ROUTE_DEFAULT_CONTROLLER;
	if ((w = jw_new()) == NULL)
		return NULL;
	jw_obj(w);
	jw_key(w, "listeners");
	jw_arr(w);
	for (i = 0; i < r->n_listeners; i++) {
		l = &r->listeners[i];
		jw_obj(w);
		jw_kstr(w, "name", l->name);
		jw_kint(w, "attachedRoutes", l->attached_routes);
		jw_key(w, "supportedKinds");
		jw_arr(w);
		for (k = 0; k < l->n_supported_kinds; k++) {
			jw_obj(w);
			jw_kstr(w, "group", RT_GROUP);
			jw_kstr(w, "kind", l->supported_kinds[k]);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_key(w, "conditions");
		conds_emit(w, l->conds, l->n_conds);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "routes");
	jw_arr(w);
	for (i = 0; i < r->n_routes; i++)
		route_status_emit(w, &r->routes[i], cn);
	jw_arr_end(w);
	jw_obj_end(w);
	out = jw_take(w, len);
	jw_free(&w);
	return out;
}
