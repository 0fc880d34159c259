/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_OBJPACK_H
#define CFGW_OBJPACK_H

#include <stddef.h>

/*
 * objpack: the form in which the watcher and the reconciler keep the
 * cluster's objects in memory.  An object's compact JSON is one zstd frame
 * (content size and checksum included), compressed against a built-in
 * dictionary of common Kubernetes and Gateway API fragments, so that even
 * a small object packs well: an HTTPRoute of ~640 bytes takes ~170.
 *
 * Not thread-safe: one compression and one decompression context per
 * process, made on first use.
 */

/* The largest text packed or unpacked. */
#define OBJPACK_MAX	(16u * 1024 * 1024)

/*
 * Pack len bytes of text.  Returns the frame, in a buffer owned by objpack
 * and valid until the next objpack_pack, with its size in *outlen; NULL
 * when out of memory or len > OBJPACK_MAX.
 */
const void	*objpack_pack(const char *text, size_t len, size_t *outlen);
/*
 * The text of a frame, malloc'd and NUL-terminated, its length in *len;
 * NULL (errno EINVAL) for anything objpack_pack did not make whole: a
 * truncated or corrupted frame, no content size, over max bytes of text
 * (0: OBJPACK_MAX), or (errno ENOMEM) when out of memory.
 */
char		*objpack_unpack(const void *frame, size_t framelen,
		    size_t max, size_t *len);
/* Free the contexts and the dictionary (objpack still works after). */
void		 objpack_cleanup(void);

#endif
