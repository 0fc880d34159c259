/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker: the common start and control loop of every worker, in the manner
 * of Postfix's single_server.c.  The worker names itself, says HELLO to
 * cfgwd on fd 3, takes its configuration slice and CURVE keys from CONFIG,
 * opens its log, and from then on answers heartbeats.  It never trusts the
 * control channel blindly: a malformed message ends the worker, which the
 * supervisor restarts clean.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ctl.h"
#include "ipc.h"
#include "json.h"
#include "log.h"
#include "promtext.h"
#include "sandbox.h"
#include "worker.h"

#ifndef CFGW_VERSION
#define CFGW_VERSION	"0.0.0"
#endif

/* The CONFIG "config" object, field by field. */
static const struct {
	const char	*key;
	size_t		 off;
	size_t		 size;
} worker_str_fields[] = {
#define F(f)	{ #f, offsetof(struct worker_config, f), \
		  sizeof(((struct worker_config *)0)->f) }
	F(runtime_dir), F(kubeconfig), F(kube_context),
	F(cloudflare_api_url), F(cluster_name), F(cluster_domain),
	F(log_dir), F(log_format), F(tunnel_image), F(proxy_image),
	F(controller_namespace),
#undef F
};

static struct ctl_msg	 worker_msg;	/* 64 KiB: not on the stack */

static int	worker_hello(struct worker *);
static int	worker_wait_config(struct worker *);
static void	worker_parse_config(struct worker *, const char *, size_t);
static void	worker_parse_settings(struct worker_config *, yajl_val);
static void	worker_copy_key(char *, const char *, const char *);
static void	worker_handle_ping(struct worker *, const struct ctl_msg *);
static long long worker_now_ms(void);

int
worker_init(struct worker *w, enum proc_id self, int argc, char **argv)
{
	enum log_format	 fmt;
	struct stat	 st;
	int		 verbose = 0, i;

	memset(w, 0, sizeof(*w));
	w->self = self;
	w->name = proc_name(self);
	w->ctlfd = CTL_FD;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
	/* /proc/<pid>/comm is our name, whatever argv[0] says. */
	(void)prctl(PR_SET_NAME, w->name, 0, 0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		log_warn("PR_SET_PDEATHSIG");
	signal(SIGPIPE, SIG_IGN);
	/* A terminal's ^C or hangup reaches the whole process group: let
	 * cfgwd decide (it sends SHUTDOWN).  SIGTERM still ends us. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	log_init(w->name, NULL, LOG_FORMAT_TEXT, verbose);
	if (getppid() == 1) {
		log_warnx("supervisor already gone");
		return -1;
	}
	if (fstat(w->ctlfd, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		log_warnx("no control socket on fd %d: start me from cfgwd",
		    w->ctlfd);
		return -1;
	}
	if (worker_hello(w) == -1 || worker_wait_config(w) == -1)
		return -1;
	if (log_format_parse(w->cfg.log_format, &fmt) == -1)
		fmt = LOG_FORMAT_TEXT;
	if (log_init(w->name, w->cfg.log_dir, fmt, w->cfg.verbose | verbose)
	    == -1)
		log_warn("cannot open log file in %s", w->cfg.log_dir);
	snprintf(w->user_agent, sizeof(w->user_agent), "cfgw/%s (%s)",
	    CFGW_VERSION, w->name);
	/* Before the sandbox: libsodium opens its randomness source now. */
	if (sodium_init() == -1) {
		log_warnx("sodium_init failed");
		return -1;
	}
	sandbox_set_context((int)self, w->cfg.runtime_dir, w->cfg.log_dir,
	    w->cfg.kubeconfig);
	log_debug("configured: cluster %s, runtime dir %s",
	    w->cfg.cluster_name, w->cfg.runtime_dir);
	return 0;
}

static int
worker_hello(struct worker *w)
{
	char	 buf[128];
	int	 n;

	n = snprintf(buf, sizeof(buf),
	    "{\"proc\":\"%s\",\"pid\":%ld,\"version\":%d}", w->name,
	    (long)getpid(), PROTO_VERSION);
	if (ctl_send(w->ctlfd, w->self, MSG_HELLO, 0, buf, (size_t)n) == -1) {
		log_warn("send HELLO");
		return -1;
	}
	return 0;
}

static int
worker_wait_config(struct worker *w)
{
	struct pollfd	 pfd = { .fd = w->ctlfd, .events = POLLIN };
	long long	 deadline = worker_now_ms() + WORKER_HELLO_TIMEOUT_MS;
	long long	 left;
	int		 rc;

	for (;;) {
		if ((left = deadline - worker_now_ms()) <= 0) {
			log_warnx("no CONFIG from supervisor");
			return -1;
		}
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR) {
			log_warn("poll");
			return -1;
		}
		rc = ctl_recv(w->ctlfd, w->self, PROC_SUPERVISOR, &worker_msg,
		    1);
		if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (rc == -1) {
			log_warn("control channel");
			return -1;
		}
		if (rc == 1) {
			log_warnx("supervisor hung up before CONFIG");
			return -1;
		}
		if (rc == -2)
			fatalx("malformed control message: %s",
			    frame_strerror(worker_msg.why));
		if (worker_msg.f.hdr.type == MSG_PING)
			continue;	/* too early to answer; harmless */
		if (worker_msg.f.hdr.type != MSG_CONFIG)
			fatalx("expected CONFIG, got %s",
			    msg_name(worker_msg.f.hdr.type));
		worker_parse_config(w, worker_msg.f.payload,
		    worker_msg.f.paylen);
		return 0;
	}
}

static void
worker_parse_config(struct worker *w, const char *buf, size_t len)
{
	yajl_val	 root, keys, peers;
	char		 err[128];
	const char	*pname;
	size_t		 i;
	enum proc_id	 p;

	if ((root = json_parse(buf, len, err, sizeof(err))) == NULL ||
	    !YAJL_IS_OBJECT(root))
		fatalx("CONFIG: bad JSON: %s", err);
	worker_parse_settings(&w->cfg, json_get(root, "config"));
	if ((keys = json_get(root, "keys")) == NULL)
		fatalx("CONFIG: no keys");
	worker_copy_key(w->public_key, json_str(keys, "public"), "public");
	worker_copy_key(w->secret_key, json_str(keys, "secret"), "secret");
	if ((peers = json_get(root, "peers")) != NULL && !YAJL_IS_OBJECT(peers))
		fatalx("CONFIG: peers is not an object");
	for (i = 0; i < json_len(peers); i++) {
		pname = json_key_at(peers, i);
		if (proc_lookup(pname, &p) == -1 || p == PROC_SUPERVISOR)
			fatalx("CONFIG: unknown peer");
		worker_copy_key(w->peer_public[p], json_str(peers, pname),
		    "peer");
	}
	json_free(&root);
}

static void
worker_parse_settings(struct worker_config *c, yajl_val cfg)
{
	const char	*s;
	long long	 n;
	yajl_val	 v;
	size_t		 i;

	if (cfg == NULL || !YAJL_IS_OBJECT(cfg))
		fatalx("CONFIG: no config object");
	for (i = 0; i < sizeof(worker_str_fields) /
	    sizeof(worker_str_fields[0]); i++) {
		if ((s = json_str(cfg, worker_str_fields[i].key)) == NULL)
			continue;
		if (strlen(s) >= worker_str_fields[i].size)
			fatalx("CONFIG: %s too long", worker_str_fields[i].key);
		strcpy((char *)c + worker_str_fields[i].off, s);
	}
	if (json_int(cfg, "verbose", &n) == 0)
		c->verbose = n != 0;
	if (json_int(cfg, "kube_burst", &n) == 0 && n >= 0 && n <= 1000000)
		c->kube_burst = (int)n;
	if (json_int(cfg, "cf_budget", &n) == 0 && n >= 0 && n <= 1000000)
		c->cf_budget = (int)n;
	if ((v = json_get(cfg, "kube_qps")) != NULL && YAJL_IS_NUMBER(v))
		c->kube_qps = YAJL_IS_INTEGER(v) ?
		    (double)YAJL_GET_INTEGER(v) : YAJL_GET_DOUBLE(v);
}

static void
worker_copy_key(char *dst, const char *src, const char *what)
{
	if (src == NULL || strlen(src) != WORKER_KEY_LEN)
		fatalx("CONFIG: bad %s key", what);
	memcpy(dst, src, WORKER_KEY_LEN + 1);
}

int
worker_ready(struct worker *w)
{
	if (ctl_send(w->ctlfd, w->self, MSG_READY, 0, "{}", 2) == -1) {
		log_warn("send READY");
		return -1;
	}
	w->ready = 1;
	log_debug("ready");
	return 0;
}

int
worker_ctl_fd(const struct worker *w)
{
	return w->ctlfd;
}

int
worker_ctl_dispatch(struct worker *w)
{
	int	 rc;

	for (;;) {
		rc = ctl_recv(w->ctlfd, w->self, PROC_SUPERVISOR, &worker_msg,
		    1);
		if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return MSG_NONE;
		if (rc == -1 || rc == 1) {
			if (rc == -1)
				log_warn("control channel");
			else
				log_info("supervisor gone, exiting");
			return -1;
		}
		if (rc == -2)
			fatalx("malformed control message: %s",
			    frame_strerror(worker_msg.why));
		switch (worker_msg.f.hdr.type) {
		case MSG_PING:
			worker_handle_ping(w, &worker_msg);
			continue;
		case MSG_SHUTDOWN:
		case MSG_RESYNC:
		case MSG_ROTATE_NOW:
			log_debug("control: %s",
			    msg_name(worker_msg.f.hdr.type));
			return worker_msg.f.hdr.type;
		default:
			fatalx("unexpected control message %s",
			    msg_name(worker_msg.f.hdr.type));
		}
	}
}

static void
worker_handle_ping(struct worker *w, const struct ctl_msg *m)
{
	struct jw	*j;
	yajl_val	 v;
	long long	 seq;
	const char	*buf;
	size_t		 len;

	if ((v = json_parse(m->f.payload, m->f.paylen, NULL, 0)) == NULL ||
	    json_int(v, "seq", &seq) == -1)
		fatalx("malformed PING");
	json_free(&v);
	if ((j = jw_new()) == NULL)
		fatal("jw_new");
	jw_obj(j);
	jw_kint(j, "seq", seq);
	jw_kint(j, "ipc_in", (long long)w->ipc_in);
	jw_kint(j, "ipc_out", (long long)w->ipc_out);
	jw_kint(j, "ipc_rejected", (long long)w->ipc_rejected);
	if (w->metrics != NULL) {
		jw_key(j, "metrics");
		jw_strn(j, w->metrics, w->metrics_len);
	}
	jw_obj_end(j);
	if (jw_result(j, &buf, &len) == -1)
		fatalx("cannot encode PONG");
	if (ctl_send(w->ctlfd, w->self, MSG_PONG, m->f.hdr.reqid, buf,
	    len) == -1)
		log_warn("send PONG");
	jw_free(&j);
}

int
worker_metrics_set(struct worker *w, const char *text, size_t len)
{
	static int	 warned;
	char		 why[96], *copy;

	if (len == 0) {
		free(w->metrics);
		w->metrics = NULL;
		w->metrics_len = 0;
		return 0;
	}
	if (promtext_check(text, len, why, sizeof(why)) == -1) {
		if (!warned++)
			log_warnx("metrics not published: %s", why);
		return -1;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		log_warn("metrics");
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	free(w->metrics);
	w->metrics = copy;
	w->metrics_len = len;
	return 0;
}

void
worker_shutdown(struct worker *w)
{
	ipc_shutdown(w);
	if (w->ctlfd != -1) {
		close(w->ctlfd);
		w->ctlfd = -1;
	}
	explicit_bzero(w->secret_key, sizeof(w->secret_key));
	free(w->metrics);
	w->metrics = NULL;
	w->metrics_len = 0;
}

static long long
worker_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
