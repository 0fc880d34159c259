/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http1: a strict HTTP/1.1 request/response head parser and chunked-body
 * decoder, written for this proxy rather than taken from a library.
 *
 * Why by hand: Debian bookworm packages only libhttp-parser 2.9, the
 * nodejs/http-parser that upstream archived in 2022 in favour of llhttp
 * (which bookworm ships only as JavaScript sources, node-llhttp), and
 * http-parser is deliberately lenient (it accepts obs-fold, bare LF line
 * ends and some CL/TE combinations) -- exactly the ambiguities request
 * smuggling exploits between a proxy and its backends.  A reverse proxy
 * must accept only what every downstream parser reads the same way, so
 * this parser rejects instead of repairing:
 *
 *  - bare CR or bare LF anywhere in the head, NUL and other controls;
 *  - obsolete line folding; whitespace between a field name and ':';
 *  - a field name that is not a token;
 *  - Content-Length that is not plain digits, or that appears twice (even
 *    with equal values), or together with Transfer-Encoding;
 *  - Transfer-Encoding in HTTP/1.0, any coding other than a single
 *    "chunked" (501), or "chunked" not last (400);
 *  - missing or repeated Host in HTTP/1.1;
 *  - chunk sizes that are not 1-16 hex digits, whitespace in chunk lines,
 *    control bytes in chunk extensions, oversized trailers.
 * Limits: request line 8 KiB (414), head 64 KiB and 100 fields (431).
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http1.h"

/* RFC 9110 5.6.2 tchar, by byte value. */
static const unsigned char tchar[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
};

/* Bytes the head scanner must look at: NUL, CR, LF. */
static const unsigned char special[256] = {
	['\0'] = 1, ['\r'] = 1, ['\n'] = 1,
};

int
h1_is_tchar(unsigned char c)
{
	return tchar[c];
}

static int
is_vchar_obs(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

/*
 * Runs of ordinary bytes are skipped with a table lookup per byte up to
 * the next NUL, CR or LF or the next length limit; the checks are the
 * byte-by-byte rules: NUL and a CR not followed by LF are 400, an LF not
 * after CR is 400, a request line from 8 KiB on is 414, a byte from
 * 64 KiB on (CR and LF apart) or more than 101 lines is 431.
 */
long
h1_head_end(struct h1_scan *s, const char *buf, size_t len, int request)
{
	const unsigned char	*b = (const unsigned char *)buf;
	size_t			 i = s->pos, stop, lim;

	while (i < len) {
		if (i > 0 && b[i - 1] == '\r' && b[i] != '\n')
			return -400;
		if (!special[b[i]]) {
			/* Ordinary bytes, up to the first limit. */
			lim = request && s->nlines == 0 ?
			    s->line + H1_MAX_LINE : SIZE_MAX;
			if (i >= lim)
				return -414;
			if (i >= H1_MAX_HEAD)
				return -431;
			stop = lim < H1_MAX_HEAD ? lim : H1_MAX_HEAD;
			if (stop > len)
				stop = len;
			while (i < stop && !special[b[i]])
				i++;
			continue;
		}
		if (b[i] == '\0')
			return -400;
		if (b[i] == '\r') {
			i++;
			continue;
		}
		if (i == 0 || b[i - 1] != '\r')
			return -400;
		if (i - s->line == 1) {		/* empty line: end of head */
			s->pos = i + 1;
			return i + 1;
		}
		s->line = ++i;
		if (++s->nlines > H1_MAX_FIELDS + 1)
			return -431;
	}
	s->pos = len;
	if (len > H1_MAX_HEAD)
		return -431;
	return 0;
}

static int
token_list_has(const char *v, size_t n, const char *tok)
{
	size_t	 tl = strlen(tok), i = 0, s, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return 1;
	}
	return 0;
}

/*
 * Transfer-Encoding: 0 ok (chunked), 501 unsupported coding, 400 bad.
 * Only a single "chunked" is accepted.
 */
static int
te_check(const char *v, size_t n, int *seen)
{
	size_t	 i = 0, s, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (i < n)
			i++;
		if (e == s)
			return 400;
		if (e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0) {
			if (*seen)
				return 400;	/* chunked twice */
			*seen = 1;
			continue;
		}
		if (*seen)
			return 400;		/* a coding after chunked */
		return 501;
	}
	return *seen ? 0 : 400;
}

static int
parse_clen(const char *v, size_t n, int64_t *out)
{
	size_t	 i;
	int64_t	 x = 0;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

/* Parse the field lines of a head; p points after the start line. */
static int
parse_fields(const char *p, const char *end, struct h1_msg *m, int request)
{
	const char	*eol, *n, *v, *ve;
	struct h1_field	*f;
	int		 te = 0, te_seen = 0, rc, ncl = 0, nhost = 0;

	m->clen = -1;
	while (p < end) {
		if ((eol = memchr(p, '\r', end - p)) == NULL ||
		    eol + 1 >= end || eol[1] != '\n')
			return 400;
		if (eol == p)			/* the blank line */
			break;
		if (*p == ' ' || *p == '\t')
			return 400;		/* obs-fold */
		for (n = p; n < eol && h1_is_tchar(*n); n++)
			;
		if (n == p || n == eol || *n != ':')
			return 400;
		if (m->nf == H1_MAX_FIELDS)
			return 431;
		f = &m->f[m->nf++];
		f->name = p;
		f->nlen = n - p;
		for (v = n + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = v; ve < eol; ve++)
			if (!is_vchar_obs(*ve) && *ve != ' ' && *ve != '\t')
				return 400;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		f->value = v;
		f->vlen = ve - v;
		p = eol + 2;
		if (f->nlen == 14 && strncasecmp(f->name, "content-length",
		    14) == 0) {
			if (ncl++ > 0 || parse_clen(v, f->vlen, &m->clen))
				return 400;
		} else if (f->nlen == 17 && strncasecmp(f->name,
		    "transfer-encoding", 17) == 0) {
			te = 1;
			if ((rc = te_check(v, f->vlen, &te_seen)) != 0)
				return rc;
		} else if (f->nlen == 4 && strncasecmp(f->name, "host",
		    4) == 0) {
			nhost++;
			m->host = v;
			m->hostlen = f->vlen;
		} else if (f->nlen == 10 && strncasecmp(f->name,
		    "connection", 10) == 0) {
			m->conn_close |= token_list_has(v, f->vlen, "close");
			m->conn_keepalive |= token_list_has(v, f->vlen,
			    "keep-alive");
			m->conn_upgrade |= token_list_has(v, f->vlen,
			    "upgrade");
		} else if (f->nlen == 6 && strncasecmp(f->name, "expect",
		    6) == 0) {
			if (f->vlen == 12 && strncasecmp(v, "100-continue",
			    12) == 0)
				m->expect_continue = 1;
			else if (request)
				return 417;
		}
	}
	if (te) {
		if (m->clen != -1 || (request && m->minor == 0))
			return 400;
		m->chunked = 1;
	}
	if (request && (nhost > 1 || (nhost == 0 && m->minor == 1)))
		return 400;
	return 0;
}

static int
parse_version(const char *p, const char *end, int *minor)
{
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0)
		return 400;
	if (p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' ||
	    p[7] > '9')
		return 400;
	if (p[5] != '1')
		return 505;
	*minor = p[7] - '0';
	return *minor <= 1 ? 0 : 505;
}

int
h1_parse_request(const char *buf, size_t len, struct h1_msg *m)
{
	const char	*end = buf + len, *eol, *sp1, *sp2, *t;
	int		 rc;

	memset(m, 0, sizeof(*m));
	m->clen = -1;
	if ((eol = memchr(buf, '\r', len)) == NULL)
		return 400;
	for (sp1 = buf; sp1 < eol && h1_is_tchar(*sp1); sp1++)
		;
	if (sp1 == buf || sp1 == eol || *sp1 != ' ' || sp1 - buf > 32)
		return 400;
	m->method = buf;
	m->mlen = sp1 - buf;
	for (sp2 = sp1 + 1; sp2 < eol && *sp2 != ' '; sp2++)
		if ((unsigned char)*sp2 <= 0x20 || (unsigned char)*sp2 >= 0x7f)
			return 400;
	if (sp2 == eol || sp2 == sp1 + 1)
		return 400;
	m->target = sp1 + 1;
	m->tlen = sp2 - m->target;
	if ((rc = parse_version(sp2 + 1, eol, &m->minor)) != 0)
		return rc;
	if (m->mlen == 7 && memcmp(m->method, "CONNECT", 7) == 0)
		return 501;
	t = m->target;
	if (t[0] != '/' && !(m->tlen == 1 && t[0] == '*' && m->mlen == 7 &&
	    memcmp(m->method, "OPTIONS", 7) == 0) &&
	    !(m->tlen > 7 && strncasecmp(t, "http://", 7) == 0) &&
	    !(m->tlen > 8 && strncasecmp(t, "https://", 8) == 0))
		return 400;
	if (eol + 1 >= end || eol[1] != '\n')
		return 400;
	return parse_fields(eol + 2, end, m, 1);
}

int
h1_parse_response(const char *buf, size_t len, struct h1_msg *m)
{
	const char	*end = buf + len, *eol;
	int		 i;

	memset(m, 0, sizeof(*m));
	m->clen = -1;
	if ((eol = memchr(buf, '\r', len)) == NULL || eol - buf < 12)
		return -1;
	if (parse_version(buf, buf + 8, &m->minor) != 0 || buf[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		m->status = m->status * 10 + (buf[i] - '0');
	}
	if (m->status < 100 || m->status > 599 ||
	    (eol - buf > 12 && buf[12] != ' '))
		return -1;
	for (i = 13; buf + i < eol; i++)
		if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t')
			return -1;
	if (eol + 1 >= end || eol[1] != '\n')
		return -1;
	return parse_fields(eol + 2, end, m, 0) == 0 ? 0 : -1;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The trailer section after the last chunk. */
static int
chunk_trailer_byte(struct h1_chunk *c, unsigned char b)
{
	if (++c->trailer_bytes > H1_MAX_TRAILER)
		return -1;
	switch (c->state) {
	case CH_TRAILER_START:
		if (b == '\r') {
			c->state = CH_FINAL_LF;
			return 0;
		}
		c->namelen = 0;
		c->state = CH_TRAILER_NAME;
		/* FALLTHROUGH */
	case CH_TRAILER_NAME:
		if (b == ':' && c->namelen > 0) {
			c->state = CH_TRAILER_VALUE;
			return 0;
		}
		if (!h1_is_tchar(b))
			return -1;
		c->namelen++;
		return 0;
	case CH_TRAILER_VALUE:
		if (b == '\r')
			c->state = CH_TRAILER_LF;
		else if ((b < 0x20 && b != '\t') || b == 0x7f)
			return -1;
		return 0;
	case CH_TRAILER_LF:
		if (b != '\n')
			return -1;
		c->state = CH_TRAILER_START;
		return 0;
	case CH_FINAL_LF:
		if (b != '\n')
			return -1;
		c->state = CH_DONE;
		return 0;
	default:
		return -1;
	}
}

static int
chunk_byte(struct h1_chunk *c, unsigned char b)
{
	int	 h;

	switch (c->state) {
	case CH_SIZE:
		if ((h = hexval(b)) >= 0) {
			if (++c->ndigits > 15)
				return -1;
			c->remaining = c->remaining * 16 + h;
			return 0;
		}
		if (c->ndigits == 0)
			return -1;
		if (b == ';')
			c->state = CH_EXT;
		else if (b == '\r')
			c->state = CH_SIZE_LF;
		else
			return -1;
		return 0;
	case CH_EXT:
		if (b == '\r')
			c->state = CH_SIZE_LF;
		else if ((b < 0x20 && b != '\t') || b == 0x7f ||
		    ++c->extlen > 1024)
			return -1;
		return 0;
	case CH_SIZE_LF:
		if (b != '\n')
			return -1;
		c->state = c->remaining ? CH_DATA : CH_TRAILER_START;
		return 0;
	case CH_DATA_CR:
		if (b != '\r')
			return -1;
		c->state = CH_DATA_LF;
		return 0;
	case CH_DATA_LF:
		if (b != '\n')
			return -1;
		c->state = CH_SIZE;
		c->ndigits = c->extlen = 0;
		c->remaining = 0;
		return 0;
	default:
		return chunk_trailer_byte(c, b);
	}
}

int
h1_chunk_parse(struct h1_chunk *c, const char *buf, size_t len,
    size_t *consumed)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (c->state == CH_DATA || c->state == CH_DONE)
			break;
		if (chunk_byte(c, buf[i]) == -1) {
			*consumed = i;
			return -1;
		}
	}
	*consumed = i;
	return 0;
}

/* The caller moved n data bytes. */
void
h1_chunk_data(struct h1_chunk *c, size_t n)
{
	c->remaining -= n;
	if (c->remaining == 0)
		c->state = CH_DATA_CR;
}
