/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan: `cfgwctl plan` compiles manifests offline (no cluster, no
 * Cloudflare) with the same route compiler the reconciler uses, and prints
 * the proxy route table, the tunnel ingress document, the DNS records and
 * the conditions every route and listener would get.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "manifest.h"
#include "route.h"

#define PLAN_MAX_FILES	256

enum plan_out {
	PLAN_OUT_ALL,
	PLAN_OUT_TABLE,
	PLAN_OUT_TUNNEL,
	PLAN_OUT_DNS,
	PLAN_OUT_STATUS,
	PLAN_OUT_JSON,
};

struct plan_objs {
	yajl_val			*v;
	const struct manifest_doc	**d;	/* parallel to v */
	size_t				 n;
};

struct plan {
	const char		*files[PLAN_MAX_FILES];
	size_t			 n_files;
	const char		*gateway;
	const char		*ns;
	const char		*cluster;
	const char		*domain;
	const char		*controller;
	enum plan_out		 out;
	int			 from_cluster;
	struct cli_kube_flags	 kf;
	struct manifest_set	 set;
	struct plan_objs	 gw, gwc, http, grpc, svc, rg, nsobj;
	const struct manifest_doc *gwdoc;
	yajl_val		 gwclass;
	char			 tunnel_name[512];
};

static void
plan_usage(FILE *f)
{
	fprintf(f,
	    "usage: cfgwctl plan -f FILE|DIR [-f ...] [--gateway [NS/]NAME]\n"
	    "       [-n NAMESPACE] [--cluster-name NAME] [--cluster-domain D]\n"
	    "       [--controller-name NAME] [--from-cluster [--kubeconfig P]"
	    " [--context C]]\n"
	    "       [-o all|table|tunnel|dns|status|json]\n\n"
	    "Compile Gateway API manifests offline and print what cfgw would\n"
	    "program: the proxy route table, the tunnel ingress document,\n"
	    "the DNS records and the route/listener conditions.\n"
	    "  -f, --filename        manifest file or directory (repeatable;"
	    " - = stdin)\n"
	    "      --gateway         the Gateway to plan (required if the\n"
	    "                        manifests contain several)\n"
	    "  -n, --namespace       namespace for objects without one "
	    "(default: default)\n"
	    "      --cluster-name    cluster name (tunnel name)\n"
	    "      --cluster-domain  Service DNS domain (default: "
	    "cluster.local)\n"
	    "      --controller-name GatewayClass controllerName to expect\n"
	    "  -o, --output          all (default), table, tunnel, dns, "
	    "status, json\n"
	    "      --from-cluster    start from the cluster's objects (read-"
	    "only); -f\n"
	    "                        manifests replace objects of the same "
	    "name\n");
}

static int
plan_parse_out(const char *s, enum plan_out *out)
{
	static const char *names[] = { "all", "table", "tunnel", "dns",
	    "status", "json", NULL };
	int	 i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum plan_out)i;
			return 0;
		}
	return -1;
}

static int
plan_args(struct plan *p, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "filename", required_argument, NULL, 'f' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "cluster-name", required_argument, NULL, 'c' },
		{ "cluster-domain", required_argument, NULL, 'd' },
		{ "controller-name", required_argument, NULL, 'C' },
		{ "output", required_argument, NULL, 'o' },
		{ "from-cluster", no_argument, NULL, 'F' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:n:o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (p->n_files == PLAN_MAX_FILES) {
				cli_usage_error("plan", "too many -f");
				return 2;
			}
			p->files[p->n_files++] = optarg;
			break;
		case 'g': p->gateway = optarg; break;
		case 'n': p->ns = optarg; break;
		case 'c': p->cluster = optarg; break;
		case 'd': p->domain = optarg; break;
		case 'C': p->controller = optarg; break;
		case 'F': p->from_cluster = 1; break;
		case 'k': p->kf.kubeconfig = optarg; break;
		case 'x': p->kf.context = optarg; break;
		case 'o':
			if (plan_parse_out(optarg, &p->out) == -1) {
				cli_usage_error("plan", "unknown output %s",
				    optarg);
				return 2;
			}
			break;
		case 'h':
			plan_usage(stdout);
			return 0;
		default:
			plan_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		cli_usage_error("plan", "unexpected argument %s",
		    argv[optind]);
		return 2;
	}
	if (p->n_files == 0 && !p->from_cluster) {
		cli_usage_error("plan", "-f FILE|DIR or --from-cluster is "
		    "required");
		return 2;
	}
	return -1;
}

static int
plan_same(const struct manifest_doc *a, const struct manifest_doc *b)
{
	const char	*sa = a->namespace, *sb = b->namespace;

	return strcmp(a->name, b->name) == 0 && (sa == sb || (sa != NULL &&
	    sb != NULL && strcmp(sa, sb) == 0));
}

/* Add an object; a later one with the same name replaces (kubectl apply). */
static int
plan_push(struct plan_objs *o, const struct manifest_doc *d)
{
	yajl_val			*a;
	const struct manifest_doc	**b;
	char				 where[512];
	size_t				 i;

	for (i = 0; i < o->n; i++)
		if (plan_same(o->d[i], d)) {
			fprintf(stderr, "cfgwctl plan: %s: %s replaces %s\n",
			    strncmp(o->d[i]->file, "cluster:", 8) == 0 ?
			    "note" : "warning", manifest_where(d, where,
			    sizeof(where)), strncmp(o->d[i]->file, "cluster:",
			    8) == 0 ? "the cluster's object" : "an earlier "
			    "object with the same name");
			o->v[i] = d->obj;
			o->d[i] = d;
			return 0;
		}
	if ((a = reallocarray(o->v, o->n + 1, sizeof(*a))) == NULL)
		return -1;
	o->v = a;
	if ((b = reallocarray(o->d, o->n + 1, sizeof(*b))) == NULL)
		return -1;
	o->d = b;
	o->v[o->n] = d->obj;
	o->d[o->n++] = d;
	return 0;
}

static int
plan_is_gwapi(const struct manifest_doc *d)
{
	const char	*av = json_str(d->obj, "apiVersion");

	return av != NULL && strncmp(av, "gateway.networking.k8s.io/",
	    26) == 0;
}

/* Check the basic shape of one object; print where it is if bad. */
static int
plan_check(const struct manifest_doc *d)
{
	char		 where[512];
	const char	*problem = NULL;
	yajl_val	 spec = json_get(d->obj, "spec");

	if (d->kind[0] == '\0')
		problem = "no kind";
	else if (json_str(d->obj, "apiVersion") == NULL)
		problem = "no apiVersion";
	else if (d->name[0] == '\0')
		problem = "no metadata.name";
	else if (spec != NULL && !YAJL_IS_OBJECT(spec))
		problem = "spec is not a mapping";
	else if (strcmp(d->kind, "Gateway") == 0 && plan_is_gwapi(d) &&
	    !YAJL_IS_ARRAY(json_get(spec, "listeners")))
		problem = "spec.listeners is not a list";
	if (problem == NULL)
		return 0;
	fprintf(stderr, "cfgwctl plan: %s: %s\n", manifest_where(d, where,
	    sizeof(where)), problem);
	return -1;
}

static int
plan_sort(struct plan *p)
{
	const struct manifest_doc	*d;
	struct plan_objs		*o;
	size_t				 i;
	int				 bad = 0;

	for (i = 0; i < p->set.n; i++) {
		d = &p->set.docs[i];
		if (plan_check(d) == -1) {
			bad = 1;
			continue;
		}
		o = NULL;
		if (plan_is_gwapi(d) && strcmp(d->kind, "Gateway") == 0)
			o = &p->gw;
		else if (plan_is_gwapi(d) &&
		    strcmp(d->kind, "GatewayClass") == 0)
			o = &p->gwc;
		else if (plan_is_gwapi(d) && strcmp(d->kind, "HTTPRoute") == 0)
			o = &p->http;
		else if (plan_is_gwapi(d) && strcmp(d->kind, "GRPCRoute") == 0)
			o = &p->grpc;
		else if (plan_is_gwapi(d) && strcmp(d->kind,
		    "ReferenceGrant") == 0)
			o = &p->rg;
		else if (strcmp(d->kind, "Service") == 0)
			o = &p->svc;
		else if (strcmp(d->kind, "Namespace") == 0)
			o = &p->nsobj;
		if (o != NULL && plan_push(o, d) == -1)
			return -1;
	}
	return bad ? -1 : 0;
}

static int
plan_gw_is(const struct manifest_doc *d, const char *ns, const char *name)
{
	return strcmp(d->name, name) == 0 && d->namespace != NULL &&
	    strcmp(d->namespace, ns) == 0;
}

/* Choose the Gateway: the named one, or the only one. */
static int
plan_pick(struct plan *p)
{
	const struct manifest_doc	*d, *found = NULL;
	char				 ns[256], where[512];
	const char			*name = p->gateway, *slash;
	size_t				 i, n = 0;

	snprintf(ns, sizeof(ns), "%s", p->ns);
	if (name != NULL && (slash = strchr(name, '/')) != NULL) {
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - name), name);
		name = slash + 1;
	}
	for (i = 0; i < p->set.n; i++) {
		d = &p->set.docs[i];
		if (strcmp(d->kind, "Gateway") != 0 || !plan_is_gwapi(d))
			continue;
		n++;
		if (name == NULL || plan_gw_is(d, ns, name))
			found = d;
	}
	if (name != NULL && found == NULL) {
		fprintf(stderr, "cfgwctl plan: Gateway %s/%s not found in "
		    "the manifests\n", ns, name);
		return -1;
	}
	if (n == 0) {
		fprintf(stderr, "cfgwctl plan: no Gateway in the "
		    "manifests\n");
		return -1;
	}
	if (name == NULL && n > 1) {
		fprintf(stderr, "cfgwctl plan: %zu Gateways; choose one with "
		    "--gateway NS/NAME:\n", n);
		for (i = 0; i < p->set.n; i++)
			if (strcmp(p->set.docs[i].kind, "Gateway") == 0 &&
			    plan_is_gwapi(&p->set.docs[i]))
				fprintf(stderr, "  %s/%s  (%s)\n",
				    p->set.docs[i].namespace,
				    p->set.docs[i].name, manifest_where(
				    &p->set.docs[i], where, sizeof(where)));
		return -1;
	}
	p->gwdoc = found;
	return 0;
}

static void
plan_class(struct plan *p)
{
	const char	*cls, *cn;
	size_t		 i;

	cls = json_str(json_get(p->gwdoc->obj, "spec"), "gatewayClassName");
	for (i = 0; cls != NULL && i < p->gwc.n; i++) {
		if (strcmp(json_str(json_get(p->gwc.v[i], "metadata"),
		    "name"), cls) != 0)
			continue;
		p->gwclass = p->gwc.v[i];
		cn = json_str(json_get(p->gwc.v[i], "spec"),
		    "controllerName");
		if (cn == NULL || strcmp(cn, p->controller) != 0)
			fprintf(stderr, "cfgwctl plan: warning: GatewayClass "
			    "%s has controllerName %s, not %s; cfgw would "
			    "ignore this Gateway\n", cls, cn ? cn : "(none)",
			    p->controller);
	}
	if (p->cluster != NULL)
		snprintf(p->tunnel_name, sizeof(p->tunnel_name),
		    "cloudflare-gateway-controller.io/clusters/%s/namespaces/"
		    "%s/gateways/%s", p->cluster, p->gwdoc->namespace,
		    p->gwdoc->name);
	else
		snprintf(p->tunnel_name, sizeof(p->tunnel_name),
		    "cloudflare-gateway-controller.io/clusters/<cluster-name>"
		    "/namespaces/%s/gateways/%s", p->gwdoc->namespace,
		    p->gwdoc->name);
}

static void
plan_print_dns(const struct plan *p, const struct route_result *r)
{
	size_t	 i;

	printf("# tunnel %s\n", p->tunnel_name);
	if (r->n_dns == 0)
		printf("# no DNS records\n");
	for (i = 0; i < r->n_dns; i++)
		printf("CNAME %s -> <tunnel-id>.cfargotunnel.com proxied  "
		    "# %s\n", r->dns[i].hostname, r->dns[i].route);
}

static void
plan_print_conds(const struct route_cond *c, size_t n, const char *indent)
{
	size_t		 i;
	const char	*m, *nl;

	for (i = 0; i < n; i++) {
		printf("%s%s=%s %s", indent, c[i].type,
		    route_cond_status_name(c[i].status), c[i].reason);
		for (m = c[i].message; m != NULL && *m != '\0'; m = nl + 1) {
			nl = strchr(m, '\n');
			printf("%s%.*s", m == c[i].message ? ": " : "\n      ",
			    nl ? (int)(nl - m) : (int)strlen(m), m);
			if (nl == NULL)
				break;
		}
		printf("\n");
	}
}

static void
plan_print_status(const struct plan *p, const struct route_result *r)
{
	const struct route_listener_status	*l;
	const struct route_status		*s;
	const struct route_parent_ref		*ref;
	size_t					 i, k;

	printf("Gateway %s/%s\n", p->gwdoc->namespace, p->gwdoc->name);
	for (i = 0; i < r->n_listeners; i++) {
		l = &r->listeners[i];
		printf("  listener %s: attachedRoutes=%lld\n", l->name,
		    l->attached_routes);
		plan_print_conds(l->conds, l->n_conds, "    ");
	}
	if (r->n_routes == 0)
		printf("no routes reference this Gateway\n");
	for (i = 0; i < r->n_routes; i++) {
		s = &r->routes[i];
		printf("%s %s/%s\n", s->kind, s->namespace, s->name);
		for (k = 0; k < s->n_parents; k++) {
			ref = &s->parents[k].ref;
			printf("  parentRef[%zu] %s%s%s", s->parents[k].index,
			    ref->name, ref->section_name ? " section " : "",
			    ref->section_name ? ref->section_name : "");
			if (ref->port >= 0)
				printf(" port %lld", ref->port);
			printf("\n");
			plan_print_conds(s->parents[k].conds,
			    s->parents[k].n_conds, "    ");
		}
		for (k = 0; k < s->n_dropped; k++)
			printf("  %s rule %zu: %s: %s\n", s->dropped[k].kept ?
			    "failing" : "dropped", s->dropped[k].rule,
			    s->dropped[k].reason, s->dropped[k].message);
	}
}

static void
plan_jw_raw(struct jw *w, const char *json)
{
	yajl_val	 v = json != NULL ? json_parse(json, strlen(json),
			    NULL, 0) : NULL;

	jw_val(w, v);
	json_free(&v);
}

/* Everything as one JSON document (for scripts and tests). */
static int
plan_print_json(const struct plan *p, const struct route_result *r)
{
	struct jw	*w;
	char		*st, *out;
	size_t		 i, len;
	int		 rc;

	if ((w = jw_new()) == NULL)
		return -1;
	st = route_result_status_json(r, p->controller, NULL);
	jw_obj(w);
	jw_key(w, "gateway");
	jw_obj(w);
	jw_kstr(w, "namespace", p->gwdoc->namespace);
	jw_kstr(w, "name", p->gwdoc->name);
	jw_obj_end(w);
	jw_kstr(w, "tunnel_name", p->tunnel_name);
	jw_key(w, "table");
	plan_jw_raw(w, r->table);
	jw_key(w, "tunnel");
	plan_jw_raw(w, r->tunnel);
	jw_key(w, "dns");
	jw_arr(w);
	for (i = 0; i < r->n_dns; i++) {
		jw_obj(w);
		jw_kstr(w, "type", "CNAME");
		jw_kstr(w, "hostname", r->dns[i].hostname);
		jw_kstr(w, "content", "<tunnel-id>.cfargotunnel.com");
		jw_kstr(w, "route", r->dns[i].route);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "status");
	plan_jw_raw(w, st);
	jw_obj_end(w);
	free(st);
	out = jw_take(w, &len);
	jw_free(&w);
	rc = out != NULL ? cli_json_pretty(stdout, out, len) : -1;
	free(out);
	return rc;
}

static int
plan_print(const struct plan *p, const struct route_result *r)
{
	int	 all = p->out == PLAN_OUT_ALL;

	if (p->out == PLAN_OUT_JSON)
		return plan_print_json(p, r);
	if (all)
		printf("# Route table (ConfigMap gateway-%s, key routes.json)"
		    "\n", p->gwdoc->name);
	if ((all || p->out == PLAN_OUT_TABLE) &&
	    cli_json_pretty(stdout, r->table, r->table_len) == -1)
		return -1;
	if (all)
		printf("\n# Tunnel ingress (configurations \"config\")\n");
	if ((all || p->out == PLAN_OUT_TUNNEL) &&
	    cli_json_pretty(stdout, r->tunnel, r->tunnel_len) == -1)
		return -1;
	if (all)
		printf("\n# DNS records\n");
	if (all || p->out == PLAN_OUT_DNS)
		plan_print_dns(p, r);
	if (all)
		printf("\n# Status\n");
	if (all || p->out == PLAN_OUT_STATUS)
		plan_print_status(p, r);
	return 0;
}

static int
plan_run(struct plan *p)
{
	struct route_input	 in;
	struct route_result	*r;
	char			 err[1024];
	size_t			 i;
	int			 rc;

	if (p->from_cluster && plan_load_cluster(&p->set, &p->kf) == -1)
		return 1;
	for (i = 0; i < p->n_files; i++)
		if (manifest_load_path(&p->set, p->files[i], err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "cfgwctl plan: %s\n", err);
			return 1;
		}
	if (manifest_default_namespace(&p->set, p->ns) == -1 ||
	    plan_sort(p) == -1 || plan_pick(p) == -1)
		return 1;
	plan_class(p);
	memset(&in, 0, sizeof(in));
	in.gateway = p->gwdoc->obj;
	in.gatewayclass = p->gwclass;
	in.httproutes = p->http.v;
	in.n_http = p->http.n;
	in.grpcroutes = p->grpc.v;
	in.n_grpc = p->grpc.n;
	in.services = p->svc.v;
	in.n_svc = p->svc.n;
	in.refgrants = p->rg.v;
	in.n_rg = p->rg.n;
	in.namespaces = p->nsobj.v;
	in.n_ns = p->nsobj.n;
	in.cluster_domain = p->domain;
	in.controller_name = p->controller;
	in.assume_services = p->svc.n == 0;
	if (in.assume_services && p->out != PLAN_OUT_JSON)
		fprintf(stderr, "cfgwctl plan: note: no Service in the "
		    "manifests; backends are assumed to exist\n");
	if ((r = route_compile(&in, err, sizeof(err))) == NULL) {
		fprintf(stderr, "cfgwctl plan: %s\n", err);
		return 1;
	}
	rc = plan_print(p, r) == -1 ? 1 : 0;
	route_result_free(&r);
	return rc;
}

static void
plan_objs_free(struct plan_objs *o)
{
	free(o->v);
	free(o->d);
}

int
cmd_plan(int argc, char *argv[])
{
	struct plan	 p;
	int		 rc;

	memset(&p, 0, sizeof(p));
	p.ns = "default";
	p.controller = ROUTE_DEFAULT_CONTROLLER;
	p.domain = ROUTE_DEFAULT_DOMAIN;
	if ((rc = plan_args(&p, argc, argv)) >= 0)
		return rc;
	rc = plan_run(&p);
	manifest_set_free(&p.set);
	plan_objs_free(&p.gw);
	plan_objs_free(&p.gwc);
	plan_objs_free(&p.http);
	plan_objs_free(&p.grpc);
	plan_objs_free(&p.svc);
	plan_objs_free(&p.rg);
	plan_objs_free(&p.nsobj);
	return rc;
}
