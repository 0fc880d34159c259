/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reconciler: turns the cluster objects the watcher publishes into the
 * state a user asked for: GatewayClass acceptance, and per Gateway a
 * Cloudflare tunnel (through cfapi), its DNS records (through dnsworker),
 * token rotation schedules (through rotator), the tunnel Deployment and
 * its companions, and the status of every object involved.
 *
 * It must never hold a Cloudflare credential or a tunnel token: cfapi
 * reads the credentials Secrets and writes the token Secret itself, and
 * answers with the token's SHA-256 only.  Secrets reach this process as
 * metadata.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "ipc.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "objpack.h"
#include "proto.h"
#include "queue.h"
#include "reconciler.h"
#include "sandbox.h"
#include "store.h"
#include "worker.h"

#define REC_BATCH		16	/* keys per loop turn */
/*
 * Deltas held while a snapshot is pending.  Only those with a seq above
 * the snapshot's will be applied, and they arrive last, so beyond this
 * many the oldest are dropped (the watcher's first list of 10,000 routes
 * publishes ~8 MB of deltas, all older than the snapshot).  If one that
 * was dropped had a seq above the snapshot's, the snapshot is asked for
 * again.
 */
#define REC_BUFFER_MAX		1024
/* Snapshot messages queued here at most (ZeroMQ's default: 1000). */
#define REC_SNAP_HWM		100

struct rec_pending {
	uint64_t	 reqid;
	enum rec_peer	 peer;
	char		 key[QUEUE_KEY_MAX];
	int		 step;
	uint64_t	 deadline;
};

static void	reconciler_init(struct rec *);
static void	reconciler_open(struct rec *);
static void	reconciler_loop(struct rec *);
static void	reconciler_dispatch_watcher(struct rec *, void *sock);
static void	reconciler_dispatch_cfapi(struct rec *);
static void	reconciler_dispatch_dnsworker(struct rec *);
static void	reconciler_dispatch_rotator(struct rec *);
static void	reconciler_dispatch_ctl(struct rec *);
static void	reconciler_handle_delta(struct rec *, const char *, size_t);
static void	reconciler_handle_snapshot_obj(struct rec *,
		    const struct ipc_msg *);
static void	reconciler_handle_snapshot_end(struct rec *,
		    const struct ipc_msg *);
static void	reconciler_handle_reply(struct rec *, enum rec_peer,
		    const struct ipc_msg *);
static void	reconciler_handle_rotated(struct rec *,
		    const struct ipc_msg *);
static void	reconciler_sync_request(struct rec *);
static void	reconciler_expire(struct rec *, uint64_t now);
static void	reconciler_work(struct rec *, uint64_t now);
static void	reconciler_shutdown(struct rec *);
static void	*reconciler_monitor(struct rec *, void *sock, const char *);
static void	reconciler_handle_disconnect(struct rec *, int which);
static void	reconciler_settle(struct rec *, uint64_t now, int force);

/* Who may send us what: checked after the catalogue's own check. */
static const struct {
	unsigned	 type;
	enum proc_id	 from;
} reconciler_peers[] = {
	{ MSG_SNAPSHOT_OBJ,	PROC_WATCHER },
	{ MSG_SNAPSHOT_END,	PROC_WATCHER },
	{ MSG_DELTA,		PROC_WATCHER },
	{ MSG_CF_REPLY,		PROC_CFAPI },
	{ MSG_DNS_RESULT,	PROC_DNSWORKER },
	{ MSG_ROTATED,		PROC_ROTATOR },
};

/* Network for the API server; read-only files the kube client names. */
static struct sandbox_profile reconciler_profile = {
	.name = "reconciler",
	.undumpable = 1,
	.network = 1,
};

static struct rec	 reconciler_state;
static long long	 reconciler_snap_objs;	/* SNAPSHOT_OBJs received */
static long long	 reconciler_dropped_seq = -1; /* highest seq of a
						   buffered delta dropped */

int
main(int argc, char *argv[])
{
	struct rec	*r = &reconciler_state;

	mallopt(M_ARENA_MAX, 1);
	if (worker_init(&r->w, PROC_RECONCILER, argc, argv) == -1)
		return 1;
	reconciler_init(r);
	if (sandbox_enter(&reconciler_profile) == -1)
		fatalx("cannot enter the sandbox");
	reconciler_open(r);
	if (sandbox_seccomp(&reconciler_profile) == -1)
		fatalx("cannot load the seccomp filter");
	if (worker_ready(&r->w) == -1)
		fatalx("cannot send READY");
	log_info("ready (cluster %s)", r->w.cfg.cluster_name[0] ?
	    r->w.cfg.cluster_name : "default");
	reconciler_sync_request(r);
	reconciler_loop(r);
	reconciler_shutdown(r);
	return 0;
}

/* Before the sandbox: the Kubernetes client reads its files here. */
static void
reconciler_init(struct rec *r)
{
	struct kube_opts	 ko;
	const char		*files[8];
	int			 n, i;

	memset(&ko, 0, sizeof(ko));
	ko.kubeconfig = r->w.cfg.kubeconfig;
	ko.context = r->w.cfg.kube_context;
	ko.user_agent = r->w.user_agent;
	ko.qps = r->w.cfg.kube_qps;
	ko.burst = r->w.cfg.kube_burst;
	ko.timeout_ms = 20000;
	if ((r->kube = kube_new(&ko)) == NULL)
		fatalx("cannot configure the Kubernetes client");
	n = kube_files(r->kube, files, 8);
	for (i = 0; i < n && i < 8; i++)
		reconciler_profile.ro_paths[i] = files[i];
	if ((r->store = store_new()) == NULL ||
	    (r->queue = queue_new()) == NULL)
		fatal("calloc");
}

static void
reconciler_open(struct rec *r)
{
	r->sub = ipc_connect(&r->w, ZMQ_SUB, PROC_WATCHER, "watcher-pub");
	/* A snapshot streams under flow control: keep its queue short. */
	r->snap = ipc_connect_hwm(&r->w, ZMQ_DEALER, PROC_WATCHER,
	    "watcher-snap", REC_SNAP_HWM);
	r->cfapi = ipc_connect(&r->w, ZMQ_DEALER, PROC_CFAPI, "cfapi");
	r->dns = ipc_connect(&r->w, ZMQ_DEALER, PROC_DNSWORKER, "dnsworker");
	r->rot = ipc_connect(&r->w, ZMQ_DEALER, PROC_ROTATOR, "rotator");
	if (r->sub == NULL || r->snap == NULL || r->cfapi == NULL ||
	    r->dns == NULL || r->rot == NULL)
		fatalx("cannot connect to the other workers");
	r->mon[0] = reconciler_monitor(r, r->cfapi, "cfapi");
	r->mon[1] = reconciler_monitor(r, r->dns, "dnsworker");
	r->mon[2] = reconciler_monitor(r, r->rot, "rotator");
}

/*
 * Watch for a peer going away: a request it had taken is lost with it, so
 * the waiting run fails at once and is retried instead of sitting out its
 * deadline; a restarted rotator gets the schedule again.
 */
static void *
reconciler_monitor(struct rec *r, void *sock, const char *name)
{
	char	 ep[64];
	void	*m;
	int	 zero = 0;

	snprintf(ep, sizeof(ep), "inproc://reconciler-monitor-%s", name);
	if (zmq_socket_monitor(sock, ep, ZMQ_EVENT_DISCONNECTED) == -1 ||
	    (m = zmq_socket(r->w.zctx, ZMQ_PAIR)) == NULL) {
		log_warnx("monitor %s: %s", name, zmq_strerror(errno));
		return NULL;
	}
	(void)zmq_setsockopt(m, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_connect(m, ep) == -1) {
		log_warnx("monitor %s: %s", name, zmq_strerror(errno));
		zmq_close(m);
		return NULL;
	}
	return m;
}

static void
reconciler_loop(struct rec *r)
{
	zmq_pollitem_t	 it[9];
	uint64_t	 now;
	long long	 wait;
	int		 i;

	while (!r->stop) {
		/* Borrowed trees of text kinds live for one turn. */
		store_release(r->store);
		memset(it, 0, sizeof(it));
		it[0].socket = r->sub;
		it[1].socket = r->snap;
		it[2].socket = r->cfapi;
		it[3].socket = r->dns;
		it[4].socket = r->rot;
		it[5].fd = worker_ctl_fd(&r->w);
		for (i = 0; i < 3; i++)
			it[6 + i].socket = r->mon[i];
		for (i = 0; i < 9; i++)
			it[i].events = ZMQ_POLLIN;
		now = queue_now();
		wait = queue_wait(r->queue, now);
		if (wait < 0 || wait > 1000)
			wait = 1000;	/* deadlines and the snapshot timer */
		if (zmq_poll(it, r->mon[0] && r->mon[1] && r->mon[2] ? 9 : 6,
		    (long)wait) == -1) {
			if (errno == EINTR)
				continue;
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		}
		if (it[5].revents & ZMQ_POLLIN)
			reconciler_dispatch_ctl(r);
		if (it[0].revents & ZMQ_POLLIN)
			reconciler_dispatch_watcher(r, r->sub);
		if (it[1].revents & ZMQ_POLLIN)
			reconciler_dispatch_watcher(r, r->snap);
		if (it[2].revents & ZMQ_POLLIN)
			reconciler_dispatch_cfapi(r);
		if (it[3].revents & ZMQ_POLLIN)
			reconciler_dispatch_dnsworker(r);
		if (it[4].revents & ZMQ_POLLIN)
			reconciler_dispatch_rotator(r);
		for (i = 0; i < 3; i++)
			if (it[6 + i].revents & ZMQ_POLLIN)
				reconciler_handle_disconnect(r, i);
		now = queue_now();
		reconciler_expire(r, now);
		if (r->sync == REC_SYNC_WAIT &&
		    now - r->snap_started > REC_SNAPSHOT_TIMEOUT_MS) {
			log_warnx("snapshot did not complete; asking again");
			reconciler_sync_request(r);
		}
		/*
		 * A snapshot taken before the watcher's first lists finished
		 * may lack routes: acting on it could delete DNS records.
		 * Ask again until it is complete.
		 */
		if (r->sync == REC_SYNC_LIVE && !r->synced &&
		    now - r->snap_started > 1000)
			reconciler_sync_request(r);
		if (r->sync == REC_SYNC_LIVE && r->synced)
			reconciler_work(r, now);
		reconciler_settle(r, now, 0);
		if (r->rotate_dirty)
			gateway_rotation_flush(r);
	}
}

/* A message type from the wrong peer is a protocol violation. */
static void
reconciler_check_peer(const struct ipc_msg *m)
{
	size_t	 i;

	for (i = 0; i < sizeof(reconciler_peers) /
	    sizeof(reconciler_peers[0]); i++)
		if (reconciler_peers[i].type == m->f.hdr.type &&
		    reconciler_peers[i].from == m->peer)
			return;
	fatalx("%s from %s: not expected", msg_name(m->f.hdr.type),
	    proc_name(m->peer));
}

static int
reconciler_recv(struct rec *r, void *sock, struct ipc_msg *m)
{
	int	 rc;

	memset(m, 0, sizeof(*m));
	rc = ipc_recv(&r->w, sock, m, 1);
	if (rc == -2)
		return -2;	/* logged, dropped */
	if (rc != 0)
		return 1;
	reconciler_check_peer(m);
	return 0;
}

static void
reconciler_dispatch_watcher(struct rec *r, void *sock)
{
	struct ipc_msg	 m;
	int		 rc;

	while ((rc = reconciler_recv(r, sock, &m)) != 1) {
		if (rc == -2)
			continue;
		switch (m.f.hdr.type) {
		case MSG_DELTA:
			reconciler_handle_delta(r, m.f.payload, m.f.paylen);
			break;
		case MSG_SNAPSHOT_OBJ:
			reconciler_handle_snapshot_obj(r, &m);
			break;
		case MSG_SNAPSHOT_END:
			reconciler_handle_snapshot_end(r, &m);
			break;
		default:
			break;
		}
		ipc_msg_free(&m);
	}
}

static void
reconciler_dispatch_cfapi(struct rec *r)
{
	struct ipc_msg	 m;
	int		 rc;

	while ((rc = reconciler_recv(r, r->cfapi, &m)) != 1) {
		if (rc == -2)
			continue;
		reconciler_handle_reply(r, REC_PEER_CFAPI, &m);
		ipc_msg_free(&m);
	}
}

static void
reconciler_dispatch_dnsworker(struct rec *r)
{
	struct ipc_msg	 m;
	int		 rc;

	while ((rc = reconciler_recv(r, r->dns, &m)) != 1) {
		if (rc == -2)
			continue;
		reconciler_handle_reply(r, REC_PEER_DNS, &m);
		ipc_msg_free(&m);
	}
}

static void
reconciler_dispatch_rotator(struct rec *r)
{
	struct ipc_msg	 m;
	int		 rc;

	while ((rc = reconciler_recv(r, r->rot, &m)) != 1) {
		if (rc == -2)
			continue;
		reconciler_handle_rotated(r, &m);
		ipc_msg_free(&m);
	}
}

static void
reconciler_dispatch_ctl(struct rec *r)
{
	switch (worker_ctl_dispatch(&r->w)) {
	case -1:
		log_info("supervisor gone");
		r->stop = 1;
		break;
	case MSG_SHUTDOWN:
		r->stop = 1;
		break;
	case MSG_RESYNC:
		log_info("resync: new snapshot, reconcile everything");
		reconciler_sync_request(r);
		break;
	default:
		break;
	}
}

/*
 * Parse a watcher message; the "obj" member is detached from the tree and
 * returned in *obj so the store can keep it without a copy.  A payload
 * that is not JSON is a protocol violation.
 */
static yajl_val
reconciler_parse(const char *buf, size_t len, yajl_val *obj)
{
	yajl_val	 v;
	size_t		 i;
	char		 err[128];

	if ((v = json_parse(buf, len, err, sizeof(err))) == NULL ||
	    !YAJL_IS_OBJECT(v))
		fatalx("malformed message from the watcher: %s", err);
	if (obj != NULL) {
		*obj = NULL;
		for (i = 0; i < v->u.object.len; i++)
			if (strcmp(v->u.object.keys[i], "obj") == 0) {
				*obj = v->u.object.values[i];
				v->u.object.values[i] = NULL;
			}
	}
	return v;
}

static void
reconciler_apply(struct rec *r, struct store *s, const char *kind,
    const char *event, yajl_val obj, int notify)
{
	yajl_val	 old;
	const char	*ns, *name;
	int		 err;

	if (!store_kind_known(kind) || obj == NULL || !YAJL_IS_OBJECT(obj)) {
		log_debug("ignoring %s %s", event, kind ? kind : "object");
		if (obj != NULL)
			yajl_tree_free(obj);
		return;
	}
	ns = json_str(json_get(obj, "metadata"), "namespace");
	name = json_str(json_get(obj, "metadata"), "name");
	if (name == NULL) {
		log_warnx("skipping a %s without metadata.name", kind);
		yajl_tree_free(obj);
		return;
	}
	if (strcmp(event, "DELETED") == 0) {
		old = store_del(s, kind, ns, name);
		if (notify)
			triggers_changed(r, kind, old, NULL);
		yajl_tree_free(obj);
	} else {
		old = store_put(s, kind, obj, &err);
		if (err == 0 && notify)
			triggers_changed(r, kind, old, obj);
	}
	if (old != NULL)
		yajl_tree_free(old);
	/* obj, if of a text kind, was borrowed until here. */
	store_release(s);
}

/* One DELTA, live or replayed after a snapshot. */
static void
reconciler_delta(struct rec *r, yajl_val v, yajl_val obj)
{
	const char	*epoch = json_str(v, "epoch");
	const char	*event = json_str(v, "event");
	long long	 seq = -1;

	(void)json_int(v, "seq", &seq);
	if (epoch == NULL || event == NULL || seq < 0)
		fatalx("DELTA without epoch, seq or event");
	if (strcmp(epoch, r->epoch) != 0) {
		log_info("watcher epoch changed; new snapshot");
		reconciler_sync_request(r);
		goto done;
	}
	if (strcmp(event, "SYNC") == 0) {
		/* The heartbeat carries the last seq published. */
		if (seq > r->seq) {
			log_info("missed deltas %lld..%lld; new snapshot",
			    r->seq + 1, seq);
			reconciler_sync_request(r);
		}
		goto done;
	}
	if (seq <= r->seq)
		goto done;	/* already in the snapshot */
	if (seq != r->seq + 1) {
		log_info("gap in deltas (%lld after %lld); new snapshot", seq,
		    r->seq);
		reconciler_sync_request(r);
		goto done;
	}
	r->seq = seq;
	reconciler_apply(r, r->store, json_str(v, "kind"), event, obj, 1);
	return;
done:
	if (obj != NULL)
		yajl_tree_free(obj);
}

/* The text of buffered delta i (malloc'd), or NULL. */
static char *
reconciler_buffered_text(struct rec *r, size_t i, size_t *len)
{
	char	*text;

	text = objpack_unpack(r->buffered[i]->pack, r->buffered[i]->len, 0,
	    len);
	if (text == NULL)
		log_warnx("cannot unpack a buffered delta");
	return text;
}

/* Forget the oldest buffered delta, remembering its seq. */
static void
reconciler_drop_oldest(struct rec *r)
{
	yajl_val	 v = NULL;
	long long	 seq = LLONG_MAX;
	char		*text;
	size_t		 len;

	if ((text = reconciler_buffered_text(r, 0, &len)) != NULL)
		v = json_parse(text, len, NULL, 0);
	if (v == NULL || json_int(v, "seq", &seq) == -1)
		seq = LLONG_MAX;	/* unknown: assume it mattered */
	yajl_tree_free(v);
	free(text);
	if (seq > reconciler_dropped_seq)
		reconciler_dropped_seq = seq;
	free(r->buffered[0]);
	memmove(&r->buffered[0], &r->buffered[1], (r->nbuffered - 1) *
	    sizeof(*r->buffered));
	r->nbuffered--;
}

/* Keep a delta, packed, until the snapshot is in; -1 out of memory. */
static int
reconciler_buffer(struct rec *r, const char *buf, size_t len)
{
	struct rec_delta	**nb, *d;
	const void		 *pack;
	size_t			  plen;

	if (r->nbuffered >= REC_BUFFER_MAX)
		reconciler_drop_oldest(r);
	nb = reallocarray(r->buffered, r->nbuffered + 1, sizeof(*nb));
	if (nb == NULL)
		return -1;
	r->buffered = nb;
	if ((pack = objpack_pack(buf, len, &plen)) == NULL ||
	    (d = malloc(sizeof(*d) + plen)) == NULL)
		return -1;
	d->len = plen;
	memcpy(d->pack, pack, plen);
	nb[r->nbuffered++] = d;
	return 0;
}

static void
reconciler_handle_delta(struct rec *r, const char *buf, size_t len)
{
	yajl_val	 v, obj;

	if (r->sync == REC_SYNC_WAIT) {
		if (reconciler_buffer(r, buf, len) == -1)
			reconciler_sync_request(r);
		return;
	}
	if (r->sync != REC_SYNC_LIVE)
		return;
	v = reconciler_parse(buf, len, &obj);
	reconciler_delta(r, v, obj);
	yajl_tree_free(v);
}

static void
reconciler_handle_snapshot_obj(struct rec *r, const struct ipc_msg *m)
{
	yajl_val	 v, obj;

	if (r->sync != REC_SYNC_WAIT || m->f.hdr.reqid != r->snap_reqid)
		return;		/* an answer to an older request */
	reconciler_snap_objs++;
	v = reconciler_parse(m->f.payload, m->f.paylen, &obj);
	reconciler_apply(r, r->staging, json_str(v, "kind"), "ADDED", obj,
	    0);
	yajl_tree_free(v);
}

static void
reconciler_drop_buffered(struct rec *r)
{
	size_t	 i;

	for (i = 0; i < r->nbuffered; i++)
		free(r->buffered[i]);
	free(r->buffered);
	r->buffered = NULL;
	r->nbuffered = 0;
	reconciler_dropped_seq = -1;
}

static void
reconciler_handle_snapshot_end(struct rec *r, const struct ipc_msg *m)
{
	yajl_val	 v, obj;
	const char	*epoch;
	char		*text;
	long long	 seq = -1, count = -1;
	size_t		 i, len;

	if (r->sync != REC_SYNC_WAIT || m->f.hdr.reqid != r->snap_reqid)
		return;
	v = reconciler_parse(m->f.payload, m->f.paylen, NULL);
	epoch = json_str(v, "epoch");
	if (epoch == NULL || json_int(v, "seq", &seq) == -1 ||
	    strlen(epoch) >= sizeof(r->epoch))
		fatalx("SNAPSHOT_END without epoch or seq");
	/* A message lost on the way must not leave a hole in the store. */
	if (json_int(v, "count", &count) == 0 &&
	    count != reconciler_snap_objs) {
		log_warnx("snapshot incomplete (%lld of %lld objects); asking "
		    "again", reconciler_snap_objs, count);
		yajl_tree_free(v);
		reconciler_sync_request(r);
		return;
	}
	if (reconciler_dropped_seq > seq) {
		log_warnx("deltas after the snapshot (seq %lld) were dropped; "
		    "asking again", seq);
		yajl_tree_free(v);
		reconciler_sync_request(r);
		return;
	}
	strcpy(r->epoch, epoch);
	r->seq = seq;
	r->synced = 1;
	(void)json_bool(v, "synced", &r->synced);
	yajl_tree_free(v);
	store_free(&r->store);
	r->store = r->staging;
	r->staging = NULL;
	r->sync = REC_SYNC_LIVE;
	log_info("snapshot: %zu objects at seq %lld", store_total(r->store),
	    seq);
	for (i = 0; i < r->nbuffered && r->sync == REC_SYNC_LIVE; i++) {
		if ((text = reconciler_buffered_text(r, i, &len)) == NULL) {
			reconciler_sync_request(r);
			break;
		}
		v = reconciler_parse(text, len, &obj);
		free(text);
		reconciler_delta(r, v, obj);
		yajl_tree_free(v);
	}
	if (r->sync == REC_SYNC_LIVE) {
		reconciler_drop_buffered(r);
		reconciler_settle(r, queue_now(), 1);
		triggers_all(r);
	}
}

/*
 * Log the store's digest and counts when it has settled: right after a
 * snapshot, then at most once a second while deltas change it (tests
 * compare the digest with the simulator's state; the benchmark waits for
 * the counts).
 */
static void
reconciler_settle(struct rec *r, uint64_t now, int force)
{
	static unsigned long long	 changes;
	static uint64_t			 at;

	if (r->sync != REC_SYNC_LIVE)
		return;
	if (!force && (store_changes(r->store) == changes || now < at + 1000))
		return;
	store_log_settled(r->store);
	changes = store_changes(r->store);
	at = now;
}

/* Subscribe first (done at start), then ask: the Clone pattern. */
static void
reconciler_sync_request(struct rec *r)
{
	store_free(&r->staging);
	reconciler_drop_buffered(r);
	if ((r->staging = store_new()) == NULL)
		fatal("calloc");
	r->sync = REC_SYNC_WAIT;
	r->snap_reqid = ++r->next_reqid;
	r->snap_started = queue_now();
	reconciler_snap_objs = 0;
	if (ipc_send(&r->w, r->snap, NULL, 0, MSG_SNAPSHOT_REQ, r->snap_reqid,
	    "{}", 2) == -1)
		log_warnx("cannot ask the watcher for a snapshot");
}

uint64_t
rec_request(struct rec *r, enum rec_peer peer, unsigned type,
    const char *key, int step, const char *payload, size_t len,
    int timeout_ms)
{
	struct rec_pending	*p, *np;
	void			*sock = peer == REC_PEER_CFAPI ? r->cfapi :
				    r->dns;
	uint64_t		 id = ++r->next_reqid;

	if (strlen(key) >= QUEUE_KEY_MAX)
		return 0;
	if (r->npend == r->cappend) {
		np = reallocarray(r->pend, r->cappend ? r->cappend * 2 : 32,
		    sizeof(*np));
		if (np == NULL)
			return 0;
		r->pend = np;
		r->cappend = r->cappend ? r->cappend * 2 : 32;
	}
	if (ipc_send(&r->w, sock, NULL, 0, type, id, payload, len) == -1)
		return 0;
	p = &r->pend[r->npend++];
	p->reqid = id;
	p->peer = peer;
	strcpy(p->key, key);
	p->step = step;
	p->deadline = queue_now() + (uint64_t)timeout_ms;
	log_debug("%s: %s %llu sent (step %d)", key, msg_name(type),
	    (unsigned long long)id, step);
	return id;
}

/* Hand a reply (or NULL: deadline passed) to whoever asked. */
static void
reconciler_resume(struct rec *r, const char *key, int step, uint64_t reqid,
    yajl_val reply)
{
	char		 buf[QUEUE_KEY_MAX], *ns, *name;

	snprintf(buf, sizeof(buf), "%s", key);
	if (strncmp(buf, "GatewayClass/", 13) == 0)
		gatewayclass_resume(r, buf + 13, step, reqid, reply);
	else if (strncmp(buf, "Gateway/", 8) == 0) {
		ns = buf + 8;
		if ((name = strchr(ns, '/')) == NULL)
			return;
		*name++ = '\0';
		gateway_resume(r, ns, name, step, reqid, reply);
	}
}

static void
reconciler_handle_reply(struct rec *r, enum rec_peer peer,
    const struct ipc_msg *m)
{
	struct rec_pending	 p;
	yajl_val		 v;
	size_t			 i;
	char			 err[128];

	for (i = 0; i < r->npend; i++)
		if (r->pend[i].reqid == m->f.hdr.reqid &&
		    r->pend[i].peer == peer)
			break;
	if (i == r->npend) {
		log_debug("%s %llu: no request waiting (late?)",
		    msg_name(m->f.hdr.type),
		    (unsigned long long)m->f.hdr.reqid);
		return;
	}
	p = r->pend[i];
	r->pend[i] = r->pend[--r->npend];
	if ((v = json_parse(m->f.payload, m->f.paylen, err,
	    sizeof(err))) == NULL || !YAJL_IS_OBJECT(v))
		fatalx("malformed %s: %s", msg_name(m->f.hdr.type), err);
	reconciler_resume(r, p.key, p.step, p.reqid, v);
	yajl_tree_free(v);
}

static void
reconciler_expire(struct rec *r, uint64_t now)
{
	struct rec_pending	 p;
	size_t			 i = 0;

	while (i < r->npend) {
		if (r->pend[i].deadline > now) {
			i++;
			continue;
		}
		p = r->pend[i];
		r->pend[i] = r->pend[--r->npend];
		log_warnx("%s: request %llu timed out", p.key,
		    (unsigned long long)p.reqid);
		reconciler_resume(r, p.key, p.step, p.reqid, NULL);
	}
}

static void
reconciler_handle_disconnect(struct rec *r, int which)
{
	static const char	*names[] = { "cfapi", "dnsworker", "rotator" };
	struct rec_pending	 p;
	zmq_msg_t		 part;
	size_t			 i = 0, msz;
	int			 more = 1;

	while (more) {		/* event frame, then endpoint frame */
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, r->mon[which], ZMQ_DONTWAIT) == -1) {
			zmq_msg_close(&part);
			return;
		}
		msz = sizeof(more);
		zmq_getsockopt(r->mon[which], ZMQ_RCVMORE, &more, &msz);
		zmq_msg_close(&part);
	}
	log_info("%s disconnected", names[which]);
	if (which == 2) {
		free(r->rotate_sent);
		r->rotate_sent = NULL;
		r->rotate_dirty = 1;
		return;
	}
	while (i < r->npend) {
		if (r->pend[i].peer != (which == 0 ? REC_PEER_CFAPI :
		    REC_PEER_DNS)) {
			i++;
			continue;
		}
		p = r->pend[i];
		r->pend[i] = r->pend[--r->npend];
		reconciler_resume(r, p.key, p.step, p.reqid, NULL);
	}
}

static void
reconciler_handle_rotated(struct rec *r, const struct ipc_msg *m)
{
	yajl_val	 v;
	char		 err[128];

	if (m->f.hdr.type != MSG_ROTATED)
		return;
	if ((v = json_parse(m->f.payload, m->f.paylen, err,
	    sizeof(err))) == NULL || !YAJL_IS_OBJECT(v))
		fatalx("malformed ROTATED: %s", err);
	gateway_rotated(r, v);
	yajl_tree_free(v);
}

void
rec_enqueue(struct rec *r, const char *key, long long delay_ms)
{
	if (delay_ms < 0)
		delay_ms = (long long)queue_backoff(r->queue, key);
	if (queue_add(r->queue, key, queue_now() + (uint64_t)delay_ms) == -1)
		log_warnx("cannot queue %s", key);
}

void
rec_enqueue_gateway(struct rec *r, const char *ns, const char *name,
    long long delay_ms)
{
	char	 key[QUEUE_KEY_MAX];

	if (ns == NULL || name == NULL ||
	    snprintf(key, sizeof(key), "Gateway/%s/%s", ns, name) >=
	    (int)sizeof(key))
		return;
	rec_enqueue(r, key, delay_ms);
}

int
rec_send_rotator(struct rec *r, unsigned type, const char *payload,
    size_t len)
{
	return ipc_send(&r->w, r->rot, NULL, 0, type, ++r->next_reqid,
	    payload, len);
}

static void
reconciler_work(struct rec *r, uint64_t now)
{
	char	 key[QUEUE_KEY_MAX], *ns, *name;
	int	 n;

	for (n = 0; n < REC_BATCH && queue_pop(r->queue, now, key,
	    sizeof(key)); n++) {
		if (strncmp(key, "GatewayClass/", 13) == 0) {
			gatewayclass_reconcile(r, key + 13);
			continue;
		}
		if (strncmp(key, "Gateway/", 8) == 0)
			ns = key + 8;
		else if (strncmp(key, "Ready/", 6) == 0)
			ns = key + 6;
		else
			continue;
		if ((name = strchr(ns, '/')) == NULL)
			continue;
		*name++ = '\0';
		if (key[0] == 'R')
			gateway_refresh_ready(r, ns, name);
		else
			gateway_reconcile(r, ns, name);
	}
}

static void
reconciler_shutdown(struct rec *r)
{
	log_info("shutting down");
	/* Stop the monitors before their sockets go, then drop ours. */
	(void)zmq_socket_monitor(r->cfapi, NULL, 0);
	(void)zmq_socket_monitor(r->dns, NULL, 0);
	(void)zmq_socket_monitor(r->rot, NULL, 0);
	for (int i = 0; i < 3; i++)
		if (r->mon[i] != NULL)
			zmq_close(r->mon[i]);
	gateway_forget_all(r);
	reconciler_drop_buffered(r);
	store_free(&r->store);
	store_free(&r->staging);
	queue_free(&r->queue);
	free(r->pend);
	free(r->rotate_sent);
	kube_free(&r->kube);
	worker_shutdown(&r->w);
}
