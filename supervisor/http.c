/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http: /healthz, /readyz and /metrics for kubelet probes and Prometheus.
 * Hand-written on purpose: three fixed, read-only GET endpoints served
 * from the supervisor's own poll loop do not justify libmicrohttpd and its
 * threads in the one process that must never fall over.  Requests are
 * bounded (CFGWD_HTTP_REQ_MAX), slow clients are dropped after
 * CFGWD_HTTP_TIMEOUT_MS, every response closes the connection (HTTP/1.0).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgwd.h"
#include "log.h"
#include "wmetrics.h"

#define HTTP_LISTENERS	2
#define HTTP_BODY_MAX	8192

struct http_client {
	int		 fd;
	long long	 deadline;
	size_t		 len;
	char		 buf[CFGWD_HTTP_REQ_MAX + 1];
	char		*out;		/* response being written */
	size_t		 outlen, outoff;
};

static int			 http_lfd[HTTP_LISTENERS] = { -1, -1 };
static struct http_client	 http_cl[CFGWD_HTTP_CLIENTS];
static int			 http_inited;

static void	http_init(void);
static int	http_split(const char *, char *, size_t, char *, size_t);
static void	http_accept(int);
static void	http_read(struct http_client *);
static void	http_respond(struct http_client *, const char *);
static void	http_reply(struct http_client *, int, const char *,
		    const char *, int);
static void	http_write(struct http_client *);
static char	*http_metrics(void);
static size_t	http_readyz(char *, size_t, int *);
static void	http_drop(struct http_client *);

static void
http_init(void)
{
	int	 i;

	if (http_inited)
		return;
	for (i = 0; i < CFGWD_HTTP_CLIENTS; i++)
		http_cl[i].fd = -1;
	http_inited = 1;
}

/* "host:port", "[v6]:port" or ":port" (every address). */
static int
http_split(const char *addr, char *host, size_t hsz, char *port, size_t psz)
{
	const char	*colon;
	size_t		 hl;

	if (addr[0] == '[') {
		if ((colon = strstr(addr, "]:")) == NULL)
			return -1;
		hl = (size_t)(colon - addr - 1);
		addr++;
		colon++;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - addr);
	}
	if (hl >= hsz || strlen(colon + 1) >= psz || colon[1] == '\0')
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

int
http_check(const char *addr)
{
	char	 host[128], port[16];

	if (http_split(addr, host, sizeof(host), port, sizeof(port)) == -1) {
		fprintf(stderr, "cfgwd: %s: want host:port\n", addr);
		return -1;
	}
	return 0;
}

/* Validate and open a listener; -1 (logged) on a bad address. */
int
http_listen(const char *addr)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[128], port[16];
	int		 fd = -1, one = 1, i, rc;

	http_init();
	if (http_split(addr, host, sizeof(host), port, sizeof(port)) == -1) {
		log_warnx("%s: not host:port", addr);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res))
	    != 0) {
		log_warnx("%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (i = 0; i < HTTP_LISTENERS && http_lfd[i] != -1; i++)
		;
	if (i == HTTP_LISTENERS ||
	    (fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 16) == -1) {
		log_warn("listen on %s", addr);
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	http_lfd[i] = fd;
	log_info("serving /healthz /readyz /metrics on %s", addr);
	return 0;
}

int
http_pollfds(struct pollfd *pfd, int max)
{
	int	 i, n = 0;

	http_init();
	for (i = 0; i < HTTP_LISTENERS && n < max; i++)
		if (http_lfd[i] != -1) {
			pfd[n].fd = http_lfd[i];
			pfd[n++].events = POLLIN;
		}
	for (i = 0; i < CFGWD_HTTP_CLIENTS && n < max; i++)
		if (http_cl[i].fd != -1) {
			pfd[n].fd = http_cl[i].fd;
			pfd[n++].events = http_cl[i].out != NULL ? POLLOUT :
			    POLLIN;
		}
	return n;
}

void
http_events(const struct pollfd *pfd, int n)
{
	int	 i, j, k;

	for (k = 0; k < n; k++) {
		if (pfd[k].revents == 0)
			continue;
		for (i = 0; i < HTTP_LISTENERS; i++)
			if (pfd[k].fd == http_lfd[i])
				http_accept(pfd[k].fd);
		for (j = 0; j < CFGWD_HTTP_CLIENTS; j++)
			if (pfd[k].fd == http_cl[j].fd && http_cl[j].out)
				http_write(&http_cl[j]);
			else if (pfd[k].fd == http_cl[j].fd)
				http_read(&http_cl[j]);
	}
}

static void
http_accept(int lfd)
{
	int	 fd, i;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC))
	    != -1) {
		for (i = 0; i < CFGWD_HTTP_CLIENTS && http_cl[i].fd != -1; i++)
			;
		if (i == CFGWD_HTTP_CLIENTS) {
			close(fd);	/* full: the client retries */
			continue;
		}
		http_cl[i].fd = fd;
		http_cl[i].len = 0;
		http_cl[i].out = NULL;
		http_cl[i].deadline = cfgwd_now_ms() + CFGWD_HTTP_TIMEOUT_MS;
	}
}

static void
http_read(struct http_client *c)
{
	ssize_t	 r;
	char	*end;

	r = read(c->fd, c->buf + c->len, CFGWD_HTTP_REQ_MAX - c->len);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		http_drop(c);
		return;
	}
	c->len += (size_t)r;
	c->buf[c->len] = '\0';
	if ((end = strstr(c->buf, "\r\n\r\n")) == NULL &&
	    (end = strstr(c->buf, "\n\n")) == NULL) {
		if (c->len == CFGWD_HTTP_REQ_MAX)
			http_reply(c, 431, "Request Header Fields Too Large",
			    "request too large\n", 0);
		return;
	}
	http_respond(c, c->buf);
}

static void
http_respond(struct http_client *c, const char *req)
{
	char	 method[8], path[256], body[HTTP_BODY_MAX], *m;
	int	 head, ready;

	if (sscanf(req, "%7s %255s HTTP/1.", method, path) != 2) {
		http_reply(c, 400, "Bad Request", "bad request\n", 0);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		http_reply(c, 405, "Method Not Allowed", "GET only\n", 0);
		return;
	}
	if (strcmp(path, "/healthz") == 0)
		http_reply(c, 200, "OK", "ok\n", head);
	else if (strcmp(path, "/readyz") == 0) {
		http_readyz(body, sizeof(body), &ready);
		http_reply(c, ready ? 200 : 503, ready ? "OK" :
		    "Service Unavailable", body, head);
	} else if (strcmp(path, "/metrics") == 0) {
		if ((m = http_metrics()) == NULL)
			http_reply(c, 500, "Internal Server Error",
			    "out of memory\n", 0);
		else
			http_reply(c, 200, "OK", m, head);
		free(m);
	} else
		http_reply(c, 404, "Not Found", "not found\n", 0);
}

/*
 * The response is written as far as the socket takes it now; the rest
 * on POLLOUT, within the client's deadline.
 */
static void
http_reply(struct http_client *c, int code, const char *reason,
    const char *body, int head)
{
	size_t	 blen = strlen(body), cap = blen + 256;
	int	 n;

	if ((c->out = malloc(cap)) == NULL) {
		http_drop(c);
		return;
	}
	n = snprintf(c->out, cap, "HTTP/1.0 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", code, reason,
	    code == 200 && body[0] == '#' ?
	    "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8", blen, head ? "" : body);
	if (n < 0 || (size_t)n >= cap) {
		http_drop(c);
		return;
	}
	c->outlen = (size_t)n;
	c->outoff = 0;
	http_write(c);
}

static void
http_write(struct http_client *c)
{
	ssize_t	 w;

	while (c->outoff < c->outlen) {
		w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (w == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w <= 0)
			break;
		c->outoff += (size_t)w;
	}
	http_drop(c);
}

static size_t
http_readyz(char *buf, size_t sz, int *ready)
{
	size_t	 n;
	int	 i;

	/* A standby is ready as such: a rollout must not wait for it. */
	if (!cfgwd.leading && !cfgwd.stopping && cfgwd.elector_pid > 0) {
		*ready = 1;
		return (size_t)snprintf(buf, sz, "ok: standby, waiting for "
		    "Lease %s/%s\n", cfgwd.lease_ns, cfgwd.lease_id);
	}
	*ready = !cfgwd.stopping;
	for (i = 1; i < PROC_MAX; i++)
		if (cfgwd.w[i].state != SV_READY)
			*ready = 0;
	if (*ready)
		return (size_t)snprintf(buf, sz, "ok\n");
	n = (size_t)snprintf(buf, sz, cfgwd.stopping ? "stopping" :
	    "not ready:");
	for (i = 1; i < PROC_MAX && n < sz; i++)
		if (cfgwd.w[i].state != SV_READY && !cfgwd.stopping)
			n += (size_t)snprintf(buf + n, sz - n, " %s",
			    cfgwd.w[i].name);
	if (n < sz)
		n += (size_t)snprintf(buf + n, sz - n, "\n");
	return n;
}

#define HTTP_ADD(...) do {						\
	if (n < sz)							\
		n += (size_t)snprintf(buf + n, sz - n, __VA_ARGS__);	\
} while (0)

/* Prometheus text format 0.0.4: ours, then each READY worker's. */
static char *
http_metrics(void)
{
	static const char *const dir[] = { "in", "out", "rejected" };
	const struct sv_worker *w;
	const char	*wm;
	char		*buf;
	uint64_t	 v[3];
	size_t		 n = 0, sz = HTTP_BODY_MAX, wl;
	int		 i, d;

	for (i = 1; i < PROC_MAX; i++)
		if (control_worker_metrics(i, &wl) != NULL)
			sz += wl;
	if ((buf = malloc(sz)) == NULL)
		return NULL;
	HTTP_ADD("# HELP cfgw_build_info cfgw version.\n"
	    "# TYPE cfgw_build_info gauge\n"
	    "cfgw_build_info{version=\"%s\"} 1\n", CFGW_VERSION);
	if (cfgwd.leader_elect)
		HTTP_ADD("# HELP cfgw_leader 1 while this replica holds the "
		    "leader election Lease.\n# TYPE cfgw_leader gauge\n"
		    "cfgw_leader %d\n", cfgwd.leading);
	HTTP_ADD("# HELP cfgw_worker_up 1 when the worker is READY.\n"
	    "# TYPE cfgw_worker_up gauge\n");
	for (i = 1; i < PROC_MAX; i++)
		HTTP_ADD("cfgw_worker_up{worker=\"%s\"} %d\n",
		    cfgwd.w[i].name, cfgwd.w[i].state == SV_READY);
	HTTP_ADD("# HELP cfgw_worker_restarts_total Worker restarts.\n"
	    "# TYPE cfgw_worker_restarts_total counter\n");
	for (i = 1; i < PROC_MAX; i++)
		HTTP_ADD("cfgw_worker_restarts_total{worker=\"%s\"} %llu\n",
		    cfgwd.w[i].name,
		    (unsigned long long)cfgwd.w[i].restarts);
	HTTP_ADD("# HELP cfgw_ipc_messages_total ZeroMQ messages by "
	    "direction, as of the last heartbeat.\n"
	    "# TYPE cfgw_ipc_messages_total counter\n");
	for (i = 1; i < PROC_MAX; i++) {
		w = &cfgwd.w[i];
		v[0] = w->ipc_in;
		v[1] = w->ipc_out;
		v[2] = w->ipc_rejected;
		for (d = 0; d < 3; d++)
			HTTP_ADD("cfgw_ipc_messages_total{worker=\"%s\","
			    "direction=\"%s\"} %llu\n", w->name, dir[d],
			    (unsigned long long)v[d]);
	}
	/* Checked line by line when the PONG came (promtext_check). */
	for (i = 1; i < PROC_MAX; i++)
		if (cfgwd.w[i].state == SV_READY &&
		    (wm = control_worker_metrics(i, &wl)) != NULL &&
		    n + wl < sz) {
			memcpy(buf + n, wm, wl);
			n += wl;
		}
	buf[n < sz ? n : sz - 1] = '\0';
	return buf;
}

void
http_tick(long long now)
{
	int	 i;

	for (i = 0; i < CFGWD_HTTP_CLIENTS; i++)
		if (http_cl[i].fd != -1 && now > http_cl[i].deadline)
			http_drop(&http_cl[i]);
}

static void
http_drop(struct http_client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
	free(c->out);
	c->out = NULL;
}

void
http_close_all(void)
{
	int	 i;

	http_init();
	for (i = 0; i < CFGWD_HTTP_CLIENTS; i++)
		http_drop(&http_cl[i]);
	for (i = 0; i < HTTP_LISTENERS; i++)
		if (http_lfd[i] != -1) {
			close(http_lfd[i]);
			http_lfd[i] = -1;
		}
}
