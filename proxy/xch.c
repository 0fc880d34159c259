/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xch: one proxied request.  Routes it through the current table, applies
 * the rule's filters, picks a backend and hands it to an upstream.  The
 * exchange lives until both the downstream and the upstream side have
 * detached; it holds a table reference the whole time, so a reload never
 * frees a rule that is in use.
 */
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proxy.h"

static void	 xch_free(struct xch *);
static void	 px_now(struct timeval *);
static void	 xch_local(struct xch *, int);
static int	 xch_redirect(struct xch *, const struct mreq *);
static void	 xch_rewrite(struct xch *, const struct mreq *);
static void	 xch_upstream(struct xch *);

/*
 * The request as the rule's filters left it, before the chosen backend's
 * RequestHeaderModifier: a retry to another backend starts from it.
 */
struct xsave {
	struct hdrs	 rqh;
	char		*authority;
};

struct xch *
xch_new(void)
{
	struct xch	*x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->req_clen = -2;
	x->scheme = "http";
	px_now(&x->start);
	px->inflight++;
	return x;
}

/*
 * Monotonic time for durations (vDSO, no system call; libevent's cached
 * wall time drifts against gettimeofday and gave negative durations).
 */
static void
px_now(struct timeval *tv)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
}

const double px_buckets[PX_NBUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

/* Request duration: from the request head to the end of the answer. */
static void
xch_observe(const struct xch *x)
{
	struct timeval	 now, d;
	double		 s;
	int		 i;

	px_now(&now);
	timersub(&now, &x->start, &d);
	s = d.tv_sec + d.tv_usec / 1e6;
	for (i = 0; i < PX_NBUCKETS; i++)
		if (s <= px_buckets[i]) {
			px->m.dur_bucket[i]++;
			break;
		}
	px->m.dur_count++;
	px->m.dur_sum += s;
	metrics_request(x, s);
	if (accesslog_on)
		accesslog_write(x, s);
}

static void
xch_free(struct xch *x)
{
	if (x->status != 0 && !x->is_mirror)
		xch_observe(x);
	if (x->status != 0 && !x->is_mirror)
		log_debug("%s %s %s%s -> %s %s: %d", x->client_ip,
		    x->method ? x->method : "-",
		    x->authority ? x->authority : "-", x->path ? x->path : "",
		    x->rule ? x->rule->route : "-",
		    x->be ? x->be->name : "-", x->status);
	mirror_release(x);
	metrics_inflight(x, NULL);
	if (x->save != NULL) {
		hdrs_clear(&x->save->rqh);
		free(x->save->authority);
		free(x->save);
	}
	if (x->tmo != NULL)
		event_free(x->tmo);
	if (x->rtmo != NULL)
		event_free(x->rtmo);
	free(x->cors_origin);
	table_unref(x->tbl);
	free(x->method);
	free(x->path);
	free(x->authority);
	hdrs_clear(&x->rqh);
	free(x);
	px->inflight--;
}

void
xch_down_detach(struct xch *x)
{
	x->down_gone = 1;
	if (!x->up_gone) {
		x->up_gone = 1;
		if (x->uops != NULL && x->uops->abort != NULL)
			x->uops->abort(x);
	}
	xch_free(x);
}

void
xch_up_detach(struct xch *x)
{
	x->up_gone = 1;
	if (x->tmo != NULL)
		event_del(x->tmo);
	if (x->down_gone)
		xch_free(x);
}

void
xch_count(int status)
{
	if (status >= 100 && status < 600)
		px->m.req_class[status / 100]++;
}

static void
xch_local(struct xch *x, int status)
{
	x->up_gone = 1;
	x->status = status;
	xch_count(status);
	x->dops->fail(x, status);
}

/* The upstream failed (502/503/504): count it, tell the downstream. */
void
xch_up_fail(struct xch *x, int status)
{
	if (!x->is_mirror) {
		metrics_upstream_error(x);
		if (x->status == 0) {
			x->status = status;
			xch_count(status);
		}
	}
	x->dops->fail(x, status);
}

/*
 * The response phase: the rule's ResponseHeaderModifier and CORS in the
 * order listed, then the chosen backendRef's ResponseHeaderModifier, then
 * the session value.
 */
static void
xch_resp_filters(struct xch *x, struct hdrs *h)
{
	const struct trule	*r = x->rule;
	size_t			 i;

	for (i = 0; r != NULL && i < r->nsteps; i++) {
		if (r->steps[i].kind == F_RESPMOD)
			hmod_apply(h, &r->respmod);
		else if (r->steps[i].kind == F_CORS)
			cors_response(x, h);
	}
	if (x->be != NULL && x->be->has_respmod)
		hmod_apply(h, &x->be->respmod);
	if (x->session[0] != '\0')
		session_response(x, h);
}

/* Response head (upstream's or local): filters, metrics, downstream. */
void
xch_resp_head(struct xch *x, int status, struct hdrs *h, int64_t clen)
{
	if ((status >= 200 || status == 101) && !x->is_mirror) {
		x->status = status;
		xch_count(status);
		xch_resp_filters(x, h);
	}
	x->dops->head(x, status, h, clen);
}

/*
 * URLRewrite/RequestRedirect path: ReplaceFullPath, or ReplacePrefixMatch
 * by path segments as in the Gateway API table (prefix "/foo"):
 * "/foo/bar" with "/xyz" or "/xyz/" -> "/xyz/bar"; "/foo" -> "/xyz";
 * "/foo/" -> "/xyz/"; with "" or "/": "/foo/bar" -> "/bar", "/foo" and
 * "/foo/" -> "/".  The query is kept.
 */
static char *
path_replace(const struct trule *r, const struct mreq *q, const char *repl,
    int prefix)
{
	char		*out;
	const char	*rest = "";
	size_t		 rl = 0, pl, rpl = strlen(repl);

	if (prefix && r->path_type == PATH_PREFIX) {
		pl = r->pathlen;
		while (pl > 0 && r->path[pl - 1] == '/')
			pl--;
		if (pl > q->pathlen)
			pl = q->pathlen;
		rest = q->path + pl;
		rl = q->pathlen - pl;
		while (rpl > 0 && repl[rpl - 1] == '/')
			rpl--;
	}
	if (asprintf(&out, "%.*s%.*s%s%s%.*s", (int)rpl, repl, (int)rl, rest,
	    rpl + rl == 0 ? "/" : "", q->query ? "?" : "",
	    q->query ? (int)q->querylen : 0, q->query ? q->query : "") == -1)
		return NULL;
	return out;
}

/* The port of a Host value ("h:8080", "[::1]:8080"), 0 if none. */
static int
authority_port(const char *a)
{
	const char	*c;
	int		 port = 0;

	if (a[0] == '[')
		c = strchr(a, ']') != NULL && strchr(a, ']')[1] == ':' ?
		    strchr(a, ']') + 1 : NULL;
	else
		c = strrchr(a, ':');
	if (c == NULL || c[1] == '\0')
		return 0;
	for (c++; *c >= '0' && *c <= '9' && port < 65536; c++)
		port = port * 10 + (*c - '0');
	return *c == '\0' && port < 65536 ? port : 0;
}

/*
 * Location per the RequestRedirect port rules: an explicit port; else,
 * with a scheme, that scheme's well-known port; else the port the client
 * used (the Host's, i.e. the listener's).  80 for http and 443 for https
 * are left out.  The scheme defaults to the visitor's (X-Forwarded-Proto).
 */
static int
xch_redirect(struct xch *x, const struct mreq *q)
{
	const struct redirect	*rd = &x->rule->redirect;
	struct hdrs		 h = { 0 };
	char			*loc = NULL, *path, host[300], port[16] = "";
	const char		*scheme = rd->scheme;
	size_t			 hl;
	int			 pn;

	if (scheme == NULL)
		scheme = x->xfp == SCHEME_HTTPS ? "https" :
		    x->xfp == SCHEME_HTTP ? "http" : x->scheme;
	if (host_normalize(x->authority, host, sizeof(host), &hl) == -1)
		return -1;
	if (rd->path != NULL)
		path = path_replace(x->rule, q, rd->path, rd->path_prefix);
	else
		path = strdup(x->path);
	if (path == NULL)
		return -1;
	pn = rd->port != 0 ? rd->port : rd->scheme != NULL ? 0 :
	    authority_port(x->authority);
	if (pn != 0 && !(strcmp(scheme, "http") == 0 && pn == 80) &&
	    !(strcmp(scheme, "https") == 0 && pn == 443))
		snprintf(port, sizeof(port), ":%d", pn);
	if (asprintf(&loc, "%s://%s%s%s", scheme,
	    rd->hostname ? rd->hostname : host, port, path) == -1)
		loc = NULL;
	free(path);
	if (loc == NULL || hdrs_add(&h, "location", 8, loc,
	    strlen(loc)) == -1) {
		free(loc);
		hdrs_clear(&h);
		return -1;
	}
	free(loc);
	x->up_gone = 1;
	x->redirect = 1;
	xch_resp_head(x, rd->status, &h, 0);
	hdrs_clear(&h);
	x->dops->end(x, NULL);
	return 0;
}

static void
xch_rewrite(struct xch *x, const struct mreq *q)
{
	const struct rewrite	*rw = &x->rule->rewrite;
	char			*p;

	if (rw->has_path &&
	    (p = path_replace(x->rule, q, rw->path, rw->path_prefix)) != NULL) {
		free(x->path);
		x->path = p;
	}
	if (rw->hostname != NULL && (p = strdup(rw->hostname)) != NULL) {
		free(x->authority);
		x->authority = p;
	}
}

/*
 * Each attempt's backend timeout in ms; 0: none (GEP-2257 "0s").  It
 * starts when the request starts being sent (the connection is up).
 */
int
xch_backend_timeout(const struct xch *x)
{
	if (x->rule != NULL && x->rule->backend_ms >= 0)
		return x->rule->backend_ms;
	if (x->rule != NULL && x->rule->request_ms >= 0)
		return x->rule->request_ms;
	return px->cf.response_timeout_ms;
}

/*
 * timeouts.backendRequest bounds the whole attempt, "until the full
 * response has been received from the backend" (GEP-2257): the upstream
 * keeps the timer past the response head.  The fallbacks (request_ms,
 * which xch_arm bounds as a whole anyway, and --upstream-timeout) bound
 * only the wait for the head, so a long download is not cut by them.
 */
int
xch_backend_covers_body(const struct xch *x)
{
	return x->rule != NULL && x->rule->backend_ms > 0;
}

/* The rule's request timeout: the whole exchange, head to last byte. */
static void
xch_expire(evutil_socket_t fd, short ev, void *arg)
{
	struct xch	*x = arg;

	(void)fd;
	(void)ev;
	if (x->up_gone)
		return;
	x->up_gone = 1;
	if (x->rtmo != NULL)		/* no retry beyond the budget */
		event_del(x->rtmo);
	if (x->uops != NULL && x->uops->abort != NULL)
		x->uops->abort(x);
	x->status = 504;
	xch_count(504);
	x->dops->fail(x, 504);
}

static void
xch_arm(struct xch *x)
{
	struct timeval	 tv;

	if (x->rule->request_ms <= 0)
		return;
	if (x->tmo == NULL &&
	    (x->tmo = evtimer_new(px->base, xch_expire, x)) == NULL)
		return;
	px_tv_ms(&tv, x->rule->request_ms);
	evtimer_add(x->tmo, &tv);
}

/* Hand the exchange to its backend; a failure to even start may retry. */
static void
xch_upstream(struct xch *x)
{
	int	 rc;

	metrics_inflight(x, x->be);
	if (x->grpc || x->be->proto == BE_H2C)
		rc = up_h2_start(x);
	else
		rc = up_h1_start(x);
	if (rc == -1 && !xch_retry(x, 502, 1))
		xch_local(x, 502);
}

/*
 * The chosen backendRef's RequestHeaderModifier.  When a retry may pick
 * another backend with other modifiers, the request before them is kept
 * (first attempt) or restored (retries).  -1: out of memory.
 */
static int
xch_be_filters(struct xch *x)
{
	struct xsave	*s = x->save;
	char		*a;

	if (x->rule->has_retry && x->rule->be_reqmod) {
		if (s == NULL) {
			if ((s = calloc(1, sizeof(*s))) == NULL)
				return -1;
			x->save = s;
			if ((s->authority = strdup(x->authority)) == NULL ||
			    hdrs_copy(&s->rqh, &x->rqh) == -1)
				return -1;
		} else {
			if ((a = strdup(s->authority)) == NULL)
				return -1;
			free(x->authority);
			x->authority = a;
			hdrs_clear(&x->rqh);
			if (hdrs_copy(&x->rqh, &s->rqh) == -1)
				return -1;
		}
	}
	if (x->be->has_reqmod)
		hmod_request(x, &x->be->reqmod);
	return 0;
}

static void
xch_retry_fire(evutil_socket_t fd, short ev, void *arg)
{
	struct xch	*x = arg;

	(void)fd;
	(void)ev;
	if (x->down_gone || x->up_gone)
		return;
	x->session[0] = '\0';
	x->be = x->rule->has_session ? session_pick(x, x->be) :
	    match_backend_other(x->rule, x->be);
	if (x->be == NULL || x->be->invalid != NULL ||
	    xch_be_filters(x) == -1) {
		xch_local(x, 500);
		return;
	}
	xch_upstream(x);
}

/* RFC 9110 9.2.2 idempotent methods. */
static int
method_idempotent(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
	    strcmp(m, "OPTIONS") == 0 || strcmp(m, "TRACE") == 0 ||
	    strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
}

/*
 * HTTPRoute retry: a bodyless request whose answer has one of the rule's
 * codes (idempotent methods only) or that could not reach the backend
 * (any method) goes again, to a fresh weighted pick among the other
 * backends (the failed one only when no other has weight), after
 * backoff_ms --
 * within the request timeout, which keeps running.  1: retrying -- the
 * upstream drops the exchange without telling the downstream; 0: report
 * the outcome as usual.
 */
int
xch_retry(struct xch *x, int status, int connerr)
{
	const struct tretry	*r;
	struct timeval		 tv;
	size_t			 i;
	int			 hit = connerr;

	if (x->rule == NULL || !x->rule->has_retry || x->status != 0 ||
	    x->req_clen != -2 || x->is_mirror || x->upgrade ||
	    x->down_gone || x->up_gone)
		return 0;
	r = &x->rule->retry;
	for (i = 0; i < r->ncodes && !hit; i++)
		hit = r->codes[i] == status && method_idempotent(x->method);
	if (!hit || x->attempt >= r->attempts)
		return 0;
	if (x->rtmo == NULL &&
	    (x->rtmo = evtimer_new(px->base, xch_retry_fire, x)) == NULL)
		return 0;
	x->attempt++;
	metrics_retry(x);
	log_debug("%s%s: retry %d/%d after %d", x->authority, x->path,
	    x->attempt, r->attempts, status);
	x->uops = NULL;
	x->uarg = NULL;
	px_tv_ms(&tv, r->backoff_ms > 0 ? r->backoff_ms : 1);
	evtimer_add(x->rtmo, &tv);
	return 1;
}

/*
 * 1 if the path has a "." or ".." segment (also percent-encoded).  Such a
 * path would match one prefix here and name another resource after the
 * backend normalises it, so it is refused rather than routed.
 */
static int
path_has_dots(const char *p, size_t n)
{
	size_t	 i = 0, s, dots;

	while (i < n) {
		s = ++i;		/* after a '/' */
		dots = 0;
		while (i < n && p[i] != '/') {
			if (p[i] == '.')
				dots++;
			else if (i + 2 < n && p[i] == '%' && p[i + 1] == '2' &&
			    (p[i + 2] == 'e' || p[i + 2] == 'E')) {
				dots++;
				i += 2;
			} else
				dots = 3;	/* something else */
			i++;
		}
		if (i > s && dots > 0 && dots <= 2)
			return 1;
	}
	return 0;
}

/*
 * The request phase: the rule's filters in the order listed.  A mirror
 * copies the request as the filters before it left it.  1: answered here
 * (redirect, CORS preflight, or 500).  q points into the request as
 * received; URLRewrite replaces x->path, and RequestRedirect (the only
 * other user of q) cannot be combined with it (the loader refuses the
 * pair).
 */
static int
xch_req_filters(struct xch *x, const struct mreq *q)
{
	const struct trule	*r = x->rule;
	size_t			 i;

	for (i = 0; i < r->nsteps; i++) {
		switch (r->steps[i].kind) {
		case F_REQMOD:
			hmod_request(x, &r->reqmod);
			break;
		case F_REWRITE:
			xch_rewrite(x, q);
			break;
		case F_MIRROR:
			mirror_take(x, &r->mirrors[r->steps[i].arg]);
			break;
		case F_CORS:
			if (cors_preflight(x))
				return 1;
			break;
		case F_REDIRECT:
			mirror_drop(x);
			if (xch_redirect(x, q) == -1)
				xch_local(x, 500);
			return 1;
		}
	}
	return 0;
}

void
xch_route_and_start(struct xch *x, int grpc)
{
	char			 host[300];
	size_t			 hl;
	const struct thost	*th;
	const char		*qm;
	struct mreq		 q;

	x->grpc = grpc;
	if ((x->tbl = px_table_get()) == NULL) {
		xch_local(x, 503);
		return;
	}
	if (x->authority == NULL || host_normalize(x->authority, host,
	    sizeof(host), &hl) == -1) {
		xch_local(x, 400);
		return;
	}
	memset(&q, 0, sizeof(q));
	q.method = x->method;
	q.scheme = x->xfp;
	q.path = x->path;
	q.h = &x->rqh;
	if ((qm = strchr(x->path, '?')) != NULL) {
		q.pathlen = qm - x->path;
		q.query = qm + 1;
		q.querylen = strlen(q.query);
	} else
		q.pathlen = strlen(x->path);
	if (x->path[0] == '/' && path_has_dots(x->path, q.pathlen)) {
		xch_local(x, 400);
		return;
	}
	if ((th = table_host(x->tbl, host, hl)) == NULL ||
	    (x->rule = grpc ? match_grpc(th, &q) : match_http(th, &q)) ==
	    NULL) {
		xch_local(x, 404);
		return;
	}
	if (x->rule->filter_error) {
		xch_local(x, 500);
		return;
	}
	if (xch_req_filters(x, &q) == 1)
		return;
	x->be = x->rule->has_session ? session_pick(x, NULL) :
	    match_backend(x->rule);
	if (x->be == NULL || x->be->invalid != NULL ||
	    xch_be_filters(x) == -1) {
		mirror_drop(x);
		xch_local(x, 500);
		return;
	}
	mirror_start(x);
	xch_arm(x);
	xch_upstream(x);
}

/* Request body toward the upstream; dropped once the upstream is gone. */
void
xch_send(struct xch *x, struct evbuffer *b)
{
	if (x->nmirrors > 0)
		mirror_send(x, b);
	if (x->up_gone || x->uops == NULL)
		evbuffer_drain(b, evbuffer_get_length(b));
	else
		x->uops->data(x, b);
}

void
xch_send_end(struct xch *x, struct hdrs *trailers)
{
	x->req_ended = 1;
	if (x->nmirrors > 0)
		mirror_end(x);
	if (!x->up_gone && x->uops != NULL)
		x->uops->end(x, trailers);
}

size_t
xch_up_pending(struct xch *x)
{
	if (x->up_gone || x->uops == NULL)
		return 0;
	return x->uops->pending(x);
}

void
xch_up_resume(struct xch *x)
{
	if (!x->up_gone && x->uops != NULL)
		x->uops->resume(x);
}
