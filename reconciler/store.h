/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_RECONCILER_STORE_H
#define CFGW_RECONCILER_STORE_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

/*
 * The reconciler's copy of the cluster objects the watcher publishes, keyed
 * by (kind, namespace, name).  Objects are parsed yajl trees owned by the
 * store.  Lookups go through a hash index per kind; store_at walks a kind
 * in insertion order.
 */

struct store;

struct store	*store_new(void);
void		 store_free(struct store **);
void		 store_clear(struct store *);

/* 1 if the store keeps objects of this kind. */
int		 store_kind_known(const char *kind);

/*
 * Insert or replace; the store takes obj.  Returns the previous object
 * (the caller frees it with yajl_tree_free) or NULL.  An object without
 * metadata.name, or of an unknown kind, is refused: -1 in *err and obj is
 * freed.
 */
yajl_val	 store_put(struct store *, const char *kind, yajl_val obj,
		    int *err);
/* Remove; returns the removed object for the caller to free, or NULL. */
yajl_val	 store_del(struct store *, const char *kind, const char *ns,
		    const char *name);
/* ns NULL or "" for cluster-scoped kinds. */
yajl_val	 store_get(const struct store *, const char *kind,
		    const char *ns, const char *name);
size_t		 store_count(const struct store *, const char *kind);
yajl_val	 store_at(const struct store *, const char *kind, size_t i);
size_t		 store_total(const struct store *);
/* Bumped by every put, delete and clear. */
unsigned long long store_changes(const struct store *);

/*
 * SHA-256 (hex) over the sorted lines "Kind ns/name resourceVersion\n"
 * ("Kind name resourceVersion\n" for cluster-scoped objects) of every
 * object held; 0 or -1 (out of memory).
 */
int		 store_digest(const struct store *, char hex[65]);
/* Log "store: digest <hex> objects <N>" and the per-kind counts. */
void		 store_log_settled(const struct store *);

#endif
