/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cfparse.h"
#include "json.h"
#include "check_run.h"

static int
parse(const char *s, struct cfresp *r)
{
	char	 err[128];

	return cfparse_envelope(s, strlen(s), r, err, sizeof(err));
}

START_TEST(test_success)
{
	struct cfresp	 r;

	ck_assert_int_eq(parse("{\"success\":true,\"errors\":[],\"messages\":"
	    "[],\"result\":[{\"id\":\"a\"}],\"result_info\":{\"page\":2,"
	    "\"per_page\":50,\"count\":1,\"total_count\":51,"
	    "\"total_pages\":2}}", &r), 0);
	ck_assert_int_eq(r.success, 1);
	ck_assert_ptr_nonnull(r.result);
	ck_assert(YAJL_IS_ARRAY(r.result));
	ck_assert_int_eq(r.page, 2);
	ck_assert_int_eq(r.per_page, 50);
	ck_assert_int_eq(r.total_pages, 2);
	ck_assert_int_eq(r.total_count, 51);
	ck_assert_uint_eq(r.nerrors, 0);
	cfparse_free(&r);
	ck_assert_ptr_null(r.root);
}
END_TEST

START_TEST(test_errors)
{
	struct cfresp	 r;
	char		 text[256];

	ck_assert_int_eq(parse("{\"result\":null,\"success\":false,\"errors\":"
	    "[{\"code\":81053,\"message\":\"An A, AAAA, or CNAME record "
	    "with that host already exists.\"},{\"code\":1004,\"message\":"
	    "\"bad\\nline\",\"error_chain\":[{\"code\":9101,\"message\":"
	    "\"too long\"}]}],\"messages\":[]}", &r), 0);
	ck_assert_int_eq(r.success, 0);
	ck_assert_ptr_null(r.result);
	ck_assert_uint_eq(r.nerrors, 3);
	ck_assert(cfparse_has_code(&r, 81053));
	ck_assert(cfparse_has_code(&r, 9101));
	ck_assert(!cfparse_has_code(&r, 1013));
	ck_assert_str_eq(r.errors[1].message, "bad line");
	cfparse_errors_text(&r, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "81053: An A"));
	ck_assert_ptr_nonnull(strstr(text, "; 9101: too long"));
	cfparse_free(&r);
}
END_TEST

START_TEST(test_not_envelope)
{
	struct cfresp	 r;

	ck_assert_int_eq(parse("<html>502</html>", &r), -1);
	cfparse_free(&r);
	ck_assert_int_eq(parse("[1,2]", &r), -1);
	cfparse_free(&r);
	ck_assert_int_eq(parse("{\"success\":\"yes\"}", &r), -1);
	cfparse_free(&r);
	ck_assert_int_eq(cfparse_envelope(NULL, 0, &r, NULL, 0) == -1 ||
	    1, 1);
	cfparse_free(&r);
	/* Wrong types inside are ignored, not trusted. */
	ck_assert_int_eq(parse("{\"success\":false,\"errors\":[1,{\"code\":"
	    "\"x\"},{\"message\":7}],\"result_info\":{\"page\":-3}}", &r), 0);
	ck_assert_uint_eq(r.nerrors, 2);
	ck_assert_int_eq(r.errors[0].code, 0);
	ck_assert_int_eq(r.page, -1);
	cfparse_free(&r);
}
END_TEST

START_TEST(test_cursor)
{
	struct cfresp	 r;

	ck_assert_int_eq(parse("{\"success\":true,\"result\":[],"
	    "\"result_info\":{\"cursors\":{\"after\":\"abc\"}}}", &r), 0);
	ck_assert_str_eq(r.cursor, "abc");
	cfparse_free(&r);
}
END_TEST

START_TEST(test_ratelimit)
{
	long	 a = -7, b = -7;

	ck_assert_int_eq(cfparse_ratelimit("\"default\";r=1199;t=300", &a,
	    &b), 0);
	ck_assert_int_eq(a, 1199);
	ck_assert_int_eq(b, 300);
	ck_assert_int_eq(cfparse_ratelimit("default;r=0;t=12", &a, &b), 0);
	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(b, 12);
	a = b = -7;
	ck_assert_int_eq(cfparse_ratelimit("\"default\";r=x;t=1", &a, &b),
	    -1);
	ck_assert_int_eq(cfparse_ratelimit("\"default\";t=1", &a, &b), -1);
	ck_assert_int_eq(cfparse_ratelimit("r=99999999999999999999999;t=1",
	    &a, &b), -1);
	ck_assert_int_eq(a, -7);
	ck_assert_int_eq(cfparse_ratelimit_policy("\"burst\";q=1200;w=300",
	    &a, &b), 0);
	ck_assert_int_eq(a, 1200);
	ck_assert_int_eq(b, 300);
	ck_assert_int_eq(cfparse_ratelimit_policy("\"burst\";q=5;w=0", &a,
	    &b), -1);
	ck_assert_int_eq(cfparse_ratelimit_policy(NULL, &a, &b), -1);
}
END_TEST

static Suite *
cfparse_suite(void)
{
	Suite	*s = suite_create("cfparse");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_success);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_not_envelope);
	tcase_add_test(tc, test_cursor);
	tcase_add_test(tc, test_ratelimit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(cfparse_suite());
}
