/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config: cfgwd's command line (DESIGN.md section 6) and the directories
 * it prepares before any worker starts.  Every mistake gets one clear
 * line; `cfgwd -n` runs the same checks without creating anything.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgwd.h"
#include "log.h"

enum {
	OPT_KUBECONFIG = 256, OPT_CONTEXT, OPT_CF_URL, OPT_CLUSTER,
	OPT_DOMAIN, OPT_LOG_DIR, OPT_LOG_FORMAT, OPT_METRICS, OPT_HEALTH,
	OPT_RUNTIME, OPT_TUNNEL_IMAGE, OPT_PROXY_IMAGE, OPT_NAMESPACE,
	OPT_LIBEXEC, OPT_QPS, OPT_BURST, OPT_BUDGET, OPT_LEADER,
	OPT_LEASE_NS, OPT_LEASE_ID, OPT_LEASE_DUR, OPT_LEASE_RENEW,
	OPT_LEASE_RETRY,
};

static const struct option config_opts[] = {
	{ "kubeconfig",		required_argument, NULL, OPT_KUBECONFIG },
	{ "context",		required_argument, NULL, OPT_CONTEXT },
	{ "cloudflare-api-url",	required_argument, NULL, OPT_CF_URL },
	{ "cluster-name",	required_argument, NULL, OPT_CLUSTER },
	{ "cluster-domain",	required_argument, NULL, OPT_DOMAIN },
	{ "log-dir",		required_argument, NULL, OPT_LOG_DIR },
	{ "log-format",		required_argument, NULL, OPT_LOG_FORMAT },
	{ "metrics-addr",	required_argument, NULL, OPT_METRICS },
	{ "health-addr",	required_argument, NULL, OPT_HEALTH },
	{ "runtime-dir",	required_argument, NULL, OPT_RUNTIME },
	{ "tunnel-image",	required_argument, NULL, OPT_TUNNEL_IMAGE },
	{ "proxy-image",	required_argument, NULL, OPT_PROXY_IMAGE },
	{ "controller-namespace", required_argument, NULL, OPT_NAMESPACE },
	{ "libexec-dir",	required_argument, NULL, OPT_LIBEXEC },
	{ "kube-qps",		required_argument, NULL, OPT_QPS },
	{ "kube-burst",		required_argument, NULL, OPT_BURST },
	{ "cf-budget",		required_argument, NULL, OPT_BUDGET },
	{ "leader-elect",	no_argument,	   NULL, OPT_LEADER },
	{ "leader-election-namespace", required_argument, NULL, OPT_LEASE_NS },
	{ "leader-election-id",	required_argument, NULL, OPT_LEASE_ID },
	{ "leader-election-lease-duration", required_argument, NULL,
	    OPT_LEASE_DUR },
	{ "leader-election-renew-deadline", required_argument, NULL,
	    OPT_LEASE_RENEW },
	{ "leader-election-retry-period", required_argument, NULL,
	    OPT_LEASE_RETRY },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "check",		no_argument,	   NULL, 'n' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int	config_option(int);
static int	config_set(char *, size_t, const char *, const char *);
static int	config_absolute(char *, size_t, const char *);
static int	config_number(const char *, const char *, double, double,
		    double *);
static int	config_ms(const char *, const char *, long *);
static int	config_defaults(void);
static int	config_libexec(void);
static int	config_dir(const char *, const char *, int, int);
static unsigned long config_uid_base(void);

void
config_usage(int fd)
{
	dprintf(fd,
"usage: cfgwd --cluster-name NAME [options]\n"
"  --kubeconfig PATH            else $KUBECONFIG, else in-cluster\n"
"  --context NAME               kubeconfig context\n"
"  --cloudflare-api-url URL     else $CLOUDFLARE_API_URL, else\n"
"                               " CFGWD_DEFAULT_CF_URL "\n"
"  --cluster-name NAME          required; part of every tunnel name\n"
"  --cluster-domain DOMAIN      default " CFGWD_DEFAULT_DOMAIN "\n"
"  --log-dir DIR                DIR/<process>.log, one per process\n"
"  --log-format text|json       default text\n"
"  --health-addr HOST:PORT      /healthz /readyz (and /metrics)\n"
"  --metrics-addr HOST:PORT     /metrics (and the health endpoints)\n"
"  --runtime-dir DIR            IPC sockets, mode 0700\n"
"  --tunnel-image IMAGE         cloudflared image\n"
"  --proxy-image IMAGE          cfgw-proxy image\n"
"  --controller-namespace NS    default " CFGWD_DEFAULT_NAMESPACE "\n"
"  --libexec-dir DIR            where the workers are\n"
"  --kube-qps N --kube-burst N  Kubernetes client rate limit\n"
"  --cf-budget N                Cloudflare requests per 5 minutes\n"
"  --leader-elect               run the workers only while holding a Lease\n"
"  --leader-election-namespace NS  the Lease's; default the controller's\n"
"  --leader-election-id NAME    default " CFGWD_DEFAULT_LEASE "\n"
"  --leader-election-lease-duration D  default 35s (\"35s\", \"500ms\")\n"
"  --leader-election-renew-deadline D  default 30s\n"
"  --leader-election-retry-period D    default 5s\n"
"  -n, --check                  check the configuration and exit\n"
"  -v, --verbose                debug logging\n"
"  -h, --help                   this text\n");
}

static int
config_set(char *dst, size_t sz, const char *src, const char *what)
{
	if (strlen(src) >= sz) {
		fprintf(stderr, "cfgwd: %s: too long\n", what);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

static int
config_absolute(char *path, size_t sz, const char *what)
{
	char	 cwd[PATH_MAX], tmp[PATH_MAX * 2];

	if (path[0] == '\0' || path[0] == '/')
		return 0;
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		fprintf(stderr, "cfgwd: getcwd: %s\n", strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
	return config_set(path, sz, tmp, what);
}

static int
config_number(const char *s, const char *what, double lo, double hi,
    double *out)
{
	char	*end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || *out < lo || *out > hi) {
		fprintf(stderr, "cfgwd: %s: want a number in [%g, %g], got "
		    "\"%s\"\n", what, lo, hi, s);
		return -1;
	}
	return 0;
}

/* A duration: "35s", "500ms" or plain seconds, 0.1 s to 1 h. */
static int
config_ms(const char *s, const char *what, long *out)
{
	char	 num[32];
	size_t	 n = strlen(s);
	double	 d, scale = 1000;

	if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
		n -= 2;
		scale = 1;
	} else if (n > 1 && s[n - 1] == 's')
		n--;
	if (n == 0 || n >= sizeof(num)) {
		fprintf(stderr, "cfgwd: %s: want a duration like 35s, got "
		    "\"%s\"\n", what, s);
		return -1;
	}
	memcpy(num, s, n);
	num[n] = '\0';
	if (config_number(num, what, 0.1 * 1000 / scale, 3600 * 1000 / scale,
	    &d) == -1)
		return -1;
	*out = (long)(d * scale);
	return 0;
}

/* The options that just store a string. */
static const struct {
	int		 opt;
	size_t		 off;	/* into cfgwd */
	size_t		 size;
	const char	*flag;
} config_strs[] = {
#define C(o, f, flag)	{ o, offsetof(struct cfgwd_state, f), \
			  sizeof(((struct cfgwd_state *)0)->f), flag }
	C(OPT_KUBECONFIG, cfg.kubeconfig, "--kubeconfig"),
	C(OPT_CONTEXT, cfg.kube_context, "--context"),
	C(OPT_CF_URL, cfg.cloudflare_api_url, "--cloudflare-api-url"),
	C(OPT_CLUSTER, cfg.cluster_name, "--cluster-name"),
	C(OPT_DOMAIN, cfg.cluster_domain, "--cluster-domain"),
	C(OPT_LOG_DIR, cfg.log_dir, "--log-dir"),
	C(OPT_LOG_FORMAT, cfg.log_format, "--log-format"),
	C(OPT_METRICS, metrics_addr, "--metrics-addr"),
	C(OPT_HEALTH, health_addr, "--health-addr"),
	C(OPT_RUNTIME, cfg.runtime_dir, "--runtime-dir"),
	C(OPT_TUNNEL_IMAGE, cfg.tunnel_image, "--tunnel-image"),
	C(OPT_PROXY_IMAGE, cfg.proxy_image, "--proxy-image"),
	C(OPT_NAMESPACE, cfg.controller_namespace, "--controller-namespace"),
	C(OPT_LIBEXEC, libexec_dir, "--libexec-dir"),
	C(OPT_LEASE_NS, lease_ns, "--leader-election-namespace"),
	C(OPT_LEASE_ID, lease_id, "--leader-election-id"),
#undef C
};

static int
config_option(int ch)
{
	struct worker_config *c = &cfgwd.cfg;
	double		 d;
	size_t		 i;

	for (i = 0; i < sizeof(config_strs) / sizeof(config_strs[0]); i++)
		if (config_strs[i].opt == ch)
			return config_set((char *)&cfgwd + config_strs[i].off,
			    config_strs[i].size, optarg, config_strs[i].flag);
	switch (ch) {
	case OPT_QPS:
		return config_number(optarg, "--kube-qps", 0.1, 10000,
		    &c->kube_qps);
	case OPT_BURST:
		if (config_number(optarg, "--kube-burst", 1, 100000, &d) == -1)
			return -1;
		c->kube_burst = (int)d;
		return 0;
	case OPT_BUDGET:
		if (config_number(optarg, "--cf-budget", 1, 1000000, &d) == -1)
			return -1;
		c->cf_budget = (int)d;
		return 0;
	case OPT_LEADER:
		cfgwd.leader_elect = 1;
		return 0;
	case OPT_LEASE_DUR:
		return config_ms(optarg, "--leader-election-lease-duration",
		    &cfgwd.lease_ms);
	case OPT_LEASE_RENEW:
		return config_ms(optarg, "--leader-election-renew-deadline",
		    &cfgwd.renew_ms);
	case OPT_LEASE_RETRY:
		return config_ms(optarg, "--leader-election-retry-period",
		    &cfgwd.retry_ms);
	case 'v':
		c->verbose = 1;
		return 0;
	case 'n':
		cfgwd.check_only = 1;
		return 0;
	case 'h':
		config_usage(STDOUT_FILENO);
		exit(0);
	}
	config_usage(STDERR_FILENO);
	return -1;
}

/* Fills cfgwd from argv; -1 after printing one clear line. */
int
config_parse(int argc, char **argv)
{
	enum log_format	 fmt;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "hnv", config_opts, NULL)) != -1)
		if (config_option(ch) == -1)
			return -1;
	if (optind < argc) {
		fprintf(stderr, "cfgwd: unexpected argument \"%s\"\n",
		    argv[optind]);
		return -1;
	}
	if (cfgwd.cfg.log_format[0] != '\0' &&
	    log_format_parse(cfgwd.cfg.log_format, &fmt) == -1) {
		fprintf(stderr, "cfgwd: --log-format: want text or json\n");
		return -1;
	}
	return config_defaults();
}

static int
config_defaults(void)
{
	struct worker_config *c = &cfgwd.cfg;
	const char	*e;
	char		 tmp[512];

	if (c->kubeconfig[0] == '\0' && (e = getenv("KUBECONFIG")) != NULL &&
	    *e != '\0') {
		/* A list: the first file is the one we use. */
		snprintf(tmp, sizeof(tmp), "%s", e);
		tmp[strcspn(tmp, ":")] = '\0';
		if (config_set(c->kubeconfig, sizeof(c->kubeconfig), tmp,
		    "$KUBECONFIG") == -1)
			return -1;
	}
	if (c->cloudflare_api_url[0] == '\0')
		snprintf(c->cloudflare_api_url, sizeof(c->cloudflare_api_url),
		    "%s", (e = getenv("CLOUDFLARE_API_URL")) && *e ? e :
		    CFGWD_DEFAULT_CF_URL);
	if (strncmp(c->cloudflare_api_url, "https://", 8) != 0 &&
	    strncmp(c->cloudflare_api_url, "http://", 7) != 0) {
		fprintf(stderr, "cfgwd: --cloudflare-api-url: want an http(s) "
		    "URL, got \"%s\"\n", c->cloudflare_api_url);
		return -1;
	}
	if (c->cluster_name[0] == '\0') {
		fprintf(stderr, "cfgwd: --cluster-name is required\n");
		return -1;
	}
	if (strchr(c->cluster_name, '/') != NULL) {
		fprintf(stderr, "cfgwd: --cluster-name: no '/' allowed\n");
		return -1;
	}
#define DEF(f, v) do { if (c->f[0] == '\0') \
	snprintf(c->f, sizeof(c->f), "%s", v); } while (0)
	DEF(cluster_domain, CFGWD_DEFAULT_DOMAIN);
	DEF(log_format, "text");
	DEF(tunnel_image, CFGWD_DEFAULT_TUNNEL_IMAGE);
	DEF(proxy_image, CFGWD_DEFAULT_PROXY_IMAGE);
	DEF(controller_namespace, CFGWD_DEFAULT_NAMESPACE);
#undef DEF
	if (cfgwd.lease_ns[0] == '\0')
		snprintf(cfgwd.lease_ns, sizeof(cfgwd.lease_ns), "%s",
		    c->controller_namespace);
	if (cfgwd.lease_id[0] == '\0')
		snprintf(cfgwd.lease_id, sizeof(cfgwd.lease_id), "%s",
		    CFGWD_DEFAULT_LEASE);
	if (cfgwd.lease_ms == 0)
		cfgwd.lease_ms = 35000;
	if (cfgwd.renew_ms == 0)
		cfgwd.renew_ms = 30000;
	if (cfgwd.retry_ms == 0)
		cfgwd.retry_ms = 5000;
	if (cfgwd.retry_ms >= cfgwd.renew_ms ||
	    cfgwd.renew_ms >= cfgwd.lease_ms) {
		fprintf(stderr, "cfgwd: leader election: want retry period < "
		    "renew deadline < lease duration\n");
		return -1;
	}
	if (c->kube_qps == 0)
		c->kube_qps = CFGWD_DEFAULT_QPS;
	if (c->kube_burst == 0)
		c->kube_burst = CFGWD_DEFAULT_BURST;
	if (c->cf_budget == 0)
		c->cf_budget = CFGWD_DEFAULT_CF_BUDGET;
	if (c->runtime_dir[0] == '\0') {
		if ((e = getenv("XDG_RUNTIME_DIR")) != NULL && *e == '/')
			snprintf(tmp, sizeof(tmp), "%s/cfgw", e);
		else if (geteuid() == 0)
			snprintf(tmp, sizeof(tmp), "/run/cfgw");
		else
			snprintf(tmp, sizeof(tmp), "/tmp/cfgw-%lu",
			    (unsigned long)geteuid());
		if (config_set(c->runtime_dir, sizeof(c->runtime_dir), tmp,
		    "runtime dir") == -1)
			return -1;
	}
	if (config_absolute(c->runtime_dir, sizeof(c->runtime_dir),
	    "--runtime-dir") == -1 ||
	    config_absolute(c->log_dir, sizeof(c->log_dir), "--log-dir") == -1
	    || config_absolute(c->kubeconfig, sizeof(c->kubeconfig),
	    "--kubeconfig") == -1)
		return -1;
	/* sun_path: the longest endpoint is watcher-snap.sock. */
	if (strlen(c->runtime_dir) + sizeof("/watcher-snap.sock") > 108) {
		fprintf(stderr, "cfgwd: --runtime-dir %s: too long for a "
		    "UNIX socket path\n", c->runtime_dir);
		return -1;
	}
	return config_libexec();
}

/* --libexec-dir, else $CFGW_LIBEXEC_DIR, else <exe>/../libexec/cfgw. */
static int
config_libexec(void)
{
	char	 exe[PATH_MAX], tmp[PATH_MAX + 32], *slash;
	ssize_t	 n;

	if (cfgwd.libexec_dir[0] != '\0')
		return config_absolute(cfgwd.libexec_dir,
		    sizeof(cfgwd.libexec_dir), "--libexec-dir");
	if (getenv("CFGW_LIBEXEC_DIR") != NULL &&
	    *getenv("CFGW_LIBEXEC_DIR") != '\0') {
		if (config_set(cfgwd.libexec_dir, sizeof(cfgwd.libexec_dir),
		    getenv("CFGW_LIBEXEC_DIR"), "$CFGW_LIBEXEC_DIR") == -1)
			return -1;
		return config_absolute(cfgwd.libexec_dir,
		    sizeof(cfgwd.libexec_dir), "$CFGW_LIBEXEC_DIR");
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			snprintf(tmp, sizeof(tmp), "%s/../libexec/cfgw", exe);
			if (access(tmp, X_OK) == 0)
				return config_set(cfgwd.libexec_dir,
				    sizeof(cfgwd.libexec_dir), tmp,
				    "libexec dir");
		}
	}
	return config_set(cfgwd.libexec_dir, sizeof(cfgwd.libexec_dir),
	    CFGWD_LIBEXEC_FALLBACK, "libexec dir");
}

/* CFGW_WORKER_UID_BASE (lib/sandbox.h), when root; else 0. */
static unsigned long
config_uid_base(void)
{
	const char	*s = getenv("CFGW_WORKER_UID_BASE");
	char		*end;
	unsigned long	 v;

	if (geteuid() != 0 || s == NULL || *s == '\0')
		return 0;
	v = strtoul(s, &end, 10);
	return *end == '\0' && v <= 0x7fff0000UL ? v : 0;
}

/*
 * An existing directory must be ours and closed to others (`private`) or
 * at least not writable by others.  With `create` a missing one is made.
 */
static int
config_dir(const char *path, const char *what, int private, int create)
{
	struct stat	 st;
	mode_t		 mode = private ? 0700 : 0750;
	mode_t		 open_bits = private ? 077 : 002;

	/* Workers with their own uids share the runtime dir by group. */
	if (private && config_uid_base() != 0)
		open_bits = 007;

	if (lstat(path, &st) == -1) {
		if (errno != ENOENT) {
			fprintf(stderr, "cfgwd: %s %s: %s\n", what, path,
			    strerror(errno));
			return -1;
		}
		if (!create)
			return 0;	/* -n: would be created */
		if (mkdir(path, mode) == -1 || lstat(path, &st) == -1) {
			fprintf(stderr, "cfgwd: cannot create %s %s: %s\n",
			    what, path, strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cfgwd: %s %s: not a directory\n", what, path);
		return -1;
	}
	if (private && st.st_uid != geteuid()) {
		fprintf(stderr, "cfgwd: %s %s: owned by uid %lu, not us "
		    "(uid %lu)\n", what, path, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		return -1;
	}
	if (st.st_mode & open_bits) {
		fprintf(stderr, "cfgwd: %s %s: mode %04o is too open "
		    "(want %04o)\n", what, path,
		    (unsigned)(st.st_mode & 07777), (unsigned)mode);
		return -1;
	}
	return 0;
}

/* Check everything; with `create`, make the directories.  0 or -1. */
int
config_prepare(int create)
{
	const struct worker_config *c = &cfgwd.cfg;
	char		 path[PATH_MAX + 64];
	int		 i;

	if (c->kubeconfig[0] != '\0' && access(c->kubeconfig, R_OK) == -1) {
		fprintf(stderr, "cfgwd: kubeconfig %s: %s\n", c->kubeconfig,
		    strerror(errno));
		return -1;
	}
	if (c->kubeconfig[0] == '\0' &&
	    (getenv("KUBERNETES_SERVICE_HOST") == NULL ||
	    access("/var/run/secrets/kubernetes.io/serviceaccount/token",
	    R_OK) == -1)) {
		fprintf(stderr, "cfgwd: no --kubeconfig, no $KUBECONFIG, and "
		    "not in a cluster (no service account)\n");
		return -1;
	}
	for (i = 1; i < PROC_MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", cfgwd.libexec_dir,
		    proc_name((enum proc_id)i));
		if (access(path, X_OK) == -1) {
			fprintf(stderr, "cfgwd: worker %s: %s (set "
			    "--libexec-dir)\n", path, strerror(errno));
			return -1;
		}
	}
	if (config_dir(c->runtime_dir, "runtime dir", 1, create) == -1)
		return -1;
	if (create && config_uid_base() != 0 &&
	    (chown(c->runtime_dir, 0, (gid_t)config_uid_base()) == -1 ||
	    chmod(c->runtime_dir, 0770) == -1)) {
		fprintf(stderr, "cfgwd: runtime dir %s: %s\n", c->runtime_dir,
		    strerror(errno));
		return -1;
	}
	if (c->log_dir[0] != '\0' &&
	    config_dir(c->log_dir, "log dir", 0, create) == -1)
		return -1;
	return 0;
}
