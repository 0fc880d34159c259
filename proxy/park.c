/* SPDX-License-Identifier: Apache-2.0 */
/*
 * park: the parking lot for idle client connections, one per thread.
 *
 * A keep-alive connection idle for a second (down_h1.c) gives up all its
 * state: its descriptor leaves the thread's event base for the lot's own
 * epoll set, which the base watches through a single event, and its
 * deadline goes into an array indexed by descriptor.  A parked connection
 * so costs 4 bytes of this process's memory (the kernel keeps its epoll
 * entry and socket, as for any connection).  The client's next byte
 * brings the connection back (down_h1_unpark); a sweep every
 * PARK_SWEEP_MS closes those whose idle time is over.
 *
 * New plain connections wait here too until their first bytes (then
 * listener_conn_ready tells HTTP/2 prior knowledge from HTTP/1.x).
 *
 * Deadlines are a 32-bit millisecond clock compared by signed difference
 * (serial-number arithmetic), so they stay right across its wrap for any
 * timeout under 24 days; the two low bits mark a slot as taken and as a
 * fresh connection.
 */
#include <sys/epoll.h>

#include <event2/event_struct.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proxy.h"

#define PARK_SWEEP_MS	250
#define PARK_BATCH	64
#define PARK_MAX_MS	(1 << 30)

#define PARK_TAKEN	1u	/* low bits of a deadline */
#define PARK_FRESH	2u	/* nothing received yet: listener.c */
#define PARK_FLAGS	3u

struct lot {
	int		 epfd;
	struct event	 ready;		/* epfd readable: clients spoke */
	struct event	 sweep;		/* deadlines, while n > 0 */
	uint32_t	*until;		/* by fd: deadline | 1, 0: free */
	size_t		 cap;
	int		 n;		/* parked now */
	int		 hi;		/* above the highest parked fd */
};

static __thread struct lot	*lot;

static void	 park_ready(evutil_socket_t, short, void *);
static void	 park_sweep(evutil_socket_t, short, void *);

static uint32_t
park_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec * 1000u + (uint32_t)(ts.tv_nsec / 1000000);
}

static int
park_init(void)
{
	struct lot	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("park: epoll_create1");
		free(l);
		return -1;
	}
	event_assign(&l->ready, px->base, l->epfd, EV_READ | EV_PERSIST,
	    park_ready, l);
	evtimer_assign(&l->sweep, px->base, park_sweep, l);
	if (event_add(&l->ready, NULL) == -1) {
		close(l->epfd);
		free(l);
		return -1;
	}
	lot = l;
	return 0;
}

static int
park_grow(struct lot *l, int fd)
{
	uint32_t	*v;
	size_t		 cap = l->cap ? l->cap : 1024;

	while (cap <= (size_t)fd)
		cap *= 2;
	if ((v = reallocarray(l->until, cap, sizeof(*v))) == NULL)
		return -1;
	memset(v + l->cap, 0, (cap - l->cap) * sizeof(*v));
	l->until = v;
	l->cap = cap;
	return 0;
}

/*
 * Park FD, a client connection of this thread, for at most MS ms: an idle
 * keep-alive connection, or a FRESH one that has sent nothing yet.  The
 * caller has removed it from the event base; on -1 it still owns it.
 */
int
park_fd(int fd, int ms, int fresh)
{
	struct epoll_event	 e;
	struct timeval		 tv;

	if ((lot == NULL && park_init() == -1) ||
	    ((size_t)fd >= lot->cap && park_grow(lot, fd) == -1))
		return -1;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.fd = fd;
	if (epoll_ctl(lot->epfd, EPOLL_CTL_ADD, fd, &e) == -1)
		return -1;
	if (ms > PARK_MAX_MS)
		ms = PARK_MAX_MS;
	lot->until[fd] = ((park_now() + (uint32_t)ms) & ~PARK_FLAGS) |
	    PARK_TAKEN | (fresh ? PARK_FRESH : 0);
	if (fd >= lot->hi)
		lot->hi = fd + 1;
	if (lot->n++ == 0) {
		px_tv_ms(&tv, PARK_SWEEP_MS);
		event_add(&lot->sweep, &tv);
	}
	return 0;
}

/* FD leaves the lot (to be served again, or closed). */
static void
park_leave(struct lot *l, int fd)
{
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->until[fd] = 0;
	if (--l->n == 0)
		event_del(&l->sweep);
}

static void
park_ready(evutil_socket_t epfd, short ev, void *arg)
{
	struct lot		*l = arg;
	struct epoll_event	 e[PARK_BATCH];
	int			 i, n, fd;
	uint32_t		 fresh;

	(void)ev;
	if ((n = epoll_wait(epfd, e, PARK_BATCH, 0)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		fd = e[i].data.fd;
		if (fd < 0 || (size_t)fd >= l->cap || l->until[fd] == 0)
			continue;
		fresh = l->until[fd] & PARK_FRESH;
		park_leave(l, fd);
		if (fresh)
			listener_conn_ready(fd);
		else
			down_h1_unpark(fd);
	}
}

static void
park_sweep(evutil_socket_t unused, short ev, void *arg)
{
	struct lot	*l = arg;
	struct timeval	 tv;
	uint32_t	 now = park_now();
	int		 fd, hi = 0;

	(void)unused;
	(void)ev;
	for (fd = 0; fd < l->hi; fd++) {
		if (l->until[fd] == 0)
			continue;
		if ((int32_t)((l->until[fd] & ~PARK_FLAGS) - now) > 0) {
			hi = fd + 1;
			continue;
		}
		park_leave(l, fd);
		close(fd);
		px_conn_release();
	}
	l->hi = hi;
	if (l->n > 0) {
		px_tv_ms(&tv, PARK_SWEEP_MS);
		event_add(&l->sweep, &tv);
	}
}
