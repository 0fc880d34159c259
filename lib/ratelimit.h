/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_RATELIMIT_H
#define CFGW_RATELIMIT_H

/*
 * Token bucket: `rate` tokens per second, at most `burst` saved.  Times are
 * seconds on a monotonic clock; the *_at variants take the time explicitly
 * (tests), the others read CLOCK_MONOTONIC.
 */

struct ratelimit {
	double	 rate;		/* tokens/s; <= 0: unlimited */
	double	 burst;
	double	 tokens;
	double	 last;		/* time of the last refill */
};

void	 ratelimit_init(struct ratelimit *, double rate, double burst);
double	 ratelimit_now(void);
/* Take a token if one is there: 1, else 0. */
int	 ratelimit_try_at(struct ratelimit *, double now);
int	 ratelimit_try(struct ratelimit *);
/*
 * Reserve a token, going into debt if needed; returns the seconds the
 * caller must wait before using it (0 when available now).
 */
double	 ratelimit_reserve_at(struct ratelimit *, double now);
/* Reserve and sleep until the token is usable. */
void	 ratelimit_wait(struct ratelimit *);
/* Tokens available at `now` (may be negative while in debt). */
double	 ratelimit_tokens_at(struct ratelimit *, double now);

#endif
