/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_CFPARSE_H
#define CFGW_CFPARSE_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

/*
 * Cloudflare API v4 responses, parsed without trusting them: the envelope
 * {"success", "errors", "messages", "result", "result_info"} and the
 * rate-limit headers.  Pure: no I/O, nothing about credentials.
 */

#define CFPARSE_MAX_ERRORS	8

struct cfparse_error {
	long	 code;
	char	 message[256];	/* control characters replaced by ' ' */
};

struct cfresp {
	yajl_val		 root;		/* owned */
	int			 success;
	yajl_val		 result;	/* NULL when absent or null */
	struct cfparse_error	 errors[CFPARSE_MAX_ERRORS];
	size_t			 nerrors;	/* incl. error_chain entries */
	long			 page, per_page, count, total_count;
	long			 total_pages;	/* -1 when absent */
	const char		*cursor;	/* result_info.cursor(s.after) */
};

/*
 * Parse a response body.  0 with *out filled (success may be 0), or -1 when
 * the body is not a v4 envelope (not JSON, not an object, no "success"
 * boolean); err says why.  Free with cfparse_free in either case.
 */
int	 cfparse_envelope(const char *body, size_t len, struct cfresp *out,
	    char *err, size_t errsz);
/*
 * The same over a NUL-terminated body, parsed in place (no copy of the
 * input is made and the parser's error text, which quotes input, is not
 * returned): for responses that carry secrets.
 */
int	 cfparse_envelope_str(const char *body, struct cfresp *out,
	    char *err, size_t errsz);
void	 cfparse_free(struct cfresp *);
/* 1 if any error carries code. */
int	 cfparse_has_code(const struct cfresp *, long code);
/* "code: message; code: message" into buf (always NUL-terminated). */
void	 cfparse_errors_text(const struct cfresp *, char *buf, size_t sz);

/*
 * Header values.  Ratelimit: "default";r=<remaining>;t=<reset seconds>.
 * Ratelimit-Policy: "burst";q=<quota>;w=<window>.  0 when both numbers
 * were found, else -1 (outputs untouched).
 */
int	 cfparse_ratelimit(const char *value, long *remaining, long *reset);
int	 cfparse_ratelimit_policy(const char *value, long *quota,
	    long *window);

#endif
