/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "check_run.h"

static time_t
ts(const char *s)
{
	time_t	 t;

	ck_assert_int_eq(cron_time_parse(s, &t), 0);
	return t;
}

static void
expect_next(const char *expr, const char *tz, const char *after,
    const char *want)
{
	struct cron	 c;
	char		 err[128], got[32];
	time_t		 t;

	ck_assert_msg(cron_parse(&c, expr, tz, err, sizeof(err)) == 0,
	    "%s: %s", expr, err);
	ck_assert_int_eq(cron_next(&c, ts(after), &t), 0);
	cron_time_format(t, got, sizeof(got));
	ck_assert_str_eq(got, want);
}

static void
expect_prev(const char *expr, const char *tz, const char *at,
    const char *want)
{
	struct cron	 c;
	char		 err[128], got[32];
	time_t		 t;

	ck_assert_msg(cron_parse(&c, expr, tz, err, sizeof(err)) == 0,
	    "%s: %s", expr, err);
	ck_assert_int_eq(cron_prev(&c, ts(at), &t), 0);
	cron_time_format(t, got, sizeof(got));
	ck_assert_str_eq(got, want);
}

START_TEST(test_default_schedule)
{
	/* Thursday 18:00 in Los Angeles: PST (UTC-8) in late November. */
	expect_next(CRON_DEFAULT, CRON_DEFAULT_TZ, "2026-11-27T07:00:00Z",
	    "2026-12-04T02:00:00Z");
	/* Thursday 26 Nov 2026 18:00 PST = 27 Nov 02:00 UTC. */
	expect_prev(CRON_DEFAULT, CRON_DEFAULT_TZ, "2026-11-27T07:00:00Z",
	    "2026-11-27T02:00:00Z");
	/* Summer: PDT (UTC-7). */
	expect_next(CRON_DEFAULT, CRON_DEFAULT_TZ, "2026-07-01T00:00:00Z",
	    "2026-07-03T01:00:00Z");
	/* prev includes the instant itself. */
	expect_prev(CRON_DEFAULT, CRON_DEFAULT_TZ, "2026-11-27T02:00:00Z",
	    "2026-11-27T02:00:00Z");
	/* next is strictly after. */
	expect_next(CRON_DEFAULT, CRON_DEFAULT_TZ, "2026-11-27T02:00:00Z",
	    "2026-12-04T02:00:00Z");
}
END_TEST

START_TEST(test_dst_spring_forward)
{
	/* 8 Mar 2026: 02:00 PST jumps to 03:00 PDT.  02:30 does not exist
	 * that day and is skipped; the next one is 9 Mar 02:30 PDT. */
	expect_next("30 2 * * *", "America/Los_Angeles",
	    "2026-03-08T08:00:00Z", "2026-03-09T09:30:00Z");
	/* 01:30 PST on the 8th still happens (UTC-8). */
	expect_next("30 1 * * *", "America/Los_Angeles",
	    "2026-03-08T08:00:00Z", "2026-03-08T09:30:00Z");
	/* 03:30 on the 8th is PDT (UTC-7). */
	expect_next("30 3 * * *", "America/Los_Angeles",
	    "2026-03-08T08:00:00Z", "2026-03-08T10:30:00Z");
	/* Backwards over the gap: prev of 02:30 from the 9th at 00:00 PDT
	 * is the 7th at 02:30 PST. */
	expect_prev("30 2 * * *", "America/Los_Angeles",
	    "2026-03-09T07:00:00Z", "2026-03-07T10:30:00Z");
}
END_TEST

START_TEST(test_dst_fall_back)
{
	/* 1 Nov 2026: 02:00 PDT falls back to 01:00 PST; 01:30 happens
	 * twice and fires once, at 01:30 PDT = 08:30 UTC. */
	expect_next("30 1 * * *", "America/Los_Angeles",
	    "2026-11-01T07:00:00Z", "2026-11-01T08:30:00Z");
	/* After the first pass the next is the 2nd at 01:30 PST. */
	expect_next("30 1 * * *", "America/Los_Angeles",
	    "2026-11-01T08:30:00Z", "2026-11-02T09:30:00Z");
	/* From just after the second pass, prev is the first pass. */
	expect_prev("30 1 * * *", "America/Los_Angeles",
	    "2026-11-01T09:45:00Z", "2026-11-01T08:30:00Z");
	/* Hourly across the fall back: every real hour fires, so 01:00
	 * PST (09:00 UTC) follows 01:00 PDT (08:00 UTC). */
	expect_next("0 * * * *", "America/Los_Angeles",
	    "2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z");
}
END_TEST

START_TEST(test_descriptors)
{
	/* 27 Nov 2026 is a Friday; @weekly = Sunday 00:00. */
	expect_next("@weekly", "UTC", "2026-11-27T07:00:00Z",
	    "2026-11-29T00:00:00Z");
	expect_next("@daily", "", "2026-11-27T07:00:00Z",
	    "2026-11-28T00:00:00Z");
	expect_next("@midnight", NULL, "2026-11-27T07:00:00Z",
	    "2026-11-28T00:00:00Z");
	expect_next("@hourly", "UTC", "2026-11-27T07:00:00Z",
	    "2026-11-27T08:00:00Z");
	expect_next("@monthly", "UTC", "2026-11-27T07:00:00Z",
	    "2026-12-01T00:00:00Z");
	expect_next("@yearly", "UTC", "2026-11-27T07:00:00Z",
	    "2027-01-01T00:00:00Z");
	expect_next("@annually", "Europe/Berlin", "2026-11-27T07:00:00Z",
	    "2026-12-31T23:00:00Z");
	expect_prev("@weekly", "UTC", "2026-11-27T07:00:00Z",
	    "2026-11-22T00:00:00Z");
}
END_TEST

START_TEST(test_syntax)
{
	expect_next("*/15 * * * *", "UTC", "2026-11-27T07:01:00Z",
	    "2026-11-27T07:15:00Z");
	expect_next("5-10/5 * * * *", "UTC", "2026-11-27T07:06:00Z",
	    "2026-11-27T07:10:00Z");
	expect_next("0 9 * * mon-fri", "UTC", "2026-11-27T10:00:00Z",
	    "2026-11-30T09:00:00Z");
	expect_next("0 0 * * 7", "UTC", "2026-11-27T10:00:00Z",
	    "2026-11-29T00:00:00Z");
	expect_next("0 0 29 feb *", "UTC", "2026-11-27T10:00:00Z",
	    "2028-02-29T00:00:00Z");
	/* Both day fields restricted: either matches (Vixie). 1 Dec 2026
	 * is a Tuesday; Monday 30 Nov comes first. */
	expect_next("0 0 1 * mon", "UTC", "2026-11-27T10:00:00Z",
	    "2026-11-30T00:00:00Z");
	/* Day-of-week star: only the 1st. */
	expect_next("0 0 1 * *", "UTC", "2026-11-27T10:00:00Z",
	    "2026-12-01T00:00:00Z");
	expect_next("CRON_TZ=Asia/Tokyo 0 9 * * *", "UTC",
	    "2026-11-27T10:00:00Z", "2026-11-28T00:00:00Z");
	expect_next("0,30 12 * JAN,Jul *", "UTC", "2026-11-27T10:00:00Z",
	    "2027-01-01T12:00:00Z");
	/* Half-hour offset zone. */
	expect_next("0 9 * * *", "Asia/Kolkata", "2026-11-27T10:00:00Z",
	    "2026-11-28T03:30:00Z");
}
END_TEST

START_TEST(test_invalid)
{
	static const char *bad[] = {
		"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
		"* * 0 * *", "* * 32 * *", "* * * 13 *", "* * * * 8",
		"a * * * *", "5-1 * * * *", "*/0 * * * *", "@every 5m",
		"@reboot", "1,,2 * * * *", "-1 * * * *", "* * * foo *",
		"CRON_TZ=Nowhere/City 0 * * * *", "1/ * * * *",
		"99999999999999999999 * * * *", NULL
	};
	struct cron	 c;
	char		 err[128];
	int		 i;

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		ck_assert_msg(cron_parse(&c, bad[i], "UTC", err,
		    sizeof(err)) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_msg(err[0] != '\0', "no message for \"%s\"",
		    bad[i]);
	}
	ck_assert_int_eq(cron_parse(&c, "0 * * * *", "Mars/Olympus", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "time zone"));
	ck_assert_int_eq(cron_parse(&c, "0 * * * *", "../../etc/passwd",
	    err, sizeof(err)), -1);
	ck_assert_int_eq(cron_parse(&c, NULL, "UTC", err, sizeof(err)), -1);
	/* Never matches (31 Feb): no trigger, an error, not a hang. */
	ck_assert_int_eq(cron_parse(&c, "0 0 31 2 *", "UTC", err,
	    sizeof(err)), 0);
	{
		time_t	 t;

		ck_assert_int_eq(cron_next(&c, ts("2026-01-01T00:00:00Z"),
		    &t), -1);
	}
}
END_TEST

START_TEST(test_tz_restored)
{
	struct cron	 c;
	char		 err[128];
	time_t		 t;

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	ck_assert_int_eq(cron_parse(&c, CRON_DEFAULT, CRON_DEFAULT_TZ, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(cron_next(&c, 0, &t), 0);
	ck_assert_str_eq(getenv("TZ"), "Europe/Paris");
	unsetenv("TZ");
	ck_assert_int_eq(cron_next(&c, 0, &t), 0);
	ck_assert_ptr_null(getenv("TZ"));
}
END_TEST

START_TEST(test_time_parse)
{
	time_t	 t;
	char	 buf[32];

	ck_assert_int_eq(cron_time_parse("2026-11-27T07:00:00Z", &t), 0);
	ck_assert_int_eq(t, 1795762800);
	ck_assert_int_eq(cron_time_parse("2026-11-27T08:00:00+01:00", &t),
	    0);
	ck_assert_int_eq(t, 1795762800);
	ck_assert_int_eq(cron_time_parse("2026-11-27T07:00:00.123Z", &t), 0);
	ck_assert_int_eq(t, 1795762800);
	ck_assert_int_eq(cron_time_parse("2026-11-27", &t), -1);
	ck_assert_int_eq(cron_time_parse("2026-13-27T07:00:00Z", &t), -1);
	ck_assert_int_eq(cron_time_parse("2026-11-27T07:00:00Zjunk", &t),
	    -1);
	cron_time_format(1795762800, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-27T07:00:00Z");
}
END_TEST

static Suite *
cron_suite(void)
{
	Suite	*s = suite_create("cron");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_default_schedule);
	tcase_add_test(tc, test_dst_spring_forward);
	tcase_add_test(tc, test_dst_fall_back);
	tcase_add_test(tc, test_descriptors);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_tz_restored);
	tcase_add_test(tc, test_time_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(cron_suite());
}
