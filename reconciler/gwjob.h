/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_RECONCILER_GWJOB_H
#define CFGW_RECONCILER_GWJOB_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "json.h"
#include "owned.h"
#include "queue.h"
#include "rollout.h"
#include "route.h"
#include "status.h"

struct rec;

/*
 * One Gateway's reconcile in flight: a small state machine that sends one
 * request at a time to cfapi or dnsworker and continues when the reply (or
 * its deadline) comes, so that no Gateway waits on another's Cloudflare
 * calls.  Shared by gateway.c (the steps) and gwstatus.c (what is written).
 */

enum gw_step {
	GW_IDLE = 0,
	GW_TUNNEL,		/* tunnel.ensure */
	GW_CONFIG,		/* tunnel.config */
	GW_TOKEN,		/* tunnel.token_secret */
	GW_DNS,			/* DNS_SYNC */
	GW_FIN_LIST,		/* tunnel.list (finalizing, id unknown) */
	GW_FIN_DNS,		/* DNS_CLEANUP */
	GW_FIN_DELETE,		/* tunnel.delete */
};

#define GW_NAME_MAX	254
#define GW_ID_MAX	64

struct gw_job {
	char			 ns[GW_NAME_MAX];
	char			 name[GW_NAME_MAX];
	char			 key[QUEUE_KEY_MAX];	/* Gateway/ns/name */
	enum gw_step		 step;
	uint64_t		 reqid;
	int			 dirty;		/* asked again while busy */

	/* This run's inputs. */
	long long		 generation;
	char			 uid[GW_ID_MAX];
	char			 cred_ns[GW_NAME_MAX];
	char			 cred_name[GW_NAME_MAX];
	char			*zones;		/* JSON: null or ["z",..] */
	int			 dns_disabled;
	long long		 every_ms;
	char			 tunnel_name[800];

	/* This run's results. */
	char			 tunnel_id[GW_ID_MAX];
	long long		 config_version;
	char			 token_hash[65];
	struct route_result	*rr;

	/* Kept across runs. */
	int			 complete;	/* last run reached the end */
	int			 dns_failed;	/* ... with a DNS error */
	int			 held;		/* Deployments held back */
	int			 vpa_warned;	/* no VPA API: said once */
	char			 last_rotated_at[40];
	char			 handled_rotate[64];	/* sent to the rotator */
	char			 rotated_for[64];	/* rotated since */
	char			 rotate_done[64];	/* and rolled out */
	int			 rot_enabled;
	char			 rot_cron[128];
	char			 rot_tz[64];
};

#define GW_TERMINAL	1
#define GW_RETRY	0

/* gateway.c: steps shared with gwfinal.c. */
void		 gw_fail(struct rec *, struct gw_job *, int terminal,
		    const char *accepted_reason, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));
void		 gw_done(struct rec *, struct gw_job *, long long delay_ms);
void		 gw_job_reset(struct gw_job *);
struct jw	*gw_cf_begin(struct gw_job *, const char *op);
int		 gw_send_cf(struct rec *, struct gw_job *, enum gw_step,
		    const char *op, struct jw *);
int		 gw_finalizer(struct rec *, struct gw_job *, yajl_val gw,
		    int add);

/* gwinput.c */
int		 gw_params(struct rec *, struct gw_job *, yajl_val gw,
		    yajl_val *cgp);
const char	*gw_annotation(yajl_val gw, const char *key);
int		 gw_copy(char *dst, size_t sz, const char *src);
int		 gw_every(yajl_val gw, long long *ms);

/* gwapply.c */
void		 gw_owned_init(struct owned_gw *, struct gw_job *, yajl_val gw);
/* Apply one owned object (body freed); -1 after gw_fail. */
int		 gw_apply(struct rec *, struct gw_job *, const char *kind,
		    const char *name, char *body, size_t len);
int		 gw_apply_workload(struct rec *, struct gw_job *, yajl_val gw,
		    yajl_val cgp);

/*
 * gwclassfin.c: the GatewayClass finalizer
 * gateway-exists-finalizer.gateway.networking.k8s.io/<gw>.<ns>.  ensure:
 * off every other class, on cls if it is ours; release: off every class.
 * -1 if a write failed (logged, the object named).
 */
int		 gwclassfin_ensure(struct rec *, struct gw_job *,
		    const char *cls);
int		 gwclassfin_release(struct rec *, struct gw_job *);

/* gwfinal.c */
void		 gw_finalize(struct rec *, struct gw_job *, yajl_val gw);
void		 gw_fin_next(struct rec *, struct gw_job *, enum gw_step done,
		    yajl_val reply);

/* gateway.c: the job table, for rotation.c. */
size_t		 gw_job_count(void);
struct gw_job	*gw_job_at(size_t);
struct gw_job	*gw_job_find(const char *ns, const char *name);

/* rotation.c */
void		 gateway_rotation_request(struct rec *, struct gw_job *,
		    yajl_val gw);

/* gwstatus.c */
struct gw_outcome {
	struct conds	 c;		/* Accepted, Programmed, Ready,
					   DNSManagement */
	int		 keep_others;	/* error path: upsert */
};

/* Patch the Gateway's status if it changed. */
void	gwstatus_gateway(struct rec *, struct gw_job *, yajl_val gw,
	    const struct gw_outcome *);
/* Write our status.parents entries on every route the compiler saw,
 * with DNSRecordsApplied from the DNS result (may be NULL). */
void	gwstatus_routes(struct rec *, struct gw_job *, yajl_val dnsres);
/* Remove our entries for this Gateway from every route (finalizing). */
int	gwstatus_routes_forget(struct rec *, struct gw_job *);
/* Create the CGS if missing and patch its status if it changed. */
void	gwstatus_cgs_handled(struct rec *, struct gw_job *, yajl_val gw);
void	gwstatus_cgs(struct rec *, struct gw_job *, yajl_val gw,
	    yajl_val cgp, const struct gw_outcome *);
/* Ready from the tunnel Deployments in the store; 1 if all rolled out. */
int	gwstatus_ready(struct rec *, struct gw_job *, yajl_val cgp,
	    struct conds *);

#endif
