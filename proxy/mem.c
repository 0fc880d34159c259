/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mem: where libevent's small allocations go.
 *
 * libevent allocates one small entry per descriptor and event base (its
 * evmap_io, ~20 bytes) the first time the descriptor is watched, and keeps
 * it until the base is freed.  Out of malloc, each lands in whatever small
 * chunk the last request freed, in the middle of pages full of buffers
 * and bufferevents that come and go; with thousands of idle connections
 * every heap page ends up pinned by one of them and malloc_trim() can
 * return nothing (measured: 1.5 MB in use holding 12.6 MB resident with
 * 10,000 idle connections).  So libevent's allocations of at most
 * PX_SMALL bytes come from a region of their own, a bump allocator with a
 * free list over reserved address space (pages become resident as they
 * are first used); the rest go to malloc as before.  ASan builds leave
 * libevent on malloc so every access stays checked.
 */
#include <sys/mman.h>

#include <event2/event.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

#define PX_SMALL	32			/* slot size, bytes */
#define PX_SMALL_SPACE	((size_t)64 << 20)	/* address space reserved */

#ifndef __SANITIZE_ADDRESS__
static char		*sm_base;	/* the region */
static size_t		 sm_used;	/* bytes handed out so far */
static void		*sm_free;	/* freed slots, linked */
static pthread_mutex_t	 sm_mu = PTHREAD_MUTEX_INITIALIZER;

static int
sm_owns(const void *p)
{
	return sm_base != NULL && (const char *)p >= sm_base &&
	    (const char *)p < sm_base + PX_SMALL_SPACE;
}

static void *
sm_alloc(void)
{
	void	*p = NULL;

	pthread_mutex_lock(&sm_mu);
	if (sm_free != NULL) {
		p = sm_free;
		sm_free = *(void **)p;
	} else if (sm_used < PX_SMALL_SPACE) {
		p = sm_base + sm_used;
		sm_used += PX_SMALL;
	}
	pthread_mutex_unlock(&sm_mu);
	return p;
}

static void
sm_release(void *p)
{
	pthread_mutex_lock(&sm_mu);
	*(void **)p = sm_free;
	sm_free = p;
	pthread_mutex_unlock(&sm_mu);
}

static void *
ev_malloc(size_t sz)
{
	void	*p;

	if (sz <= PX_SMALL && (p = sm_alloc()) != NULL)
		return p;
	return malloc(sz);
}

static void
ev_free(void *p)
{
	if (sm_owns(p))
		sm_release(p);
	else
		free(p);
}

static void *
ev_realloc(void *p, size_t sz)
{
	void	*n;

	if (p == NULL)
		return ev_malloc(sz);
	if (!sm_owns(p))
		return realloc(p, sz);
	if (sz <= PX_SMALL)
		return p;
	if ((n = malloc(sz)) == NULL)
		return NULL;
	memcpy(n, p, PX_SMALL);
	sm_release(p);
	return n;
}
#endif

/* Before any other libevent call. */
void
px_mem_init(void)
{
#ifndef __SANITIZE_ADDRESS__
	void	*p;

	p = mmap(NULL, PX_SMALL_SPACE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return;			/* libevent stays on malloc */
	sm_base = p;
	event_set_mem_functions(ev_malloc, ev_realloc, ev_free);
#endif
}
