/* SPDX-License-Identifier: Apache-2.0 */
/*
 * down_h1: HTTP/1.x client connections (plain, or TLS with ALPN
 * http/1.1).  Reads one request head at a time with the strict parser,
 * streams the body to the upstream, writes the response back (re-framed:
 * Content-Length when known, else chunked), and keeps the connection alive
 * when both sides allow it.  A malformed request gets its 4xx and the
 * connection is closed; nothing after it is trusted.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <event2/event_struct.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http1.h"
#include "log.h"
#include "httpfield.h"
#include "proxy.h"

enum dstate { D_HEAD, D_BODY, D_WAIT, D_PIPE, D_CLOSING, D_LINGER };
enum bmode { B_NONE, B_CLEN, B_CHUNKED };

struct dconn {
	struct bufferevent	*bev;
	struct evbuffer		*tmp;
	struct event		*tmo;
	struct event		*defer;
	char			 ip[INET6_ADDRSTRLEN];
	int			 tls;
	enum dstate		 state;
	struct h1_scan		 scan;
	struct xch		*x;
	enum bmode		 body;
	uint64_t		 left;
	struct h1_chunk		 ch;
	int			 req_done;
	int			 head_sent;
	int			 resp_chunked;
	int			 resp_close;	/* close-delimited body */
	int			 resp_done;
	int			 keepalive;
	int			 minor;
	int			 paused;
	int			 wpending;	/* EV_WRITE on, for leftovers */
	int			 park_at;	/* tmo parks, not expires */
	struct event		 tmo_ev;
	struct event		 defer_ev;
	struct event		 rd_ev;		/* plain sockets: our reads */
	int			 reading;	/* rd_ev added */
};

/*
 * A plain keep-alive connection idle this long is parked: its struct
 * dconn and bufferevent (about 1.5 KB with buffers and events) are freed
 * and only its descriptor waits, in the thread's parking lot (park.c);
 * the next byte brings a fresh dconn and bufferevent (and the client's
 * address, again from getpeername(2)).
 */
#define D_PARK_MS	1000

/*
 * The connection timers have a few fixed durations: libevent's common
 * timeouts keep each in a queue (O(1) add and delete) instead of the
 * timer heap.  Per thread, set up with the first connection.
 */
enum dtimer { T_HEAD, T_IDLE, T_PARK, T_REST, T_N };

static __thread const struct timeval	*d_ct[T_N];
static __thread int			 d_ct_done;

static int
d_tmo_ms(enum dtimer t)
{
	switch (t) {
	case T_HEAD:
		return px->cf.header_timeout_ms;
	case T_IDLE:
		return px->cf.idle_timeout_ms;
	case T_PARK:
		return D_PARK_MS;
	default:
		return px->cf.idle_timeout_ms - D_PARK_MS;
	}
}

static void
d_arm(struct event *ev, enum dtimer t)
{
	struct timeval	 tv;
	int		 i;

	if (!d_ct_done) {
		d_ct_done = 1;
		for (i = 0; i < T_N; i++)
			if (px_tv_ms(&tv, d_tmo_ms(i)))
				d_ct[i] = event_base_init_common_timeout(
				    px->base, &tv);
	}
	if (d_ct[t] != NULL)
		event_add(ev, d_ct[t]);
	else {
		px_tv_ms(&tv, d_tmo_ms(t));
		event_add(ev, &tv);
	}
}

static void	 d_read(struct bufferevent *, void *);
static void	 d_write(struct bufferevent *, void *);
static void	 d_event(struct bufferevent *, short, void *);
static void	 d_timeout(evutil_socket_t, short, void *);
static void	 d_deferred(evutil_socket_t, short, void *);
static void	 d_free(struct dconn *);
static void	 d_close_after_write(struct dconn *);
static void	 d_linger(struct dconn *);
static void	 d_next(struct dconn *);
static void	 d_error(struct dconn *, int);
static int	 d_head(struct dconn *);
static int	 d_head_in(struct dconn *, const char *, size_t, int);
static int	 d_body(struct dconn *);
static void	 d_finish(struct dconn *);
static void	 d_kick(struct dconn *);
static void	 d_flush(struct dconn *);
static void	 d_park(struct dconn *);
static void	 d_setup(struct dconn *, struct bufferevent *);
static void	 d_recv(evutil_socket_t, short, void *);
static void	 d_recv_head(struct dconn *, evutil_socket_t);
static void	 d_rd(struct dconn *, int);

static void	 dh1_head(struct xch *, int, struct hdrs *, int64_t);
static void	 dh1_data(struct xch *, struct evbuffer *);
static void	 dh1_end(struct xch *, struct hdrs *);
static void	 dh1_fail(struct xch *, int);
static void	 dh1_resume(struct xch *);
static size_t	 dh1_pending(struct xch *);

static const struct down_ops dh1_ops = {
	dh1_head, dh1_data, dh1_end, dh1_fail, dh1_resume, dh1_pending, NULL
};

void
down_h1_accept(struct bufferevent *bev, const char *ip, int tls,
    const char *unused, size_t unusedlen)
{
	struct dconn	*d;

	(void)unused;
	(void)unusedlen;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		bufferevent_free(bev);
		px_conn_release();
		return;
	}
	d->tls = tls;
	snprintf(d->ip, sizeof(d->ip), "%s", ip);
	d_setup(d, bev);
}

/* A new or unparked connection's struct around its bufferevent. */
static void
d_setup(struct dconn *d, struct bufferevent *bev)
{
	d->tmo = &d->tmo_ev;
	d->defer = &d->defer_ev;
	evtimer_assign(d->tmo, px->base, d_timeout, d);
	event_assign(d->defer, px->base, -1, 0, d_deferred, d);
	d->bev = bev;
	bufferevent_setcb(bev, d_read, d_write, d_event, d);
	/* Plain sockets: answers are written directly (d_flush); libevent
	 * writes only what the socket did not take, so a request costs no
	 * epoll_ctl(2) for EPOLLOUT. */
	if (d->tls)
		bufferevent_enable(bev, EV_READ | EV_WRITE);
	else {
		/* ... and read by d_recv: recv(2) without libevent's
		 * FIONREAD ioctl before every read. */
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		event_assign(&d->rd_ev, px->base, bufferevent_getfd(bev),
		    EV_READ | EV_PERSIST, d_recv, d);
	}
	d_next(d);
}

/* Read from the client on (1) or off (0). */
static void
d_rd(struct dconn *d, int on)
{
	if (d->tls) {
		if (on)
			bufferevent_enable(d->bev, EV_READ);
		else
			bufferevent_disable(d->bev, EV_READ);
		return;
	}
	if (on == d->reading)
		return;
	d->reading = on;
	if (on)
		event_add(&d->rd_ev, NULL);
	else
		event_del(&d->rd_ev);
}

/* Plain sockets: the client's bytes, into the bufferevent's input. */
static void
d_recv(evutil_socket_t fd, short ev, void *arg)
{
	struct dconn		*d = arg;
	struct evbuffer		*in;
	struct evbuffer_iovec	 v;
	ssize_t			 n;
	short			 what;

	(void)ev;
	in = bufferevent_get_input(d->bev);
	if (d->state == D_HEAD && d->scan.pos == 0 &&
	    evbuffer_get_length(in) == 0) {
		d_recv_head(d, fd);
		return;
	}
	evbuffer_unfreeze(in, 0);
	if (evbuffer_reserve_space(in, 4096, &v, 1) < 1) {
		evbuffer_freeze(in, 0);
		d_free(d);
		return;
	}
	if ((n = recv(fd, v.iov_base, v.iov_len, 0)) > 0) {
		v.iov_len = n;
		evbuffer_commit_space(in, &v, 1);
	}
	evbuffer_freeze(in, 0);
	if (n > 0)
		d_read(d->bev, d);
	else if ((what = px_recv_event(n)) != 0)
		d_event(d->bev, what, d);
}

/*
 * Waiting for a request head with nothing buffered: read into the
 * thread's scratch buffer and take the head from there (d_head_in), so
 * a request that arrives whole costs no buffer allocation.
 */
static void
d_recv_head(struct dconn *d, evutil_socket_t fd)
{
	const char	*p;
	ssize_t		 n;
	short		 what;

	if ((n = px_recv_scratch(fd, &p)) < 1) {
		if ((what = px_recv_event(n)) != 0)
			d_event(d->bev, what, d);
		return;
	}
	/* Tolerate stray CRLFs between requests (RFC 9112 2.2). */
	while (n >= 2 && p[0] == '\r' && p[1] == '\n') {
		p += 2;
		n -= 2;
	}
	if (n == 0 || d_head_in(d, p, n, 0) == -1)
		return;
	if (d->state == D_BODY)
		(void)d_body(d);
}

/* Ready for the next request head. */
static void
d_next(struct dconn *d)
{
	size_t		 have = evbuffer_get_length(bufferevent_get_input(
			    d->bev));

	memset(&d->scan, 0, sizeof(d->scan));
	memset(&d->ch, 0, sizeof(d->ch));
	d->state = D_HEAD;
	d->body = B_NONE;
	d->req_done = d->head_sent = d->resp_done = 0;
	d->resp_chunked = d->resp_close = 0;
	d->x = NULL;
	if (d->tmp != NULL) {	/* idle connections stay small */
		evbuffer_free(d->tmp);
		d->tmp = NULL;
	}
	d->park_at = !have && !d->tls && px->cf.idle_timeout_ms > D_PARK_MS;
	d_arm(d->tmo, have ? T_HEAD : d->park_at ? T_PARK : T_IDLE);
	d_rd(d, 1);
	if (have)
		event_active(d->defer, 0, 0);
}

/* Idle for D_PARK_MS: only the descriptor waits, in the parking lot. */
static void
d_park(struct dconn *d)
{
	evutil_socket_t	 fd = bufferevent_getfd(d->bev);

	d->park_at = 0;
	if (park_fd(fd, d_tmo_ms(T_REST), 0) == -1) {
		d_arm(d->tmo, T_REST);	/* stay as it is until the idle end */
		return;
	}
	px_threads_parked();
	event_del(&d->rd_ev);
	event_del(d->tmo);
	event_del(d->defer);
	bufferevent_setfd(d->bev, -1);	/* so freeing it keeps the fd */
	bufferevent_free(d->bev);
	free(d);
}

/*
 * A parked connection's client sent something (park.c), or a new one
 * sent its first HTTP/1 bytes (listener.c): serve it.
 */
void
down_h1_unpark(int fd)
{
	struct dconn		*d;
	struct bufferevent	*bev = NULL;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    px_peer_ip(fd, d->ip, sizeof(d->ip)) == -1 ||
	    (bev = bufferevent_socket_new(px->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(d);
		evutil_closesocket(fd);
		px_conn_release();
		return;
	}
	d_setup(d, bev);
	d_recv(fd, EV_READ, d);
}

/* Work that must not run inside the caller's stack frame. */
static void
d_deferred(evutil_socket_t fd, short ev, void *arg)
{
	struct dconn	*d = arg;

	(void)fd;
	(void)ev;
	d_flush(d);
	/* Drained at once: an upstream paused for our queue may go on. */
	if (d->x != NULL) {
		/* d may be gone after this; nothing below applies anyway. */
		if (!d->wpending && evbuffer_get_length(
		    bufferevent_get_output(d->bev)) == 0)
			xch_up_resume(d->x);
		return;
	}
	if (d->state == D_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(d->bev)) == 0)
			d_linger(d);
	} else if (d->state == D_HEAD && evbuffer_get_length(
	    bufferevent_get_input(d->bev)) > 0)
		d_read(d->bev, d);
}

/* Output was added: write it once the current callback is done. */
static void
d_kick(struct dconn *d)
{
	event_active(d->defer, 0, 0);
}

/*
 * Write what is queued straight to the socket; if the socket does not
 * take it all, let the bufferevent write the rest (d_write turns EV_WRITE
 * off again once it drained).
 */
static void
d_flush(struct dconn *d)
{
	if (d->tls || d->wpending)
		return;
	if (px_bev_write(d->bev) > 0) {
		d->wpending = 1;
		bufferevent_enable(d->bev, EV_WRITE);
	}
}

static void
d_free(struct dconn *d)
{
	if (d->x != NULL) {
		struct xch *x = d->x;
		d->x = NULL;
		xch_down_detach(x);
	}
	event_del(d->tmo);
	event_del(d->defer);
	if (!d->tls)
		event_del(&d->rd_ev);
	if (d->tmp != NULL)
		evbuffer_free(d->tmp);
	bufferevent_free(d->bev);
	free(d);
	px_conn_release();
}

/*
 * Lingering close: after the last response, half-close and drain what the
 * client still sends for a moment, so our answer is not destroyed by a
 * reset caused by unread input.
 */
static void
d_linger(struct dconn *d)
{
	struct timeval	 tv = { 1, 0 };
	evutil_socket_t	 fd = bufferevent_getfd(d->bev);

	if (d->tls || fd == -1 || evbuffer_get_length(bufferevent_get_input(
	    d->bev)) == 0 || shutdown(fd, SHUT_WR) == -1) {
		d_free(d);
		return;
	}
	d->state = D_LINGER;
	evbuffer_drain(bufferevent_get_input(d->bev),
	    evbuffer_get_length(bufferevent_get_input(d->bev)));
	evtimer_add(d->tmo, &tv);
	d_rd(d, 1);
}

static void
d_close_after_write(struct dconn *d)
{
	d->state = D_CLOSING;
	d_rd(d, 0);
	evtimer_del(d->tmo);
	d_kick(d);
}

static void
d_write(struct bufferevent *bev, void *arg)
{
	struct dconn	*d = arg;

	(void)bev;
	if (!d->tls && d->wpending) {
		d->wpending = 0;
		bufferevent_disable(d->bev, EV_WRITE);
	}
	if (d->state == D_CLOSING) {
		d_linger(d);
		return;
	}
	if (d->x != NULL)
		xch_up_resume(d->x);
	if (d->x != NULL && d->state == D_PIPE && d->paused) {
		d->paused = 0;
		d_rd(d, 1);
	}
}

static void
d_event(struct bufferevent *bev, short what, void *arg)
{
	struct dconn	*d = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF && d->state == D_PIPE && d->x != NULL) {
		/* WebSocket client closed: tell the upstream, then finish. */
		xch_send_end(d->x, NULL);
	}
	d_free(d);
}

static void
d_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct dconn	*d = arg;

	(void)fd;
	(void)ev;
	if (d->state == D_HEAD && (d->scan.pos > 0 || evbuffer_get_length(
	    bufferevent_get_input(d->bev)) > 0)) {
		d_error(d, 408);
		return;
	}
	if (d->state == D_HEAD && d->park_at) {
		d_park(d);
		return;
	}
	d_free(d);
}

/* Answer a local error and close; the rest of the input is not trusted. */
static void
d_error(struct dconn *d, int status)
{
	char	 body[64];

	px->m.bad_requests += status == 400;
	xch_count(status);
	px_local_body(status, body, sizeof(body));
	evbuffer_add_printf(bufferevent_get_output(d->bev),
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
	    http_reason(status), strlen(body), body);
	d_close_after_write(d);
}

static void
d_read(struct bufferevent *bev, void *arg)
{
	struct dconn	*d = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	switch (d->state) {
	case D_HEAD:
		if (d_head(d) == -1)
			return;
		if (d->state != D_BODY)
			break;
		/* FALLTHROUGH */
	case D_BODY:
		(void)d_body(d);
		break;
	case D_PIPE:
		if (d->x != NULL) {
			xch_send(d->x, in);
			if (xch_up_pending(d->x) > PX_HIGH_WATER) {
				d->paused = 1;
				d_rd(d, 0);
			}
		} else
			evbuffer_drain(in, evbuffer_get_length(in));
		break;
	case D_WAIT:
		/* Pipelined bytes wait until the response is done. */
		d_rd(d, 0);
		break;
	case D_CLOSING:
	case D_LINGER:
		evbuffer_drain(in, evbuffer_get_length(in));
		break;
	}
}

/*
 * Request fields not relayed: the hop-by-hop ones, and those the proxy
 * writes itself (Host as the authority, X-Forwarded-Proto) or does not
 * take up (HTTP2-Settings).
 */
static int
is_hop(const char *n, size_t l)
{
	return http_field_framing(n, l) ||
	    (l == 4 && strncasecmp(n, "host", 4) == 0) ||
	    (l == 14 && strncasecmp(n, "http2-settings", 14) == 0) ||
	    (l == 17 && strncasecmp(n, "x-forwarded-proto", 17) == 0);
}

/*
 * The visitor's scheme.  The proxy listens on loopback behind cloudflared,
 * which sends X-Forwarded-Proto; a valid value is kept (and used for the
 * table's per-entry schemes), anything else is replaced by ours.  Without
 * it the visitor's scheme is unknown and "schemes" do not filter.
 */
void
xfp_scheme(struct xch *x, const char *v, size_t n)
{
	if (n == 4 && strncasecmp(v, "http", 4) == 0) {
		x->scheme = "http";
		x->xfp = SCHEME_HTTP;
	} else if (n == 5 && strncasecmp(v, "https", 5) == 0) {
		x->scheme = "https";
		x->xfp = SCHEME_HTTPS;
	}
}

/* Build the exchange from a parsed head. */
static struct xch *
d_make_xch(struct dconn *d, struct h1_msg *m)
{
	struct xch	*x;
	size_t		 i;
	const char	*t = m->target, *slash;
	size_t		 tl = m->tlen, al;

	if ((x = xch_new()) == NULL)
		return NULL;
	x->method = strndup(m->method, m->mlen);
	x->scheme = d->tls ? "https" : "http";
	memcpy(x->client_ip, d->ip, sizeof(d->ip));	/* NUL-terminated */
	if (t[0] != '/' && t[0] != '*') {	/* absolute-form */
		t += (t[4] == 's' || t[4] == 'S') ? 8 : 7;
		tl -= t - m->target;
		slash = memchr(t, '/', tl);
		al = slash ? (size_t)(slash - t) : tl;
		x->authority = strndup(t, al);
		x->path = slash ? strndup(slash, tl - al) : strdup("/");
	} else {
		x->path = strndup(t, tl);
		x->authority = m->host ? strndup(m->host, m->hostlen) : NULL;
	}
	for (i = 0; i < m->nf; i++) {
		struct h1_field *f = &m->f[i];
		if (f->nlen == 17 && strncasecmp(f->name, "x-forwarded-proto",
		    17) == 0)
			xfp_scheme(x, f->value, f->vlen);
		if (is_hop(f->name, f->nlen))
			continue;
		if (hdrs_add(&x->rqh, f->name, f->nlen, f->value,
		    f->vlen) == -1)
			break;
	}
	if (m->conn_upgrade) {
		for (i = 0; i < m->nf; i++)
			if (m->f[i].nlen == 7 && strncasecmp(m->f[i].name,
			    "upgrade", 7) == 0 && m->f[i].vlen == 9 &&
			    strncasecmp(m->f[i].value, "websocket", 9) == 0)
				x->upgrade = 1;
	}
	x->head_only = strcmp(x->method ? x->method : "", "HEAD") == 0;
	if (m->chunked)
		x->req_clen = -1;
	else if (m->clen >= 0)
		x->req_clen = m->clen;
	if (x->method == NULL || x->path == NULL) {
		xch_down_detach(x);
		return NULL;
	}
	return x;
}

static int
d_head(struct dconn *d)
{
	struct evbuffer	*in = bufferevent_get_input(d->bev);
	size_t		 len = evbuffer_get_length(in);
	const char	*p;

	/* Tolerate stray CRLFs between requests (RFC 9112 2.2). */
	while (d->scan.pos == 0 && len >= 2 && (p = (const char *)
	    evbuffer_pullup(in, 2)) != NULL && p[0] == '\r' && p[1] == '\n') {
		evbuffer_drain(in, 2);
		len -= 2;
	}
	if (len == 0)
		return 0;
	if (len > H1_MAX_HEAD + 1)
		len = H1_MAX_HEAD + 1;
	return d_head_in(d, (const char *)evbuffer_pullup(in, len), len, 1);
}

/*
 * A request head at p[0..n): the start of the input buffer (buffered),
 * or bytes just read into the thread's scratch buffer while the input
 * buffer was empty -- the usual case, where a whole head arrives in one
 * read and never enters a buffer.  Scratch bytes that are not a complete
 * head, or that follow it, go to the input buffer.
 */
static int
d_head_in(struct dconn *d, const char *p, size_t n, int buffered)
{
	struct evbuffer	*in = bufferevent_get_input(d->bev);
	struct h1_msg	 m;
	struct xch	*x;
	long		 rc;
	int		 st, first = d->scan.pos == 0;

	if ((rc = h1_head_end(&d->scan, p, n, 1)) <= 0) {
		if (!buffered && px_bev_in_add(d->bev, p, n) == -1)
			rc = -500;
		if (rc < 0) {
			d_error(d, -rc);
			return -1;
		}
		if (first)
			d_arm(d->tmo, T_HEAD);
		return 0;
	}
	evtimer_del(d->tmo);
	if ((st = h1_parse_request(p, rc, &m)) != 0 ||
	    (d->x = d_make_xch(d, &m)) == NULL) {
		if (!buffered)
			(void)px_bev_in_add(d->bev, p, n);
		d_error(d, st != 0 ? st : 500);
		return -1;
	}
	d->minor = m.minor;
	d->keepalive = m.minor == 1 ? !m.conn_close : m.conn_keepalive;
	if (m.expect_continue && m.minor == 1)
		hdrs_add(&d->x->rqh, "expect", 6, "100-continue", 12);
	d->body = m.chunked ? B_CHUNKED : m.clen > 0 ? B_CLEN : B_NONE;
	d->left = m.clen > 0 ? (uint64_t)m.clen : 0;
	if (buffered)
		evbuffer_drain(in, rc);
	else if ((size_t)rc < n)
		(void)px_bev_in_add(d->bev, p + rc, n - rc);
	d->state = d->body == B_NONE ? D_WAIT : D_BODY;
	if (d->body == B_NONE)
		d->req_done = 1;
	x = d->x;
	x->darg = d;
	x->dops = &dh1_ops;
	xch_route_and_start(x, 0);
	/* A local answer may have finished the exchange (d->x cleared). */
	if (d->state == D_WAIT && d->x == x && !x->upgrade)
		xch_send_end(x, NULL);
	return 0;
}

/* Move request body bytes to the upstream.  -1: connection finished. */
static int
d_body(struct dconn *d)
{
	struct evbuffer	*in = bufferevent_get_input(d->bev);
	size_t		 len, n, used;
	const char	*p;

	while (d->state == D_BODY && (len = evbuffer_get_length(in)) > 0) {
		if (d->body == B_CLEN || d->ch.state == CH_DATA) {
			n = d->body == B_CLEN ? d->left : d->ch.remaining;
			if (n > len)
				n = len;
			if (d->tmp == NULL &&
			    (d->tmp = evbuffer_new()) == NULL) {
				d->keepalive = 0;
				d_close_after_write(d);
				return -1;
			}
			evbuffer_remove_buffer(in, d->tmp, n);
			if (d->body == B_CLEN)
				d->left -= n;
			else
				h1_chunk_data(&d->ch, n);
			if (d->x != NULL)
				xch_send(d->x, d->tmp);
			else
				evbuffer_drain(d->tmp, n);
		} else {
			n = len > 1024 ? 1024 : len;
			p = (const char *)evbuffer_pullup(in, n);
			if (h1_chunk_parse(&d->ch, p, n, &used) == -1) {
				if (d->head_sent) {
					d->keepalive = 0;
					d_close_after_write(d);
					return -1;
				}
				if (d->x != NULL) {
					struct xch *x = d->x;
					d->x = NULL;
					xch_down_detach(x);
				}
				d_error(d, 400);
				return -1;
			}
			evbuffer_drain(in, used);
		}
		if ((d->body == B_CLEN && d->left == 0) ||
		    (d->body == B_CHUNKED && d->ch.state == CH_DONE)) {
			d->req_done = 1;
			d->state = D_WAIT;
			if (d->x != NULL)
				xch_send_end(d->x, NULL);
			if (d->resp_done) {
				d_finish(d);
				return -1;
			}
			break;
		}
		if (d->x != NULL && xch_up_pending(d->x) > PX_HIGH_WATER) {
			d->paused = 1;
			d_rd(d, 0);
			break;
		}
	}
	return 0;
}

/* The response is complete. */
static void
d_finish(struct dconn *d)
{
	struct xch	*x = d->x;

	d->x = NULL;
	if (x != NULL)
		xch_down_detach(x);
	if (!d->keepalive || !d->req_done || d->resp_close || px->draining)
		d_close_after_write(d);
	else
		d_next(d);
}

static void
dh1_head(struct xch *x, int status, struct hdrs *h, int64_t clen)
{
	struct dconn	*d = x->darg;
	struct hbuf	 hb;
	size_t		 i;

	hb_init(&hb, bufferevent_get_output(d->bev));
	d_kick(d);
	if (status < 200 && status != 101) {
		if (d->minor == 1) {	/* interim response, e.g. 100 */
			hb_status(&hb, status);
			hb_add(&hb, "\r\n", 2);
			hb_done(&hb);
		}
		return;
	}
	d->head_sent = 1;
	hb_status(&hb, status);
	for (i = 0; i < h->n; i++)
		hb_field(&hb, h->v[i].name, h->v[i].value);
	if (status == 101) {
		hb_str(&hb, "Connection: upgrade\r\n\r\n");
		hb_done(&hb);
		d->state = D_PIPE;
		d->keepalive = 0;
		d_rd(d, 1);
		return;
	}
	if (clen >= 0) {
		hb_str(&hb, "Content-Length: ");
		hb_num(&hb, clen);
		hb_add(&hb, "\r\n", 2);
	} else if (clen == -1 && !x->head_only) {
		if (d->minor == 1) {
			d->resp_chunked = 1;
			hb_str(&hb, "Transfer-Encoding: chunked\r\n");
		} else
			d->resp_close = 1;
	}
	if (!d->keepalive || d->resp_close || !d->req_done || px->draining)
		hb_str(&hb, "Connection: close\r\n");
	else if (d->minor == 0)
		hb_str(&hb, "Connection: keep-alive\r\n");
	hb_add(&hb, "\r\n", 2);
	hb_done(&hb);
}

static void
dh1_data(struct xch *x, struct evbuffer *b)
{
	struct dconn	*d = x->darg;
	struct evbuffer	*out = bufferevent_get_output(d->bev);
	size_t		 n = evbuffer_get_length(b);

	if (n == 0)
		return;
	if (x->head_only && d->state != D_PIPE) {
		evbuffer_drain(b, n);
		return;
	}
	d_kick(d);
	if (d->resp_chunked) {
		evbuffer_add_printf(out, "%zx\r\n", n);
		evbuffer_add_buffer(out, b);
		evbuffer_add(out, "\r\n", 2);
	} else
		evbuffer_add_buffer(out, b);
}

static void
dh1_end(struct xch *x, struct hdrs *trailers)
{
	struct dconn	*d = x->darg;

	(void)trailers;
	if (d->resp_chunked)
		evbuffer_add(bufferevent_get_output(d->bev), "0\r\n\r\n", 5);
	d_kick(d);
	d->resp_done = 1;
	if (d->state == D_PIPE) {
		d->keepalive = 0;
		d_finish(d);
		return;
	}
	if (d->req_done)
		d_finish(d);
	else {
		/* Early response: the unread body makes reuse impossible. */
		d->keepalive = 0;
		d_finish(d);
	}
}

static void
dh1_fail(struct xch *x, int status)
{
	struct dconn	*d = x->darg;
	struct hdrs	 h = { 0 };
	char		 body[64];
	if (d->head_sent) {		/* mid-response: abort */
		d_free(d);
		return;
	}
	if (!d->req_done)
		d->keepalive = 0;
	px_local_body(status, body, sizeof(body));
	hdrs_add(&h, "content-type", 12, "text/plain", 10);
	dh1_head(x, status, &h, strlen(body));
	hdrs_clear(&h);
	if (!x->head_only)
		evbuffer_add(bufferevent_get_output(d->bev), body,
		    strlen(body));
	dh1_end(x, NULL);
}

static void
dh1_resume(struct xch *x)
{
	struct dconn	*d = x->darg;

	if (d->paused) {
		d->paused = 0;
		d_rd(d, 1);
		if (d->state == D_BODY)
			(void)d_body(d);
	}
}

static size_t
dh1_pending(struct xch *x)
{
	struct dconn	*d = x->darg;

	return evbuffer_get_length(bufferevent_get_output(d->bev));
}
