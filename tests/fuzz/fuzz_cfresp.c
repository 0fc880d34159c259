/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the Cloudflare response parsers: the v4 envelope (both the copying
 * and the in-place variant) and the Ratelimit / Ratelimit-Policy headers.
 * Input: the first line is a header value, the rest a response body.
 */
/* fuzz-needs: lib/cfparse.c lib/json.c lib/log.c | yajl */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfparse.h"
#include "json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_walk(const struct cfresp *r)
{
	char	 text[512];
	size_t	 i;

	cfparse_errors_text(r, text, sizeof(text));
	(void)cfparse_has_code(r, 81053);
	for (i = 0; i < json_len(r->result); i++)
		(void)json_str(json_at(r->result, i), "id");
	if (strlen(text) >= sizeof(text))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfresp	 r;
	const uint8_t	*nl = memchr(data, '\n', size);
	size_t		 hlen = nl != NULL ? (size_t)(nl - data) : size;
	char		 hdr[256], err[128], *body;
	long		 a, b;
	size_t		 blen = nl != NULL ? size - hlen - 1 : 0;

	if (hlen < sizeof(hdr)) {
		memcpy(hdr, data, hlen);
		hdr[hlen] = '\0';
		if (cfparse_ratelimit(hdr, &a, &b) == 0 && (a < 0 || b < 0))
			abort();
		if (cfparse_ratelimit_policy(hdr, &a, &b) == 0 &&
		    (a < 0 || b <= 0))
			abort();
	}
	if (nl == NULL)
		return 0;
	if (cfparse_envelope((const char *)nl + 1, blen, &r, err,
	    sizeof(err)) == 0)
		fuzz_walk(&r);
	cfparse_free(&r);
	if ((body = malloc(blen + 1)) == NULL)
		return 0;
	memcpy(body, nl + 1, blen);
	body[blen] = '\0';
	if (cfparse_envelope_str(body, &r, err, sizeof(err)) == 0)
		fuzz_walk(&r);
	cfparse_free(&r);
	free(body);
	return 0;
}
