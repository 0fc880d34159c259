/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Route compiler: hostnames and wildcards, listener isolation,
 * allowedRoutes, parentRef matching, ReferenceGrant, backends, filters,
 * dropped rules, timeouts, listener status.
 */
#include "check_route.h"
#include "check_run.h"

#define HR(meta, spec) \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n" \
	"metadata: " meta "\nspec:\n" spec
#define PR "  parentRefs: [{name: gw, namespace: default}]\n"
#define BE "backendRefs: [{name: s, port: 80}]"
#define SVC(ns, name, ports) \
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: " name \
	", namespace: " ns "}\nspec: {ports: " ports "}\n"

START_TEST(test_hostname_helpers)
{
	char	 out[64];

	ck_assert(route_hostname_match("*.example.com", "a.example.com"));
	ck_assert(route_hostname_match("*.example.com", "a.b.example.com"));
	ck_assert(!route_hostname_match("*.example.com", "example.com"));
	ck_assert(route_hostname_match("*.example.com", "A.Example.com:8443"));
	ck_assert(route_hostname_match("a.example.com", "a.example.com."));
	ck_assert(!route_hostname_match("a.example.com", "b.example.com"));
	ck_assert(route_hostname_match(NULL, "anything"));
	ck_assert_int_eq(route_hostname_intersect("*.example.com",
	    "a.example.com", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "a.example.com");
	ck_assert_int_eq(route_hostname_intersect("*.example.com",
	    "*.a.example.com", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "*.a.example.com");
	ck_assert_int_eq(route_hostname_intersect("*.a.example.com",
	    "*.example.com", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "*.a.example.com");
	ck_assert_int_eq(route_hostname_intersect("*.example.com",
	    "example.com", out, sizeof(out)), 0);
	ck_assert_int_eq(route_hostname_intersect("*.a.com", "*.b.com", out,
	    sizeof(out)), 0);
	ck_assert_int_eq(route_hostname_intersect(NULL, "x.com", out,
	    sizeof(out)), 1);
	ck_assert_str_eq(out, "x.com");
	ck_assert_int_eq(route_hostname_intersect(NULL, NULL, out,
	    sizeof(out)), 2);
}
END_TEST

START_TEST(test_durations)
{
	ck_assert_int_eq(route_duration_ms("1h"), 3600000);
	ck_assert_int_eq(route_duration_ms("1h30m"), 5400000);
	ck_assert_int_eq(route_duration_ms("500ms"), 500);
	ck_assert_int_eq(route_duration_ms("1s500ms"), 1500);
	ck_assert_int_eq(route_duration_ms("0s"), 0);
	ck_assert_int_eq(route_duration_ms("1h1m1s1ms"), 3661001);
	ck_assert_int_eq(route_duration_ms("1h1m1s1ms1h"), -1);
	ck_assert_int_eq(route_duration_ms("123456s"), -1);
	ck_assert_int_eq(route_duration_ms("1.5s"), -1);
	ck_assert_int_eq(route_duration_ms("10"), -1);
	ck_assert_int_eq(route_duration_ms(""), -1);
	ck_assert_int_eq(route_duration_ms("1d"), -1);
}
END_TEST

START_TEST(test_listener_intersection)
{
	struct rtest	 t;

	rtest_compile(&t, GW_HEAD
	    "  - {name: l, protocol: HTTP, port: 80, "
	    "hostname: '*.example.com'}\n"
	    HR("{name: r}", PR "  hostnames: [foo.example.com, bar.other.com,"
	    " '*.example.com', '*.a.example.com']\n  rules: [{" BE "}]\n")
	    HR("{name: none}", PR "  hostnames: [x.other.com, example.com]\n"
	    "  rules: [{" BE "}]\n")
	    HR("{name: nohost}", PR "  rules: [{" BE "}]\n"));
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "Accepted"),
	    "True/Accepted");
	ck_assert_ptr_null(rtest_host(&t, "bar.other.com"));
	ck_assert_uint_eq(rtest_count(&t, "foo.example.com", "http"), 2);
	ck_assert_str_eq(rtest_entry(&t, "foo.example.com", "http", 0),
	    "default/r#0.0");
	ck_assert_uint_eq(rtest_count(&t, "*.a.example.com", "http"), 2);
	/* A route without hostnames takes the listener's. */
	ck_assert_str_eq(rtest_entry(&t, "*.example.com", "http", 1),
	    "default/r#0.0");
	ck_assert_str_eq(rtest_entry(&t, "*.example.com", "http", 0),
	    "default/nohost#0.0");
	ck_assert_str_eq(rtest_cond(&t, "default", "none", 0, "Accepted"),
	    "False/NoMatchingListenerHostname");
	ck_assert_int_eq(rtest_listener(&t, "l")->attached_routes, 2);
	ck_assert_ptr_null(rtest_host(&t, "*"));
	rtest_free(&t);
}
END_TEST

START_TEST(test_listener_isolation)
{
	struct rtest	 t;

	/*
	 * Listener "wild" (*.example.com) has a catch-all route; listener
	 * "foo" (foo.example.com) has none; listener "any" (no hostname)
	 * has a route for bar.example.com, which "wild" shadows.
	 */
	rtest_compile(&t, GW_HEAD
	    "  - {name: wild, protocol: HTTP, port: 80, hostname: "
	    "'*.example.com'}\n"
	    "  - {name: foo, protocol: HTTP, port: 80, hostname: "
	    "foo.example.com}\n"
	    "  - {name: any, protocol: HTTP, port: 8080}\n"
	    HR("{name: w}", "  parentRefs: [{name: gw, sectionName: wild}]\n"
	    "  rules: [{" BE "}]\n")
	    HR("{name: a}", "  parentRefs: [{name: gw, sectionName: any}]\n"
	    "  hostnames: [bar.example.com, other.org]\n"
	    "  rules: [{" BE "}]\n"));
	/* foo.example.com belongs to listener foo: empty, so 404. */
	ck_assert_uint_eq(rtest_count(&t, "foo.example.com", "http"), 0);
	/*
	 * bar.example.com belongs to wild, not to the any listener: its
	 * entry would equal *.example.com's and is pruned.
	 */
	ck_assert_ptr_null(rtest_host(&t, "bar.example.com"));
	ck_assert_str_eq(rtest_entry(&t, "*.example.com", "http", 0),
	    "default/w#0.0");
	ck_assert_str_eq(rtest_entry(&t, "other.org", "http", 0),
	    "default/a#0.0");
	ck_assert_uint_eq(rtest_count(&t, "*.example.com", "http"), 1);
	/* Empty entries get no tunnel rule and no DNS. */
	ck_assert_uint_eq(t.r->n_dns, 2);
	ck_assert_str_eq(t.r->dns[0].hostname, "*.example.com");
	ck_assert_str_eq(t.r->dns[1].hostname, "other.org");
	rtest_free(&t);
}
END_TEST

START_TEST(test_allowed_routes_namespaces)
{
	struct rtest	 t;

	rtest_compile(&t, GW_HEAD
	    "  - {name: same, protocol: HTTP, port: 1, hostname: same.io}\n"
	    "  - name: all\n    protocol: HTTP\n    port: 2\n"
	    "    hostname: all.io\n"
	    "    allowedRoutes: {namespaces: {from: All}}\n"
	    "  - name: sel\n    protocol: HTTP\n    port: 3\n"
	    "    hostname: sel.io\n"
	    "    allowedRoutes:\n      namespaces:\n        from: Selector\n"
	    "        selector:\n          matchLabels: {team: blue}\n"
	    "          matchExpressions:\n"
	    "          - {key: env, operator: In, values: [prod, stage]}\n"
	    "          - {key: kubernetes.io/metadata.name, operator: NotIn, "
	    "values: [blocked]}\n"
	    "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: blue, "
	    "labels: {team: blue, env: prod}}\n"
	    "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: blocked, "
	    "labels: {team: blue, env: prod}}\n"
	    "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: red, "
	    "labels: {team: red, env: prod}}\n"
	    HR("{name: r, namespace: default}", PR "  rules: [{" BE "}]\n")
	    HR("{name: r, namespace: blue}", PR "  rules: [{" BE "}]\n")
	    HR("{name: r, namespace: blocked}", PR "  rules: [{" BE "}]\n")
	    HR("{name: r, namespace: red}", PR "  rules: [{" BE "}]\n"));
	ck_assert_str_eq(rtest_entry(&t, "same.io", "http", 0),
	    "default/r#0.0");
	ck_assert_uint_eq(rtest_count(&t, "same.io", "http"), 1);
	ck_assert_uint_eq(rtest_count(&t, "all.io", "http"), 4);
	ck_assert_uint_eq(rtest_count(&t, "sel.io", "http"), 1);
	ck_assert_str_eq(rtest_entry(&t, "sel.io", "http", 0), "blue/r#0.0");
	ck_assert_str_eq(rtest_cond(&t, "red", "r", 0, "Accepted"),
	    "True/Accepted");
	ck_assert_int_eq(rtest_listener(&t, "same")->attached_routes, 1);
	ck_assert_int_eq(rtest_listener(&t, "all")->attached_routes, 4);
	ck_assert_int_eq(rtest_listener(&t, "sel")->attached_routes, 1);
	rtest_free(&t);

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r, namespace: other}", PR "  rules: [{" BE "}]\n"));
	ck_assert_str_eq(rtest_cond(&t, "other", "r", 0, "Accepted"),
	    "False/NotAllowedByListeners");
	ck_assert_int_eq(rtest_listener(&t, "http")->attached_routes, 0);
	rtest_free(&t);
}
END_TEST

START_TEST(test_allowed_kinds_and_parent_refs)
{
	struct rtest			 t;
	const struct route_status	*s;

	rtest_compile(&t, GW_HEAD
	    "  - name: h\n    protocol: HTTP\n    port: 80\n"
	    "    allowedRoutes: {kinds: [{kind: HTTPRoute}]}\n"
	    "  - name: bad\n    protocol: HTTP\n    port: 81\n"
	    "    allowedRoutes: {kinds: [{kind: TCPRoute}]}\n"
	    "  - {name: tls, protocol: TLS, port: 443}\n"
	    "---\napiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n"
	    "metadata: {name: g}\nspec:\n  parentRefs: [{name: gw, "
	    "sectionName: h}]\n  rules: [{" BE "}]\n"
	    HR("{name: r}", "  parentRefs:\n  - {name: gw, sectionName: nope}\n"
	    "  - {name: gw, port: 80}\n  - {name: other-gw}\n"
	    "  - {name: gw, port: 9999}\n  - {name: gw, sectionName: tls}\n"
	    "  rules: [{" BE "}]\n"));
	ck_assert_str_eq(rtest_cond(&t, "default", "g", 0, "Accepted"),
	    "False/NotAllowedByListeners");
	s = rtest_route(&t, "default", "r");
	ck_assert_uint_eq(s->n_parents, 4);	/* other-gw is not ours */
	ck_assert_str_eq(s->parents[0].ref.section_name, "nope");
	ck_assert_int_eq(s->parents[1].ref.port, 80);
	ck_assert_uint_eq(s->parents[3].index, 4);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "Accepted"),
	    "False/NoMatchingParent");
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 1, "Accepted"),
	    "True/Accepted");
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 2, "Accepted"),
	    "False/NoMatchingParent");
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 3, "Accepted"),
	    "False/NotAllowedByListeners");
	ck_assert_int_eq(rtest_listener(&t, "h")->attached_routes, 1);
	ck_assert_uint_eq(rtest_listener(&t, "h")->n_supported_kinds, 1);
	ck_assert_str_eq(rtest_listener(&t, "bad")->conds[2].reason,
	    "InvalidRouteKinds");
	ck_assert_str_eq(rtest_listener(&t, "tls")->conds[0].reason,
	    "UnsupportedProtocol");
	rtest_free(&t);
}
END_TEST

static yajl_val
backend_at(struct rtest *t, const char *host, size_t entry, size_t b)
{
	return json_at(json_get(json_at(json_get(rtest_host(t, host),
	    "http"), entry), "backends"), b);
}

#define GRANT(ver, ns, kind, fromns, toname) \
	"---\napiVersion: gateway.networking.k8s.io/" ver "\n" \
	"kind: ReferenceGrant\nmetadata: {name: g, namespace: " ns "}\n" \
	"spec:\n  from: [{group: gateway.networking.k8s.io, kind: " kind \
	", namespace: " fromns "}]\n  to: [{group: '', kind: Service" \
	toname "}]\n"

START_TEST(test_reference_grant)
{
	struct rtest	 t;
	const char	*route = GW_ONE_LISTENER HR("{name: r}", PR
	    "  hostnames: [a.io]\n"
	    "  rules: [{backendRefs: [{name: s, namespace: other, port: 80}]}]"
	    "\n");
	char		 buf[2048];

	rtest_compile(&t, route);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "False/RefNotPermitted");
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "Accepted"),
	    "True/Accepted");
	/* The invalid backend stays, marked, so its share gets 500. */
	ck_assert_str_eq(json_str(backend_at(&t, "a.io", 0, 0), "invalid"),
	    "RefNotPermitted");
	rtest_free(&t);

	snprintf(buf, sizeof(buf), "%s%s", route, GRANT("v1beta1", "other",
	    "HTTPRoute", "default", ""));
	rtest_compile(&t, buf);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "True/ResolvedRefs");
	ck_assert(YAJL_IS_NULL(json_get(backend_at(&t, "a.io", 0, 0),
	    "invalid")));
	ck_assert_str_eq(json_str(backend_at(&t, "a.io", 0, 0), "host"),
	    "s.other.svc.cluster.local");
	rtest_free(&t);

	snprintf(buf, sizeof(buf), "%s%s", route, GRANT("v1", "other",
	    "HTTPRoute", "default", ", name: s"));
	rtest_compile(&t, buf);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "True/ResolvedRefs");
	rtest_free(&t);

	/* Wrong name, wrong kind, wrong from-namespace, wrong grant ns. */
	snprintf(buf, sizeof(buf), "%s%s", route, GRANT("v1", "other",
	    "HTTPRoute", "default", ", name: t"));
	rtest_compile(&t, buf);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "False/RefNotPermitted");
	rtest_free(&t);
	snprintf(buf, sizeof(buf), "%s%s", route, GRANT("v1", "other",
	    "GRPCRoute", "default", ""));
	rtest_compile(&t, buf);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "False/RefNotPermitted");
	rtest_free(&t);
	snprintf(buf, sizeof(buf), "%s%s", route, GRANT("v1", "other",
	    "HTTPRoute", "elsewhere", ""));
	rtest_compile(&t, buf);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "False/RefNotPermitted");
	rtest_free(&t);
	snprintf(buf, sizeof(buf), "%s%s", route, GRANT("v1", "default",
	    "HTTPRoute", "default", ""));
	rtest_compile(&t, buf);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "False/RefNotPermitted");
	rtest_free(&t);
}
END_TEST

START_TEST(test_backends)
{
	struct rtest	 t;
	yajl_val	 b;
	long long	 w;

	rtest_compile(&t, GW_ONE_LISTENER
	    SVC("default", "web", "[{port: 80}, {port: 81, appProtocol: "
	    "kubernetes.io/h2c}, {port: 82, appProtocol: kubernetes.io/ws}, "
	    "{port: 83, appProtocol: kubernetes.io/wss}]")
	    "---\napiVersion: v1\nkind: Service\nmetadata: {name: ext, "
	    "namespace: default}\nspec: {type: ExternalName, externalName: "
	    "api.example.net, ports: [{port: 443}]}\n"
	    HR("{name: r}", PR "  hostnames: [a.io]\n  rules:\n"
	    "  - backendRefs:\n    - {name: web, port: 80}\n"
	    "    - {name: web, port: 81, weight: 0}\n"
	    "    - {name: web, port: 82, weight: 3}\n"
	    "    - {name: web, port: 83}\n    - {name: web, port: 99}\n"
	    "    - {name: nosvc, port: 80}\n"
	    "    - {group: acme.io, kind: Bucket, name: b}\n"
	    "    - {name: ext, port: 443}\n"));
	b = backend_at(&t, "a.io", 0, 0);
	ck_assert_int_eq(json_int(b, "weight", &w), 0);
	ck_assert_int_eq(w, 1);
	ck_assert_str_eq(json_str(b, "protocol"), "http");
	ck_assert(YAJL_IS_NULL(json_get(b, "invalid")));
	b = backend_at(&t, "a.io", 0, 1);
	ck_assert_int_eq(json_int(b, "weight", &w), 0);
	ck_assert_int_eq(w, 0);
	ck_assert_str_eq(json_str(b, "protocol"), "h2c");
	b = backend_at(&t, "a.io", 0, 2);
	ck_assert_str_eq(json_str(b, "protocol"), "ws");
	ck_assert_int_eq(json_int(b, "weight", &w), 0);
	ck_assert_int_eq(w, 3);
	ck_assert_str_eq(json_str(backend_at(&t, "a.io", 0, 3), "invalid"),
	    "UnsupportedProtocol");
	ck_assert_str_eq(json_str(backend_at(&t, "a.io", 0, 4), "invalid"),
	    "BackendNotFound");
	ck_assert_str_eq(json_str(backend_at(&t, "a.io", 0, 5), "invalid"),
	    "BackendNotFound");
	ck_assert_str_eq(json_str(backend_at(&t, "a.io", 0, 6), "invalid"),
	    "InvalidKind");
	ck_assert_str_eq(json_str(backend_at(&t, "a.io", 0, 7), "host"),
	    "api.example.net");
	/* The first failure gives the reason. */
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "False/UnsupportedProtocol");
	ck_assert_ptr_nonnull(strstr(rtest_route(&t, "default",
	    "r")->parents[0].conds[1].message, "default/nosvc"));
	rtest_free(&t);
}
END_TEST

START_TEST(test_filters)
{
	struct rtest	 t;
	yajl_val	 f;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", PR "  hostnames: [a.io]\n  rules:\n"
	    "  - filters:\n"
	    "    - type: RequestHeaderModifier\n"
	    "      requestHeaderModifier: {set: [{name: x, value: y}]}\n"
	    "    - type: RequestMirror\n"
	    "      requestMirror: {backendRef: {name: m, port: 8080}}\n"
	    "    - type: ExternalAuth\n"
	    "      externalAuth: {protocol: HTTP}\n"
	    "    - type: ExtensionRef\n"
	    "      extensionRef: {group: acme.io, kind: Thing, name: t}\n"
	    "    backendRefs:\n    - name: s\n      port: 80\n"
	    "      filters: [{type: ResponseHeaderModifier, "
	    "responseHeaderModifier: {add: [{name: a, value: b}]}}]\n"));
	f = json_get(json_at(json_get(rtest_host(&t, "a.io"), "http"), 0),
	    "filters");
	ck_assert_uint_eq(json_len(f), 4);
	ck_assert_str_eq(json_str(json_at(f, 0), "type"),
	    "RequestHeaderModifier");
	ck_assert_ptr_null(json_get(json_at(f, 0), "unsupported"));
	ck_assert_str_eq(json_str(json_path(json_at(f, 0),
	    "requestHeaderModifier", NULL), NULL) == NULL ? "obj" : "str",
	    "obj");
	ck_assert_str_eq(json_str(json_path(json_at(f, 1), "backend", NULL),
	    "host"), "m.default.svc.cluster.local");
	ck_assert(YAJL_IS_TRUE(json_get(json_at(f, 2), "unsupported")));
	ck_assert(YAJL_IS_TRUE(json_get(json_at(f, 3), "unsupported")));
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "False/InvalidKind");
	f = json_get(backend_at(&t, "a.io", 0, 0), "filters");
	ck_assert_str_eq(json_str(json_at(f, 0), "type"),
	    "ResponseHeaderModifier");
	rtest_free(&t);
}
END_TEST

START_TEST(test_dropped_rules)
{
	struct rtest			 t;
	const struct route_status	*s;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", PR "  hostnames: [a.io]\n  rules:\n"
	    "  - matches: [{path: {type: RegularExpression, value: '/(a'}}]\n"
	    "    " BE "\n"
	    "  - matches: [{headers: [{type: RegularExpression, name: h, "
	    "value: '[z-a]'}]}]\n"
	    "    backendRefs: [{name: s, namespace: x, port: 80}]\n"
	    "  - timeouts: {request: 1s, backendRequest: 2s}\n    " BE "\n"
	    "  - timeouts: {request: 1x}\n    " BE "\n"
	    "  - timeouts: {request: 10s, backendRequest: 500ms}\n"
	    "    retry: {codes: [503], attempts: 2, backoff: 100ms}\n"
	    "    sessionPersistence: {type: Cookie, absoluteTimeout: 1h}\n"
	    "    " BE "\n")
	    HR("{name: bad}", PR "  hostnames: [b.io]\n  rules:\n"
	    "  - matches: [{path: {type: RegularExpression, value: '*'}}]\n"
	    "    " BE "\n"));
	s = rtest_route(&t, "default", "r");
	ck_assert_uint_eq(s->n_dropped, 4);
	ck_assert_uint_eq(s->dropped[0].rule, 0);
	ck_assert_uint_eq(s->dropped[2].rule, 2);
	ck_assert_str_eq(s->dropped[3].reason, "UnsupportedValue");
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "Accepted"),
	    "True/Accepted");
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0,
	    "PartiallyInvalid"), "True/UnsupportedValue");
	/* The dropped rule's bad backend does not count. */
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "ResolvedRefs"),
	    "True/ResolvedRefs");
	ck_assert_ptr_nonnull(strstr(s->parents[0].conds[2].message,
	    "Dropped Rule"));
	ck_assert_uint_eq(rtest_count(&t, "a.io", "http"), 1);
	ck_assert_str_eq(rtest_entry(&t, "a.io", "http", 0), "default/r#4.0");
	ck_assert_int_eq(YAJL_GET_INTEGER(json_path(json_at(json_get(
	    rtest_host(&t, "a.io"), "http"), 0), "timeouts",
	    "backend_request_ms", NULL)), 500);
	ck_assert_int_eq(YAJL_GET_INTEGER(json_path(json_at(json_get(
	    rtest_host(&t, "a.io"), "http"), 0), "retry", "backoff_ms",
	    NULL)), 100);
	ck_assert_str_eq(json_str(json_path(json_at(json_get(rtest_host(&t,
	    "a.io"), "http"), 0), "session_persistence", NULL),
	    "session_name"), "cgw-session");
	/* Every rule invalid: not accepted, no DNS. */
	ck_assert_str_eq(rtest_cond(&t, "default", "bad", 0, "Accepted"),
	    "False/UnsupportedValue");
	ck_assert_ptr_null(rtest_host(&t, "b.io"));
	ck_assert_uint_eq(t.r->n_dns, 1);
	rtest_free(&t);
}
END_TEST

START_TEST(test_listener_conflicts)
{
	struct rtest	 t;

	rtest_compile(&t, GW_HEAD
	    "  - {name: a, protocol: HTTP, port: 80, hostname: x.io}\n"
	    "  - {name: b, protocol: HTTP, port: 80, hostname: x.io}\n"
	    "  - {name: c, protocol: HTTPS, port: 80, hostname: y.io}\n"
	    "  - {name: d, protocol: HTTP, port: 81, hostname: x.io}\n");
	ck_assert_str_eq(rtest_listener(&t, "a")->conds[3].reason,
	    "ProtocolConflict");
	ck_assert_str_eq(rtest_listener(&t, "c")->conds[3].reason,
	    "ProtocolConflict");
	ck_assert_str_eq(rtest_listener(&t, "d")->conds[3].reason,
	    "NoConflicts");
	ck_assert_int_eq(rtest_listener(&t, "d")->conds[1].status,
	    ROUTE_COND_TRUE);
	ck_assert_int_eq(rtest_listener(&t, "b")->conds[1].status,
	    ROUTE_COND_FALSE);
	rtest_free(&t);
}
END_TEST

START_TEST(test_schemes)
{
	struct rtest	 t;
	yajl_val	 sc;

	/* HTTP and HTTPS listeners share hostnames (TLS ends at
	 * Cloudflare); each entry says which schemes it came from. */
	rtest_compile(&t, GW_HEAD
	    "  - {name: http, protocol: HTTP, port: 80}\n"
	    "  - {name: https, protocol: HTTPS, port: 443}\n"
	    HR("{name: redirect}", "  parentRefs: [{name: gw, sectionName: "
	    "http}]\n  hostnames: [a.io]\n  rules: [{filters: [{type: "
	    "RequestRedirect, requestRedirect: {scheme: https}}]}]\n")
	    HR("{name: app}", "  parentRefs: [{name: gw}]\n"
	    "  hostnames: [a.io]\n  rules: [{" BE "}]\n"));
	ck_assert_str_eq(rtest_entry(&t, "a.io", "http", 0),
	    "default/app#0.0");
	sc = json_get(json_at(json_get(rtest_host(&t, "a.io"), "http"), 0),
	    "schemes");
	ck_assert_uint_eq(json_len(sc), 2);
	sc = json_get(json_at(json_get(rtest_host(&t, "a.io"), "http"), 1),
	    "schemes");
	ck_assert_uint_eq(json_len(sc), 1);
	ck_assert_str_eq(json_str(json_at(sc, 0), NULL), "http");
	ck_assert_int_eq(rtest_listener(&t, "http")->attached_routes, 2);
	ck_assert_int_eq(rtest_listener(&t, "https")->attached_routes, 1);
	rtest_free(&t);
}
END_TEST

START_TEST(test_grpc_specifics)
{
	struct rtest			 t;
	const struct route_status	*s;
	yajl_val			 e;

	rtest_compile(&t, GW_ONE_LISTENER
	    "---\napiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n"
	    "metadata: {name: g}\nspec:\n" PR "  hostnames: [G.Example.COM]\n"
	    "  rules:\n"
	    "  - matches: [{method: {type: RegularExpression, service: "
	    "'a\\.(b', method: x}}]\n    " BE "\n"
	    "  - matches: [{method: {type: RegularExpression, service: "
	    "'a\\..*'}}]\n"
	    "    filters: [{type: URLRewrite, urlRewrite: {hostname: x}}]\n"
	    "    sessionPersistence: {type: Header}\n    " BE "\n");
	s = rtest_route(&t, "default", "g");
	ck_assert_uint_eq(s->n_dropped, 2);
	ck_assert_uint_eq(s->dropped[0].rule, 0);
	ck_assert_ptr_nonnull(strstr(s->dropped[0].message,
	    "invalid regular expression"));
	/* Rule 1 stays (its requests get 500) and the status says so. */
	ck_assert_uint_eq(s->dropped[1].rule, 1);
	ck_assert_ptr_nonnull(strstr(s->dropped[1].message,
	    "unsupported filter URLRewrite"));
	/* Route hostnames are lower-cased. */
	ck_assert_uint_eq(rtest_count(&t, "g.example.com", "grpc"), 1);
	e = json_at(json_get(rtest_host(&t, "g.example.com"), "grpc"), 0);
	ck_assert_str_eq(json_str(json_get(e, "match"), "type"),
	    "RegularExpression");
	ck_assert(YAJL_IS_NULL(json_path(e, "match", "method", NULL)));
	/* URLRewrite is not a GRPCRoute filter: kept, unsupported. */
	ck_assert(YAJL_IS_TRUE(json_get(json_at(json_get(e, "filters"), 0),
	    "unsupported")));
	ck_assert_str_eq(json_str(json_get(e, "session_persistence"),
	    "session_name"), "X-Cgw-Session");
	ck_assert_ptr_null(json_get(e, "timeouts"));
	rtest_free(&t);
}
END_TEST

START_TEST(test_catch_all)
{
	struct rtest	 t;
	yajl_val	 ing;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", PR "  rules: [{" BE "}]\n"));
	ck_assert_uint_eq(rtest_count(&t, "*", "http"), 1);
	ck_assert_uint_eq(t.r->n_dns, 0);
	ing = json_get(t.tunnel, "ingress");
	ck_assert_uint_eq(json_len(ing), 1);
	ck_assert_str_eq(json_str(json_at(ing, 0), "service"),
	    ROUTE_HTTP_ORIGIN);
	rtest_free(&t);
}
END_TEST

START_TEST(test_status_json)
{
	struct rtest	 t;
	char		*js;
	yajl_val	 v, p;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r, generation: 7}", "  parentRefs: [{name: gw, "
	    "sectionName: http}]\n  rules: [{" BE "}]\n"));
	js = route_result_status_json(t.r, NULL, NULL);
	ck_assert_ptr_nonnull(js);
	v = json_parse(js, strlen(js), NULL, 0);
	ck_assert_ptr_nonnull(v);
	p = json_at(json_get(json_at(json_get(v, "routes"), 0), "parents"), 0);
	ck_assert_str_eq(json_str(json_get(p, "parentRef"), "sectionName"),
	    "http");
	ck_assert_ptr_null(json_get(json_get(p, "parentRef"), "namespace"));
	ck_assert_str_eq(json_str(p, "controllerName"),
	    ROUTE_DEFAULT_CONTROLLER);
	ck_assert_str_eq(json_str(json_at(json_get(p, "conditions"), 0),
	    "status"), "True");
	ck_assert_int_eq(YAJL_GET_INTEGER(json_get(json_at(json_get(v,
	    "routes"), 0), "generation")), 7);
	ck_assert_int_eq(YAJL_GET_INTEGER(json_get(json_at(json_get(v,
	    "listeners"), 0), "attachedRoutes")), 1);
	json_free(&v);
	free(js);
	rtest_free(&t);
}
END_TEST

START_TEST(test_bad_input)
{
	struct route_input	 in;
	char			 err[128];
	yajl_val		 gw = json_parse("{\"spec\":{}}", 11, NULL, 0);

	memset(&in, 0, sizeof(in));
	ck_assert_ptr_null(route_compile(&in, err, sizeof(err)));
	in.gateway = gw;
	ck_assert_ptr_null(route_compile(&in, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "metadata.name"));
	json_free(&gw);
}
END_TEST

static Suite *
route_suite(void)
{
	Suite	*s = suite_create("route");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_hostname_helpers);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_listener_intersection);
	tcase_add_test(tc, test_listener_isolation);
	tcase_add_test(tc, test_allowed_routes_namespaces);
	tcase_add_test(tc, test_allowed_kinds_and_parent_refs);
	tcase_add_test(tc, test_reference_grant);
	tcase_add_test(tc, test_backends);
	tcase_add_test(tc, test_filters);
	tcase_add_test(tc, test_dropped_rules);
	tcase_add_test(tc, test_listener_conflicts);
	tcase_add_test(tc, test_schemes);
	tcase_add_test(tc, test_grpc_specifics);
	tcase_add_test(tc, test_catch_all);
	tcase_add_test(tc, test_status_json);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(route_suite());
}
