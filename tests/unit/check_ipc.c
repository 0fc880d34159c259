/* SPDX-License-Identifier: Apache-2.0 */
/* CURVE and ZAP on a real ROUTER: only the allowed peer's key gets in, the
 * User-Id names it, and a frame claiming someone else is rejected. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "ipc.h"
#include "check_run.h"

static char		 rundir[64];
static struct worker	 srv, rec, wat;
static char		 pub[PROC_MAX][41], sec[PROC_MAX][41];

static void
mkworker(struct worker *w, enum proc_id self)
{
	int	 i;

	memset(w, 0, sizeof(*w));
	w->self = self;
	w->name = proc_name(self);
	w->ctlfd = -1;
	snprintf(w->cfg.runtime_dir, sizeof(w->cfg.runtime_dir), "%s",
	    rundir);
	memcpy(w->public_key, pub[self], 41);
	memcpy(w->secret_key, sec[self], 41);
	/* Everyone knows everyone's public key: ZAP must still choose. */
	for (i = 1; i < PROC_MAX; i++)
		if (i != (int)self)
			memcpy(w->peer_public[i], pub[i], 41);
}

static void
setup(void)
{
	int	 i;

	snprintf(rundir, sizeof(rundir), "/tmp/cfgw-ipc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rundir));
	for (i = 1; i < PROC_MAX; i++)
		ck_assert_int_eq(zmq_curve_keypair(pub[i], sec[i]), 0);
	mkworker(&srv, PROC_CFAPI);
	mkworker(&rec, PROC_RECONCILER);
	mkworker(&wat, PROC_WATCHER);
}

static void
teardown(void)
{
	char	 path[128];

	worker_shutdown(&rec);
	worker_shutdown(&wat);
	worker_shutdown(&srv);
	snprintf(path, sizeof(path), "%s/cfapi.sock", rundir);
	unlink(path);
	rmdir(rundir);
}

/* Wait up to ms for one message; the ipc_recv result. */
static int
recv_within(struct worker *w, void *sock, struct ipc_msg *m, int ms)
{
	zmq_pollitem_t	 it = { .socket = sock, .events = ZMQ_POLLIN };

	if (zmq_poll(&it, 1, ms) <= 0)
		return 1;
	return ipc_recv(w, sock, m, 1);
}

START_TEST(test_allowed_peer_gets_an_answer)
{
	struct ipc_msg	 m;
	void		*r, *d;

	ck_assert_ptr_nonnull(r = ipc_bind(&srv, ZMQ_ROUTER, "cfapi",
	    P_RECONCILER));
	ck_assert_ptr_nonnull(d = ipc_connect(&rec, ZMQ_DEALER, PROC_CFAPI,
	    "cfapi"));
	ck_assert_int_eq(ipc_send(&rec, d, NULL, 0, MSG_CF_REQUEST, 9,
	    "{\"op\":\"zone.list\"}", 18), 0);
	ck_assert_int_eq(recv_within(&srv, r, &m, 3000), 0);
	ck_assert_int_eq(m.peer, PROC_RECONCILER);
	ck_assert_uint_eq(m.f.hdr.type, MSG_CF_REQUEST);
	ck_assert_uint_eq(m.f.hdr.reqid, 9);
	ck_assert_str_eq(m.f.payload, "{\"op\":\"zone.list\"}");
	ck_assert_uint_gt(m.identlen, 0);
	ck_assert_int_eq(ipc_send(&srv, r, m.ident, m.identlen, MSG_CF_REPLY,
	    9, "{\"ok\":true}", 11), 0);
	ipc_msg_free(&m);
	ck_assert_int_eq(recv_within(&rec, d, &m, 3000), 0);
	ck_assert_int_eq(m.peer, PROC_CFAPI);
	ck_assert_uint_eq(m.f.hdr.type, MSG_CF_REPLY);
	ck_assert_str_eq(m.f.payload, "{\"ok\":true}");
	ipc_msg_free(&m);
	ck_assert_uint_eq(srv.ipc_in, 1);
	ck_assert_uint_eq(srv.ipc_out, 1);
	ck_assert_uint_eq(rec.ipc_in, 1);
	ck_assert_uint_eq(rec.ipc_out, 1);
	/* Nothing else is waiting. */
	ck_assert_int_eq(ipc_recv(&srv, r, &m, 1), 1);
	ipc_close(&d);
	ck_assert_ptr_null(d);
}
END_TEST

START_TEST(test_refused_key_gets_nothing)
{
	struct frame_hdr h;
	uint8_t		 hdr[FRAME_HDR_LEN];
	struct ipc_msg	 m;
	void		*r, *d;

	ck_assert_ptr_nonnull(r = ipc_bind(&srv, ZMQ_ROUTER, "cfapi",
	    P_RECONCILER));
	/* The watcher has the server's key and a valid keypair, but ZAP
	 * does not admit it. */
	ck_assert_ptr_nonnull(d = ipc_connect(&wat, ZMQ_DEALER, PROC_CFAPI,
	    "cfapi"));
	/* The catalogue stops the watcher before the wire does. */
	ck_assert_int_eq(ipc_send(&wat, d, NULL, 0, MSG_CF_REQUEST, 1, "{}",
	    2), -1);
	/* Raw, past the catalogue: were it admitted, ipc_recv would at least
	 * see it (and return -2); it must see nothing at all. */
	frame_header_init(&h, PROC_WATCHER, MSG_CF_REQUEST, 1, 2);
	frame_encode_header(&h, hdr);
	ck_assert_int_eq(zmq_send(d, hdr, sizeof(hdr), ZMQ_SNDMORE), 24);
	ck_assert_int_eq(zmq_send(d, "{}", 2, 0), 2);
	ck_assert_int_eq(recv_within(&srv, r, &m, 700), 1);
	ck_assert_uint_eq(srv.ipc_rejected, 0);
	ck_assert_uint_eq(srv.ipc_in, 0);
}
END_TEST

START_TEST(test_plain_client_gets_nothing)
{
	struct ipc_msg	 m;
	void		*ctx, *r, *d;
	char		 ep[128];
	int		 zero = 0;

	ck_assert_ptr_nonnull(r = ipc_bind(&srv, ZMQ_ROUTER, "cfapi",
	    P_RECONCILER));
	ck_assert_ptr_nonnull(ctx = zmq_ctx_new());
	ck_assert_ptr_nonnull(d = zmq_socket(ctx, ZMQ_DEALER));
	zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof(zero));
	ck_assert_int_eq(ipc_endpoint(&srv, "cfapi", ep, sizeof(ep)), 0);
	ck_assert_int_eq(zmq_connect(d, ep), 0);
	zmq_send(d, "hdr", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(d, "{}", 2, ZMQ_DONTWAIT);
	ck_assert_int_eq(recv_within(&srv, r, &m, 700), 1);
	zmq_close(d);
	zmq_ctx_term(ctx);
}
END_TEST

START_TEST(test_spoofed_sender_is_rejected)
{
	struct frame_hdr h;
	struct ipc_msg	 m;
	uint8_t		 hdr[FRAME_HDR_LEN];
	void		*ctx, *r, *d;
	char		 ep[128];
	int		 zero = 0;

	ck_assert_ptr_nonnull(r = ipc_bind(&srv, ZMQ_ROUTER, "cfapi",
	    P_RECONCILER | P_DNSWORKER));
	/* The reconciler's key, a header claiming the dnsworker. */
	ck_assert_ptr_nonnull(ctx = zmq_ctx_new());
	ck_assert_ptr_nonnull(d = zmq_socket(ctx, ZMQ_DEALER));
	zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, pub[PROC_CFAPI], 40);
	zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, pub[PROC_RECONCILER], 40);
	zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, sec[PROC_RECONCILER], 40);
	ck_assert_int_eq(ipc_endpoint(&srv, "cfapi", ep, sizeof(ep)), 0);
	ck_assert_int_eq(zmq_connect(d, ep), 0);
	frame_header_init(&h, PROC_DNSWORKER, MSG_CF_REQUEST, 1, 2);
	frame_encode_header(&h, hdr);
	zmq_send(d, hdr, sizeof(hdr), ZMQ_SNDMORE);
	zmq_send(d, "{}", 2, 0);
	ck_assert_int_eq(recv_within(&srv, r, &m, 3000), -2);
	ck_assert_uint_eq(srv.ipc_rejected, 1);
	/* A three-part message is malformed too. */
	frame_header_init(&h, PROC_RECONCILER, MSG_CF_REQUEST, 1, 2);
	frame_encode_header(&h, hdr);
	zmq_send(d, hdr, sizeof(hdr), ZMQ_SNDMORE);
	zmq_send(d, "{}", 2, ZMQ_SNDMORE);
	zmq_send(d, "{}", 2, 0);
	ck_assert_int_eq(recv_within(&srv, r, &m, 3000), -2);
	/* The honest frame still goes through. */
	zmq_send(d, hdr, sizeof(hdr), ZMQ_SNDMORE);
	zmq_send(d, "{}", 2, 0);
	ck_assert_int_eq(recv_within(&srv, r, &m, 3000), 0);
	ck_assert_int_eq(m.peer, PROC_RECONCILER);
	ipc_msg_free(&m);
	ck_assert_uint_eq(srv.ipc_rejected, 2);
	ck_assert_uint_eq(srv.ipc_in, 1);
	zmq_close(d);
	zmq_ctx_term(ctx);
}
END_TEST

START_TEST(test_pub_sub)
{
	struct worker	 w2;
	struct ipc_msg	 m;
	void		*p, *s;
	int		 i, got = 1;

	mkworker(&w2, PROC_WATCHER);
	ck_assert_ptr_nonnull(p = ipc_bind(&w2, ZMQ_PUB, "watcher-pub",
	    P_RECONCILER));
	ck_assert_ptr_nonnull(s = ipc_connect(&rec, ZMQ_SUB, PROC_WATCHER,
	    "watcher-pub"));
	/* PUB drops until the subscription arrives: publish until seen. */
	for (i = 0; i < 50 && got != 0; i++) {
		ck_assert_int_eq(ipc_send(&w2, p, NULL, 0, MSG_DELTA, 0,
		    "{\"seq\":1}", 9), 0);
		got = recv_within(&rec, s, &m, 100);
	}
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(m.peer, PROC_WATCHER);
	ck_assert_uint_eq(m.f.hdr.type, MSG_DELTA);
	ipc_msg_free(&m);
	worker_shutdown(&w2);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct worker	 nokey;
	char		 ep[64];

	mkworker(&nokey, PROC_DNSWORKER);
	nokey.peer_public[PROC_CFAPI][0] = '\0';
	ck_assert_ptr_null(ipc_connect(&nokey, ZMQ_DEALER, PROC_CFAPI,
	    "cfapi"));
	ck_assert_int_eq(ipc_endpoint(&srv, "a-very-long-name-that-does-not-"
	    "fit-in-a-small-buffer", ep, sizeof(ep)), -1);
	worker_shutdown(&nokey);
}
END_TEST

static Suite *
ipc_suite(void)
{
	Suite	*s = suite_create("ipc");
	TCase	*tc = tcase_create("curve");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_allowed_peer_gets_an_answer);
	tcase_add_test(tc, test_refused_key_gets_nothing);
	tcase_add_test(tc, test_plain_client_gets_nothing);
	tcase_add_test(tc, test_spoofed_sender_is_rejected);
	tcase_add_test(tc, test_pub_sub);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(ipc_suite());
}
