/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_PROXY_HTTP1_H
#define CFGW_PROXY_HTTP1_H

/*
 * A strict HTTP/1.1 message parser (RFC 9110/9112).  Pure functions over
 * byte buffers, no I/O, so the fuzz target can drive them directly.
 */

#include <stddef.h>
#include <stdint.h>

#define H1_MAX_LINE	8192		/* request line */
#define H1_MAX_HEAD	(64 * 1024)	/* request line + all fields */
#define H1_MAX_FIELDS	100
#define H1_MAX_TRAILER	8192

struct h1_scan {
	size_t	 pos;		/* bytes examined so far */
	size_t	 line;		/* start of the current line */
	int	 nlines;
};

struct h1_field {
	const char	*name;
	size_t		 nlen;
	const char	*value;
	size_t		 vlen;
};

struct h1_msg {
	const char	*method;
	size_t		 mlen;
	const char	*target;
	size_t		 tlen;
	int		 status;	/* responses */
	int		 minor;		/* HTTP/1.<minor> */
	struct h1_field	 f[H1_MAX_FIELDS];
	size_t		 nf;
	int64_t		 clen;		/* -1: no Content-Length */
	int		 chunked;
	int		 conn_close;
	int		 conn_keepalive;
	int		 conn_upgrade;
	int		 expect_continue;
	const char	*host;
	size_t		 hostlen;
};

enum h1_chunk_state {
	CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF,
	CH_TRAILER_START, CH_TRAILER_NAME, CH_TRAILER_VALUE, CH_TRAILER_LF,
	CH_FINAL_LF, CH_DONE
};

struct h1_chunk {
	enum h1_chunk_state	 state;
	uint64_t		 remaining;	/* data bytes left (CH_DATA) */
	size_t			 ndigits;
	size_t			 extlen;
	size_t			 trailer_bytes;
	size_t			 namelen;
};

/*
 * Find the end of a message head incrementally.  Returns the head length
 * (including the blank line) when complete, 0 when more bytes are needed,
 * or a negative HTTP status (-400, -414, -431) for a malformed head.
 */
long	 h1_head_end(struct h1_scan *, const char *, size_t, int);
/* 0, or the HTTP status to answer (400, 501, 505). */
int	 h1_parse_request(const char *, size_t, struct h1_msg *);
/* 0, or -1 for a malformed or ambiguous response. */
int	 h1_parse_response(const char *, size_t, struct h1_msg *);
/* Consume chunked framing; stops at data, at the end, or at input end. */
int	 h1_chunk_parse(struct h1_chunk *, const char *, size_t, size_t *);
void	 h1_chunk_data(struct h1_chunk *, size_t);
int	 h1_is_tchar(unsigned char);

#endif
