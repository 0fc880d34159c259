/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipc: ZeroMQ edges between workers, CURVE on every one.  A binding socket
 * is a CURVE server whose ZAP domain is its endpoint name; the ZAP handler
 * (one thread per process, REP on inproc://zeromq.zap.01) admits only the
 * public keys of the peers allowed for that domain and names the peer in
 * the User-Id, which ipc_recv checks against the message catalogue.  A
 * thread is the simplest way to answer ZAP while the worker's own loop
 * is busy; seccomp, installed later, is applied to every thread (TSYNC).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "ipc.h"
#include "log.h"

#define IPC_MAX_SOCKS	16
#define IPC_MAX_DOMAINS	8
#define IPC_ZAP_EP	"inproc://zeromq.zap.01"
#define IPC_ZAP_PARTS	8

struct ipc_sock {
	void		*sock;
	int		 type;
	int		 bound;
	unsigned	 allowed;	/* bound: P_* mask */
	enum proc_id	 server;	/* connected: who we talk to */
};

struct ipc_state {
	pthread_t	 zap_thread;
	int		 zap_running;
	void		*zap_sock;
	pthread_mutex_t	 mtx;		/* guards domains[] */
	struct {
		char	 name[64];
		unsigned allowed;
	}		 domains[IPC_MAX_DOMAINS];
	int		 ndomains;
	uint8_t		 peer_key[PROC_MAX][32];
	int		 peer_key_ok[PROC_MAX];
	struct ipc_sock	 socks[IPC_MAX_SOCKS];
};

/* Every live state, so that ipc_close() can find a socket's entry. */
#define IPC_MAX_STATES	8
static struct ipc_state *ipc_states[IPC_MAX_STATES];

static struct ipc_state *ipc_state_get(struct worker *);
static int	ipc_zap_start(struct worker *, struct ipc_state *);
static void	*ipc_zap_main(void *);
static int	ipc_zap_reply(void *, zmq_msg_t *, const char *, const char *,
		    const char *);
static const char *ipc_zap_check(struct ipc_state *, zmq_msg_t *, int);
static void	*ipc_socket(struct worker *, struct ipc_state *, int, int);
static struct ipc_sock *ipc_sock_find(struct ipc_state *, void *);
static struct ipc_sock *ipc_sock_add(struct ipc_state *, void *);

int
ipc_endpoint(const struct worker *w, const char *name, char *buf,
    size_t bufsz)
{
	int	 n;

	n = snprintf(buf, bufsz, "ipc://%s/%s.sock", w->cfg.runtime_dir,
	    name);
	/* sun_path holds 107 bytes plus the NUL. */
	if (n < 0 || (size_t)n >= bufsz || n - 6 > 107) {
		log_warnx("endpoint for %s too long", name);
		return -1;
	}
	return 0;
}

static struct ipc_state *
ipc_state_get(struct worker *w)
{
	struct ipc_state *st;
	int		  i;

	if (w->ipc != NULL)
		return w->ipc;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	pthread_mutex_init(&st->mtx, NULL);
	for (i = 0; i < PROC_MAX; i++)
		if (w->peer_public[i][0] != '\0' &&
		    zmq_z85_decode(st->peer_key[i], w->peer_public[i]) != NULL)
			st->peer_key_ok[i] = 1;
	if ((w->zctx = zmq_ctx_new()) == NULL) {
		log_warnx("zmq_ctx_new: %s", zmq_strerror(errno));
		free(st);
		return NULL;
	}
	for (i = 0; i < IPC_MAX_STATES; i++)
		if (ipc_states[i] == NULL) {
			ipc_states[i] = st;
			break;
		}
	w->ipc = st;
	return st;
}

static int
ipc_zap_start(struct worker *w, struct ipc_state *st)
{
	sigset_t all, old;
	int	 linger = 0, rc;

	if (st->zap_running)
		return 0;
	if ((st->zap_sock = zmq_socket(w->zctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(st->zap_sock, ZMQ_LINGER, &linger,
	    sizeof(linger)) == -1 ||
	    zmq_bind(st->zap_sock, IPC_ZAP_EP) == -1) {
		log_warnx("ZAP handler: %s", zmq_strerror(errno));
		if (st->zap_sock != NULL)
			zmq_close(st->zap_sock);
		st->zap_sock = NULL;
		return -1;
	}
	/* Signals are the main thread's business: the handler blocks all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&st->zap_thread, NULL, ipc_zap_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("ZAP handler: cannot start thread");
		zmq_close(st->zap_sock);
		st->zap_sock = NULL;
		return -1;
	}
	st->zap_running = 1;
	return 0;
}

/* ZAP (ZeroMQ RFC 27): answer every request until the context ends. */
static void *
ipc_zap_main(void *arg)
{
	struct ipc_state *st = arg;
	zmq_msg_t	  part[IPC_ZAP_PARTS], extra;
	zmq_msg_t	 *p;
	const char	 *user;
	int		  n, i, more, ok = 1;

	while (ok) {
		for (n = 0, more = 1; more; ) {
			p = n < IPC_ZAP_PARTS ? &part[n] : &extra;
			zmq_msg_init(p);
			if (zmq_msg_recv(p, st->zap_sock, 0) == -1) {
				zmq_msg_close(p);
				if (errno == EINTR)
					continue;
				ok = 0;		/* ETERM: the context ends */
				break;
			}
			more = zmq_msg_more(p);
			if (p == &extra)
				zmq_msg_close(&extra);
			n++;
		}
		if (ok && n >= 2) {
			user = ipc_zap_check(st, part, n);
			ipc_zap_reply(st->zap_sock, &part[1],
			    user ? "200" : "400", user ? "OK" : "denied",
			    user ? user : "");
		}
		for (i = 0; i < n && i < IPC_ZAP_PARTS; i++)
			zmq_msg_close(&part[i]);
	}
	zmq_close(st->zap_sock);
	return NULL;
}

/* The peer's process name if its key is allowed on the domain, or NULL. */
static const char *
ipc_zap_check(struct ipc_state *st, zmq_msg_t *part, int n)
{
	char		 domain[64];
	unsigned	 allowed = 0;
	size_t		 len;
	int		 i, found = 0;

	if (n != 7 || zmq_msg_size(&part[0]) != 3 ||
	    memcmp(zmq_msg_data(&part[0]), "1.0", 3) != 0 ||
	    zmq_msg_size(&part[5]) != 5 ||
	    memcmp(zmq_msg_data(&part[5]), "CURVE", 5) != 0 ||
	    zmq_msg_size(&part[6]) != 32)
		return NULL;
	if ((len = zmq_msg_size(&part[2])) >= sizeof(domain))
		return NULL;
	memcpy(domain, zmq_msg_data(&part[2]), len);
	domain[len] = '\0';
	pthread_mutex_lock(&st->mtx);
	for (i = 0; i < st->ndomains; i++)
		if (strcmp(st->domains[i].name, domain) == 0) {
			allowed = st->domains[i].allowed;
			found = 1;
		}
	pthread_mutex_unlock(&st->mtx);
	if (!found)
		return NULL;
	for (i = 1; i < PROC_MAX; i++)
		if ((allowed & (1u << i)) && st->peer_key_ok[i] &&
		    memcmp(st->peer_key[i], zmq_msg_data(&part[6]), 32) == 0)
			return proc_name((enum proc_id)i);
	log_warnx("ZAP: refused a client key on %s", domain);
	return NULL;
}

static int
ipc_zap_reply(void *sock, zmq_msg_t *reqid, const char *code,
    const char *text, const char *user)
{
	int	 rc = 0;

	rc |= zmq_send(sock, "1.0", 3, ZMQ_SNDMORE) == -1;
	rc |= zmq_send(sock, zmq_msg_data(reqid), zmq_msg_size(reqid),
	    ZMQ_SNDMORE) == -1;
	rc |= zmq_send(sock, code, 3, ZMQ_SNDMORE) == -1;
	rc |= zmq_send(sock, text, strlen(text), ZMQ_SNDMORE) == -1;
	rc |= zmq_send(sock, user, strlen(user), ZMQ_SNDMORE) == -1;
	rc |= zmq_send(sock, "", 0, 0) == -1;
	return rc ? -1 : 0;
}

static void *
ipc_socket(struct worker *w, struct ipc_state *st, int type, int hwm)
{
	void	*s;
	int	 linger = 0;
	int64_t	 max = (int64_t)FRAME_PAYLOAD_MAX;

	(void)st;
	if ((s = zmq_socket(w->zctx, type)) == NULL) {
		log_warnx("zmq_socket: %s", zmq_strerror(errno));
		return NULL;
	}
	/* Every part is bounded: header or payload, never more. */
	if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max)) == -1 ||
	    (hwm > 0 && (zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) ==
	    -1 || zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) == -1))) {
		log_warnx("zmq_setsockopt: %s", zmq_strerror(errno));
		zmq_close(s);
		return NULL;
	}
	return s;
}

static struct ipc_sock *
ipc_sock_find(struct ipc_state *st, void *sock)
{
	int	 i;

	for (i = 0; st != NULL && i < IPC_MAX_SOCKS; i++)
		if (st->socks[i].sock == sock && sock != NULL)
			return &st->socks[i];
	return NULL;
}

static struct ipc_sock *
ipc_sock_add(struct ipc_state *st, void *sock)
{
	struct ipc_sock	*e = NULL;
	int		 i;

	for (i = 0; i < IPC_MAX_SOCKS && e == NULL; i++)
		if (st->socks[i].sock == NULL)
			e = &st->socks[i];
	if (e == NULL) {
		log_warnx("too many ipc sockets");
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	e->sock = sock;
	return e;
}

void *
ipc_bind(struct worker *w, int type, const char *name, unsigned allowed)
{
	return ipc_bind_hwm(w, type, name, allowed, 0);
}

void *
ipc_bind_hwm(struct worker *w, int type, const char *name, unsigned allowed,
    int hwm)
{
	struct ipc_state *st;
	struct ipc_sock	 *e;
	char		  ep[300];
	void		 *s;
	int		  one = 1;

	if ((st = ipc_state_get(w)) == NULL || ipc_zap_start(w, st) == -1 ||
	    ipc_endpoint(w, name, ep, sizeof(ep)) == -1)
		return NULL;
	if (strlen(name) >= sizeof(st->domains[0].name) ||
	    st->ndomains == IPC_MAX_DOMAINS) {
		log_warnx("ipc_bind %s: bad name or too many", name);
		return NULL;
	}
	pthread_mutex_lock(&st->mtx);
	strcpy(st->domains[st->ndomains].name, name);
	st->domains[st->ndomains++].allowed = allowed & ~P_SUPERVISOR;
	pthread_mutex_unlock(&st->mtx);
	if ((s = ipc_socket(w, st, type, hwm)) == NULL)
		return NULL;
	if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) == -1 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, w->secret_key,
	    WORKER_KEY_LEN) == -1 ||
	    zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, name, strlen(name)) == -1 ||
	    zmq_bind(s, ep) == -1) {
		log_warnx("bind %s: %s", ep, zmq_strerror(errno));
		zmq_close(s);
		return NULL;
	}
	if ((e = ipc_sock_add(st, s)) == NULL) {
		zmq_close(s);
		return NULL;
	}
	e->type = type;
	e->bound = 1;
	e->allowed = allowed & ~P_SUPERVISOR;
	log_debug("bound %s", ep);
	return s;
}

void *
ipc_connect(struct worker *w, int type, enum proc_id server,
    const char *name)
{
	return ipc_connect_hwm(w, type, server, name, 0);
}

void *
ipc_connect_hwm(struct worker *w, int type, enum proc_id server,
    const char *name, int hwm)
{
	struct ipc_state *st;
	struct ipc_sock	 *e;
	char		  ep[300];
	void		 *s;

	if ((unsigned)server >= PROC_MAX || w->peer_public[server][0] == '\0') {
		log_warnx("connect %s: no key for %s", name, proc_name(server));
		return NULL;
	}
	if ((st = ipc_state_get(w)) == NULL ||
	    ipc_endpoint(w, name, ep, sizeof(ep)) == -1 ||
	    (s = ipc_socket(w, st, type, hwm)) == NULL)
		return NULL;
	if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, w->peer_public[server],
	    WORKER_KEY_LEN) == -1 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, w->public_key,
	    WORKER_KEY_LEN) == -1 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, w->secret_key,
	    WORKER_KEY_LEN) == -1 ||
	    (type == ZMQ_SUB && zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) == -1)
	    || zmq_connect(s, ep) == -1) {
		log_warnx("connect %s: %s", ep, zmq_strerror(errno));
		zmq_close(s);
		return NULL;
	}
	if ((e = ipc_sock_add(st, s)) == NULL) {
		zmq_close(s);
		return NULL;
	}
	e->type = type;
	e->server = server;
	log_debug("connected to %s", ep);
	return s;
}

int
ipc_send(struct worker *w, void *sock, const void *ident, size_t identlen,
    unsigned type, uint64_t reqid, const char *payload, size_t len)
{
	struct frame_hdr h;
	uint8_t		 hdr[FRAME_HDR_LEN];

	if (!msg_may_send(type, w->self) || len > FRAME_PAYLOAD_MAX) {
		log_warnx("refusing to send %s (%zu bytes)", msg_name(type),
		    len);
		errno = EINVAL;
		return -1;
	}
	frame_header_init(&h, w->self, type, reqid, len);
	frame_encode_header(&h, hdr);
	if ((ident != NULL &&
	    zmq_send(sock, ident, identlen, ZMQ_SNDMORE) == -1) ||
	    zmq_send(sock, hdr, sizeof(hdr), ZMQ_SNDMORE) == -1 ||
	    zmq_send(sock, payload != NULL ? payload : "", len, 0) == -1) {
		log_warnx("send %s: %s", msg_name(type), zmq_strerror(errno));
		return -1;
	}
	w->ipc_out++;
	return 0;
}

/* Read every part of one message; *n is how many there were. */
static int
ipc_recv_parts(void *sock, zmq_msg_t part[3], int *n, int dontwait)
{
	zmq_msg_t	 extra, *m;
	int		 more = 1, i;

	for (*n = 0; more; ) {
		m = *n < 3 ? &part[*n] : &extra;
		zmq_msg_init(m);
		if (zmq_msg_recv(m, sock, *n == 0 && dontwait ?
		    ZMQ_DONTWAIT : 0) == -1) {
			zmq_msg_close(m);
			if (errno == EINTR && *n > 0)
				continue;	/* the rest is already here */
			for (i = 0; i < *n && i < 3; i++)
				zmq_msg_close(&part[i]);
			if (*n == 0 && (errno == EAGAIN || errno == EINTR))
				return 1;
			log_warnx("zmq_msg_recv: %s", zmq_strerror(errno));
			return -1;
		}
		more = zmq_msg_more(m);
		if (m == &extra)
			zmq_msg_close(&extra);
		(*n)++;
	}
	return 0;
}

/* Who sent it: the ZAP User-Id on a bound socket, the server otherwise. */
static enum proc_id
ipc_recv_peer(const struct ipc_sock *e, zmq_msg_t *hdr)
{
	const char	*user;
	enum proc_id	 p;

	if (!e->bound)
		return e->server;
	if ((user = zmq_msg_gets(hdr, "User-Id")) == NULL ||
	    proc_lookup(user, &p) == -1 || !(e->allowed & (1u << p)))
		return PROC_MAX;
	return p;
}

static int
ipc_recv_fill(struct worker *w, const struct ipc_sock *e, zmq_msg_t *part,
    int n, struct ipc_msg *m)
{
	zmq_msg_t	*hdr, *pay;
	enum frame_err	 why = FRAME_OK;
	size_t		 plen;
	int		 want = e->type == ZMQ_ROUTER ? 3 : 2;

	if (n != want) {
		log_warnx("ipc: %d-part message, want %d", n, want);
		return -2;
	}
	hdr = &part[want - 2];
	pay = &part[want - 1];
	if (want == 3) {
		if (zmq_msg_size(&part[0]) > sizeof(m->ident))
			return -2;
		m->identlen = zmq_msg_size(&part[0]);
		memcpy(m->ident, zmq_msg_data(&part[0]), m->identlen);
	}
	if ((m->peer = ipc_recv_peer(e, hdr)) == PROC_MAX) {
		log_warnx("ipc: message from an unauthenticated peer");
		return -2;
	}
	plen = zmq_msg_size(pay);
	if (frame_check(zmq_msg_data(hdr), zmq_msg_size(hdr),
	    zmq_msg_data(pay), plen, w->self, m->peer, FRAME_PAYLOAD_MAX,
	    &m->f, &why) != 0) {
		log_warnx("ipc: rejected frame from %s: %s",
		    proc_name(m->peer), frame_strerror(why));
		return -2;
	}
	/* Own the payload, NUL-terminated for the JSON parser's sake. */
	if ((m->priv = malloc(plen + 1)) == NULL) {
		log_warn("malloc");
		return -1;
	}
	memcpy(m->priv, zmq_msg_data(pay), plen);
	((char *)m->priv)[plen] = '\0';
	m->f.payload = m->priv;
	return 0;
}

int
ipc_recv(struct worker *w, void *sock, struct ipc_msg *m, int dontwait)
{
	struct ipc_sock	*e;
	zmq_msg_t	 part[3];
	int		 n = 0, rc, i;

	memset(m, 0, sizeof(*m));
	m->peer = PROC_MAX;
	if ((e = ipc_sock_find(w->ipc, sock)) == NULL) {
		log_warnx("ipc_recv: not an ipc socket");
		return -1;
	}
	if ((rc = ipc_recv_parts(sock, part, &n, dontwait)) != 0)
		return rc;
	rc = ipc_recv_fill(w, e, part, n, m);
	for (i = 0; i < n && i < 3; i++)
		zmq_msg_close(&part[i]);
	if (rc == -2)
		w->ipc_rejected++;
	else if (rc == 0)
		w->ipc_in++;
	if (rc != 0)
		ipc_msg_free(m);
	return rc;
}

void
ipc_msg_free(struct ipc_msg *m)
{
	free(m->priv);
	m->priv = NULL;
	m->f.payload = NULL;
	m->f.paylen = 0;
}

void
ipc_close(void **sockp)
{
	struct ipc_sock	*e;
	int		 i;

	if (*sockp == NULL)
		return;
	/* Callers hold only the socket: find its entry in any live state. */
	for (i = 0; i < IPC_MAX_STATES; i++)
		if ((e = ipc_sock_find(ipc_states[i], *sockp)) != NULL)
			e->sock = NULL;
	zmq_close(*sockp);
	*sockp = NULL;
}

void
ipc_shutdown(struct worker *w)
{
	struct ipc_state *st = w->ipc;
	int		  i;

	if (st != NULL) {
		for (i = 0; i < IPC_MAX_SOCKS; i++)
			if (st->socks[i].sock != NULL) {
				zmq_close(st->socks[i].sock);
				st->socks[i].sock = NULL;
			}
	}
	if (w->zctx != NULL) {
		/* Wakes the ZAP thread with ETERM; it closes its socket. */
		zmq_ctx_shutdown(w->zctx);
		if (st != NULL && st->zap_running)
			pthread_join(st->zap_thread, NULL);
		zmq_ctx_term(w->zctx);
		w->zctx = NULL;
	}
	if (st != NULL) {
		for (i = 0; i < IPC_MAX_STATES; i++)
			if (ipc_states[i] == st)
				ipc_states[i] = NULL;
		pthread_mutex_destroy(&st->mtx);
		free(st);
		w->ipc = NULL;
	}
}
