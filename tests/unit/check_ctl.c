/* SPDX-License-Identifier: Apache-2.0 */
/* The control channel: framing over SOCK_SEQPACKET, Z85 keys, and the
 * worker side of the handshake (worker_init, PING/PONG, dispatch). */
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "ctl.h"
#include "json.h"
#include "worker.h"
#include "check_run.h"

static struct ctl_msg	 m;

static void
pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
}

START_TEST(test_roundtrip)
{
	int	 sv[2];

	pair(sv);
	ck_assert_int_eq(ctl_send(sv[0], PROC_SUPERVISOR, MSG_PING, 42,
	    "{\"seq\":1}", 9), 0);
	ck_assert_int_eq(ctl_recv(sv[1], PROC_WATCHER, PROC_SUPERVISOR, &m,
	    1), 0);
	ck_assert_uint_eq(m.f.hdr.type, MSG_PING);
	ck_assert_uint_eq(m.f.hdr.reqid, 42);
	ck_assert_uint_eq(m.f.paylen, 9);
	ck_assert_str_eq(m.f.payload, "{\"seq\":1}");	/* NUL-terminated */
	/* Nothing more waiting. */
	ck_assert_int_eq(ctl_recv(sv[1], PROC_WATCHER, PROC_SUPERVISOR, &m,
	    1), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	close(sv[0]);
	ck_assert_int_eq(ctl_recv(sv[1], PROC_WATCHER, PROC_SUPERVISOR, &m,
	    1), 1);
	close(sv[1]);
}
END_TEST

START_TEST(test_rejects)
{
	static uint8_t	 big[FRAME_HDR_LEN + FRAME_CTL_MAX + 16];
	int		 sv[2];

	pair(sv);
	/* Short datagram. */
	ck_assert_int_eq(send(sv[0], "CFGW", 4, 0), 4);
	ck_assert_int_eq(ctl_recv(sv[1], PROC_SUPERVISOR, PROC_WATCHER, &m,
	    1), -2);
	ck_assert_int_eq(m.why, FRAME_ESHORT);
	/* Longer than the channel allows: cut by the kernel, rejected. */
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(send(sv[0], big, sizeof(big), 0), (int)sizeof(big));
	ck_assert_int_eq(ctl_recv(sv[1], PROC_SUPERVISOR, PROC_WATCHER, &m,
	    1), -2);
	ck_assert_int_eq(m.why, FRAME_ESIZE);
	/* The watcher's channel carrying a frame that says "rotator". */
	ck_assert_int_eq(ctl_send(sv[0], PROC_ROTATOR, MSG_PONG, 0, "{}", 2),
	    0);
	ck_assert_int_eq(ctl_recv(sv[1], PROC_SUPERVISOR, PROC_WATCHER, &m,
	    1), -2);
	ck_assert_int_eq(m.why, FRAME_ESPOOF);
	/* A worker may not send PING. */
	ck_assert_int_eq(ctl_send(sv[0], PROC_WATCHER, MSG_PING, 0, "{}", 2),
	    0);
	ck_assert_int_eq(ctl_recv(sv[1], PROC_SUPERVISOR, PROC_WATCHER, &m,
	    1), -2);
	ck_assert_int_eq(m.why, FRAME_ESENDER);
	/* Oversized sends are refused before they leave. */
	ck_assert_int_eq(ctl_send(sv[0], PROC_WATCHER, MSG_PONG, 0,
	    (const char *)big, FRAME_CTL_MAX + 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

START_TEST(test_z85)
{
	/* ZeroMQ RFC 32's test vector. */
	static const uint8_t hello[8] = { 0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59,
	    0xf7, 0x5b };
	uint8_t	 key[32], back[32];
	char	 ours[41], theirs[41];
	int	 i;

	ck_assert_int_eq(ctl_z85_encode(hello, 8, ours, sizeof(ours)), 0);
	ck_assert_str_eq(ours, "HelloWorld");
	ck_assert_int_eq(ctl_z85_decode("HelloWorld", back, sizeof(back)), 8);
	ck_assert_mem_eq(back, hello, 8);
	for (i = 0; i < 50; i++) {
		randombytes_buf(key, sizeof(key));
		ck_assert_int_eq(ctl_z85_encode(key, 32, ours, sizeof(ours)),
		    0);
		ck_assert_ptr_nonnull(zmq_z85_encode(theirs, key, 32));
		ck_assert_str_eq(ours, theirs);
		ck_assert_int_eq(ctl_z85_decode(ours, back, sizeof(back)), 32);
		ck_assert_mem_eq(back, key, 32);
	}
	ck_assert_int_eq(ctl_z85_encode(key, 31, ours, sizeof(ours)), -1);
	ck_assert_int_eq(ctl_z85_encode(key, 32, ours, 40), -1);
	ck_assert_int_eq(ctl_z85_decode("Hello", back, 3), -1);
	ck_assert_int_eq(ctl_z85_decode("Hell", back, sizeof(back)), -1);
	ck_assert_int_eq(ctl_z85_decode("Hell\"", back, sizeof(back)), -1);
	ck_assert_int_eq(ctl_z85_decode("#####", back, sizeof(back)), -1);
}
END_TEST

START_TEST(test_keypair)
{
	char	 pub[41], sec[41];
	uint8_t	 pk[32], sk[32], derived[32];

	ck_assert_int_eq(ctl_keypair(pub, sec), 0);
	ck_assert_uint_eq(strlen(pub), 40);
	ck_assert_int_eq(ctl_z85_decode(pub, pk, sizeof(pk)), 32);
	ck_assert_int_eq(ctl_z85_decode(sec, sk, sizeof(sk)), 32);
	/* A CURVE keypair: the public key is the secret's base point. */
	ck_assert_int_eq(crypto_scalarmult_base(derived, sk), 0);
	ck_assert_mem_eq(derived, pk, 32);
}
END_TEST

/* --- the worker side of the handshake, against a scripted supervisor. */

static pid_t
spawn_worker(int sv[2], void (*body)(void))
{
	pid_t	 pid;

	pair(sv);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(sv[0]);
		if (dup2(sv[1], CTL_FD) == -1)
			_exit(99);
		body();
		_exit(0);
	}
	close(sv[1]);
	return pid;
}

static void
sup_expect(int fd, unsigned type)
{
	ck_assert_int_eq(ctl_recv(fd, PROC_SUPERVISOR, PROC_ROTATOR, &m, 0),
	    0);
	ck_assert_str_eq(msg_name(m.f.hdr.type), msg_name(type));
}

static void
sup_send(int fd, unsigned type, const char *s)
{
	ck_assert_int_eq(ctl_send(fd, PROC_SUPERVISOR, type, 0, s, strlen(s)),
	    0);
}

static void
worker_body(void)
{
	struct worker	 w;
	char		*argv[] = { "rotator", NULL };
	int		 r;

	if (worker_init(&w, PROC_ROTATOR, 1, argv) != 0)
		_exit(10);
	if (strcmp(w.cfg.cluster_name, "c1") != 0 ||
	    w.cfg.kube_burst != 7 || w.cfg.kube_qps != 2.5 ||
	    strcmp(w.public_key, "HelloWorldHelloWorldHelloWorldHelloWorld")
	    != 0 || w.peer_public[PROC_CFAPI][0] != 'C' ||
	    w.peer_public[PROC_WATCHER][0] != '\0' ||
	    strcmp(w.user_agent, "cfgw/" CFGW_VERSION " (rotator)") != 0)
		_exit(11);
	w.ipc_in = 3;
	if (worker_ready(&w) != 0)
		_exit(12);
	/* PINGs are answered inside; ROTATE_NOW comes back to us. */
	while ((r = worker_ctl_dispatch(&w)) == MSG_NONE)
		usleep(10000);
	if (r != MSG_ROTATE_NOW)
		_exit(13);
	while ((r = worker_ctl_dispatch(&w)) == MSG_NONE)
		usleep(10000);
	if (r != MSG_SHUTDOWN)
		_exit(14);
	while ((r = worker_ctl_dispatch(&w)) == MSG_NONE)
		usleep(10000);
	_exit(r == -1 ? 0 : 15);	/* EOF: supervisor gone */
}

#define KEY40(c) c "elloWorldHelloWorldHelloWorldHelloWorld"

START_TEST(test_worker_handshake)
{
	yajl_val	 v;
	long long	 n;
	int		 sv[2], status;
	pid_t		 pid = spawn_worker(sv, worker_body);

	sup_expect(sv[0], MSG_HELLO);
	v = json_parse(m.f.payload, m.f.paylen, NULL, 0);
	ck_assert_str_eq(json_str(v, "proc"), "rotator");
	ck_assert_int_eq(json_int(v, "version", &n), 0);
	ck_assert_int_eq(n, PROTO_VERSION);
	ck_assert_int_eq(json_int(v, "pid", &n), 0);
	ck_assert_int_eq(n, pid);
	json_free(&v);
	sup_send(sv[0], MSG_CONFIG, "{\"config\":{\"cluster_name\":\"c1\","
	    "\"kube_burst\":7,\"kube_qps\":2.5,\"log_format\":\"text\"},"
	    "\"keys\":{\"public\":\"" KEY40("H") "\",\"secret\":\""
	    KEY40("S") "\"},\"peers\":{\"cfapi\":\"" KEY40("C") "\","
	    "\"reconciler\":\"" KEY40("R") "\"}}");
	sup_expect(sv[0], MSG_READY);
	sup_send(sv[0], MSG_PING, "{\"seq\":5}");
	sup_expect(sv[0], MSG_PONG);
	v = json_parse(m.f.payload, m.f.paylen, NULL, 0);
	ck_assert_int_eq(json_int(v, "seq", &n), 0);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(json_int(v, "ipc_in", &n), 0);
	ck_assert_int_eq(n, 3);
	json_free(&v);
	sup_send(sv[0], MSG_ROTATE_NOW, "{}");
	sup_send(sv[0], MSG_SHUTDOWN, "{}");
	usleep(100000);
	close(sv[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static void
bad_config_body(void)
{
	struct worker	 w;
	char		*argv[] = { "rotator", NULL };

	(void)worker_init(&w, PROC_ROTATOR, 1, argv);
	_exit(20);	/* must not get here: fatalx exits 1 */
}

static int
run_bad_config(const char *cfg)
{
	int	 sv[2], status;
	pid_t	 pid = spawn_worker(sv, bad_config_body);

	sup_expect(sv[0], MSG_HELLO);
	sup_send(sv[0], MSG_CONFIG, cfg);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(sv[0]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_worker_bad_config_is_fatal)
{
	ck_assert_int_eq(run_bad_config("{not json"), 1);
	ck_assert_int_eq(run_bad_config("{\"config\":{}}"), 1);
	ck_assert_int_eq(run_bad_config("{\"config\":{},\"keys\":{\"public\":"
	    "\"short\",\"secret\":\"short\"}}"), 1);
	ck_assert_int_eq(run_bad_config("{\"config\":{},\"keys\":{\"public\":"
	    "\"" KEY40("H") "\",\"secret\":\"" KEY40("S") "\"},\"peers\":"
	    "{\"mallory\":\"" KEY40("M") "\"}}"), 1);
}
END_TEST

static void
no_socket_body(void)
{
	struct worker	 w;
	char		*argv[] = { "rotator", NULL };

	close(CTL_FD);
	_exit(worker_init(&w, PROC_ROTATOR, 1, argv) == -1 ? 0 : 30);
}

START_TEST(test_worker_without_supervisor)
{
	int	 sv[2], status;
	pid_t	 pid = spawn_worker(sv, no_socket_body);

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	close(sv[0]);
}
END_TEST

static void
malformed_body(void)
{
	struct worker	 w;
	char		*argv[] = { "rotator", NULL };

	if (worker_init(&w, PROC_ROTATOR, 1, argv) != 0)
		_exit(40);
	for (;;) {
		(void)worker_ctl_dispatch(&w);
		usleep(10000);
	}
}

START_TEST(test_worker_malformed_control_is_fatal)
{
	int	 sv[2], status;
	pid_t	 pid = spawn_worker(sv, malformed_body);

	sup_expect(sv[0], MSG_HELLO);
	sup_send(sv[0], MSG_CONFIG, "{\"config\":{},\"keys\":{\"public\":\""
	    KEY40("H") "\",\"secret\":\"" KEY40("S") "\"}}");
	ck_assert_int_eq(send(sv[0], "garbage garbage garbage!", 24, 0), 24);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	close(sv[0]);
}
END_TEST

static Suite *
ctl_suite(void)
{
	Suite	*s = suite_create("ctl");
	TCase	*tc = tcase_create("channel");
	TCase	*tw = tcase_create("worker");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_z85);
	tcase_add_test(tc, test_keypair);
	tcase_add_test(tw, test_worker_handshake);
	tcase_add_test(tw, test_worker_bad_config_is_fatal);
	tcase_add_test(tw, test_worker_without_supervisor);
	tcase_add_test(tw, test_worker_malformed_control_is_fatal);
	tcase_set_timeout(tw, 20);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tw);
	return s;
}

int
main(void)
{
	return check_run(ctl_suite());
}
