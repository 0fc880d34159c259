/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns.batch: the four lists of a Cloudflare batch (deletes, patches, puts,
 * posts), sent in chunks of at most CF_BATCH_MAX operations that keep the
 * global order.  A chunk that fails is replayed one operation at a time
 * (creates look before retrying) and every operation's outcome is
 * reported; a chunk that failed for the whole token (rate limit, auth)
 * fails the rest without trying.
 *
 * A chunk that failed in a way that says nothing about its content (5xx,
 * timeout, connection lost) is not replayed one by one at once: a
 * Cloudflare batch is all-or-nothing, so one listing of the zone tells
 * whether it took effect (its first operation did).  If it did, the
 * results come from that listing; if not, the same chunk is sent again
 * (at most CF_BATCH_RESENDS times).  Only validation-like failures, or a
 * zone too large for one listing page, go one by one.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfapi.h"
#include "dnsplan.h"
#include "log.h"

#define CF_BATCH_RESENDS	3

struct cf_bop {
	int		 list;		/* index into cf_lists */
	size_t		 index;		/* within its list */
	yajl_val	 in;
	yajl_val	 res;
	int		 failed;
	struct cf_err	 err;
};

static const struct {
	const char	*key;
	int		 kind;
} cf_lists[4] = {
	{ "deletes", DNSPLAN_DELETE },
	{ "patches", DNSPLAN_PATCH },
	{ "puts", -1 },
	{ "posts", DNSPLAN_POST },
};

struct cf_batch {
	struct cf_bop	*ops;
	size_t		 nops;
	struct cf_http	*keep;		/* responses the results point into */
	size_t		 nkeep, capkeep;
};

static int
cf_batch_collect(yajl_val req, struct cf_batch *b, struct cf_err *err)
{
	yajl_val	 l;
	size_t		 i, j, n = 0;

	for (i = 0; i < 4; i++) {
		l = json_get(req, cf_lists[i].key);
		if (l != NULL && !YAJL_IS_NULL(l) && !YAJL_IS_ARRAY(l)) {
			cf_err_set(err, CF_E_VALIDATION, "\"%s\" must be an "
			    "array", cf_lists[i].key);
			return -1;
		}
		for (j = 0; j < json_len(l); j++)
			if (!YAJL_IS_OBJECT(json_at(l, j))) {
				cf_err_set(err, CF_E_VALIDATION, "%s[%zu] is "
				    "not an object", cf_lists[i].key, j);
				return -1;
			}
		n += json_len(l);
	}
	if (n == 0)
		return 0;
	b->capkeep = dnsplan_nchunks(n, CF_BATCH_MAX) *
	    (2 * CF_BATCH_RESENDS + 2) + n;
	b->ops = calloc(n, sizeof(*b->ops));
	b->keep = calloc(b->capkeep, sizeof(*b->keep));
	if (b->ops == NULL || b->keep == NULL) {
		cf_err_set(err, CF_E_INTERNAL, "out of memory");
		return -1;
	}
	for (i = 0; i < 4; i++) {
		l = json_get(req, cf_lists[i].key);
		for (j = 0; j < json_len(l); j++) {
			b->ops[b->nops].list = (int)i;
			b->ops[b->nops].index = j;
			b->ops[b->nops++].in = json_at(l, j);
		}
	}
	return 0;
}

static char *
cf_batch_body(const struct cf_batch *b, size_t lo, size_t hi)
{
	struct jw	*j;
	char		*s;
	size_t		 i, k;

	if ((j = jw_new()) == NULL)
		return NULL;
	jw_obj(j);
	for (k = 0; k < 4; k++) {
		jw_key(j, cf_lists[k].key);
		jw_arr(j);
		for (i = lo; i < hi; i++) {
			if (b->ops[i].list != (int)k)
				continue;
			if (cf_lists[k].kind == DNSPLAN_DELETE) {
				jw_obj(j);
				jw_kstr(j, "id", json_str(b->ops[i].in, "id"));
				jw_obj_end(j);
			} else
				jw_val(j, b->ops[i].in);
		}
		jw_arr_end(j);
	}
	jw_obj_end(j);
	s = jw_take(j, NULL);
	jw_free(&j);
	return s;
}

static void
cf_batch_map(struct cf_batch *b, size_t lo, size_t hi, yajl_val result)
{
	size_t	 i, seen[4] = { 0, 0, 0, 0 };
	int	 k;

	for (i = lo; i < hi; i++) {
		k = b->ops[i].list;
		b->ops[i].res = json_at(json_get(result, cf_lists[k].key),
		    seen[k]++);
	}
}

static void
cf_batch_singles(struct cfapi_state *st, struct cf_cred *c, const char *zid,
    struct cf_batch *b, size_t lo, size_t hi)
{
	struct cf_bop	*op;
	size_t		 i;

	for (i = lo; i < hi; i++) {
		op = &b->ops[i];
		if (cf_dns_write(st, c, zid, cf_lists[op->list].kind, op->in,
		    json_str(op->in, "id"), &b->keep[b->nkeep++], &op->res,
		    &op->err) == -1)
			op->failed = 1;
	}
}

static void
cf_batch_fail(struct cf_batch *b, size_t lo, size_t hi,
    const struct cf_err *err)
{
	size_t	 i;

	for (i = lo; i < hi; i++) {
		b->ops[i].failed = 1;
		b->ops[i].err = *err;
	}
}

/* The fields of a record operation that a listing must show as given. */
static int
cf_batch_same(yajl_val rec, yajl_val want)
{
	static const char *const keys[] = {
		"name", "type", "content", "comment", "proxied", "ttl", NULL
	};
	yajl_val	 a, b;
	size_t		 i;

	for (i = 0; keys[i] != NULL; i++) {
		if ((b = json_get(want, keys[i])) == NULL)
			continue;
		a = json_get(rec, keys[i]);
		if (YAJL_IS_STRING(b) && (a == NULL || !YAJL_IS_STRING(a) ||
		    !dnsplan_name_eq(a->u.string, b->u.string)))
			return 0;
		if ((YAJL_IS_TRUE(b) || YAJL_IS_FALSE(b)) && (a == NULL ||
		    YAJL_IS_TRUE(a) != YAJL_IS_TRUE(b)))
			return 0;
		if (YAJL_IS_INTEGER(b) && strcmp(keys[i], "ttl") == 0 &&
		    json_get(want, "proxied") != NULL &&
		    YAJL_IS_TRUE(json_get(want, "proxied")))
			continue;	/* proxied: Cloudflare forces ttl 1 */
		if (YAJL_IS_INTEGER(b) && (a == NULL || !YAJL_IS_INTEGER(a) ||
		    YAJL_GET_INTEGER(a) != YAJL_GET_INTEGER(b)))
			return 0;
	}
	return 1;
}

/* The record in the listing that shows op's effect, or NULL. */
static yajl_val
cf_batch_find(yajl_val list, const struct cf_bop *op)
{
	const char	*id = json_str(op->in, "id");
	yajl_val	 r;
	size_t		 i;

	for (i = 0; i < json_len(list); i++) {
		r = json_at(list, i);
		if (cf_lists[op->list].kind == DNSPLAN_POST) {
			if (cf_batch_same(r, op->in))
				return r;
		} else if (id != NULL && json_str(r, "id") != NULL &&
		    strcmp(json_str(r, "id"), id) == 0)
			return r;
	}
	return NULL;
}

/* 1 if op's effect shows in the listing. */
static int
cf_batch_done(yajl_val list, const struct cf_bop *op)
{
	yajl_val	 r = cf_batch_find(list, op);

	if (cf_lists[op->list].kind == DNSPLAN_DELETE)
		return r == NULL;
	return r != NULL && cf_batch_same(r, op->in);
}

/*
 * After an ambiguous failure: list the zone (one page).  1 the chunk took
 * effect (results filled), 0 it did not, -1 cannot tell.
 */
static int
cf_batch_probe(struct cfapi_state *st, struct cf_cred *c, const char *zid,
    struct cf_batch *b, size_t lo, size_t hi)
{
	struct cf_http	*h;
	struct cf_err	 err;
	char		 path[128], q[64];
	yajl_val	 list;
	size_t		 i;

	if (b->nkeep == b->capkeep)
		return -1;
	h = &b->keep[b->nkeep++];
	snprintf(path, sizeof(path), "/zones/%s/dns_records", zid);
	snprintf(q, sizeof(q), "per_page=%d", CF_DNS_PER_PAGE);
	if (cf_call(st, c, "GET", path, q, NULL, 0, "dns_records.list", h,
	    &err) == -1 || h->resp.total_pages > 1)
		return -1;
	list = h->resp.result;
	if (!cf_batch_done(list, &b->ops[lo]))
		return 0;
	for (i = lo; i < hi; i++) {
		b->ops[i].res = cf_lists[b->ops[i].list].kind ==
		    DNSPLAN_DELETE ? NULL : cf_batch_find(list, &b->ops[i]);
		if (!cf_batch_done(list, &b->ops[i])) {
			b->ops[i].failed = 1;
			cf_err_set(&b->ops[i].err, CF_E_TRANSPORT, "batch "
			    "answered with an error but partly applied");
		}
	}
	return 1;
}

/* Send ops [lo, hi) as one batch; 1 when the rest must not be tried. */
static int
cf_batch_chunk(struct cfapi_state *st, struct cf_cred *c, const char *zid,
    struct cf_batch *b, size_t lo, size_t hi)
{
	struct cf_http	*h;
	struct cf_err	 err;
	char		 path[128], *body;
	int		 rc, sends = 0, p = 0;

	snprintf(path, sizeof(path), "/zones/%s/dns_records/batch", zid);
	if ((body = cf_batch_body(b, lo, hi)) == NULL) {
		cf_err_set(&err, CF_E_INTERNAL, "out of memory");
		cf_batch_fail(b, lo, hi, &err);
		return 1;
	}
	do {
		h = &b->keep[b->nkeep++];
		rc = cf_call(st, c, "POST", path, NULL, body, CF_F_UNSAFE,
		    "dns_records.batch", h, &err);
		if (rc == 0 || err.kind != CF_E_TRANSPORT ||
		    ++sends > CF_BATCH_RESENDS)
			break;
		/* All or nothing: did it take effect? */
		if ((p = cf_batch_probe(st, c, zid, b, lo, hi)) != 0)
			break;
		cf_metric_retry(st, CF_RETRY_LOOKUP);
		log_info("zone %s: batch of %zu failed (%s) and did not take "
		    "effect; sending it again", zid, hi - lo, err.message);
	} while (b->nkeep + 2 <= b->capkeep);
	free(body);
	if (rc == 0) {
		cf_batch_map(b, lo, hi, h->resp.result);
		return 0;
	}
	if (p == 1)
		return 0;
	if (err.kind == CF_E_RATE || err.kind == CF_E_AUTH ||
	    err.kind == CF_E_INTERNAL || err.kind == CF_E_CREDENTIALS) {
		cf_batch_fail(b, lo, b->nops, &err);
		return 1;
	}
	log_info("zone %s: batch of %zu failed (%s); replaying one by one",
	    zid, hi - lo, err.message);
	cf_batch_singles(st, c, zid, b, lo, hi);
	return 0;
}

static void
cf_batch_write(const struct cf_batch *b, struct jw *out)
{
	const struct cf_bop	*op;
	size_t			 i, k;

	jw_obj(out);
	for (k = 0; k < 4; k++) {
		jw_key(out, cf_lists[k].key);
		jw_arr(out);
		for (i = 0; i < b->nops; i++) {
			op = &b->ops[i];
			if (op->list != (int)k)
				continue;
			if (op->failed)
				jw_null(out);
			else if (op->res != NULL)
				jw_val(out, op->res);
			else {
				jw_obj(out);
				jw_kstr(out, "id", json_str(op->in, "id"));
				jw_obj_end(out);
			}
		}
		jw_arr_end(out);
	}
	jw_key(out, "errors");
	jw_arr(out);
	for (i = 0; i < b->nops; i++) {
		op = &b->ops[i];
		if (!op->failed)
			continue;
		jw_obj(out);
		jw_kstr(out, "op", cf_lists[op->list].key);
		jw_kint(out, "index", (long long)op->index);
		jw_key(out, "error");
		cf_err_write(out, &op->err);
		jw_obj_end(out);
	}
	jw_arr_end(out);
	jw_obj_end(out);
}

int
cf_op_dns_batch(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	struct cf_batch	 b;
	const char	*zid = json_str(req, "zone_id");
	size_t		 k, n, lo, hi;
	int		 rc = -1;

	memset(&b, 0, sizeof(b));
	if (!cf_id_ok(zid)) {
		cf_err_set(err, CF_E_VALIDATION, "request lacks a valid "
		    "\"zone_id\"");
		return -1;
	}
	if (cf_batch_collect(req, &b, err) == -1)
		goto done;
	n = dnsplan_nchunks(b.nops, CF_BATCH_MAX);
	for (k = 0; k < n; k++) {
		lo = k * CF_BATCH_MAX;
		hi = lo + CF_BATCH_MAX < b.nops ? lo + CF_BATCH_MAX : b.nops;
		if (cf_batch_chunk(st, c, zid, &b, lo, hi))
			break;
	}
	cf_batch_write(&b, out);
	rc = 0;
done:
	for (k = 0; k < b.nkeep; k++)
		cf_http_free(&b.keep[k]);
	free(b.keep);
	free(b.ops);
	return rc;
}
