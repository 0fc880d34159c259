/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reconciler's pure parts: owned-object builders, condition merging and
 * change detection, the object store and the work queue.  The sources are
 * compiled in here because unit tests link only libcfgw.a.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#include "reconciler/owned.c"
#include "reconciler/queue.c"
#include "reconciler/rollout.c"
#include "reconciler/status.c"
#include "reconciler/store.c"
#include "check_run.h"

static yajl_val
parse(const char *s)
{
	char		 err[128];
	yajl_val	 v;

	v = json_parse(s, strlen(s), err, sizeof(err));
	ck_assert_msg(v != NULL, "parse: %s: %s", err, s);
	return v;
}

static yajl_val
parse_take(char *s)
{
	yajl_val	 v;

	ck_assert_ptr_nonnull(s);
	v = parse(s);
	free(s);
	return v;
}

static const char *
path_str(yajl_val v, const char *k1, const char *k2, const char *k3)
{
	yajl_val	 x = json_get(v, k1);

	if (k2 != NULL)
		x = json_get(x, k2);
	if (k3 != NULL)
		x = json_get(x, k3);
	return x != NULL && YAJL_IS_STRING(x) ? x->u.string : NULL;
}

static struct owned_gw
test_gw(void)
{
	struct owned_gw	 g;

	memset(&g, 0, sizeof(g));
	g.ns = "default";
	g.name = "my-gateway";
	g.uid = "uid-123";
	return g;
}

static void
check_owner_labels(yajl_val o, const char *component)
{
	yajl_val	 md = json_get(o, "metadata"), ref, l;
	int		 b = 0;

	ck_assert_str_eq(json_str(md, "namespace"), "default");
	l = json_get(md, "labels");
	ck_assert_str_eq(json_str(l, "app.kubernetes.io/name"), "cloudflared");
	ck_assert_str_eq(json_str(l, "app.kubernetes.io/managed-by"),
	    "cloudflare-gateway-controller");
	ck_assert_str_eq(json_str(l, "app.kubernetes.io/instance"),
	    "my-gateway");
	if (component != NULL)
		ck_assert_str_eq(json_str(l, "app.kubernetes.io/component"),
		    component);
	else
		ck_assert_ptr_null(json_get(l, "app.kubernetes.io/component"));
	ck_assert_uint_eq(json_len(json_get(md, "ownerReferences")), 1);
	ref = json_at(json_get(md, "ownerReferences"), 0);
	ck_assert_str_eq(json_str(ref, "kind"), "Gateway");
	ck_assert_str_eq(json_str(ref, "apiVersion"),
	    "gateway.networking.k8s.io/v1");
	ck_assert_str_eq(json_str(ref, "name"), "my-gateway");
	ck_assert_str_eq(json_str(ref, "uid"), "uid-123");
	ck_assert_int_eq(json_bool(ref, "controller", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(json_bool(ref, "blockOwnerDeletion", &b), 0);
	ck_assert_int_eq(b, 1);
}

START_TEST(test_configmap)
{
	struct owned_gw	 g = test_gw();
	const char	*table = "{\"version\":\"1.0\",\"hosts\":[]}";
	yajl_val	 v;

	v = parse_take(owned_configmap(&g, table, strlen(table), NULL));
	ck_assert_str_eq(json_str(v, "apiVersion"), "v1");
	ck_assert_str_eq(json_str(v, "kind"), "ConfigMap");
	ck_assert_str_eq(path_str(v, "metadata", "name", NULL),
	    "gateway-my-gateway");
	ck_assert_str_eq(path_str(v, "data", "routes.json", NULL), table);
	check_owner_labels(v, "routes");
	json_free(&v);
}
END_TEST

START_TEST(test_rbac)
{
	struct owned_gw	 g = test_gw();
	yajl_val	 v, rule, s;

	v = parse_take(owned_serviceaccount(&g, NULL));
	ck_assert_str_eq(json_str(v, "kind"), "ServiceAccount");
	ck_assert_str_eq(path_str(v, "metadata", "name", NULL),
	    "gateway-my-gateway");
	check_owner_labels(v, "tunnel");
	json_free(&v);

	v = parse_take(owned_role(&g, NULL));
	ck_assert_str_eq(json_str(v, "apiVersion"),
	    "rbac.authorization.k8s.io/v1");
	ck_assert_str_eq(json_str(v, "kind"), "Role");
	check_owner_labels(v, "tunnel");
	ck_assert_uint_eq(json_len(json_get(v, "rules")), 1);
	rule = json_at(json_get(v, "rules"), 0);
	ck_assert_str_eq(json_str(json_at(json_get(rule, "apiGroups"), 0),
	    NULL), "");
	ck_assert_str_eq(json_str(json_at(json_get(rule, "resources"), 0),
	    NULL), "configmaps");
	ck_assert_uint_eq(json_len(json_get(rule, "resourceNames")), 1);
	ck_assert_str_eq(json_str(json_at(json_get(rule, "resourceNames"),
	    0), NULL), "gateway-my-gateway");
	ck_assert_uint_eq(json_len(json_get(rule, "verbs")), 3);
	ck_assert_str_eq(json_str(json_at(json_get(rule, "verbs"), 2), NULL),
	    "watch");
	json_free(&v);

	v = parse_take(owned_rolebinding(&g, NULL));
	ck_assert_str_eq(json_str(v, "kind"), "RoleBinding");
	ck_assert_str_eq(path_str(v, "roleRef", "kind", NULL), "Role");
	ck_assert_str_eq(path_str(v, "roleRef", "name", NULL),
	    "gateway-my-gateway");
	s = json_at(json_get(v, "subjects"), 0);
	ck_assert_str_eq(json_str(s, "kind"), "ServiceAccount");
	ck_assert_str_eq(json_str(s, "name"), "gateway-my-gateway");
	ck_assert_str_eq(json_str(s, "namespace"), "default");
	json_free(&v);
}
END_TEST

static void
check_secctx(yajl_val sc)
{
	long long	 uid = 0;
	int		 b = -1;

	ck_assert_ptr_nonnull(sc);
	ck_assert_int_eq(json_bool(sc, "runAsNonRoot", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(json_int(sc, "runAsUser", &uid), 0);
	ck_assert_int_eq(uid, 65532);
	ck_assert_int_eq(json_bool(sc, "readOnlyRootFilesystem", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(json_bool(sc, "allowPrivilegeEscalation", &b), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_str_eq(json_str(json_at(json_path(sc, "capabilities",
	    "drop", NULL), 0), NULL), "ALL");
	ck_assert_str_eq(path_str(sc, "seccompProfile", "type", NULL),
	    "RuntimeDefault");
}

static struct owned_deploy
test_deploy(void)
{
	struct owned_deploy	 d;

	memset(&d, 0, sizeof(d));
	d.replica = "primary";
	d.tunnel_image = "cloudflare/cloudflared:2025.4.0";
	d.proxy_image = "cfgw-proxy:0.1.0";
	d.token_hash = "abc123";
	d.min_ready_seconds = -1;
	return d;
}

START_TEST(test_deployment)
{
	struct owned_gw		 g = test_gw();
	struct owned_deploy	 d = test_deploy();
	yajl_val		 v, spec, pod, c0, c1, env, args;
	long long		 n = 0;
	static const char	*want_args[] = { "tunnel", "--no-autoupdate",
	    "--protocol", "http2", "--metrics", "127.0.0.1:2000", "run" };
	size_t			 i;

	v = parse_take(owned_deployment(&g, &d, NULL));
	ck_assert_str_eq(json_str(v, "apiVersion"), "apps/v1");
	ck_assert_str_eq(json_str(v, "kind"), "Deployment");
	ck_assert_str_eq(path_str(v, "metadata", "name", NULL),
	    "gateway-my-gateway-primary");
	check_owner_labels(v, "primary");
	spec = json_get(v, "spec");
	ck_assert_int_eq(json_int(spec, "replicas", &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(json_int(spec, "minReadySeconds", &n), 0);
	ck_assert_int_eq(n, 600);
	ck_assert_int_eq(json_int(spec, "progressDeadlineSeconds", &n), 0);
	ck_assert_int_eq(n, 660);
	ck_assert_str_eq(path_str(spec, "strategy", "type", NULL),
	    "RollingUpdate");
	ck_assert_int_eq(json_int(json_path(spec, "strategy",
	    "rollingUpdate", NULL), "maxSurge", &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(json_int(json_path(spec, "strategy",
	    "rollingUpdate", NULL), "maxUnavailable", &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(path_str(spec, "selector", "matchLabels",
	    "app.kubernetes.io/component"), "primary");
	pod = json_get(spec, "template");
	ck_assert_str_eq(json_str(json_path(pod, "metadata", "annotations",
	    NULL), "gateways.cloudflare-gateway-controller.io/tokenHash"),
	    "abc123");
	ck_assert_str_eq(json_str(json_path(pod, "metadata", "labels", NULL),
	    "app.kubernetes.io/component"), "primary");
	ck_assert_str_eq(path_str(pod, "spec", "serviceAccountName", NULL),
	    "gateway-my-gateway");
	ck_assert_str_eq(json_str(json_path(pod, "spec", "securityContext",
	    "seccompProfile", NULL), "type"), "RuntimeDefault");
	ck_assert_uint_eq(json_len(json_path(pod, "spec", "containers",
	    NULL)), 2);
	c0 = json_at(json_path(pod, "spec", "containers", NULL), 0);
	c1 = json_at(json_path(pod, "spec", "containers", NULL), 1);
	ck_assert_str_eq(json_str(c0, "name"), "cloudflared");
	ck_assert_str_eq(json_str(c0, "image"), d.tunnel_image);
	args = json_get(c0, "args");
	ck_assert_uint_eq(json_len(args), 7);
	for (i = 0; i < 7; i++)
		ck_assert_str_eq(json_str(json_at(args, i), NULL),
		    want_args[i]);
	env = json_at(json_get(c0, "env"), 0);
	ck_assert_str_eq(json_str(env, "name"), "TUNNEL_TOKEN");
	ck_assert_str_eq(path_str(env, "valueFrom", "secretKeyRef", "name"),
	    "gateway-my-gateway");
	ck_assert_str_eq(path_str(env, "valueFrom", "secretKeyRef", "key"),
	    "TUNNEL_TOKEN");
	check_secctx(json_get(c0, "securityContext"));
	ck_assert_str_eq(json_str(c1, "name"), "proxy");
	ck_assert_str_eq(json_str(c1, "image"), d.proxy_image);
	ck_assert_str_eq(json_str(json_at(json_get(c1, "args"), 0), NULL),
	    "--routes-configmap");
	ck_assert_str_eq(json_str(json_at(json_get(c1, "args"), 1), NULL),
	    "default/gateway-my-gateway");
	/* The kubelet probes the pod IP, so admin must not be loopback. */
	ck_assert_str_eq(json_str(json_at(json_get(c1, "args"), 2), NULL),
	    "--admin-addr");
	ck_assert_str_eq(json_str(json_at(json_get(c1, "args"), 3), NULL),
	    "0.0.0.0:9090");
	ck_assert_int_eq(json_int(json_at(json_get(c1, "ports"), 0),
	    "containerPort", &n), 0);
	ck_assert_int_eq(n, 8080);
	ck_assert_int_eq(json_int(json_at(json_get(c1, "ports"), 1),
	    "containerPort", &n), 0);
	ck_assert_int_eq(n, 8443);
	ck_assert_str_eq(path_str(c1, "readinessProbe", "httpGet", "path"),
	    "/readyz");
	check_secctx(json_get(c1, "securityContext"));
	json_free(&v);
}
END_TEST

START_TEST(test_session_secret)
{
	struct owned_gw		 g = test_gw();
	struct owned_deploy	 d = test_deploy();
	yajl_val		 v, pod, vol, args;
	size_t			 i;
	int			 found = 0;

	v = parse_take(owned_session_secret(&g, "a2V5", NULL));
	ck_assert_str_eq(json_str(v, "kind"), "Secret");
	ck_assert_str_eq(path_str(v, "metadata", "name", NULL),
	    "gateway-my-gateway-session");
	ck_assert_str_eq(path_str(v, "data", "key", NULL), "a2V5");
	check_owner_labels(v, "session");
	json_free(&v);

	/* The proxy container mounts it and is told where it is. */
	v = parse_take(owned_deployment(&g, &d, NULL));
	pod = json_path(v, "spec", "template", "spec", NULL);
	vol = json_at(json_get(pod, "volumes"), 0);
	ck_assert_str_eq(json_str(vol, "name"), "session-key");
	ck_assert_str_eq(path_str(vol, "secret", "secretName", NULL),
	    "gateway-my-gateway-session");
	args = json_get(json_at(json_get(pod, "containers"), 1), "args");
	for (i = 0; i + 1 < json_len(args); i++)
		if (strcmp(json_str(json_at(args, i), NULL),
		    "--session-key-file") == 0) {
			ck_assert_str_eq(json_str(json_at(args, i + 1), NULL),
			    "/etc/cfgw/session/key");
			found = 1;
		}
	ck_assert(found);
	json_free(&v);
}
END_TEST

START_TEST(test_deployment_placement)
{
	struct owned_gw		 g = test_gw();
	struct owned_deploy	 d = test_deploy();
	yajl_val		 v, labels, ann, expr, pod;
	long long		 n = 0;

	labels = parse("{\"team\":\"a\",\"app.kubernetes.io/name\":\"x\"}");
	ann = parse("{\"note\":\"n\",\"gateways.cloudflare-gateway-"
	    "controller.io/tokenHash\":\"evil\"}");
	g.infra_labels = labels;
	g.infra_annotations = ann;
	d.replica = "zone-a";
	d.zone = "eu-1a";
	d.min_ready_seconds = 0;
	v = parse_take(owned_deployment(&g, &d, NULL));
	/* Our labels win over the user's; theirs are added. */
	ck_assert_str_eq(path_str(v, "metadata", "labels",
	    "app.kubernetes.io/name"), "cloudflared");
	ck_assert_str_eq(path_str(v, "metadata", "labels", "team"), "a");
	ck_assert_str_eq(path_str(v, "metadata", "annotations", "note"), "n");
	pod = json_path(v, "spec", "template", NULL);
	ck_assert_str_eq(json_str(json_path(pod, "metadata", "annotations",
	    NULL), "gateways.cloudflare-gateway-controller.io/tokenHash"),
	    "abc123");
	expr = json_at(json_path(json_at(json_path(pod, "spec", "affinity",
	    "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
	    "nodeSelectorTerms", NULL), 0), "matchExpressions", NULL), 0);
	ck_assert_str_eq(json_str(expr, "key"), "topology.kubernetes.io/zone");
	ck_assert_str_eq(json_str(json_at(json_get(expr, "values"), 0), NULL),
	    "eu-1a");
	ck_assert_int_eq(json_int(json_get(v, "spec"), "minReadySeconds", &n),
	    0);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(path_str(v, "metadata", "name", NULL),
	    "gateway-my-gateway-zone-a");
	json_free(&v);
	json_free(&labels);
	json_free(&ann);
}
END_TEST

START_TEST(test_names_and_cgs)
{
	struct owned_gw		 g = test_gw();
	struct owned_deploy	 d = test_deploy();
	char			 buf[300], longname[300];
	yajl_val		 v;

	ck_assert_int_eq(owned_name(buf, sizeof(buf), "gw", NULL), 0);
	ck_assert_str_eq(buf, "gateway-gw");
	ck_assert_int_eq(owned_name(buf, sizeof(buf), "gw", "primary"), 0);
	ck_assert_str_eq(buf, "gateway-gw-primary");
	memset(longname, 'a', 250);
	longname[250] = '\0';
	ck_assert_int_eq(owned_name(buf, sizeof(buf), longname, "primary"),
	    -1);
	g.name = longname;
	ck_assert_ptr_null(owned_deployment(&g, &d, NULL));
	g = test_gw();
	d.proxy_image = NULL;
	ck_assert_ptr_null(owned_deployment(&g, &d, NULL));

	v = parse_take(owned_cgs(&g, NULL));
	ck_assert_str_eq(json_str(v, "apiVersion"),
	    "cloudflare-gateway-controller.io/v1");
	ck_assert_str_eq(json_str(v, "kind"), "CloudflareGatewayStatus");
	ck_assert_str_eq(path_str(v, "metadata", "name", NULL), "my-gateway");
	check_owner_labels(v, NULL);
	json_free(&v);
}
END_TEST

START_TEST(test_builders_deterministic)
{
	struct owned_gw		 g = test_gw();
	struct owned_deploy	 d = test_deploy();
	char			*a, *b;

	a = owned_deployment(&g, &d, NULL);
	b = owned_deployment(&g, &d, NULL);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

/* Render conditions and parse them back. */
static yajl_val
render(yajl_val existing, const struct conds *c, long long gen,
    const char *now, int keep)
{
	struct jw	*w = jw_new();
	yajl_val	 v;

	status_write_conds(w, existing, c, gen, now, keep);
	v = parse_take(jw_take(w, NULL));
	jw_free(&w);
	return v;
}

START_TEST(test_conditions_transition_time)
{
	struct conds	 c = { .n = 0 };
	yajl_val	 first, second, third, a;
	long long	 g = 0;

	status_cond_set(&c, "Accepted", "True", "Accepted", "ok");
	status_cond_set(&c, "Ready", "Unknown", "Progressing", "wait %d", 1);
	first = render(NULL, &c, 3, "2026-01-01T00:00:00Z", 0);
	ck_assert_uint_eq(json_len(first), 2);
	a = status_cond_find(first, "Ready");
	ck_assert_str_eq(json_str(a, "message"), "wait 1");
	ck_assert_str_eq(json_str(a, "lastTransitionTime"),
	    "2026-01-01T00:00:00Z");
	ck_assert_int_eq(json_int(a, "observedGeneration", &g), 0);
	ck_assert_int_eq(g, 3);

	/* Same status, new message and generation: time kept. */
	status_cond_set(&c, "Ready", "Unknown", "Progressing", "wait 2");
	second = render(first, &c, 4, "2026-01-02T00:00:00Z", 0);
	a = status_cond_find(second, "Ready");
	ck_assert_str_eq(json_str(a, "lastTransitionTime"),
	    "2026-01-01T00:00:00Z");
	ck_assert_str_eq(json_str(a, "message"), "wait 2");
	ck_assert_int_eq(json_int(a, "observedGeneration", &g), 0);
	ck_assert_int_eq(g, 4);
	ck_assert_int_eq(status_json_equal(first, second), 0);

	/* Status changes: time moves. */
	status_cond_set(&c, "Ready", "True", "ReconciliationSucceeded", "ok");
	third = render(second, &c, 4, "2026-01-03T00:00:00Z", 0);
	a = status_cond_find(third, "Ready");
	ck_assert_str_eq(json_str(a, "lastTransitionTime"),
	    "2026-01-03T00:00:00Z");
	ck_assert_str_eq(json_str(status_cond_find(third, "Accepted"),
	    "lastTransitionTime"), "2026-01-01T00:00:00Z");
	ck_assert_int_eq(status_cond_true(third, "Ready"), 1);
	ck_assert_int_eq(status_cond_true(first, "Ready"), 0);
	ck_assert_uint_eq(c.n, 2);	/* replaced, not appended */
	status_conds_free(&c);
	json_free(&first);
	json_free(&second);
	json_free(&third);
}
END_TEST

START_TEST(test_conditions_unchanged_detected)
{
	struct conds	 c = { .n = 0 };
	yajl_val	 first, again, reordered;

	status_cond_set(&c, "Accepted", "True", "Accepted", "ok");
	first = render(NULL, &c, 1, "2026-01-01T00:00:00Z", 0);
	/* A later run at another time with the same inputs: equal. */
	again = render(first, &c, 1, "2026-05-05T00:00:00Z", 0);
	ck_assert_int_eq(status_json_equal(first, again), 1);
	/* The API server may return keys in another order. */
	reordered = parse("[{\"lastTransitionTime\":\"2026-01-01T00:00:00Z\","
	    "\"message\":\"ok\",\"observedGeneration\":1,\"reason\":"
	    "\"Accepted\",\"status\":\"True\",\"type\":\"Accepted\"}]");
	ck_assert_int_eq(status_json_equal(first, reordered), 1);
	status_conds_free(&c);
	json_free(&first);
	json_free(&again);
	json_free(&reordered);
}
END_TEST

START_TEST(test_conditions_keep_others)
{
	struct conds	 c = { .n = 0 };
	yajl_val	 old, out;

	old = parse("[{\"type\":\"Programmed\",\"status\":\"True\","
	    "\"reason\":\"Programmed\",\"message\":\"\","
	    "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"},"
	    "{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"R\","
	    "\"message\":\"\",\"lastTransitionTime\":\"t\"}]");
	status_cond_set(&c, "Ready", "Unknown", "ProgressingWithRetry", "x");
	out = render(old, &c, 2, "now", 1);
	ck_assert_uint_eq(json_len(out), 2);
	ck_assert_str_eq(json_str(status_cond_find(out, "Ready"), "status"),
	    "Unknown");
	ck_assert_str_eq(json_str(status_cond_find(out, "Ready"),
	    "lastTransitionTime"), "now");
	ck_assert_ptr_nonnull(status_cond_find(out, "Programmed"));
	json_free(&out);
	out = render(old, &c, 2, "now", 0);
	ck_assert_uint_eq(json_len(out), 1);	/* stale types go */
	status_conds_free(&c);
	json_free(&out);
	json_free(&old);
}
END_TEST

START_TEST(test_json_equal)
{
	yajl_val	 a, b;

	a = parse("{\"x\":[1,2,{\"y\":\"z\"}],\"n\":1.5,\"t\":true}");
	b = parse("{\"t\":true,\"n\":1.5,\"x\":[1,2,{\"y\":\"z\"}]}");
	ck_assert_int_eq(status_json_equal(a, b), 1);
	json_free(&b);
	b = parse("{\"t\":true,\"n\":1.5,\"x\":[2,1,{\"y\":\"z\"}]}");
	ck_assert_int_eq(status_json_equal(a, b), 0);
	json_free(&b);
	b = parse("{\"t\":true,\"n\":1.5,\"x\":[1,2,{\"y\":\"z\"}],\"e\":1}");
	ck_assert_int_eq(status_json_equal(a, b), 0);
	json_free(&b);
	b = parse("{\"t\":false,\"n\":1.5,\"x\":[1,2,{\"y\":\"z\"}]}");
	ck_assert_int_eq(status_json_equal(a, b), 0);
	ck_assert_int_eq(status_json_equal(NULL, NULL), 1);
	ck_assert_int_eq(status_json_equal(a, NULL), 0);
	json_free(&b);
	json_free(&a);
}
END_TEST

START_TEST(test_condition_message_truncated)
{
	struct conds	 c = { .n = 0 };
	char		*big;

	big = malloc(STATUS_MSG_MAX + 100);
	memset(big, 'x', STATUS_MSG_MAX + 99);
	big[STATUS_MSG_MAX + 99] = '\0';
	status_cond_set(&c, "Ready", "False", "R", "%s", big);
	ck_assert_uint_eq(strlen(c.v[0].message), STATUS_MSG_MAX);
	status_conds_free(&c);
	free(big);
}
END_TEST

START_TEST(test_store)
{
	struct store	*s = store_new();
	yajl_val	 a, b, old;
	int		 err;

	a = parse("{\"metadata\":{\"name\":\"gw\",\"namespace\":\"ns\","
	    "\"resourceVersion\":\"1\"}}");
	b = parse("{\"metadata\":{\"name\":\"gw\",\"namespace\":\"ns\","
	    "\"resourceVersion\":\"2\"}}");
	ck_assert_ptr_null(store_put(s, "Gateway", a, &err));
	ck_assert_int_eq(err, 0);
	ck_assert_ptr_eq(store_get(s, "Gateway", "ns", "gw"), a);
	ck_assert_ptr_null(store_get(s, "Gateway", "other", "gw"));
	ck_assert_ptr_null(store_get(s, "HTTPRoute", "ns", "gw"));
	old = store_put(s, "Gateway", b, &err);
	ck_assert_ptr_eq(old, a);
	yajl_tree_free(old);
	ck_assert_uint_eq(store_count(s, "Gateway"), 1);
	/* Refused: no name, unknown kind. */
	ck_assert_ptr_null(store_put(s, "Gateway", parse("{\"metadata\":{}}"),
	    &err));
	ck_assert_int_eq(err, -1);
	ck_assert_ptr_null(store_put(s, "Pod", parse("{\"metadata\":"
	    "{\"name\":\"p\"}}"), &err));
	ck_assert_int_eq(err, -1);
	/* Cluster-scoped. */
	ck_assert_ptr_null(store_put(s, "GatewayClass", parse("{\"metadata\":"
	    "{\"name\":\"c\"}}"), &err));
	ck_assert_ptr_nonnull(store_get(s, "GatewayClass", NULL, "c"));
	ck_assert_ptr_nonnull(store_get(s, "GatewayClass", "", "c"));
	ck_assert_uint_eq(store_total(s), 2);
	old = store_del(s, "Gateway", "ns", "gw");
	ck_assert_ptr_eq(old, b);
	yajl_tree_free(old);
	ck_assert_ptr_null(store_del(s, "Gateway", "ns", "gw"));
	ck_assert_uint_eq(store_count(s, "Gateway"), 0);
	store_free(&s);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_queue)
{
	struct queue	*q = queue_new();
	char		 key[QUEUE_KEY_MAX];

	ck_assert_int_eq(queue_wait(q, 0), -1);
	ck_assert_int_eq(queue_add(q, "Gateway/a/b", 100), 0);
	ck_assert_int_eq(queue_add(q, "Gateway/a/b", 50), 0);	/* earlier */
	ck_assert_int_eq(queue_add(q, "Gateway/a/b", 500), 0);	/* ignored */
	ck_assert_int_eq(queue_add(q, "GatewayClass/c", 70), 0);
	ck_assert_uint_eq(queue_len(q), 2);
	ck_assert_int_eq(queue_wait(q, 0), 50);
	ck_assert_int_eq(queue_pop(q, 49, key, sizeof(key)), 0);
	ck_assert_int_eq(queue_pop(q, 80, key, sizeof(key)), 1);
	ck_assert_str_eq(key, "Gateway/a/b");
	ck_assert_int_eq(queue_pop(q, 80, key, sizeof(key)), 1);
	ck_assert_str_eq(key, "GatewayClass/c");
	ck_assert_int_eq(queue_pop(q, 80, key, sizeof(key)), 0);
	ck_assert_uint_eq(queue_len(q), 0);
	/* Backoff doubles, caps, and resets. */
	ck_assert_uint_eq(queue_backoff(q, "Gateway/a/b"), 1000);
	ck_assert_uint_eq(queue_backoff(q, "Gateway/a/b"), 2000);
	ck_assert_uint_eq(queue_backoff(q, "Gateway/a/b"), 4000);
	for (int i = 0; i < 20; i++)
		(void)queue_backoff(q, "Gateway/a/b");
	ck_assert_uint_eq(queue_backoff(q, "Gateway/a/b"), QUEUE_BACKOFF_MAX);
	queue_forget(q, "Gateway/a/b");
	ck_assert_uint_eq(queue_backoff(q, "Gateway/a/b"), 1000);
	queue_free(&q);
}
END_TEST


START_TEST(test_replicas)
{
	yajl_val	 cgp;

	ck_assert_uint_eq(rollout_replica_count(NULL), 1);
	ck_assert_str_eq(rollout_replica_name(NULL, 0), "primary");
	ck_assert_ptr_null(rollout_replica_name(NULL, 1));
	cgp = parse("{\"spec\":{\"tunnel\":{\"replicas\":[]}}}");
	ck_assert_uint_eq(rollout_replica_count(cgp), 0);
	json_free(&cgp);
	cgp = parse("{\"spec\":{\"tunnel\":{\"replicas\":[{\"name\":"
	    "\"a\",\"zone\":\"z\"},{\"name\":\"b\"}]}}}");
	ck_assert_uint_eq(rollout_replica_count(cgp), 2);
	ck_assert_str_eq(rollout_replica_name(cgp, 1), "b");
	ck_assert_str_eq(json_str(rollout_replica(cgp, 0), "zone"), "z");
	json_free(&cgp);
	/* A malformed replicas field is "absent", not a crash. */
	cgp = parse("{\"spec\":{\"tunnel\":{\"replicas\":\"x\"}}}");
	ck_assert_uint_eq(rollout_replica_count(cgp), 1);
	json_free(&cgp);
}
END_TEST

static yajl_val
dep(const char *hash, int gen, int og, int want, int upd, int tot, int rdy,
    const char *progressing)
{
	char	 buf[1024];

	snprintf(buf, sizeof(buf), "{\"metadata\":{\"generation\":%d},"
	    "\"spec\":{\"replicas\":%d,\"template\":{\"metadata\":"
	    "{\"annotations\":{\"%s\":\"%s\"}}}},\"status\":{"
	    "\"observedGeneration\":%d,\"updatedReplicas\":%d,"
	    "\"replicas\":%d,\"readyReplicas\":%d,\"conditions\":["
	    "{\"type\":\"Progressing\",\"status\":\"%s\"}]}}", gen, want,
	    OWNED_ANN_TOKEN_HASH, hash, og, upd, tot, rdy, progressing);
	return parse(buf);
}

START_TEST(test_rollout_done)
{
	yajl_val	 d;
	int		 dl;

	d = dep("h1", 2, 2, 1, 1, 1, 1, "True");
	ck_assert_int_eq(rollout_done(d, "h1", &dl), 1);
	ck_assert_int_eq(dl, 0);
	ck_assert_int_eq(rollout_done(d, "h2", &dl), 0);	/* old token */
	ck_assert_int_eq(rollout_done(d, NULL, &dl), 0);
	json_free(&d);
	d = dep("h1", 3, 2, 1, 1, 1, 1, "True");	/* not observed yet */
	ck_assert_int_eq(rollout_done(d, "h1", &dl), 0);
	json_free(&d);
	d = dep("h1", 2, 2, 1, 1, 2, 1, "True");	/* old pod still there */
	ck_assert_int_eq(rollout_done(d, "h1", &dl), 0);
	json_free(&d);
	d = dep("h1", 2, 2, 1, 1, 1, 0, "True");	/* not ready */
	ck_assert_int_eq(rollout_done(d, "h1", &dl), 0);
	json_free(&d);
	d = dep("h1", 2, 2, 1, 0, 1, 0, "False");	/* deadline passed */
	ck_assert_int_eq(rollout_done(d, "h1", &dl), 0);
	ck_assert_int_eq(dl, 1);
	json_free(&d);
	d = parse("{}");
	ck_assert_int_eq(rollout_done(d, "h1", &dl), 0);
	json_free(&d);
}
END_TEST

static Suite *
reconcile_suite(void)
{
	Suite	*s = suite_create("reconcile");
	TCase	*tc = tcase_create("owned");

	tcase_add_test(tc, test_configmap);
	tcase_add_test(tc, test_rbac);
	tcase_add_test(tc, test_deployment);
	tcase_add_test(tc, test_deployment_placement);
	tcase_add_test(tc, test_session_secret);
	tcase_add_test(tc, test_names_and_cgs);
	tcase_add_test(tc, test_builders_deterministic);
	suite_add_tcase(s, tc);
	tc = tcase_create("status");
	tcase_add_test(tc, test_conditions_transition_time);
	tcase_add_test(tc, test_conditions_unchanged_detected);
	tcase_add_test(tc, test_conditions_keep_others);
	tcase_add_test(tc, test_json_equal);
	tcase_add_test(tc, test_condition_message_truncated);
	suite_add_tcase(s, tc);
	tc = tcase_create("store+queue");
	tcase_add_test(tc, test_store);
	tcase_add_test(tc, test_queue);
	tcase_add_test(tc, test_replicas);
	tcase_add_test(tc, test_rollout_done);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(reconcile_suite());
}
