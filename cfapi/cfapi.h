/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_CFAPI_H
#define CFGW_CFAPI_H

/*
 * cfapi's private interface, shared by the files of this directory only.
 * Nothing here may be included by another process: this is where the
 * Cloudflare API token lives.
 */

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#include "cfparse.h"
#include "json.h"
#include "ratelimit.h"
#include "worker.h"

#define CF_MAX_CREDS		32
#define CF_MAX_BUCKETS		32
#define CF_MAX_TUNCONF		1024	/* remembered config hashes */
#define CF_MAX_TOKCACHE		1024	/* token Secrets we wrote */
#define CF_TOKCACHE_TTL_S	3600.0
#define CF_MAX_ZONES		1024	/* zone.resolve cache entries */
#define CF_MAX_METRICS		96
#define CF_MAX_ATTEMPTS		5
#define CF_MAX_WAIT_S		20.0	/* longer waits: rate_limited */
#define CF_CRED_TTL_S		600.0	/* re-read the Secret after this */
#define CF_ZONE_TTL_S		600.0
#define CF_ZONE_NEG_TTL_S	60.0
#define CF_RESP_MAX		(64u * 1024 * 1024)
#define CF_BATCH_MAX		200
#define CF_DNS_PER_PAGE		5000
#define CF_LOW_RESERVE		0.2	/* of the burst, kept for others */
#define CF_QUOTA_SHARE		(1000.0 / 1200.0) /* of a learned quota */

enum cf_prio {
	CF_PRIO_HIGH,
	CF_PRIO_NORMAL,
	CF_PRIO_LOW,
	CF_NPRIO
};

enum cf_errkind {
	CF_E_NONE,
	CF_E_NOT_FOUND,
	CF_E_CONFLICT,
	CF_E_RATE,
	CF_E_AUTH,
	CF_E_VALIDATION,
	CF_E_TRANSPORT,
	CF_E_CREDENTIALS,
	CF_E_INTERNAL,
};

struct cf_err {
	enum cf_errkind	 kind;
	char		 message[512];
	long		 codes[CFPARSE_MAX_ERRORS];
	size_t		 ncodes;
	long		 retry_after;	/* -1 none */
};

/* One token bucket per distinct token (keyed by its SHA-256). */
struct cf_bucket {
	unsigned char	 id[32];
	int		 used;
	struct ratelimit rl;
	double		 paused_until;	/* monotonic seconds */
	uint64_t	 requests;
};

/* A credential Secret, read by cfapi itself. */
struct cf_cred {
	int		 used;
	char		 ns[64];
	char		 name[254];
	char		 rv[64];
	char		 account_id[64];
	char		*token;		/* sodium_malloc'd, locked */
	size_t		 toklen;
	int		 bucket;
	double		 fetched;
	int		 stale;
	double		 last_used;
};

struct cf_tunconf {
	char		 id[64];
	unsigned char	 hash[32];
	long long	 version;
};

/* A token Secret we wrote: unchanged Secret + same tunnel = no calls. */
struct cf_tokcache {
	char		 tunnel[64];
	char		 ns[64];
	char		 name[254];
	char		 rv[64];	/* the Secret's, after our write */
	char		 hash[65];
	double		 written;
};

struct cf_zone {
	char		 key[340];	/* token/account/candidate */
	char		 id[64];
	char		 name[254];
	int		 found;
	double		 expires;
};

struct cf_metric {
	char		 label[96];	/* "GET /zones/:id" */
	long		 status;
	uint64_t	 count;
};

struct cf_replymetric {
	char		 op[24];
	enum cf_errkind	 kind;
	uint64_t	 count;
};

enum cf_retry {
	CF_RETRY_5XX,
	CF_RETRY_429,
	CF_RETRY_TRANSPORT,
	CF_RETRY_LOOKUP,	/* a create sent again after a lookup */
	CF_NRETRY
};

struct cf_req {
	TAILQ_ENTRY(cf_req)	 entry;
	char			 ident[256];
	size_t			 identlen;
	uint64_t		 reqid;
	char			*payload;
	size_t			 paylen;
};
TAILQ_HEAD(cf_reqq, cf_req);

struct cfapi_state {
	struct worker		 w;
	void			*router;
	CURL			*curl;
	struct kube		*kube;
	struct cf_reqq		 queue[CF_NPRIO];
	struct cf_cred		 creds[CF_MAX_CREDS];
	struct cf_bucket	 buckets[CF_MAX_BUCKETS];
	struct cf_tunconf	 tunconf[CF_MAX_TUNCONF];
	size_t			 ntunconf;
	struct cf_tokcache	 tokcache[CF_MAX_TOKCACHE];
	size_t			 ntokcache;
	struct cf_zone		 zones[CF_MAX_ZONES];
	size_t			 nzones;
	struct cf_metric	 metrics[CF_MAX_METRICS];
	size_t			 nmetrics;
	struct cf_replymetric	 replies[CF_MAX_METRICS];
	size_t			 nreplies;
	uint64_t		 retries[CF_NRETRY];
	double			 metrics_logged;
	double			 metrics_published;
	double			 budget_rate;	/* tokens per second */
	double			 budget_burst;
	char			 base_url[512];
	enum cf_prio		 prio;		/* of the request in hand */
	double			 ctl_checked;
	int			 stop;
};

/* One HTTP exchange with Cloudflare. */
struct cf_http {
	long		 status;	/* 0: transport error */
	int		 parsed;	/* resp is a v4 envelope */
	int		 maybe_sent;	/* failed, may have taken effect */
	struct cfresp	 resp;
};

#define CF_F_UNSAFE	0x01	/* POST create: no blind retry */
#define CF_F_SECRET	0x02	/* response or body carries a secret */

/* cfapi.c */
int	 cfapi_wait_ms(struct cfapi_state *, long ms);
void	 cfapi_poll_ctl(struct cfapi_state *, int timeout_ms);

/* cf_http.c */
int	 cf_http_init(struct cfapi_state *);
void	 cf_http_cleanup(struct cfapi_state *);
int	 cf_call(struct cfapi_state *, struct cf_cred *, const char *method,
	    const char *path, const char *query, const char *body, int flags,
	    const char *label, struct cf_http *, struct cf_err *);
void	 cf_http_free(struct cf_http *);
void	 cf_err_set(struct cf_err *, enum cf_errkind, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 cf_err_from(struct cf_err *, const struct cf_http *);
/* {"kind","message","codes":[..],"retry_after"?} */
void	 cf_err_write(struct jw *, const struct cf_err *);
const char *cf_errkind_name(enum cf_errkind);
/* Appends "&key=value" (escaped) to q; -1 if it does not fit. */
int	 cf_query_add(char *q, size_t sz, const char *key, const char *val);
/* Rejects ids that could change the path: [A-Za-z0-9_-] only. */
int	 cf_id_ok(const char *);

/* cf_metrics.c */
/* "GET /accounts/:id/cfd_tunnel": ids in the path become ":id". */
void	 cf_route_norm(const char *method, const char *path, char *out,
	    size_t sz);
void	 cf_metric_add(struct cfapi_state *, const char *method,
	    const char *path, long status);
void	 cf_metric_retry(struct cfapi_state *, enum cf_retry);
void	 cf_metric_reply(struct cfapi_state *, const char *op,
	    enum cf_errkind);
/* Publish (at most once a second unless forced) and log every minute. */
void	 cf_metrics_log(struct cfapi_state *, int force);

/* cf_cred.c */
struct cf_cred *cf_cred_get(struct cfapi_state *, yajl_val req,
	    struct cf_err *);
void	 cf_cred_drop(struct cf_cred *);
void	 cf_cred_drop_all(struct cfapi_state *);
struct cf_bucket *cf_cred_bucket(struct cfapi_state *, struct cf_cred *);
int	 cf_cred_auth_header(const struct cf_cred *, struct curl_slist **);
void	 cf_slist_wipe_free(struct curl_slist **);

/* cf_tunnel.c: each op writes its result value into jw or fills err. */
typedef int (*cf_op_fn)(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_cred_verify(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_tunnel_ensure(struct cfapi_state *, struct cf_cred *,
	    yajl_val, struct jw *, struct cf_err *);
int	 cf_op_tunnel_get(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_tunnel_list(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_tunnel_config(struct cfapi_state *, struct cf_cred *,
	    yajl_val, struct jw *, struct cf_err *);
int	 cf_op_tunnel_connections(struct cfapi_state *, struct cf_cred *,
	    yajl_val, struct jw *, struct cf_err *);
int	 cf_op_tunnel_delete(struct cfapi_state *, struct cf_cred *,
	    yajl_val, struct jw *, struct cf_err *);
int	 cf_op_tunnel_token_secret(struct cfapi_state *, struct cf_cred *,
	    yajl_val, struct jw *, struct cf_err *);
int	 cf_op_tunnel_rotate(struct cfapi_state *, struct cf_cred *,
	    yajl_val, struct jw *, struct cf_err *);

/* cf_secret.c */
/* rv gets the Secret's resourceVersion after the write ("" unknown). */
int	 cf_secret_write(struct cfapi_state *, yajl_val req,
	    const char *token, size_t toklen, char *rv, size_t rvsz,
	    struct cf_err *);

/* cf_dns.c */
void	 cf_zone_forget(struct cfapi_state *, const char *zone_id);
int	 cf_op_zone_resolve(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_zone_list(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_dns_list(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_dns_create(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_dns_update(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_dns_patch(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_op_dns_delete(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);
int	 cf_dns_write(struct cfapi_state *, struct cf_cred *,
	    const char *zid, int kind, yajl_val rec, const char *id,
	    struct cf_http *keep, yajl_val *res, struct cf_err *);
int	 cf_op_dns_batch(struct cfapi_state *, struct cf_cred *, yajl_val,
	    struct jw *, struct cf_err *);

#endif
