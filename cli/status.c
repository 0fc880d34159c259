/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status: `cfgwctl status gateway NAME` reads a Gateway, its
 * CloudflareGatewayStatus and the routes attached to it from the cluster
 * and prints what the controller reported: conditions, listeners, tunnel,
 * token rotation, owned objects and per-route conditions.  Read-only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "kube.h"
#include "route.h"

#define ST_ANN_RECONCILE "cloudflare-gateway-controller.io/reconcile"
#define ST_ANN_REQUESTED \
	"cloudflare-gateway-controller.io/reconcileRequestedAt"
#define ST_ANN_ROTATE \
	"gateways.cloudflare-gateway-controller.io/rotateTokenRequestedAt"

struct st_opts {
	struct cli_kube_flags	 kf;
	const char		*name;
	int			 json;
};

static void
st_usage(FILE *f)
{
	fprintf(f,
	    "usage: cfgwctl status gateway NAME [-n NAMESPACE] "
	    "[--kubeconfig PATH]\n"
	    "       [--context NAME] [-o text|json] [-v]\n\n"
	    "Show what the controller reported for a Gateway: conditions,\n"
	    "listeners, tunnel, token rotation, owned objects and the\n"
	    "conditions of every route attached to it.\n");
}

static int
st_args(struct st_opts *o, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:o:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': o->kf.ns = optarg; break;
		case 'k': o->kf.kubeconfig = optarg; break;
		case 'c': o->kf.context = optarg; break;
		case 'v': o->kf.verbose = 1; break;
		case 'o':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "text") != 0) {
				cli_usage_error("status", "unknown output %s",
				    optarg);
				return 2;
			}
			o->json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			st_usage(stdout);
			return 0;
		default:
			st_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2 || (strcmp(argv[optind], "gateway") != 0 &&
	    strcmp(argv[optind], "gw") != 0)) {
		st_usage(stderr);
		return 2;
	}
	o->name = argv[optind + 1];
	return -1;
}

static const char *
st_or(const char *s)
{
	return s != NULL ? s : "?";
}

static const char *
st_dash(const char *s)
{
	return s != NULL ? s : "-";
}

static void
st_conds(yajl_val conds, const char *indent)
{
	size_t		 i;
	yajl_val	 c;
	const char	*m, *nl;

	for (i = 0; i < json_len(conds); i++) {
		c = json_at(conds, i);
		printf("%s%s=%s %s", indent, st_or(json_str(c, "type")),
		    st_or(json_str(c, "status")), st_or(json_str(c,
		    "reason")));
		for (m = json_str(c, "message"); m != NULL && *m != '\0';
		    m = nl + 1) {
			nl = strchr(m, '\n');
			printf("%s%.*s", m == json_str(c, "message") ? ": " :
			    "\n      ", nl ? (int)(nl - m) : (int)strlen(m), m);
			if (nl == NULL)
				break;
		}
		printf("\n");
	}
}

static void
st_print_gateway(yajl_val gw, const char *ns)
{
	yajl_val	 st = json_get(gw, "status"), ls, a;
	const char	*rec;
	size_t		 i;
	long long	 n;

	rec = json_str(json_path(gw, "metadata", "annotations", NULL),
	    ST_ANN_RECONCILE);
	printf("Gateway %s/%s (class %s)%s\n", ns, st_or(json_str(json_path(
	    gw, "metadata", NULL), "name")), st_or(json_str(json_get(gw,
	    "spec"), "gatewayClassName")), rec != NULL &&
	    strcmp(rec, "disabled") == 0 ? "  SUSPENDED" : "");
	for (i = 0; i < json_len(json_get(st, "addresses")); i++) {
		a = json_at(json_get(st, "addresses"), i);
		printf("  address %s %s\n", st_or(json_str(a, "type")),
		    st_or(json_str(a, "value")));
	}
	st_conds(json_get(st, "conditions"), "  ");
	ls = json_get(st, "listeners");
	for (i = 0; i < json_len(ls); i++) {
		n = 0;
		(void)json_int(json_at(ls, i), "attachedRoutes", &n);
		printf("  listener %s: attachedRoutes=%lld\n",
		    st_or(json_str(json_at(ls, i), "name")), n);
		st_conds(json_get(json_at(ls, i), "conditions"), "    ");
	}
	if (json_len(ls) == 0 && json_len(json_get(st, "conditions")) == 0)
		printf("  (no status yet: is the controller running and the "
		    "GatewayClass ours?)\n");
}

static void
st_print_cgs(yajl_val cgs)
{
	yajl_val	 st = json_get(cgs, "status"), t, rot, inv;
	size_t		 i;

	if (cgs == NULL) {
		printf("CloudflareGatewayStatus: none\n");
		return;
	}
	t = json_get(st, "tunnel");
	rot = json_path(t, "token", "rotation", NULL);
	printf("Tunnel %s\n  id %s\n", st_or(json_str(t, "name")),
	    st_or(json_str(t, "id")));
	printf("  token hash %.12s...  last rotated %s  next rotation %s\n",
	    st_or(json_str(json_get(t, "token"), "hash")),
	    st_dash(json_str(rot, "lastRotatedAt")),
	    st_dash(json_str(rot, "nextRotation")));
	inv = json_get(st, "inventory");
	printf("  owned:");
	for (i = 0; i < json_len(inv); i++)
		printf(" %s/%s", st_or(json_str(json_at(inv, i), "kind")),
		    st_or(json_str(json_at(inv, i), "name")));
	printf("%s\n", json_len(inv) == 0 ? " (none)" : "");
}

/*
 * The requests of `cfgwctl reconcile` / `resume` and `rotate gateway
 * token` (Gateway annotations) and whether the controller has handled
 * them (CGS status).
 */
static void
st_print_requests(yajl_val gw, yajl_val cgs)
{
	const char	*req, *done;
	yajl_val	 st = json_get(cgs, "status");

	if ((req = json_str(json_path(gw, "metadata", "annotations", NULL),
	    ST_ANN_REQUESTED)) != NULL) {
		done = json_str(st, "lastHandledReconcileAt");
		printf("  reconcile requested %s: %s\n", req, done != NULL &&
		    strcmp(done, req) == 0 ? "handled" : "pending");
	}
	if ((req = json_str(json_path(gw, "metadata", "annotations", NULL),
	    ST_ANN_ROTATE)) != NULL) {
		done = json_str(json_path(st, "tunnel", "token", "rotation",
		    NULL), "lastHandledRotateAt");
		printf("  token rotation requested %s: %s\n", req,
		    done != NULL && strcmp(done, req) == 0 ? "handled" :
		    "pending");
	}
}

/* The status.parents entry of a route written by us for this Gateway. */
static int
st_parent_ours(yajl_val p, const char *route_ns, const char *ns,
    const char *name)
{
	yajl_val	 ref = json_get(p, "parentRef");
	const char	*cn = json_str(p, "controllerName");

	return cn != NULL && strcmp(cn, ROUTE_DEFAULT_CONTROLLER) == 0 &&
	    strcmp(st_or(json_str(ref, "name")), name) == 0 &&
	    strcmp(json_str(ref, "namespace") != NULL ? json_str(ref,
	    "namespace") : route_ns, ns) == 0;
}

/* Print (or add to w) the routes of one kind attached to the Gateway. */
static int
st_routes(struct kube *k, const char *kind, const char *ns,
    const char *name, struct jw *w)
{
	struct kube_resp	 resp;
	yajl_val		 items, r, ps;
	const char		*rns;
	size_t			 i, j;
	long			 code;

	memset(&resp, 0, sizeof(resp));
	if (kube_list(k, kube_res_lookup(kind), NULL, NULL, &resp) == -1) {
		code = resp.status;
		if (code != 404)
			fprintf(stderr, "cfgwctl status: list %s: %ld %s\n",
			    kind, code, resp.message);
		kube_resp_free(&resp);
		return code == 404 ? 0 : -1;
	}
	items = json_get(resp.json, "items");
	for (i = 0; i < json_len(items); i++) {
		r = json_at(items, i);
		rns = st_or(json_str(json_get(r, "metadata"), "namespace"));
		ps = json_path(r, "status", "parents", NULL);
		for (j = 0; j < json_len(ps); j++) {
			if (!st_parent_ours(json_at(ps, j), rns, ns, name))
				continue;
			if (w != NULL) {
				jw_obj(w);
				jw_kstr(w, "kind", kind);
				jw_kstr(w, "namespace", rns);
				jw_kstr(w, "name", json_str(json_get(r,
				    "metadata"), "name"));
				jw_key(w, "parent");
				jw_val(w, json_at(ps, j));
				jw_obj_end(w);
				continue;
			}
			printf("%s %s/%s\n", kind, rns, st_or(json_str(
			    json_get(r, "metadata"), "name")));
			st_conds(json_get(json_at(ps, j), "conditions"),
			    "    ");
		}
	}
	kube_resp_free(&resp);
	return 0;
}

/* GET one object; 1 found, 0 not found, -1 error (printed). */
static int
st_get(struct kube *k, const char *kind, const char *ns, const char *name,
    yajl_val *out, struct kube_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	*out = NULL;
	if (kube_get(k, kube_res_lookup(kind), ns, name, 0, resp) == 0) {
		*out = resp->json;
		return 1;
	}
	if (resp->status == 404)
		return 0;
	fprintf(stderr, "cfgwctl status: get %s %s/%s: %ld %s\n", kind, ns,
	    name, resp->status, resp->message);
	return -1;
}

static int
st_json(struct kube *k, const char *ns, const char *name, yajl_val gw,
    yajl_val cgs)
{
	struct jw	*w;
	char		*out;
	size_t		 len;
	int		 rc = 0;

	if ((w = jw_new()) == NULL)
		return -1;
	jw_obj(w);
	jw_key(w, "gateway");
	jw_obj(w);
	jw_kstr(w, "namespace", ns);
	jw_kstr(w, "name", name);
	jw_key(w, "annotations");
	jw_val(w, json_path(gw, "metadata", "annotations", NULL));
	jw_key(w, "status");
	jw_val(w, json_get(gw, "status"));
	jw_obj_end(w);
	jw_key(w, "cgs");
	jw_val(w, json_get(cgs, "status"));
	jw_key(w, "routes");
	jw_arr(w);
	if (st_routes(k, "HTTPRoute", ns, name, w) == -1 ||
	    st_routes(k, "GRPCRoute", ns, name, w) == -1)
		rc = -1;
	jw_arr_end(w);
	jw_obj_end(w);
	if ((out = jw_take(w, &len)) == NULL ||
	    cli_json_pretty(stdout, out, len) == -1)
		rc = -1;
	free(out);
	jw_free(&w);
	return rc;
}

static int
st_run(struct st_opts *o)
{
	struct kube		*k;
	struct kube_resp	 rgw, rcgs;
	yajl_val		 gw, cgs;
	const char		*ns;
	int			 rc = 1, found;

	if ((k = cli_kube_open(&o->kf)) == NULL)
		return 1;
	ns = cli_kube_ns(k, &o->kf);
	memset(&rcgs, 0, sizeof(rcgs));
	if ((found = st_get(k, "Gateway", ns, o->name, &gw, &rgw)) == 0)
		fprintf(stderr, "cfgwctl status: Gateway %s/%s not found\n",
		    ns, o->name);
	if (found == 1 && st_get(k, "CloudflareGatewayStatus", ns, o->name,
	    &cgs, &rcgs) >= 0) {
		if (o->json)
			rc = st_json(k, ns, o->name, gw, cgs) == 0 ? 0 : 1;
		else {
			st_print_gateway(gw, ns);
			st_print_cgs(cgs);
			st_print_requests(gw, cgs);
			rc = st_routes(k, "HTTPRoute", ns, o->name, NULL) ==
			    0 && st_routes(k, "GRPCRoute", ns, o->name,
			    NULL) == 0 ? 0 : 1;
		}
	}
	kube_resp_free(&rgw);
	kube_resp_free(&rcgs);
	kube_free(&k);
	return rc;
}

int
cmd_status(int argc, char *argv[])
{
	struct st_opts	 o;
	int		 rc;

	memset(&o, 0, sizeof(o));
	if ((rc = st_args(&o, argc, argv)) >= 0)
		return rc;
	return st_run(&o);
}
