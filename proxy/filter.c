/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filter: the Gateway API filters applied around an exchange --
 * Request/ResponseHeaderModifier, CORS (preflight answered here, simple
 * requests get the Access-Control-* response headers) and RequestMirror
 * (a copy of the request as it is where the mirror is listed, body
 * included, is sent to the mirror backend once the request goes to its
 * own backend; the mirror's answer is discarded and it never slows or
 * fails the real request: a mirror that falls behind is dropped).  xch.c
 * runs them in the order listed on the rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy.h"

void
hmod_apply(struct hdrs *h, const struct hmod *m)
{
	size_t	 i;

	for (i = 0; i < m->nremove; i++)
		hdrs_del(h, m->remove[i]);
	for (i = 0; i < m->nset; i++) {
		hdrs_del(h, m->set_name[i]);
		(void)hdrs_add(h, m->set_name[i], strlen(m->set_name[i]),
		    m->set_value[i], strlen(m->set_value[i]));
	}
	for (i = 0; i < m->nadd; i++)
		(void)hdrs_add(h, m->add_name[i], strlen(m->add_name[i]),
		    m->add_value[i], strlen(m->add_value[i]));
}

/* Host is not among the request fields: the upstream writes authority. */
static void
set_authority(struct xch *x, const char *v)
{
	char	*p;

	if ((p = strdup(v)) == NULL)
		return;
	free(x->authority);
	x->authority = p;
}

/*
 * RequestHeaderModifier on the request: as hmod_apply, except that
 * "host" (set or add: a request has one Host) changes the authority sent
 * to the backend.  Host cannot be removed.
 */
void
hmod_request(struct xch *x, const struct hmod *m)
{
	size_t	 i;

	for (i = 0; i < m->nremove; i++)
		hdrs_del(&x->rqh, m->remove[i]);
	for (i = 0; i < m->nset; i++) {
		if (strcmp(m->set_name[i], "host") == 0) {
			set_authority(x, m->set_value[i]);
			continue;
		}
		hdrs_del(&x->rqh, m->set_name[i]);
		(void)hdrs_add(&x->rqh, m->set_name[i], strlen(m->set_name[i]),
		    m->set_value[i], strlen(m->set_value[i]));
	}
	for (i = 0; i < m->nadd; i++) {
		if (strcmp(m->add_name[i], "host") == 0) {
			set_authority(x, m->add_value[i]);
			continue;
		}
		(void)hdrs_add(&x->rqh, m->add_name[i], strlen(m->add_name[i]),
		    m->add_value[i], strlen(m->add_value[i]));
	}
}

/* CORS ---------------------------------------------------------------- */

/* Split "scheme://host[:port]" (lower case); port defaults by scheme. */
static int
origin_split(const char *o, char *scheme, size_t ssz, const char **host,
    size_t *hl, int *port)
{
	const char	*p = strstr(o, "://"), *c;
	char		*end;
	long		 v;

	if (p == NULL || (size_t)(p - o) >= ssz)
		return -1;
	memcpy(scheme, o, p - o);
	scheme[p - o] = '\0';
	*host = p + 3;
	if ((c = strchr(*host, ':')) != NULL) {
		v = strtol(c + 1, &end, 10);
		if (c[1] == '\0' || *end != '\0' || v < 1 || v > 65535)
			return -1;
		*port = v;
		*hl = c - *host;
	} else {
		*port = strcmp(scheme, "https") == 0 ? 443 :
		    strcmp(scheme, "http") == 0 ? 80 : 0;
		*hl = strlen(*host);
	}
	if (*hl == 0 || strcspn(*host, "/?#@ ") < *hl)
		return -1;
	return 0;
}

/*
 * allowOrigins entry pat against the request's Origin o (both lower
 * case): same scheme, same port (80/443 when absent), host exact, "*"
 * (any), or "*.suffix" (one or more labels before the suffix).
 */
static int
origin_match(const char *pat, const char *o)
{
	char		 ps[8], os[8];
	const char	*ph, *oh;
	size_t		 phl, ohl;
	int		 pp, op;

	if (strcmp(pat, "*") == 0)
		return 1;
	if (origin_split(pat, ps, sizeof(ps), &ph, &phl, &pp) == -1 ||
	    origin_split(o, os, sizeof(os), &oh, &ohl, &op) == -1 ||
	    strcmp(ps, os) != 0 || pp != op)
		return 0;
	if (phl == 1 && ph[0] == '*')
		return 1;
	if (phl > 2 && ph[0] == '*' && ph[1] == '.')
		return ohl > phl - 1 && memcmp(oh + ohl - (phl - 1), ph + 1,
		    phl - 1) == 0;
	return phl == ohl && memcmp(ph, oh, phl) == 0;
}

static int
cors_allowed(const struct cors *c, const char *origin)
{
	char	 o[512];
	size_t	 i, n = strlen(origin);

	if (n == 0 || n >= sizeof(o))
		return 0;
	for (i = 0; i <= n; i++)
		o[i] = (origin[i] >= 'A' && origin[i] <= 'Z') ?
		    origin[i] + 32 : origin[i];
	for (i = 0; i < c->norigins; i++)
		if (origin_match(c->origins[i], o))
			return 1;
	return 0;
}

static int
cors_any_origin(const struct cors *c)
{
	size_t	 i;

	for (i = 0; i < c->norigins; i++)
		if (strcmp(c->origins[i], "*") == 0)
			return 1;
	return 0;
}

static void
cors_common(const struct cors *c, struct hdrs *h, const char *origin)
{
	const char	*v = cors_any_origin(c) && !c->credentials ? "*" :
			    origin;

	hdrs_del(h, "access-control-allow-origin");
	hdrs_del(h, "access-control-allow-credentials");
	hdrs_add(h, "access-control-allow-origin", 27, v, strlen(v));
	if (c->credentials)
		hdrs_add(h, "access-control-allow-credentials", 32, "true", 4);
	if (strcmp(v, "*") != 0)
		hdrs_add(h, "vary", 4, "Origin", 6);
}

/*
 * At the filter's place in the request phase.  A preflight (OPTIONS with
 * Origin and Access-Control-Request-Method) is answered here with 200;
 * other requests from an allowed origin go on.  The Access-Control-*
 * fields of either are added at the filter's place in the response phase
 * (cors_response), so a ResponseHeaderModifier listed after CORS sees
 * them and one listed before does not.  1: answered.
 */
int
cors_preflight(struct xch *x)
{
	const struct cors	*c = &x->rule->cors;
	const char		*origin = hdrs_get(&x->rqh, "origin");
	struct hdrs		 h = { 0 };

	if (origin == NULL)
		return 0;
	free(x->cors_origin);
	x->cors_origin = cors_allowed(c, origin) ? strdup(origin) : NULL;
	if (strcmp(x->method, "OPTIONS") != 0 ||
	    hdrs_get(&x->rqh, "access-control-request-method") == NULL)
		return 0;
	x->cors_pf = 1;
	mirror_drop(x);
	x->up_gone = 1;
	x->redirect = 1;
	xch_resp_head(x, 200, &h, 0);
	hdrs_clear(&h);
	x->dops->end(x, NULL);
	return 1;
}

/* The preflight answer's fields, for an allowed origin. */
static void
cors_preflight_fields(struct xch *x, const struct cors *c, struct hdrs *h)
{
	const char	*rm, *rh, *v;
	char		 age[16];

	rm = hdrs_get(&x->rqh, "access-control-request-method");
	rh = hdrs_get(&x->rqh, "access-control-request-headers");
	/* "*": echo the request (never "*" with credentials). */
	v = c->any_method || c->methods == NULL ? rm : c->methods;
	if (v != NULL)
		hdrs_add(h, "access-control-allow-methods", 28, v, strlen(v));
	v = c->any_header ? rh : c->headers;
	if (v != NULL)
		hdrs_add(h, "access-control-allow-headers", 28, v, strlen(v));
	snprintf(age, sizeof(age), "%d", c->max_age);
	hdrs_add(h, "access-control-max-age", 22, age, strlen(age));
}

void
cors_response(struct xch *x, struct hdrs *h)
{
	const struct cors	*c = &x->rule->cors;

	if (x->cors_origin == NULL)
		return;
	cors_common(c, h, x->cors_origin);
	if (x->cors_pf) {
		cors_preflight_fields(x, c, h);
		return;
	}
	if (c->expose != NULL) {
		hdrs_del(h, "access-control-expose-headers");
		hdrs_add(h, "access-control-expose-headers", 29, c->expose,
		    strlen(c->expose));
	}
}

/* RequestMirror -------------------------------------------------------- */

static void	 mir_head(struct xch *, int, struct hdrs *, int64_t);
static void	 mir_data(struct xch *, struct evbuffer *);
static void	 mir_end(struct xch *, struct hdrs *);
static void	 mir_fail(struct xch *, int);
static void	 mir_resume(struct xch *);
static size_t	 mir_pending(struct xch *);

static const struct down_ops mir_ops = {
	mir_head, mir_data, mir_end, mir_fail, mir_resume, mir_pending, NULL
};

/* Unlink mirror m from its parent (if any) and free it. */
static void
mir_done(struct xch *m)
{
	struct xch	*p = m->darg;
	size_t		 i;

	if (p != NULL)
		for (i = 0; i < p->nmirrors; i++)
			if (p->mirrors[i] == m)
				p->mirrors[i] = NULL;
	m->darg = NULL;
	xch_down_detach(m);
}

static void
mir_head(struct xch *m, int status, struct hdrs *h, int64_t clen)
{
	(void)m;
	(void)status;
	(void)h;
	(void)clen;
}

static void
mir_data(struct xch *m, struct evbuffer *b)
{
	(void)m;
	evbuffer_drain(b, evbuffer_get_length(b));
}

static void
mir_end(struct xch *m, struct hdrs *t)
{
	(void)t;
	mir_done(m);
}

static void
mir_fail(struct xch *m, int status)
{
	(void)status;
	mir_done(m);
}

static void
mir_resume(struct xch *m)
{
	(void)m;
}

static size_t
mir_pending(struct xch *m)
{
	(void)m;
	return 0;
}

static struct xch *
mir_copy(struct xch *p, const struct mirror *mr)
{
	struct xch	*m;

	if ((m = xch_new()) == NULL)
		return NULL;
	m->is_mirror = 1;
	m->method = strdup(p->method);
	m->path = strdup(p->path);
	m->authority = strdup(p->authority);
	m->scheme = p->scheme;
	memcpy(m->client_ip, p->client_ip, sizeof(m->client_ip));
	(void)hdrs_copy(&m->rqh, &p->rqh);
	m->req_clen = p->req_clen;
	m->head_only = p->head_only;
	m->tbl = table_ref(p->tbl);
	m->rule = p->rule;
	m->be = &mr->be;
	m->dops = &mir_ops;
	m->darg = p;
	if (m->method == NULL || m->path == NULL || m->authority == NULL) {
		m->up_gone = 1;
		m->darg = NULL;
		xch_down_detach(m);
		return NULL;
	}
	return m;
}

/*
 * At the mirror's place among the filters: decide (percent/fraction) and
 * copy the request as it is now.  The copy is sent by mirror_start.
 */
void
mirror_take(struct xch *p, const struct mirror *mr)
{
	struct xch	*m;

	if (p->upgrade || p->nmirrors >= MAX_MIRRORS || mr->ppm == 0 ||
	    px_rand_below(1000000) >= mr->ppm)
		return;
	if ((m = mir_copy(p, mr)) != NULL)
		p->mirrors[p->nmirrors++] = m;
}

/* The request goes to its backend: send the copies taken. */
void
mirror_start(struct xch *p)
{
	struct xch	*m;
	size_t		 i;
	int		 rc;

	for (i = 0; i < p->nmirrors; i++) {
		if ((m = p->mirrors[i]) == NULL)
			continue;
		rc = m->be->proto == BE_H2C ? up_h2_start(m) : up_h1_start(m);
		if (rc == -1) {
			m->up_gone = 1;
			mir_done(m);
		}
	}
}

/* The request is answered by the proxy: copies not sent are dropped. */
void
mirror_drop(struct xch *p)
{
	struct xch	*m;
	size_t		 i;

	for (i = 0; i < p->nmirrors; i++)
		if ((m = p->mirrors[i]) != NULL)
			mir_done(m);
	p->nmirrors = 0;
}

void
mirror_send(struct xch *p, struct evbuffer *b)
{
	struct evbuffer	*copy;
	struct xch	*m;
	size_t		 i, n = evbuffer_get_length(b);

	for (i = 0; i < p->nmirrors; i++) {
		if ((m = p->mirrors[i]) == NULL || m->up_gone || n == 0)
			continue;
		if (xch_up_pending(m) > PX_HIGH_WATER ||
		    (copy = evbuffer_new()) == NULL) {
			mir_done(m);		/* too slow: drop the mirror */
			continue;
		}
		evbuffer_add(copy, evbuffer_pullup(b, -1), n);
		xch_send(m, copy);
		evbuffer_free(copy);
	}
}

void
mirror_end(struct xch *p)
{
	size_t	 i;

	for (i = 0; i < p->nmirrors; i++)
		if (p->mirrors[i] != NULL)
			xch_send_end(p->mirrors[i], NULL);
}

/* The parent is going away: finished mirrors go on alone. */
void
mirror_release(struct xch *p)
{
	struct xch	*m;
	size_t		 i;

	for (i = 0; i < p->nmirrors; i++) {
		if ((m = p->mirrors[i]) == NULL)
			continue;
		p->mirrors[i] = NULL;
		if (!p->req_ended)
			mir_done(m);
		else
			m->darg = NULL;
	}
	p->nmirrors = 0;
}
