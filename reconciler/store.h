/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_RECONCILER_STORE_H
#define CFGW_RECONCILER_STORE_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

/*
 * The reconciler's copy of the cluster objects the watcher publishes, keyed
 * by (kind, namespace, name).  Lookups go through a hash index per kind;
 * store_at walks a kind in insertion order.
 *
 * Small, often read kinds (GatewayClass, Gateway, Namespace, Secret,
 * CloudflareGatewayParameters, Deployment) are kept as parsed yajl trees;
 * the others (routes, Services, ReferenceGrants, ConfigMaps, CRDs, ...) as
 * compact JSON text packed by objpack (lib/objpack.h), parsed on access.
 *
 * Borrowed trees (store_get, store_at, and the obj given to store_put) are
 * valid until the object changes or until the next store_release on that
 * store, whichever comes first; the reconciler releases once per loop turn
 * and after each applied delta.  A caller walking many objects of a text
 * kind uses store_load instead and frees each tree itself.
 */

struct store;

struct store	*store_new(void);
void		 store_free(struct store **);
void		 store_clear(struct store *);

/* 1 if the store keeps objects of this kind. */
int		 store_kind_known(const char *kind);

/*
 * Insert or replace; the store takes obj (for a text kind it keeps obj's
 * compact text, and obj stays borrowed until store_release).  Returns the
 * previous object (the caller frees it with yajl_tree_free) or NULL.  An
 * object without metadata.name, or of an unknown kind, is refused: -1 in
 * *err and obj is freed.
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
/* As store_get, but a tree the caller owns (yajl_tree_free), or NULL. */
yajl_val	 store_fetch(const struct store *, const char *kind,
		    const char *ns, const char *name);
/* A tree of the i-th object the caller owns (yajl_tree_free), or NULL. */
yajl_val	 store_load(const struct store *, const char *kind, size_t i);
/*
 * Namespace and name of the i-th object (ns "" if cluster-scoped), without
 * a parse; valid until the object changes.  -1 if out of range.
 */
int		 store_key_at(const struct store *, const char *kind, size_t i,
		    const char **ns, const char **name);
/* Free the trees parsed for borrowers of text kinds. */
void		 store_release(struct store *);
/* 1 if the kind is kept as text (store_get parses on each call). */
int		 store_kind_text(const char *kind);
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
