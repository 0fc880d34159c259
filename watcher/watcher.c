/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watcher: list and watch every Kubernetes kind the controller needs and
 * publish the changes to the reconciler as sequenced deltas, with
 * snapshots on request (the Clone pattern, docs/ipc.md).
 *
 * It parses the most untrusted input of the system, so it is the least
 * privileged worker: it binds two sockets only the reconciler may use,
 * connects to no worker, and must never see Secret data (Secrets and the
 * GatewayClass CRD are listed and watched as PartialObjectMetadata).
 * Malformed objects are dropped with a log line; the watcher keeps going.
 */
#include <sys/random.h>

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "http.h"
#include "ipc.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "ratelimit.h"
#include "sandbox.h"
#include "watcher.h"
#include "worker.h"

#define WATCHER_SYNC_EVERY	5.0	/* s between SYNC heartbeats */
#define WATCHER_SNAP_WAIT	20.0	/* s a snapshot waits for lists */
#define WATCHER_RESYNC		600.0	/* s between full re-lists */
#define WATCHER_SNAP_SEND_MS	1000	/* a blocked snapshot send */
#define WATCHER_SNAP_TRIES	10	/* ... tried this often */
#define WATCHER_SNAP_HWM	100	/* snapshot messages queued */
#define WATCHER_MAX_PENDING	16
#define WATCHER_MAX_POLL	64
#define WATCHER_MANAGED	"app.kubernetes.io/managed-by=" \
			"cloudflare-gateway-controller"
#define WATCHER_GWC_CRD	\
	"metadata.name=gatewayclasses.gateway.networking.k8s.io"

struct watcher_pending {
	char		 ident[256];
	size_t		 identlen;
	uint64_t	 reqid;
};

static void	watcher_init(void);
static void	watcher_loop(void);
static double	watcher_run_informers(double);
static void	watcher_answer_snapshots(double);
static void	watcher_dispatch_supervisor(void);
static void	watcher_dispatch_reconciler(void);
static void	watcher_handle_snapshot_req(const struct ipc_msg *);
static void	watcher_handle_resync(void);
static void	watcher_periodic_resync(double);
static void	watcher_send_snapshot(const struct watcher_pending *);
static void	watcher_publish_sync(void);
static void	watcher_shutdown(void);

/* The kinds, in the order they are listed at start. */
static struct informer watcher_informers[] = {
	{ .kind = "GatewayClass" },
	{ .kind = "CustomResourceDefinition", .meta = 1,
	  .field_selector = WATCHER_GWC_CRD },
	{ .kind = "CloudflareGatewayParameters" },
	{ .kind = "Namespace" },
	{ .kind = "Gateway" },
	{ .kind = "HTTPRoute" },
	{ .kind = "GRPCRoute" },
	{ .kind = "ReferenceGrant", .versions = { "v1", "v1beta1" } },
	{ .kind = "Service" },
	{ .kind = "Secret", .meta = 1 },
	{ .kind = "Deployment", .label_selector = WATCHER_MANAGED },
	{ .kind = "ConfigMap", .label_selector = WATCHER_MANAGED },
	{ .kind = "ServiceAccount", .label_selector = WATCHER_MANAGED },
	{ .kind = "Role", .label_selector = WATCHER_MANAGED },
	{ .kind = "RoleBinding", .label_selector = WATCHER_MANAGED },
	/* Only where the VPA CRDs are installed: discovery decides. */
	{ .kind = "VerticalPodAutoscaler", .label_selector = WATCHER_MANAGED },
};
#define WATCHER_NINF	\
	(sizeof(watcher_informers) / sizeof(watcher_informers[0]))

static struct watcher_state {
	struct worker		 w;
	struct kube		*kube;
	void			*pub;		/* watcher-pub, PUB */
	void			*snap;		/* ROUTER */
	char			 epoch[17];
	uint64_t		 seq;
	double			 started;
	double			 last_sync;
	double			 resync_every;
	double			 next_resync;
	struct watcher_pending	 pending[WATCHER_MAX_PENDING];
	int			 npending;
	int			 served;	/* a snapshot was sent */
	int			 quit;
	char			 dirs[4][PATH_MAX];
} ws;

/*
 * Peers: cfgwd on the control channel (PING, SHUTDOWN, RESYNC; PING is
 * answered inside worker_ctl_dispatch), the reconciler on watcher-snap
 * (SNAPSHOT_REQ).  Nothing else may reach us; ipc.c's ZAP handler and the
 * catalogue check in ipc_recv enforce it, and we check again here.
 */
static const struct {
	unsigned	 type;
	enum proc_id	 from;
} watcher_peers[] = {
	{ MSG_SHUTDOWN,		PROC_SUPERVISOR },
	{ MSG_RESYNC,		PROC_SUPERVISOR },
	{ MSG_SNAPSHOT_REQ,	PROC_RECONCILER },
};

/* Sandbox: TCP to the API server, read-only kubeconfig/CA/token dirs. */
static struct sandbox_profile watcher_profile = {
	.name = "watcher",
	.undumpable = 1,
	.network = 1,
	.ro_paths = { "/var/run/secrets/kubernetes.io/serviceaccount" },
};

int
main(int argc, char *argv[])
{
	mallopt(M_ARENA_MAX, 1);
	if (worker_init(&ws.w, PROC_WATCHER, argc, argv) == -1)
		return 1;
	watcher_init();
	if (sandbox_enter(&watcher_profile) == -1)
		fatalx("sandbox");
	ws.pub = ipc_bind(&ws.w, ZMQ_PUB, "watcher-pub", P_RECONCILER);
	ws.snap = ipc_bind_hwm(&ws.w, ZMQ_ROUTER, "watcher-snap",
	    P_RECONCILER, WATCHER_SNAP_HWM);
	if (ws.pub == NULL || ws.snap == NULL)
		fatalx("cannot bind the watcher sockets");
	/*
	 * A snapshot must not lose objects: a ROUTER drops silently at the
	 * high-water mark (1000; an HWM set after the bind would not reach
	 * the listener's pipes), so it is made to block instead, for at
	 * most WATCHER_SNAP_SEND_MS at a time (heartbeats are answered in
	 * between); that also bounds the memory a 10,000-object snapshot
	 * takes here, to WATCHER_SNAP_HWM queued messages (set before the
	 * bind).  PUB drops at the HWM too: the reconciler sees the gap in
	 * seq and asks for a snapshot.
	 */
	if (zmq_setsockopt(ws.snap, ZMQ_ROUTER_MANDATORY, &(int){ 1 },
	    sizeof(int)) == -1 || zmq_setsockopt(ws.snap, ZMQ_SNDTIMEO,
	    &(int){ WATCHER_SNAP_SEND_MS }, sizeof(int)) == -1)
		fatalx("watcher-snap options: %s", zmq_strerror(errno));
	if (sandbox_seccomp(&watcher_profile) == -1)
		fatalx("seccomp");
	if (worker_ready(&ws.w) == -1)
		return 1;
	log_info("watcher ready, epoch %s", ws.epoch);
	watcher_loop();
	watcher_shutdown();
	return 0;
}

static void
watcher_init(void)
{
	struct kube_opts	 o;
	const char		*files[4], *env;
	uint64_t		 e;
	size_t			 i, n, slot = 1;

	if (http_global_init() == -1)
		fatalx("libcurl");
	if (getrandom(&e, sizeof(e), 0) != sizeof(e))
		fatal("getrandom");
	snprintf(ws.epoch, sizeof(ws.epoch), "%016llx", (unsigned long long)e);
	srandom((unsigned)(e ^ (uint64_t)getpid()));
	memset(&o, 0, sizeof(o));
	o.kubeconfig = ws.w.cfg.kubeconfig;
	o.context = ws.w.cfg.kube_context;
	o.user_agent = ws.w.user_agent;
	o.qps = ws.w.cfg.kube_qps;
	o.burst = ws.w.cfg.kube_burst;
	o.max_retries = -1;	/* the informers back off themselves */
	o.connect_timeout_ms = 5000;
	if ((ws.kube = kube_new(&o)) == NULL)
		fatalx("no usable Kubernetes client configuration");
	n = (size_t)kube_files(ws.kube, files, 4);
	for (i = 0; i < n && slot < 16; i++) {
		snprintf(ws.dirs[i], sizeof(ws.dirs[i]), "%s", files[i]);
		watcher_profile.ro_paths[slot++] = dirname(ws.dirs[i]);
	}
	if ((env = getenv("CFGW_SA_DIR")) != NULL && slot < 16)
		watcher_profile.ro_paths[slot++] = env;
	for (i = 0; i < WATCHER_NINF; i++)
		if (informer_init(&watcher_informers[i]) == -1)
			fatalx("informer %s", watcher_informers[i].kind);
	ws.seq = 0;
	ws.started = ws.last_sync = ratelimit_now();
	env = getenv("CFGW_WATCHER_RESYNC");
	ws.resync_every = env != NULL && atof(env) > 0 ? atof(env) :
	    WATCHER_RESYNC;
	ws.next_resync = ws.started + ws.resync_every;
	log_info("API server %s, user agent %s", kube_server(ws.kube),
	    ws.w.user_agent);
}

static void
watcher_loop(void)
{
	zmq_pollitem_t	 items[WATCHER_MAX_POLL + 2];
	struct pollfd	 pfd[WATCHER_MAX_POLL];
	double		 now, next;
	long		 ctmo, tmo;
	int		 i, n, nfd;

	while (!ws.quit) {
		now = ratelimit_now();
		watcher_periodic_resync(now);
		next = watcher_run_informers(now);
		now = ratelimit_now();
		watcher_answer_snapshots(now);
		if (now - ws.last_sync >= WATCHER_SYNC_EVERY)
			watcher_publish_sync();
		if (ws.last_sync + WATCHER_SYNC_EVERY < next)
			next = ws.last_sync + WATCHER_SYNC_EVERY;
		if (ws.next_resync < next)
			next = ws.next_resync;
		if (ws.npending > 0 && now + 0.2 < next)
			next = now + 0.2;
		memset(items, 0, sizeof(items));
		items[0].fd = worker_ctl_fd(&ws.w);
		items[0].events = ZMQ_POLLIN;
		items[1].socket = ws.snap;
		items[1].events = ZMQ_POLLIN;
		n = 2;
		nfd = kube_watch_fds(ws.kube, pfd, WATCHER_MAX_POLL, &ctmo);
		for (i = 0; i < nfd; i++, n++) {
			items[n].fd = pfd[i].fd;
			items[n].events = (pfd[i].events & POLLIN ?
			    ZMQ_POLLIN : 0) | (pfd[i].events & POLLOUT ?
			    ZMQ_POLLOUT : 0) | (pfd[i].events & POLLPRI ?
			    ZMQ_POLLERR : 0);
		}
		tmo = next > now ? (long)((next - now) * 1000) + 1 : 0;
		if (ctmo >= 0 && ctmo < tmo)
			tmo = ctmo;
		if (zmq_poll(items, n, tmo) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if (kube_watch_perform(ws.kube) == -1)
			log_warnx("watch streams: curl multi error");
		now = ratelimit_now();
		for (i = 0; i < (int)WATCHER_NINF; i++)
			informer_reap(&watcher_informers[i], now);
		watcher_dispatch_reconciler();
		if (items[0].revents & ZMQ_POLLIN)
			watcher_dispatch_supervisor();
	}
}

static double
watcher_run_informers(double now)
{
	double	 next = now + 3600, t;
	size_t	 i;

	for (i = 0; i < WATCHER_NINF && !ws.quit; i++) {
		t = informer_step(ws.kube, &watcher_informers[i], now);
		if (t < next)
			next = t;
		watcher_keepalive();
	}
	return next;
}

/*
 * Lists and discovery block; keep answering cfgwd's heartbeats in between
 * (and between the pages of a long list) so that a slow API server or a
 * big cluster does not get us killed.
 */
void
watcher_keepalive(void)
{
	struct pollfd	 pfd;

	pfd.fd = worker_ctl_fd(&ws.w);
	pfd.events = POLLIN;
	if (!ws.quit && poll(&pfd, 1, 0) == 1)
		watcher_dispatch_supervisor();
}

static int
watcher_peer_ok(unsigned type, enum proc_id from)
{
	size_t	 i;

	for (i = 0; i < sizeof(watcher_peers) / sizeof(watcher_peers[0]); i++)
		if (watcher_peers[i].type == type &&
		    watcher_peers[i].from == from)
			return 1;
	return 0;
}

static void
watcher_dispatch_supervisor(void)
{
	int	 msg;

	msg = worker_ctl_dispatch(&ws.w);
	if (msg == -1) {
		ws.quit = 1;
		return;
	}
	if (msg == MSG_NONE)
		return;
	if (!watcher_peer_ok((unsigned)msg, PROC_SUPERVISOR))
		fatalx("unexpected %s from cfgwd", msg_name((unsigned)msg));
	switch (msg) {
	case MSG_SHUTDOWN:
		log_info("shutdown requested");
		ws.quit = 1;
		break;
	case MSG_RESYNC:
		watcher_handle_resync();
		break;
	}
}

static void
watcher_dispatch_reconciler(void)
{
	struct ipc_msg	 m;
	int		 rc, budget = 64;

	while (budget-- > 0 && (rc = ipc_recv(&ws.w, ws.snap, &m, 1)) != 1) {
		if (rc == -1) {
			log_warnx("watcher-snap: %s", zmq_strerror(errno));
			return;
		}
		if (rc == -2)
			continue;	/* logged and dropped by ipc_recv */
		if (!watcher_peer_ok(m.f.hdr.type, m.peer))
			fatalx("unexpected %s from %s", msg_name(m.f.hdr.type),
			    proc_name(m.peer));
		if (m.f.hdr.type == MSG_SNAPSHOT_REQ)
			watcher_handle_snapshot_req(&m);
		ipc_msg_free(&m);
	}
}

static void
watcher_handle_snapshot_req(const struct ipc_msg *m)
{
	struct watcher_pending	*p;
	yajl_val		 v;
	char			 err[128];

	v = json_parse(m->f.payload, m->f.paylen, err, sizeof(err));
	if (v == NULL || !YAJL_IS_OBJECT(v))
		fatalx("malformed SNAPSHOT_REQ from %s: %s", proc_name(m->peer),
		    v == NULL ? err : "not an object");
	json_free(&v);
	if (m->identlen > sizeof(p->ident)) {
		log_warnx("SNAPSHOT_REQ: routing id too long");
		return;
	}
	if (ws.npending == WATCHER_MAX_PENDING) {
		log_warnx("SNAPSHOT_REQ: too many pending, dropping "
		    "the oldest");
		memmove(&ws.pending[0], &ws.pending[1],
		    (WATCHER_MAX_PENDING - 1) * sizeof(ws.pending[0]));
		ws.npending--;
	}
	p = &ws.pending[ws.npending++];
	memcpy(p->ident, m->ident, m->identlen);
	p->identlen = m->identlen;
	p->reqid = m->f.hdr.reqid;
	log_debug("SNAPSHOT_REQ queued (%d pending)", ws.npending);
}

/*
 * A snapshot is sent once every kind has been listed (or found unserved),
 * so the reconciler never acts on half a cluster; after a grace period it
 * is sent anyway with "synced":false.
 */
static void
watcher_answer_snapshots(double now)
{
	size_t	 i;
	int	 synced = 1, j;

	if (ws.npending == 0)
		return;
	for (i = 0; i < WATCHER_NINF; i++)
		if (!watcher_informers[i].synced)
			synced = 0;
	if (!synced && now - ws.started < WATCHER_SNAP_WAIT)
		return;
	for (j = 0; j < ws.npending; j++)
		watcher_send_snapshot(&ws.pending[j]);
	ws.npending = 0;
}

struct watcher_snap_arg {
	const struct watcher_pending	*p;
	size_t				 n;
	int				 failed;
};

/*
 * "<head><obj>}" in a malloc'd buffer: the cached JSON goes out as it is
 * (unpacked), without a parse and a re-encode.
 */
static char *
watcher_wrap(const char *head, const struct wobj *o, size_t *len)
{
	size_t	 hl = strlen(head), tl = 0;
	char	*buf = NULL, *text = NULL;

	if (o != NULL && (text = wobj_json(o, &tl)) == NULL)
		return NULL;
	*len = hl + tl + 1;
	if (*len <= FRAME_PAYLOAD_MAX && (buf = malloc(*len)) != NULL) {
		memcpy(buf, head, hl);
		if (text != NULL)
			memcpy(buf + hl, text, tl);
		buf[*len - 1] = '}';
	}
	free(text);
	return buf;
}

static void
watcher_snap_obj(void *arg, const char *kind, const struct wobj *o)
{
	struct watcher_snap_arg	*a = arg;
	char			 head[128], *buf;
	size_t			 len;
	int			 rc = -1, tries;

	if (a->failed)
		return;
	snprintf(head, sizeof(head), "{\"kind\":\"%s\",\"obj\":", kind);
	if ((buf = watcher_wrap(head, o, &len)) != NULL)
		for (tries = 0; tries < WATCHER_SNAP_TRIES; tries++) {
			if ((rc = ipc_send(&ws.w, ws.snap, a->p->ident,
			    a->p->identlen, MSG_SNAPSHOT_OBJ, a->p->reqid, buf,
			    len)) == 0)
				break;
			/* A slow reader: stay alive for cfgwd meanwhile. */
			watcher_keepalive();
		}
	if (rc == 0)
		a->n++;
	else {
		a->failed = 1;
		log_warnx("snapshot: cannot send %s %s", kind, o->key);
	}
	free(buf);
}

static void
watcher_send_snapshot(const struct watcher_pending *p)
{
	struct watcher_snap_arg	 a;
	struct jw		*w;
	const char		*buf;
	size_t			 len, i;
	int			 synced = 1;

	memset(&a, 0, sizeof(a));
	a.p = p;
	for (i = 0; i < WATCHER_NINF; i++) {
		informer_walk(&watcher_informers[i], watcher_snap_obj, &a);
		synced &= watcher_informers[i].synced;
	}
	if (a.failed || (w = jw_new()) == NULL)
		return;	/* the reconciler times out and asks again */
	jw_obj(w);
	jw_kstr(w, "epoch", ws.epoch);
	jw_kint(w, "seq", (long long)ws.seq);
	jw_kbool(w, "synced", synced);
	jw_kint(w, "count", (long long)a.n);
	jw_obj_end(w);
	if (jw_result(w, &buf, &len) == 0 &&
	    ipc_send(&ws.w, ws.snap, p->ident, p->identlen,
	    MSG_SNAPSHOT_END, p->reqid, buf, len) == 0) {
		log_info("snapshot sent: %zu objects, seq %llu", a.n,
		    (unsigned long long)ws.seq);
		ws.served = 1;
	} else
		log_warnx("snapshot: cannot send SNAPSHOT_END");
	jw_free(&w);
}

static void
watcher_handle_resync(void)
{
	double	 now = ratelimit_now();
	size_t	 i;

	log_info("resync: re-listing every kind");
	for (i = 0; i < WATCHER_NINF; i++)
		informer_resync(&watcher_informers[i], now, 1);
}

/*
 * Periodic resync: re-list every kind (a safety net for an event the API
 * server never sent us); only what really differs from the cache is
 * published.
 */
static void
watcher_periodic_resync(double now)
{
	size_t	 i;

	if (now < ws.next_resync)
		return;
	ws.next_resync = now + ws.resync_every;
	log_info("periodic resync: re-listing every kind");
	for (i = 0; i < WATCHER_NINF; i++)
		informer_resync(&watcher_informers[i], now, 0);
}

void
watcher_publish(const char *event, const char *kind, const struct wobj *o)
{
	char	 head[256], *buf;
	size_t	 len;

	/*
	 * Until a snapshot has been sent no reconciler can be live on this
	 * epoch, and every delta would be older than the snapshot it waits
	 * for (whose seq is the last published): none is published.  A
	 * first list of 10,000 routes would queue ~8 MB of them.
	 */
	if (!ws.served)
		return;
	snprintf(head, sizeof(head), "{\"epoch\":\"%s\",\"seq\":%llu,"
	    "\"event\":\"%s\",\"kind\":\"%s\"%s", ws.epoch,
	    (unsigned long long)ws.seq + 1, event, kind, o != NULL ?
	    ",\"obj\":" : "");
	if ((buf = watcher_wrap(head, o, &len)) == NULL) {
		log_warnx("%s %s: cannot encode, not published", kind,
		    o != NULL ? o->key : "?");
		return;
	}
	/*
	 * PUB never blocks; a message lost here shows as a seq gap and the
	 * reconciler asks for a snapshot.
	 */
	ws.seq++;
	if (ipc_send(&ws.w, ws.pub, NULL, 0, MSG_DELTA, 0, buf, len) == -1)
		log_warnx("publish seq %llu: %s", (unsigned long long)ws.seq,
		    zmq_strerror(errno));
	log_debug("DELTA %llu %s %s %s", (unsigned long long)ws.seq, event,
	    kind, o != NULL ? o->key : "");
	free(buf);
}

/* Heartbeat: carries the last seq published, consumes none. */
static void
watcher_publish_sync(void)
{
	char	 buf[128];
	int	 n;

	n = snprintf(buf, sizeof(buf),
	    "{\"epoch\":\"%s\",\"seq\":%llu,\"event\":\"SYNC\"}", ws.epoch,
	    (unsigned long long)ws.seq);
	if (ipc_send(&ws.w, ws.pub, NULL, 0, MSG_DELTA, 0, buf, (size_t)n)
	    == -1)
		log_warnx("publish SYNC: %s", zmq_strerror(errno));
	ws.last_sync = ratelimit_now();
}

static void
watcher_shutdown(void)
{
	size_t	 i;

	for (i = 0; i < WATCHER_NINF; i++)
		informer_free(&watcher_informers[i]);
	kube_free(&ws.kube);
	ipc_close(&ws.pub);
	ipc_close(&ws.snap);
	worker_shutdown(&ws.w);
	log_info("watcher exiting");
}
