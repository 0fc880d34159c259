/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_WORKER_H
#define CFGW_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "proto.h"
#include "sandbox.h"

/*
 * The common start and control loop of every worker.  A worker is exec'd by
 * cfgwd with the control socketpair (AF_UNIX, SOCK_SEQPACKET) on fd 3.
 *
 *   worker_init(&w, PROC_X, argc, argv)  sets comm, sends HELLO, waits for
 *       CONFIG (config slice + CURVE keys), opens the log;
 *   sandbox_enter(&profile)              (lib/sandbox.h)
 *   ipc_bind()/ipc_connect() sockets     (lib/ipc.h)
 *   worker_ready(&w)                     sends READY;
 *   loop: zmq_poll over the worker's sockets plus worker_ctl_fd(&w);
 *       when the ctl fd is readable, worker_ctl_dispatch(&w) answers PING
 *       itself and returns the control message for the worker to act on
 *       (MSG_SHUTDOWN, MSG_RESYNC, MSG_ROTATE_NOW) or MSG_NONE.
 */

#define WORKER_KEY_LEN	40	/* Z85 CURVE key */
#define WORKER_HELLO_TIMEOUT_MS	10000	/* wait this long for CONFIG */

struct ipc_state;

struct worker_config {
	char	 runtime_dir[256];	/* ipc:// endpoints live here, 0700 */
	char	 kubeconfig[512];	/* "" = $KUBECONFIG or in-cluster */
	char	 kube_context[128];
	char	 cloudflare_api_url[512];
	char	 cluster_name[128];
	char	 cluster_domain[128];
	char	 log_dir[512];
	char	 log_format[8];
	char	 tunnel_image[256];
	char	 proxy_image[256];
	char	 controller_namespace[128];
	int	 verbose;
	double	 kube_qps;
	int	 kube_burst;
	int	 cf_budget;		/* requests per 5 minutes, cfapi */
};

struct worker {
	enum proc_id		 self;
	const char		*name;
	int			 ctlfd;
	struct worker_config	 cfg;
	char			 public_key[WORKER_KEY_LEN + 1];
	char			 secret_key[WORKER_KEY_LEN + 1];
	char			 peer_public[PROC_MAX][WORKER_KEY_LEN + 1];
	void			*zctx;		/* libzmq context (ipc.c) */
	struct ipc_state	*ipc;		/* sockets, ZAP (ipc.c) */
	int			 ready;		/* READY sent */
	uint64_t		 ipc_in, ipc_out, ipc_rejected;
	char			 user_agent[64]; /* cfgw/<ver> (<name>) */
	char			*metrics;	/* worker_metrics_set */
	size_t			 metrics_len;
};

/*
 * worker_init: 0, or -1 (logged) when there is no supervisor on fd 3, it
 * hangs up, or CONFIG does not come within WORKER_HELLO_TIMEOUT_MS; the
 * caller exits 1.  A malformed CONFIG is fatal (fatalx).  argv may carry
 * "-v" (verbose before CONFIG arrives); everything else comes in CONFIG.
 */
int	 worker_init(struct worker *, enum proc_id, int argc, char **argv);
int	 worker_ready(struct worker *);
int	 worker_ctl_fd(const struct worker *);
/*
 * Drains the control socket (non-blocking): answers every PING itself and
 * returns the first message for the worker to act on (MSG_SHUTDOWN,
 * MSG_RESYNC, MSG_ROTATE_NOW), MSG_NONE when only pings (or nothing) were
 * waiting, or -1 when the supervisor is gone (EOF): the worker exits.
 * A malformed control message is fatal (fatalx): the supervisor restarts us.
 */
int	 worker_ctl_dispatch(struct worker *);
/*
 * Publish Prometheus text lines: a copy of the latest text rides in every
 * PONG ("metrics") and cfgwd appends it to its /metrics.  The text must
 * pass promtext_check (lib/promtext.h: "cfgw_" names, printable ASCII,
 * at most PROMTEXT_MAX bytes); 0, or -1 (logged once, previous text kept).
 * len 0 withdraws the text.
 */
int	 worker_metrics_set(struct worker *, const char *text, size_t len);
/* Closes every ipc socket, the libzmq context and the control socket. */
void	 worker_shutdown(struct worker *);

#endif
