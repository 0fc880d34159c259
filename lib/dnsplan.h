/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_DNSPLAN_H
#define CFGW_DNSPLAN_H

#include <stddef.h>

/*
 * The DNS diff, pure: desired hostnames of one Gateway in one zone against
 * the zone's actual records -> batch operations, plus the ownership
 * decision for every hostname.  No I/O; strings in the result point into
 * the inputs, which must outlive it.
 *
 * Ownership (docs/cloudflare.md): a record is ours only when its comment is
 * exactly dnsplan_comment(owner).  A CNAME at a desired name whose content
 * is already our target and that has no comment at all is adopted (we
 * PATCH our comment onto it: it already sends traffic to our tunnel).
 * Anything else at a desired name -- another comment, another target,
 * another type -- is someone else's: a conflict, never written.  Only our
 * records are ever patched or deleted.
 */

#define DNSPLAN_BATCH_MAX	200	/* operations per batch (Free plan) */
#define DNSPLAN_COMMENT_MAX	100	/* Free plan comment limit */
#define DNSPLAN_COMMENT_PREFIX	"managed by cfgw: "

struct dnsplan_record {
	const char	*id;
	const char	*name;
	const char	*type;
	const char	*content;
	const char	*comment;	/* NULL or "" = none */
	int		 proxied;
	long		 ttl;
};

enum dnsplan_op_kind {
	DNSPLAN_DELETE,		/* batch order: deletes, patches, posts */
	DNSPLAN_PATCH,
	DNSPLAN_POST,
};

struct dnsplan_op {
	enum dnsplan_op_kind	 kind;
	const char		*id;	/* DELETE, PATCH */
	const char		*name;	/* the hostname */
	int			 adopt;	/* PATCH that claims a record */
};

enum dnsplan_host_state {
	DNSPLAN_HOST_OK,	/* already right: no write */
	DNSPLAN_HOST_WRITE,	/* an op below makes it right */
	DNSPLAN_HOST_CONFLICT,	/* someone else's record; untouched */
};

struct dnsplan_host {
	const char		*hostname;
	enum dnsplan_host_state	 state;
	char			 message[256];	/* for conflicts */
};

struct dnsplan {
	struct dnsplan_op	*ops;	/* deletes, then patches, then posts */
	size_t			 nops;
	struct dnsplan_host	*hosts;	/* one per desired hostname */
	size_t			 nhosts;
};

/*
 * The ownership comment for owner ("<cluster>/<ns>/<gateway>"), at most
 * DNSPLAN_COMMENT_MAX bytes: the owner itself when it fits, else "~" and a
 * BLAKE2b-128 hex digest of it.  0, or -1 if buf is too small.
 */
int	 dnsplan_comment(const char *owner, char *buf, size_t sz);

/*
 * Compute the plan.  desired: hostnames (any case, optional trailing dot;
 * duplicates allowed) that belong in this zone; ndesired 0 = delete all of
 * ours.  actual: the zone's records (at least every CNAME, and every
 * record carrying our comment).  0, or -1 on allocation failure.
 */
int	 dnsplan_compute(const char *owner, const char *target,
	    const char *const *desired, size_t ndesired,
	    const struct dnsplan_record *actual, size_t nactual,
	    struct dnsplan *out);
void	 dnsplan_free(struct dnsplan *);

/* Counts by kind, for chunking and logs. */
size_t	 dnsplan_count(const struct dnsplan *, enum dnsplan_op_kind);

/*
 * Split n operations into chunks of at most max (0 = DNSPLAN_BATCH_MAX):
 * returns the number of chunks; chunk i covers [i*max, min(n, (i+1)*max)).
 */
size_t	 dnsplan_nchunks(size_t n, size_t max);

/* Case-insensitive hostname equality ignoring one trailing dot. */
int	 dnsplan_name_eq(const char *, const char *);

/*
 * zones mode: 1 if hostname is exactly one label below zone
 * ("a.example.com" under "example.com"; not the apex, not "a.b.example.com").
 */
int	 dnsplan_one_below(const char *hostname, const char *zone);

/*
 * Zone discovery walks the hostname's suffixes: candidate i (0-based) is
 * the suffix after i labels; candidates have at least two labels and a
 * wildcard label is never a candidate.  Returns a pointer into hostname,
 * or NULL after the last one.
 */
const char *dnsplan_zone_candidate(const char *hostname, size_t i);

#endif
