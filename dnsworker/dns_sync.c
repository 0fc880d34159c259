/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One DNS_SYNC / DNS_CLEANUP: hostnames -> zones, each zone's CNAMEs
 * (cached for DNS_RECORDS_TTL_S, dropped after our own writes), the plan
 * (lib/dnsplan), one dns.batch per zone that needs changes, and the
 * DNS_RESULT.  An idle resync costs no writes and, while the caches are
 * warm, no reads.
 *
 * A hostname's zone is found in the credential's zone list (one
 * zone.list, cached DNS_ZONELIST_TTL_S, the longest zone name that is a
 * suffix wins); zone.resolve (a lookup per label) is the fallback when the
 * list cannot be had.
 *
 * Which zones are looked at: the zones of the desired hostnames, the
 * zones where this owner had records last time (the registry), and once
 * per owner per process start -- and on every cleanup -- every zone the
 * token can see, so records left behind by an earlier run are found.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsplan.h"
#include "dnsworker.h"
#include "log.h"
#include "ratelimit.h"

#define DNS_MAX_ZONES_PER_SYNC	256

struct dns_conflict {
	const char	*hostname;
	char		 message[256];
};

struct dns_group {
	char		 zone_id[64];
	char		 zone_name[254];
	const char	**hosts;
	size_t		 nhosts;
};

struct dns_ctx {
	struct dns_state	*st;
	yajl_val		 req;
	yajl_val		 cred;
	const char		*owner;
	const char		*target;
	char			 credkey[320];
	struct dns_owner	*reg;
	struct dns_group	 groups[DNS_MAX_ZONES_PER_SYNC];
	size_t			 ngroups;
	const char		**applied;
	size_t			 napplied;
	const char		**skipped;
	size_t			 nskipped;
	struct dns_conflict	*conflicts;
	size_t			 nconflicts;
	char			 error[512];
	size_t			 nerrors;
};

static void dns_error(struct dns_ctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
dns_error(struct dns_ctx *x, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (x->nerrors++ == 0)
		memcpy(x->error, buf, sizeof(x->error));
	log_info("%s: DNS: %s", x->owner, buf);
}

/* A CF_REQUEST skeleton: {"op":..,"cred":..,"priority":..  (left open) */
static struct jw *
dns_req_new(struct dns_ctx *x, const char *op, const char *prio)
{
	struct jw	*j;

	if ((j = jw_new()) == NULL)
		fatal("jw_new");
	jw_obj(j);
	jw_kstr(j, "op", op);
	jw_key(j, "cred");
	jw_val(j, x->cred);
	jw_kstr(j, "priority", prio);
	return j;
}

/*
 * Cloudflare no longer routes a zone id we used (code 7003: the zone was
 * deleted or moved): the zone lists and hostname answers may be stale.
 */
static void
dns_zone_gone(struct dns_ctx *x, yajl_val codes)
{
	yajl_val	 c;
	size_t		 i;

	for (i = 0; i < json_len(codes) && YAJL_IS_ARRAY(codes); i++) {
		c = json_at(codes, i);
		if (!YAJL_IS_INTEGER(c) || YAJL_GET_INTEGER(c) != 7003)
			continue;
		for (i = 0; i < DNS_MAX_ZONELISTS; i++)
			json_free(&x->st->zl[i].root);
		x->st->nhc = 0;
		log_info("%s: a zone is gone (7003): zone lists dropped",
		    x->owner);
		return;
	}
}

/* Send; on success *result points into the returned reply tree. */
static yajl_val
dns_call(struct dns_ctx *x, struct jw *j, yajl_val *result, char *err,
    size_t errsz, int write)
{
	yajl_val	 r;
	int		 ok = 0;

	jw_obj_end(j);
	r = dns_cfapi_call(x->st, j, err, errsz);
	jw_free(&j);
	if (write)
		x->st->writes++;
	else
		x->st->reads++;
	if (r == NULL)
		return NULL;
	if (json_bool(r, "ok", &ok) == 0 && ok) {
		*result = json_get(r, "result");
		return r;
	}
	dns_zone_gone(x, json_get(json_get(r, "error"), "codes"));
	snprintf(err, errsz, "%s: %s", json_str(json_get(r, "error"), "kind")
	    ? json_str(json_get(r, "error"), "kind") : "error",
	    json_str(json_get(r, "error"), "message") ?
	    json_str(json_get(r, "error"), "message") : "");
	*result = json_get(r, "error");
	return r;
}

static struct dns_hostcache *
dns_host_cached(struct dns_state *st, const char *key)
{
	size_t	 i;

	for (i = 0; i < st->nhc; i++)
		if (strcmp(st->hc[i].key, key) == 0) {
			if (st->hc[i].expires > ratelimit_now())
				return &st->hc[i];
			st->hc[i] = st->hc[--st->nhc];
			return NULL;
		}
	return NULL;
}

/*
 * The credential's zone list, fetched when absent or older than maxage;
 * NULL when it cannot be had (the error is in err).
 */
static yajl_val
dns_zonelist(struct dns_ctx *x, double maxage, char *err, size_t errsz)
{
	struct dns_zonelist	*l = NULL;
	struct jw		*j;
	yajl_val		 r, res;
	double			 now = ratelimit_now();
	size_t			 i;

	for (i = 0; i < DNS_MAX_ZONELISTS && l == NULL; i++)
		if (x->st->zl[i].root != NULL &&
		    strcmp(x->st->zl[i].cred, x->credkey) == 0)
			l = &x->st->zl[i];
	if (l != NULL && now - l->fetched < maxage)
		return l->zones;
	j = dns_req_new(x, "zone.list", "normal");
	if ((r = dns_call(x, j, &res, err, errsz, 0)) == NULL ||
	    !YAJL_IS_ARRAY(res)) {
		json_free(&r);
		return NULL;
	}
	/* A free slot, else the oldest list. */
	for (i = 0; i < DNS_MAX_ZONELISTS && l == NULL; i++)
		if (x->st->zl[i].root == NULL)
			l = &x->st->zl[i];
	if (l == NULL) {
		l = &x->st->zl[0];
		for (i = 1; i < DNS_MAX_ZONELISTS; i++)
			if (x->st->zl[i].fetched < l->fetched)
				l = &x->st->zl[i];
	}
	json_free(&l->root);
	snprintf(l->cred, sizeof(l->cred), "%s", x->credkey);
	l->root = r;
	l->zones = res;
	l->fetched = now;
	return res;
}

/* Length of zone if host is zone or below it, else 0. */
static size_t
dns_zone_suffix(const char *host, const char *zone)
{
	size_t	 hl = strlen(host), zl = strlen(zone);

	while (hl > 0 && host[hl - 1] == '.')
		hl--;
	while (zl > 0 && zone[zl - 1] == '.')
		zl--;
	if (zl == 0 || hl < zl || strncasecmp(host + hl - zl, zone, zl) != 0)
		return 0;
	if (hl > zl && host[hl - zl - 1] != '.')
		return 0;
	return zl;
}

/* 1 found, 0 not in the list, -1 no list. */
static int
dns_zone_from_list(struct dns_ctx *x, const char *name, char *zid,
    char *zname)
{
	yajl_val	 zones, z, best = NULL;
	char		 err[512];
	size_t		 i, n, bestn = 0;
	int		 pass;

	/* A miss in a list older than the negative TTL: list again once. */
	for (pass = 0; pass < 2 && best == NULL; pass++) {
		if ((zones = dns_zonelist(x, pass == 0 ? DNS_ZONELIST_TTL_S :
		    DNS_HOST_NEG_TTL_S, err, sizeof(err))) == NULL)
			return -1;
		for (i = 0; i < json_len(zones); i++) {
			z = json_at(zones, i);
			if (json_str(z, "id") == NULL ||
			    json_str(z, "name") == NULL)
				continue;
			n = dns_zone_suffix(name, json_str(z, "name"));
			if (n > bestn) {
				best = z;
				bestn = n;
			}
		}
	}
	/* cfapi lists at most 100 pages of 50: a full list may be cut. */
	if (best == NULL)
		return json_len(zones) >= DNS_ZONELIST_MAX ? -1 : 0;
	snprintf(zid, 64, "%s", json_str(best, "id"));
	snprintf(zname, 254, "%s", json_str(best, "name"));
	return 1;
}

static struct dns_hostcache *
dns_host_remember(struct dns_ctx *x, const char *key, int found,
    const char *zid, const char *zname)
{
	struct dns_hostcache	*h;

	if (x->st->nhc == DNS_MAX_HOSTCACHE)
		x->st->nhc = 0;
	h = &x->st->hc[x->st->nhc++];
	snprintf(h->key, sizeof(h->key), "%s", key);
	h->found = found && zid != NULL;
	snprintf(h->zone_id, sizeof(h->zone_id), "%s", h->found ? zid : "");
	snprintf(h->zone_name, sizeof(h->zone_name), "%s", h->found &&
	    zname != NULL ? zname : "");
	h->expires = ratelimit_now() + (h->found ? DNS_HOST_TTL_S :
	    DNS_HOST_NEG_TTL_S);
	return h;
}

/* 1 found, 0 no zone, -1 error (recorded). */
static int
dns_zone_of(struct dns_ctx *x, const char *name, char *zid, char *zname)
{
	struct dns_hostcache	*h;
	struct jw		*j;
	yajl_val		 r, res;
	char			 key[600], err[512], lid[64], lname[254];
	int			 ok = 0, found;

	snprintf(key, sizeof(key), "%s|%s", x->credkey, name);
	if ((h = dns_host_cached(x->st, key)) != NULL)
		goto out;
	if ((found = dns_zone_from_list(x, name, lid, lname)) != -1) {
		h = dns_host_remember(x, key, found, lid, lname);
		goto out;
	}
	j = dns_req_new(x, "zone.resolve", "normal");
	jw_kstr(j, "hostname", name);
	if ((r = dns_call(x, j, &res, err, sizeof(err), 0)) == NULL ||
	    (json_bool(r, "ok", &ok) == 0 && !ok &&
	    strcmp(json_str(res, "kind") ? json_str(res, "kind") : "",
	    "not_found") != 0)) {
		dns_error(x, "zone of %s: %s", name, err);
		json_free(&r);
		return -1;
	}
	h = dns_host_remember(x, key, ok, json_str(res, "id"),
	    json_str(res, "name"));
	json_free(&r);
out:
	memcpy(zid, h->zone_id, sizeof(h->zone_id));
	memcpy(zname, h->zone_name, sizeof(h->zone_name));
	return h->found;
}

static struct dns_group *
dns_group(struct dns_ctx *x, const char *zid, const char *zname)
{
	struct dns_group	*g;
	size_t			 i;

	for (i = 0; i < x->ngroups; i++)
		if (strcmp(x->groups[i].zone_id, zid) == 0)
			return &x->groups[i];
	if (x->ngroups == DNS_MAX_ZONES_PER_SYNC)
		return NULL;
	g = &x->groups[x->ngroups++];
	snprintf(g->zone_id, sizeof(g->zone_id), "%s", zid);
	snprintf(g->zone_name, sizeof(g->zone_name), "%s", zname ? zname : "");
	return g;
}

static void
dns_group_add(struct dns_ctx *x, struct dns_group *g, const char *host)
{
	if (g == NULL) {
		dns_error(x, "%s: more than %d zones in one sync", host,
		    DNS_MAX_ZONES_PER_SYNC);
		return;
	}
	if (g->hosts == NULL && (g->hosts = calloc(json_len(json_get(x->req,
	    "hostnames")) + 1, sizeof(*g->hosts))) == NULL)
		fatal("calloc");
	g->hosts[g->nhosts++] = host;
}

/* Which zone (if any) each hostname belongs to, per the zones mode. */
static void
dns_sort_hosts(struct dns_ctx *x, yajl_val zones)
{
	yajl_val	 hv = json_get(x->req, "hostnames");
	const char	*h, *z, *zone;
	char		 zid[64], zname[254];
	size_t		 i, k;
	int		 r;

	for (i = 0; i < json_len(hv) && YAJL_IS_ARRAY(hv); i++) {
		h = json_str(json_at(hv, i), "hostname");
		if (h == NULL || *h == '\0')
			continue;
		zone = NULL;
		if (zones == NULL)
			zone = h;
		for (k = 0; zones != NULL && k < json_len(zones); k++) {
			z = YAJL_IS_STRING(json_at(zones, k)) ?
			    json_at(zones, k)->u.string : NULL;
			if (z != NULL && dnsplan_one_below(h, z))
				zone = z;
		}
		r = zone == NULL ? 0 : dns_zone_of(x, zone, zid, zname);
		if (r == 0 && zones != NULL && zone != NULL)
			dns_error(x, "configured zone %s is not in the "
			    "Cloudflare account", zone);
		if (r == 1)
			dns_group_add(x, dns_group(x, zid, zname), h);
		else if (r == 0)
			x->skipped[x->nskipped++] = h;
	}
}

static void
dns_skip_all(struct dns_ctx *x)
{
	yajl_val	 hv = json_get(x->req, "hostnames");
	const char	*h;
	size_t		 i;

	for (i = 0; i < json_len(hv) && YAJL_IS_ARRAY(hv); i++)
		if ((h = json_str(json_at(hv, i), "hostname")) != NULL)
			x->skipped[x->nskipped++] = h;
}

static struct dns_zonecache *
dns_records_cached(struct dns_state *st, const char *zid, const char *cred)
{
	size_t	 i;

	for (i = 0; i < DNS_MAX_ZONECACHE; i++)
		if (st->zc[i].root != NULL &&
		    strcmp(st->zc[i].zone_id, zid) == 0 &&
		    strcmp(st->zc[i].cred, cred) == 0) {
			if (ratelimit_now() - st->zc[i].fetched <
			    DNS_RECORDS_TTL_S)
				return &st->zc[i];
			json_free(&st->zc[i].root);
			return NULL;
		}
	return NULL;
}

static void
dns_records_drop(struct dns_state *st, const char *zid)
{
	size_t	 i;

	for (i = 0; i < DNS_MAX_ZONECACHE; i++)
		if (st->zc[i].root != NULL &&
		    strcmp(st->zc[i].zone_id, zid) == 0)
			json_free(&st->zc[i].root);
}

/* The zone's CNAMEs (cached). NULL on error (recorded). */
static yajl_val
dns_records(struct dns_ctx *x, const char *zid, const char *zname)
{
	struct dns_zonecache	*c;
	struct jw		*j;
	yajl_val		 r, res;
	char			 err[512];
	size_t			 i, old = 0;

	if ((c = dns_records_cached(x->st, zid, x->credkey)) != NULL)
		return c->records;
	j = dns_req_new(x, "dns.list", "normal");
	jw_kstr(j, "zone_id", zid);
	/* Every type: an A/AAAA at a desired name is a conflict too. */
	jw_key(j, "filters");
	jw_obj(j);
	jw_obj_end(j);
	if ((r = dns_call(x, j, &res, err, sizeof(err), 0)) == NULL ||
	    !YAJL_IS_ARRAY(res)) {
		dns_error(x, "listing zone %s: %s", zname[0] ? zname : zid,
		    err);
		json_free(&r);
		return NULL;
	}
	for (i = 0; i < DNS_MAX_ZONECACHE; i++) {
		if (x->st->zc[i].root == NULL)
			break;
		if (x->st->zc[i].fetched < x->st->zc[old].fetched)
			old = i;
	}
	if (i == DNS_MAX_ZONECACHE)
		json_free(&x->st->zc[i = old].root);
	c = &x->st->zc[i];
	snprintf(c->zone_id, sizeof(c->zone_id), "%s", zid);
	snprintf(c->cred, sizeof(c->cred), "%s", x->credkey);
	c->root = r;
	c->records = res;
	c->fetched = ratelimit_now();
	return res;
}

static struct dns_owner *
dns_owner_get(struct dns_state *st, const char *owner)
{
	struct dns_owner	*o;
	size_t			 i;

	for (i = 0; i < st->nowners; i++)
		if (strcmp(st->owners[i].owner, owner) == 0)
			return &st->owners[i];
	if (st->nowners == DNS_MAX_OWNERS)
		st->nowners = 0;	/* forget: the next sync rediscovers */
	o = &st->owners[st->nowners++];
	memset(o, 0, sizeof(*o));
	snprintf(o->owner, sizeof(o->owner), "%s", owner);
	return o;
}

static void
dns_owner_mark(struct dns_owner *o, const char *zid, int has)
{
	size_t	 i;

	for (i = 0; i < o->nzones; i++)
		if (strcmp(o->zones[i], zid) == 0) {
			if (!has)
				memcpy(o->zones[i], o->zones[--o->nzones],
				    sizeof(o->zones[i]));
			return;
		}
	if (has && o->nzones < DNS_MAX_OWNER_ZONES)
		snprintf(o->zones[o->nzones++], sizeof(o->zones[0]), "%s", zid);
	else if (has)
		o->discovered = 0;	/* registry full: rescan next time */
}

/* Every zone the token sees, as groups with no desired hostnames. */
static int
dns_discover(struct dns_ctx *x)
{
	yajl_val	 res, z;
	char		 err[512];
	size_t		 i;

	if ((res = dns_zonelist(x, DNS_ZONELIST_TTL_S, err, sizeof(err)))
	    == NULL) {
		dns_error(x, "listing zones: %s", err);
		return -1;
	}
	for (i = 0; i < json_len(res); i++) {
		z = json_at(res, i);
		if (json_str(z, "id") != NULL)
			dns_group(x, json_str(z, "id"), json_str(z, "name"));
	}
	return 0;
}

static struct dnsplan_record *
dns_record_view(yajl_val recs, size_t *n)
{
	struct dnsplan_record	*v;
	yajl_val		 r;
	long long		 ttl;
	size_t			 i;
	int			 px;

	*n = json_len(recs);
	if ((v = calloc(*n + 1, sizeof(*v))) == NULL)
		fatal("calloc");
	for (i = 0; i < *n; i++) {
		r = json_at(recs, i);
		v[i].id = json_str(r, "id");
		v[i].name = json_str(r, "name");
		v[i].type = json_str(r, "type");
		v[i].content = json_str(r, "content");
		v[i].comment = json_str(r, "comment");
		v[i].proxied = json_bool(r, "proxied", &px) == 0 && px;
		v[i].ttl = json_int(r, "ttl", &ttl) == 0 ? (long)ttl : 0;
		if (v[i].id == NULL || v[i].name == NULL)
			v[i].name = v[i].id = "";	/* never matches */
	}
	return v;
}

static void
dns_batch_record(struct dns_ctx *x, struct jw *j, const char *name,
    const char *id, int post)
{
	char	 comment[DNSPLAN_COMMENT_MAX + 1];

	dnsplan_comment(x->owner, comment, sizeof(comment));
	jw_obj(j);
	if (!post)
		jw_kstr(j, "id", id);
	jw_kstr(j, "type", "CNAME");
	if (post)
		jw_kstr(j, "name", name);
	jw_kstr(j, "content", x->target);
	jw_kbool(j, "proxied", 1);
	jw_kint(j, "ttl", 1);
	jw_kstr(j, "comment", comment);
	jw_obj_end(j);
}

static struct jw *
dns_batch_req(struct dns_ctx *x, const struct dns_group *g,
    const struct dnsplan *p)
{
	static const char *const keys[3] = { "deletes", "patches", "posts" };
	struct jw	*j = dns_req_new(x, "dns.batch", "high");
	size_t		 i, k;

	jw_kstr(j, "zone_id", g->zone_id);
	for (k = 0; k < 3; k++) {
		jw_key(j, keys[k]);
		jw_arr(j);
		for (i = 0; i < p->nops; i++) {
			if (p->ops[i].kind != (enum dnsplan_op_kind)k)
				continue;
			if (k == DNSPLAN_DELETE) {
				jw_obj(j);
				jw_kstr(j, "id", p->ops[i].id);
				jw_obj_end(j);
			} else
				dns_batch_record(x, j, p->ops[i].name,
				    p->ops[i].id, k == DNSPLAN_POST);
		}
		jw_arr_end(j);
	}
	return j;
}

static int
dns_id_in(yajl_val arr, const char *id)
{
	size_t	 i;

	for (i = 0; id != NULL && i < json_len(arr); i++)
		if (json_str(json_at(arr, i), "id") != NULL &&
		    strcmp(json_str(json_at(arr, i), "id"), id) == 0)
			return 1;
	return 0;
}

/*
 * Fold a fully successful batch result into the zone's cached records
 * instead of dropping them: the next resync then costs no read.
 */
static void
dns_records_update(struct dns_ctx *x, const char *zid, yajl_val res)
{
	struct dns_zonecache	*c;
	struct jw		*j;
	yajl_val		 old, r, up;
	const char		*buf;
	size_t			 len, i;
	char			 err[64];

	if ((c = dns_records_cached(x->st, zid, x->credkey)) == NULL)
		return;
	if ((j = jw_new()) == NULL)
		fatal("jw_new");
	old = c->records;
	up = json_get(res, "patches");
	jw_arr(j);
	for (i = 0; i < json_len(old); i++) {
		r = json_at(old, i);
		if (dns_id_in(json_get(res, "deletes"), json_str(r, "id")) ||
		    dns_id_in(up, json_str(r, "id")))
			continue;
		jw_val(j, r);
	}
	for (i = 0; i < json_len(up); i++)
		jw_val(j, json_at(up, i));
	for (i = 0; i < json_len(json_get(res, "posts")); i++)
		jw_val(j, json_at(json_get(res, "posts"), i));
	jw_arr_end(j);
	json_free(&c->root);
	if (jw_result(j, &buf, &len) == 0 &&
	    (c->root = json_parse(buf, len, err, sizeof(err))) != NULL)
		c->records = c->root;
	jw_free(&j);
}

/* The plan op a batch error names ({"op":"posts","index":3}). */
static const struct dnsplan_op *
dns_batch_op(const struct dnsplan *p, yajl_val e)
{
	const char	*op = json_str(e, "op");
	long long	 idx;
	size_t		 i, seen = 0;
	int		 k;

	if (op == NULL || json_int(e, "index", &idx) == -1 || idx < 0)
		return NULL;
	k = strcmp(op, "deletes") == 0 ? DNSPLAN_DELETE :
	    strcmp(op, "patches") == 0 ? DNSPLAN_PATCH :
	    strcmp(op, "posts") == 0 ? DNSPLAN_POST : -1;
	for (i = 0; i < p->nops; i++)
		if ((int)p->ops[i].kind == k && seen++ == (size_t)idx)
			return &p->ops[i];
	return NULL;
}

static void
dns_conflict(struct dns_ctx *x, const char *host, const char *msg)
{
	x->conflicts[x->nconflicts].hostname = host;
	snprintf(x->conflicts[x->nconflicts++].message,
	    sizeof(x->conflicts[0].message), "%.255s", msg);
}

/*
 * Send the zone's batch; mark failed hostnames in failed[] (indexes into
 * p->hosts).  Returns 0, or -1 when the whole batch failed.  *reply gets
 * the reply tree (the caller folds it into the cache, then frees it).
 */
static int
dns_batch_send(struct dns_ctx *x, const struct dns_group *g,
    const struct dnsplan *p, int *failed, yajl_val *reply)
{
	const struct dnsplan_op	*op;
	yajl_val		 r, res, errs, e, ee;
	char			 err[512];
	const char		*kind, *msg;
	size_t			 i, h;

	log_info("%s: zone %s: %zu deletes, %zu patches, %zu creates",
	    x->owner, g->zone_name[0] ? g->zone_name : g->zone_id,
	    dnsplan_count(p, DNSPLAN_DELETE), dnsplan_count(p, DNSPLAN_PATCH),
	    dnsplan_count(p, DNSPLAN_POST));
	*reply = r = dns_call(x, dns_batch_req(x, g, p), &res, err,
	    sizeof(err), 1);
	if (r == NULL || json_get(r, "error") != NULL) {
		dns_error(x, "zone %s: %s", g->zone_name, err);
		return -1;
	}
	errs = json_get(res, "errors");
	for (i = 0; i < json_len(errs); i++) {
		e = json_at(errs, i);
		if ((op = dns_batch_op(p, e)) == NULL)
			continue;
		ee = json_get(e, "error");
		kind = json_str(ee, "kind") ? json_str(ee, "kind") : "error";
		msg = json_str(ee, "message") ? json_str(ee, "message") : "";
		for (h = 0; h < p->nhosts; h++)
			if (dnsplan_name_eq(p->hosts[h].hostname, op->name)) {
				failed[h] = 1;
				if (op->kind == DNSPLAN_POST &&
				    strcmp(kind, "conflict") == 0)
					dns_conflict(x, p->hosts[h].hostname,
					    msg);
			}
		if (op->kind != DNSPLAN_POST || strcmp(kind, "conflict") != 0)
			dns_error(x, "%s: %s: %s", op->name, kind, msg);
	}
	return 0;
}

static void
dns_apply_zone(struct dns_ctx *x, struct dns_group *g)
{
	struct dnsplan_record	*v;
	struct dnsplan		 p;
	yajl_val		 recs, reply = NULL;
	size_t			 n, i, nops;
	int			*failed, whole = 0, has = 0;

	if ((recs = dns_records(x, g->zone_id, g->zone_name)) == NULL)
		return;
	v = dns_record_view(recs, &n);
	if (dnsplan_compute(x->owner, x->target, g->hosts, g->nhosts, v, n,
	    &p) == -1)
		fatalx("dnsplan_compute: out of memory");
	if ((failed = calloc(p.nhosts + 1, sizeof(*failed))) == NULL)
		fatal("calloc");
	if ((nops = p.nops) > 0)
		whole = dns_batch_send(x, g, &p, failed, &reply) == -1;
	for (i = 0; i < p.nhosts; i++) {
		if (p.hosts[i].state == DNSPLAN_HOST_CONFLICT)
			dns_conflict(x, p.hosts[i].hostname,
			    p.hosts[i].message);
		else if (p.hosts[i].state == DNSPLAN_HOST_OK ||
		    (!whole && !failed[i]))
			x->applied[x->napplied++] = p.hosts[i].hostname;
		if (p.hosts[i].state != DNSPLAN_HOST_CONFLICT)
			has = 1;
	}
	/* Where we may still have records: keep looking there. */
	dns_owner_mark(x->reg, g->zone_id, has || whole);
	free(failed);
	dnsplan_free(&p);
	free(v);	/* the plan and the view point into the cache: now */
	if (reply != NULL && !whole &&
	    json_len(json_path(reply, "result", "errors", NULL)) == 0)
		dns_records_update(x, g->zone_id, json_get(reply, "result"));
	else if (nops > 0)
		dns_records_drop(x->st, g->zone_id);
	json_free(&reply);
}

static void
dns_result_write(struct dns_ctx *x, struct jw *out)
{
	size_t	 i;

	jw_obj(out);
	jw_kstr(out, "gateway", json_str(x->req, "gateway"));
	jw_key(out, "applied");
	jw_arr(out);
	for (i = 0; i < x->napplied; i++)
		jw_str(out, x->applied[i]);
	jw_arr_end(out);
	jw_key(out, "skipped");
	jw_arr(out);
	for (i = 0; i < x->nskipped; i++)
		jw_str(out, x->skipped[i]);
	jw_arr_end(out);
	jw_key(out, "conflicts");
	jw_arr(out);
	for (i = 0; i < x->nconflicts; i++) {
		jw_obj(out);
		jw_kstr(out, "hostname", x->conflicts[i].hostname);
		jw_kstr(out, "message", x->conflicts[i].message);
		jw_obj_end(out);
	}
	jw_arr_end(out);
	if (x->nerrors > 1) {
		char	 more[600];

		snprintf(more, sizeof(more), "%s (and %zu more errors)",
		    x->error, x->nerrors - 1);
		jw_kstr(out, "error", more);
	} else
		jw_kstr(out, "error", x->nerrors ? x->error : NULL);
	jw_obj_end(out);
}

static int
dns_ctx_init(struct dns_ctx *x, struct dns_state *st, yajl_val req)
{
	size_t	 n = json_len(json_get(req, "hostnames")) + 1;

	memset(x, 0, sizeof(*x));
	x->st = st;
	x->req = req;
	x->cred = json_get(req, "cred");
	x->owner = json_str(req, "owner");
	x->target = json_str(req, "target");
	if (x->cred == NULL || !YAJL_IS_OBJECT(x->cred) || x->owner == NULL ||
	    *x->owner == '\0' || x->target == NULL || *x->target == '\0' ||
	    json_str(x->cred, "namespace") == NULL ||
	    json_str(x->cred, "name") == NULL)
		return -1;
	snprintf(x->credkey, sizeof(x->credkey), "%s/%s",
	    json_str(x->cred, "namespace"), json_str(x->cred, "name"));
	x->applied = calloc(n, sizeof(*x->applied));
	x->skipped = calloc(n, sizeof(*x->skipped));
	x->conflicts = calloc(n, sizeof(*x->conflicts));
	if (x->applied == NULL || x->skipped == NULL || x->conflicts == NULL)
		fatal("calloc");
	x->reg = dns_owner_get(st, x->owner);
	return 0;
}

static void
dns_ctx_free(struct dns_ctx *x)
{
	size_t	 i;

	for (i = 0; i < x->ngroups; i++)
		free(x->groups[i].hosts);
	free(x->applied);
	free(x->skipped);
	free(x->conflicts);
}

void
dns_sync_run(struct dns_state *st, yajl_val req, int cleanup,
    struct jw *out)
{
	struct dns_ctx	 x;
	yajl_val	 zones = json_get(req, "zones");
	size_t		 i;

	if (dns_ctx_init(&x, st, req) == -1) {
		memset(&x, 0, sizeof(x));
		x.req = req;
		snprintf(x.error, sizeof(x.error), "request lacks cred, owner "
		    "or target");
		x.nerrors = 1;
		dns_result_write(&x, out);
		return;
	}
	if (zones != NULL && YAJL_IS_NULL(zones))
		zones = NULL;
	if (zones != NULL && !YAJL_IS_ARRAY(zones))
		dns_error(&x, "\"zones\" must be null or an array");
	else if (!cleanup && !(zones != NULL && json_len(zones) == 0))
		dns_sort_hosts(&x, zones);
	else if (!cleanup)
		dns_skip_all(&x);	/* DNS disabled: delete ours only */
	/* Where our records may be: registry, and a full scan sometimes. */
	for (i = 0; i < x.reg->nzones; i++)
		dns_group(&x, x.reg->zones[i], "");
	if ((cleanup || !x.reg->discovered) && x.nerrors == 0 &&
	    dns_discover(&x) == 0)
		x.reg->discovered = 1;
	for (i = 0; i < x.ngroups && !st->stop; i++)
		dns_apply_zone(&x, &x.groups[i]);
	dns_result_write(&x, out);
	log_debug("%s: %s: %zu applied, %zu skipped, %zu conflicts, "
	    "%zu errors", x.owner, cleanup ? "cleanup" : "sync", x.napplied,
	    x.nskipped, x.nconflicts, x.nerrors);
	dns_ctx_free(&x);
}

void
dns_sync_forget(struct dns_state *st)
{
	size_t	 i;

	for (i = 0; i < DNS_MAX_ZONECACHE; i++)
		json_free(&st->zc[i].root);
	for (i = 0; i < DNS_MAX_ZONELISTS; i++)
		json_free(&st->zl[i].root);
	st->nhc = 0;
	for (i = 0; i < st->nowners; i++)
		st->owners[i].discovered = 0;
}
