/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the list mode of the Kubernetes decoder (lib/kube_decode.c),
 * which the watcher's informers use on every page of a list.  The first
 * byte picks the maximum item size, the chunking and metadata-only mode,
 * so splits at every position, the size limit and the metadata check are
 * all explored.  Items handed on must be objects with metadata.name and
 * metadata.resourceVersion.
 *
 * fuzz-needs: lib/kube_decode.c lib/kube_obj.c lib/json.c lib/log.c | yajl
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "kube.h"
#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static void
fuzz_item(void *arg, yajl_val obj)
{
	struct jw	*w;
	const char	*buf;
	size_t		 len;

	(void)arg;
	if (!YAJL_IS_OBJECT(obj) || kube_obj_name(obj) == NULL ||
	    kube_obj_rv(obj) == NULL)
		__builtin_trap();
	/* What the informer does with each item. */
	kube_obj_trim(obj);
	if ((w = jw_new()) != NULL) {
		jw_val(w, obj);
		if (jw_result(w, &buf, &len) == 0 && len == 0)
			__builtin_trap();	/* never empty */
		jw_free(&w);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_list", NULL, LOG_FORMAT_TEXT, 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_decoder	*d;
	size_t			 max, chunk, off, n;
	int			 meta;

	if (size < 1)
		return 0;
	max = (data[0] & 0x07) == 0 ? 0 : 64u << (data[0] & 0x07);
	meta = (data[0] & 0x08) != 0;
	chunk = 1 + (data[0] >> 4) * 37;
	data++;
	size--;
	if ((d = kube_list_decoder_new(max, meta, fuzz_item, NULL)) == NULL)
		return 0;
	for (off = 0; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		if (kube_decoder_feed(d, (const char *)data + off, n) == -1) {
			if (kube_decoder_error(d) == NULL)
				__builtin_trap();	/* says why */
			break;
		}
	}
	if (off >= size && kube_decoder_finish(d) == -1 &&
	    kube_decoder_error(d) == NULL)
		__builtin_trap();
	kube_decoder_free(&d);
	return 0;
}
