/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_JSONPATCH_H
#define CFGW_JSONPATCH_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

/*
 * RFC 6902 JSON Patch on a yajl tree whose nodes come from malloc (a
 * json_parse or kube_val_dup result): ops is the array of operations
 * (add, remove, replace, move, copy, test), applied in order to *doc in
 * place (*doc changes when a path is "").  Paths are RFC 6901 pointers
 * ("~1" is '/', "~0" is '~', "-" the end of an array for add/move/copy).
 * 0, or -1 with err naming the operation (by index) and what failed; *doc
 * may then be partly patched: patch a copy.  At most 256 operations, and
 * no copy may grow the document past 10,000 values.
 */
int	 jsonpatch_apply(yajl_val *doc, yajl_val ops, char *err,
	    size_t errsz);

/* One "add": v is taken over (freed on error). */
int	 jsonpatch_add(yajl_val *doc, const char *path, yajl_val v,
	    char *err, size_t errsz);

#endif
