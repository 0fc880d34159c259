/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dnsworker: keeps each Gateway's proxied CNAMEs in Cloudflare DNS.
 *
 * It serves DNS_SYNC and DNS_CLEANUP from the reconciler on its ROUTER,
 * resolves zones and lists records through cfapi (DEALER), computes the
 * diff with lib/dnsplan (ownership by record comment, never touching a
 * record it does not own) and sends each zone's changes as one dns.batch.
 * Requests are handled one at a time; while it waits for cfapi it still
 * answers the supervisor.
 *
 * It must never hold a Cloudflare token (cfapi does) or write a record
 * whose comment does not name the requesting owner.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "dnsworker.h"
#include "ipc.h"
#include "log.h"
#include "ratelimit.h"
#include "sandbox.h"

static void	dns_init(struct dns_state *);
static void	dns_dispatch_reconciler(struct dns_state *);
static void	dns_dispatch_cfapi(struct dns_state *, uint64_t, yajl_val *);
static void	dns_handle_ctl(struct dns_state *, int);
static void	dns_handle_sync(struct dns_state *, struct ipc_msg *);
static void	dns_shutdown(struct dns_state *);

static struct dns_state	 dns_st;

/* Peers: the reconciler asks us; we ask cfapi. */
static const unsigned dns_peers = P_RECONCILER;

static struct sandbox_profile dns_profile = {
	.name = "dnsworker",
	.undumpable = 0,
	.network = 0,
};

int
main(int argc, char *argv[])
{
	struct dns_state	*st = &dns_st;
	zmq_pollitem_t		 items[3];

	if (worker_init(&st->w, PROC_DNSWORKER, argc, argv) == -1)
		return 1;
	dns_init(st);
	if (sandbox_enter(&dns_profile) == -1)
		fatalx("cannot enter the sandbox");
	if ((st->router = ipc_bind(&st->w, ZMQ_ROUTER, "dnsworker",
	    dns_peers)) == NULL)
		fatalx("cannot bind the dnsworker endpoint");
	if ((st->cfapi = ipc_connect(&st->w, ZMQ_DEALER, PROC_CFAPI,
	    "cfapi")) == NULL)
		fatalx("cannot connect to cfapi");
	if (sandbox_seccomp(&dns_profile) == -1)
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
		dns_handle_ctl(st, worker_ctl_dispatch(&st->w));
		if (items[2].revents & ZMQ_POLLIN)
			dns_dispatch_cfapi(st, 0, NULL);	/* stale */
		if (!st->stop)
			dns_dispatch_reconciler(st);
	}
	dns_shutdown(st);
	return 0;
}

static void
dns_init(struct dns_state *st)
{
	/* Nothing to open: every Cloudflare call goes through cfapi. */
	st->reqid = 1;
}

static void
dns_handle_ctl(struct dns_state *st, int msg)
{
	switch (msg) {
	case -1:
		log_warnx("supervisor gone; exiting");
		st->stop = 1;
		break;
	case MSG_SHUTDOWN:
		st->stop = 1;
		break;
	case MSG_RESYNC:
		dns_sync_forget(st);
		log_info("resync: caches dropped");
		break;
	default:
		break;
	}
}

static void
dns_dispatch_reconciler(struct dns_state *st)
{
	struct ipc_msg	 m;
	int		 rc;

	while (!st->stop && (rc = ipc_recv(&st->w, st->router, &m, 1)) != 1) {
		if (rc == -1)
			fatalx("ipc_recv on the dnsworker socket failed");
		if (rc == -2)
			continue;
		if (m.peer != PROC_RECONCILER || (m.f.hdr.type != MSG_DNS_SYNC &&
		    m.f.hdr.type != MSG_DNS_CLEANUP))
			fatalx("unexpected %s from %s",
			    msg_name(m.f.hdr.type), proc_name(m.peer));
		dns_handle_sync(st, &m);
		ipc_msg_free(&m);
	}
}

/*
 * Read replies from cfapi.  With want != 0, the one with that request id
 * goes to *out (others are late replies to calls that timed out).
 */
static void
dns_dispatch_cfapi(struct dns_state *st, uint64_t want, yajl_val *out)
{
	struct ipc_msg	 m;
	char		 err[128];
	int		 rc;

	while ((rc = ipc_recv(&st->w, st->cfapi, &m, 1)) != 1) {
		if (rc == -1)
			fatalx("ipc_recv on the cfapi socket failed");
		if (rc == -2)
			continue;
		if (m.f.hdr.type != MSG_CF_REPLY)
			fatalx("unexpected %s from cfapi",
			    msg_name(m.f.hdr.type));
		if (want != 0 && m.f.hdr.reqid == want && out != NULL) {
			*out = json_parse(m.f.payload, m.f.paylen, err,
			    sizeof(err));
			if (*out == NULL || !YAJL_IS_OBJECT(*out))
				fatalx("malformed CF_REPLY: %s", err);
		} else
			log_debug("dropping late CF_REPLY %llu",
			    (unsigned long long)m.f.hdr.reqid);
		ipc_msg_free(&m);
		if (out != NULL && *out != NULL)
			break;
	}
}

yajl_val
dns_cfapi_call(struct dns_state *st, struct jw *req, char *errbuf,
    size_t errsz)
{
	zmq_pollitem_t	 items[2];
	yajl_val	 reply = NULL;
	const char	*buf;
	size_t		 len;
	uint64_t	 id = st->reqid++;
	double		 end = ratelimit_now() + DNS_RPC_TIMEOUT_S;

	if (jw_result(req, &buf, &len) == -1 || ipc_send(&st->w, st->cfapi,
	    NULL, 0, MSG_CF_REQUEST, id, buf, len) == -1) {
		snprintf(errbuf, errsz, "cannot send to cfapi");
		return NULL;
	}
	while (reply == NULL && !st->stop && ratelimit_now() < end) {
		items[0] = (zmq_pollitem_t){ NULL, worker_ctl_fd(&st->w),
		    ZMQ_POLLIN, 0 };
		items[1] = (zmq_pollitem_t){ st->cfapi, -1, ZMQ_POLLIN, 0 };
		if (zmq_poll(items, 2, 500) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if (items[0].revents)
			dns_handle_ctl(st, worker_ctl_dispatch(&st->w));
		if (items[1].revents & ZMQ_POLLIN)
			dns_dispatch_cfapi(st, id, &reply);
	}
	if (reply == NULL)
		snprintf(errbuf, errsz, "%s", st->stop ? "shutting down" :
		    "cfapi did not answer in time");
	return reply;
}

static void
dns_handle_sync(struct dns_state *st, struct ipc_msg *m)
{
	struct jw	*out;
	yajl_val	 req;
	const char	*buf;
	size_t		 len;
	char		 err[128];
	int		 cleanup = m->f.hdr.type == MSG_DNS_CLEANUP;

	req = json_parse(m->f.payload, m->f.paylen, err, sizeof(err));
	if (req == NULL || !YAJL_IS_OBJECT(req))
		fatalx("malformed %s: %s", msg_name(m->f.hdr.type),
		    req == NULL ? err : "not an object");
	if ((out = jw_new()) == NULL)
		fatal("jw_new");
	dns_sync_run(st, req, cleanup, out);
	if (jw_result(out, &buf, &len) == -1)
		fatalx("cannot encode DNS_RESULT");
	if (!st->stop && ipc_send(&st->w, st->router, m->ident, m->identlen,
	    MSG_DNS_RESULT, m->f.hdr.reqid, buf, len) == -1)
		log_warnx("cannot send DNS_RESULT");
	jw_free(&out);
	json_free(&req);
}

static void
dns_shutdown(struct dns_state *st)
{
	dns_sync_forget(st);
	log_info("exiting (%llu cfapi reads, %llu writes)",
	    (unsigned long long)st->reads, (unsigned long long)st->writes);
	worker_shutdown(&st->w);
}
