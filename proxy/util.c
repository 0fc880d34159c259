/* SPDX-License-Identifier: Apache-2.0 */
/* util: header lists, status reasons and small helpers for cfgw-proxy. */
#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

#define HDRS_MAX	1000
#define PX_SCRATCH	16384	/* per-thread read buffer for heads */
#define HDRS_MAX_BYTES	(1 << 24)	/* a name or a value */

int
hdrs_add(struct hdrs *h, const char *n, size_t nl, const char *v, size_t vl)
{
	struct hdr	*nv;
	size_t		 i;
	char		*name, *val;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		if (cap > HDRS_MAX)
			return -1;
		if ((nv = reallocarray(h->v, cap, sizeof(*nv))) == NULL)
			return -1;
		h->v = nv;
		h->cap = cap;
	}
	/* One block: the name (lower case), NUL, the value, NUL. */
	if (nl > HDRS_MAX_BYTES || vl > HDRS_MAX_BYTES ||
	    (name = malloc(nl + vl + 2)) == NULL)
		return -1;
	for (i = 0; i < nl; i++)
		name[i] = tolower((unsigned char)n[i]);
	name[nl] = '\0';
	val = name + nl + 1;
	memcpy(val, v, vl);
	val[vl] = '\0';
	h->v[h->n].name = name;
	h->v[h->n].value = val;
	h->n++;
	return 0;
}

const char *
hdrs_get(const struct hdrs *h, const char *name)
{
	size_t	 i;

	for (i = 0; h != NULL && i < h->n; i++)
		if (strcmp(h->v[i].name, name) == 0)
			return h->v[i].value;
	return NULL;
}

void
hdrs_del(struct hdrs *h, const char *name)
{
	size_t	 i, j;

	for (i = j = 0; i < h->n; i++) {
		if (strcmp(h->v[i].name, name) == 0) {
			free(h->v[i].name);	/* and the value with it */
			continue;
		}
		h->v[j++] = h->v[i];
	}
	h->n = j;
}

/* Append a copy of every field of from to to.  -1: out of memory. */
int
hdrs_copy(struct hdrs *to, const struct hdrs *from)
{
	size_t	 i;

	for (i = 0; i < from->n; i++)
		if (hdrs_add(to, from->v[i].name, strlen(from->v[i].name),
		    from->v[i].value, strlen(from->v[i].value)) == -1)
			return -1;
	return 0;
}

void
hdrs_clear(struct hdrs *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		free(h->v[i].name);	/* and the value with it */
	free(h->v);
	memset(h, 0, sizeof(*h));
}

int
strcaseeq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

int
px_tv_ms(struct timeval *tv, int ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
	return ms > 0;
}

const char *
http_reason(int st)
{
	switch (st) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

void
px_local_body(int st, char *buf, size_t sz)
{
	snprintf(buf, sz, "%d %s\n", st, http_reason(st));
}

/*
 * Backend choice and pool picks need spread, not secrecy: a per-thread
 * xoshiro128** seeded once from getrandom(2).  (glibc 2.36's arc4random
 * makes a getrandom system call per call; it was the top of the profile.)
 */
static __thread uint32_t	 rs[4];
static __thread int		 rs_seeded;

static uint32_t
rotl(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

uint32_t
px_rand32(void)
{
	uint32_t	 r, t;

	if (!rs_seeded) {
		if (getrandom(rs, sizeof(rs), 0) != sizeof(rs))
			arc4random_buf(rs, sizeof(rs));
		rs[0] |= 1;
		rs_seeded = 1;
	}
	r = rotl(rs[1] * 5, 7) * 9;
	t = rs[1] << 9;
	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 11);
	return r;
}

/* In [0, n), n > 0; multiply-shift, bias below n / 2^32. */
uint32_t
px_rand_below(uint32_t n)
{
	return (uint32_t)(((uint64_t)px_rand32() * n) >> 32);
}

/* Small request/response writes must not wait for Nagle's ACK. */
void
px_nodelay(int fd)
{
	int	 one = 1;

	if (fd != -1)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
}

/*
 * Message heads are put together in a stack buffer and added to the
 * evbuffer in one piece (no printf, one chain), spilling when it fills.
 */
void
hb_init(struct hbuf *h, struct evbuffer *out)
{
	h->out = out;
	h->n = 0;
}

void
hb_add(struct hbuf *h, const char *s, size_t n)
{
	if (h->n + n > sizeof(h->b)) {
		evbuffer_add(h->out, h->b, h->n);
		h->n = 0;
		if (n > sizeof(h->b)) {
			evbuffer_add(h->out, s, n);
			return;
		}
	}
	memcpy(h->b + h->n, s, n);
	h->n += n;
}

void
hb_str(struct hbuf *h, const char *s)
{
	hb_add(h, s, strlen(s));
}

/* "name: value\r\n" */
void
hb_field(struct hbuf *h, const char *n, const char *v)
{
	hb_str(h, n);
	hb_add(h, ": ", 2);
	hb_str(h, v);
	hb_add(h, "\r\n", 2);
}

void
hb_num(struct hbuf *h, int64_t v)
{
	char	 d[24];
	size_t	 i = sizeof(d);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		d[--i] = '0' + u % 10;
		u /= 10;
	} while (u > 0);
	if (v < 0)
		d[--i] = '-';
	hb_add(h, d + i, sizeof(d) - i);
}

/* "HTTP/1.1 NNN Reason\r\n" */
void
hb_status(struct hbuf *h, int st)
{
	hb_add(h, "HTTP/1.1 ", 9);
	hb_num(h, st);
	hb_add(h, " ", 1);
	hb_str(h, http_reason(st));
	hb_add(h, "\r\n", 2);
}

void
hb_done(struct hbuf *h)
{
	if (h->n > 0)
		evbuffer_add(h->out, h->b, h->n);
	h->n = 0;
}

/*
 * Write a plain socket bufferevent's queued output now, bypassing the
 * event loop (the bufferevent keeps its output frozen at the start; we
 * thaw it for the write).  Returns the bytes left for the bufferevent.
 */
size_t
px_bev_write(struct bufferevent *bev)
{
	struct evbuffer	*out = bufferevent_get_output(bev);
	evutil_socket_t	 fd = bufferevent_getfd(bev);

	if (fd != -1 && evbuffer_get_length(out) > 0) {
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, fd);
		evbuffer_freeze(out, 1);
	}
	return evbuffer_get_length(out);
}

/*
 * Add bytes read by hand (into the thread's scratch buffer) to a plain
 * socket bufferevent's input, whose end libevent keeps frozen.
 */
int
px_bev_in_add(struct bufferevent *bev, const char *p, size_t n)
{
	struct evbuffer	*in = bufferevent_get_input(bev);
	int		 rc;

	evbuffer_unfreeze(in, 0);
	rc = evbuffer_add(in, p, n);
	evbuffer_freeze(in, 0);
	return rc;
}

/*
 * Read a plain socket into the thread's scratch buffer (*p), where a head
 * that arrives whole is parsed without entering a bufferevent.  One buffer
 * serves both HTTP/1 sides: each read is parsed, copied or buffered before
 * its callback returns.  Returns what recv(2) returned.
 */
ssize_t
px_recv_scratch(int fd, const char **p)
{
	static __thread char	 scratch[PX_SCRATCH];

	*p = scratch;
	return recv(fd, scratch, sizeof(scratch), 0);
}

/*
 * What a recv(2) on a plain socket that returned n < 1 means to its
 * bufferevent: the event to report, or 0 when there is nothing yet.
 */
short
px_recv_event(ssize_t n)
{
	if (n == 0)
		return BEV_EVENT_EOF | BEV_EVENT_READING;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return BEV_EVENT_ERROR | BEV_EVENT_READING;
}

