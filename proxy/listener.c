/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listener: the client-facing sockets.  The plain listener serves HTTP/1.x
 * and HTTP/2 with prior knowledge (told apart by the 24-byte connection
 * preface); the TLS listener picks HTTP/2 or HTTP/1.1 by ALPN.  A
 * connection over --max-connections is closed at once.  The main thread
 * accepts; thread.c hands each connection to the least busy thread.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proxy.h"

#define H2_PREFACE	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN	24

#define MAX_LISTENERS	4

static struct evconnlistener	*listeners[MAX_LISTENERS];
static int			 nlisteners;

struct pending {
	struct bufferevent	*bev;
	struct event		*tmo;
	char			 ip[64];
	int			 tls;
};

static void	 l_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	 l_sniff(struct bufferevent *, void *);
static void	 l_event(struct bufferevent *, short, void *);
static void	 l_timeout(evutil_socket_t, short, void *);
static void	 l_ntop(const struct sockaddr *, char *, size_t);
static void	 l_wait(int, int, const char *);

static void
p_free(struct pending *p, int close_bev)
{
	if (close_bev) {
		bufferevent_free(p->bev);
		px_conn_release();
	}
	event_free(p->tmo);
	free(p);
}

static void
p_dispatch(struct pending *p, int h2)
{
	struct bufferevent	*bev = p->bev;
	char			 ip[64];
	int			 tls = p->tls;

	snprintf(ip, sizeof(ip), "%s", p->ip);
	p_free(p, 0);
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	if (h2)
		down_h2_accept(bev, ip, tls, NULL, 0);
	else
		down_h1_accept(bev, ip, tls, NULL, 0);
}

static void
l_sniff(struct bufferevent *bev, void *arg)
{
	struct pending	*p = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 n = evbuffer_get_length(in);
	unsigned char	*b;

	if (n > H2_PREFACE_LEN)
		n = H2_PREFACE_LEN;
	b = evbuffer_pullup(in, n);
	if (memcmp(b, H2_PREFACE, n) != 0)
		p_dispatch(p, 0);
	else if (n == H2_PREFACE_LEN)
		p_dispatch(p, 1);
}

static void
l_event(struct bufferevent *bev, short what, void *arg)
{
	struct pending		*p = arg;
	const unsigned char	*alpn = NULL;
	unsigned int		 alen = 0;
	SSL			*ssl;

	if (what & BEV_EVENT_CONNECTED) {
		ssl = bufferevent_openssl_get_ssl(bev);
		SSL_get0_alpn_selected(ssl, &alpn, &alen);
		p_dispatch(p, alen == 2 && memcmp(alpn, "h2", 2) == 0);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		log_debug("client %s: connection error", p->ip);
	p_free(p, 1);
}

static void
l_timeout(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	p_free(arg, 1);
}

/*
 * A client connection, admitted and handed to this thread.  A plain one
 * waits for its first bytes in the parking lot, owning nothing but its
 * descriptor (listener_conn_ready takes over); a TLS one, or a plain one
 * the lot cannot take, waits with a bufferevent (l_wait).
 */
void
listener_conn_start(int fd, int tls, const char *ip)
{
	if (!tls && park_fd(fd, px->cf.idle_timeout_ms, 1) == 0)
		return;
	l_wait(fd, tls, ip);
}

/*
 * A fresh plain connection's first bytes arrived (park.c): a peek at
 * them tells HTTP/2 prior knowledge from HTTP/1.x; the bytes stay in the
 * socket for whoever serves it.  A partial preface waits with a
 * bufferevent for the rest.
 */
void
listener_conn_ready(int fd)
{
	char		 b[H2_PREFACE_LEN], ip[INET6_ADDRSTRLEN];
	ssize_t		 n;

	n = recv(fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	if (n > 0 && memcmp(b, H2_PREFACE, n) != 0) {
		down_h1_unpark(fd);
		return;
	}
	if ((n < 1 && px_recv_event(n) != 0) ||
	    px_peer_ip(fd, ip, sizeof(ip)) == -1) {
		evutil_closesocket(fd);
		px_conn_release();
		return;
	}
	if (n == H2_PREFACE_LEN) {
		struct bufferevent *bev;

		if ((bev = bufferevent_socket_new(px->base, fd,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
			evutil_closesocket(fd);
			px_conn_release();
			return;
		}
		down_h2_accept(bev, ip, 0, NULL, 0);
		return;
	}
	l_wait(fd, 0, ip);
}

/*
 * Wait for the TLS handshake or the first bytes (to tell HTTP/2 prior
 * knowledge from HTTP/1.x) with a bufferevent, within the header or idle
 * timeout.
 */
static void
l_wait(int fd, int tls, const char *ip)
{
	struct pending	*p;
	struct timeval	 tv;
	SSL		*ssl;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		evutil_closesocket(fd);
		px_conn_release();
		return;
	}
	p->tls = tls;
	snprintf(p->ip, sizeof(p->ip), "%s", ip);
	if (tls) {
		if ((ssl = SSL_new(tls_ctx())) == NULL) {
			evutil_closesocket(fd);
			free(p);
			px_conn_release();
			return;
		}
		p->bev = bufferevent_openssl_socket_new(px->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	} else
		p->bev = bufferevent_socket_new(px->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	p->tmo = evtimer_new(px->base, l_timeout, p);
	if (p->bev == NULL || p->tmo == NULL) {
		if (p->bev != NULL)
			bufferevent_free(p->bev);
		else
			evutil_closesocket(fd);
		if (p->tmo != NULL)
			event_free(p->tmo);
		free(p);
		px_conn_release();
		return;
	}
	px_tv_ms(&tv, tls ? px->cf.header_timeout_ms :
	    px->cf.idle_timeout_ms);
	evtimer_add(p->tmo, &tv);
	bufferevent_setcb(p->bev, tls ? NULL : l_sniff, NULL, l_event, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}

static void
l_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	char	 ip[64];
	int	 one = 1;

	(void)l;
	(void)salen;
	if (!px_conn_admit()) {
		evutil_closesocket(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	l_ntop(sa, ip, sizeof(ip));
	px_threads_dispatch(fd, arg != NULL, ip);
}

static void
l_ntop(const struct sockaddr *sa, char *ip, size_t sz)
{
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->
		    sin6_addr, ip, sz);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    ip, sz);
}

/* The client's address as accept(2) gave it, for a connection's fd. */
int
px_peer_ip(int fd, char *ip, size_t sz)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	l_ntop((struct sockaddr *)&ss, ip, sz);
	return 0;
}

/* "host:port" or "[v6]:port" with numeric host and port (0 allowed). */
int
addr_parse(const char *addr, struct sockaddr_storage *ss, int *sl)
{
	struct addrinfo	 hints, *res;
	char		 host[64];
	const char	*colon = strrchr(addr, ':');
	size_t		 hl;

	if (colon == NULL || colon == addr)
		return -1;
	hl = colon - addr;
	if (addr[0] == '[') {
		if (hl < 3 || addr[hl - 1] != ']')
			return -1;
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
l_resume(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	evconnlistener_enable(arg);
}

/* accept(2) failed (EMFILE...): pause this listener a second, not spin. */
static void
l_error(struct evconnlistener *l, void *arg)
{
	struct timeval	 tv = { 1, 0 };
	int		 err = EVUTIL_SOCKET_ERROR();

	(void)arg;
	log_warnx("accept: %s; pausing the listener for 1 s",
	    evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	event_base_once(px->base, -1, EV_TIMEOUT, l_resume, l, &tv);
}

/* Bind ADDR ("host:port", "[v6]:port"); logs the bound port. */
int
listener_open(const char *addr, int tls)
{
	struct sockaddr_storage	 ss;
	int			 sl = sizeof(ss);
	struct evconnlistener	*l;
	char			 buf[80];
	socklen_t		 bl = sizeof(ss);

	if (addr_parse(addr, &ss, &sl) == -1) {
		log_warnx("bad listen address %s", addr);
		return -1;
	}
	l = evconnlistener_new_bind(px->base, l_accept, tls ? (void *)1 : NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&ss, sl);
	if (l == NULL) {
		log_warn("listen %s", addr);
		return -1;
	}
	evconnlistener_set_error_cb(l, l_error);
	if (nlisteners < MAX_LISTENERS)
		listeners[nlisteners++] = l;
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &bl);
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    buf, sizeof(buf));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    buf, sizeof(buf));
	log_info("listening %s on %s port %d", tls ? "https" : "http", buf,
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return 0;
}

/* Stop accepting (graceful shutdown); open connections carry on. */
void
listener_close_all(void)
{
	while (nlisteners > 0)
		evconnlistener_free(listeners[--nlisteners]);
}
