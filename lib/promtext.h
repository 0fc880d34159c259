/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_PROMTEXT_H
#define CFGW_PROMTEXT_H

#include <stddef.h>

/*
 * Prometheus text exposition (format 0.0.4), checked without trusting it:
 * the metrics a worker publishes in its PONG (lib/worker.h) are appended
 * to cfgwd's /metrics only when every line is one of
 *
 *	# HELP <name> <text>
 *	# TYPE <name> counter|gauge|untyped
 *	<name>[{<label>="<value>"[,...]}] <number>
 *
 * where <name> starts with "cfgw_" and is not one cfgwd emits itself
 * (cfgw_build_*, cfgw_worker_*, cfgw_ipc_*), labels are
 * [A-Za-z_][A-Za-z0-9_]*, values use only the escapes \\ \" \n, numbers
 * are decimal (with exponent), +Inf, -Inf or NaN, and the text is printable
 * ASCII, ends with a newline and is at most PROMTEXT_MAX bytes.
 */

#define PROMTEXT_MAX		16384
#define PROMTEXT_LINE_MAX	1024

/* 0 if the text is acceptable, else -1 and `why` says where (line N). */
int	 promtext_check(const char *text, size_t len, char *why,
	    size_t whysz);

#endif
