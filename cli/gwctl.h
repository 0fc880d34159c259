/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_GWCTL_H
#define CFGW_GWCTL_H

/*
 * gwctl: what the Gateway-acting cfgwctl commands share (suspend, resume,
 * reconcile, rotate, watch): argument parsing, reading the Gateway and
 * checking that its class is ours, merge-patching its annotations under
 * its resourceVersion, and the two waits (reconciliation, token rotation).
 */
#include <stdio.h>

#include <yajl/yajl_tree.h>

#include "cli.h"

#define GWCTL_ANN_RECONCILE	"cloudflare-gateway-controller.io/reconcile"
#define GWCTL_ANN_REQUESTED \
	"cloudflare-gateway-controller.io/reconcileRequestedAt"
#define GWCTL_ANN_ROTATE \
	"gateways.cloudflare-gateway-controller.io/rotateTokenRequestedAt"
#define GWCTL_ANN_TOKEN_HASH \
	"gateways.cloudflare-gateway-controller.io/tokenHash"
#define GWCTL_FIELD_MANAGER	"cfgwctl"

/* Exit statuses, as everywhere in cfgwctl. */
#define GWCTL_OK	0
#define GWCTL_FAIL	1
#define GWCTL_USAGE	2
#define GWCTL_SKIP	3	/* internal: nothing to do (exit 0) */

/* gwctl_args flags. */
#define GWCTL_F_WAIT	0x01	/* --wait[=BOOL], --no-wait */
#define GWCTL_F_WATCH	0x02	/* --watch[=BOOL] (same as --wait) */
#define GWCTL_F_TIMEOUT	0x04	/* --timeout DURATION */
#define GWCTL_F_TOKEN	0x08	/* positional "gateway token NAME" */

struct kube;

struct gwctl {
	const char		*cmd;		/* for messages */
	struct cli_kube_flags	 kf;
	const char		*name;		/* the Gateway */
	int			 wait;		/* default: the caller's */
	long long		 timeout_ms;	/* idem */
	struct kube		*k;
	const char		*ns;
};

/*
 * Parse argv; -1 to go on, else the exit status (help printed, usage
 * error).  usage prints the command's synopsis.
 */
int		 gwctl_args(struct gwctl *, int argc, char *argv[],
		    int flags, void (*usage)(FILE *));
/* 0, or 1 after a message. */
int		 gwctl_open(struct gwctl *);
void		 gwctl_close(struct gwctl *);

/*
 * The Gateway, checked to be of a GatewayClass whose controllerName is
 * ours.  Returns the object (free with json_free), or NULL after printing
 * why (not found, other controller, API error).
 */
yajl_val	 gwctl_gateway(struct gwctl *);
/* Any object in the Gateway's namespace: 1 found, 0 not found, -1 error. */
int		 gwctl_get(struct gwctl *, const char *kind,
		    const char *name, yajl_val *out);
const char	*gwctl_ann(yajl_val obj, const char *key);
int		 gwctl_suspended(yajl_val gw);
const char	*gwctl_cond(yajl_val obj, const char *type,
		    const char **reason, const char **message);
/* 1 unless the condition's observedGeneration is below generation. */
int		 gwctl_cond_current(yajl_val obj, const char *type);

/*
 * Read the Gateway, ask check(gw, arg) whether to go on (GWCTL_OK) or not
 * (any other status, returned as is), and merge-patch the n annotations
 * kv[0..2n) under the Gateway's resourceVersion, again on a conflict.
 */
int		 gwctl_annotate(struct gwctl *,
		    int (*check)(struct gwctl *, yajl_val, void *), void *arg,
		    const char *const kv[], size_t n);

/* Time. */
void		 gwctl_rfc3339nano(char *buf, size_t sz);
long long	 gwctl_mono_ms(void);
void		 gwctl_sleep_ms(long long);
/* "[15:04:05] +12s " progress prefix, counted from start_ms. */
void		 gwctl_stamp(FILE *, long long start_ms);
void		 gwctl_duration(char *buf, size_t sz, long long ms);

/* reconcile.c: wait until the CGS has handled want and Ready settles. */
int		 gwctl_wait_reconciled(struct gwctl *, const char *want);
/*
 * watch.c: follow a token rotation to its end.  old_hash: the CGS token
 * hash before the request (rotate), or NULL to attach to the one under
 * way (watch).  Returns an exit status.
 */
int		 gwctl_follow_rotation(struct gwctl *, const char *old_hash,
		    const char *requested);

#endif
