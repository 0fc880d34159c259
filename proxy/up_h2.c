/* SPDX-License-Identifier: Apache-2.0 */
/*
 * up_h2: h2c (HTTP/2 with prior knowledge) to backends -- every gRPC
 * backend and appProtocol kubernetes.io/h2c.  One connection per backend
 * carries many streams; like the HTTP/1 pool it is retired after
 * --upstream-max-requests streams or --upstream-max-age ms, so new
 * connections (and kube-proxy) spread long-lived gRPC clients over pods.
 * Trailers are relayed unchanged; request and response bodies stream both
 * ways with flow control tied to the other side's queue.
 */
#include <sys/queue.h>

#include <event2/dns.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2.h"
#include "log.h"

struct h2ustream;

struct h2up {
	struct h2io		 io;
	struct event		*defer;
	struct event		*tmo;
	char			 key[300];
	int			 connected;
	int			 dead;
	int			 goaway;
	int			 nstreams;
	int			 opened;
	struct timeval		 born;
	LIST_HEAD(h2uslist, h2ustream) streams;
	TAILQ_ENTRY(h2up)	 entry;
};

struct h2ustream {
	struct h2up		*c;
	int32_t			 id;
	struct xch		*x;
	struct h2body		 req;
	struct hdrs		 resph;
	struct hdrs		 trailers;
	struct evbuffer		*tmp;
	struct event		*tmo;
	int			 status;
	int			 head_done;
	size_t			 unconsumed;
	char			 clen[24];
	char			 xff[512];
	LIST_ENTRY(h2ustream)	 entry;
};

/* Per thread; initialised on first use (TLS has no static address). */
static __thread TAILQ_HEAD(h2conns, h2up) conns;

static void	 c_read(struct bufferevent *, void *);
static void	 c_write(struct bufferevent *, void *);
static void	 c_event(struct bufferevent *, short, void *);
static void	 c_deferred(evutil_socket_t, short, void *);
static void	 c_idle(evutil_socket_t, short, void *);
static void	 c_pump(struct h2up *);
static void	 c_schedule(struct h2up *);
static void	 s_drained(struct h2body *);
static void	 c_free(struct h2up *, int);

static void	 ux_data(struct xch *, struct evbuffer *);
static void	 ux_end(struct xch *, struct hdrs *);
static void	 ux_abort(struct xch *);
static void	 ux_resume(struct xch *);
static size_t	 ux_pending(struct xch *);

static const struct up_ops ux_ops = {
	ux_data, ux_end, ux_abort, ux_resume, ux_pending
};

static void
s_free(struct h2ustream *st)
{
	LIST_REMOVE(st, entry);
	st->c->nstreams--;
	hdrs_clear(&st->resph);
	hdrs_clear(&st->trailers);
	hdrs_clear(&st->req.trailers);
	if (st->req.buf != NULL)
		evbuffer_free(st->req.buf);
	if (st->tmp != NULL)
		evbuffer_free(st->tmp);
	if (st->tmo != NULL)
		event_free(st->tmo);
	free(st);
}

/* The stream failed: tell the downstream (502, or 504 on timeout). */
static void
s_fail(struct h2ustream *st, int status)
{
	struct xch	*x = st->x;

	st->x = NULL;
	if (x == NULL || xch_retry(x, status, status != 504))
		return;
	xch_up_detach(x);
	xch_up_fail(x, status);
}

static void
s_finish(struct h2ustream *st, struct hdrs *trailers)
{
	struct xch	*x = st->x;

	st->x = NULL;
	if (x == NULL)
		return;
	xch_up_detach(x);
	x->dops->end(x, trailers);
}

static void
s_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct h2ustream	*st = arg;
	struct h2up		*c = st->c;

	(void)fd;
	(void)ev;
	s_fail(st, 504);
	nghttp2_submit_rst_stream(c->io.s, NGHTTP2_FLAG_NONE, st->id,
	    NGHTTP2_CANCEL);
	c_pump(c);
}

static int
on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *n,
    size_t nl, const uint8_t *v, size_t vl, uint8_t flags, void *arg)
{
	struct h2ustream	*st;

	(void)flags;
	(void)arg;
	st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (st == NULL || st->x == NULL)
		return 0;
	if (nl == 7 && memcmp(n, ":status", 7) == 0) {
		st->status = vl == 3 ? atoi((const char *)v) : 0;
		return 0;
	}
	if (n[0] == ':')
		return 0;
	if (hdrs_add(st->head_done ? &st->trailers : &st->resph,
	    (const char *)n, nl, (const char *)v, vl) == -1)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static void
s_head(struct h2ustream *st, int eos)
{
	const char	*cl;
	int64_t		 clen = -1;

	if (st->status < 100 || st->status > 599) {
		s_fail(st, 502);
		return;
	}
	if (st->status < 200) {		/* interim: forget it */
		hdrs_clear(&st->resph);
		return;
	}
	st->head_done = 1;
	if (!xch_backend_covers_body(st->x))	/* else: until the end */
		evtimer_del(st->tmo);
	if (xch_retry(st->x, st->status, 0)) {
		st->x = NULL;
		nghttp2_submit_rst_stream(st->c->io.s, NGHTTP2_FLAG_NONE,
		    st->id, NGHTTP2_CANCEL);
		return;
	}
	if ((cl = hdrs_get(&st->resph, "content-length")) != NULL) {
		clen = strtoll(cl, NULL, 10);
		hdrs_del(&st->resph, "content-length");
	}
	/* A gRPC trailers-only answer stays headers-only downstream. */
	xch_resp_head(st->x, st->status, &st->resph, eos ? -2 : clen);
	if (eos)
		s_finish(st, NULL);
}

static int
on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct h2up		*c = arg;
	struct h2ustream	*st;
	int			 eos;

	eos = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
	if (f->hd.type == NGHTTP2_GOAWAY) {
		c->goaway = 1;
		return 0;
	}
	st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (st == NULL || st->x == NULL)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS) {
		if (!st->head_done)
			s_head(st, eos);
		else if (eos)
			s_finish(st, &st->trailers);
	} else if (f->hd.type == NGHTTP2_DATA && eos)
		s_finish(st, NULL);
	return 0;
}

static int
on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d,
    size_t len, void *arg)
{
	struct h2ustream	*st;
	struct xch		*x;

	(void)flags;
	(void)arg;
	st = nghttp2_session_get_stream_user_data(s, id);
	if (st == NULL || st->x == NULL || !st->head_done) {
		nghttp2_session_consume(s, id, len);
		return 0;
	}
	x = st->x;
	evbuffer_add(st->tmp, d, len);
	x->dops->data(x, st->tmp);
	/* The downstream may have let go of the exchange meanwhile. */
	if (st->x == x && x->dops->pending(x) > PX_HIGH_WATER)
		st->unconsumed += len;
	else
		nghttp2_session_consume(s, id, len);
	return 0;
}

static int
on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *arg)
{
	struct h2ustream	*st;

	(void)arg;
	if ((st = nghttp2_session_get_stream_user_data(s, id)) == NULL)
		return 0;
	if (st->x != NULL) {
		log_debug("backend %s: stream %d closed (error %u)",
		    st->c->key, id, err);
		s_fail(st, 502);
	}
	nghttp2_session_set_stream_user_data(s, id, NULL);
	s_free(st);
	return 0;
}

static struct h2up *
c_new(const struct tbackend *be)
{
	struct h2up			*c;
	nghttp2_session_callbacks	*cb;
	nghttp2_option			*opt;
	char				 addr[300];
	int				 port;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	LIST_INIT(&c->streams);
	snprintf(c->key, sizeof(c->key), "%s:%d", be->host, be->port);
	event_base_gettimeofday_cached(px->base, &c->born);
	c->io.bev = bufferevent_socket_new(px->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	c->defer = event_new(px->base, -1, 0, c_deferred, c);
	c->tmo = evtimer_new(px->base, c_idle, c);
	nghttp2_session_callbacks_new(&cb);
	h2_callbacks_common(cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb,
	    on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    on_stream_close);
	nghttp2_option_new(&opt);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_session_client_new2(&c->io.s, cb, c, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	TAILQ_INSERT_HEAD(&conns, c, entry);
	if (c->io.bev == NULL || c->defer == NULL || c->tmo == NULL ||
	    c->io.s == NULL) {
		c_free(c, 502);
		return NULL;
	}
	bufferevent_setcb(c->io.bev, c_read, c_write, c_event, c);
	px_backend_addr(be->host, be->port, addr, sizeof(addr), &port);
	if (bufferevent_socket_connect_hostname(c->io.bev, px->dns, AF_UNSPEC,
	    addr, port) == -1) {
		c_free(c, 502);
		return NULL;
	}
	bufferevent_enable(c->io.bev, EV_READ | EV_WRITE);
	nghttp2_submit_settings(c->io.s, NGHTTP2_FLAG_NONE, NULL, 0);
	nghttp2_session_set_local_window_size(c->io.s, NGHTTP2_FLAG_NONE, 0,
	    4 << 20);
	px->m.up_conn_new++;
	return c;
}

/* Free the connection; streams still attached fail with status. */
static void
c_free(struct h2up *c, int status)
{
	struct h2ustream	*st;

	TAILQ_REMOVE(&conns, c, entry);
	while ((st = LIST_FIRST(&c->streams)) != NULL) {
		s_fail(st, status);
		s_free(st);
	}
	if (c->io.s != NULL)
		nghttp2_session_del(c->io.s);
	if (c->io.bev != NULL)
		bufferevent_free(c->io.bev);
	if (c->defer != NULL)
		event_free(c->defer);
	if (c->tmo != NULL)
		event_free(c->tmo);
	free(c);
}

static int
c_usable(struct h2up *c, const char *key)
{
	struct timeval	 now, d;

	if (c->dead || c->goaway || strcmp(c->key, key) != 0 ||
	    c->nstreams >= H2_MAX_STREAMS ||
	    c->opened >= px->cf.up_max_requests)
		return 0;
	event_base_gettimeofday_cached(px->base, &now);
	timersub(&now, &c->born, &d);
	return d.tv_sec * 1000 + d.tv_usec / 1000 < px->cf.up_max_age_ms;
}

static int
s_submit(struct h2ustream *st, struct xch *x)
{
	struct h2nv		 nv = { 0 };
	nghttp2_data_provider	 dp;
	const char		*xff = hdrs_get(&x->rqh, "x-forwarded-for");
	size_t			 i;

	snprintf(st->xff, sizeof(st->xff), "%s%s%s", xff ? xff : "",
	    xff ? ", " : "", x->client_ip);
	h2nv_add(&nv, ":method", x->method);
	h2nv_add(&nv, ":scheme", "http");
	h2nv_add(&nv, ":authority", x->authority);
	h2nv_add(&nv, ":path", x->path);
	for (i = 0; i < x->rqh.n; i++) {
		const char *n = x->rqh.v[i].name;
		if ((h2_is_hop(n) && strcmp(n, "te") != 0) ||
		    strcmp(n, "x-forwarded-for") == 0)
			continue;
		if (strcmp(n, "te") == 0 && strcmp(x->rqh.v[i].value,
		    "trailers") != 0)
			continue;
		h2nv_add(&nv, n, x->rqh.v[i].value);
	}
	h2nv_add(&nv, "x-forwarded-for", st->xff);
	h2nv_add(&nv, "x-forwarded-proto", x->scheme);
	if (x->req_clen >= 0) {
		snprintf(st->clen, sizeof(st->clen), "%lld",
		    (long long)x->req_clen);
		h2nv_add(&nv, "content-length", st->clen);
	}
	dp.source.ptr = &st->req;
	dp.read_callback = h2_body_read;
	st->id = nghttp2_submit_request(st->c->io.s, NULL, nv.v, nv.n,
	    x->req_clen == -2 ? NULL : &dp, st);
	h2nv_free(&nv);
	return st->id < 0 ? -1 : 0;
}

int
up_h2_start(struct xch *x)
{
	struct h2up		*c;
	struct h2ustream	*st;
	char			 key[300];
	struct timeval		 tv;
	int			 ms;

	if (conns.tqh_last == NULL)
		TAILQ_INIT(&conns);
	snprintf(key, sizeof(key), "%s:%d", x->be->host, x->be->port);
	for (c = TAILQ_FIRST(&conns); c != NULL; c = TAILQ_NEXT(c, entry))
		if (c_usable(c, key))
			break;
	if (c != NULL)
		px->m.up_conn_reused++;
	else if ((c = c_new(x->be)) == NULL)
		return -1;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	st->c = c;
	st->req.drained = s_drained;
	st->req.owner = st;
	st->req.buf = evbuffer_new();
	st->tmp = evbuffer_new();
	st->tmo = evtimer_new(px->base, s_timeout, st);
	LIST_INSERT_HEAD(&c->streams, st, entry);
	c->nstreams++;
	if (st->req.buf == NULL || st->tmp == NULL || st->tmo == NULL ||
	    s_submit(st, x) == -1) {
		s_free(st);
		return -1;
	}
	c->opened++;
	evtimer_del(c->tmo);
	st->x = x;
	x->uops = &ux_ops;
	x->uarg = st;
	if (x->req_clen == -2)
		st->req.eof = 1;
	if ((ms = xch_backend_timeout(x)) > 0) {
		px_tv_ms(&tv, ms);
		evtimer_add(st->tmo, &tv);
	}
	c_schedule(c);
	return 0;
}

static void
c_pump(struct h2up *c)
{
	if (!c->dead && h2_pump(&c->io) == -1)
		c->dead = 1;
	if (c->dead)
		event_active(c->defer, 0, 0);
}

/* Ops called from a downstream's stack frame only schedule the send. */
static void
c_schedule(struct h2up *c)
{
	event_active(c->defer, 0, 0);
}

static void
c_deferred(evutil_socket_t fd, short ev, void *arg)
{
	struct h2up		*c = arg;
	struct h2ustream	*st;

	(void)fd;
	(void)ev;
	/* Streams whose request queue drained: the client may send more. */
	LIST_FOREACH(st, &c->streams, entry)
		if (st->req.resume) {
			st->req.resume = 0;
			if (st->x != NULL && st->x->dops->resume != NULL)
				st->x->dops->resume(st->x);
		}
	if (!c->dead && h2_pump(&c->io) == -1)
		c->dead = 1;
	if (c->dead)
		c_free(c, 502);
}

static void
s_drained(struct h2body *b)
{
	struct h2ustream	*st = b->owner;

	b->resume = 1;
	c_schedule(st->c);
}

static void
c_idle(evutil_socket_t fd, short ev, void *arg)
{
	struct h2up	*c = arg;

	(void)fd;
	(void)ev;
	if (c->nstreams == 0)
		c_free(c, 502);
}

static void
c_read(struct bufferevent *bev, void *arg)
{
	struct h2up	*c = arg;
	struct timeval	 tv;

	(void)bev;
	if (c->dead)
		return;
	if (h2_feed(&c->io) == -1)
		c->dead = 1;
	c_pump(c);
	if (!c->dead && c->nstreams == 0) {
		/* A retired connection (stream or age bound reached) takes
		 * no new streams: close it now, not after the idle time --
		 * under load thousands of them (each with its nghttp2
		 * session) would pile up. */
		px_tv_ms(&tv, c->goaway || c->opened >= px->cf.up_max_requests ?
		    0 : px->cf.up_idle_ms);
		evtimer_add(c->tmo, &tv);
	}
}

static void
c_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	c_pump(arg);
}

static void
c_event(struct bufferevent *bev, short what, void *arg)
{
	struct h2up	*c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		px_nodelay(bufferevent_getfd(bev));
		c->connected = 1;
		c_pump(c);
		return;
	}
	if (!c->connected && bufferevent_socket_get_dns_error(bev) != 0) {
		log_warnx("backend %s: cannot resolve", c->key);
		c_free(c, 503);
		return;
	}
	c_free(c, 502);
}

static void
ux_data(struct xch *x, struct evbuffer *b)
{
	struct h2ustream	*st = x->uarg;

	evbuffer_add_buffer(st->req.buf, b);
	h2_body_kick(st->c->io.s, st->id, &st->req);
	c_schedule(st->c);
}

static void
ux_end(struct xch *x, struct hdrs *trailers)
{
	struct h2ustream	*st = x->uarg;

	(void)trailers;
	if (st->req.eof)
		return;
	st->req.eof = 1;
	h2_body_kick(st->c->io.s, st->id, &st->req);
	c_schedule(st->c);
}

static void
ux_abort(struct xch *x)
{
	struct h2ustream	*st = x->uarg;

	st->x = NULL;
	nghttp2_submit_rst_stream(st->c->io.s, NGHTTP2_FLAG_NONE, st->id,
	    NGHTTP2_CANCEL);
	c_schedule(st->c);
}

static void
ux_resume(struct xch *x)
{
	struct h2ustream	*st = x->uarg;

	if (st->unconsumed > 0) {
		nghttp2_session_consume(st->c->io.s, st->id, st->unconsumed);
		st->unconsumed = 0;
		c_schedule(st->c);
	}
}

static size_t
ux_pending(struct xch *x)
{
	struct h2ustream	*st = x->uarg;

	return evbuffer_get_length(st->req.buf);
}
