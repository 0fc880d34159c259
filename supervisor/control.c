/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control: the supervisor's side of each worker's control channel.  HELLO
 * (version check) is answered with CONFIG: the configuration, the worker's
 * own CURVE keypair and the public keys of the peers the edge table in
 * docs/ipc.md gives it, and nothing else.  Then READY, and a PING every
 * second.  Whatever a worker sends, cfgwd does not exit: a malformed or
 * unexpected message gets the worker killed, and it restarts clean.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cfgwd.h"
#include "json.h"
#include "log.h"
#include "promtext.h"
#include "wmetrics.h"

/* Who holds whose public key: the edges of docs/ipc.md, both ways. */
static const unsigned control_peers[PROC_MAX] = {
	[PROC_WATCHER] = P_RECONCILER,
	[PROC_RECONCILER] = P_WATCHER | P_CFAPI | P_DNSWORKER | P_ROTATOR,
	[PROC_CFAPI] = P_RECONCILER | P_DNSWORKER | P_ROTATOR,
	[PROC_DNSWORKER] = P_RECONCILER | P_CFAPI,
	[PROC_ROTATOR] = P_RECONCILER | P_CFAPI,
};

static struct ctl_msg	 control_msg;

/* Each worker's latest metrics text (PONG "metrics"), checked. */
static struct {
	char	*text;
	size_t	 len;
	int	 warned;
} control_wm[PROC_MAX];

static void	control_handle_hello(struct sv_worker *, const struct frame *);
static void	control_handle_pong(struct sv_worker *, const struct frame *);
static char	*control_config(const struct sv_worker *, size_t *);
static void	control_config_settings(struct jw *);
static void	control_metrics_store(struct sv_worker *, yajl_val);
static void	control_metrics_clear(int);

/* One keypair per worker for the supervisor's life: restarts keep them. */
int
control_keys(void)
{
	int	 i;

	if (sodium_init() == -1) {
		log_warnx("sodium_init failed");
		return -1;
	}
	for (i = 1; i < PROC_MAX; i++) {
		cfgwd.w[i].peers = control_peers[i];
		if (ctl_keypair(cfgwd.w[i].pub, cfgwd.w[i].sec) == -1)
			return -1;
		/* Keep the secret keys out of swap and core dumps. */
		(void)sodium_mlock(cfgwd.w[i].sec, sizeof(cfgwd.w[i].sec));
	}
	return 0;
}

int
control_send(struct sv_worker *sw, unsigned type, const char *payload,
    size_t len)
{
	if (sw->fd == -1)
		return -1;
	if (ctl_send(sw->fd, PROC_SUPERVISOR, type, 0, payload, len) == -1) {
		/* A worker that lets its channel fill up is stuck. */
		if (errno == EAGAIN)
			spawn_kill(sw, "control channel full");
		else if (errno != EPIPE && errno != ECONNRESET)
			log_warn("%s: send %s", sw->name, msg_name(type));
		return -1;
	}
	return 0;
}

void
control_dispatch(struct sv_worker *sw)
{
	int	 rc;

	for (;;) {
		rc = ctl_recv(sw->fd, PROC_SUPERVISOR, sw->id, &control_msg, 1);
		if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (rc == 1 || rc == -1) {
			/* EOF: the reap follows; don't poll a dead fd.  One
			 * that hangs up and lives on is killed later. */
			close(sw->fd);
			sw->fd = -1;
			sw->eof_ms = cfgwd_now_ms();
			return;
		}
		if (rc == -2) {
			log_warnx("%s pid %ld: malformed control message: %s",
			    sw->name, (long)sw->pid,
			    frame_strerror(control_msg.why));
			spawn_kill(sw, "protocol violation");
			return;
		}
		switch (control_msg.f.hdr.type) {
		case MSG_HELLO:
			control_handle_hello(sw, &control_msg.f);
			break;
		case MSG_READY:
			if (sw->state != SV_CONFIGURED) {
				spawn_kill(sw, "READY out of turn");
				return;
			}
			sw->state = SV_READY;
			sw->ready_ms = cfgwd_now_ms();
			log_info("%s pid %ld ready", sw->name, (long)sw->pid);
			break;
		case MSG_PONG:
			control_handle_pong(sw, &control_msg.f);
			break;
		default:
			spawn_kill(sw, "unexpected control message");
			return;
		}
		if (sw->fd == -1 || sw->pid <= 0)
			return;
	}
}

static void
control_handle_hello(struct sv_worker *sw, const struct frame *f)
{
	yajl_val	 v;
	long long	 ver = -1;
	const char	*proc;
	char		*buf;
	size_t		 len;

	if (sw->state != SV_STARTED) {
		spawn_kill(sw, "HELLO out of turn");
		return;
	}
	v = json_parse(f->payload, f->paylen, NULL, 0);
	proc = json_str(v, "proc");
	if (json_int(v, "version", &ver) == -1 || ver != PROTO_VERSION ||
	    proc == NULL || strcmp(proc, sw->name) != 0) {
		log_warnx("%s pid %ld: bad HELLO (version %lld, want %d)",
		    sw->name, (long)sw->pid, ver, PROTO_VERSION);
		json_free(&v);
		spawn_kill(sw, "bad HELLO");
		return;
	}
	json_free(&v);
	control_metrics_clear(sw->id);
	control_wm[sw->id].warned = 0;
	if ((buf = control_config(sw, &len)) == NULL) {
		spawn_kill(sw, "cannot build CONFIG");
		return;
	}
	if (control_send(sw, MSG_CONFIG, buf, len) == 0)
		sw->state = SV_CONFIGURED;
	sodium_memzero(buf, len);
	free(buf);
}

static void
control_handle_pong(struct sv_worker *sw, const struct frame *f)
{
	yajl_val	 v;
	long long	 seq, in, out, rej;

	v = json_parse(f->payload, f->paylen, NULL, 0);
	if (json_int(v, "seq", &seq) == -1 || seq < 0 ||
	    (uint64_t)seq > sw->ping_seq ||
	    json_int(v, "ipc_in", &in) == -1 ||
	    json_int(v, "ipc_out", &out) == -1 ||
	    json_int(v, "ipc_rejected", &rej) == -1 ||
	    in < 0 || out < 0 || rej < 0) {
		json_free(&v);
		spawn_kill(sw, "bad PONG");
		return;
	}
	control_metrics_store(sw, json_get(v, "metrics"));
	json_free(&v);
	if ((uint64_t)seq > sw->pong_seq)
		sw->pong_seq = (uint64_t)seq;
	sw->ipc_in = (uint64_t)in;
	sw->ipc_out = (uint64_t)out;
	sw->ipc_rejected = (uint64_t)rej;
}

static void
control_metrics_clear(int id)
{
	free(control_wm[id].text);
	control_wm[id].text = NULL;
	control_wm[id].len = 0;
}

/*
 * A worker's metrics are shown only if every line passes promtext_check;
 * otherwise they are dropped (warned once per worker start) and the worker
 * lives on: its metrics are not worth a restart loop.
 */
static void
control_metrics_store(struct sv_worker *sw, yajl_val m)
{
	const char	*s;
	char		 why[96], *copy;
	size_t		 len;

	if (m == NULL)
		return;
	if (!YAJL_IS_STRING(m) || (s = YAJL_GET_STRING(m)) == NULL ||
	    promtext_check(s, len = strlen(s), why, sizeof(why)) == -1) {
		if (!YAJL_IS_STRING(m))
			snprintf(why, sizeof(why), "not a string");
		if (!control_wm[sw->id].warned++)
			log_warnx("%s pid %ld: metrics refused: %s", sw->name,
			    (long)sw->pid, why);
		control_metrics_clear(sw->id);
		return;
	}
	if (control_wm[sw->id].text != NULL && control_wm[sw->id].len == len &&
	    memcmp(control_wm[sw->id].text, s, len) == 0)
		return;
	if ((copy = strdup(s)) == NULL) {
		log_warn("metrics");
		return;
	}
	control_metrics_clear(sw->id);
	control_wm[sw->id].text = copy;
	control_wm[sw->id].len = len;
}

const char *
control_worker_metrics(int id, size_t *len)
{
	if (id <= 0 || id >= PROC_MAX || control_wm[id].text == NULL)
		return NULL;
	*len = control_wm[id].len;
	return control_wm[id].text;
}

static char *
control_config(const struct sv_worker *sw, size_t *len)
{
	struct jw	*jw;
	char		*buf;
	int		 i;

	if ((jw = jw_new()) == NULL)
		return NULL;
	jw_obj(jw);
	jw_key(jw, "config");
	control_config_settings(jw);
	jw_key(jw, "keys");
	jw_obj(jw);
	jw_kstr(jw, "public", sw->pub);
	jw_kstr(jw, "secret", sw->sec);
	jw_obj_end(jw);
	jw_key(jw, "peers");
	jw_obj(jw);
	for (i = 1; i < PROC_MAX; i++)
		if (sw->peers & (1u << i))
			jw_kstr(jw, proc_name((enum proc_id)i), cfgwd.w[i].pub);
	jw_obj_end(jw);
	jw_obj_end(jw);
	buf = jw_take(jw, len);
	jw_free(&jw);
	return buf;
}

static void
control_config_settings(struct jw *jw)
{
	const struct worker_config *c = &cfgwd.cfg;

	jw_obj(jw);
	jw_kstr(jw, "runtime_dir", c->runtime_dir);
	jw_kstr(jw, "kubeconfig", c->kubeconfig);
	jw_kstr(jw, "kube_context", c->kube_context);
	jw_kstr(jw, "cloudflare_api_url", c->cloudflare_api_url);
	jw_kstr(jw, "cluster_name", c->cluster_name);
	jw_kstr(jw, "cluster_domain", c->cluster_domain);
	jw_kstr(jw, "log_dir", c->log_dir);
	jw_kstr(jw, "log_format", c->log_format);
	jw_kstr(jw, "tunnel_image", c->tunnel_image);
	jw_kstr(jw, "proxy_image", c->proxy_image);
	jw_kstr(jw, "controller_namespace", c->controller_namespace);
	jw_kint(jw, "verbose", c->verbose);
	jw_key(jw, "kube_qps");
	jw_double(jw, c->kube_qps);
	jw_kint(jw, "kube_burst", c->kube_burst);
	jw_kint(jw, "cf_budget", c->cf_budget);
	jw_obj_end(jw);
}

/* Once a second: ping every READY worker; kill one that missed three. */
void
control_tick(long long now)
{
	struct sv_worker *sw;
	char		  buf[48];
	int		  i, n;

	if (now < cfgwd.next_ping_ms || cfgwd.stopping)
		return;
	cfgwd.next_ping_ms = now + CFGWD_PING_MS;
	for (i = 1; i < PROC_MAX; i++) {
		sw = &cfgwd.w[i];
		if (sw->pid > 0 && sw->fd == -1 &&
		    now - sw->eof_ms > CFGWD_EOF_MS) {
			spawn_kill(sw, "closed its control channel");
			sw->eof_ms = now;
			continue;
		}
		if (sw->state != SV_READY || sw->pid <= 0 || sw->fd == -1)
			continue;
		if (sw->ping_seq >= sw->pong_seq + CFGWD_PING_MISS) {
			spawn_kill(sw, "missed 3 heartbeats");
			continue;
		}
		n = snprintf(buf, sizeof(buf), "{\"seq\":%llu}",
		    (unsigned long long)++sw->ping_seq);
		control_send(sw, MSG_PING, buf, (size_t)n);
	}
}

/* SHUTDOWN or RESYNC to every worker that has its configuration. */
void
control_broadcast(unsigned type)
{
	int	 i;

	for (i = 1; i < PROC_MAX; i++)
		if (cfgwd.w[i].pid > 0 && cfgwd.w[i].state >= SV_CONFIGURED &&
		    msg_may_receive(type, (enum proc_id)i))
			control_send(&cfgwd.w[i], type, "{}", 2);
}
