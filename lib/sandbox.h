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

int	sandbox_enter(const struct sandbox_profile *);
int	sandbox_seccomp(const struct sandbox_profile *);

#endif
