/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfgwd: the supervisor.  It parses the configuration, makes one CURVE
 * keypair per worker, fork+execs the five workers with a control
 * socketpair on fd 3, hands each its CONFIG, watches their heartbeats,
 * reaps and restarts them (throttled), relays SIGHUP (RESYNC) and SIGUSR1
 * (ROTATE_NOW to the rotator), serves /healthz, /readyz and /metrics, and
 * on SIGTERM stops them all and exits.  With --leader-elect the workers
 * run only while the elector (lead.c) holds the Lease.  It must never read
 * the Cloudflare token, parse Kubernetes objects, relay data traffic, link
 * libzmq, or exit because of something a worker sent.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfgwd.h"
#include "log.h"

#define CFGWD_POLL_MAX	(1 + PROC_MAX + 1 + 2 + CFGWD_HTTP_CLIENTS)
#define CFGWD_TICK_MS	100

struct cfgwd_state	 cfgwd;

static int	cfgwd_init(void);
static int	cfgwd_signals(void);
static void	cfgwd_dispatch_signal(int);
static void	cfgwd_loop(int);
static void	cfgwd_shutdown(void);
static void	cfgwd_std_fds(void);
static unsigned	cfgwd_env_ms(const char *, unsigned);

long long
cfgwd_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(int argc, char *argv[])
{
	enum log_format	 fmt = LOG_FORMAT_TEXT;
	int		 sfd;

	cfgwd_std_fds();
	(void)prctl(PR_SET_NAME, "cfgwd", 0, 0, 0);
	log_init("cfgwd", NULL, LOG_FORMAT_TEXT, 0);
	if (config_parse(argc, argv) == -1)
		return 1;
	if (cfgwd.check_only) {
		if (config_prepare(0) == -1 ||
		    (cfgwd.health_addr[0] && http_check(cfgwd.health_addr)) ||
		    (cfgwd.metrics_addr[0] && http_check(cfgwd.metrics_addr)))
			return 1;
		printf("cfgwd: configuration OK (workers in %s, runtime dir "
		    "%s)\n", cfgwd.libexec_dir, cfgwd.cfg.runtime_dir);
		return 0;
	}
	if (config_prepare(1) == -1)
		return 1;
	(void)log_format_parse(cfgwd.cfg.log_format, &fmt);
	if (log_init("cfgwd", cfgwd.cfg.log_dir, fmt, cfgwd.cfg.verbose) == -1)
		fatal("cannot open log file in %s", cfgwd.cfg.log_dir);
	if (cfgwd_init() == -1 || (sfd = cfgwd_signals()) == -1)
		return 1;
	log_info("cfgwd %s starting: cluster %s, workers from %s, runtime "
	    "dir %s", CFGW_VERSION, cfgwd.cfg.cluster_name, cfgwd.libexec_dir,
	    cfgwd.cfg.runtime_dir);
	if (lead_start() == -1)
		return 1;
	cfgwd_loop(sfd);
	cfgwd_shutdown();
	close(sfd);
	log_info("stopped");
	return cfgwd.exit_code;
}

/* Keep 0, 1 and 2 open so that no socket ever lands on them. */
static void
cfgwd_std_fds(void)
{
	int	 fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static unsigned
cfgwd_env_ms(const char *name, unsigned def)
{
	const char	*s = getenv(name);
	char		*end;
	unsigned long	 v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 3600000) {
		log_warnx("%s: bad value, using %u", name, def);
		return def;
	}
	return (unsigned)v;
}

static int
cfgwd_init(void)
{
	int	 i;

	cfgwd.throttle_ms = cfgwd_env_ms("CFGW_THROTTLE_MS",
	    CFGWD_THROTTLE_MS);
	for (i = 1; i < PROC_MAX; i++) {
		cfgwd.w[i].id = (enum proc_id)i;
		cfgwd.w[i].name = proc_name((enum proc_id)i);
		cfgwd.w[i].fd = -1;
	}
	if (control_keys() == -1)
		return -1;
	if (cfgwd.health_addr[0] != '\0' &&
	    http_listen(cfgwd.health_addr) == -1)
		return -1;
	if (cfgwd.metrics_addr[0] != '\0' &&
	    strcmp(cfgwd.metrics_addr, cfgwd.health_addr) != 0 &&
	    http_listen(cfgwd.metrics_addr) == -1)
		return -1;
	return 0;
}

/* signalfd: signals become readable events in the one poll loop. */
static int
cfgwd_signals(void)
{
	sigset_t	 set;
	int		 fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		return -1;
	}
	return fd;
}

static void
cfgwd_dispatch_signal(int sfd)
{
	struct signalfd_siginfo	 si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			spawn_reap();
			break;
		case SIGTERM:
		case SIGINT:
			if (!cfgwd.stopping) {
				log_info("received signal %u, stopping",
				    si.ssi_signo);
				cfgwd_stop();
			}
			break;
		case SIGHUP:
			log_info("SIGHUP: reopening logs, resyncing workers");
			log_reopen();
			control_broadcast(MSG_RESYNC);
			break;
		case SIGUSR1:
			log_info("SIGUSR1: rotating every tunnel token now");
			if (cfgwd.w[PROC_ROTATOR].state == SV_READY)
				control_send(&cfgwd.w[PROC_ROTATOR],
				    MSG_ROTATE_NOW, "{}", 2);
			else
				log_warnx("rotator is not ready; "
				    "ROTATE_NOW not sent");
			break;
		}
	}
}

static void
cfgwd_loop(int sfd)
{
	struct pollfd	 pfd[CFGWD_POLL_MAX];
	struct sv_worker *owner[CFGWD_POLL_MAX];
	long long	 now;
	int		 n, nw, ne, nh, i, released = 0;

	for (;;) {
		now = cfgwd_now_ms();
		if (cfgwd.stopping) {
			if (spawn_running() == 0 && !released) {
				/* The workers are gone: let the Lease go. */
				lead_release();
				released = 1;
				cfgwd.stop_deadline = now + CFGWD_STOP_MS;
			}
			if (released && cfgwd.elector_pid == 0)
				return;
			if (now >= cfgwd.stop_deadline)
				return;		/* cfgwd_shutdown kills */
		}
		spawn_tick(now);
		control_tick(now);
		http_tick(now);
		n = 0;
		pfd[n].fd = sfd;
		pfd[n].events = POLLIN;
		owner[n++] = NULL;
		for (i = 1; i < PROC_MAX; i++)
			if (cfgwd.w[i].fd != -1) {
				pfd[n].fd = cfgwd.w[i].fd;
				pfd[n].events = POLLIN;
				owner[n++] = &cfgwd.w[i];
			}
		nw = n;
		ne = lead_pollfd(&pfd[n]) ? n++ : -1;	/* the elector's */
		nh = n;
		n += http_pollfds(pfd + n, CFGWD_POLL_MAX - n);
		if (poll(pfd, (nfds_t)n, CFGWD_TICK_MS) == -1) {
			if (errno != EINTR)
				fatal("poll");
			continue;
		}
		if (pfd[0].revents)
			cfgwd_dispatch_signal(sfd);
		for (i = 1; i < nw; i++)
			if (pfd[i].revents && owner[i]->fd == pfd[i].fd)
				control_dispatch(owner[i]);
		if (ne != -1 && pfd[ne].revents)
			lead_event();
		http_events(pfd + nh, n - nh);
	}
}

void
cfgwd_stop(void)
{
	int	 i;

	cfgwd.stopping = 1;
	cfgwd.stop_deadline = cfgwd_now_ms() + CFGWD_STOP_MS;
	control_broadcast(MSG_SHUTDOWN);
	/* One still in its handshake cannot take SHUTDOWN yet. */
	for (i = 1; i < PROC_MAX; i++)
		if (cfgwd.w[i].pid > 0 && cfgwd.w[i].state < SV_CONFIGURED)
			kill(cfgwd.w[i].pid, SIGTERM);
}

/* Whoever is still there after the grace period gets SIGKILL. */
static void
cfgwd_shutdown(void)
{
	int	 i, status;

	for (i = 1; i < PROC_MAX; i++) {
		if (cfgwd.w[i].pid <= 0)
			continue;
		log_warnx("%s pid %ld did not stop; killing it",
		    cfgwd.w[i].name, (long)cfgwd.w[i].pid);
		kill(cfgwd.w[i].pid, SIGKILL);
		while (waitpid(cfgwd.w[i].pid, &status, 0) == -1 &&
		    errno == EINTR)
			;
		cfgwd.w[i].pid = 0;
	}
	lead_kill();
	http_close_all();
}
