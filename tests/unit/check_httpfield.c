/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "httpfield.h"
#include "check_run.h"

START_TEST(test_name)
{
	static const char *good[] = { "x", "X-Trace-Id", "a!#$%&'*+-.^_`|~9" };
	static const char *bad[] = { "", "a b", "a:b", "a\r\nb", "a\tb", "é",
	    "(x)", "a/b", "a\"b" };
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(http_field_name_ok(good[i]), "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!http_field_name_ok(bad[i]), "%s", bad[i]);
	ck_assert(!http_field_name_ok(NULL));
}
END_TEST

START_TEST(test_value)
{
	ck_assert(http_field_value_ok(""));
	ck_assert(http_field_value_ok("a b\tc, \"d\"; q=0.5"));
	ck_assert(http_field_value_ok("\xc3\xa9"));	/* obs-text */
	ck_assert(!http_field_value_ok("a\r\nX-Evil: 1"));
	ck_assert(!http_field_value_ok("a\nb"));
	ck_assert(!http_field_value_ok("a\x7f"));
	ck_assert(!http_field_value_ok("\x01"));
	ck_assert(!http_field_value_ok(NULL));
}
END_TEST

START_TEST(test_framing)
{
	static const char *framing[] = { "Connection", "content-length",
	    "KEEP-ALIVE", "Proxy-Connection", "te", "Trailer",
	    "Transfer-Encoding", "upgrade" };
	static const char *other[] = { "host", "tee", "t", "content-type",
	    "connections", "x-upgrade", "" };
	size_t	 i;

	for (i = 0; i < sizeof(framing) / sizeof(framing[0]); i++)
		ck_assert_msg(http_field_framing(framing[i],
		    strlen(framing[i])), "%s", framing[i]);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		ck_assert_msg(!http_field_framing(other[i], strlen(other[i])),
		    "%s", other[i]);
	/* The length decides, not a NUL: a prefix of a longer buffer. */
	ck_assert(http_field_framing("te: trailers", 2));
	ck_assert(!http_field_framing("te: trailers", 3));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("httpfield");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_name);
	tcase_add_test(tc, test_value);
	tcase_add_test(tc, test_framing);
	suite_add_tcase(s, tc);
	return check_run(s);
}
