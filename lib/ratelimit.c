/* SPDX-License-Identifier: Apache-2.0 */
/* ratelimit: a token bucket for client-side request pacing. */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "ratelimit.h"

void
ratelimit_init(struct ratelimit *rl, double rate, double burst)
{
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	rl->tokens = rl->burst;
	rl->last = ratelimit_now();
}

double
ratelimit_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
ratelimit_refill(struct ratelimit *rl, double now)
{
	/* A clock that goes backwards (tests) refills nothing. */
	if (now > rl->last) {
		rl->tokens += (now - rl->last) * rl->rate;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last = now;
	}
}

double
ratelimit_tokens_at(struct ratelimit *rl, double now)
{
	if (rl->rate <= 0)
		return rl->burst;
	ratelimit_refill(rl, now);
	return rl->tokens;
}

int
ratelimit_try_at(struct ratelimit *rl, double now)
{
	if (rl->rate <= 0)
		return 1;
	ratelimit_refill(rl, now);
	if (rl->tokens >= 1) {
		rl->tokens -= 1;
		return 1;
	}
	return 0;
}

int
ratelimit_try(struct ratelimit *rl)
{
	return ratelimit_try_at(rl, ratelimit_now());
}

double
ratelimit_reserve_at(struct ratelimit *rl, double now)
{
	if (rl->rate <= 0)
		return 0;
	ratelimit_refill(rl, now);
	rl->tokens -= 1;
	if (rl->tokens >= 0)
		return 0;
	return -rl->tokens / rl->rate;
}

void
ratelimit_wait(struct ratelimit *rl)
{
	struct timespec	 ts;
	double		 wait;

	wait = ratelimit_reserve_at(rl, ratelimit_now());
	if (wait <= 0)
		return;
	ts.tv_sec = (time_t)floor(wait);
	ts.tv_nsec = (long)((wait - floor(wait)) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
