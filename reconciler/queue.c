/* SPDX-License-Identifier: Apache-2.0 */
/* queue: de-duplicated, delayed work keys with per-key backoff. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"

struct queue_ent {
	char		 key[QUEUE_KEY_MAX];
	uint64_t	 due;
	int		 queued;
	uint64_t	 backoff;
};

struct queue {
	struct queue_ent	*v;
	size_t			 n, cap;
};

struct queue *
queue_new(void)
{
	return calloc(1, sizeof(struct queue));
}

void
queue_free(struct queue **pq)
{
	if (*pq == NULL)
		return;
	free((*pq)->v);
	free(*pq);
	*pq = NULL;
}

static struct queue_ent *
queue_find(const struct queue *q, const char *key)
{
	size_t	 i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->v[i].key, key) == 0)
			return &q->v[i];
	return NULL;
}

static struct queue_ent *
queue_ent(struct queue *q, const char *key)
{
	struct queue_ent	*e, *nv;
	size_t			 cap;

	if (strlen(key) >= QUEUE_KEY_MAX)
		return NULL;
	if ((e = queue_find(q, key)) != NULL)
		return e;
	if (q->n == q->cap) {
		cap = q->cap ? q->cap * 2 : 32;
		if ((nv = reallocarray(q->v, cap, sizeof(*nv))) == NULL)
			return NULL;
		q->v = nv;
		q->cap = cap;
	}
	e = &q->v[q->n++];
	memset(e, 0, sizeof(*e));
	strcpy(e->key, key);
	return e;
}

int
queue_add(struct queue *q, const char *key, uint64_t due)
{
	struct queue_ent	*e;

	if ((e = queue_ent(q, key)) == NULL)
		return -1;
	if (!e->queued || due < e->due)
		e->due = due;
	e->queued = 1;
	return 0;
}

int
queue_pop(struct queue *q, uint64_t now, char *key, size_t sz)
{
	struct queue_ent	*best = NULL;
	size_t			 i;

	for (i = 0; i < q->n; i++) {
		if (!q->v[i].queued || q->v[i].due > now)
			continue;
		if (best == NULL || q->v[i].due < best->due)
			best = &q->v[i];
	}
	if (best == NULL || strlen(best->key) >= sz)
		return 0;
	strcpy(key, best->key);
	best->queued = 0;
	return 1;
}

long long
queue_wait(const struct queue *q, uint64_t now)
{
	long long	 w = -1;
	size_t		 i;

	for (i = 0; i < q->n; i++) {
		if (!q->v[i].queued)
			continue;
		if (q->v[i].due <= now)
			return 0;
		if (w == -1 || (long long)(q->v[i].due - now) < w)
			w = (long long)(q->v[i].due - now);
	}
	return w;
}

uint64_t
queue_backoff(struct queue *q, const char *key)
{
	struct queue_ent	*e;

	if ((e = queue_ent(q, key)) == NULL)
		return QUEUE_BACKOFF_MAX;
	if (e->backoff == 0)
		e->backoff = QUEUE_BACKOFF_MIN;
	else if (e->backoff < QUEUE_BACKOFF_MAX / 2)
		e->backoff *= 2;
	else
		e->backoff = QUEUE_BACKOFF_MAX;
	return e->backoff;
}

void
queue_forget(struct queue *q, const char *key)
{
	struct queue_ent	*e;

	if ((e = queue_find(q, key)) != NULL)
		e->backoff = 0;
}

size_t
queue_len(const struct queue *q)
{
	size_t	 i, n = 0;

	for (i = 0; i < q->n; i++)
		n += q->v[i].queued;
	return n;
}

uint64_t
queue_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
