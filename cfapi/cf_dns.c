/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Zones and DNS records: zone discovery by walking a hostname's labels
 * (cached, negative answers for a short while), listings with filters and
 * 5,000-record pages, single record writes (a create is retried only after
 * looking whether the first attempt took effect), and batches of at most
 * CF_BATCH_MAX operations per call that fall back to single operations
 * when a chunk fails.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfapi.h"
#include "dnsplan.h"
#include "log.h"

#define CF_ZONE_PER_PAGE	50
#define CF_MAX_PAGES		100

static const char *const cf_dns_filters[] = {
	"type", "name", "name.exact", "name.contains", "name.startswith",
	"name.endswith", "content", "content.exact", "content.contains",
	"comment", "comment.exact", "comment.contains", "comment.startswith",
	"comment.endswith", "comment.present", "comment.absent", "tag",
	"tag.exact", "tag.present", "tag.absent", "tag_match", "match",
	"proxied", "order", "direction", NULL
};

static const char *
cf_zone_id(yajl_val req, struct cf_err *err)
{
	const char	*z = json_str(req, "zone_id");

	if (!cf_id_ok(z)) {
		cf_err_set(err, CF_E_VALIDATION, "request lacks a valid "
		    "\"zone_id\"");
		return NULL;
	}
	return z;
}

static int
cf_host_norm(const char *in, char *out, size_t sz)
{
	size_t	 i, n;

	if (in == NULL || (n = strlen(in)) == 0 || n >= sz || n > 253)
		return -1;
	for (i = 0; i < n; i++) {
		out[i] = (char)tolower((unsigned char)in[i]);
		if (!isalnum((unsigned char)out[i]) && strchr("-._*",
		    out[i]) == NULL)
			return -1;
	}
	if (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

static struct cf_zone *
cf_zone_cache(struct cfapi_state *st, const char *key)
{
	double	 now = ratelimit_now();
	size_t	 i;

	for (i = 0; i < st->nzones; i++)
		if (strcmp(st->zones[i].key, key) == 0) {
			if (st->zones[i].expires > now)
				return &st->zones[i];
			st->zones[i] = st->zones[--st->nzones];
			return NULL;
		}
	return NULL;
}

/*
 * A zone id Cloudflare no longer routes (code 7003: the zone was deleted
 * or moved): forget every cached answer that pointed at it.
 */
void
cf_zone_forget(struct cfapi_state *st, const char *zid)
{
	size_t	 i = 0;

	while (i < st->nzones)
		if (st->zones[i].found && strcmp(st->zones[i].id, zid) == 0)
			st->zones[i] = st->zones[--st->nzones];
		else
			i++;
}

static void
cf_zone_remember(struct cfapi_state *st, const char *key, const char *id,
    const char *name)
{
	struct cf_zone	*z;

	if (st->nzones == CF_MAX_ZONES)
		st->nzones = 0;
	z = &st->zones[st->nzones++];
	snprintf(z->key, sizeof(z->key), "%s", key);
	z->found = id != NULL;
	snprintf(z->id, sizeof(z->id), "%s", id != NULL ? id : "");
	snprintf(z->name, sizeof(z->name), "%s", name != NULL ? name : "");
	z->expires = ratelimit_now() + (id != NULL ? CF_ZONE_TTL_S :
	    CF_ZONE_NEG_TTL_S);
}

/* 1 found (z filled), 0 not a zone, -1 error. */
static int
cf_zone_lookup(struct cfapi_state *st, struct cf_cred *c, const char *cand,
    struct cf_zone *out, struct cf_err *err)
{
	struct cf_http	 h;
	struct cf_zone	*z;
	struct cf_bucket *b;
	char		 key[256], q[512] = "";
	yajl_val	 e;
	size_t		 i;
	int		 found = 0;

	/* Per token, not per account: a token that may not see the zone
	 * must not get another token's cached answer. */
	b = cf_cred_bucket(st, c);
	snprintf(key, sizeof(key), "%02x%02x%02x%02x%02x%02x%02x%02x/%s/%s",
	    b->id[0], b->id[1], b->id[2], b->id[3], b->id[4], b->id[5],
	    b->id[6], b->id[7], c->account_id, cand);
	if ((z = cf_zone_cache(st, key)) != NULL) {
		*out = *z;
		return z->found;
	}
	cf_query_add(q, sizeof(q), "name", cand);
	cf_query_add(q, sizeof(q), "account.id", c->account_id);
	if (cf_call(st, c, "GET", "/zones", q, NULL, 0, "zones.list", &h,
	    err) == -1) {
		cf_http_free(&h);
		return -1;
	}
	for (i = 0; i < json_len(h.resp.result) && !found; i++) {
		e = json_at(h.resp.result, i);
		if (dnsplan_name_eq(json_str(e, "name"), cand) &&
		    cf_id_ok(json_str(e, "id"))) {
			cf_zone_remember(st, key, json_str(e, "id"), cand);
			found = 1;
		}
	}
	if (!found)
		cf_zone_remember(st, key, NULL, NULL);
	cf_http_free(&h);
	*out = *cf_zone_cache(st, key);
	return found;
}

int
cf_op_zone_resolve(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	struct cf_zone	 z;
	const char	*cand;
	char		 host[256];
	size_t		 i;
	int		 r;

	if (cf_host_norm(json_str(req, "hostname"), host, sizeof(host))
	    == -1) {
		cf_err_set(err, CF_E_VALIDATION, "request lacks a valid "
		    "\"hostname\"");
		return -1;
	}
	for (i = 0; (cand = dnsplan_zone_candidate(host, i)) != NULL; i++) {
		if ((r = cf_zone_lookup(st, c, cand, &z, err)) == -1)
			return -1;
		if (r == 1) {
			jw_obj(out);
			jw_kstr(out, "id", z.id);
			jw_kstr(out, "name", z.name);
			jw_obj_end(out);
			return 0;
		}
	}
	cf_err_set(err, CF_E_NOT_FOUND, "no Cloudflare zone for %s in "
	    "account %s", host, c->account_id);
	return -1;
}

int
cf_op_zone_list(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	struct cf_http	 h;
	char		 q[512], pg[16], pp[16];
	yajl_val	 e;
	size_t		 i, n;
	int		 page, last;

	(void)req;
	snprintf(pp, sizeof(pp), "%d", CF_ZONE_PER_PAGE);
	jw_arr(out);
	for (page = 1; page <= CF_MAX_PAGES; page++) {
		q[0] = '\0';
		snprintf(pg, sizeof(pg), "%d", page);
		cf_query_add(q, sizeof(q), "account.id", c->account_id);
		cf_query_add(q, sizeof(q), "page", pg);
		cf_query_add(q, sizeof(q), "per_page", pp);
		if (cf_call(st, c, "GET", "/zones", q, NULL, 0, "zones.list",
		    &h, err) == -1) {
			cf_http_free(&h);
			return -1;
		}
		n = json_len(h.resp.result);
		for (i = 0; i < n; i++) {
			e = json_at(h.resp.result, i);
			jw_obj(out);
			jw_kstr(out, "id", json_str(e, "id"));
			jw_kstr(out, "name", json_str(e, "name"));
			jw_kstr(out, "status", json_str(e, "status"));
			jw_obj_end(out);
		}
		last = (h.resp.total_pages > 0 && page >= h.resp.total_pages) ||
		    n < CF_ZONE_PER_PAGE;
		cf_http_free(&h);
		if (last)
			break;
	}
	jw_arr_end(out);
	return 0;
}

static int
cf_dns_query(yajl_val filters, int page, char *q, size_t sz,
    struct cf_err *err)
{
	const char	*k;
	char		 v[16];
	yajl_val	 fv;
	size_t		 i, j;

	q[0] = '\0';
	for (i = 0; i < json_len(filters) && YAJL_IS_OBJECT(filters); i++) {
		k = json_key_at(filters, i);
		fv = filters->u.object.values[i];
		for (j = 0; cf_dns_filters[j] != NULL; j++)
			if (strcmp(cf_dns_filters[j], k) == 0)
				break;
		if (cf_dns_filters[j] == NULL || (!YAJL_IS_STRING(fv) &&
		    !YAJL_IS_TRUE(fv) && !YAJL_IS_FALSE(fv))) {
			cf_err_set(err, CF_E_VALIDATION, "unsupported DNS "
			    "filter \"%.64s\"", k);
			return -1;
		}
		if (cf_query_add(q, sz, k, YAJL_IS_STRING(fv) ?
		    fv->u.string : YAJL_IS_TRUE(fv) ? "true" : "false") == -1)
			goto toolong;
	}
	snprintf(v, sizeof(v), "%d", page);
	if (cf_query_add(q, sz, "page", v) == -1)
		goto toolong;
	snprintf(v, sizeof(v), "%d", CF_DNS_PER_PAGE);
	if (cf_query_add(q, sz, "per_page", v) == -1)
		goto toolong;
	return 0;
toolong:
	cf_err_set(err, CF_E_VALIDATION, "DNS filters too long");
	return -1;
}

int
cf_op_dns_list(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	struct cf_http	 h;
	const char	*zid;
	char		 path[128], q[2048];
	size_t		 i, n;
	int		 page, last;

	if ((zid = cf_zone_id(req, err)) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/zones/%s/dns_records", zid);
	jw_arr(out);
	for (page = 1; page <= CF_MAX_PAGES; page++) {
		if (cf_dns_query(json_get(req, "filters"), page, q, sizeof(q),
		    err) == -1)
			return -1;
		if (cf_call(st, c, "GET", path, q, NULL, 0, "dns_records.list",
		    &h, err) == -1) {
			cf_http_free(&h);
			return -1;
		}
		n = json_len(h.resp.result);
		for (i = 0; i < n; i++)
			jw_val(out, json_at(h.resp.result, i));
		last = (h.resp.total_pages > 0 && page >= h.resp.total_pages) ||
		    n < CF_DNS_PER_PAGE;
		cf_http_free(&h);
		if (last)
			break;
	}
	jw_arr_end(out);
	return 0;
}

/* JSON text of obj without its "id" (single writes put it in the path). */
static char *
cf_body_without_id(yajl_val obj)
{
	struct jw	*j;
	char		*s;
	size_t		 i;

	if ((j = jw_new()) == NULL)
		return NULL;
	jw_obj(j);
	for (i = 0; i < json_len(obj); i++) {
		if (strcmp(json_key_at(obj, i), "id") == 0)
			continue;
		jw_key(j, json_key_at(obj, i));
		jw_val(j, obj->u.object.values[i]);
	}
	jw_obj_end(j);
	s = jw_take(j, NULL);
	jw_free(&j);
	return s;
}

/*
 * After an ambiguous or conflicting create: is an identical record there
 * already (same name, type, content and comment)?  Its object, or NULL.
 */
static yajl_val
cf_dns_find_same(struct cfapi_state *st, struct cf_cred *c, const char *zid,
    yajl_val rec, struct cf_http *h, struct cf_err *err)
{
	struct cf_err	 e2;
	char		 path[128], q[1024] = "";
	const char	*cm = json_str(rec, "comment");
	yajl_val	 r;
	size_t		 i;

	snprintf(path, sizeof(path), "/zones/%s/dns_records", zid);
	if (cf_query_add(q, sizeof(q), "name.exact", json_str(rec, "name"))
	    == -1 || cf_query_add(q, sizeof(q), "type", json_str(rec, "type"))
	    == -1 || cf_call(st, c, "GET", path, q, NULL, 0,
	    "dns_records.list", h, &e2) == -1)
		return NULL;
	for (i = 0; i < json_len(h->resp.result); i++) {
		r = json_at(h->resp.result, i);
		if (dnsplan_name_eq(json_str(r, "content"),
		    json_str(rec, "content")) && (cm == NULL ||
		    (json_str(r, "comment") != NULL &&
		    strcmp(json_str(r, "comment"), cm) == 0))) {
			err->kind = CF_E_NONE;
			return r;
		}
	}
	return NULL;
}

/*
 * One record write.  kind: DNSPLAN_POST, DNSPLAN_PATCH, DNSPLAN_DELETE,
 * or -1 for PUT.  On success *res points into *keep (free it after use).
 */
int
cf_dns_write(struct cfapi_state *st, struct cf_cred *c, const char *zid,
    int kind, yajl_val rec, const char *id, struct cf_http *keep,
    yajl_val *res, struct cf_err *err)
{
	char		 path[192], *body = NULL;
	const char	*m;
	int		 rc, retry, again = 0;

	*res = NULL;
	memset(keep, 0, sizeof(*keep));
	if (kind != DNSPLAN_POST && !cf_id_ok(id)) {
		cf_err_set(err, CF_E_VALIDATION, "record operation lacks a "
		    "valid \"id\"");
		return -1;
	}
	if (kind != DNSPLAN_DELETE && (rec == NULL || !YAJL_IS_OBJECT(rec) ||
	    (body = cf_body_without_id(rec)) == NULL)) {
		cf_err_set(err, CF_E_VALIDATION, "record operation lacks a "
		    "record object");
		return -1;
	}
	snprintf(path, sizeof(path), "/zones/%s/dns_records%s%s", zid,
	    kind == DNSPLAN_POST ? "" : "/", kind == DNSPLAN_POST ? "" : id);
	m = kind == DNSPLAN_POST ? "POST" : kind == DNSPLAN_PATCH ? "PATCH" :
	    kind == DNSPLAN_DELETE ? "DELETE" : "PUT";
	for (;;) {
		rc = cf_call(st, c, m, path, NULL, body, kind == DNSPLAN_POST ?
		    CF_F_UNSAFE : 0, kind == DNSPLAN_POST ?
		    "dns_records.create" : kind == DNSPLAN_DELETE ?
		    "dns_records.delete" : "dns_records.update", keep, err);
		if (rc == 0) {
			*res = keep->resp.result;
			break;
		}
		if (kind == DNSPLAN_DELETE && err->kind == CF_E_NOT_FOUND) {
			err->kind = CF_E_NONE;	/* already gone */
			rc = 0;
			break;
		}
		if (kind != DNSPLAN_POST || (!keep->maybe_sent &&
		    err->kind != CF_E_CONFLICT))
			break;
		/* Did the create take (lost reply) or exist already? */
		retry = keep->maybe_sent && err->kind != CF_E_CONFLICT;
		cf_http_free(keep);
		if ((*res = cf_dns_find_same(st, c, zid, rec, keep, err))
		    != NULL) {
			rc = 0;
			break;
		}
		if (!retry || again++ >= 2)
			break;
		/* It did not take: a retry cannot duplicate it now. */
		cf_http_free(keep);
		cf_metric_retry(st, CF_RETRY_LOOKUP);
	}
	free(body);
	return rc;
}

static int
cf_dns_single(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    int kind, struct jw *out, struct cf_err *err)
{
	struct cf_http	 keep;
	yajl_val	 res;
	const char	*zid;
	int		 rc;

	if ((zid = cf_zone_id(req, err)) == NULL)
		return -1;
	rc = cf_dns_write(st, c, zid, kind, json_get(req, "record"),
	    json_str(req, "id"), &keep, &res, err);
	if (rc == 0) {
		if (res != NULL && kind != DNSPLAN_DELETE)
			jw_val(out, res);
		else {
			jw_obj(out);
			jw_obj_end(out);
		}
	}
	cf_http_free(&keep);
	return rc;
}

int
cf_op_dns_create(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	return cf_dns_single(st, c, req, DNSPLAN_POST, out, err);
}

int
cf_op_dns_update(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	return cf_dns_single(st, c, req, -1, out, err);
}

int
cf_op_dns_patch(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	return cf_dns_single(st, c, req, DNSPLAN_PATCH, out, err);
}

int
cf_op_dns_delete(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	return cf_dns_single(st, c, req, DNSPLAN_DELETE, out, err);
}
