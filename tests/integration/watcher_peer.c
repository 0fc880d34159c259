/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watcher_peer: stands in for cfgwd and the reconciler around one real
 * watcher, for tests/integration/test_watcher*.py.  It starts the watcher
 * with the control socketpair on fd 3, hands it CONFIG with fresh CURVE
 * keys, then subscribes to watcher-pub and connects a DEALER to
 * watcher-snap exactly as the reconciler does.  Every message received is
 * printed as one JSON line on stdout:
 *	{"msg":"DELTA","reqid":0,"payload":{...}}
 * Commands on stdin, one per line: snap, resync, ping, shutdown,
 * badsnap (a SNAPSHOT_REQ whose payload is not JSON).
 *
 * usage: watcher_peer WATCHER RUNTIME_DIR KUBECONFIG LOG_DIR
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "ctl.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"

static struct ctl_msg	 cm;

static void
peer_print(const char *what, uint64_t reqid, const char *p, size_t len)
{
	printf("{\"msg\":\"%s\",\"reqid\":%llu,\"payload\":%.*s}\n", what,
	    (unsigned long long)reqid, (int)len, len ? p : "null");
	fflush(stdout);
}

static pid_t
peer_spawn(const char *bin, int fd)
{
	pid_t	 pid;

	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		if (dup2(fd, 3) == -1)
			_exit(127);
		execl(bin, "watcher", "-v", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
peer_configure(int fd, char *argv[], const char *wpub, const char *wsec,
    const char *rpub)
{
	char	 buf[4096];
	int	 n;

	if (ctl_recv(fd, PROC_SUPERVISOR, PROC_WATCHER, &cm, 0) != 0 ||
	    cm.f.hdr.type != MSG_HELLO)
		fatalx("no HELLO from the watcher");
	peer_print("HELLO", 0, cm.f.payload, cm.f.paylen);
	n = snprintf(buf, sizeof(buf), "{\"config\":{\"runtime_dir\":\"%s\","
	    "\"kubeconfig\":\"%s\",\"log_dir\":\"%s\",\"log_format\":\"text\","
	    "\"cluster_name\":\"test\",\"verbose\":1,\"kube_qps\":100,"
	    "\"kube_burst\":200},\"keys\":{\"public\":\"%s\",\"secret\":\"%s\"},"
	    "\"peers\":{\"reconciler\":\"%s\"}}", argv[2], argv[3], argv[4],
	    wpub, wsec, rpub);
	if (ctl_send(fd, PROC_SUPERVISOR, MSG_CONFIG, 0, buf, (size_t)n) == -1)
		fatal("send CONFIG");
	if (ctl_recv(fd, PROC_SUPERVISOR, PROC_WATCHER, &cm, 0) != 0 ||
	    cm.f.hdr.type != MSG_READY)
		fatalx("no READY from the watcher");
	peer_print("READY", 0, cm.f.payload, cm.f.paylen);
}

static void
peer_drain(struct worker *r, void *sock)
{
	struct ipc_msg	 m;
	int		 rc;

	while ((rc = ipc_recv(r, sock, &m, 1)) != 1) {
		if (rc == -1)
			return;
		if (rc == -2) {
			peer_print("MALFORMED", 0, NULL, 0);
			continue;
		}
		peer_print(msg_name(m.f.hdr.type), m.f.hdr.reqid, m.f.payload,
		    m.f.paylen);
		ipc_msg_free(&m);
	}
}

static int
peer_command(struct worker *r, void *dealer, int fd)
{
	static uint64_t	 reqid = 100;
	char		 line[128];

	if (fgets(line, sizeof(line), stdin) == NULL)
		return -1;
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "snap") == 0)
		ipc_send(r, dealer, NULL, 0, MSG_SNAPSHOT_REQ, ++reqid, "{}", 2);
	else if (strcmp(line, "badsnap") == 0)
		ipc_send(r, dealer, NULL, 0, MSG_SNAPSHOT_REQ, ++reqid, "{x",
		    2);
	else if (strcmp(line, "resync") == 0)
		ctl_send(fd, PROC_SUPERVISOR, MSG_RESYNC, 0, "{}", 2);
	else if (strcmp(line, "ping") == 0)
		ctl_send(fd, PROC_SUPERVISOR, MSG_PING, 0, "{\"seq\":1}", 9);
	else if (strcmp(line, "shutdown") == 0)
		ctl_send(fd, PROC_SUPERVISOR, MSG_SHUTDOWN, 0, "{}", 2);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct worker	 r;
	zmq_pollitem_t	 it[4];
	char		 wpub[41], wsec[41], rpub[41], rsec[41];
	void		*sub, *dealer;
	pid_t		 pid;
	int		 sv[2], status, in_open = 1, rc;

	if (argc != 5) {
		fprintf(stderr, "usage: watcher_peer WATCHER RUNTIME_DIR "
		    "KUBECONFIG LOG_DIR\n");
		return 2;
	}
	log_init("watcher_peer", NULL, LOG_FORMAT_TEXT, 0);
	signal(SIGPIPE, SIG_IGN);
	if (ctl_keypair(wpub, wsec) == -1 || ctl_keypair(rpub, rsec) == -1)
		fatalx("keypair");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		fatal("socketpair");
	pid = peer_spawn(argv[1], sv[1]);
	close(sv[1]);
	/*
	 * Subscribe before the watcher even binds (ZeroMQ reconnects), so
	 * few of the first deltas are lost to the slow-joiner effect; the
	 * tests still take the initial state from a snapshot, as the
	 * reconciler does.
	 */
	memset(&r, 0, sizeof(r));
	r.self = PROC_RECONCILER;
	r.name = "reconciler";
	snprintf(r.cfg.runtime_dir, sizeof(r.cfg.runtime_dir), "%s", argv[2]);
	memcpy(r.public_key, rpub, sizeof(rpub));
	memcpy(r.secret_key, rsec, sizeof(rsec));
	memcpy(r.peer_public[PROC_WATCHER], wpub, sizeof(wpub));
	sub = ipc_connect(&r, ZMQ_SUB, PROC_WATCHER, "watcher-pub");
	dealer = ipc_connect(&r, ZMQ_DEALER, PROC_WATCHER, "watcher-snap");
	if (sub == NULL || dealer == NULL)
		fatalx("cannot connect to the watcher");
	peer_configure(sv[0], argv, wpub, wsec, rpub);
	for (;;) {
		memset(it, 0, sizeof(it));
		it[0].socket = sub;
		it[0].events = ZMQ_POLLIN;
		it[1].socket = dealer;
		it[1].events = ZMQ_POLLIN;
		it[2].fd = sv[0];
		it[2].events = ZMQ_POLLIN;
		it[3].fd = 0;
		it[3].events = in_open ? ZMQ_POLLIN : 0;
		if (zmq_poll(it, 4, 1000) == -1 && errno != EINTR)
			fatalx("zmq_poll");
		peer_drain(&r, sub);
		peer_drain(&r, dealer);
		if (it[3].revents & ZMQ_POLLIN)
			in_open = peer_command(&r, dealer, sv[0]) == 0;
		if (it[2].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
			rc = ctl_recv(sv[0], PROC_SUPERVISOR, PROC_WATCHER, &cm,
			    1);
			if (rc == 0)
				peer_print(msg_name(cm.f.hdr.type), 0,
				    cm.f.payload, cm.f.paylen);
			else if (rc == 1 || (rc == -1 && errno != EAGAIN))
				break;
		}
	}
	waitpid(pid, &status, 0);
	printf("{\"msg\":\"EXIT\",\"reqid\":0,\"payload\":{\"status\":%d,"
	    "\"signal\":%d}}\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	fflush(stdout);
	ipc_close(&sub);
	ipc_close(&dealer);
	return 0;
}
