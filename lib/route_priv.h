/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_ROUTE_PRIV_H
#define CFGW_ROUTE_PRIV_H

/*
 * Internals of the route compiler (lib/route_*.c).  Not for other modules:
 * use route.h.  Strings that point into the input trees are borrowed and
 * never freed; everything else is owned by the context.
 */

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "json.h"
#include "route.h"

#define RT_GROUP	"gateway.networking.k8s.io"

enum rt_from {
	RT_FROM_SAME,
	RT_FROM_ALL,
	RT_FROM_SELECTOR,
};

struct rt_listener {
	const char	*name;
	const char	*protocol;
	long long	 port;
	const char	*hostname;	/* NULL: any */
	int		 usable;	/* accepts routes */
	enum rt_from	 from;
	yajl_val	 selector;
	int		 allow_http;
	int		 allow_grpc;
	int		 bad_kinds;
	const char	*conflict;	/* NULL or a Conflicted reason */
	long long	 attached;
};

/* One compiled match: the table entry (a parsed tree) plus sort keys. */
struct rt_match {
	yajl_val	 entry;
	size_t		 rule;
	size_t		 index;
	/* HTTP */
	int		 path_rank;	/* 3 Exact, 2 Regex, 1 Prefix */
	size_t		 path_len;
	int		 has_method;
	/* gRPC */
	size_t		 svc_len;
	size_t		 meth_len;
	/* both */
	size_t		 n_headers;
	size_t		 n_query;
};

/* An (effective hostname, listener) pair the route is attached with. */
struct rt_attach {
	char		*hostname;	/* "*" for any */
	size_t		 listener;
};

struct rt_route {
	int		 grpc;
	yajl_val	 obj;
	const char	*ns;
	const char	*name;
	const char	*created;	/* "" when absent */
	struct route_status *st;
	struct rt_match	*matches;
	size_t		 n_matches;
	struct rt_attach *att;
	size_t		 n_att;
	const char	*refs_reason;	/* first ResolvedRefs failure */
	char		*refs_msg;
};

struct rt_ctx {
	const struct route_input *in;
	const char	*gw_ns;
	const char	*gw_name;
	const char	*domain;
	struct rt_listener *ls;
	size_t		 n_ls;
	struct rt_route	*routes;
	size_t		 n_routes;
	struct route_result *res;
	int		 oom;
	char		*err;
	size_t		 errsz;
};

/* route_util.c */
char		*rt_strdup(struct rt_ctx *, const char *);
char		*rt_printf(struct rt_ctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		*rt_reallocarray(struct rt_ctx *, void *, size_t, size_t);
void		 rt_append(struct rt_ctx *, char **, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
int		 rt_host_is_wild(const char *);
int		 rt_host_covers(const char *outer, const char *inner);
int		 rt_host_cmp(const char *, const char *);
int		 rt_selector_match(yajl_val selector, yajl_val ns_obj,
		    const char *ns_name);
yajl_val	 rt_find_named(yajl_val *objs, size_t n, const char *ns,
		    const char *name);
int		 rt_regex_valid(const char *, char *msg, size_t msgsz);
const char	*rt_str_or(yajl_val obj, const char *key, const char *dflt);

/* route_rules.c */
void		 rt_rules_compile(struct rt_ctx *, struct rt_route *);

/* route_filters.c */
#define RT_MAX_MIRRORS	4	/* RequestMirror filters per rule */

struct rt_fcheck {
	const char	*reason;	/* why the rule is dropped */
	const char	*unsup;		/* first filter type kept as
					   "unsupported" (500), or NULL */
	long long	 unsup_be;	/* its backendRefs index, -1: rule */
};

int		 rt_filter_known(const struct rt_route *, const char *type,
		    int backend);
int		 rt_filters_check(struct rt_route *, yajl_val rule,
		    struct rt_fcheck *, char *msg, size_t msgsz);

/* route_backend.c */
void		 rt_backend_emit(struct rt_ctx *, struct rt_route *,
		    struct jw *, yajl_val ref, int is_mirror);

/* route_emit.c */
int		 rt_emit(struct rt_ctx *);

/* route_status.c */
struct route_cond *rt_cond_add(struct rt_ctx *, struct route_cond **,
		    size_t *, const char *type, enum route_cond_status,
		    const char *reason, const char *fmt, ...)
		    __attribute__((format(printf, 7, 8)));
void		 rt_dropped_add(struct rt_ctx *, struct rt_route *, size_t rule,
		    long long match, const char *reason, const char *fmt, ...)
		    __attribute__((format(printf, 6, 7)));

#endif
