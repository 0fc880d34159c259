/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the token bucket. */
#include <math.h>
#include <stdlib.h>

#include <check.h>

#include "ratelimit.h"
#include "check_run.h"

START_TEST(test_burst_then_rate)
{
	struct ratelimit	 rl;
	int			 i, got = 0;

	ratelimit_init(&rl, 2.0, 5);
	rl.last = 100.0;
	for (i = 0; i < 10; i++)
		got += ratelimit_try_at(&rl, 100.0);
	ck_assert_int_eq(got, 5);
	ck_assert_int_eq(ratelimit_try_at(&rl, 100.4), 0);
	ck_assert_int_eq(ratelimit_try_at(&rl, 100.5), 1);
	ck_assert_int_eq(ratelimit_try_at(&rl, 100.5), 0);
	/* A long pause refills to burst, never beyond. */
	ck_assert(fabs(ratelimit_tokens_at(&rl, 1000.0) - 5.0) < 1e-9);
}
END_TEST

START_TEST(test_reserve_debt)
{
	struct ratelimit	 rl;

	ratelimit_init(&rl, 10.0, 1);
	rl.last = 50.0;
	ck_assert(ratelimit_reserve_at(&rl, 50.0) == 0);
	ck_assert(fabs(ratelimit_reserve_at(&rl, 50.0) - 0.1) < 1e-9);
	ck_assert(fabs(ratelimit_reserve_at(&rl, 50.0) - 0.2) < 1e-9);
	/* After 0.2 s the debt is paid back. */
	ck_assert(fabs(ratelimit_tokens_at(&rl, 50.2)) < 1e-9);
	/* Backwards clock does not refill. */
	ck_assert(ratelimit_tokens_at(&rl, 10.0) < 1e-9);
}
END_TEST

START_TEST(test_unlimited_and_wait)
{
	struct ratelimit	 rl;
	double			 t0, t1;
	int			 i;

	ratelimit_init(&rl, 0, 1);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(ratelimit_try(&rl), 1);
	ratelimit_init(&rl, 20.0, 1);
	t0 = ratelimit_now();
	for (i = 0; i < 5; i++)
		ratelimit_wait(&rl);
	t1 = ratelimit_now();
	/* 1 free token then 4 at 20/s: at least 0.2 s. */
	ck_assert(t1 - t0 >= 0.19);
	ck_assert(t1 - t0 < 2.0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ratelimit");
	TCase	*tc = tcase_create("bucket");

	tcase_add_test(tc, test_burst_then_rate);
	tcase_add_test(tc, test_reserve_debt);
	tcase_add_test(tc, test_unlimited_and_wait);
	suite_add_tcase(s, tc);
	return check_run(s);
}
