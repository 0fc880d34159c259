/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testworker: a tiny worker for the supervisor tests, installed under all
 * five worker names.  It goes through the real framework (worker_init,
 * sandbox_enter, ipc, sandbox_seccomp, worker_ready) and logs every
 * control message it acts on.  As "rotator" it binds its ROUTER; as
 * "reconciler" it sends the rotator a ROTATE_REQUEST, which proves that
 * the CURVE keys cfgwd handed out work.  Switches for the tests:
 *   SIGUSR2                  stop answering PING (the supervisor must kill
 *                            and restart us)
 *   SIGWINCH                 send cfgwd a malformed control frame
 *   CFGW_TEST_FAIL_DIR=DIR   exit 1 before READY while DIR/<name> exists
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "ipc.h"
#include "log.h"
#include "sandbox.h"
#include "worker.h"

static volatile sig_atomic_t	 tw_deaf, tw_garbage;
static const char		 tw_junk[FRAME_HDR_LEN] = "not a frame";

static void
tw_on_signal(int sig)
{
	if (sig == SIGUSR2)
		tw_deaf = 1;
	else
		tw_garbage = 1;
}

static int
tw_should_fail(const char *name)
{
	const char	*dir = getenv("CFGW_TEST_FAIL_DIR");
	char		 path[512];

	if (dir == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void
tw_recv(struct worker *w, void *sock)
{
	struct ipc_msg	 m;

	while (ipc_recv(w, sock, &m, 1) == 0) {
		log_info("testworker: %s from %s: %.*s",
		    msg_name(m.f.hdr.type), proc_name(m.peer),
		    (int)m.f.paylen, m.f.payload);
		ipc_msg_free(&m);
	}
}

int
main(int argc, char *argv[])
{
	struct worker		 w;
	struct sandbox_profile	 prof;
	enum proc_id		 self;
	zmq_pollitem_t		 items[2];
	const char		*base;
	void			*sock = NULL;
	int			 n, msg, sent = 0;

	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (proc_lookup(base, &self) == -1 || self == PROC_SUPERVISOR) {
		fprintf(stderr, "testworker: unknown worker name %s\n", base);
		return 2;
	}
	if (worker_init(&w, self, argc, argv) == -1)
		return 1;
	signal(SIGUSR2, tw_on_signal);
	signal(SIGWINCH, tw_on_signal);
	memset(&prof, 0, sizeof(prof));
	prof.name = w.name;
	prof.undumpable = self == PROC_CFAPI;
	if (sandbox_enter(&prof) == -1)
		fatalx("sandbox");
	if (tw_should_fail(w.name))
		fatalx("testworker: failing before READY as asked");
	if (self == PROC_ROTATOR)
		sock = ipc_bind(&w, ZMQ_ROUTER, "rotator", P_RECONCILER);
	else if (self == PROC_RECONCILER)
		sock = ipc_connect(&w, ZMQ_DEALER, PROC_ROTATOR, "rotator");
	if ((self == PROC_ROTATOR || self == PROC_RECONCILER) && sock == NULL)
		fatalx("testworker: ipc setup failed");
	if (sandbox_seccomp(&prof) == -1)
		fatalx("seccomp");
	if (worker_ready(&w) == -1)
		return 1;
	log_info("testworker: ready");
	for (;;) {
		n = 0;
		if (!tw_deaf) {
			items[n].socket = NULL;
			items[n].fd = worker_ctl_fd(&w);
			items[n].events = ZMQ_POLLIN;
			n++;
		}
		if (sock != NULL) {
			items[n].socket = sock;
			items[n].events = ZMQ_POLLIN;
			n++;
		}
		if (self == PROC_RECONCILER && !sent) {
			sent = ipc_send(&w, sock, NULL, 0, MSG_ROTATE_REQUEST,
			    1, "{\"gateway\":\"test/gw\"}", 21) == 0;
		}
		if (zmq_poll(items, n, 1000) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if (sock != NULL)
			tw_recv(&w, sock);
		if (tw_garbage) {
			tw_garbage = 0;
			log_info("testworker: sending a malformed frame");
			(void)send(worker_ctl_fd(&w), tw_junk,
			    sizeof(tw_junk), MSG_NOSIGNAL);
		}
		if (tw_deaf)
			continue;
		msg = worker_ctl_dispatch(&w);
		if (msg == -1 || msg == MSG_SHUTDOWN) {
			log_info("testworker: %s, exiting",
			    msg == -1 ? "EOF" : "SHUTDOWN");
			break;
		}
		if (msg != MSG_NONE)
			log_info("testworker: got %s", msg_name((unsigned)msg));
	}
	worker_shutdown(&w);
	return 0;
}
