/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cfgw-proxy's strict HTTP/1 parser (proxy/http1.c) -- the
 * incremental head scanner fed in chunks whose size the first byte picks,
 * the request and response head parsers, and the chunked-body decoder on
 * whatever follows the head.  Checks invariants, not just crashes: the
 * head length never exceeds the input, parsed fields lie inside the head,
 * and the chunk decoder never consumes more than it was given.
 *
 * fuzz-needs: proxy/http1.c |
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http1.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_fields(const struct h1_msg *m, const char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < m->nf; i++) {
		if (m->f[i].name < buf || m->f[i].name + m->f[i].nlen >
		    buf + len || m->f[i].value + m->f[i].vlen > buf + len)
			abort();
	}
}

static void
run_chunks(const char *p, size_t n, size_t step)
{
	struct h1_chunk	 c;
	size_t		 used, take;

	memset(&c, 0, sizeof(c));
	while (n > 0 && c.state != CH_DONE) {
		if (c.state == CH_DATA) {
			take = c.remaining < n ? c.remaining : n;
			h1_chunk_data(&c, take);
			p += take;
			n -= take;
			continue;
		}
		take = step < n ? step : n;
		if (h1_chunk_parse(&c, p, take, &used) == -1)
			return;
		if (used > take)
			abort();
		if (used == 0 && c.state != CH_DATA && c.state != CH_DONE)
			abort();
		p += used;
		n -= used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct h1_scan	 s;
	struct h1_msg	*m;
	const char	*buf;
	size_t		 len, step, fed;
	long		 r = 0;

	if (size < 1)
		return 0;
	step = (data[0] & 0x3f) + 1;
	buf = (const char *)data + 1;
	len = size - 1;
	if ((m = malloc(sizeof(*m))) == NULL)
		return 0;
	memset(&s, 0, sizeof(s));
	for (fed = 0; fed < len && r == 0; ) {
		fed = fed + step < len ? fed + step : len;
		r = h1_head_end(&s, buf, fed, !(data[0] & 0x40));
	}
	if (r > 0) {
		if ((size_t)r > len)
			abort();
		if (h1_parse_request(buf, r, m) == 0)
			check_fields(m, buf, r);
		if (h1_parse_response(buf, r, m) == 0)
			check_fields(m, buf, r);
		run_chunks(buf + r, len - r, step);
	} else
		run_chunks(buf, len, step);
	free(m);
	return 0;
}
