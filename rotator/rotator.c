/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rotator: rotates tunnel tokens on schedule and on demand.
 *
 * The reconciler sends the full schedule set (ROTATE_SCHEDULE) and
 * one-off requests (ROTATE_REQUEST); the supervisor sends ROTATE_NOW on
 * SIGUSR1 (rotate every known gateway).  A gateway is due when its
 * last rotation is older than the previous cron trigger (lib/cron, IANA
 * zones) -- so a trigger missed while we were down still fires once --
 * or when asked.  Rotation is cfapi's tunnel.rotate (new secret, token
 * written to the Secret there); the reconciler gets ROTATED with the new
 * token's hash, unsolicited, on our ROUTER, at the routing id it last
 * used.  One rotation at a time; failures back off (1 min doubling to
 * 1 h).
 *
 * It must never hold a Cloudflare token or a tunnel token.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "cron.h"
#include "ipc.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "ratelimit.h"
#include "sandbox.h"
#include "worker.h"

#define ROT_MAX_GATEWAYS	4096
#define ROT_RPC_TIMEOUT_S	120.0
#define ROT_BACKOFF_MIN_S	60
#define ROT_BACKOFF_MAX_S	3600

struct rot_gw {
	char		 name[320];	/* "ns/name" */
	yajl_val	 entry;		/* copy of its schedule entry */
	int		 enabled;
	int		 cron_ok;
	struct cron	 cron;
	time_t		 last;		/* last rotation we know of */
	time_t		 ours;		/* last rotation done by us, or 0 */
	time_t		 due_at;	/* first trigger after last; 0 none */
	int		 pending;	/* asked: rotate now */
	time_t		 retry_at;
	int		 failures;
};

struct rot_state {
	struct worker	 w;
	void		*router;
	void		*cfapi;
	char		 rec_ident[256];	/* the reconciler's routing id */
	size_t		 rec_identlen;
	struct rot_gw	*gws;
	size_t		 ngws;
	uint64_t	 reqid;
	int		 have_schedule;	/* a ROTATE_SCHEDULE arrived */
	int		 rotate_all;	/* ROTATE_NOW came before it */
	int		 stop;
};

static void	rot_init(struct rot_state *);
static void	rot_dispatch_reconciler(struct rot_state *);
static void	rot_handle_ctl(struct rot_state *, int);
static void	rot_handle_schedule(struct rot_state *, yajl_val);
static void	rot_handle_request(struct rot_state *, yajl_val);
static void	rot_run_due(struct rot_state *);
static void	rot_shutdown(struct rot_state *);

static struct rot_state	 rot_st;

/* Peers: the reconciler talks to us; we ask cfapi. */
static const unsigned rot_peers = P_RECONCILER;

static struct sandbox_profile rot_profile = {
	.name = "rotator",
	.undumpable = 0,
	.network = 0,
	.ro_paths = { "/usr/share/zoneinfo" },
};

int
main(int argc, char *argv[])
{
	struct rot_state	*st = &rot_st;
	zmq_pollitem_t		 items[3];

	if (worker_init(&st->w, PROC_ROTATOR, argc, argv) == -1)
		return 1;
	rot_init(st);
	if (sandbox_enter(&rot_profile) == -1)
		fatalx("cannot enter the sandbox");
	if ((st->router = ipc_bind(&st->w, ZMQ_ROUTER, "rotator",
	    rot_peers)) == NULL)
		fatalx("cannot bind the rotator endpoint");
	if ((st->cfapi = ipc_connect(&st->w, ZMQ_DEALER, PROC_CFAPI,
	    "cfapi")) == NULL)
		fatalx("cannot connect to cfapi");
	if (sandbox_seccomp(&rot_profile) == -1)
		fatalx("cannot load the seccomp filter");
	if (worker_ready(&st->w) == -1)
		return 1;
	log_info("ready");
	while (!st->stop) {
		items[0] = (zmq_pollitem_t){ NULL, worker_ctl_fd(&st->w),
		    ZMQ_POLLIN, 0 };
		items[1] = (zmq_pollitem_t){ st->router, -1, ZMQ_POLLIN, 0 };
		items[2] = (zmq_pollitem_t){ st->cfapi, -1, ZMQ_POLLIN, 0 };
		if (zmq_poll(items, 3, 1000) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		rot_handle_ctl(st, worker_ctl_dispatch(&st->w));
		rot_dispatch_reconciler(st);
		if (items[2].revents & ZMQ_POLLIN) {
			struct ipc_msg	 m;

			while (ipc_recv(&st->w, st->cfapi, &m, 1) == 0) {
				log_debug("dropping late CF_REPLY");
				ipc_msg_free(&m);
			}
		}
		if (!st->stop)
			rot_run_due(st);
	}
	rot_shutdown(st);
	return 0;
}

static void
rot_init(struct rot_state *st)
{
	/* Load the zone database once before Landlock narrows the view. */
	tzset();
	st->reqid = 1;
}

static void
rot_handle_ctl(struct rot_state *st, int msg)
{
	size_t	 i;

	switch (msg) {
	case -1:
		log_warnx("supervisor gone; exiting");
		st->stop = 1;
		break;
	case MSG_SHUTDOWN:
		st->stop = 1;
		break;
	case MSG_ROTATE_NOW:
		if (!st->have_schedule) {
			/* Just started: apply it to the first schedule. */
			log_info("rotate now: waiting for the schedule");
			st->rotate_all = 1;
			break;
		}
		log_info("rotate now: %zu gateways", st->ngws);
		for (i = 0; i < st->ngws; i++) {
			st->gws[i].pending = 1;
			st->gws[i].retry_at = 0;
		}
		break;
	default:
		break;
	}
}

static void
rot_dispatch_reconciler(struct rot_state *st)
{
	struct ipc_msg	 m;
	yajl_val	 v;
	char		 err[128];
	int		 rc;

	while (!st->stop && (rc = ipc_recv(&st->w, st->router, &m, 1)) != 1) {
		if (rc == -1)
			fatalx("ipc_recv on the rotator socket failed");
		if (rc == -2)
			continue;
		if (m.peer != PROC_RECONCILER ||
		    (m.f.hdr.type != MSG_ROTATE_SCHEDULE &&
		    m.f.hdr.type != MSG_ROTATE_REQUEST))
			fatalx("unexpected %s from %s",
			    msg_name(m.f.hdr.type), proc_name(m.peer));
		/* Where ROTATED goes: the reconciler's latest routing id. */
		memcpy(st->rec_ident, m.ident, m.identlen);
		st->rec_identlen = m.identlen;
		v = json_parse(m.f.payload, m.f.paylen, err, sizeof(err));
		if (v == NULL || !YAJL_IS_OBJECT(v))
			fatalx("malformed %s: %s", msg_name(m.f.hdr.type),
			    v == NULL ? err : "not an object");
		if (m.f.hdr.type == MSG_ROTATE_SCHEDULE)
			rot_handle_schedule(st, v);
		else
			rot_handle_request(st, v);
		json_free(&v);
		ipc_msg_free(&m);
	}
}

static void
rot_send_rotated(struct rot_state *st, const char *gw, const char *hash,
    time_t at, const char *error)
{
	struct jw	*j;
	const char	*buf;
	char		 ts[32];
	size_t		 len;

	if (st->rec_identlen == 0) {
		log_warnx("%s: no reconciler to tell", gw);
		return;
	}
	if ((j = jw_new()) == NULL)
		fatal("jw_new");
	jw_obj(j);
	jw_kstr(j, "gateway", gw);
	if (error == NULL) {
		cron_time_format(at, ts, sizeof(ts));
		jw_kstr(j, "token_hash", hash);
		jw_kstr(j, "rotated_at", ts);
	} else
		jw_kstr(j, "error", error);
	jw_obj_end(j);
	if (jw_result(j, &buf, &len) == -1 || ipc_send(&st->w, st->router,
	    st->rec_ident, st->rec_identlen, MSG_ROTATED, 0, buf, len) == -1)
		log_warnx("%s: cannot send ROTATED", gw);
	jw_free(&j);
}

static struct rot_gw *
rot_find(struct rot_state *st, const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < st->ngws; i++)
		if (strcmp(st->gws[i].name, name) == 0)
			return &st->gws[i];
	return NULL;
}

/*
 * Due when the last rotation is older than the latest trigger, i.e. when
 * the first trigger after it has passed: computed once, not every poll.
 */
static void
rot_gw_schedule(struct rot_gw *g)
{
	if (!g->enabled || !g->cron_ok ||
	    cron_next(&g->cron, g->last, &g->due_at) == -1)
		g->due_at = 0;
}

/* Fill g from a schedule entry; keeps what we learned ourselves. */
static void
rot_gw_load(struct rot_state *st, struct rot_gw *g, yajl_val e,
    const struct rot_gw *old)
{
	const char	*cron = json_str(e, "cron"), *tz = json_str(e, "tz");
	char		 err[160], msg[256], ts[32];
	time_t		 t, next;
	int		 en = 1;

	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", json_str(e, "gateway"));
	if ((g->entry = kube_val_dup(e)) == NULL)
		fatal("kube_val_dup");
	if (json_bool(e, "enabled", &en) == 0)
		g->enabled = en;
	else
		g->enabled = 1;
	if (cron == NULL || *cron == '\0') {
		cron = CRON_DEFAULT;
		if (tz == NULL || *tz == '\0')
			tz = CRON_DEFAULT_TZ;
	}
	g->cron_ok = cron_parse(&g->cron, cron, tz != NULL ? tz : "UTC", err,
	    sizeof(err)) == 0;
	/*
	 * No last rotation known: start counting when we first saw the
	 * gateway (no rotation now), as the reference seeds lastRotatedAt.
	 */
	g->last = old != NULL ? old->last : time(NULL);
	if (json_str(e, "last_rotated_at") != NULL &&
	    cron_time_parse(json_str(e, "last_rotated_at"), &t) == 0)
		g->last = t;
	if (old != NULL) {
		/* The reconciler's status may lag behind our own rotation. */
		g->ours = old->ours;
		if (old->ours > g->last)
			g->last = old->ours;
		g->pending = old->pending;
		g->retry_at = old->retry_at;
		g->failures = old->failures;
	}
	rot_gw_schedule(g);
	if (!g->cron_ok && g->enabled) {
		snprintf(msg, sizeof(msg), "invalid rotation schedule: %s", err);
		log_warnx("%s: %s", g->name, msg);
		if (old == NULL || old->cron_ok)
			rot_send_rotated(st, g->name, NULL, 0, msg);
	} else if (g->enabled && cron_next(&g->cron, time(NULL), &next) == 0 &&
	    (old == NULL || !old->cron_ok)) {
		cron_time_format(next, ts, sizeof(ts));
		log_info("%s: next rotation %s (%s, %s)", g->name, ts, cron,
		    g->cron.tz[0] ? g->cron.tz : "UTC");
	}
}

static void
rot_handle_schedule(struct rot_state *st, yajl_val v)
{
	yajl_val	 arr = json_get(v, "gateways"), e;
	struct rot_gw	*ng, *old;
	size_t		 i, n = 0;

	if (arr == NULL || !YAJL_IS_ARRAY(arr))
		fatalx("ROTATE_SCHEDULE without a gateways array");
	if ((ng = calloc(json_len(arr) + 1, sizeof(*ng))) == NULL)
		fatal("calloc");
	for (i = 0; i < json_len(arr) && n < ROT_MAX_GATEWAYS; i++) {
		e = json_at(arr, i);
		if (json_str(e, "gateway") == NULL ||
		    json_str(e, "tunnel_id") == NULL ||
		    json_get(e, "cred") == NULL) {
			log_warnx("schedule entry %zu lacks gateway, tunnel_id "
			    "or cred; ignored", i);
			continue;
		}
		old = rot_find(st, json_str(e, "gateway"));
		rot_gw_load(st, &ng[n++], e, old);
	}
	for (i = 0; i < st->ngws; i++)
		yajl_tree_free(st->gws[i].entry);
	free(st->gws);
	st->gws = ng;
	st->ngws = n;
	st->have_schedule = 1;
	if (st->rotate_all) {
		st->rotate_all = 0;
		log_info("rotate now: %zu gateways", n);
		for (i = 0; i < n; i++)
			st->gws[i].pending = 1;
	}
	log_debug("schedule: %zu gateways", n);
}

static void
rot_handle_request(struct rot_state *st, yajl_val v)
{
	const char	*gw = json_str(v, "gateway");
	struct rot_gw	*g = rot_find(st, gw);

	if (g == NULL) {
		log_warnx("rotation requested for unknown gateway %s",
		    gw != NULL ? gw : "?");
		rot_send_rotated(st, gw != NULL ? gw : "", NULL, 0,
		    "gateway not in the rotation schedule");
		return;
	}
	g->pending = 1;
	g->retry_at = 0;
}

/* tunnel.rotate through cfapi; the reply tree, or NULL (err set). */
static yajl_val
rot_cfapi_rotate(struct rot_state *st, const struct rot_gw *g, char *err,
    size_t errsz)
{
	zmq_pollitem_t	 items[2];
	struct jw	*j;
	struct ipc_msg	 m;
	yajl_val	 reply = NULL;
	const char	*buf;
	size_t		 len;
	uint64_t	 id = st->reqid++;
	double		 end = ratelimit_now() + ROT_RPC_TIMEOUT_S;
	static const char *const keys[] = { "cred", "secret", "owner",
	    "labels" };
	size_t		 i;

	if ((j = jw_new()) == NULL)
		fatal("jw_new");
	jw_obj(j);
	jw_kstr(j, "op", "tunnel.rotate");
	jw_kstr(j, "priority", "normal");
	jw_kstr(j, "id", json_str(g->entry, "tunnel_id"));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_get(g->entry, keys[i]) != NULL) {
			jw_key(j, keys[i]);
			jw_val(j, json_get(g->entry, keys[i]));
		}
	jw_obj_end(j);
	if (jw_result(j, &buf, &len) == -1 || ipc_send(&st->w, st->cfapi,
	    NULL, 0, MSG_CF_REQUEST, id, buf, len) == -1) {
		jw_free(&j);
		snprintf(err, errsz, "cannot send to cfapi");
		return NULL;
	}
	jw_free(&j);
	while (reply == NULL && !st->stop && ratelimit_now() < end) {
		items[0] = (zmq_pollitem_t){ NULL, worker_ctl_fd(&st->w),
		    ZMQ_POLLIN, 0 };
		items[1] = (zmq_pollitem_t){ st->cfapi, -1, ZMQ_POLLIN, 0 };
		if (zmq_poll(items, 2, 500) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if (items[0].revents)
			rot_handle_ctl(st, worker_ctl_dispatch(&st->w));
		while (reply == NULL && ipc_recv(&st->w, st->cfapi, &m, 1)
		    == 0) {
			if (m.f.hdr.type == MSG_CF_REPLY && m.f.hdr.reqid == id)
				reply = json_parse(m.f.payload, m.f.paylen,
				    NULL, 0);
			ipc_msg_free(&m);
		}
	}
	if (reply == NULL)
		snprintf(err, errsz, "%s", st->stop ? "shutting down" :
		    "cfapi did not answer in time");
	return reply;
}

static void
rot_rotate(struct rot_state *st, struct rot_gw *g, time_t now)
{
	yajl_val	 r;
	char		 err[600];
	const char	*hash;
	int		 ok = 0, backoff;

	g->pending = 0;
	r = rot_cfapi_rotate(st, g, err, sizeof(err));
	if (r != NULL && json_bool(r, "ok", &ok) == 0 && ok &&
	    (hash = json_str(json_get(r, "result"), "token_hash")) != NULL) {
		g->last = g->ours = now;
		g->failures = 0;
		g->retry_at = 0;
		rot_gw_schedule(g);
		log_info("%s: tunnel token rotated", g->name);
		rot_send_rotated(st, g->name, hash, now, NULL);
	} else {
		if (r != NULL)
			snprintf(err, sizeof(err), "%s: %s",
			    json_str(json_get(r, "error"), "kind") ?
			    json_str(json_get(r, "error"), "kind") : "error",
			    json_str(json_get(r, "error"), "message") ?
			    json_str(json_get(r, "error"), "message") : "");
		backoff = ROT_BACKOFF_MIN_S << (g->failures < 6 ?
		    g->failures : 6);
		if (backoff > ROT_BACKOFF_MAX_S)
			backoff = ROT_BACKOFF_MAX_S;
		g->failures++;
		g->retry_at = now + backoff;
		log_warnx("%s: rotation failed (%s); retry in %d s", g->name,
		    err, backoff);
		rot_send_rotated(st, g->name, NULL, 0, err);
	}
	json_free(&r);
}

static int
rot_due(const struct rot_gw *g, time_t now)
{
	if (g->retry_at > now)
		return 0;
	return g->pending || (g->due_at != 0 && now >= g->due_at);
}

static void
rot_run_due(struct rot_state *st)
{
	size_t	 i;
	time_t	 now;

	for (i = 0; i < st->ngws && !st->stop; i++) {
		now = time(NULL);
		if (rot_due(&st->gws[i], now)) {
			rot_rotate(st, &st->gws[i], now);
			/* One per pass: serve the sockets in between. */
			rot_dispatch_reconciler(st);
			break;
		}
	}
}

static void
rot_shutdown(struct rot_state *st)
{
	size_t	 i;

	for (i = 0; i < st->ngws; i++)
		yajl_tree_free(st->gws[i].entry);
	free(st->gws);
	st->gws = NULL;
	st->ngws = 0;
	worker_shutdown(&st->w);
	log_info("exiting");
}
