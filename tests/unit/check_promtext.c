/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the checker for worker metrics text (lib/promtext.h). */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "promtext.h"
#include "check_run.h"

static int
ok(const char *s)
{
	char	 why[96];

	return promtext_check(s, strlen(s), why, sizeof(why)) == 0;
}

START_TEST(test_accepts)
{
	ck_assert(ok(""));
	ck_assert(ok("# HELP cfgw_x_total Things, done.\n"
	    "# TYPE cfgw_x_total counter\n"
	    "cfgw_x_total{endpoint=\"GET /zones/:id\",code=\"200\"} 12\n"
	    "cfgw_y 1.5e3\ncfgw_y{a=\"q\\\"\\\\\\n\"} -3\n"
	    "cfgw_z{} +Inf\ncfgw_z NaN\n# TYPE cfgw_g gauge\n"));
}
END_TEST

START_TEST(test_refuses)
{
	char	*big;
	size_t	 i;

	ck_assert(!ok("cfgw_x 1"));			/* no final newline */
	ck_assert(!ok("other_metric 1\n"));		/* not ours */
	ck_assert(!ok("cfgw_ 1\n"));
	ck_assert(!ok("cfgw_worker_up{worker=\"cfapi\"} 0\n")); /* cfgwd's */
	ck_assert(!ok("cfgw_ipc_messages_total 1\n"));
	ck_assert(!ok("cfgw_build_info{version=\"x\"} 1\n"));
	ck_assert(!ok("# TYPE cfgw_x histogram\n"));
	ck_assert(!ok("# TYPE cfgw_x\n"));
	ck_assert(!ok("# random comment\n"));
	ck_assert(!ok("cfgw_x 1 2\n"));		/* timestamps: no */
	ck_assert(!ok("cfgw_x abc\n"));
	ck_assert(!ok("cfgw_x\n"));
	ck_assert(!ok("cfgw_x{a=\"1\" 1\n"));	/* unclosed */
	ck_assert(!ok("cfgw_x{a=\"1} 1\n"));
	ck_assert(!ok("cfgw_x{a=1} 1\n"));
	ck_assert(!ok("cfgw_x{a=\"\\t\"} 1\n"));	/* bad escape */
	ck_assert(!ok("cfgw_x{=\"1\"} 1\n"));
	ck_assert(!ok("cfgw_x 1\n\n"));		/* empty line */
	ck_assert(!ok("cfgw_x 1\r\n"));
	ck_assert(!ok("cfgw_x{a=\"\xc3\xa9\"} 1\n"));	/* not ASCII */
	ck_assert_int_eq(promtext_check("cfgw_x 1\0\n", 10, NULL, 0), -1);
	big = malloc(PROMTEXT_MAX + 16);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i <= PROMTEXT_MAX; i += 9)
		memcpy(big + i, "cfgw_x 1\n", 9);
	ck_assert_uint_gt(i, PROMTEXT_MAX);
	ck_assert_int_eq(promtext_check(big, i, NULL, 0), -1);
	ck_assert_int_eq(promtext_check(big, i - 9 * 3, NULL, 0), 0);
	free(big);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("promtext");
	TCase	*tc = tcase_create("check");

	tcase_add_test(tc, test_accepts);
	tcase_add_test(tc, test_refuses);
	suite_add_tcase(s, tc);
	return check_run(s);
}
