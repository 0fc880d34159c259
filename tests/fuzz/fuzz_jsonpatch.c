/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: lib/jsonpatch.c, the RFC 6902 patcher for CGP
 * tunnel.patches.  Input: a JSON document, a newline, a JSON array of
 * operations.  A patch either fails with a message or leaves a document
 * that serialises and parses again.
 *
 * fuzz-needs: lib/jsonpatch.c lib/json.c lib/kube_obj.c lib/log.c | yajl
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonpatch.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*nl = memchr(data, '\n', size);
	yajl_val	 doc, ops, again;
	struct jw	*w;
	char		 err[512], *s;
	size_t		 dl, len;

	if (nl == NULL)
		return 0;
	dl = (size_t)(nl - (const char *)data);
	doc = json_parse((const char *)data, dl, err, sizeof(err));
	ops = json_parse(nl + 1, size - dl - 1, err, sizeof(err));
	if (doc != NULL && ops != NULL) {
		err[0] = '\0';
		if (jsonpatch_apply(&doc, ops, err, sizeof(err)) == -1) {
			if (err[0] == '\0')
				abort();	/* a failure says why */
		} else if ((w = jw_new()) != NULL) {
			jw_val(w, doc);
			if ((s = jw_take(w, &len)) != NULL) {
				again = json_parse(s, len, err, sizeof(err));
				if (again == NULL)
					abort();
				json_free(&again);
				free(s);
			}
			jw_free(&w);
		}
	}
	json_free(&doc);
	json_free(&ops);
	return 0;
}
