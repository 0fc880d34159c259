/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_CFGWD_H
#define CFGW_CFGWD_H

#include <sys/types.h>

#include <poll.h>
#include <stdint.h>

#include "ctl.h"
#include "proto.h"
#include "worker.h"

/*
 * cfgwd: the supervisor's shared state.  One static struct cfgwd_state in
 * cfgwd.c; the spawn, control and http modules work on it.
 */

/* Tunables (the defaults header of the supervisor). */
#define CFGWD_PING_MS		1000	/* heartbeat period */
#define CFGWD_PING_MISS		3	/* missed pings before a kill */
#define CFGWD_READY_MS		10000	/* HELLO..READY deadline */
#define CFGWD_THROTTLE_MS	5000	/* died before READY: wait this */
#define CFGWD_BACKOFF_MIN_MS	1000	/* died after READY: 1 s ... */
#define CFGWD_BACKOFF_MAX_MS	60000	/* ... doubling to 60 s */
#define CFGWD_HEALTHY_MS	600000	/* 10 min up resets the backoff */
#define CFGWD_STOP_MS		3000	/* SHUTDOWN, then SIGKILL */
#define CFGWD_EOF_MS		1000	/* hung up but alive: kill */
#define CFGWD_HTTP_CLIENTS	16
#define CFGWD_HTTP_REQ_MAX	2048
#define CFGWD_HTTP_TIMEOUT_MS	2000

#define CFGWD_DEFAULT_CF_URL	"https://api.cloudflare.com/client/v4"
#define CFGWD_DEFAULT_DOMAIN	"cluster.local"
#define CFGWD_DEFAULT_TUNNEL_IMAGE "cloudflare/cloudflared:2025.8.0"
#define CFGWD_DEFAULT_PROXY_IMAGE "cfgw/cfgw-proxy:" CFGW_VERSION
#define CFGWD_DEFAULT_NAMESPACE	"cfgw-system"
#define CFGWD_DEFAULT_QPS	20.0
#define CFGWD_DEFAULT_BURST	30
#define CFGWD_DEFAULT_CF_BUDGET	1000	/* below Cloudflare's 1200 per 5 min */
#define CFGWD_LIBEXEC_FALLBACK	"/usr/libexec/cfgw"
#define CFGWD_DEFAULT_LEASE	"cloudflare-gateway-controller"

enum sv_state {
	SV_DOWN = 0,		/* not running; maybe waiting to restart */
	SV_STARTED,		/* exec'd, no HELLO yet */
	SV_CONFIGURED,		/* CONFIG sent, no READY yet */
	SV_READY,
};

struct sv_worker {
	enum proc_id	 id;
	const char	*name;
	enum sv_state	 state;
	pid_t		 pid;
	int		 fd;		/* our end of the socketpair, or -1 */
	long long	 started_ms;
	long long	 ready_ms;
	long long	 restart_ms;	/* when to start again; 0 = now */
	long long	 eof_ms;	/* its control channel closed */
	unsigned	 backoff_ms;
	uint64_t	 ping_seq, pong_seq;
	uint64_t	 restarts;
	uint64_t	 ipc_in, ipc_out, ipc_rejected;
	unsigned	 peers;		/* P_* whose public keys it gets */
	char		 pub[WORKER_KEY_LEN + 1];
	char		 sec[WORKER_KEY_LEN + 1];
};

struct cfgwd_state {
	struct worker_config cfg;	/* sent to every worker in CONFIG */
	char		 libexec_dir[512];
	char		 metrics_addr[128];
	char		 health_addr[128];
	int		 leader_elect;
	char		 lease_ns[128];
	char		 lease_id[128];
	long		 lease_ms, renew_ms, retry_ms;
	pid_t		 elector_pid;	/* 0: not running */
	int		 elector_in;	/* its stdin (ours to close), or -1 */
	int		 elector_out;	/* its "leading" line, or -1 */
	int		 leading;	/* workers may run */
	int		 exit_code;
	int		 check_only;
	unsigned	 throttle_ms;
	int		 stopping;
	long long	 stop_deadline;
	long long	 next_ping_ms;
	struct sv_worker w[PROC_MAX];	/* index PROC_SUPERVISOR unused */
};

extern struct cfgwd_state cfgwd;

long long	 cfgwd_now_ms(void);

/* config.c */
int		 config_parse(int argc, char **argv);
int		 config_prepare(int create);
void		 config_usage(int fd);

/* cfgwd.c */
void		 cfgwd_stop(void);

/* lead.c */
int		 lead_start(void);
int		 lead_pollfd(struct pollfd *);
void		 lead_event(void);
int		 lead_reaped(pid_t, int status);
void		 lead_release(void);
void		 lead_kill(void);

/* spawn.c */
int		 spawn_start(struct sv_worker *);
void		 spawn_reap(void);
void		 spawn_kill(struct sv_worker *, const char *why);
void		 spawn_child_reset(int first, int deathsig, pid_t parent);
void		 spawn_tick(long long now);
int		 spawn_running(void);

/* control.c */
int		 control_keys(void);
void		 control_dispatch(struct sv_worker *);
void		 control_tick(long long now);
void		 control_broadcast(unsigned type);
int		 control_send(struct sv_worker *, unsigned type,
		    const char *payload, size_t len);

/* http.c */
int		 http_listen(const char *addr);
int		 http_check(const char *addr);	/* 0 or -1, printed */
int		 http_pollfds(struct pollfd *, int max);
void		 http_events(const struct pollfd *, int n);
void		 http_tick(long long now);
void		 http_close_all(void);

#endif
