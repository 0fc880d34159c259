/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DNS diff and ownership decisions (dnsplan.h).  Pure: no I/O, no
 * globals; the worker feeds it a zone's records and sends the result to
 * cfapi as one dns.batch.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "dnsplan.h"

static size_t
dnsplan_namelen(const char *s)
{
	size_t	 n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		n--;
	return n;
}

int
dnsplan_name_eq(const char *a, const char *b)
{
	size_t	 na, nb;

	if (a == NULL || b == NULL)
		return 0;
	na = dnsplan_namelen(a);
	nb = dnsplan_namelen(b);
	return na == nb && strncasecmp(a, b, na) == 0;
}

int
dnsplan_one_below(const char *host, const char *zone)
{
	size_t		 nh = dnsplan_namelen(host), nz = dnsplan_namelen(zone);
	const char	*dot;

	if (nz == 0 || nh <= nz + 1 || host[nh - nz - 1] != '.' ||
	    strncasecmp(host + nh - nz, zone, nz) != 0)
		return 0;
	dot = memchr(host, '.', nh - nz - 1);
	return dot == NULL;
}

const char *
dnsplan_zone_candidate(const char *host, size_t i)
{
	const char	*p, *dot;
	size_t		 k;

	if (strncmp(host, "*.", 2) == 0)
		host += 2;	/* the zone of *.a.b is a.b's */
	p = host;
	for (k = 0; k < i; k++) {
		if ((dot = strchr(p, '.')) == NULL)
			return NULL;
		p = dot + 1;
	}
	if (p[0] == '*' || p[0] == '.' || p[0] == '\0')
		return NULL;
	dot = strchr(p, '.');
	if (dot == NULL || dot[1] == '\0')
		return NULL;		/* a single label is never a zone */
	return p;
}

int
dnsplan_comment(const char *owner, char *buf, size_t sz)
{
	unsigned char	 h[16];
	char		 hex[sizeof(h) * 2 + 1];
	int		 n;

	if (owner == NULL)
		return -1;
	n = snprintf(buf, sz, "%s%s", DNSPLAN_COMMENT_PREFIX, owner);
	if (n >= 0 && (size_t)n < sz && n <= DNSPLAN_COMMENT_MAX &&
	    strpbrk(owner, "\r\n") == NULL)
		return 0;
	crypto_generichash(h, sizeof(h), (const unsigned char *)owner,
	    strlen(owner), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	n = snprintf(buf, sz, "%s~%s", DNSPLAN_COMMENT_PREFIX, hex);
	return n >= 0 && (size_t)n < sz ? 0 : -1;
}

static int
dnsplan_has_comment(const struct dnsplan_record *r)
{
	return r->comment != NULL && r->comment[0] != '\0';
}

static int
dnsplan_is_ours(const struct dnsplan_record *r, const char *comment)
{
	return r->comment != NULL && strcmp(r->comment, comment) == 0;
}

static int
dnsplan_is_cname(const struct dnsplan_record *r)
{
	return r->type != NULL && strcasecmp(r->type, "CNAME") == 0;
}

static int
dnsplan_is_right(const struct dnsplan_record *r, const char *target)
{
	return dnsplan_is_cname(r) && dnsplan_name_eq(r->content, target) &&
	    r->proxied && r->ttl == 1;
}

static void
dnsplan_conflict(struct dnsplan_host *h, const struct dnsplan_record *r,
    const char *comment)
{
	size_t	 np = strlen(DNSPLAN_COMMENT_PREFIX);

	h->state = DNSPLAN_HOST_CONFLICT;
	if (r->comment != NULL && strncmp(r->comment, DNSPLAN_COMMENT_PREFIX,
	    np) == 0 && strcmp(r->comment, comment) != 0)
		snprintf(h->message, sizeof(h->message), "DNS record %.80s "
		    "(%.8s) is managed by another cfgw Gateway (%.60s)",
		    h->hostname, r->type ? r->type : "?", r->comment + np);
	else
		snprintf(h->message, sizeof(h->message), "DNS record %.80s "
		    "(%.8s) exists and is not managed by this Gateway",
		    h->hostname, r->type ? r->type : "?");
}

struct dnsplan_build {
	struct dnsplan_op	*del, *patch, *post;
	size_t			 ndel, npatch, npost;
};

static void
dnsplan_add(struct dnsplan_build *b, enum dnsplan_op_kind k,
    const char *id, const char *name, int adopt)
{
	struct dnsplan_op	*op;

	if (k == DNSPLAN_DELETE)
		op = &b->del[b->ndel++];
	else if (k == DNSPLAN_PATCH)
		op = &b->patch[b->npatch++];
	else
		op = &b->post[b->npost++];
	op->kind = k;
	op->id = id;
	op->name = name;
	op->adopt = adopt;
}

/* Decide one desired hostname against the records at its name. */
static void
dnsplan_host_decide(struct dnsplan_host *h, const char *comment,
    const char *target, const struct dnsplan_record *actual, size_t nactual,
    struct dnsplan_build *b)
{
	const struct dnsplan_record	*mine = NULL, *adopt = NULL, *r;
	size_t				 i;

	for (i = 0; i < nactual; i++) {
		r = &actual[i];
		if (!dnsplan_name_eq(r->name, h->hostname))
			continue;
		if (dnsplan_is_ours(r, comment)) {
			if (mine == NULL)
				mine = r;
			else		/* a duplicate of ours: drop it */
				dnsplan_add(b, DNSPLAN_DELETE, r->id, r->name,
				    0);
		} else if (dnsplan_is_cname(r) && !dnsplan_has_comment(r) &&
		    dnsplan_name_eq(r->content, target) && adopt == NULL)
			adopt = r;
		else if (h->state != DNSPLAN_HOST_CONFLICT)
			dnsplan_conflict(h, r, comment);
	}
	if (h->state == DNSPLAN_HOST_CONFLICT)
		return;
	if (mine != NULL && adopt == NULL) {
		h->state = dnsplan_is_right(mine, target) ? DNSPLAN_HOST_OK :
		    DNSPLAN_HOST_WRITE;
		if (h->state == DNSPLAN_HOST_WRITE)
			dnsplan_add(b, DNSPLAN_PATCH, mine->id, h->hostname,
			    0);
	} else if (mine == NULL && adopt != NULL) {
		h->state = DNSPLAN_HOST_WRITE;
		dnsplan_add(b, DNSPLAN_PATCH, adopt->id, h->hostname, 1);
	} else if (mine != NULL) {
		/* Ours and an uncommented twin: keep ours, leave the twin. */
		snprintf(h->message, sizeof(h->message), "DNS record "
		    "%.80s has a duplicate not managed by this Gateway",
		    h->hostname);
		h->state = DNSPLAN_HOST_CONFLICT;
	} else {
		h->state = DNSPLAN_HOST_WRITE;
		dnsplan_add(b, DNSPLAN_POST, NULL, h->hostname, 0);
	}
}

static int
dnsplan_desired(const struct dnsplan *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->nhosts; i++)
		if (dnsplan_name_eq(p->hosts[i].hostname, name))
			return 1;
	return 0;
}

static int
dnsplan_assemble(struct dnsplan *out, struct dnsplan_build *b)
{
	size_t	 n = b->ndel + b->npatch + b->npost;

	out->nops = 0;
	if (n == 0)
		return 0;
	if ((out->ops = calloc(n, sizeof(*out->ops))) == NULL)
		return -1;
	memcpy(out->ops, b->del, b->ndel * sizeof(*b->del));
	memcpy(out->ops + b->ndel, b->patch, b->npatch * sizeof(*b->patch));
	memcpy(out->ops + b->ndel + b->npatch, b->post,
	    b->npost * sizeof(*b->post));
	out->nops = n;
	return 0;
}

int
dnsplan_compute(const char *owner, const char *target,
    const char *const *desired, size_t ndesired,
    const struct dnsplan_record *actual, size_t nactual, struct dnsplan *out)
{
	struct dnsplan_build	 b;
	char			 comment[DNSPLAN_COMMENT_MAX + 1];
	size_t			 i, cap = nactual + ndesired + 1;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	if (dnsplan_comment(owner, comment, sizeof(comment)) == -1 ||
	    target == NULL)
		return -1;
	b.del = calloc(cap, sizeof(*b.del));
	b.patch = calloc(cap, sizeof(*b.patch));
	b.post = calloc(cap, sizeof(*b.post));
	out->hosts = calloc(ndesired + 1, sizeof(*out->hosts));
	if (b.del == NULL || b.patch == NULL || b.post == NULL ||
	    out->hosts == NULL)
		goto done;
	for (i = 0; i < ndesired; i++) {
		if (desired[i] == NULL || dnsplan_desired(out, desired[i]))
			continue;
		out->hosts[out->nhosts].hostname = desired[i];
		dnsplan_host_decide(&out->hosts[out->nhosts++], comment,
		    target, actual, nactual, &b);
	}
	for (i = 0; i < nactual; i++)
		if (dnsplan_is_ours(&actual[i], comment) &&
		    !dnsplan_desired(out, actual[i].name))
			dnsplan_add(&b, DNSPLAN_DELETE, actual[i].id,
			    actual[i].name, 0);
	rc = dnsplan_assemble(out, &b);
done:
	free(b.del);
	free(b.patch);
	free(b.post);
	if (rc == -1)
		dnsplan_free(out);
	return rc;
}

void
dnsplan_free(struct dnsplan *p)
{
	free(p->ops);
	free(p->hosts);
	memset(p, 0, sizeof(*p));
}

size_t
dnsplan_count(const struct dnsplan *p, enum dnsplan_op_kind k)
{
	size_t	 i, n = 0;

	for (i = 0; i < p->nops; i++)
		if (p->ops[i].kind == k)
			n++;
	return n;
}

size_t
dnsplan_nchunks(size_t n, size_t max)
{
	if (max == 0)
		max = DNSPLAN_BATCH_MAX;
	return (n + max - 1) / max;
}
