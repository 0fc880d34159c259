/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lead: --leader-elect.  The supervisor keeps no Kubernetes client of its
 * own: it fork+execs the elector (libexec/cfgw/elector, elector/elector.c),
 * which holds the Lease and says "leading" on a pipe.  Until then no worker
 * runs (the replica is a standby, ready as such); when the elector exits
 * the lead is lost or was never won, and cfgwd stops its workers and exits
 * 1, so that Kubernetes starts it again as a candidate.  On an orderly stop
 * the workers go first, then the elector's stdin is closed and it releases
 * the Lease.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cfgwd.h"
#include "log.h"

static void	lead_child(int in, int out, const char *id, pid_t parent)
		    __attribute__((noreturn));

/* $POD_NAME (or the host name) and a random suffix, as client-go does. */
static void
lead_identity(char *buf, size_t sz)
{
	unsigned char	 r[4];
	const char	*pod = getenv("POD_NAME");
	char		 host[128];

	if (pod == NULL || *pod == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "cfgwd");
		host[sizeof(host) - 1] = '\0';
		pod = host;
	}
	randombytes_buf(r, sizeof(r));
	snprintf(buf, sz, "%.100s_%02x%02x%02x%02x", pod, r[0], r[1], r[2],
	    r[3]);
}

int
lead_start(void)
{
	int	 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	pid_t	 pid, self = getpid();
	char	 id[128];
	int	 i;

	cfgwd.elector_in = cfgwd.elector_out = -1;
	if (!cfgwd.leader_elect) {
		cfgwd.leading = 1;
		return 0;
	}
	lead_identity(id, sizeof(id));
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    (pid = fork()) == -1) {
		log_warn("elector: pipe or fork");
		for (i = 0; i < 2; i++) {
			if (in[i] != -1)
				close(in[i]);
			if (out[i] != -1)
				close(out[i]);
		}
		return -1;
	}
	if (pid == 0)
		lead_child(in[0], out[1], id, self);
	close(in[0]);
	close(out[1]);
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	cfgwd.elector_pid = pid;
	cfgwd.elector_in = in[1];
	cfgwd.elector_out = out[0];
	log_info("leader election: candidate %s for Lease %s/%s; no worker "
	    "runs until it is held", id, cfgwd.lease_ns, cfgwd.lease_id);
	return 0;
}

static void
lead_child(int in, int out, const char *id, pid_t parent)
{
	char		 path[600], ms[3][24];
	const char	*argv[32];
	int		 n = 0;

	if (dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1)
		_exit(127);
	/* cfgwd gone: its workers are killed; the elector lets go. */
	spawn_child_reset(STDERR_FILENO + 1, SIGTERM, parent);
	snprintf(path, sizeof(path), "%s/elector", cfgwd.libexec_dir);
	snprintf(ms[0], sizeof(ms[0]), "%ld", cfgwd.lease_ms);
	snprintf(ms[1], sizeof(ms[1]), "%ld", cfgwd.renew_ms);
	snprintf(ms[2], sizeof(ms[2]), "%ld", cfgwd.retry_ms);
	argv[n++] = "elector";
	argv[n++] = "--namespace";
	argv[n++] = cfgwd.lease_ns;
	argv[n++] = "--name";
	argv[n++] = cfgwd.lease_id;
	argv[n++] = "--identity";
	argv[n++] = id;
	argv[n++] = "--lease-duration-ms";
	argv[n++] = ms[0];
	argv[n++] = "--renew-deadline-ms";
	argv[n++] = ms[1];
	argv[n++] = "--retry-period-ms";
	argv[n++] = ms[2];
	argv[n++] = "--log-format";
	argv[n++] = cfgwd.cfg.log_format;
	if (cfgwd.cfg.kubeconfig[0] != '\0') {
		argv[n++] = "--kubeconfig";
		argv[n++] = cfgwd.cfg.kubeconfig;
	}
	if (cfgwd.cfg.kube_context[0] != '\0') {
		argv[n++] = "--context";
		argv[n++] = cfgwd.cfg.kube_context;
	}
	if (cfgwd.cfg.log_dir[0] != '\0') {
		argv[n++] = "--log-dir";
		argv[n++] = cfgwd.cfg.log_dir;
	}
	if (cfgwd.cfg.verbose)
		argv[n++] = "-v";
	argv[n] = NULL;
	execv(path, (char *const *)(uintptr_t)argv);
	dprintf(STDERR_FILENO, "cfgwd: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

int
lead_pollfd(struct pollfd *pfd)
{
	if (cfgwd.elector_out == -1)
		return 0;
	pfd->fd = cfgwd.elector_out;
	pfd->events = POLLIN;
	return 1;
}

/* The elector spoke (or hung up: its exit is reaped as SIGCHLD). */
void
lead_event(void)
{
	char	 buf[64];
	ssize_t	 n;

	while ((n = read(cfgwd.elector_out, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		if (strstr(buf, "leading") != NULL && !cfgwd.leading &&
		    !cfgwd.stopping) {
			log_info("leader election: Lease %s/%s held; starting "
			    "the workers", cfgwd.lease_ns, cfgwd.lease_id);
			cfgwd.leading = 1;
		}
	}
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		close(cfgwd.elector_out);
		cfgwd.elector_out = -1;
	}
}

/* 1 if pid was the elector: the lead is gone, so is this replica. */
int
lead_reaped(pid_t pid, int status)
{
	if (pid != cfgwd.elector_pid || pid <= 0)
		return 0;
	cfgwd.elector_pid = 0;
	if (cfgwd.elector_in != -1)
		close(cfgwd.elector_in);
	cfgwd.elector_in = -1;
	if (cfgwd.stopping) {
		log_debug("elector exited");	/* the orderly end */
		return 1;
	}
	if (WIFEXITED(status))
		log_warnx("elector exit status %d: %s; stopping", WEXITSTATUS(
		    status), cfgwd.leading ? "leadership lost" :
		    "no leader election");
	else
		log_warnx("elector killed by signal %d; stopping",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	cfgwd.leading = 0;
	cfgwd.exit_code = 1;
	cfgwd_stop();
	return 1;
}

/* After the workers: close its stdin, the elector releases and exits. */
void
lead_release(void)
{
	if (cfgwd.elector_in != -1) {
		close(cfgwd.elector_in);
		cfgwd.elector_in = -1;
	}
}

void
lead_kill(void)
{
	int	 status;

	if (cfgwd.elector_pid <= 0)
		return;
	log_warnx("elector pid %ld did not stop; killing it",
	    (long)cfgwd.elector_pid);
	kill(cfgwd.elector_pid, SIGKILL);
	while (waitpid(cfgwd.elector_pid, &status, 0) == -1 && errno == EINTR)
		;
	cfgwd.elector_pid = 0;
}
