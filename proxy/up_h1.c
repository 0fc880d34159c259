/* SPDX-License-Identifier: Apache-2.0 */
/*
 * up_h1: HTTP/1.1 to backends, with a small connection pool.
 *
 * Balancing with reuse: backends are Service names, so each new TCP
 * connection is balanced by kube-proxy (ClusterIP) or by our resolver
 * pick among the addresses (headless).  Reusing a connection forever would
 * pin every request to one pod -- the reason the reference proxy disables
 * keep-alive altogether.  We keep reuse (it saves a handshake per request)
 * but bound it: a pooled connection serves at most --upstream-max-requests
 * requests (default 100) and lives at most --upstream-max-age ms (default
 * 10 s), idle ones are closed after 30 s, and an idle connection is picked
 * at random among those for the same backend so concurrent traffic spreads
 * over every connection (and so every pod) the pool holds.
 */
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event_struct.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http1.h"
#include "log.h"
#include "httpfield.h"
#include "proxy.h"

#define POOL_MAX_IDLE	256

enum ustate { U_CONNECTING, U_HEAD, U_BODY, U_PIPE, U_IDLE };
enum rmode { R_NONE, R_CLEN, R_CHUNKED, R_CLOSE };

struct uconn {
	struct bufferevent	*bev;
	struct evbuffer		*tmp;
	struct event		*tmo;
	char			 key[300];
	struct xch		*x;
	enum ustate		 state;
	struct h1_scan		 scan;
	enum rmode		 mode;
	uint64_t		 left;
	struct h1_chunk		 ch;
	int			 req_chunked;
	int			 req_done;
	int			 reusable;
	int			 reused;
	int			 connected;
	int			 got_bytes;
	int			 paused;
	int			 nreq;
	struct timeval		 born;
	struct pbucket		*pb;		/* U_IDLE: its pool bucket */
	size_t			 pidx;		/* and index there */
	struct event		 rd_ev;		/* once connected: our reads */
	int			 own_rd;	/* rd_ev set up */
	int			 reading;	/* read wanted */
};

/*
 * The idle pool, per thread: a small hash of buckets by backend key, each
 * an array of idle connections, so a take is O(1) -- a uniform random
 * index, removed by swapping in the last one.
 */
#define POOL_HASH	64

struct pbucket {
	struct pbucket	*next;
	struct uconn	**v;
	size_t		  n;
	size_t		  cap;
	char		  key[300];
};

static __thread struct pbucket	*ptab[POOL_HASH];
static __thread int		 npool;

static void	 u_read(struct bufferevent *, void *);
static void	 u_write(struct bufferevent *, void *);
static void	 u_event(struct bufferevent *, short, void *);
static void	 u_timeout(evutil_socket_t, short, void *);
static void	 u_free(struct uconn *);
static void	 u_fail(struct uconn *, int);
static void	 u_done(struct uconn *);
static int	 u_head(struct uconn *);
static int	 u_head_in(struct uconn *, const char *, size_t, int);
static void	 u_recv_head(struct uconn *, evutil_socket_t);
static void	 u_body(struct uconn *);
static void	 u_send_head(struct uconn *, struct xch *);

static void	 uh1_data(struct xch *, struct evbuffer *);
static void	 uh1_end(struct xch *, struct hdrs *);
static void	 uh1_abort(struct xch *);
static void	 uh1_resume(struct xch *);
static size_t	 uh1_pending(struct xch *);

static const struct up_ops uh1_ops = {
	uh1_data, uh1_end, uh1_abort, uh1_resume, uh1_pending
};

static long
age_ms(const struct uconn *u)
{
	struct timeval	 now, d;

	event_base_gettimeofday_cached(px->base, &now);
	timersub(&now, &u->born, &d);
	return d.tv_sec * 1000 + d.tv_usec / 1000;
}

static struct pbucket *
pool_bucket(const char *key, int create)
{
	uint32_t	 h = 2166136261u;
	const char	*k;
	struct pbucket	*b;

	for (k = key; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	for (b = ptab[h % POOL_HASH]; b != NULL; b = b->next)
		if (strcmp(b->key, key) == 0)
			return b;
	if (!create || (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	snprintf(b->key, sizeof(b->key), "%s", key);
	b->next = ptab[h % POOL_HASH];
	ptab[h % POOL_HASH] = b;
	return b;
}

static void
pool_remove(struct uconn *u)
{
	struct pbucket	*b = u->pb;

	b->v[u->pidx] = b->v[--b->n];
	b->v[u->pidx]->pidx = u->pidx;
	u->pb = NULL;
	npool--;
}

static int
pool_put(struct uconn *u)
{
	struct pbucket	*b;
	struct uconn	**v;
	size_t		  cap;

	if ((b = pool_bucket(u->key, 1)) == NULL)
		return -1;
	if (b->n == b->cap) {
		cap = b->cap ? b->cap * 2 : 8;
		if ((v = reallocarray(b->v, cap, sizeof(*v))) == NULL)
			return -1;
		b->v = v;
		b->cap = cap;
	}
	u->pb = b;
	u->pidx = b->n;
	b->v[b->n++] = u;
	npool++;
	return 0;
}

/* A uniform random pick among the idle connections to this backend. */
static struct uconn *
pool_take(const char *key)
{
	struct pbucket	*b = pool_bucket(key, 0);
	struct uconn	*u;

	while (b != NULL && b->n > 0) {
		u = b->v[px_rand_below(b->n)];
		pool_remove(u);
		u->state = U_HEAD;
		if (age_ms(u) < px->cf.up_max_age_ms)
			return u;
		u_free(u);		/* too old to reuse */
	}
	return NULL;
}

/* The pool key, "host:port" (cut to fit, as snprintf did). */
static void
u_key(const struct tbackend *be, char *key, size_t sz)
{
	char		 port[12];
	size_t		 hl = strlen(be->host), pl = 0, i;
	unsigned	 v = be->port;

	if (be->port < 0) {
		snprintf(key, sz, "%s:%d", be->host, be->port);
		return;
	}
	do {
		port[sizeof(port) - 1 - pl++] = '0' + v % 10;
		v /= 10;
	} while (v > 0 && pl < sizeof(port) - 1);
	port[sizeof(port) - 1 - pl++] = ':';
	if (hl > sz - 1)
		hl = sz - 1;
	memcpy(key, be->host, hl);
	for (i = 0; i < pl && hl + i < sz - 1; i++)
		key[hl + i] = port[sizeof(port) - pl + i];
	key[hl + i] = '\0';
}

static struct uconn *
u_new(const struct tbackend *be)
{
	struct uconn	*u;
	char		 addr[300];
	int		 port;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->bev = bufferevent_socket_new(px->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	u->tmp = evbuffer_new();
	u->tmo = evtimer_new(px->base, u_timeout, u);
	if (u->bev == NULL || u->tmp == NULL || u->tmo == NULL) {
		u_free(u);
		return NULL;
	}
	u_key(be, u->key, sizeof(u->key));
	event_base_gettimeofday_cached(px->base, &u->born);
	bufferevent_setcb(u->bev, u_read, u_write, u_event, u);
	px_backend_addr(be->host, be->port, addr, sizeof(addr), &port);
	if (bufferevent_socket_connect_hostname(u->bev, px->dns, AF_UNSPEC,
	    addr, port) == -1) {
		u_free(u);
		return NULL;
	}
	u->state = U_CONNECTING;
	px->m.up_conn_new++;
	return u;
}

/* Read from the backend on (1) or off (0). */
static void
u_rd(struct uconn *u, int on)
{
	if (!u->own_rd) {
		u->reading = on;
		if (on)
			bufferevent_enable(u->bev, EV_READ);
		else
			bufferevent_disable(u->bev, EV_READ);
		return;
	}
	if (on == u->reading)
		return;
	u->reading = on;
	if (on)
		event_add(&u->rd_ev, NULL);
	else
		event_del(&u->rd_ev);
}

/* Connected: read with recv(2) ourselves (no FIONREAD ioctl per read). */
static void
u_recv(evutil_socket_t fd, short ev, void *arg)
{
	struct uconn		*u = arg;
	struct evbuffer		*in = bufferevent_get_input(u->bev);
	struct evbuffer_iovec	 v;
	ssize_t			 n;
	short			 what;

	(void)ev;
	if (u->state == U_HEAD && u->x != NULL && !u->paused &&
	    u->scan.pos == 0 && evbuffer_get_length(in) == 0) {
		u_recv_head(u, fd);
		return;
	}
	evbuffer_unfreeze(in, 0);
	if (evbuffer_reserve_space(in, 4096, &v, 1) < 1) {
		evbuffer_freeze(in, 0);
		u_event(u->bev, BEV_EVENT_ERROR | BEV_EVENT_READING, u);
		return;
	}
	if ((n = recv(fd, v.iov_base, v.iov_len, 0)) > 0) {
		v.iov_len = n;
		evbuffer_commit_space(in, &v, 1);
	}
	evbuffer_freeze(in, 0);
	if (n > 0)
		u_read(u->bev, u);
	else if ((what = px_recv_event(n)) != 0)
		u_event(u->bev, what, u);
}

/*
 * Waiting for a response head with nothing buffered: read into the
 * thread's scratch buffer and take the head from there (u_head_in), so
 * a small response costs no 4 KB buffer.
 */
static void
u_recv_head(struct uconn *u, evutil_socket_t fd)
{
	const char	*p;
	ssize_t		 n;
	short		 what;

	if ((n = px_recv_scratch(fd, &p)) > 0) {
		u->got_bytes = 1;
		if (u_head_in(u, p, n, 0) == 1)
			u_read(u->bev, u);
	} else if ((what = px_recv_event(n)) != 0)
		u_event(u->bev, what, u);
}

static void
u_free(struct uconn *u)
{
	if (u->own_rd)
		event_del(&u->rd_ev);
	if (u->state == U_IDLE && u->pb != NULL)
		pool_remove(u);
	if (u->bev != NULL)
		bufferevent_free(u->bev);
	if (u->tmp != NULL)
		evbuffer_free(u->tmp);
	if (u->tmo != NULL)
		event_free(u->tmo);
	free(u);
}

static int
u_attach(struct xch *x, int fresh)
{
	struct uconn	*u = NULL;
	char		 key[300];
	struct timeval	 tv;
	int		 ms;

	u_key(x->be, key, sizeof(key));
	if (!fresh && !x->upgrade && (u = pool_take(key)) != NULL) {
		u->reused = 1;
		px->m.up_conn_reused++;
		u->state = U_HEAD;
	} else if ((u = u_new(x->be)) == NULL)
		return -1;
	u->x = x;
	x->uarg = u;
	x->uops = &uh1_ops;
	memset(&u->scan, 0, sizeof(u->scan));
	memset(&u->ch, 0, sizeof(u->ch));
	u->req_done = x->req_ended;
	u->got_bytes = u->paused = 0;
	u->reusable = 1;
	u->nreq++;
	if (u->reused && x->req_clen == -2) {
		/* A bodiless request on a connected socket: write it now;
		 * EPOLLOUT is watched only for what the socket left over. */
		bufferevent_disable(u->bev, EV_WRITE);
		u_send_head(u, x);
		if (px_bev_write(u->bev) > 0)
			bufferevent_enable(u->bev, EV_WRITE);
		u_rd(u, 1);
	} else {
		u_send_head(u, x);
		bufferevent_enable(u->bev, EV_WRITE);
		u_rd(u, 1);
	}
	ms = u->state == U_CONNECTING ? px->cf.connect_timeout_ms :
	    xch_backend_timeout(x);
	if (ms > 0 && !x->upgrade) {
		px_tv_ms(&tv, ms);
		evtimer_add(u->tmo, &tv);
	}
	return 0;
}

int
up_h1_start(struct xch *x)
{
	return u_attach(x, 0);
}

static void
u_send_head(struct uconn *u, struct xch *x)
{
	struct hbuf	 hb;
	const char	*xff = NULL, *n;
	size_t		 i;
	int		 ncookie = 0;

	hb_init(&hb, bufferevent_get_output(u->bev));
	hb_str(&hb, x->method);
	hb_add(&hb, " ", 1);
	hb_str(&hb, x->path);
	hb_str(&hb, " HTTP/1.1\r\n");
	hb_field(&hb, "Host", x->authority);
	for (i = 0; i < x->rqh.n; i++) {
		n = x->rqh.v[i].name;
		if (strcmp(n, "x-forwarded-for") == 0) {
			xff = x->rqh.v[i].value;
			continue;
		}
		if (strcmp(n, "cookie") == 0)
			continue;
		hb_field(&hb, n, x->rqh.v[i].value);
	}
	/* HTTP/2 may split cookies into fields; HTTP/1.1 wants one. */
	for (i = 0; i < x->rqh.n; i++)
		if (strcmp(x->rqh.v[i].name, "cookie") == 0) {
			hb_str(&hb, ncookie++ ? "; " : "Cookie: ");
			hb_str(&hb, x->rqh.v[i].value);
		}
	if (ncookie > 0)
		hb_add(&hb, "\r\n", 2);
	hb_str(&hb, "X-Forwarded-For: ");
	if (xff != NULL) {
		hb_str(&hb, xff);
		hb_add(&hb, ", ", 2);
	}
	hb_str(&hb, x->client_ip);
	hb_add(&hb, "\r\n", 2);
	hb_field(&hb, "X-Forwarded-Proto", x->scheme);
	if (x->upgrade)
		hb_str(&hb, "Connection: upgrade\r\nUpgrade: websocket\r\n");
	u->req_chunked = 0;
	if (x->req_clen >= 0) {
		hb_str(&hb, "Content-Length: ");
		hb_num(&hb, x->req_clen);
		hb_add(&hb, "\r\n", 2);
	} else if (x->req_clen == -1) {
		u->req_chunked = 1;
		hb_str(&hb, "Transfer-Encoding: chunked\r\n");
	}
	hb_add(&hb, "\r\n", 2);
	hb_done(&hb);
}

/* The upstream failed before or during the response. */
static void
u_fail(struct uconn *u, int status)
{
	struct xch	*x = u->x;

	u->x = NULL;
	if (x != NULL) {
		/* A reused connection closed under us: retry once, fresh. */
		if (u->reused && !u->got_bytes && x->req_clen == -2 &&
		    status == 502) {
			u_free(u);
			if (u_attach(x, 1) == 0)
				return;
			u = NULL;
		}
		if (xch_retry(x, status, status != 504)) {
			if (u != NULL)
				u_free(u);
			return;
		}
		xch_up_detach(x);
		xch_up_fail(x, status);
	}
	if (u != NULL)
		u_free(u);
}

/* Response complete: pool or close the connection, then tell downstream. */
static void
u_done(struct uconn *u)
{
	struct xch	*x = u->x;
	struct timeval	 tv;

	u->x = NULL;
	evtimer_del(u->tmo);
	if (u->reusable && u->req_done && u->state != U_PIPE &&
	    u->nreq < px->cf.up_max_requests &&
	    age_ms(u) < px->cf.up_max_age_ms && npool < POOL_MAX_IDLE &&
	    evbuffer_get_length(bufferevent_get_input(u->bev)) == 0 &&
	    pool_put(u) == 0) {
		u->state = U_IDLE;
		u->reused = 0;
		px_tv_ms(&tv, px->cf.up_idle_ms);
		evtimer_add(u->tmo, &tv);
		u_rd(u, 1);
	} else
		u_free(u);
	if (x != NULL) {
		xch_up_detach(x);
		x->dops->end(x, NULL);
	}
}

static void
u_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct uconn	*u = arg;

	(void)fd;
	(void)ev;
	if (u->state == U_IDLE || u->x == NULL) {
		u_free(u);
		return;
	}
	u_fail(u, 504);
}

static void
u_event(struct bufferevent *bev, short what, void *arg)
{
	struct uconn	*u = arg;
	struct timeval	 tv;
	int		 ms;

	if (what & BEV_EVENT_CONNECTED) {
		px_nodelay(bufferevent_getfd(bev));
		bufferevent_disable(bev, EV_READ);
		event_assign(&u->rd_ev, px->base, bufferevent_getfd(bev),
		    EV_READ | EV_PERSIST, u_recv, u);
		u->own_rd = 1;
		if (u->reading) {
			u->reading = 0;
			u_rd(u, 1);
		}
		u->connected = 1;
		u->state = U_HEAD;
		evtimer_del(u->tmo);
		if (u->x != NULL && (ms = xch_backend_timeout(u->x)) > 0) {
			px_tv_ms(&tv, ms);
			evtimer_add(u->tmo, &tv);
		}
		return;
	}
	if (u->x == NULL) {
		u_free(u);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (u->state == U_BODY && u->mode == R_CLOSE) {
			u->reusable = 0;
			u_done(u);
			return;
		}
		if (u->state == U_PIPE) {
			u->reusable = 0;
			u_done(u);
			return;
		}
	}
	if (!u->connected && bufferevent_socket_get_dns_error(bev) != 0) {
		log_warnx("backend %s: cannot resolve", u->key);
		u_fail(u, 503);
		return;
	}
	if (!u->connected)
		log_debug("backend %s: connect failed", u->key);
	u_fail(u, 502);
}

static void
u_write(struct bufferevent *bev, void *arg)
{
	struct uconn	*u = arg;

	(void)bev;
	if (u->x != NULL && u->x->dops->resume != NULL)
		u->x->dops->resume(u->x);
}

static void
u_read(struct bufferevent *bev, void *arg)
{
	struct uconn	*u = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	if (u->x == NULL) {		/* idle: data or close is unexpected */
		u_free(u);
		return;
	}
	u->got_bytes = 1;
	while (u->x != NULL && evbuffer_get_length(in) > 0 && !u->paused) {
		if (u->state == U_HEAD) {
			if (u_head(u) <= 0)
				return;
		} else if (u->state == U_PIPE) {
			u->x->dops->data(u->x, in);
			if (u->x->dops->pending(u->x) > PX_HIGH_WATER) {
				u->paused = 1;
				u_rd(u, 0);
			}
		} else {
			u_body(u);
			return;
		}
	}
}

/* How the response body is delimited; returns the length to announce. */
static int64_t
u_framing(struct uconn *u, const struct h1_msg *m)
{
	if ((m->minor == 0 && !m->conn_keepalive) || m->conn_close)
		u->reusable = 0;
	if (u->x->head_only || m->status == 204 || m->status == 304) {
		u->mode = R_NONE;
		return u->x->head_only ? m->clen : -2;
	}
	if (m->chunked) {
		u->mode = R_CHUNKED;
		return -1;
	}
	if (m->clen >= 0) {
		u->mode = R_CLEN;
		u->left = m->clen;
		return m->clen;
	}
	u->mode = R_CLOSE;
	u->reusable = 0;
	return -1;
}

/* 1: head consumed, continue; 0: need more; -1: connection gone. */
static int
u_head(struct uconn *u)
{
	struct evbuffer	*in = bufferevent_get_input(u->bev);
	size_t		 len = evbuffer_get_length(in);
	size_t		 n = len > H1_MAX_HEAD + 1 ? H1_MAX_HEAD + 1 : len;

	return u_head_in(u, (const char *)evbuffer_pullup(in, n), n, 1);
}

/*
 * A response head at p[0..n): the start of the input buffer (buffered),
 * or bytes just read into the thread's scratch buffer while the input
 * buffer was empty (u_recv_head); scratch bytes that are not a complete
 * head, or that follow it, go to the input buffer.  Returns as u_head.
 */
static int
u_head_in(struct uconn *u, const char *p, size_t n, int buffered)
{
	struct evbuffer	*in = bufferevent_get_input(u->bev);
	size_t		 i;
	struct h1_msg	 m;
	struct hdrs	 h = { 0 };
	long		 rc;
	int64_t		 clen;
	struct xch	*x = u->x;

	if ((rc = h1_head_end(&u->scan, p, n, 0)) < 0 ||
	    (rc > 0 && h1_parse_response(p, rc, &m) == -1)) {
		log_warnx("backend %s: malformed response", u->key);
		u_fail(u, 502);
		return -1;
	}
	if (rc == 0) {
		if (!buffered && px_bev_in_add(u->bev, p, n) == -1) {
			u_fail(u, 502);
			return -1;
		}
		return 0;
	}
	for (i = 0; i < m.nf; i++)
		if (!http_field_framing(m.f[i].name, m.f[i].nlen) ||
		    (m.status == 101 && m.f[i].nlen == 7 &&
		    strncasecmp(m.f[i].name, "upgrade", 7) == 0))
			(void)hdrs_add(&h, m.f[i].name, m.f[i].nlen,
			    m.f[i].value, m.f[i].vlen);
	if (buffered)
		evbuffer_drain(in, rc);
	else if ((size_t)rc < n &&
	    px_bev_in_add(u->bev, p + rc, n - rc) == -1) {
		hdrs_clear(&h);
		u_fail(u, 502);
		return -1;
	}
	memset(&u->scan, 0, sizeof(u->scan));
	if (m.status == 101 && x->upgrade) {
		evtimer_del(u->tmo);
		u->state = U_PIPE;
		u->reusable = 0;
		xch_resp_head(x, 101, &h, -2);
		hdrs_clear(&h);
		return 1;
	}
	if (m.status < 200) {
		if (m.status == 100 || m.status == 103)
			xch_resp_head(x, m.status, &h, -2);
		hdrs_clear(&h);
		return 1;
	}
	if (!xch_backend_covers_body(x))	/* else: until the last byte */
		evtimer_del(u->tmo);
	if (xch_retry(x, m.status, 0)) {
		hdrs_clear(&h);
		u->x = NULL;
		u_free(u);
		return -1;
	}
	clen = u_framing(u, &m);
	u->state = U_BODY;
	xch_resp_head(x, m.status, &h, clen);
	hdrs_clear(&h);
	if (u->mode == R_NONE || (u->mode == R_CLEN && u->left == 0)) {
		u_done(u);
		return -1;
	}
	return 1;
}

static void
u_body(struct uconn *u)
{
	struct evbuffer	*in = bufferevent_get_input(u->bev);
	size_t		 len, n, used;
	const char	*p;

	while (u->x != NULL && (len = evbuffer_get_length(in)) > 0) {
		if (u->mode == R_CLOSE || u->mode == R_CLEN ||
		    u->ch.state == CH_DATA) {
			n = u->mode == R_CLOSE ? len : u->mode == R_CLEN ?
			    u->left : u->ch.remaining;
			if (n > len)
				n = len;
			evbuffer_remove_buffer(in, u->tmp, n);
			if (u->mode == R_CLEN)
				u->left -= n;
			else if (u->mode == R_CHUNKED)
				h1_chunk_data(&u->ch, n);
			u->x->dops->data(u->x, u->tmp);
		} else {
			n = len > 1024 ? 1024 : len;
			p = (const char *)evbuffer_pullup(in, n);
			if (h1_chunk_parse(&u->ch, p, n, &used) == -1) {
				log_warnx("backend %s: bad chunked body",
				    u->key);
				u_fail(u, 502);
				return;
			}
			evbuffer_drain(in, used);
		}
		if ((u->mode == R_CLEN && u->left == 0) ||
		    (u->mode == R_CHUNKED && u->ch.state == CH_DONE)) {
			u_done(u);
			return;
		}
		if (u->x->dops->pending(u->x) > PX_HIGH_WATER) {
			u->paused = 1;
			u_rd(u, 0);
			return;
		}
	}
}

static void
uh1_data(struct xch *x, struct evbuffer *b)
{
	struct uconn	*u = x->uarg;
	struct evbuffer	*out = bufferevent_get_output(u->bev);
	size_t		 n = evbuffer_get_length(b);

	if (n == 0)
		return;
	if (u->req_chunked) {
		evbuffer_add_printf(out, "%zx\r\n", n);
		evbuffer_add_buffer(out, b);
		evbuffer_add(out, "\r\n", 2);
	} else
		evbuffer_add_buffer(out, b);
}

static void
uh1_end(struct xch *x, struct hdrs *trailers)
{
	struct uconn	*u = x->uarg;

	(void)trailers;
	if (u->req_chunked)
		evbuffer_add(bufferevent_get_output(u->bev), "0\r\n\r\n", 5);
	u->req_done = 1;
}

static void
uh1_abort(struct xch *x)
{
	struct uconn	*u = x->uarg;

	u->x = NULL;
	u_free(u);
}

static void
uh1_resume(struct xch *x)
{
	struct uconn	*u = x->uarg;

	if (u->paused) {
		u->paused = 0;
		u_rd(u, 1);
		u_read(u->bev, u);
	}
}

static size_t
uh1_pending(struct xch *x)
{
	struct uconn	*u = x->uarg;

	return evbuffer_get_length(bufferevent_get_output(u->bev));
}

void
up_h1_pool_flush(void)
{
	struct pbucket	*b;
	int		 i;

	for (i = 0; i < POOL_HASH; i++)
		while ((b = ptab[i]) != NULL) {
			while (b->n > 0)
				u_free(b->v[0]);
			ptab[i] = b->next;
			free(b->v);
			free(b);
		}
}
