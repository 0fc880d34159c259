/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the Kubernetes watch stream decoder (lib/kube_decode.c) and
 * the object helpers the watcher applies to every decoded object.  The
 * first byte picks the maximum event size and the chunking, so splits at
 * every position and the size limit are both explored.
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
fuzz_event(void *arg, enum kube_event_type t, yajl_val obj)
{
	struct jw	*w;
	yajl_val	 copy;
	const char	*buf;
	size_t		 len;

	(void)arg;
	(void)t;
	/* What the watcher does with each object. */
	(void)kube_obj_name(obj);
	(void)kube_obj_namespace(obj);
	(void)kube_obj_uid(obj);
	(void)kube_obj_rv(obj);
	if ((copy = kube_val_dup(obj)) == NULL)
		return;
	kube_obj_trim(copy);
	if ((w = jw_new()) != NULL) {
		jw_val(w, copy);
		if (jw_result(w, &buf, &len) == 0 && len == 0)
			__builtin_trap();	/* never empty */
		jw_free(&w);
	}
	yajl_tree_free(copy);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_watch", NULL, LOG_FORMAT_TEXT, 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_decoder	*d;
	size_t			 max, chunk, off, n;

	if (size < 1)
		return 0;
	max = (data[0] & 0x0f) == 0 ? 0 : 64u << (data[0] & 0x0f);
	chunk = 1 + (data[0] >> 4) * 37;
	data++;
	size--;
	if ((d = kube_decoder_new(max, fuzz_event, NULL)) == NULL)
		return 0;
	for (off = 0; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		kube_decoder_feed(d, (const char *)data + off, n);
	}
	kube_decoder_finish(d);
	kube_decoder_free(&d);
	return 0;
}
