/* SPDX-License-Identifier: Apache-2.0 */
/*
 * match: Gateway API request matching over a compiled host entry.  The rule
 * lists are already sorted by precedence, so the first rule whose every
 * condition holds wins.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

/*
 * Lower-case a Host header value, drop the port and a trailing dot.
 * Returns -1 for a value that cannot be a host name.
 */
int
host_normalize(const char *in, char *out, size_t outsz, size_t *outlen)
{
	size_t		 n = strlen(in), i;
	const char	*end;

	if (in[0] == '[') {		/* IPv6 literal: keep the brackets */
		if ((end = strchr(in, ']')) == NULL)
			return -1;
		n = end - in + 1;
	} else if ((end = strrchr(in, ':')) != NULL)
		n = end - in;
	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= outsz)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = in[i];
		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '@')
			return -1;
		out[i] = tolower(c);
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}

static int
vm_check(const struct vmatch *m, const char *v, size_t n)
{
	if (v == NULL)
		return 0;
	if (m->type == VAL_EXACT)
		return strlen(m->value) == n && memcmp(m->value, v, n) == 0;
	return re_match(m->re, v, n);
}

static int
match_headers(const struct vmatch *v, size_t n, const struct hdrs *h)
{
	size_t		 i;
	const char	*val;

	for (i = 0; i < n; i++) {
		val = hdrs_get(h, v[i].name);
		if (!vm_check(&v[i], val, val ? strlen(val) : 0))
			return 0;
	}
	return 1;
}

/* The first value of query parameter name (names are case-sensitive). */
static const char *
query_get(const char *q, size_t qlen, const char *name, size_t *vlen)
{
	const char	*p = q, *end = q + qlen, *amp, *eq;
	size_t		 nl = strlen(name);

	while (p != NULL && p < end) {
		amp = memchr(p, '&', end - p);
		if (amp == NULL)
			amp = end;
		eq = memchr(p, '=', amp - p);
		if (eq == NULL)
			eq = amp;
		if ((size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
			if (eq == amp) {
				*vlen = 0;
				return eq;
			}
			*vlen = amp - eq - 1;
			return eq + 1;
		}
		p = amp + 1;
	}
	return NULL;
}

static int
match_query(const struct trule *r, const struct mreq *q)
{
	size_t		 i, vl = 0;
	const char	*v;

	for (i = 0; i < r->nquery; i++) {
		if (q->query == NULL)
			return 0;
		v = query_get(q->query, q->querylen, r->query[i].name, &vl);
		if (!vm_check(&r->query[i], v, vl))
			return 0;
	}
	return 1;
}

static int
match_path(const struct trule *r, const char *p, size_t n)
{
	switch (r->path_type) {
	case PATH_EXACT:
		return n == r->pathlen && memcmp(p, r->path, n) == 0;
	case PATH_REGEX:
		return re_match(r->path_re, p, n);
	default:
		if (r->pathlen == 1)		/* "/" */
			return 1;
		if (n < r->pathlen || memcmp(p, r->path, r->pathlen) != 0)
			return 0;
		return n == r->pathlen || p[r->pathlen] == '/';
	}
}

const struct trule *
match_http(const struct thost *h, const struct mreq *q)
{
	size_t			 i;
	const struct trule	*r;

	for (i = 0; i < h->nhttp; i++) {
		r = &h->http[i];
		if (!match_path(r, q->path, q->pathlen))
			continue;
		if (r->method != NULL && strcmp(r->method, q->method) != 0)
			continue;
		if (r->schemes != 0 && q->scheme != 0 &&
		    !(r->schemes & q->scheme))
			continue;
		if (!match_headers(r->headers, r->nheaders, q->h))
			continue;
		if (!match_query(r, q))
			continue;
		return r;
	}
	return NULL;
}

static int
match_part(const struct trule *r, const char *want,
    const struct pcre2_real_code_8 *re, const char *s, size_t n)
{
	if (want == NULL)
		return 1;
	if (r->grpc_type == VAL_REGEX)
		return re_match(re, s, n);
	return strlen(want) == n && memcmp(want, s, n) == 0;
}

/* gRPC paths are "/<service>/<method>". */
const struct trule *
match_grpc(const struct thost *h, const struct mreq *q)
{
	size_t			 i, sl, ml;
	const char		*svc, *slash, *meth;
	const struct trule	*r;

	if (q->pathlen < 4 || q->path[0] != '/')
		return NULL;
	svc = q->path + 1;
	if ((slash = memchr(svc, '/', q->pathlen - 1)) == NULL)
		return NULL;
	sl = slash - svc;
	meth = slash + 1;
	ml = q->path + q->pathlen - meth;
	if (sl == 0 || ml == 0 || memchr(meth, '/', ml) != NULL)
		return NULL;
	for (i = 0; i < h->ngrpc; i++) {
		r = &h->grpc[i];
		if (!match_part(r, r->service, r->svc_re, svc, sl) ||
		    !match_part(r, r->gmethod, r->meth_re, meth, ml))
			continue;
		if (!match_headers(r->headers, r->nheaders, q->h))
			continue;
		return r;
	}
	return NULL;
}

/*
 * Weighted random choice among r's backends but skip, whose weights sum
 * to total (> 0); weight 0 is never chosen.
 */
static const struct tbackend *
pick_backend(const struct trule *r, const struct tbackend *skip,
    uint64_t total)
{
	uint64_t	 pick, acc = 0;
	size_t		 i;

	pick = ((uint64_t)px_rand32() << 32 | px_rand32()) % total;
	for (i = 0; i < r->nbackends; i++) {
		if (&r->backends[i] == skip)
			continue;
		acc += r->backends[i].weight;
		if (pick < acc)
			return &r->backends[i];
	}
	return NULL;
}

/* Weighted random choice; weight 0 is never chosen.  NULL: no weight. */
const struct tbackend *
match_backend(const struct trule *r)
{
	if (r->total_weight == 0)
		return NULL;
	if (r->nbackends == 1)
		return &r->backends[0];
	return pick_backend(r, NULL, r->total_weight);
}

/*
 * The same choice for a retry: among the backends other than prev (the
 * one that just failed), by weight, when another one has weight; else as
 * match_backend.
 */
const struct tbackend *
match_backend_other(const struct trule *r, const struct tbackend *prev)
{
	if (prev == NULL || r->nbackends < 2 || prev < r->backends ||
	    prev >= r->backends + r->nbackends ||
	    prev->weight >= r->total_weight)
		return match_backend(r);
	return pick_backend(r, prev, r->total_weight - prev->weight);
}
