/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_RECONCILER_QUEUE_H
#define CFGW_RECONCILER_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The work queue: keys ("GatewayClass/<name>", "Gateway/<ns>/<name>") with
 * a due time in monotonic milliseconds.  A key is queued at most once;
 * adding it again only moves its due time earlier.  Each key has its own
 * error backoff, doubling from QUEUE_BACKOFF_MIN to QUEUE_BACKOFF_MAX and
 * reset by queue_forget() after a success.
 */

#define QUEUE_KEY_MAX		512
#define QUEUE_BACKOFF_MIN	1000
#define QUEUE_BACKOFF_MAX	(5 * 60 * 1000)

struct queue;

struct queue	*queue_new(void);
void		 queue_free(struct queue **);
/* -1 if the key is too long or memory ran out. */
int		 queue_add(struct queue *, const char *key, uint64_t due);
/* Pops the earliest due key (<= now) into key; 1 if one was popped. */
int		 queue_pop(struct queue *, uint64_t now, char *key, size_t sz);
/* Milliseconds until the next key is due (0 if one is due), -1 if none. */
long long	 queue_wait(const struct queue *, uint64_t now);
/* The delay to use after a failure of key; doubles each call. */
uint64_t	 queue_backoff(struct queue *, const char *key);
void		 queue_forget(struct queue *, const char *key);
size_t		 queue_len(const struct queue *);
/* Monotonic clock in milliseconds. */
uint64_t	 queue_now(void);

#endif
