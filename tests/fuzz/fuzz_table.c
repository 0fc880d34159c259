/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cfgw-proxy's route table loader (proxy/table.c,
 * proxy/table_filter.c, proxy/regex.c over lib/json.c).  A table that
 * loads is also queried: every host is looked up, and a few request
 * shapes run through the regex matcher, so compiled patterns are used,
 * not just built.  The load must either fail with a message or succeed.
 *
 * fuzz-needs: proxy/table.c proxy/table_filter.c proxy/regex.c lib/httpfield.c lib/json.c | yajl libpcre2-8
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/table.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
exercise(const struct table *tb)
{
	static const char *hosts[] = { "app.example.com", "a.b.example.com",
	    "example.com", "x", "" };
	static const char *subj[] = { "/", "/api/v1", "\xff\xfe", "aaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!" };
	size_t		 i, j, k;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		(void)table_host(tb, hosts[i], strlen(hosts[i]));
	for (i = 0; i < tb->nhosts; i++) {
		const struct thost *h = &tb->hosts[i];
		if (table_host(tb, h->hostname, strlen(h->hostname)) == NULL)
			abort();
		for (j = 0; j < h->nhttp; j++) {
			const struct trule *r = &h->http[j];
			if (r->path_type == PATH_REGEX && r->path_re == NULL)
				abort();
			for (k = 0; k < sizeof(subj) / sizeof(subj[0]); k++)
				if (r->path_re != NULL)
					(void)re_match(r->path_re, subj[k],
					    strlen(subj[k]));
			if (r->total_weight > 0 && r->nbackends == 0)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct table	*tb;
	char		 err[256];

	err[0] = '\0';
	tb = table_load((const char *)data, size, err, sizeof(err));
	if (tb == NULL) {
		if (err[0] == '\0')
			abort();	/* every rejection says why */
		return 0;
	}
	exercise(tb);
	table_unref(tb);
	return 0;
}
