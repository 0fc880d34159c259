/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spawn: fork+exec one worker, reap it, decide when it starts again.
 * The child branch is trivial, as in OpenBSD's proc.c: the control socket
 * becomes fd 3, every other descriptor above stderr is closed, signals are
 * reset and unblocked, the parent's death kills it, and it execs.  Restarts
 * are throttled the Postfix way: a worker that dies before READY waits out
 * the throttle period; one that dies later waits a doubling backoff
 * (1 s to 60 s) that resets after ten minutes of health.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfgwd.h"
#include "log.h"

static void	spawn_child(struct sv_worker *, int fd, pid_t parent)
		    __attribute__((noreturn));
static void	spawn_died(struct sv_worker *, int status);

int
spawn_start(struct sv_worker *sw)
{
	int	 sv[2];
	pid_t	 pid, self = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", sw->name);
		return -1;
	}
	switch ((pid = fork())) {
	case -1:
		log_warn("%s: fork", sw->name);
		close(sv[0]);
		close(sv[1]);
		return -1;
	case 0:
		spawn_child(sw, sv[1], self);
	default:
		break;
	}
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1)
		log_warn("%s: O_NONBLOCK", sw->name);
	sw->fd = sv[0];
	sw->pid = pid;
	sw->state = SV_STARTED;
	sw->started_ms = cfgwd_now_ms();
	sw->ready_ms = 0;
	sw->restart_ms = 0;
	sw->ping_seq = sw->pong_seq = 0;
	log_debug("%s pid %ld started", sw->name, (long)pid);
	return 0;
}

static void
spawn_child(struct sv_worker *sw, int fd, pid_t parent)
{
	char		 path[600];
	char		*argv[3];
	int		 n = 0;

	if (fd == CTL_FD) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(fd, CTL_FD) == -1)
		_exit(127);
	spawn_child_reset(CTL_FD + 1, SIGKILL, parent);
	snprintf(path, sizeof(path), "%s/%s", cfgwd.libexec_dir, sw->name);
	argv[n++] = (char *)(uintptr_t)sw->name;
	if (cfgwd.cfg.verbose)
		argv[n++] = (char *)(uintptr_t)"-v";
	argv[n] = NULL;
	execv(path, argv);
	dprintf(STDERR_FILENO, "cfgwd: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

/*
 * In a child about to exec: close every descriptor from first up, reset
 * the signals, and die by deathsig with the parent (or now, if it is
 * already gone).
 */
void
spawn_child_reset(int first, int deathsig, pid_t parent)
{
	sigset_t	 all;
	int		 sig;

	close_range((unsigned)first, ~0U, 0);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (prctl(PR_SET_PDEATHSIG, deathsig, 0, 0, 0) == -1 ||
	    getppid() != parent)
		_exit(127);
}

void
spawn_kill(struct sv_worker *sw, const char *why)
{
	if (sw->pid <= 0)
		return;
	log_warnx("%s pid %ld: %s; killing it", sw->name, (long)sw->pid, why);
	kill(sw->pid, SIGKILL);
	/* The fd stays until the reap, so that we never read a stale one. */
}

void
spawn_reap(void)
{
	pid_t	 pid;
	int	 status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (lead_reaped(pid, status))
			continue;
		for (i = 1; i < PROC_MAX; i++)
			if (cfgwd.w[i].pid == pid) {
				spawn_died(&cfgwd.w[i], status);
				break;
			}
	}
}

/* Log the death in Postfix's words, then schedule the restart. */
static void
spawn_died(struct sv_worker *sw, int status)
{
	long long	 now = cfgwd_now_ms();
	int		 early = sw->state != SV_READY;

	if (WIFSIGNALED(status))
		log_warnx("%s pid %ld killed by signal %d", sw->name,
		    (long)sw->pid, WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warnx("%s pid %ld exit status %d", sw->name,
		    (long)sw->pid, WEXITSTATUS(status));
	else if (!cfgwd.stopping)
		log_warnx("%s pid %ld exited unexpectedly", sw->name,
		    (long)sw->pid);
	else
		log_debug("%s pid %ld exited", sw->name, (long)sw->pid);
	if (sw->fd != -1)
		close(sw->fd);
	sw->fd = -1;
	sw->pid = 0;
	sw->state = SV_DOWN;
	if (cfgwd.stopping)
		return;
	sw->restarts++;
	if (early) {
		log_warnx("%s: died before READY -- throttling, restart in "
		    "%u ms", sw->name, cfgwd.throttle_ms);
		sw->restart_ms = now + cfgwd.throttle_ms;
		return;
	}
	if (sw->ready_ms != 0 && now - sw->ready_ms >= CFGWD_HEALTHY_MS)
		sw->backoff_ms = CFGWD_BACKOFF_MIN_MS;
	if (sw->backoff_ms == 0)
		sw->backoff_ms = CFGWD_BACKOFF_MIN_MS;
	sw->restart_ms = now + sw->backoff_ms;
	log_info("%s: restart in %u ms", sw->name, sw->backoff_ms);
	sw->backoff_ms *= 2;
	if (sw->backoff_ms > CFGWD_BACKOFF_MAX_MS)
		sw->backoff_ms = CFGWD_BACKOFF_MAX_MS;
}

/* Start what is due; kill what missed its READY deadline. */
void
spawn_tick(long long now)
{
	struct sv_worker *sw;
	int		  i;

	if (cfgwd.stopping || !cfgwd.leading)
		return;			/* a standby runs no worker */
	for (i = 1; i < PROC_MAX; i++) {
		sw = &cfgwd.w[i];
		if (sw->pid == 0 && now >= sw->restart_ms) {
			if (spawn_start(sw) == -1)
				sw->restart_ms = now + cfgwd.throttle_ms;
		} else if (sw->pid > 0 && sw->state != SV_READY &&
		    now - sw->started_ms > CFGWD_READY_MS) {
			spawn_kill(sw, "not READY in time");
			sw->started_ms = now;	/* one kill per deadline */
		}
	}
}

int
spawn_running(void)
{
	int	 i, n = 0;

	for (i = 1; i < PROC_MAX; i++)
		if (cfgwd.w[i].pid > 0)
			n++;
	return n;
}
