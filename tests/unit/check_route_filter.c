/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Route compiler: filters reach the table in the order listed; rules the
 * proxy could only answer with 500 are dropped and reported (Gateway API
 * v1.6.1: IncompatibleFilters, UnsupportedValue, PartiallyInvalid); filters
 * the proxy does not implement stay, marked unsupported, and are reported.
 */
#include "check_route.h"
#include "check_run.h"

#define HR(meta, spec) \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n" \
	"metadata: " meta "\nspec:\n  parentRefs: [{name: gw}]\n" spec
#define GR(meta, spec) \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n" \
	"metadata: " meta "\nspec:\n  parentRefs: [{name: gw}]\n" spec
#define BE "backendRefs: [{name: s, port: 80}]"
#define RHM(n) "{type: RequestHeaderModifier, requestHeaderModifier: " \
	"{set: [{name: " n ", value: v}]}}"
#define RESP "{type: ResponseHeaderModifier, responseHeaderModifier: " \
	"{remove: [x]}}"
#define MIR "{type: RequestMirror, requestMirror: {backendRef: " \
	"{name: m, port: 80}}}"
#define RW(x) "{type: URLRewrite, urlRewrite: " x "}"
#define RD(x) "{type: RequestRedirect, requestRedirect: " x "}"
#define CORS "{type: CORS, cors: {allowOrigins: ['https://a.io']}}"

static const struct route_dropped *
dropped(struct rtest *t, const char *name, size_t rule)
{
	const struct route_status	*s = rtest_route(t, "default", name);
	size_t				 i;

	for (i = 0; i < s->n_dropped; i++)
		if (s->dropped[i].rule == rule)
			return &s->dropped[i];
	return NULL;
}

static const char *
dropped_reason(struct rtest *t, const char *name, size_t rule)
{
	const struct route_dropped	*d = dropped(t, name, rule);

	return d != NULL ? d->reason : "kept";
}

START_TEST(test_order_kept)
{
	struct rtest	 t;
	yajl_val	 f;
	static const char *want[] = { "URLRewrite", "RequestHeaderModifier",
	    "RequestMirror", "ResponseHeaderModifier", "CORS",
	    "RequestMirror" };
	size_t		 i;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", "  hostnames: [a.io]\n  rules:\n"
	    "  - filters: [" RW("{hostname: b.io}") ", " RHM("x") ", " MIR
	    ", " RESP ", " CORS ", " MIR "]\n    " BE "\n"));
	f = json_get(json_at(json_get(rtest_host(&t, "a.io"), "http"), 0),
	    "filters");
	ck_assert_uint_eq(json_len(f), 6);
	for (i = 0; i < 6; i++)
		ck_assert_str_eq(json_str(json_at(f, i), "type"), want[i]);
	ck_assert_uint_eq(rtest_route(&t, "default", "r")->n_dropped, 0);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "Accepted"),
	    "True/Accepted");
	rtest_free(&t);
}
END_TEST

START_TEST(test_incompatible)
{
	struct rtest	 t;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", "  hostnames: [a.io]\n  rules:\n"
	    "  - filters: [" RD("{hostname: b.io}") ", "
	    RW("{hostname: c.io}") "]\n"
	    "  - filters: [" RHM("x") ", " RHM("y") "]\n    " BE "\n"
	    "  - filters: [" RESP ", " RESP "]\n    " BE "\n"
	    "  - filters: [" CORS ", " CORS "]\n    " BE "\n"
	    "  - filters: [" RD("{}") ", " RD("{}") "]\n"
	    "  - filters: [" MIR ", " MIR ", " RHM("x") "]\n    " BE "\n")
	    HR("{name: all}", "  hostnames: [b.io]\n  rules:\n"
	    "  - filters: [" RHM("x") ", " RHM("y") "]\n    " BE "\n"));
	ck_assert_str_eq(dropped_reason(&t, "r", 0), "IncompatibleFilters");
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 0)->message,
	    "Dropped Rule 0: filters: RequestRedirect and URLRewrite"));
	ck_assert_str_eq(dropped_reason(&t, "r", 1), "IncompatibleFilters");
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 1)->message,
	    "RequestHeaderModifier cannot be repeated"));
	ck_assert_str_eq(dropped_reason(&t, "r", 2), "IncompatibleFilters");
	ck_assert_str_eq(dropped_reason(&t, "r", 3), "IncompatibleFilters");
	ck_assert_str_eq(dropped_reason(&t, "r", 4), "IncompatibleFilters");
	ck_assert_str_eq(dropped_reason(&t, "r", 5), "kept");
	ck_assert_uint_eq(rtest_count(&t, "a.io", "http"), 1);
	ck_assert_str_eq(rtest_entry(&t, "a.io", "http", 0), "default/r#5.0");
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "Accepted"),
	    "True/Accepted");
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0,
	    "PartiallyInvalid"), "True/UnsupportedValue");
	/* Nothing left: not accepted, with the spec's reason. */
	ck_assert_str_eq(rtest_cond(&t, "default", "all", 0, "Accepted"),
	    "False/IncompatibleFilters");
	ck_assert_ptr_null(rtest_host(&t, "b.io"));
	rtest_free(&t);
}
END_TEST

START_TEST(test_unsupported_values)
{
	struct rtest	 t;
	size_t		 i;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", "  hostnames: [a.io]\n  rules:\n"
	    "  - filters: [" RD("{statusCode: 399}") "]\n"
	    "  - filters: [" RD("{scheme: ftp}") "]\n"
	    "  - filters: [" RD("{port: 0}") "]\n"
	    "  - matches: [{path: {type: Exact, value: /x}}]\n"
	    "    filters: [" RD("{path: {type: ReplacePrefixMatch, "
	    "replacePrefixMatch: /y}}") "]\n"
	    "  - matches: [{path: {value: /p}}, {path: {type: "
	    "RegularExpression, value: /r.*}}]\n"
	    "    filters: [" RW("{path: {type: ReplacePrefixMatch, "
	    "replacePrefixMatch: /y}}") "]\n    " BE "\n"
	    "  - filters: [" MIR ", " MIR ", " MIR ", " MIR ", " MIR "]\n"
	    "    " BE "\n"
	    "  - filters: [{type: RequestHeaderModifier}]\n    " BE "\n"
	    "  - filters: [" RHM("'a b'") "]\n    " BE "\n"
	    "  - filters: [" RW("{hostname: 'a.io/x'}") "]\n    " BE "\n"
	    "  - filters: [" RW("{path: {type: ReplaceFullPath, "
	    "replaceFullPath: 'no-slash'}}") "]\n    " BE "\n"
	    /* valid: kept */
	    "  - matches: [{path: {value: /ok}}]\n"
	    "    filters: [" RD("{statusCode: 308, scheme: https, port: "
	    "8443, path: {type: ReplacePrefixMatch, replacePrefixMatch: "
	    "/}}") "]\n"
	    "  - filters: [" RW("{path: {type: ReplacePrefixMatch, "
	    "replacePrefixMatch: ''}}") ", " MIR ", " MIR ", " MIR ", "
	    MIR "]\n    " BE "\n"
	    /* framing fields: the proxy writes them itself */
	    "  - filters: [" RHM("Content-Length") "]\n    " BE "\n"
	    "  - filters: [{type: ResponseHeaderModifier, "
	    "responseHeaderModifier: {remove: [Transfer-Encoding]}}]\n"
	    "    " BE "\n"));
	for (i = 0; i < 14; i++) {
		if (i == 10 || i == 11)
			continue;
		ck_assert_msg(strcmp(dropped_reason(&t, "r", i),
		    "UnsupportedValue") == 0, "rule %zu: %s", i,
		    dropped_reason(&t, "r", i));
	}
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 0)->message,
	    "statusCode"));
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 1)->message,
	    "scheme ftp"));
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 3)->message,
	    "ReplacePrefixMatch needs PathPrefix"));
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 5)->message,
	    "more than 4 RequestMirror"));
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 6)->message,
	    "without requestHeaderModifier"));
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 12)->message,
	    "Content-Length is set by the gateway"));
	ck_assert_str_eq(dropped_reason(&t, "r", 10), "kept");
	ck_assert_str_eq(dropped_reason(&t, "r", 11), "kept");
	ck_assert_uint_eq(rtest_count(&t, "a.io", "http"), 2);
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0,
	    "PartiallyInvalid"), "True/UnsupportedValue");
	rtest_free(&t);
}
END_TEST

#define MIRC(c) "{type: RequestMirror, requestMirror: {backendRef: " \
    "{name: m, port: 80}, " c "}}"

START_TEST(test_mirror_rates)
{
	struct rtest	 t;
	size_t		 i;
	static const char *bad[] = { "percent: 101", "percent: -1",
	    "percent: '50'", "percent: 5, fraction: {numerator: 1}",
	    "fraction: {numerator: 3, denominator: 2}",
	    "fraction: {numerator: 1, denominator: 0}",
	    "fraction: {numerator: -1}", "fraction: {denominator: 4}",
	    "fraction: {numerator: 101}" };
	char		 y[4096];
	size_t		 off;

	off = (size_t)snprintf(y, sizeof(y), "%s", GW_ONE_LISTENER
	    HR("{name: r}", "  hostnames: [a.io]\n  rules:\n"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		off += (size_t)snprintf(y + off, sizeof(y) - off,
		    "  - filters: [" MIRC("%s") "]\n    " BE "\n", bad[i]);
	/* valid: kept */
	off += (size_t)snprintf(y + off, sizeof(y) - off,
	    "  - filters: [" MIRC("percent: 0") ", " MIRC("percent: 100")
	    ", " MIRC("fraction: {numerator: 1}") ", "
	    MIRC("fraction: {numerator: 7, denominator: 7}") "]\n"
	    "    " BE "\n");
	ck_assert_uint_lt(off, sizeof(y));
	rtest_compile(&t, y);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(strcmp(dropped_reason(&t, "r", i),
		    "UnsupportedValue") == 0, "%s: %s", bad[i],
		    dropped_reason(&t, "r", i));
		ck_assert_ptr_nonnull(strstr(dropped(&t, "r", i)->message,
		    "RequestMirror"));
	}
	ck_assert_str_eq(dropped_reason(&t, "r", i), "kept");
	ck_assert_uint_eq(rtest_count(&t, "a.io", "http"), 1);
	rtest_free(&t);
}
END_TEST

START_TEST(test_unsupported_kept_and_reported)
{
	struct rtest	 t;
	yajl_val	 e, b;

	rtest_compile(&t, GW_ONE_LISTENER
	    HR("{name: r}", "  hostnames: [a.io]\n  rules:\n"
	    "  - matches: [{path: {value: /auth}}]\n"
	    "    filters: [{type: ExternalAuth, externalAuth: {protocol: "
	    "HTTP}}]\n    " BE "\n"
	    "  - backendRefs:\n    - name: s\n      port: 80\n"
	    "      filters: [" RW("{hostname: b.io}") "]\n"
	    "  - backendRefs:\n    - name: s\n      port: 80\n"
	    "      filters: [" RHM("x") ", " RHM("y") "]\n"));
	/* Rules 0 and 1 stay in the table; the proxy answers 500. */
	ck_assert_uint_eq(rtest_count(&t, "a.io", "http"), 2);
	e = json_at(json_get(rtest_host(&t, "a.io"), "http"), 0);
	ck_assert(YAJL_IS_TRUE(json_get(json_at(json_get(e, "filters"), 0),
	    "unsupported")));
	e = json_at(json_get(rtest_host(&t, "a.io"), "http"), 1);
	b = json_at(json_get(e, "backends"), 0);
	ck_assert(YAJL_IS_TRUE(json_get(json_at(json_get(b, "filters"), 0),
	    "unsupported")));
	ck_assert_str_eq(dropped(&t, "r", 0)->message, "Rule 0: unsupported "
	    "filter ExternalAuth: the requests it matches are answered with "
	    "500");
	ck_assert_int_eq(dropped(&t, "r", 0)->kept, 1);
	ck_assert_int_eq(dropped(&t, "r", 1)->kept, 1);
	ck_assert_int_eq(dropped(&t, "r", 2)->kept, 0);
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 1)->message,
	    "backendRefs[0]: unsupported filter URLRewrite"));
	ck_assert_str_eq(dropped_reason(&t, "r", 2), "IncompatibleFilters");
	ck_assert_ptr_nonnull(strstr(dropped(&t, "r", 2)->message,
	    "backendRefs[0].filters: RequestHeaderModifier cannot be "
	    "repeated"));
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0, "Accepted"),
	    "True/Accepted");
	ck_assert_str_eq(rtest_cond(&t, "default", "r", 0,
	    "PartiallyInvalid"), "True/UnsupportedValue");
	rtest_free(&t);
}
END_TEST

START_TEST(test_grpc_filters)
{
	struct rtest	 t;

	rtest_compile(&t, GW_ONE_LISTENER
	    GR("{name: g}", "  hostnames: [g.io]\n  rules:\n"
	    "  - filters: [" RHM("x") ", " RHM("y") "]\n    " BE "\n"
	    "  - matches: [{method: {service: a.B}}]\n"
	    "    filters: [" RESP ", " RHM("x") ", " MIR "]\n    " BE "\n"));
	ck_assert_str_eq(dropped_reason(&t, "g", 0), "IncompatibleFilters");
	ck_assert_str_eq(dropped_reason(&t, "g", 1), "kept");
	ck_assert_uint_eq(rtest_count(&t, "g.io", "grpc"), 1);
	ck_assert_str_eq(json_str(json_at(json_get(json_at(json_get(
	    rtest_host(&t, "g.io"), "grpc"), 0), "filters"), 0), "type"),
	    "ResponseHeaderModifier");
	rtest_free(&t);
}
END_TEST

static Suite *
route_filter_suite(void)
{
	Suite	*s = suite_create("route_filter");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_order_kept);
	tcase_add_test(tc, test_incompatible);
	tcase_add_test(tc, test_unsupported_values);
	tcase_add_test(tc, test_mirror_rates);
	tcase_add_test(tc, test_unsupported_kept_and_reported);
	tcase_add_test(tc, test_grpc_filters);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(route_filter_suite());
}
