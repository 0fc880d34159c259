/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_SANDBOX_H
#define CFGW_SANDBOX_H

/*
 * One way into the sandbox, in a fixed order (DESIGN.md section 4):
 * drop to a per-worker uid if root and asked to, PR_SET_DUMPABLE 0,
 * PR_SET_NO_NEW_PRIVS, Landlock (best effort), then, once the worker's
 * sockets exist, seccomp (sandbox_seccomp).
 */

struct sandbox_profile {
	const char	*name;
	int		 undumpable;	/* PR_SET_DUMPABLE 0, RLIMIT_CORE 0 */
	const char	*rw_paths[8];	/* Landlock: read-write trees */
	const char	*ro_paths[16];	/* Landlock: read-only trees */
	int		 network;	/* needs TCP (HTTP clients) */
};

/*
 * Both return 0, or -1 (logged) when a mandatory step fails; the worker
 * then exits.  Landlock missing on the kernel is a warning, not a failure.
 * Environment (for operators and tests):
 *   CFGW_WORKER_UID_BASE=N  when root, run worker number i as uid/gid N+i
 *                           (default: stay root; tests need /proc access)
 *   CFGW_NO_LANDLOCK=1      skip Landlock
 *   CFGW_NO_SECCOMP=1       skip seccomp (debugging)
 *   CFGW_SECCOMP_LOG=1      log violations instead of killing
 * Under AddressSanitizer seccomp is skipped (its runtime needs more).
 */
int	sandbox_enter(const struct sandbox_profile *);
int	sandbox_seccomp(const struct sandbox_profile *);
/*
 * Called by worker_init once CONFIG is known: the worker's index (for the
 * uid), and the paths every worker needs in Landlock (runtime dir and log
 * dir read-write, the kubeconfig read-only).  NULL or "" to skip one.
 */
void	sandbox_set_context(int index, const char *runtime_dir,
	    const char *log_dir, const char *kubeconfig);

#endif
