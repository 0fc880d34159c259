/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_PROXY_TABLE_H
#define CFGW_PROXY_TABLE_H

/*
 * The compiled route table (docs/route-table.md).  A table is immutable once
 * built and reference counted: a request holds a reference for its whole
 * life, so a reload never frees rules that are in use.
 */

#include <stddef.h>
#include <stdint.h>

#define TABLE_MAJOR		1
#define TABLE_MAX_BYTES		(32 * 1024 * 1024)

enum path_type { PATH_PREFIX, PATH_EXACT, PATH_REGEX };
enum val_type { VAL_EXACT, VAL_REGEX };
enum be_proto { BE_HTTP, BE_H2C, BE_WS };

#define SCHEME_HTTP	0x1
#define SCHEME_HTTPS	0x2

struct pcre2_real_code_8;
struct mx;			/* metrics series (metrics.c) */

struct vmatch {
	int			 type;
	char			*name;
	char			*value;
	struct pcre2_real_code_8 *re;
};

struct hmod {				/* a header modifier filter */
	char		**set_name;
	char		**set_value;
	size_t		  nset;
	char		**add_name;
	char		**add_value;
	size_t		  nadd;
	char		**remove;
	size_t		  nremove;
};

struct redirect {
	char		*scheme;
	char		*hostname;
	char		*path;		/* full path or prefix replacement */
	int		 path_prefix;	/* ReplacePrefixMatch */
	int		 port;		/* 0: unset */
	int		 status;
};

struct rewrite {
	char		*hostname;
	char		*path;
	int		 path_prefix;
	int		 has_path;
};

#define MAX_MIRRORS	4

struct cors {
	char		**origins;	/* lower case; "*" and "*." globs */
	size_t		  norigins;
	char		 *methods;	/* joined with ", " */
	char		 *headers;
	char		 *expose;
	int		  any_method;
	int		  any_header;
	int		  any_expose;
	int		  credentials;
	int		  max_age;
};

struct tbackend {
	char		*name;		/* namespace/name:port, for logs */
	char		*host;
	int		 port;
	uint32_t	 weight;
	int		 proto;
	char		*invalid;	/* NULL when valid */
	char		 sid[17];	/* session persistence id (hex) */
	struct hmod	 reqmod;
	int		 has_reqmod;
	struct hmod	 respmod;
	int		 has_respmod;
	struct mx	*mx;		/* metrics series, bound at install */
};

struct tretry {
	int		 codes[32];
	size_t		 ncodes;
	int		 attempts;
	int		 backoff_ms;
};

struct session {
	int		 header;	/* type Header (else Cookie) */
	char		*name;		/* cookie name / lower-case header */
	int64_t		 absolute_ms;	/* 0: none */
	int		 permanent;
};

struct mirror {
	struct tbackend	 be;
	uint32_t	 ppm;		/* share mirrored, parts per million */
};

/*
 * The rule's filters in the order listed on the rule (each kind at most
 * once, RequestMirror up to MAX_MIRRORS times): the proxy runs the
 * request-phase kinds in this order, then the response-phase kinds.
 */
enum fkind {
	F_REQMOD = 1,		/* request */
	F_REWRITE,		/* request */
	F_MIRROR,		/* request; arg: index in mirrors[] */
	F_REDIRECT,		/* request: answers */
	F_CORS,			/* request (preflight) and response */
	F_RESPMOD,		/* response */
};

#define MAX_FSTEPS	(5 + MAX_MIRRORS)

struct fstep {
	uint8_t		 kind;		/* enum fkind */
	uint8_t		 arg;
};

struct trule {
	char		*route;		/* kind/namespace/name#rule */
	/* HTTP */
	int		 path_type;
	char		*path;
	size_t		 pathlen;
	struct pcre2_real_code_8 *path_re;
	char		*method;
	/* gRPC */
	int		 grpc_type;
	char		*service;
	char		*gmethod;
	struct pcre2_real_code_8 *svc_re;
	struct pcre2_real_code_8 *meth_re;
	/* common */
	struct vmatch	*headers;
	size_t		 nheaders;
	struct vmatch	*query;
	size_t		 nquery;
	struct tbackend	*backends;
	size_t		 nbackends;
	uint64_t	 total_weight;
	int64_t		 request_ms;	/* -1: default, 0: none */
	int64_t		 backend_ms;	/* -1: default, 0: none */
	unsigned	 schemes;	/* SCHEME_* mask; 0: any */
	/* filters */
	int		 filter_error;	/* unsupported filter: answer 500 */
	struct hmod	 reqmod;
	int		 has_reqmod;
	struct hmod	 respmod;
	int		 has_respmod;
	struct redirect	 redirect;
	int		 has_redirect;
	struct rewrite	 rewrite;
	int		 has_rewrite;
	struct cors	 cors;
	int		 has_cors;
	struct tretry	 retry;
	int		 has_retry;
	struct session	 session;
	int		 has_session;
	struct mirror	 mirrors[MAX_MIRRORS];
	size_t		 nmirrors;
	struct fstep	 steps[MAX_FSTEPS];	/* listed order */
	size_t		 nsteps;
	int		 be_reqmod;	/* a backend has a request modifier */
	struct mx	*mx;		/* series for answers without backend */
};

struct thost {
	char		*hostname;	/* lower case; "*.x.y" or "*" */
	int		 wildcard;
	const char	*suffix;	/* ".x.y" for wildcards */
	size_t		 suffixlen;
	struct trule	*http;
	size_t		 nhttp;
	struct trule	*grpc;
	size_t		 ngrpc;
	struct thost	*hnext;		/* hash chain */
};

struct table {
	int		 refs;
	char		*version;
	char		*generation;
	struct thost	*hosts;
	size_t		 nhosts;
	struct thost	**hash;
	size_t		 hashsz;
	struct thost	**wild;		/* wildcard hosts, in table order */
	size_t		 nwild;
	struct thost	*star;
	size_t		 nrules;
};

struct table	*table_load(const char *, size_t, char *, size_t);
struct table	*table_load_file(const char *, char *, size_t);
struct table	*table_ref(struct table *);
void		 table_unref(struct table *);
const struct thost *table_host(const struct table *, const char *, size_t);

/* Regex helpers (match.c); the pattern is anchored on the whole subject. */
struct pcre2_real_code_8 *re_compile(const char *, char *, size_t);
int		 re_match(const struct pcre2_real_code_8 *, const char *,
		    size_t);
void		 re_free(struct pcre2_real_code_8 *);

#endif
