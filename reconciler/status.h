/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_RECONCILER_STATUS_H
#define CFGW_RECONCILER_STATUS_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "json.h"

/*
 * Status conditions (metav1.Condition) as the reconciler writes them: a
 * desired list of (type, status, reason, message), merged with what the
 * object already carries so that lastTransitionTime only moves when the
 * status changes.  Pure functions; the clock is passed in.
 */

#define STATUS_MAX_CONDS	8
#define STATUS_MSG_MAX		32768	/* metav1.Condition message limit */

struct cond {
	const char	*type;		/* static strings */
	const char	*status;	/* "True", "False", "Unknown" */
	const char	*reason;
	char		*message;	/* malloc'd */
};

struct conds {
	struct cond	 v[STATUS_MAX_CONDS];
	size_t		 n;
};

/* Set (or replace) a condition; keeps the order of first setting. */
void		 status_cond_set(struct conds *, const char *type,
		    const char *status, const char *reason, const char *fmt,
		    ...) __attribute__((format(printf, 5, 6)));
const struct cond *status_cond_get(const struct conds *, const char *type);
void		 status_conds_free(struct conds *);

/* The element of a conditions array whose type is `type`, or NULL. */
yajl_val	 status_cond_find(yajl_val conds, const char *type);
/* 1 if conds (an array) has type with status "True". */
int		 status_cond_true(yajl_val conds, const char *type);

/*
 * Write the conditions array: each desired condition with observedGeneration
 * `gen` and lastTransitionTime kept from `existing` when the status is the
 * same there, else `now`.  Conditions of other types in `existing` are kept
 * when keep_others is set (someone else's, e.g. another controller's).
 */
void		 status_write_conds(struct jw *, yajl_val existing,
		    const struct conds *, long long gen, const char *now,
		    int keep_others);

/*
 * Semantic JSON equality: objects compare regardless of key order, arrays in
 * order, numbers by value.  A NULL pointer (absent) equals only NULL.
 */
int		 status_json_equal(yajl_val, yajl_val);

/* now as RFC 3339 UTC with seconds, e.g. 2026-11-27T07:05:46Z */
void		 status_now(char *buf, size_t sz);

#endif
