/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdlib.h>

#include "timefmt.h"
#include "check_run.h"

START_TEST(test_parse)
{
	struct timespec	 ts;

	ck_assert_int_eq(time_parse_rfc3339("2026-11-27T08:00:43Z", &ts), 0);
	ck_assert_int_eq(ts.tv_sec, 1795766443);
	ck_assert_int_eq(ts.tv_nsec, 0);
	ck_assert_int_eq(time_parse_rfc3339("2026-11-27T08:00:43.447Z",
	    &ts), 0);
	ck_assert_int_eq(ts.tv_nsec, 447000000);
	ck_assert_int_eq(time_parse_rfc3339(
	    "2026-11-27T10:00:43.000000001+02:00", &ts), 0);
	ck_assert_int_eq(ts.tv_sec, 1795766443);
	ck_assert_int_eq(ts.tv_nsec, 1);
	ck_assert_int_eq(time_parse_rfc3339("2026-11-27T00:00:43-08:00",
	    &ts), 0);
	ck_assert_int_eq(ts.tv_sec, 1795766443);
}
END_TEST

START_TEST(test_bad)
{
	static const char *bad[] = { "", "2026-11-27", "2026-11-27T08:00Z",
	    "2026-13-27T08:00:00Z", "2026-11-27T08:00:00", "2026-11-27T08:00:00.Z",
	    "2026-11-27T08:00:00Zjunk", "2026-11-27T08:00:00+0200", "x" };
	struct timespec	 ts;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(time_parse_rfc3339(bad[i], &ts) == -1, "%s",
		    bad[i]);
	ck_assert_int_eq(time_parse_rfc3339(NULL, &ts), -1);
}
END_TEST

START_TEST(test_cmp)
{
	/* As strings 'Z' sorts after '.', as times it is earlier. */
	ck_assert_int_lt(time_cmp_rfc3339("2026-11-27T08:00:43Z",
	    "2026-11-27T08:00:43.447Z"), 0);
	ck_assert_int_eq(time_cmp_rfc3339("2026-11-27T08:00:43Z",
	    "2026-11-27T10:00:43+02:00"), 0);
	ck_assert_int_gt(time_cmp_rfc3339("2026-11-27T08:00:44Z",
	    "2026-11-27T09:00:43.9+01:00"), 0);
	ck_assert_int_eq(time_cmp_rfc3339("bad", "2026-11-27T08:00:44Z"), -2);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("timefmt");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_bad);
	tcase_add_test(tc, test_cmp);
	suite_add_tcase(s, tc);
	return check_run(s);
}
