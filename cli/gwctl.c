/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gwctl: shared by the cfgwctl commands that act on one Gateway (suspend,
 * resume, reconcile, rotate, watch): arguments, reading the Gateway and
 * its class, annotation patches and time helpers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"
#include "json.h"
#include "kube.h"
#include "route.h"

#define GWCTL_PATCH_TRIES	5

/* "true"/"false"/"1"/"0" as cobra's bool flags take them; -1 if neither. */
static int
gwctl_bool(const char *s)
{
	if (s == NULL || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		return 1;
	if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		return 0;
	return -1;
}

static int
gwctl_flag(struct gwctl *g, int ch, int flags, char *argv[])
{
	long long	 ms;

	switch (ch) {
	case 'n': g->kf.ns = optarg; break;
	case 'k': g->kf.kubeconfig = optarg; break;
	case 'c': g->kf.context = optarg; break;
	case 'v': g->kf.verbose = 1; break;
	case 'W':
		g->wait = 0;
		break;
	case 'w':
		if (!(flags & (GWCTL_F_WAIT | GWCTL_F_WATCH))) {
			cli_usage_error(g->cmd, "no --wait here");
			return GWCTL_USAGE;
		}
		if ((g->wait = gwctl_bool(optarg)) == -1) {
			cli_usage_error(g->cmd, "--wait takes true or false");
			return GWCTL_USAGE;
		}
		break;
	case 't':
		ms = route_duration_ms(optarg);
		if (!(flags & GWCTL_F_TIMEOUT)) {
			cli_usage_error(g->cmd, "no --timeout here");
			return GWCTL_USAGE;
		}
		if (ms <= 0) {
			cli_usage_error(g->cmd, "--timeout: not a duration: %s "
			    "(e.g. 90s, 5m, 1h30m)", optarg);
			return GWCTL_USAGE;
		}
		g->timeout_ms = ms;
		break;
	default:
		if (optopt != 0 && optopt != 'w' && optopt != 't')
			cli_usage_error(g->cmd, "unknown option or missing "
			    "value: -%c", optopt);
		else
			cli_usage_error(g->cmd, "unknown option or missing "
			    "value: %s", argv[optind - 1]);
		return GWCTL_USAGE;
	}
	return -1;
}

int
gwctl_args(struct gwctl *g, int argc, char *argv[], int flags,
    void (*usage)(FILE *))
{
	static const struct option opts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'c' },
		{ "wait", optional_argument, NULL, 'w' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch, rc, npos;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "n:vh", opts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return GWCTL_OK;
		}
		if (ch == 'W' && !(flags & (GWCTL_F_WAIT | GWCTL_F_WATCH)))
			ch = '?';
		if ((rc = gwctl_flag(g, ch, flags, argv)) != -1) {
			usage(stderr);
			return rc;
		}
	}
	npos = flags & GWCTL_F_TOKEN ? 3 : 2;
	if (argc - optind != npos || (strcmp(argv[optind], "gateway") != 0 &&
	    strcmp(argv[optind], "gw") != 0) || (npos == 3 &&
	    strcmp(argv[optind + 1], "token") != 0)) {
		usage(stderr);
		return GWCTL_USAGE;
	}
	g->name = argv[optind + npos - 1];
	if (*g->name == '\0') {
		cli_usage_error(g->cmd, "empty Gateway name");
		return GWCTL_USAGE;
	}
	return -1;
}

int
gwctl_open(struct gwctl *g)
{
	if ((g->k = cli_kube_open(&g->kf)) == NULL)
		return GWCTL_FAIL;
	g->ns = cli_kube_ns(g->k, &g->kf);
	return GWCTL_OK;
}

void
gwctl_close(struct gwctl *g)
{
	if (g->k != NULL)
		kube_free(&g->k);
}

int
gwctl_get(struct gwctl *g, const char *kind, const char *name,
    yajl_val *out)
{
	const struct kube_res	*res = kube_res_lookup(kind);
	struct kube_resp	 resp;
	int			 rc;

	*out = NULL;
	memset(&resp, 0, sizeof(resp));
	if (res == NULL)
		return -1;
	if (kube_get(g->k, res, res->namespaced ? g->ns : NULL, name, 0,
	    &resp) == 0 && resp.json != NULL) {
		*out = resp.json;
		resp.json = NULL;
		rc = 1;
	} else if (resp.status == 404)
		rc = 0;
	else {
		fprintf(stderr, "cfgwctl %s: get %s %s%s%s: ", g->cmd, kind,
		    res->namespaced ? g->ns : "", res->namespaced ? "/" : "",
		    name);
		if (resp.status == 0)
			fprintf(stderr, "cannot reach the API server: %s\n",
			    resp.message);
		else
			fprintf(stderr, "%ld %s\n", resp.status,
			    resp.message[0] ? resp.message : resp.reason);
		rc = -1;
	}
	kube_resp_free(&resp);
	return rc;
}

const char *
gwctl_ann(yajl_val obj, const char *key)
{
	return json_str(json_path(obj, "metadata", "annotations", NULL), key);
}

int
gwctl_suspended(yajl_val gw)
{
	const char	*s = gwctl_ann(gw, GWCTL_ANN_RECONCILE);

	return s != NULL && strcmp(s, "disabled") == 0;
}

/* The status of condition type, or "Unknown" when absent. */
const char *
gwctl_cond(yajl_val obj, const char *type, const char **reason,
    const char **message)
{
	yajl_val	 cs = json_path(obj, "status", "conditions", NULL), c;
	const char	*t;
	size_t		 i;

	for (i = 0; i < json_len(cs); i++) {
		c = json_at(cs, i);
		if ((t = json_str(c, "type")) == NULL || strcmp(t, type) != 0)
			continue;
		if (reason != NULL)
			*reason = json_str(c, "reason");
		if (message != NULL)
			*message = json_str(c, "message");
		return json_str(c, "status") ? json_str(c, "status") :
		    "Unknown";
	}
	if (reason != NULL)
		*reason = NULL;
	if (message != NULL)
		*message = NULL;
	return "Unknown";
}

/* A condition is current when its observedGeneration is reached. */
int
gwctl_cond_current(yajl_val gw, const char *type)
{
	yajl_val	 cs = json_path(gw, "status", "conditions", NULL), c;
	long long	 gen = 0, og = -1;
	const char	*t;
	size_t		 i;

	(void)json_int(json_get(gw, "metadata"), "generation", &gen);
	for (i = 0; i < json_len(cs); i++) {
		c = json_at(cs, i);
		if ((t = json_str(c, "type")) != NULL &&
		    strcmp(t, type) == 0)
			(void)json_int(c, "observedGeneration", &og);
	}
	return og < 0 || og >= gen;
}

yajl_val
gwctl_gateway(struct gwctl *g)
{
	yajl_val	 gw, gc;
	const char	*cls, *cn;
	int		 found;

	if ((found = gwctl_get(g, "Gateway", g->name, &gw)) <= 0) {
		if (found == 0)
			fprintf(stderr, "cfgwctl %s: Gateway %s/%s not found\n",
			    g->cmd, g->ns, g->name);
		return NULL;
	}
	cls = json_str(json_get(gw, "spec"), "gatewayClassName");
	if (cls == NULL || *cls == '\0') {
		fprintf(stderr, "cfgwctl %s: Gateway %s/%s has no "
		    "gatewayClassName\n", g->cmd, g->ns, g->name);
		json_free(&gw);
		return NULL;
	}
	if ((found = gwctl_get(g, "GatewayClass", cls, &gc)) <= 0) {
		if (found == 0)
			fprintf(stderr, "cfgwctl %s: Gateway %s/%s: its "
			    "GatewayClass %s does not exist, so it is not "
			    "managed by cfgw\n", g->cmd, g->ns, g->name, cls);
		json_free(&gw);
		return NULL;
	}
	cn = json_str(json_get(gc, "spec"), "controllerName");
	if (cn == NULL || strcmp(cn, ROUTE_DEFAULT_CONTROLLER) != 0) {
		fprintf(stderr, "cfgwctl %s: Gateway %s/%s is not managed by "
		    "cfgw: its GatewayClass %s has controllerName %s, not "
		    "%s\n", g->cmd, g->ns, g->name, cls, cn ? cn : "(none)",
		    ROUTE_DEFAULT_CONTROLLER);
		json_free(&gw);
		gw = NULL;
	}
	json_free(&gc);
	return gw;
}

static char *
gwctl_patch_body(yajl_val gw, const char *const kv[], size_t n,
    size_t *len)
{
	struct jw	*w;
	char		*s;
	size_t		 i;

	if ((w = jw_new()) == NULL)
		return NULL;
	jw_obj(w);
	jw_key(w, "metadata");
	jw_obj(w);
	jw_kstr(w, "resourceVersion", kube_obj_rv(gw));
	jw_key(w, "annotations");
	jw_obj(w);
	for (i = 0; i < n; i++)
		jw_kstr(w, kv[2 * i], kv[2 * i + 1]);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	s = jw_take(w, len);
	jw_free(&w);
	return s;
}

int
gwctl_annotate(struct gwctl *g, int (*check)(struct gwctl *, yajl_val,
    void *), void *arg, const char *const kv[], size_t n)
{
	const struct kube_res	*res = kube_res_lookup("Gateway");
	struct kube_resp	 resp;
	yajl_val		 gw;
	char			*body;
	size_t			 len;
	int			 try, rc;

	for (try = 0; try < GWCTL_PATCH_TRIES; try++) {
		if ((gw = gwctl_gateway(g)) == NULL)
			return GWCTL_FAIL;
		if ((rc = check(g, gw, arg)) != GWCTL_OK ||
		    (body = gwctl_patch_body(gw, kv, n, &len)) == NULL) {
			json_free(&gw);
			return rc != GWCTL_OK ? rc : GWCTL_FAIL;
		}
		json_free(&gw);
		memset(&resp, 0, sizeof(resp));
		rc = kube_patch(g->k, res, g->ns, g->name, KUBE_PATCH_MERGE,
		    body, len, GWCTL_FIELD_MANAGER, 0, NULL, &resp);
		free(body);
		if (rc == 0) {
			kube_resp_free(&resp);
			return GWCTL_OK;
		}
		if (resp.status != 409) {
			fprintf(stderr, "cfgwctl %s: patch Gateway %s/%s: "
			    "%ld %s\n", g->cmd, g->ns, g->name, resp.status,
			    resp.message);
			kube_resp_free(&resp);
			return GWCTL_FAIL;
		}
		kube_resp_free(&resp);	/* modified meanwhile: again */
	}
	fprintf(stderr, "cfgwctl %s: Gateway %s/%s: still conflicting after "
	    "%d tries\n", g->cmd, g->ns, g->name, GWCTL_PATCH_TRIES);
	return GWCTL_FAIL;
}

/* Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped. */
void
gwctl_rfc3339nano(char *buf, size_t sz)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 frac[16];
	size_t		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
	for (n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	if (n == 1)
		frac[0] = '\0';
	n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sz - n, "%sZ", frac);
}

long long
gwctl_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
gwctl_sleep_ms(long long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
gwctl_duration(char *buf, size_t sz, long long ms)
{
	long long	 s = ms / 1000;

	if (s < 60)
		snprintf(buf, sz, "%llds", s);
	else if (s < 3600)
		snprintf(buf, sz, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, sz, "%lldh%02lldm", s / 3600, s % 3600 / 60);
}

void
gwctl_stamp(FILE *f, long long start_ms)
{
	time_t		 t = time(NULL);
	struct tm	 tm;
	char		 hms[16], d[24], e[28];

	localtime_r(&t, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	gwctl_duration(d, sizeof(d), gwctl_mono_ms() - start_ms);
	snprintf(e, sizeof(e), "+%s", d);
	fprintf(f, "[%s] %-7s ", hms, e);
}
