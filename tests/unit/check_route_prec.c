/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Route compiler: Gateway API match precedence (SPEC-NOTES 3.5), every
 * tie-break level, HTTPRoute and GRPCRoute, and determinism.
 */
#include "check_route.h"
#include "check_run.h"

#define HR(meta, spec) \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n" \
	"metadata: " meta "\nspec:\n  parentRefs: [{name: gw}]\n" spec
#define HRNS(meta, spec) \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n" \
	"metadata: " meta "\nspec:\n" \
	"  parentRefs: [{name: gw, namespace: default}]\n" spec
#define GR(meta, spec) \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n" \
	"metadata: " meta "\nspec:\n  parentRefs: [{name: gw}]\n" spec
#define BE "backendRefs: [{name: s, port: 80}]"

START_TEST(test_path_kinds)
{
	struct rtest	 t;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", "  hostnames: [a.example.com]\n  rules:\n"
	    "  - matches: [{path: {type: PathPrefix, value: /}}]\n    " BE "\n"
	    "  - matches: [{path: {type: PathPrefix, value: /api/}}]\n    "
	    BE "\n"
	    "  - matches: [{path: {type: RegularExpression, value: "
	    "'/x/[0-9]+'}}]\n    " BE "\n"
	    "  - matches: [{path: {type: Exact, value: /api}}]\n    " BE "\n"
	    "  - matches: [{path: {type: PathPrefix, value: /api/v1}}]\n    "
	    BE "\n"));
	/* Exact, then RegularExpression, then longest PathPrefix. */
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 0),
	    "default/r#3.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 1),
	    "default/r#2.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 2),
	    "default/r#4.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 3),
	    "default/r#1.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 4),
	    "default/r#0.0");
	/* Trailing slash of a prefix is normalised away. */
	ck_assert_str_eq(json_str(json_path(json_at(json_get(rtest_host(&t,
	    "a.example.com"), "http"), 3), "match", "path", NULL), "value"),
	    "/api");
	rtest_free(&t);
}
END_TEST

START_TEST(test_method_headers_query)
{
	struct rtest	 t;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", "  hostnames: [a.example.com]\n  rules:\n"
	    "  - matches: [{path: {value: /p}, queryParams: "
	    "[{name: a, value: '1'}, {name: b, value: '2'}]}]\n    " BE "\n"
	    "  - matches: [{path: {value: /p}, headers: [{name: h, value: x}]}"
	    "]\n    " BE "\n"
	    "  - matches: [{path: {value: /p}, headers: [{name: h, value: x},"
	    " {name: i, value: y}]}]\n    " BE "\n"
	    "  - matches: [{path: {value: /p}, method: GET}]\n    " BE "\n"
	    "  - matches: [{path: {value: /p}, queryParams: "
	    "[{name: a, value: '1'}]}]\n    " BE "\n"));
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 0),
	    "default/r#3.0");	/* method */
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 1),
	    "default/r#2.0");	/* 2 headers */
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 2),
	    "default/r#1.0");	/* 1 header */
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 3),
	    "default/r#0.0");	/* 2 query */
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 4),
	    "default/r#4.0");	/* 1 query */
	rtest_free(&t);
}
END_TEST

START_TEST(test_header_dedupe)
{
	struct rtest	 t;
	yajl_val	 hs;

	/* Equivalent header names: only the first counts (and 1 < 2). */
	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", "  hostnames: [a.example.com]\n  rules:\n"
	    "  - matches: [{headers: [{name: X-A, value: '1'}, {name: x-a, "
	    "value: '2'}]}]\n    " BE "\n"
	    "  - matches: [{headers: [{name: x-a, value: '1'}, {name: x-b, "
	    "value: '2'}]}]\n    " BE "\n"));
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 0),
	    "default/r#1.0");
	hs = json_path(json_at(json_get(rtest_host(&t, "a.example.com"),
	    "http"), 1), "match", "headers", NULL);
	ck_assert_uint_eq(json_len(hs), 1);
	ck_assert_str_eq(json_str(json_at(hs, 0), "name"), "x-a");
	ck_assert_str_eq(json_str(json_at(hs, 0), "value"), "1");
	rtest_free(&t);
}
END_TEST

START_TEST(test_route_age_and_name)
{
	struct rtest	 t;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: zz, creationTimestamp: '2024-01-01T00:00:00Z'}",
	    "  hostnames: [a.example.com]\n  rules: [{" BE "}]\n")
	    HR("{name: aa, creationTimestamp: '2025-01-01T00:00:00Z'}",
	    "  hostnames: [a.example.com]\n  rules: [{" BE "}]\n")
	    HR("{name: bb, namespace: default, creationTimestamp: "
	    "'2025-01-01T00:00:00Z'}",
	    "  hostnames: [a.example.com]\n  rules: [{" BE "}]\n")
	    HR("{name: mm, creationTimestamp: '2025-01-01T00:00:00Z'}",
	    "  hostnames: [a.example.com]\n  rules: [{" BE "}, {" BE "}]\n"));
	/* Oldest first, then ns/name, then rule order. */
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 0),
	    "default/zz#0.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 1),
	    "default/aa#0.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 2),
	    "default/bb#0.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 3),
	    "default/mm#0.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 4),
	    "default/mm#1.0");
	/* The oldest route owns the DNS name. */
	ck_assert_uint_eq(t.r->n_dns, 1);
	ck_assert_str_eq(t.r->dns[0].route, "HTTPRoute/default/zz");
	rtest_free(&t);
}
END_TEST

START_TEST(test_namespace_order_and_match_order)
{
	struct rtest	 t;

	rtest_compile(&t, GW_HEAD
	    "  - name: http\n    protocol: HTTP\n    port: 80\n"
	    "    allowedRoutes: {namespaces: {from: All}}\n"
	    HRNS("{name: r, namespace: b}",
	    "  hostnames: [a.example.com]\n  rules:\n"
	    "  - matches: [{path: {value: /x}}, {path: {value: /y}}]\n    "
	    BE "\n")
	    HRNS("{name: r, namespace: a}",
	    "  hostnames: [a.example.com]\n  rules:\n"
	    "  - matches: [{path: {value: /y}}, {path: {value: /x}}]\n    "
	    BE "\n"));
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 0),
	    "a/r#0.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 1),
	    "a/r#0.1");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 2),
	    "b/r#0.0");
	ck_assert_str_eq(rtest_entry(&t, "a.example.com", "http", 3),
	    "b/r#0.1");
	rtest_free(&t);
}
END_TEST

START_TEST(test_hostname_precedence)
{
	struct rtest	 t;

	/* Exact beats wildcard, even for an older wildcard route and a
	 * longer path; longer wildcard beats shorter. */
	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: wild, creationTimestamp: '2020-01-01T00:00:00Z'}",
	    "  hostnames: ['*.example.com']\n  rules:\n"
	    "  - matches: [{path: {type: Exact, value: /long/path}}]\n    "
	    BE "\n")
	    HR("{name: wild2}",
	    "  hostnames: ['*.foo.example.com']\n  rules: [{" BE "}]\n")
	    HR("{name: exact}",
	    "  hostnames: [a.foo.example.com]\n  rules: [{" BE "}]\n"));
	ck_assert_str_eq(rtest_entry(&t, "a.foo.example.com", "http", 0),
	    "default/exact#0.0");
	ck_assert_str_eq(rtest_entry(&t, "a.foo.example.com", "http", 1),
	    "default/wild2#0.0");
	ck_assert_str_eq(rtest_entry(&t, "a.foo.example.com", "http", 2),
	    "default/wild#0.0");
	ck_assert_uint_eq(rtest_count(&t, "*.foo.example.com", "http"), 2);
	ck_assert_str_eq(rtest_entry(&t, "*.foo.example.com", "http", 0),
	    "default/wild2#0.0");
	ck_assert_uint_eq(rtest_count(&t, "*.example.com", "http"), 1);
	rtest_free(&t);
}
END_TEST

START_TEST(test_host_order)
{
	struct rtest	 t;
	yajl_val	 hosts, ing;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", "  hostnames: ['*.example.com', b.example.com, "
	    "'*.a.example.com', a.example.com]\n  rules: [{" BE "}]\n"));
	hosts = json_get(t.table, "hosts");
	ck_assert_str_eq(json_str(json_at(hosts, 0), "hostname"),
	    "a.example.com");
	ck_assert_str_eq(json_str(json_at(hosts, 1), "hostname"),
	    "b.example.com");
	ck_assert_str_eq(json_str(json_at(hosts, 2), "hostname"),
	    "*.a.example.com");
	ck_assert_str_eq(json_str(json_at(hosts, 3), "hostname"),
	    "*.example.com");
	ck_assert_str_eq(json_str(json_at(hosts, 4), "hostname"), "*");
	/* cloudflared matches top-down: the same order, then 404. */
	ing = json_get(t.tunnel, "ingress");
	ck_assert_uint_eq(json_len(ing), 5);
	ck_assert_str_eq(json_str(json_at(ing, 2), "hostname"),
	    "*.a.example.com");
	ck_assert_str_eq(json_str(json_at(ing, 4), "service"),
	    "http_status:404");
	/* DNS: unique and sorted. */
	ck_assert_uint_eq(t.r->n_dns, 4);
	ck_assert_str_eq(t.r->dns[0].hostname, "*.a.example.com");
	ck_assert_str_eq(t.r->dns[3].hostname, "b.example.com");
	rtest_free(&t);
}
END_TEST

START_TEST(test_grpc_precedence)
{
	struct rtest	 t;
	yajl_val	 ing;

	rtest_compile(&t, GW_ONE_LISTENER
	    GR("{name: g}", "  hostnames: [g.example.com]\n  rules:\n"
	    "  - matches: [{method: {service: a.B}}]\n    " BE "\n"
	    "  - matches: [{method: {service: a.Bc}}]\n    " BE "\n"
	    "  - matches: [{method: {service: a.B, method: Get}}]\n    "
	    BE "\n"
	    "  - matches: [{method: {service: a.B, method: Get}, headers: "
	    "[{name: h, value: v}]}]\n    " BE "\n"
	    "  - " BE "\n")
	    HR("{name: h}", "  hostnames: [g.example.com]\n  rules: [{"
	    BE "}]\n"));
	ck_assert_str_eq(rtest_entry(&t, "g.example.com", "grpc", 0),
	    "default/g#1.0");	/* longer service */
	ck_assert_str_eq(rtest_entry(&t, "g.example.com", "grpc", 1),
	    "default/g#3.0");	/* method + header */
	ck_assert_str_eq(rtest_entry(&t, "g.example.com", "grpc", 2),
	    "default/g#2.0");	/* method */
	ck_assert_str_eq(rtest_entry(&t, "g.example.com", "grpc", 3),
	    "default/g#0.0");
	ck_assert_str_eq(rtest_entry(&t, "g.example.com", "grpc", 4),
	    "default/g#4.0");	/* match-all */
	/* Never merged with HTTPRoutes: separate list. */
	ck_assert_uint_eq(rtest_count(&t, "g.example.com", "http"), 1);
	ck_assert_str_eq(json_str(json_at(json_get(json_at(json_get(
	    rtest_host(&t, "g.example.com"), "grpc"), 0), "backends"), 0),
	    "protocol"), "h2c");
	/* A host carrying gRPC goes to the TLS (h2) listener. */
	ing = json_get(t.tunnel, "ingress");
	ck_assert_str_eq(json_str(json_at(ing, 0), "service"),
	    "https://localhost:8443");
	ck_assert(YAJL_IS_TRUE(json_path(json_at(ing, 0), "originRequest",
	    "http2Origin", NULL)));
	rtest_free(&t);
}
END_TEST

static const char det_yaml[] = GW_ONE_LISTENER
    HR("{name: r1}", "  hostnames: [a.example.com, '*.b.example.com']\n"
    "  rules:\n  - matches: [{path: {value: /x}}, {method: POST}]\n    "
    BE "\n")
    HR("{name: r2}", "  hostnames: [a.example.com]\n  rules: [{" BE "}]\n");
static const char det_yaml_swapped[] = GW_ONE_LISTENER
    HR("{name: r2}", "  hostnames: [a.example.com]\n  rules: [{" BE "}]\n")
    HR("{name: r1}", "  hostnames: [a.example.com, '*.b.example.com']\n"
    "  rules:\n  - matches: [{path: {value: /x}}, {method: POST}]\n    "
    BE "\n");

START_TEST(test_determinism)
{
	struct rtest	 a, b, c;

	rtest_compile(&a, det_yaml);
	rtest_compile(&b, det_yaml);
	rtest_compile(&c, det_yaml_swapped);
	ck_assert_str_eq(a.r->table, b.r->table);
	ck_assert_str_eq(a.r->tunnel, b.r->tunnel);
	/* Input order does not matter. */
	ck_assert_str_eq(a.r->table, c.r->table);
	ck_assert_str_eq(a.r->generation, c.r->generation);
	ck_assert_uint_eq(strlen(a.r->generation), 64);
	ck_assert_str_eq(json_str(a.table, "generation"), a.r->generation);
	ck_assert_str_eq(json_str(a.table, "version"), "1.0");
	rtest_free(&a);
	rtest_free(&b);
	rtest_free(&c);
	/* A change in content changes the generation. */
	rtest_compile(&a, det_yaml);
	rtest_compile(&b, GW_ONE_LISTENER
	    HR("{name: r2}", "  hostnames: [a.example.com]\n  rules: [{"
	    "backendRefs: [{name: s, port: 81}]}]\n"));
	ck_assert_str_ne(a.r->generation, b.r->generation);
	rtest_free(&a);
	rtest_free(&b);
}
END_TEST

static Suite *
route_prec_suite(void)
{
	Suite	*s = suite_create("route_prec");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_path_kinds);
	tcase_add_test(tc, test_method_headers_query);
	tcase_add_test(tc, test_header_dedupe);
	tcase_add_test(tc, test_route_age_and_name);
	tcase_add_test(tc, test_namespace_order_and_match_order);
	tcase_add_test(tc, test_hostname_precedence);
	tcase_add_test(tc, test_host_order);
	tcase_add_test(tc, test_grpc_precedence);
	tcase_add_test(tc, test_determinism);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(route_prec_suite());
}
