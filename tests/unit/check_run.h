/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_CHECK_RUN_H
#define CFGW_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* Run a unit test binary's suite (fork mode from CK_FORK); exit status. */
static inline int
check_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
