/* SPDX-License-Identifier: Apache-2.0 */
/*
 * down_h2: HTTP/2 server connections (TLS with ALPN h2, or prior knowledge
 * on the plain listener).  Each stream becomes an exchange.  gRPC requests
 * (content-type application/grpc*) are routed through the host's grpc
 * rules; a gRPC request that matches nothing gets HTTP 200 with
 * grpc-status 12 (UNIMPLEMENTED) and an upstream failure grpc-status 14
 * (UNAVAILABLE), both as trailers-only responses.  Flow control is manual:
 * request bytes are acknowledged only as fast as the upstream takes them.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2.h"
#include "log.h"

struct h2conn {
	struct h2io		 io;
	struct event		*tmo;
	struct event		*defer;
	LIST_HEAD(h2slist, h2stream) streams;
	char			 ip[64];
	int			 tls;
	int			 nstreams;
	unsigned		 resets;	/* streams the client reset */
	unsigned		 started;	/* streams routed */
	int			 dead;
	int			 in_cb;
};

struct h2stream {
	struct h2conn		*c;
	int32_t			 id;
	struct xch		*x;
	struct h2body		 resp;
	struct evbuffer		*tmp;
	size_t			 hbytes;
	size_t			 unconsumed;
	int			 head_sent;
	int			 started;
	char			 clen[24];
	char			 status[8];
	LIST_ENTRY(h2stream)	 entry;
};

static void	 dh2_read(struct bufferevent *, void *);
static void	 dh2_write(struct bufferevent *, void *);
static void	 dh2_event(struct bufferevent *, short, void *);
static void	 dh2_timeout(evutil_socket_t, short, void *);
static void	 dh2_free(struct h2conn *);
static void	 dh2_pump(struct h2conn *);
static void	 dh2_deferred(evutil_socket_t, short, void *);
static void	 dh2_schedule(struct h2conn *);
static void	 sx_drained(struct h2body *);

static void	 sx_head(struct xch *, int, struct hdrs *, int64_t);
static void	 sx_data(struct xch *, struct evbuffer *);
static void	 sx_end(struct xch *, struct hdrs *);
static void	 sx_fail(struct xch *, int);
static void	 sx_resume(struct xch *);
static size_t	 sx_pending(struct xch *);

static const struct down_ops sx_ops = {
	sx_head, sx_data, sx_end, sx_fail, sx_resume, sx_pending, NULL
};

static struct h2stream *
st_get(struct h2conn *c, int32_t id)
{
	return nghttp2_session_get_stream_user_data(c->io.s, id);
}

static void
st_free(struct h2stream *st)
{
	struct xch	*x = st->x;

	st->x = NULL;
	if (x != NULL)
		xch_down_detach(x);
	hdrs_clear(&st->resp.trailers);
	if (st->resp.buf != NULL)
		evbuffer_free(st->resp.buf);
	if (st->tmp != NULL)
		evbuffer_free(st->tmp);
	st->c->nstreams--;
	LIST_REMOVE(st, entry);
	free(st);
}

static int
on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct h2conn	*c = arg;
	struct h2stream	*st;

	if (f->hd.type != NGHTTP2_HEADERS ||
	    f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->x = xch_new()) == NULL ||
	    (st->resp.buf = evbuffer_new()) == NULL ||
	    (st->tmp = evbuffer_new()) == NULL) {
		if (st != NULL) {
			if (st->x != NULL)
				xch_down_detach(st->x);
			if (st->resp.buf != NULL)
				evbuffer_free(st->resp.buf);
			free(st);
		}
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	st->c = c;
	st->id = f->hd.stream_id;
	st->resp.drained = sx_drained;
	st->resp.owner = st;
	st->x->darg = st;
	st->x->dops = &sx_ops;
	st->x->req_clen = -1;
	st->x->scheme = c->tls ? "https" : "http";
	snprintf(st->x->client_ip, sizeof(st->x->client_ip), "%s", c->ip);
	c->nstreams++;
	LIST_INSERT_HEAD(&c->streams, st, entry);
	nghttp2_session_set_stream_user_data(s, st->id, st);
	return 0;
}

static int
on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *n,
    size_t nl, const uint8_t *v, size_t vl, uint8_t flags, void *arg)
{
	struct h2conn	*c = arg;
	struct h2stream	*st = st_get(c, f->hd.stream_id);
	struct xch	*x;
	char		**slot = NULL;

	(void)s;
	(void)flags;
	if (st == NULL || st->x == NULL || st->started)
		return 0;		/* request trailers are dropped */
	x = st->x;
	if ((st->hbytes += nl + vl + 32) > H2_MAX_HEADER_BYTES)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (nl == 7 && memcmp(n, ":method", 7) == 0)
		slot = &x->method;
	else if (nl == 5 && memcmp(n, ":path", 5) == 0)
		slot = &x->path;
	else if (nl == 10 && memcmp(n, ":authority", 10) == 0)
		slot = &x->authority;
	else if (n[0] == ':')
		return 0;
	else if (nl == 4 && memcmp(n, "host", 4) == 0) {
		if (x->authority == NULL)
			slot = &x->authority;
	} else {
		if (nl == 12 && memcmp(n, "content-type", 12) == 0 &&
		    vl >= 16 && memcmp(v, "application/grpc", 16) == 0)
			x->grpc = 1;
		if (nl == 14 && memcmp(n, "content-length", 14) == 0)
			return 0;
		if (nl == 17 && memcmp(n, "x-forwarded-proto", 17) == 0) {
			xfp_scheme(x, (const char *)v, vl);
			return 0;
		}
		if (nl == 2 && memcmp(n, "te", 2) == 0)
			return 0;
		if (hdrs_add(&x->rqh, (const char *)n, nl, (const char *)v,
		    vl) == -1)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		return 0;
	}
	if (slot != NULL) {
		free(*slot);
		if ((*slot = strndup((const char *)v, vl)) == NULL)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static void
st_start(struct h2conn *c, struct h2stream *st, int eos)
{
	struct xch	*x = st->x;

	st->started = 1;
	if (x->method == NULL || x->path == NULL || x->path[0] != '/') {
		nghttp2_submit_rst_stream(c->io.s, NGHTTP2_FLAG_NONE, st->id,
		    NGHTTP2_PROTOCOL_ERROR);
		return;
	}
	if (eos)
		x->req_clen = -2;
	x->head_only = strcmp(x->method, "HEAD") == 0;
	if (x->grpc)
		hdrs_add(&x->rqh, "te", 2, "trailers", 8);
	xch_route_and_start(x, x->grpc);
	if (eos && st->x != NULL)
		xch_send_end(st->x, NULL);
}

static int
on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct h2conn	*c = arg;
	struct h2stream	*st = st_get(c, f->hd.stream_id);
	int		 eos = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	(void)s;
	if (f->hd.type == NGHTTP2_RST_STREAM && ++c->resets > H2_MAX_RESETS &&
	    c->resets > c->started / 2) {
		/* Rapid reset (CVE-2023-44487): mostly-cancelled streams. */
		log_warnx("client %s: %u stream resets, closing", c->ip,
		    c->resets);
		nghttp2_session_terminate_session(c->io.s,
		    NGHTTP2_ENHANCE_YOUR_CALM);
		return 0;
	}
	if (st == NULL)
		return 0;
	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		if (!st->started && st->x != NULL) {
			c->started++;
			st_start(c, st, eos);
		}
		else if (eos && st->x != NULL)
			xch_send_end(st->x, NULL);
		break;
	case NGHTTP2_DATA:
		if (eos && st->x != NULL && st->started)
			xch_send_end(st->x, NULL);
		break;
	}
	return 0;
}

static int
on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d,
    size_t len, void *arg)
{
	struct h2conn	*c = arg;
	struct h2stream	*st = st_get(c, id);
	struct xch	*x;

	(void)flags;
	if (st == NULL || st->x == NULL || !st->started) {
		nghttp2_session_consume(s, id, len);
		return 0;
	}
	x = st->x;
	evbuffer_add(st->tmp, d, len);
	xch_send(x, st->tmp);
	if (st->x == x && xch_up_pending(x) > PX_HIGH_WATER)
		st->unconsumed += len;
	else
		nghttp2_session_consume(s, id, len);
	return 0;
}

static int
on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *arg)
{
	struct h2conn	*c = arg;
	struct h2stream	*st = st_get(c, id);

	(void)err;
	if (st == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	st_free(st);
	return 0;
}

void
down_h2_accept(struct bufferevent *bev, const char *ip, int tls,
    const char *unused, size_t unusedlen)
{
	struct h2conn			*c;
	nghttp2_session_callbacks	*cb;
	nghttp2_option			*opt;
	nghttp2_settings_entry		 iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_BYTES },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20 },
	};
	struct timeval			 tv;

	(void)unused;
	(void)unusedlen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		bufferevent_free(bev);
		px_conn_release();
		return;
	}
	c->io.bev = bev;
	c->tls = tls;
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	nghttp2_session_callbacks_new(&cb);
	h2_callbacks_common(cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
	    on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb,
	    on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    on_stream_close);
	nghttp2_option_new(&opt);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_session_server_new2(&c->io.s, cb, c, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	LIST_INIT(&c->streams);
	c->tmo = evtimer_new(px->base, dh2_timeout, c);
	c->defer = event_new(px->base, -1, 0, dh2_deferred, c);
	if (c->io.s == NULL || c->tmo == NULL || c->defer == NULL) {
		dh2_free(c);
		return;
	}
	nghttp2_submit_settings(c->io.s, NGHTTP2_FLAG_NONE, iv, 3);
	nghttp2_session_set_local_window_size(c->io.s, NGHTTP2_FLAG_NONE, 0,
	    4 << 20);
	bufferevent_setcb(bev, dh2_read, dh2_write, dh2_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	px_tv_ms(&tv, px->cf.idle_timeout_ms);
	evtimer_add(c->tmo, &tv);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		dh2_read(bev, c);
	else
		dh2_pump(c);
}

/* Only from a top-level event callback: detaching aborts upstreams. */
static void
dh2_free(struct h2conn *c)
{
	struct h2stream	*st;

	while ((st = LIST_FIRST(&c->streams)) != NULL)
		st_free(st);
	if (c->io.s != NULL)
		nghttp2_session_del(c->io.s);
	if (c->tmo != NULL)
		event_free(c->tmo);
	if (c->defer != NULL)
		event_free(c->defer);
	bufferevent_free(c->io.bev);
	free(c);
	px_conn_release();
}

/* Send what is pending; a finished connection is freed later. */
static void
dh2_pump(struct h2conn *c)
{
	if (c->in_cb)
		return;
	if (c->dead || h2_pump(&c->io) == -1) {
		c->dead = 1;
		bufferevent_disable(c->io.bev, EV_READ);
		event_active(c->defer, 0, 0);
	}
}

/* Ops called from an upstream's stack frame only schedule the send. */
static void
dh2_schedule(struct h2conn *c)
{
	event_active(c->defer, 0, 0);
}

static void
dh2_deferred(evutil_socket_t fd, short ev, void *arg)
{
	struct h2conn	*c = arg;

	struct h2stream	*st;

	(void)fd;
	(void)ev;
	/* Streams whose queue drained: let their upstream read again. */
	LIST_FOREACH(st, &c->streams, entry)
		if (st->resp.resume) {
			st->resp.resume = 0;
			if (st->x != NULL)
				xch_up_resume(st->x);
		}
	if (!c->dead)
		dh2_pump(c);
	if (c->dead && evbuffer_get_length(bufferevent_get_output(
	    c->io.bev)) == 0)
		dh2_free(c);
}

static void
sx_drained(struct h2body *b)
{
	struct h2stream	*st = b->owner;

	b->resume = 1;
	dh2_schedule(st->c);
}

static void
dh2_read(struct bufferevent *bev, void *arg)
{
	struct h2conn	*c = arg;
	struct timeval	 tv;

	(void)bev;
	px_tv_ms(&tv, px->cf.idle_timeout_ms);
	evtimer_add(c->tmo, &tv);
	c->in_cb = 1;
	if (h2_feed(&c->io) == -1)
		c->dead = 1;
	c->in_cb = 0;
	dh2_pump(c);
}

static void
dh2_write(struct bufferevent *bev, void *arg)
{
	struct h2conn	*c = arg;

	(void)bev;
	if (c->dead) {
		dh2_free(c);
		return;
	}
	dh2_pump(c);
}

static void
dh2_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	dh2_free(arg);
}

static void
dh2_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct h2conn	*c = arg;
	struct timeval	 tv;

	(void)fd;
	(void)ev;
	if (c->nstreams > 0) {
		px_tv_ms(&tv, px->cf.idle_timeout_ms);
		evtimer_add(c->tmo, &tv);
		return;
	}
	nghttp2_session_terminate_session(c->io.s, NGHTTP2_NO_ERROR);
	c->dead = 1;
	dh2_pump(c);
}

/* Response side (called by the upstream through the exchange). */

static void
sx_submit(struct h2stream *st, int status, struct hdrs *h, int64_t clen,
    int with_body)
{
	struct h2nv		 nv = { 0 };
	nghttp2_data_provider	 dp;
	size_t			 i;

	snprintf(st->status, sizeof(st->status), "%d", status);
	h2nv_add(&nv, ":status", st->status);
	for (i = 0; h != NULL && i < h->n; i++)
		if (!h2_is_hop(h->v[i].name))
			h2nv_add(&nv, h->v[i].name, h->v[i].value);
	if (clen >= 0) {
		snprintf(st->clen, sizeof(st->clen), "%lld", (long long)clen);
		h2nv_add(&nv, "content-length", st->clen);
	}
	dp.source.ptr = &st->resp;
	dp.read_callback = h2_body_read;
	nghttp2_submit_response(st->c->io.s, st->id, nv.v, nv.n,
	    with_body ? &dp : NULL);
	h2nv_free(&nv);
	st->head_sent = 1;
}

static void
sx_head(struct xch *x, int status, struct hdrs *h, int64_t clen)
{
	struct h2stream	*st = x->darg;

	if (status < 200)
		return;			/* interim responses are not relayed */
	sx_submit(st, status, h, clen, clen != -2 && !x->head_only);
	dh2_schedule(st->c);
}

static void
sx_data(struct xch *x, struct evbuffer *b)
{
	struct h2stream	*st = x->darg;

	evbuffer_add_buffer(st->resp.buf, b);
	h2_body_kick(st->c->io.s, st->id, &st->resp);
	dh2_schedule(st->c);
}

static void
sx_end(struct xch *x, struct hdrs *trailers)
{
	struct h2stream	*st = x->darg;
	struct h2conn	*c = st->c;

	st->resp.eof = 1;
	if (trailers != NULL && trailers->n > 0) {
		st->resp.has_trailers = 1;
		(void)hdrs_copy(&st->resp.trailers, trailers);
	}
	h2_body_kick(c->io.s, st->id, &st->resp);
	st->x = NULL;
	xch_down_detach(x);
	dh2_schedule(c);
}

static void
sx_fail(struct xch *x, int status)
{
	struct h2stream	*st = x->darg;
	struct h2conn	*c = st->c;
	struct hdrs	 h = { 0 }, t = { 0 };
	char		 body[64];
	const char	*gs = status == 404 ? "12" : "14";
	const char	*gm = status == 404 ? "no route for this method" :
			    "upstream unavailable";

	if (x->grpc && !st->head_sent) {
		hdrs_add(&h, "content-type", 12, "application/grpc", 16);
		hdrs_add(&h, "grpc-status", 11, gs, 2);
		hdrs_add(&h, "grpc-message", 12, gm, strlen(gm));
		sx_submit(st, 200, &h, -1, 0);
		hdrs_clear(&h);
		st->resp.eof = 1;
	} else if (x->grpc) {
		hdrs_add(&t, "grpc-status", 11, gs, 2);
		hdrs_add(&t, "grpc-message", 12, gm, strlen(gm));
		sx_end(x, &t);
		hdrs_clear(&t);
		return;
	} else if (!st->head_sent) {
		px_local_body(status, body, sizeof(body));
		hdrs_add(&h, "content-type", 12, "text/plain", 10);
		evbuffer_add(st->resp.buf, body, strlen(body));
		st->resp.eof = 1;
		sx_submit(st, status, &h, strlen(body), !x->head_only);
		hdrs_clear(&h);
	} else
		nghttp2_submit_rst_stream(c->io.s, NGHTTP2_FLAG_NONE, st->id,
		    NGHTTP2_INTERNAL_ERROR);
	st->x = NULL;
	xch_down_detach(x);
	dh2_schedule(c);
}

static void
sx_resume(struct xch *x)
{
	struct h2stream	*st = x->darg;

	if (st->unconsumed > 0) {
		nghttp2_session_consume(st->c->io.s, st->id, st->unconsumed);
		st->unconsumed = 0;
		dh2_schedule(st->c);
	}
}

static size_t
sx_pending(struct xch *x)
{
	struct h2stream	*st = x->darg;

	return evbuffer_get_length(st->resp.buf);
}
