/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_PROXY_H
#define CFGW_PROXY_H

/*
 * cfgw-proxy: shared declarations.  The process runs --threads event
 * loops (thread.c); each has its own struct px (the thread-local `px`:
 * base, resolver, pools, counters, table reference) and serves its
 * connections alone, so nothing on the request path is locked.  Static
 * state touched per request must be per thread (__thread) or atomic; the
 * main thread alone loads tables and runs the admin listener.  A proxied
 * request is an
 * "exchange" (struct xch) between a downstream side (an HTTP/1 client
 * connection or an HTTP/2 stream) and an upstream side (a pooled HTTP/1.1
 * connection or an h2c stream).  Each side talks to the other only through
 * the ops tables below.
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "table.h"

#define PX_DEFAULT_HTTP		"127.0.0.1:8080"
#define PX_DEFAULT_HTTPS	"127.0.0.1:8443"
#define PX_DEFAULT_ADMIN	"127.0.0.1:9090"

#define PX_NBUCKETS	11	/* request duration histogram */

/* Back-pressure: stop reading a side when the other has this much queued. */
#define PX_HIGH_WATER		(256 * 1024)

struct hdr {
	char	*name;		/* lower case; one block with the value */
	char	*value;
};

struct hdrs {
	struct hdr	*v;
	size_t		 n;
	size_t		 cap;
};

int		 hdrs_add(struct hdrs *, const char *, size_t, const char *,
		    size_t);
const char	*hdrs_get(const struct hdrs *, const char *);
void		 hdrs_del(struct hdrs *, const char *);
void		 hdrs_clear(struct hdrs *);
int		 hdrs_copy(struct hdrs *, const struct hdrs *);

struct xch;

/* match.c: first-match lookup in a host's rule list. */
struct mreq {
	const char		*method;
	unsigned		 scheme;	/* SCHEME_HTTP(S), 0: any */
	const char		*path;		/* without the query */
	size_t			 pathlen;
	const char		*query;		/* after '?', or NULL */
	size_t			 querylen;
	const struct hdrs	*h;
};

int		 host_normalize(const char *, char *, size_t, size_t *);
const struct trule *match_http(const struct thost *, const struct mreq *);
const struct trule *match_grpc(const struct thost *, const struct mreq *);
const struct tbackend *match_backend(const struct trule *);
const struct tbackend *match_backend_other(const struct trule *,
		    const struct tbackend *);

struct down_ops {
	void	(*head)(struct xch *, int, struct hdrs *, int64_t);
	void	(*data)(struct xch *, struct evbuffer *);
	void	(*end)(struct xch *, struct hdrs *);
	void	(*fail)(struct xch *, int);
	void	(*resume)(struct xch *);
	size_t	(*pending)(struct xch *);
	void	(*upgraded)(struct xch *);
};

struct up_ops {
	void	(*data)(struct xch *, struct evbuffer *);
	void	(*end)(struct xch *, struct hdrs *);
	void	(*abort)(struct xch *);
	void	(*resume)(struct xch *);
	size_t	(*pending)(struct xch *);
};

struct xch {
	struct table		*tbl;
	const struct trule	*rule;
	const struct tbackend	*be;

	char			*method;
	char			*path;		/* target: path + query */
	char			*authority;	/* Host, as received */
	const char		*scheme;	/* "http" or "https" */
	unsigned		 xfp;		/* visitor scheme, 0: unknown */
	char			 client_ip[64];
	struct hdrs		 rqh;		/* end-to-end request headers */
	int64_t			 req_clen;	/* -1 unknown, -2 no body */
	int			 upgrade;	/* WebSocket upgrade request */
	int			 grpc;
	int			 head_only;	/* HEAD: no response body */

	const struct down_ops	*dops;
	void			*darg;
	const struct up_ops	*uops;
	void			*uarg;

	int			 down_gone;
	int			 up_gone;
	int			 status;	/* answer, for metrics */
	struct timeval		 start;
	int			 redirect;	/* answered by a filter */
	int			 req_ended;
	int			 attempt;	/* retries so far */
	struct event		*rtmo;		/* retry backoff */
	int			 is_mirror;
	char			*cors_origin;	/* allowed Origin, to echo */
	int			 cors_pf;	/* a CORS preflight, answered */
	struct xsave		*save;		/* request before the backend's
						   filters, for retries */
	char			 session[96];	/* new session token to set */
	struct mx		*mx;		/* in-flight on this series */
	struct xch		*mirrors[MAX_MIRRORS];
	size_t			 nmirrors;
	struct event		*tmo;		/* request timeout */
};

/* xch.c */
extern const double px_buckets[PX_NBUCKETS];
struct xch	*xch_new(void);
void		 xch_route_and_start(struct xch *, int);
void		 xch_down_detach(struct xch *);
void		 xch_up_detach(struct xch *);
void		 xch_count(int);
int		 xch_backend_timeout(const struct xch *);
int		 xch_backend_covers_body(const struct xch *);
int		 xch_retry(struct xch *, int, int);
void		 xch_resp_head(struct xch *, int, struct hdrs *, int64_t);
void		 xch_up_fail(struct xch *, int);
void		 xch_send(struct xch *, struct evbuffer *);
void		 xch_send_end(struct xch *, struct hdrs *);
size_t		 xch_up_pending(struct xch *);
void		 xch_up_resume(struct xch *);

/* filter.c: header modifiers, CORS, request mirroring. */
void		 hmod_apply(struct hdrs *, const struct hmod *);
void		 hmod_request(struct xch *, const struct hmod *);
int		 cors_preflight(struct xch *);
void		 cors_response(struct xch *, struct hdrs *);
void		 mirror_take(struct xch *, const struct mirror *);
void		 mirror_start(struct xch *);
void		 mirror_drop(struct xch *);
void		 mirror_send(struct xch *, struct evbuffer *);
void		 mirror_end(struct xch *);
void		 mirror_release(struct xch *);

/* session.c: session persistence with authenticated tokens. */
int		 session_init(const char *);
const struct tbackend *session_pick(struct xch *,
		    const struct tbackend *);
void		 session_response(struct xch *, struct hdrs *);

/* metrics.c: per route and backend series. */
void		 metrics_bind(struct table *);
void		 metrics_request(const struct xch *, double);
void		 metrics_inflight(struct xch *, const struct tbackend *);
void		 metrics_upstream_error(const struct xch *);
void		 metrics_retry(const struct xch *);
void		 metrics_write(struct evbuffer *);

/* accesslog.c: --access-log, JSON lines. */
extern int	 accesslog_on;
int		 accesslog_open(const char *);
void		 accesslog_write(const struct xch *, double);

/* up_h1.c: HTTP/1.1 upstream, pooled. */
int		 up_h1_start(struct xch *);
void		 up_h1_pool_flush(void);

/* up_h2.c: h2c upstream (gRPC, appProtocol h2c). */
int		 up_h2_start(struct xch *);

/* down_h1.c: HTTP/1 client connections (plain or TLS). */
void		 xfp_scheme(struct xch *, const char *, size_t);
void		 down_h1_accept(struct bufferevent *, const char *, int,
		    const char *, size_t);
void		 down_h1_unpark(int);

/* park.c: idle client connections, descriptor only. */
int		 park_fd(int, int, int);

/* down_h2.c: HTTP/2 server connections. */
void		 down_h2_accept(struct bufferevent *, const char *, int,
		    const char *, size_t);

/* listener.c */
int		 listener_open(const char *, int);
struct sockaddr_storage;
int		 addr_parse(const char *, struct sockaddr_storage *, int *);
void		 listener_close_all(void);
void		 listener_conn_start(int, int, const char *);
void		 listener_conn_ready(int);
int		 px_peer_ip(int, char *, size_t);

/* tls.c */
int		 tls_init(const char *, const char *);
void		*tls_ctx(void);

/* admin.c */
int		 admin_open(const char *);

struct px_metrics {
	uint64_t	 dur_bucket[PX_NBUCKETS];	/* cumulative at read */
	uint64_t	 dur_count;
	double		 dur_sum;
	uint64_t	 req_class[6];	/* 1xx..5xx, [0] unused */
	uint64_t	 reload_ok;
	uint64_t	 reload_fail;
	uint64_t	 conn_active;
	uint64_t	 conn_total;
	uint64_t	 conn_rejected;
	uint64_t	 up_conn_new;
	uint64_t	 up_conn_reused;
	uint64_t	 table_generation;
	time_t		 table_loaded;
	uint64_t	 bad_requests;
};

struct px_config {
	const char	*http_addr;
	const char	*https_addr;
	const char	*admin_addr;
	const char	*routes_file;
	const char	*routes_configmap;
	const char	*kubeconfig;
	const char	*tls_cert;
	const char	*tls_key;
	const char	*cluster_domain;
	const char	*session_key_file;
	const char	*access_log;
	int		 max_connections;
	int		 header_timeout_ms;	/* whole request head */
	int		 idle_timeout_ms;	/* between requests */
	int		 connect_timeout_ms;
	int		 response_timeout_ms;	/* upstream response head */
	int		 up_max_requests;	/* per upstream connection */
	int		 up_max_age_ms;		/* per upstream connection */
	int		 up_idle_ms;		/* idle pooled connection */
	int		 drain_ms;		/* SIGTERM grace */
	int		 threads;		/* event loops; 0: CPUs */
	struct px_resolve	*resolve;	/* --resolve overrides */
	size_t		 nresolve;
};

/* --resolve NAME:PORT:ADDR:PORT (tests, local development). */
struct px_resolve {
	char		*name;
	int		 port;
	char		*addr;
	int		 to_port;
};

struct px {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct table		*table;		/* current; may be NULL */
	struct px_config	 cf;
	struct px_metrics	 m;
	int			 nconns;
	int			 inflight;	/* exchanges alive */
	int			 draining;	/* SIGTERM seen */
};

extern __thread struct px *px;

/* thread.c: event-loop threads. */
struct evdns_base *px_dns_new(struct event_base *);
int		 px_threads_start(int);
int		 px_threads_count(void);
void		 px_threads_dispatch(int, int, const char *);
void		 px_threads_table(struct table *);
void		 px_threads_drain(void);
int		 px_threads_inflight(void);
void		 px_metrics_sum(struct px_metrics *);
void		 px_threads_parked(void);
void		 px_threads_trim(void);
uint32_t	 px_rand32(void);
uint32_t	 px_rand_below(uint32_t);
void		 px_nodelay(int);
size_t		 px_bev_write(struct bufferevent *);
int		 px_bev_in_add(struct bufferevent *, const char *, size_t);
ssize_t	 px_recv_scratch(int, const char **);
short		 px_recv_event(ssize_t);

/* util.c: building message heads without printf. */
struct hbuf {
	struct evbuffer	*out;
	size_t		 n;
	char		 b[2048];
};
void		 hb_init(struct hbuf *, struct evbuffer *);
void		 hb_add(struct hbuf *, const char *, size_t);
void		 hb_str(struct hbuf *, const char *);
void		 hb_field(struct hbuf *, const char *, const char *);
void		 hb_num(struct hbuf *, int64_t);
void		 hb_status(struct hbuf *, int);
void		 hb_done(struct hbuf *);

/* mem.c */
void		 px_mem_init(void);

/* main.c */
void		 px_backend_addr(const char *, int, char *, size_t, int *);
int		 px_conn_admit(void);
void		 px_conn_release(void);
struct table	*px_table_get(void);	/* new reference or NULL */
void		 px_table_set(struct table *, const char *);
void		 px_table_reject(const char *, const char *);

/* kubewatch.c: --routes-configmap. */
int		 cm_watch_start(const char *, const char *);
void		 cm_watch_stop(void);

/* Helpers (util.c). */
int		 px_tv_ms(struct timeval *, int);
const char	*http_reason(int);
void		 px_local_body(int, char *, size_t);
int		 strcaseeq(const char *, const char *);

#endif
