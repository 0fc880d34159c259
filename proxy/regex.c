/* SPDX-License-Identifier: Apache-2.0 */
/*
 * regex: PCRE2 patterns for RegularExpression matches.  Every pattern is
 * anchored at both ends (the whole value must match), JIT-compiled when the
 * platform allows, and run with match and depth limits so a hostile pattern
 * or subject cannot stall the event loop.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>

#include "table.h"

#define RE_MATCH_LIMIT	100000
#define RE_DEPTH_LIMIT	1000

/* Per thread: matches run on every event-loop thread. */
static __thread pcre2_match_data	*re_md;
static __thread pcre2_match_context	*re_mctx;

struct pcre2_real_code_8 *
re_compile(const char *pat, char *err, size_t errsz)
{
	pcre2_code	*re;
	int		 ec;
	PCRE2_SIZE	 off;
	PCRE2_UCHAR	 msg[120];

	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NEVER_BACKSLASH_C |
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
	    &ec, &off, NULL);
	if (re == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errsz, "%s at offset %zu", (char *)msg,
		    (size_t)off);
		return NULL;
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

/* 1: match, 0: no match (errors and limits count as no match). */
int
re_match(const struct pcre2_real_code_8 *re, const char *s, size_t n)
{
	if (re_md == NULL) {
		re_md = pcre2_match_data_create(1, NULL);
		re_mctx = pcre2_match_context_create(NULL);
		if (re_md == NULL || re_mctx == NULL)
			return 0;
		pcre2_set_match_limit(re_mctx, RE_MATCH_LIMIT);
		pcre2_set_depth_limit(re_mctx, RE_DEPTH_LIMIT);
	}
	return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, re_md, re_mctx) >= 0;
}

void
re_free(struct pcre2_real_code_8 *re)
{
	pcre2_code_free(re);
}
