/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfgw-proxy: the data-plane reverse proxy that runs beside cloudflared in
 * each tunnel pod.  It loads the route table the reconciler compiles
 * (docs/route-table.md), routes every request by the Gateway API rules and
 * forwards it to the chosen Service over HTTP/1.1, h2c or WebSocket.
 *
 * It must never: listen on anything but the addresses it is given, buffer
 * a whole request or response body, trust a malformed request, or drop its
 * last good table because a new one is bad.  See docs/proxy.md.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <event2/dns.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "proxy.h"

__thread struct px	*px;
static struct px	 px_state;
static struct stat	 routes_st;
static int		 routes_seen;

static void	 usage(int) __attribute__((noreturn));
static void	 px_reload(int);
static void	 px_tick(evutil_socket_t, short, void *);
static void	 px_signal(evutil_socket_t, short, void *);
static int	 intarg(const char *, int, int);
static void	 px_nofile(void);
static void	 px_resolve_add(struct px_config *, const char *);

static void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
"usage: cfgw-proxy [options]\n"
"  --routes-file PATH        route table file (reloaded on change)\n"
"  --routes-configmap NS/NAME  watch the table in a ConfigMap\n"
"  --kubeconfig PATH         kubeconfig for --routes-configmap\n"
"  --http-addr ADDR          plain listener (default " PX_DEFAULT_HTTP ")\n"
"  --https-addr ADDR         TLS listener (default " PX_DEFAULT_HTTPS
    "; \"\" off)\n"
"  --admin-addr ADDR         /healthz /readyz /metrics (default "
    PX_DEFAULT_ADMIN ")\n"
"  --tls-cert FILE --tls-key FILE  certificate (default: self-signed)\n"
"  --cluster-domain DOMAIN   (default cluster.local)\n"
"  --max-connections N       concurrent client connections (default 4096)\n"
"  --header-timeout MS       time to send a request head (default 10000)\n"
"  --idle-timeout MS         keep-alive idle time (default 60000)\n"
"  --upstream-timeout MS     backend response head (default 60000)\n"
"  --upstream-max-requests N requests per backend connection (default 100)\n"
"  --upstream-max-age MS     backend connection lifetime (default 10000)\n"
"  --drain-timeout MS        SIGTERM grace for in-flight requests "
    "(default 20000)\n"
"  --resolve NAME:PORT:ADDR:PORT  connect to ADDR:PORT for backend "
    "NAME:PORT\n"
"  --threads N               event-loop threads (default: online CPUs)\n"
"  --session-key-file FILE   key for session persistence values "
    "(default: $CFGW_SESSION_KEY, else random)\n"
"  --access-log PATH|-       JSON lines access log\n"
"  --log-format text|json    -v verbose    --help\n");
	exit(status);
}

struct table *
px_table_get(void)
{
	return table_ref(px->table);
}

/* Install a new table; in-flight requests keep their reference. */
void
px_table_set(struct table *tb, const char *source)
{
	struct table	*old = px->table;

	metrics_bind(tb);
	px->table = tb;
	px->m.table_generation++;
	px->m.table_loaded = time(NULL);
	px->m.reload_ok++;
	log_info("route table loaded from %s: version %s, generation %.16s, "
	    "%zu hosts, %zu rules", source, tb->version, tb->generation,
	    tb->nhosts, tb->nrules);
	px_threads_table(tb);
	table_unref(old);
}

void
px_table_reject(const char *source, const char *err)
{
	px->m.reload_fail++;
	log_warnx("route table from %s rejected (keeping the previous one): "
	    "%s", source, err);
}

static void
px_reload(int force)
{
	struct stat	 st;
	struct table	*tb;
	char		 err[512];

	if (stat(px->cf.routes_file, &st) == -1) {
		if (routes_seen != -1)
			log_warn("stat %s", px->cf.routes_file);
		routes_seen = -1;
		return;
	}
	if (!force && routes_seen == 1 && st.st_ino == routes_st.st_ino &&
	    st.st_dev == routes_st.st_dev && st.st_size == routes_st.st_size &&
	    st.st_mtim.tv_sec == routes_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == routes_st.st_mtim.tv_nsec)
		return;
	routes_st = st;
	routes_seen = 1;
	if ((tb = table_load_file(px->cf.routes_file, err, sizeof(err))) ==
	    NULL) {
		px_table_reject(px->cf.routes_file, err);
		return;
	}
	px_table_set(tb, px->cf.routes_file);
}

static void
px_tick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (px->cf.routes_file != NULL)
		px_reload(0);
	px_threads_trim();
}

static struct timeval	drain_start;

static void
px_drain_check(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	 now, d;

	(void)fd;
	(void)ev;
	(void)arg;
	event_base_gettimeofday_cached(px->base, &now);
	timersub(&now, &drain_start, &d);
	if (px_threads_inflight() > 0 &&
	    d.tv_sec * 1000 + d.tv_usec / 1000 < px->cf.drain_ms)
		return;
	log_info("drained (%d requests left): exiting",
	    px_threads_inflight());
	event_base_loopexit(px->base, NULL);
}

/*
 * SIGTERM/SIGINT: stop accepting, mark not ready, let in-flight requests
 * finish for up to --drain-timeout, then exit.  A second signal exits now.
 */
static void
px_signal(evutil_socket_t sig, short ev, void *arg)
{
	static struct event	*check;
	struct timeval		 tv = { 0, 100000 };

	(void)ev;
	(void)arg;
	if (sig == SIGHUP) {
		if (px->cf.routes_file != NULL)
			px_reload(1);
		return;
	}
	if (px->draining || px->cf.drain_ms == 0) {
		log_info("signal %d: exiting", (int)sig);
		event_base_loopexit(px->base, NULL);
		return;
	}
	log_info("signal %d: draining %d requests", (int)sig,
	    px_threads_inflight());
	px->draining = 1;
	px_threads_drain();
	listener_close_all();
	event_base_gettimeofday_cached(px->base, &drain_start);
	if ((check = event_new(px->base, -1, EV_PERSIST, px_drain_check,
	    NULL)) == NULL) {
		event_base_loopexit(px->base, NULL);
		return;
	}
	event_add(check, &tv);
}

/* NAME:PORT:ADDR:PORT; ADDR is numeric ([v6] allowed). */
static void
px_resolve_add(struct px_config *cf, const char *arg)
{
	struct px_resolve	*r;
	char			*s, *p1, *a, *p2;

	if ((s = strdup(arg)) == NULL)
		fatal("strdup");
	if ((p1 = strchr(s, ':')) == NULL || (p2 = strrchr(s, ':')) == p1) {
		fprintf(stderr, "cfgw-proxy: --resolve NAME:PORT:ADDR:PORT\n");
		exit(2);
	}
	*p1++ = '\0';
	*p2++ = '\0';
	if ((a = strchr(p1, ':')) == NULL) {
		fprintf(stderr, "cfgw-proxy: --resolve NAME:PORT:ADDR:PORT\n");
		exit(2);
	}
	*a++ = '\0';
	if (*a == '[' && a[strlen(a) - 1] == ']') {
		a[strlen(a) - 1] = '\0';
		a++;
	}
	r = reallocarray(cf->resolve, cf->nresolve + 1, sizeof(*r));
	if (r == NULL)
		fatal("reallocarray");
	cf->resolve = r;
	r = &cf->resolve[cf->nresolve++];
	r->name = s;
	r->port = intarg(p1, 1, 65535);
	r->addr = a;
	r->to_port = intarg(p2, 1, 65535);
}

/*
 * Where to connect for backend host:port: a --resolve override, else the
 * name itself -- made absolute (trailing dot) when it ends in the cluster
 * domain, so the resolver does not first walk the pod's search list
 * (ndots:5 would try name.<ns>.svc.cluster.local and friends first).
 */
void
px_backend_addr(const char *host, int port, char *addr, size_t sz, int *to)
{
	size_t	 i, hl = strlen(host), dl = strlen(px->cf.cluster_domain);

	*to = port;
	for (i = 0; i < px->cf.nresolve; i++)
		if (px->cf.resolve[i].port == port &&
		    strcasecmp(px->cf.resolve[i].name, host) == 0) {
			snprintf(addr, sz, "%s", px->cf.resolve[i].addr);
			*to = px->cf.resolve[i].to_port;
			return;
		}
	if (dl > 0 && hl > dl + 1 && host[hl - dl - 1] == '.' &&
	    strcasecmp(host + hl - dl, px->cf.cluster_domain) == 0)
		snprintf(addr, sz, "%s.", host);
	else
		snprintf(addr, sz, "%s", host);
}

/* Each client may need a backend socket too: raise the fd limit. */
static void
px_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
intarg(const char *s, int min, int max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < min || v > max) {
		fprintf(stderr, "cfgw-proxy: bad number \"%s\"\n", s);
		exit(2);
	}
	return v;
}

static void
px_options(int argc, char **argv, enum log_format *fmt, int *verbose)
{
	static const struct option opts[] = {
		{ "routes-file", required_argument, NULL, 'f' },
		{ "routes-configmap", required_argument, NULL, 'c' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "http-addr", required_argument, NULL, 'H' },
		{ "https-addr", required_argument, NULL, 'S' },
		{ "admin-addr", required_argument, NULL, 'A' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "cluster-domain", required_argument, NULL, 'd' },
		{ "max-connections", required_argument, NULL, 'm' },
		{ "header-timeout", required_argument, NULL, 1 },
		{ "idle-timeout", required_argument, NULL, 2 },
		{ "upstream-timeout", required_argument, NULL, 3 },
		{ "upstream-max-requests", required_argument, NULL, 4 },
		{ "upstream-max-age", required_argument, NULL, 5 },
		{ "drain-timeout", required_argument, NULL, 6 },
		{ "resolve", required_argument, NULL, 7 },
		{ "threads", required_argument, NULL, 10 },
		{ "session-key-file", required_argument, NULL, 8 },
		{ "access-log", required_argument, NULL, 9 },
		{ "log-format", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct px_config	*cf = &px->cf;
	int			 ch;

	while ((ch = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': cf->routes_file = optarg; break;
		case 'c': cf->routes_configmap = optarg; break;
		case 'k': cf->kubeconfig = optarg; break;
		case 'H': cf->http_addr = optarg; break;
		case 'S': cf->https_addr = optarg; break;
		case 'A': cf->admin_addr = optarg; break;
		case 'C': cf->tls_cert = optarg; break;
		case 'K': cf->tls_key = optarg; break;
		case 'd': cf->cluster_domain = optarg; break;
		case 'm': cf->max_connections = intarg(optarg, 1, 1000000);
			break;
		case 1: cf->header_timeout_ms = intarg(optarg, 1, 3600000);
			break;
		case 2: cf->idle_timeout_ms = intarg(optarg, 1, 3600000);
			break;
		case 3: cf->response_timeout_ms = intarg(optarg, 1, 86400000);
			break;
		case 4: cf->up_max_requests = intarg(optarg, 1, 1000000);
			break;
		case 5: cf->up_max_age_ms = intarg(optarg, 0, 86400000);
			break;
		case 6: cf->drain_ms = intarg(optarg, 0, 3600000);
			break;
		case 7: px_resolve_add(cf, optarg);
			break;
		case 10: cf->threads = intarg(optarg, 0, 64);
			break;
		case 8: cf->session_key_file = optarg; break;
		case 9: cf->access_log = optarg; break;
		case 'l':
			if (log_format_parse(optarg, fmt) == -1)
				usage(2);
			break;
		case 'v': (*verbose)++; break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if (cf->routes_file != NULL && cf->routes_configmap != NULL) {
		fprintf(stderr, "cfgw-proxy: --routes-file and "
		    "--routes-configmap are exclusive\n");
		exit(2);
	}
	if ((cf->tls_cert == NULL) != (cf->tls_key == NULL)) {
		fprintf(stderr, "cfgw-proxy: --tls-cert needs --tls-key\n");
		exit(2);
	}
}

static void
px_defaults(struct px_config *cf)
{
	cf->http_addr = PX_DEFAULT_HTTP;
	cf->https_addr = PX_DEFAULT_HTTPS;
	cf->admin_addr = PX_DEFAULT_ADMIN;
	cf->cluster_domain = "cluster.local";
	cf->max_connections = 4096;
	cf->header_timeout_ms = 10000;
	cf->idle_timeout_ms = 60000;
	cf->connect_timeout_ms = 5000;
	cf->response_timeout_ms = 60000;
	cf->up_max_requests = 100;
	cf->up_max_age_ms = 10000;
	cf->up_idle_ms = 30000;
	cf->drain_ms = 20000;
}

int
main(int argc, char **argv)
{
	enum log_format	 fmt = LOG_FORMAT_TEXT;
	int		 verbose = 0;
	struct event	*tick, *sig[3];
	struct timeval	 sec = { 1, 0 };
	int		 i, sigs[3] = { SIGTERM, SIGINT, SIGHUP };

	px_mem_init();
	px = &px_state;
	px_defaults(&px->cf);
	px_nofile();
	px_options(argc, argv, &fmt, &verbose);
	log_init("cfgw-proxy", NULL, fmt, verbose);
	signal(SIGPIPE, SIG_IGN);
	if (session_init(px->cf.session_key_file) == -1)
		fatalx("no usable session key");
	if (accesslog_open(px->cf.access_log) == -1)
		fatalx("cannot open the access log");
	if ((px->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if ((px->dns = px_dns_new(px->base)) == NULL)
		fatalx("evdns_base_new failed");
	if (px->cf.https_addr[0] != '\0' &&
	    tls_init(px->cf.tls_cert, px->cf.tls_key) == -1)
		fatalx("TLS setup failed");
	if (listener_open(px->cf.http_addr, 0) == -1 ||
	    (px->cf.https_addr[0] != '\0' &&
	    listener_open(px->cf.https_addr, 1) == -1) ||
	    admin_open(px->cf.admin_addr) == -1)
		fatalx("cannot open listeners");
	if (px->cf.routes_file != NULL)
		px_reload(1);
	else if (px->cf.routes_configmap != NULL &&
	    cm_watch_start(px->cf.routes_configmap, px->cf.kubeconfig) == -1)
		fatalx("cannot watch ConfigMap %s", px->cf.routes_configmap);
	else if (px->cf.routes_configmap == NULL)
		log_warnx("no --routes-file or --routes-configmap: every "
		    "request gets 503");
	if (px->cf.threads == 0 &&
	    (px->cf.threads = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		px->cf.threads = 1;
	if (px_threads_start(px->cf.threads) == -1)
		fatalx("cannot start %d threads", px->cf.threads);
	log_info("%d threads", px_threads_count());
	tick = event_new(px->base, -1, EV_PERSIST, px_tick, NULL);
	event_add(tick, &sec);
	for (i = 0; i < 3; i++) {
		sig[i] = evsignal_new(px->base, sigs[i], px_signal, NULL);
		event_add(sig[i], NULL);
	}
	event_base_dispatch(px->base);
	for (i = 0; i < 3; i++)
		event_free(sig[i]);
	event_free(tick);
	up_h1_pool_flush();
	cm_watch_stop();
	table_unref(px->table);
	return 0;
}
