/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfapi: the only process that holds Cloudflare API tokens.
 *
 * It serves CF_REQUEST from the reconciler, dnsworker and rotator on its
 * ROUTER (docs/ipc.md), reads credential Secrets and writes tunnel-token
 * Secrets itself through the Kubernetes API, and talks to Cloudflare
 * within a per-token budget.  Requests wait in three priority queues
 * (high, normal, low) and are served one at a time: the budget (4
 * requests/s by default) is the bottleneck, not concurrency.  While a
 * request waits on the network or the budget, the control channel is
 * still served (cfapi_wait_ms, the transfer callback).
 *
 * It must never: accept a message from the watcher, log or return a
 * token, or be dumpable/ptrace-able (sandbox profile below).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>
#include <zmq.h>

#include "cfapi.h"
#include "http.h"
#include "ipc.h"
#include "kube.h"
#include "log.h"
#include "sandbox.h"

#define CFAPI_QUEUE_MAX		10000
#define CFAPI_DEFAULT_URL	"https://api.cloudflare.com/client/v4"
#define CFAPI_DEFAULT_BUDGET	1000

static void	cfapi_init(struct cfapi_state *);
static void	cfapi_dispatch_peer(struct cfapi_state *);
static void	cfapi_handle_ctl(struct cfapi_state *, int);
static void	cfapi_handle_request(struct cfapi_state *, struct cf_req *);
static void	cfapi_reply(struct cfapi_state *, const struct cf_req *,
		    const char *, size_t);
static void	cfapi_reply_error(struct cfapi_state *, const struct cf_req *,
		    const struct cf_err *);
static struct cf_req *cfapi_next(struct cfapi_state *);
static void	cfapi_shutdown(struct cfapi_state *);

static struct cfapi_state	 cfapi_st;

/* Peer table: who may send us what (the catalogue checks it again). */
static const unsigned cfapi_peers = P_RECONCILER | P_DNSWORKER | P_ROTATOR;

static const struct {
	const char	*name;
	cf_op_fn	 fn;
	enum cf_prio	 prio;		/* when the request names none */
} cfapi_ops[] = {
	{ "cred.verify",	cf_op_cred_verify,		CF_PRIO_LOW },
	{ "tunnel.ensure",	cf_op_tunnel_ensure,		CF_PRIO_HIGH },
	{ "tunnel.get",		cf_op_tunnel_get,		CF_PRIO_NORMAL },
	{ "tunnel.list",	cf_op_tunnel_list,		CF_PRIO_LOW },
	{ "tunnel.config",	cf_op_tunnel_config,		CF_PRIO_HIGH },
	{ "tunnel.connections",	cf_op_tunnel_connections,	CF_PRIO_NORMAL },
	{ "tunnel.delete",	cf_op_tunnel_delete,		CF_PRIO_HIGH },
	{ "tunnel.token_secret", cf_op_tunnel_token_secret,	CF_PRIO_HIGH },
	{ "tunnel.rotate",	cf_op_tunnel_rotate,		CF_PRIO_NORMAL },
	{ "zone.resolve",	cf_op_zone_resolve,		CF_PRIO_NORMAL },
	{ "zone.list",		cf_op_zone_list,		CF_PRIO_NORMAL },
	{ "dns.list",		cf_op_dns_list,			CF_PRIO_NORMAL },
	{ "dns.create",		cf_op_dns_create,		CF_PRIO_HIGH },
	{ "dns.update",		cf_op_dns_update,		CF_PRIO_HIGH },
	{ "dns.patch",		cf_op_dns_patch,		CF_PRIO_HIGH },
	{ "dns.delete",		cf_op_dns_delete,		CF_PRIO_HIGH },
	{ "dns.batch",		cf_op_dns_batch,		CF_PRIO_HIGH },
};

/* Sandbox: undumpable (no core, no ptrace), network for HTTPS. */
static struct sandbox_profile cfapi_profile = {
	.name = "cfapi",
	.undumpable = 1,
	.network = 1,
};

int
main(int argc, char *argv[])
{
	struct cfapi_state	*st = &cfapi_st;
	zmq_pollitem_t		 items[2];
	int			 timeout;

	if (worker_init(&st->w, PROC_CFAPI, argc, argv) == -1)
		return 1;
	cfapi_init(st);
	if (sandbox_enter(&cfapi_profile) == -1)
		fatalx("cannot enter the sandbox");
	st->router = ipc_bind(&st->w, ZMQ_ROUTER, "cfapi", cfapi_peers);
	if (st->router == NULL)
		fatalx("cannot bind the cfapi endpoint");
	if (sandbox_seccomp(&cfapi_profile) == -1)
		fatalx("cannot load the seccomp filter");
	if (worker_ready(&st->w) == -1)
		return 1;
	log_info("ready: %s, budget %.2f req/s (burst %.0f)", st->base_url,
	    st->budget_rate, st->budget_burst);
	while (!st->stop) {
		items[0].socket = NULL;
		items[0].fd = worker_ctl_fd(&st->w);
		items[0].events = ZMQ_POLLIN;
		items[1].socket = st->router;
		items[1].fd = -1;
		items[1].events = ZMQ_POLLIN;
		timeout = cfapi_next(st) != NULL ? 0 : 1000;
		if (zmq_poll(items, 2, timeout) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		cfapi_poll_ctl(st, 0);
		cfapi_dispatch_peer(st);
		if (!st->stop && cfapi_next(st) != NULL)
			cfapi_handle_request(st, cfapi_next(st));
		cf_metrics_log(st, 0);
	}
	cfapi_shutdown(st);
	return 0;
}

static void
cfapi_init(struct cfapi_state *st)
{
	struct kube_opts	 ko;
	const char		*url = st->w.cfg.cloudflare_api_url;
	size_t			 n;
	int			 budget, i;

	if (sodium_init() == -1)
		fatalx("sodium_init failed");
	if (http_global_init() == -1 || cf_http_init(st) == -1)
		fatalx("cannot initialise libcurl");
	for (i = 0; i < CF_NPRIO; i++)
		TAILQ_INIT(&st->queue[i]);
	snprintf(st->base_url, sizeof(st->base_url), "%s",
	    url[0] != '\0' ? url : CFAPI_DEFAULT_URL);
	n = strlen(st->base_url);
	while (n > 0 && st->base_url[n - 1] == '/')
		st->base_url[--n] = '\0';
	if (strncmp(st->base_url, "https://", 8) != 0 &&
	    strncmp(st->base_url, "http://", 7) != 0)
		fatalx("cloudflare_api_url must be http(s)://");
	budget = st->w.cfg.cf_budget > 0 ? st->w.cfg.cf_budget :
	    CFAPI_DEFAULT_BUDGET;
	/* burst + rate * 300 s == budget: never over it in any window. */
	st->budget_rate = 0.9 * budget / 300.0;
	st->budget_burst = 0.1 * budget < 1 ? 1 : 0.1 * budget;
	memset(&ko, 0, sizeof(ko));
	ko.kubeconfig = st->w.cfg.kubeconfig[0] ? st->w.cfg.kubeconfig : NULL;
	ko.context = st->w.cfg.kube_context[0] ? st->w.cfg.kube_context : NULL;
	ko.user_agent = st->w.user_agent;
	ko.qps = st->w.cfg.kube_qps;
	ko.burst = st->w.cfg.kube_burst;
	/*
	 * lib/kube blocks without a hook to serve the control channel, and
	 * cfgwd kills a worker that misses 3 one-second pings: keep every
	 * Kubernetes call short; a failure is retried by the caller.
	 */
	ko.connect_timeout_ms = 1500;
	ko.timeout_ms = 2500;
	ko.max_retries = -1;
	if ((st->kube = kube_new(&ko)) == NULL)
		log_warnx("no Kubernetes client: credentials cannot be read");
}

/* The control channel: pings are answered by the framework. */
void
cfapi_poll_ctl(struct cfapi_state *st, int timeout_ms)
{
	struct pollfd	 pfd;

	st->ctl_checked = ratelimit_now();
	cf_metrics_log(st, 0);	/* fresh figures for the next PONG */
	pfd.fd = worker_ctl_fd(&st->w);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) <= 0 || !(pfd.revents & (POLLIN |
	    POLLHUP | POLLERR)))
		return;
	cfapi_handle_ctl(st, worker_ctl_dispatch(&st->w));
}

static void
cfapi_handle_ctl(struct cfapi_state *st, int msg)
{
	size_t	 i;

	switch (msg) {
	case -1:
		log_warnx("supervisor gone; exiting");
		st->stop = 1;
		break;
	case MSG_SHUTDOWN:
		log_info("shutdown requested");
		st->stop = 1;
		break;
	case MSG_RESYNC:
		/* Forget what we believe about Cloudflare and Secrets. */
		st->nzones = 0;
		st->ntunconf = 0;
		for (i = 0; i < CF_MAX_CREDS; i++)
			st->creds[i].stale = 1;
		log_info("resync: caches dropped");
		break;
	default:
		break;
	}
}

int
cfapi_wait_ms(struct cfapi_state *st, long ms)
{
	double	 end = ratelimit_now() + (double)ms / 1000.0, left;

	while (!st->stop && (left = end - ratelimit_now()) > 0)
		cfapi_poll_ctl(st, left > 0.25 ? 250 : (int)(left * 1000) + 1);
	return st->stop ? -1 : 0;
}

static enum cf_prio
cfapi_prio(yajl_val root)
{
	const char	*p = json_str(root, "priority");
	const char	*op = json_str(root, "op");
	size_t		 i;

	if (p != NULL && strcmp(p, "high") == 0)
		return CF_PRIO_HIGH;
	if (p != NULL && strcmp(p, "low") == 0)
		return CF_PRIO_LOW;
	if (p != NULL && strcmp(p, "normal") == 0)
		return CF_PRIO_NORMAL;
	for (i = 0; op != NULL && i < sizeof(cfapi_ops) / sizeof(cfapi_ops[0]);
	    i++)
		if (strcmp(op, cfapi_ops[i].name) == 0)
			return cfapi_ops[i].prio;
	return CF_PRIO_NORMAL;
}

static void
cfapi_enqueue(struct cfapi_state *st, struct ipc_msg *m, size_t *queued)
{
	struct cf_req	*r;
	struct cf_err	 err;
	yajl_val	 root;
	char		 e[128];

	root = json_parse(m->f.payload, m->f.paylen, e, sizeof(e));
	if (root == NULL || !YAJL_IS_OBJECT(root))
		fatalx("malformed CF_REQUEST from %s: %s", proc_name(m->peer),
		    root == NULL ? e : "not an object");
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->payload = malloc(m->f.paylen + 1)) == NULL)
		fatal("calloc");
	memcpy(r->payload, m->f.payload, m->f.paylen);
	r->payload[m->f.paylen] = '\0';
	r->paylen = m->f.paylen;
	memcpy(r->ident, m->ident, m->identlen);
	r->identlen = m->identlen;
	r->reqid = m->f.hdr.reqid;
	if (*queued >= CFAPI_QUEUE_MAX) {
		cf_err_set(&err, CF_E_RATE, "cfapi queue full");
		err.retry_after = 5;
		cfapi_reply_error(st, r, &err);
		free(r->payload);
		free(r);
	} else {
		TAILQ_INSERT_TAIL(&st->queue[cfapi_prio(root)], r, entry);
		(*queued)++;
	}
	json_free(&root);
}

static void
cfapi_dispatch_peer(struct cfapi_state *st)
{
	static size_t	 queued;
	struct ipc_msg	 m;
	struct cf_req	*r;
	size_t		 n = 0;
	int		 i, rc;

	for (i = 0; i < CF_NPRIO; i++)
		TAILQ_FOREACH(r, &st->queue[i], entry)
			n++;
	queued = n;
	while ((rc = ipc_recv(&st->w, st->router, &m, 1)) != 1) {
		if (rc == -1)
			fatalx("ipc_recv on the cfapi socket failed");
		if (rc == -2)
			continue;	/* logged and counted by ipc */
		if (m.f.hdr.type != MSG_CF_REQUEST ||
		    !(cfapi_peers & (1u << m.peer)))
			fatalx("unexpected %s from %s",
			    msg_name(m.f.hdr.type), proc_name(m.peer));
		cfapi_enqueue(st, &m, &queued);
		ipc_msg_free(&m);
	}
}

static struct cf_req *
cfapi_next(struct cfapi_state *st)
{
	int	 i;

	for (i = 0; i < CF_NPRIO; i++)
		if (!TAILQ_EMPTY(&st->queue[i]))
			return TAILQ_FIRST(&st->queue[i]);
	return NULL;
}

static cf_op_fn
cfapi_op_lookup(const char *op)
{
	size_t	 i;

	for (i = 0; op != NULL && i < sizeof(cfapi_ops) / sizeof(cfapi_ops[0]);
	    i++)
		if (strcmp(op, cfapi_ops[i].name) == 0)
			return cfapi_ops[i].fn;
	return NULL;
}

static void
cfapi_handle_request(struct cfapi_state *st, struct cf_req *r)
{
	struct cf_err	 err;
	struct cf_cred	*c = NULL;
	struct jw	*j = NULL;
	yajl_val	 root;
	cf_op_fn	 fn;
	const char	*op, *buf;
	size_t		 len;
	double		 t0 = ratelimit_now();
	int		 i, rc = -1;

	for (i = 0; i < CF_NPRIO; i++)
		if (TAILQ_FIRST(&st->queue[i]) == r) {
			TAILQ_REMOVE(&st->queue[i], r, entry);
			st->prio = (enum cf_prio)i;
		}
	memset(&err, 0, sizeof(err));
	root = json_parse(r->payload, r->paylen, NULL, 0);
	op = json_str(root, "op");
	if ((fn = cfapi_op_lookup(op)) == NULL)
		cf_err_set(&err, CF_E_VALIDATION, "unknown op \"%.64s\"",
		    op != NULL ? op : "");
	else if ((c = cf_cred_get(st, root, &err)) != NULL &&
	    (j = jw_new()) == NULL)
		cf_err_set(&err, CF_E_INTERNAL, "out of memory");
	else if (c != NULL)
		rc = fn(st, c, root, j, &err);
	if (rc == 0 && jw_result(j, &buf, &len) == 0) {
		cfapi_reply(st, r, buf, len);
		cf_metric_reply(st, fn != NULL ? op : NULL, CF_E_NONE);
	} else {
		if (rc == 0)
			cf_err_set(&err, CF_E_INTERNAL, "cannot encode reply");
		log_info("%s (%s/%s): %s: %s", op != NULL ? op : "?",
		    json_str(json_get(root, "cred"), "namespace"),
		    json_str(json_get(root, "cred"), "name"),
		    cf_errkind_name(err.kind), err.message);
		cfapi_reply_error(st, r, &err);
		cf_metric_reply(st, fn != NULL ? op : NULL, err.kind);
	}
	log_debug("%s done in %.3f s", op != NULL ? op : "?",
	    ratelimit_now() - t0);
	jw_free(&j);
	json_free(&root);
	free(r->payload);
	free(r);
}

static void
cfapi_send(struct cfapi_state *st, const struct cf_req *r, const char *buf,
    size_t len)
{
	if (ipc_send(&st->w, st->router, r->ident, r->identlen, MSG_CF_REPLY,
	    r->reqid, buf, len) == -1)
		log_warnx("cannot send CF_REPLY %llu",
		    (unsigned long long)r->reqid);
}

static void
cfapi_reply(struct cfapi_state *st, const struct cf_req *r,
    const char *result, size_t len)
{
	static const char	 pre[] = "{\"ok\":true,\"result\":";
	char			*buf;
	size_t			 n = sizeof(pre) - 1 + len + 1;

	if ((buf = malloc(n + 1)) == NULL)
		fatal("malloc");
	memcpy(buf, pre, sizeof(pre) - 1);
	memcpy(buf + sizeof(pre) - 1, result, len);
	buf[n - 1] = '}';
	buf[n] = '\0';
	cfapi_send(st, r, buf, n);
	free(buf);
}

static void
cfapi_reply_error(struct cfapi_state *st, const struct cf_req *r,
    const struct cf_err *err)
{
	struct jw	*j;
	const char	*buf;
	size_t		 len;

	if ((j = jw_new()) == NULL)
		fatal("jw_new");
	jw_obj(j);
	jw_kbool(j, "ok", 0);
	jw_key(j, "error");
	cf_err_write(j, err);
	jw_obj_end(j);
	if (jw_result(j, &buf, &len) == 0)
		cfapi_send(st, r, buf, len);
	jw_free(&j);
}

static void
cfapi_shutdown(struct cfapi_state *st)
{
	struct cf_req	*r;
	int		 i;

	for (i = 0; i < CF_NPRIO; i++)
		while ((r = TAILQ_FIRST(&st->queue[i])) != NULL) {
			TAILQ_REMOVE(&st->queue[i], r, entry);
			free(r->payload);
			free(r);
		}
	cf_metrics_log(st, 1);
	cf_cred_drop_all(st);
	kube_free(&st->kube);
	cf_http_cleanup(st);
	worker_shutdown(&st->w);
	curl_global_cleanup();
	log_info("exiting");
}
