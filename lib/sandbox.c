/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox: the one way into a worker's jail, in the fixed order of
 * DESIGN.md section 4: per-worker uid (root only, when asked), no core
 * dumps and no ptrace for the undumpable, no new privileges, Landlock
 * (best effort, raw syscalls: there is no packaged library), and, once
 * the worker's sockets exist, a seccomp allow-list (libseccomp) that kills
 * the whole process on a violation.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN	1
#endif
#endif
#ifndef SANDBOX_ASAN
#define SANDBOX_ASAN	0
#endif

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif

#define LL_FILE_RO	(LANDLOCK_ACCESS_FS_READ_FILE | \
			 LANDLOCK_ACCESS_FS_EXECUTE)
#define LL_RO		(LL_FILE_RO | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_FILE_RW	(LL_FILE_RO | LANDLOCK_ACCESS_FS_WRITE_FILE)
#define LL_RW_V1	(LL_RO | LANDLOCK_ACCESS_FS_WRITE_FILE | \
			 LANDLOCK_ACCESS_FS_REMOVE_DIR | \
			 LANDLOCK_ACCESS_FS_REMOVE_FILE | \
			 LANDLOCK_ACCESS_FS_MAKE_CHAR | \
			 LANDLOCK_ACCESS_FS_MAKE_DIR | \
			 LANDLOCK_ACCESS_FS_MAKE_REG | \
			 LANDLOCK_ACCESS_FS_MAKE_SOCK | \
			 LANDLOCK_ACCESS_FS_MAKE_FIFO | \
			 LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
			 LANDLOCK_ACCESS_FS_MAKE_SYM)

/* Trees every worker reads: libraries, CA bundles, resolver, zoneinfo. */
static const char *const sandbox_base_ro[] = {
	"/usr", "/lib", "/lib64", "/etc", "/proc", "/sys", "/run", "/dev",
	"/var/run/secrets",
};

static struct {
	int	 index;
	char	 runtime_dir[PATH_MAX];
	char	 log_dir[PATH_MAX];
	char	 kube_dir[PATH_MAX];
} sandbox_ctx = { -1, "", "", "" };

static int	sandbox_drop_uid(void);
static int	sandbox_landlock(const struct sandbox_profile *);
static int	sandbox_ll_add(int, const char *, uint64_t, uint64_t);
static int	sandbox_env_on(const char *);

void
sandbox_set_context(int index, const char *runtime_dir, const char *log_dir,
    const char *kubeconfig)
{
	char	*slash;

	sandbox_ctx.index = index;
	snprintf(sandbox_ctx.runtime_dir, sizeof(sandbox_ctx.runtime_dir),
	    "%s", runtime_dir ? runtime_dir : "");
	snprintf(sandbox_ctx.log_dir, sizeof(sandbox_ctx.log_dir), "%s",
	    log_dir ? log_dir : "");
	/* The kubeconfig's directory: it may name CA and key files. */
	snprintf(sandbox_ctx.kube_dir, sizeof(sandbox_ctx.kube_dir), "%s",
	    kubeconfig ? kubeconfig : "");
	if ((slash = strrchr(sandbox_ctx.kube_dir, '/')) != NULL)
		*slash = '\0';
	else
		sandbox_ctx.kube_dir[0] = '\0';
}

static int
sandbox_env_on(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

int
sandbox_enter(const struct sandbox_profile *p)
{
	struct rlimit	 rl = { 0, 0 };

	if (sandbox_drop_uid() == -1)
		return -1;
	if (p->undumpable) {
		if (setrlimit(RLIMIT_CORE, &rl) == -1 ||
		    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
			log_warn("%s: cannot become undumpable", p->name);
			return -1;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("%s: PR_SET_NO_NEW_PRIVS", p->name);
		return -1;
	}
	if (sandbox_env_on("CFGW_NO_LANDLOCK"))
		log_warnx("%s: Landlock disabled by CFGW_NO_LANDLOCK", p->name);
	else if (sandbox_landlock(p) == -1)
		return -1;
	return 0;
}

/* Only when root and CFGW_WORKER_UID_BASE asks: uid base+i, gid base. */
static int
sandbox_drop_uid(void)
{
	const char	*s = getenv("CFGW_WORKER_UID_BASE");
	char		*end;
	unsigned long	 base;
	uid_t		 uid;
	gid_t		 gid;

	if (getuid() != 0 || s == NULL || *s == '\0' || sandbox_ctx.index < 0)
		return 0;
	errno = 0;
	base = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || base == 0 || base > 0x7fff0000UL) {
		log_warnx("CFGW_WORKER_UID_BASE: bad value");
		return -1;
	}
	uid = (uid_t)(base + (unsigned long)sandbox_ctx.index);
	gid = (gid_t)base;
	if (setgroups(0, NULL) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_warn("cannot drop to uid %lu", (unsigned long)uid);
		return -1;
	}
	if (setuid(0) != -1) {
		log_warnx("could regain root after dropping privileges");
		return -1;
	}
	/* Peers are other uids in our group: sockets must be group-writable. */
	umask(007);
	log_debug("running as uid %lu gid %lu", (unsigned long)uid,
	    (unsigned long)gid);
	return 0;
}

static int
sandbox_landlock(const struct sandbox_profile *p)
{
	struct landlock_ruleset_attr attr;
	uint64_t	 rw;
	size_t		 i;
	int		 abi, fd, rc = 0;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		log_warnx("%s: kernel lacks Landlock; filesystem not "
		    "restricted", p->name);
		return 0;
	}
	rw = LL_RW_V1;
	if (abi >= 2)
		rw |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		rw |= LANDLOCK_ACCESS_FS_TRUNCATE;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = rw;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd == -1) {
		log_warn("%s: landlock_create_ruleset", p->name);
		return 0;
	}
	for (i = 0; i < sizeof(sandbox_base_ro) / sizeof(sandbox_base_ro[0]);
	    i++)
		rc |= sandbox_ll_add(fd, sandbox_base_ro[i], LL_RO, rw);
	rc |= sandbox_ll_add(fd, "/dev/null", LL_FILE_RW, rw);
	rc |= sandbox_ll_add(fd, sandbox_ctx.runtime_dir, rw, rw);
	rc |= sandbox_ll_add(fd, sandbox_ctx.log_dir, rw, rw);
	rc |= sandbox_ll_add(fd, sandbox_ctx.kube_dir, LL_RO, rw);
	for (i = 0; i < sizeof(p->ro_paths) / sizeof(p->ro_paths[0]); i++)
		rc |= sandbox_ll_add(fd, p->ro_paths[i], LL_RO, rw);
	for (i = 0; i < sizeof(p->rw_paths) / sizeof(p->rw_paths[0]); i++)
		rc |= sandbox_ll_add(fd, p->rw_paths[i], rw, rw);
	if (rc == 0 && syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		log_warn("%s: landlock_restrict_self", p->name);
		rc = -1;
	}
	close(fd);
	if (rc == 0)
		log_debug("%s: Landlock ABI %d enforced", p->name, abi);
	return rc;
}

/* One rule; a path that does not exist is skipped. */
static int
sandbox_ll_add(int rfd, const char *path, uint64_t access, uint64_t handled)
{
	struct landlock_path_beneath_attr pb;
	struct stat	 st;
	int		 fd, rc;

	if (path == NULL || *path == '\0')
		return 0;
	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= LL_FILE_RW | LANDLOCK_ACCESS_FS_TRUNCATE;
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	rc = (int)syscall(SYS_landlock_add_rule, rfd,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	if (rc == -1)
		log_warn("landlock rule for %s", path);
	close(fd);
	return rc == -1 ? -1 : 0;
}

/*
 * What libcurl, libzmq, yajl, libsodium, OpenSSL and glibc need, with room
 * to spare: when in doubt a call is allowed.  Missing: exec, ptrace,
 * mount and namespaces, module and keyring calls, kill of other
 * processes, reboot, and the rest of the kernel's administrative surface.
 */
static const char *const sandbox_syscalls[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "close", "close_range", "open",
	"openat", "openat2", "creat", "stat", "fstat", "lstat", "newfstatat",
	"statx", "statfs", "fstatfs", "lseek", "access", "faccessat",
	"faccessat2", "readlink", "readlinkat", "getdents", "getdents64",
	"getcwd", "chdir", "fchdir", "fcntl", "flock", "fsync", "fdatasync",
	"ftruncate", "truncate", "dup", "dup2", "dup3", "pipe", "pipe2",
	"mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat",
	"renameat2", "fchmod", "chmod", "umask", "ioctl", "sendfile",
	"copy_file_range", "splice", "fadvise64", "utimensat",
	"mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "mlock",
	"mlock2", "munlock", "mlockall", "munlockall", "msync", "mincore",
	"membarrier",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait",
	"rt_sigsuspend", "rt_sigpending", "sigaltstack", "tgkill", "tkill",
	"alarm", "setitimer", "getitimer", "pause", "restart_syscall",
	"select", "pselect6", "poll", "ppoll", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd",
	"eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"signalfd", "signalfd4",
	"socket", "socketpair", "connect", "accept", "accept4", "bind",
	"listen", "getsockname", "getpeername", "setsockopt", "getsockopt",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	"shutdown",
	"clone", "clone3", "exit", "exit_group", "wait4", "waitid", "futex",
	"futex_waitv", "set_robust_list", "get_robust_list", "set_tid_address",
	"rseq", "arch_prctl", "prctl", "sched_yield", "sched_getaffinity",
	"sched_setaffinity", "sched_getparam", "sched_getscheduler",
	"sched_setscheduler", "sched_get_priority_max",
	"sched_get_priority_min", "getpriority", "setpriority",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getresuid", "getresgid", "getgroups", "getpgrp", "getpgid",
	"getsid", "uname", "sysinfo", "getrlimit", "setrlimit", "prlimit64",
	"getrusage", "times", "capget",
	"gettimeofday", "clock_gettime", "clock_getres", "clock_nanosleep",
	"nanosleep", "time", "getrandom", "inotify_init1",
	"inotify_add_watch", "inotify_rm_watch",
};

int
sandbox_seccomp(const struct sandbox_profile *p)
{
	scmp_filter_ctx	 ctx;
	uint32_t	 deflt = SCMP_ACT_KILL_PROCESS;
	size_t		 i;
	int		 nr, rc;

	if (SANDBOX_ASAN) {
		log_warnx("%s: seccomp skipped under AddressSanitizer",
		    p->name);
		return 0;
	}
	if (sandbox_env_on("CFGW_NO_SECCOMP")) {
		log_warnx("%s: seccomp disabled by CFGW_NO_SECCOMP", p->name);
		return 0;
	}
	if (sandbox_env_on("CFGW_SECCOMP_LOG"))
		deflt = SCMP_ACT_LOG;
	if ((ctx = seccomp_init(deflt)) == NULL) {
		log_warnx("%s: seccomp_init failed", p->name);
		return -1;
	}
	/* Threads already exist (libzmq, ZAP): filter them all. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (i = 0; rc == 0 && i < sizeof(sandbox_syscalls) /
	    sizeof(sandbox_syscalls[0]); i++) {
		nr = seccomp_syscall_resolve_name(sandbox_syscalls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	/* kill(2) only on ourselves (raise, abort). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		log_warnx("%s: seccomp: %s", p->name, strerror(-rc));
		return -1;
	}
	log_debug("%s: seccomp filter loaded", p->name);
	return 0;
}
