/* SPDX-License-Identifier: Apache-2.0 */
/*
 * thread: cfgw-proxy's event-loop threads (--threads, default the online
 * CPUs).  Every thread has its own struct px (the thread-local `px`): its
 * own event base, resolver, connection pools, counters and table
 * reference, so the request path takes no lock.  Thread 0 is the main
 * thread; it alone owns the listening sockets, the admin listener, table
 * loading and signals.  It accepts every connection and hands it to the
 * thread with the fewest client connections (itself included), so
 * long-lived connections are spread evenly.
 *
 * Cross-thread messages (a new connection, a new table, drain) go through
 * a small locked queue per thread and an eventfd that wakes its loop; no
 * libevent object is ever touched by two threads, so libevent needs no
 * locking.  Counters stay per thread; /metrics adds them up
 * (px_metrics_sum).  The table's reference count is atomic.
 */
#include <sys/eventfd.h>

#include <event2/dns.h>

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proxy.h"

#define PX_MAX_THREADS	64

enum msg_kind { MSG_CONN, MSG_TABLE, MSG_DRAIN };

struct pxmsg {
	enum msg_kind	 kind;
	int		 fd;
	int		 tls;
	struct table	*tb;
	char		 ip[64];
};

struct pxw {
	struct px	*px;
	pthread_t	 tid;
	struct event	*inbox;
	int		 efd;
	pthread_mutex_t	 mu;
	struct pxmsg	*q;
	size_t		 nq;
	size_t		 capq;
	int		 nconns;	/* atomic: client connections */
};

static struct pxw	 workers[PX_MAX_THREADS];
static int		 nworkers = 1;
static unsigned		 rr;
static int		 total_conns;	/* atomic, for --max-connections */
static int		 parked;	/* atomic: parks since the last trim */

static void	 w_inbox(evutil_socket_t, short, void *);

/* A resolver for this thread's base. */
struct evdns_base *
px_dns_new(struct event_base *base)
{
	struct evdns_base	*dns;

	dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (dns == NULL) {
		if ((dns = evdns_base_new(base, 0)) == NULL)
			return NULL;
		evdns_base_load_hosts(dns, NULL);
	}
	return dns;
}

static int
w_setup(struct pxw *w, struct px *p)
{
	pthread_mutex_init(&w->mu, NULL);
	w->px = p;
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	w->inbox = event_new(p->base, w->efd, EV_READ | EV_PERSIST, w_inbox,
	    w);
	if (w->inbox == NULL || event_add(w->inbox, NULL) == -1)
		return -1;
	return 0;
}

static void *
w_main(void *arg)
{
	struct pxw	*w = arg;

	px = w->px;
	event_base_loop(px->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/*
 * Start n-1 more threads beside the main one (px must be set up: base,
 * resolver, configuration, table).  They live until the process exits.
 */
int
px_threads_start(int n)
{
	struct px	*p;
	int		 i;

	if (n > PX_MAX_THREADS)
		n = PX_MAX_THREADS;
	/* Buffers come and go with every request: do not give the heap's
	 * top back to the system each time (brk/madvise per request); idle
	 * memory goes back through px_threads_trim() instead. */
	(void)mallopt(M_TRIM_THRESHOLD, 16 << 20);
	if (w_setup(&workers[0], px) == -1)
		return -1;
	for (i = 1; i < n; i++) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return -1;
		p->cf = px->cf;
		p->table = table_ref(px->table);
		p->draining = px->draining;
		if ((p->base = event_base_new()) == NULL ||
		    (p->dns = px_dns_new(p->base)) == NULL ||
		    w_setup(&workers[i], p) == -1) {
			log_warnx("thread %d: no event base", i);
			return -1;
		}
		nworkers = i + 1;
		if (pthread_create(&workers[i].tid, NULL, w_main,
		    &workers[i]) != 0) {
			log_warnx("thread %d: cannot start", i);
			nworkers = i;
			return -1;
		}
	}
	return 0;
}

int
px_threads_count(void)
{
	return nworkers;
}

static void
w_post(struct pxw *w, const struct pxmsg *m)
{
	struct pxmsg	*q;
	size_t		 cap;
	int		 wake;

	pthread_mutex_lock(&w->mu);
	if (w->nq == w->capq) {
		cap = w->capq ? w->capq * 2 : 16;
		if ((q = reallocarray(w->q, cap, sizeof(*q))) == NULL) {
			pthread_mutex_unlock(&w->mu);
			if (m->kind == MSG_CONN) {
				close(m->fd);
				__atomic_sub_fetch(&total_conns, 1,
				    __ATOMIC_RELAXED);
				__atomic_sub_fetch(&w->nconns, 1,
				    __ATOMIC_RELAXED);
			}
			if (m->kind == MSG_TABLE)
				table_unref(m->tb);
			return;
		}
		w->q = q;
		w->capq = cap;
	}
	wake = w->nq == 0;
	w->q[w->nq++] = *m;
	pthread_mutex_unlock(&w->mu);
	if (wake)
		(void)eventfd_write(w->efd, 1);
}

static void
w_inbox(evutil_socket_t fd, short ev, void *arg)
{
	struct pxw	*w = arg;
	struct pxmsg	*q, m;
	size_t		 n, i;
	struct table	*old;
	eventfd_t	 v;

	(void)ev;
	(void)eventfd_read(fd, &v);
	pthread_mutex_lock(&w->mu);
	q = w->q;
	n = w->nq;
	w->q = NULL;
	w->nq = w->capq = 0;
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < n; i++) {
		m = q[i];
		switch (m.kind) {
		case MSG_CONN:
			listener_conn_start(m.fd, m.tls, m.ip);
			break;
		case MSG_TABLE:
			old = px->table;
			px->table = m.tb;
			table_unref(old);
			break;
		case MSG_DRAIN:
			px->draining = 1;
			break;
		}
	}
	free(q);
}

/* Index of the calling thread's slot. */
static struct pxw *
w_self(void)
{
	int	 i;

	for (i = 0; i < nworkers; i++)
		if (workers[i].px == px)
			return &workers[i];
	return &workers[0];
}

/*
 * A new client connection (main thread, after admission): serve it here
 * or hand it to the least busy thread.
 */
void
px_threads_dispatch(int fd, int tls, const char *ip)
{
	struct pxw	*w = &workers[0], *c;
	struct pxmsg	 m;
	int		 i, best = -1, n;

	for (i = 0; i < nworkers; i++) {
		c = &workers[(rr + i) % nworkers];
		n = __atomic_load_n(&c->nconns, __ATOMIC_RELAXED);
		if (best == -1 || n < best) {
			best = n;
			w = c;
		}
	}
	rr++;
	__atomic_add_fetch(&w->nconns, 1, __ATOMIC_RELAXED);
	if (w->px == px) {
		listener_conn_start(fd, tls, ip);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.kind = MSG_CONN;
	m.fd = fd;
	m.tls = tls;
	snprintf(m.ip, sizeof(m.ip), "%s", ip);
	w_post(w, &m);
}

/* A connection was parked (down_h1.c): its memory is free. */
void
px_threads_parked(void)
{
	__atomic_add_fetch(&parked, 1, __ATOMIC_RELAXED);
}

/*
 * Every second (main thread): after parks, give the freed pages back to
 * the system, so memory follows the busy connections, not the idle ones.
 */
void
px_threads_trim(void)
{
	if (__atomic_exchange_n(&parked, 0, __ATOMIC_RELAXED) > 0)
		(void)malloc_trim(0);
}

/* --max-connections over all threads. */
int
px_conn_admit(void)
{
	if (__atomic_add_fetch(&total_conns, 1, __ATOMIC_RELAXED) >
	    px->cf.max_connections) {
		__atomic_sub_fetch(&total_conns, 1, __ATOMIC_RELAXED);
		px->m.conn_rejected++;
		return 0;
	}
	px->m.conn_total++;
	return 1;
}

/* Before px_threads_dispatch: admitted, but served by no thread yet. */
void
px_conn_release(void)
{
	__atomic_sub_fetch(&total_conns, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&w_self()->nconns, 1, __ATOMIC_RELAXED);
}

/* The main thread installed a new table: give each thread a reference. */
void
px_threads_table(struct table *tb)
{
	struct pxmsg	 m;
	int		 i;

	memset(&m, 0, sizeof(m));
	m.kind = MSG_TABLE;
	for (i = 1; i < nworkers; i++) {
		m.tb = table_ref(tb);
		w_post(&workers[i], &m);
	}
}

void
px_threads_drain(void)
{
	struct pxmsg	 m;
	int		 i;

	memset(&m, 0, sizeof(m));
	m.kind = MSG_DRAIN;
	for (i = 1; i < nworkers; i++)
		w_post(&workers[i], &m);
}

/* Exchanges alive in all threads. */
int
px_threads_inflight(void)
{
	int	 i, n = 0;

	for (i = 0; i < nworkers; i++)
		n += __atomic_load_n(&workers[i].px->inflight,
		    __ATOMIC_RELAXED);
	return n;
}

#define ADD(f)	(out->f += __atomic_load_n(&o->f, __ATOMIC_RELAXED))

/*
 * The process's counters: the main thread's, plus every other thread's
 * per-request counters.  (Reads race benignly with the owners' updates.)
 */
void
px_metrics_sum(struct px_metrics *out)
{
	const struct px_metrics	*o;
	double			 s;
	int			 i, j;

	*out = workers[0].px != NULL ? workers[0].px->m : px->m;
	for (i = 1; i < nworkers; i++) {
		o = &workers[i].px->m;
		for (j = 0; j < PX_NBUCKETS; j++)
			ADD(dur_bucket[j]);
		ADD(dur_count);
		__atomic_load(&o->dur_sum, &s, __ATOMIC_RELAXED);
		out->dur_sum += s;
		for (j = 0; j < 6; j++)
			ADD(req_class[j]);
		ADD(conn_total);
		ADD(conn_rejected);
		ADD(up_conn_new);
		ADD(up_conn_reused);
		ADD(bad_requests);
	}
	out->conn_active = __atomic_load_n(&total_conns, __ATOMIC_RELAXED);
}
