/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: watch decoder, object helpers, paths, http helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "http.h"
#include "json.h"
#include "kube.h"
#include "check_run.h"

#define EV(t, kind, ns, name, rv) \
	"{\"type\":\"" t "\",\"object\":{\"kind\":\"" kind "\"," \
	"\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" name "\"," \
	"\"namespace\":\"" ns "\",\"resourceVersion\":\"" rv "\"," \
	"\"managedFields\":[{\"manager\":\"kubectl\"}]," \
	"\"annotations\":{\"kubectl.kubernetes.io/last-applied-" \
	"configuration\":\"{}\",\"keep\":\"yes\"}}," \
	"\"spec\":{\"n\":12,\"f\":1.5,\"b\":true,\"z\":null,\"a\":[1,\"x\"," \
	"{\"q\":[]}]}}}\n"

struct rec {
	int	 n;
	int	 types[64];
	char	 names[64][64];
	char	 rvs[64][32];
};

static void
rec_cb(void *arg, enum kube_event_type t, yajl_val obj)
{
	struct rec	*r = arg;
	const char	*s;

	if (r->n >= 64)
		return;
	r->types[r->n] = t;
	s = kube_obj_name(obj);
	snprintf(r->names[r->n], sizeof(r->names[0]), "%s", s ? s : "");
	s = kube_obj_rv(obj);
	snprintf(r->rvs[r->n], sizeof(r->rvs[0]), "%s", s ? s : "");
	r->n++;
}

static const char stream[] =
    EV("ADDED", "ConfigMap", "team-a", "one", "10")
    EV("MODIFIED", "ConfigMap", "team-a", "one", "11")
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\","
    "\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"12\"}}}\n"
    EV("DELETED", "ConfigMap", "team-a", "one", "13")
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
    "\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old "
    "resource version: 1 (225)\",\"reason\":\"Expired\",\"code\":410}}\n";

static struct rec
decode_chunked(const char *buf, size_t len, size_t max, unsigned seed,
    size_t maxchunk, uint64_t *dropped)
{
	struct kube_decoder	*d;
	struct rec		 r;
	size_t			 off = 0, n;

	memset(&r, 0, sizeof(r));
	srandom(seed);
	d = kube_decoder_new(max, rec_cb, &r);
	ck_assert_ptr_nonnull(d);
	while (off < len) {
		n = 1 + (size_t)random() % maxchunk;
		if (n > len - off)
			n = len - off;
		ck_assert_int_eq(kube_decoder_feed(d, buf + off, n), 0);
		off += n;
	}
	ck_assert_int_eq(kube_decoder_finish(d), 0);
	if (dropped != NULL)
		*dropped = kube_decoder_dropped(d);
	kube_decoder_free(&d);
	ck_assert_ptr_null(d);
	return r;
}

START_TEST(test_decode_stream_random_chunks)
{
	struct rec	 r;
	uint64_t	 dropped;
	unsigned	 seed;

	for (seed = 1; seed <= 200; seed++) {
		r = decode_chunked(stream, strlen(stream), 0, seed,
		    seed % 3 == 0 ? 1 : 1 + seed % 97, &dropped);
		ck_assert_int_eq(r.n, 5);
		ck_assert_int_eq(dropped, 0);
		ck_assert_int_eq(r.types[0], KUBE_EV_ADDED);
		ck_assert_int_eq(r.types[1], KUBE_EV_MODIFIED);
		ck_assert_int_eq(r.types[2], KUBE_EV_BOOKMARK);
		ck_assert_int_eq(r.types[3], KUBE_EV_DELETED);
		ck_assert_int_eq(r.types[4], KUBE_EV_ERROR);
		ck_assert_str_eq(r.names[0], "one");
		ck_assert_str_eq(r.rvs[1], "11");
		ck_assert_str_eq(r.rvs[2], "12");
		ck_assert_str_eq(r.rvs[3], "13");
	}
}
END_TEST

static yajl_val	 kept;

static void
keep_cb(void *arg, enum kube_event_type t, yajl_val obj)
{
	(void)arg;
	(void)t;
	if (kept == NULL)
		kept = kube_val_dup(obj);
}

START_TEST(test_decode_tree_values)
{
	struct kube_decoder	*d;
	yajl_val		 spec, a;
	long long		 n;
	const char		*one = EV("ADDED", "Service", "ns", "svc", "5");

	kept = NULL;
	d = kube_decoder_new(0, keep_cb, NULL);
	ck_assert_int_eq(kube_decoder_feed(d, one, strlen(one)), 0);
	kube_decoder_free(&d);
	ck_assert_ptr_nonnull(kept);
	spec = json_get(kept, "spec");
	ck_assert_int_eq(json_int(spec, "n", &n), 0);
	ck_assert_int_eq(n, 12);
	ck_assert(YAJL_IS_DOUBLE(json_get(spec, "f")));
	ck_assert(YAJL_GET_DOUBLE(json_get(spec, "f")) == 1.5);
	ck_assert(YAJL_IS_TRUE(json_get(spec, "b")));
	ck_assert(YAJL_IS_NULL(json_get(spec, "z")));
	a = json_get(spec, "a");
	ck_assert_int_eq(json_len(a), 3);
	ck_assert_str_eq(json_str(json_at(a, 1), NULL), "x");
	ck_assert(YAJL_IS_ARRAY(json_get(json_at(a, 2), "q")));
	ck_assert_str_eq(kube_obj_namespace(kept), "ns");
	/* Trimming. */
	ck_assert_ptr_nonnull(json_path(kept, "metadata", "managedFields",
	    NULL));
	kube_obj_trim(kept);
	ck_assert_ptr_null(json_path(kept, "metadata", "managedFields",
	    NULL));
	ck_assert_ptr_null(json_path(kept, "metadata", "annotations",
	    "kubectl.kubernetes.io/last-applied-configuration", NULL));
	ck_assert_str_eq(json_str(json_path(kept, "metadata", "annotations",
	    NULL), "keep"), "yes");
	ck_assert_str_eq(kube_obj_rv(kept), "5");
	yajl_tree_free(kept);
}
END_TEST

static void
expect_one_good_after(const char *bad, uint64_t want_dropped)
{
	char		*buf;
	struct rec	 r;
	uint64_t	 dropped;
	unsigned	 seed;
	const char	*good = EV("ADDED", "Gateway", "default", "after", "7");

	if (asprintf(&buf, "%s%s", bad, good) == -1)
		ck_abort();
	for (seed = 1; seed < 40; seed++) {
		r = decode_chunked(buf, strlen(buf), 2048, seed, 1 + seed * 7,
		    &dropped);
		ck_assert_int_eq(r.n, 1);
		ck_assert_str_eq(r.names[0], "after");
		ck_assert_int_eq(dropped, want_dropped);
	}
	free(buf);
}

START_TEST(test_decode_malformed_json)
{
	expect_one_good_after("{\"type\":\"ADDED\",\"object\":{\"metadata\":"
	    "{\"name\":\"x\",}}}\n", 1);
	expect_one_good_after("not json at all\n", 1);
	expect_one_good_after("{\"type\":\"ADDED\",\"object\":{]\n", 1);
}
END_TEST

START_TEST(test_decode_wrong_shapes)
{
	/* Missing metadata, wrong types, unknown event type, not objects. */
	expect_one_good_after("{\"type\":\"ADDED\",\"object\":{\"kind\":"
	    "\"Gateway\"}}\n", 1);
	expect_one_good_after("{\"type\":\"ADDED\",\"object\":{\"metadata\":"
	    "{\"name\":5,\"resourceVersion\":\"1\"}}}\n", 1);
	expect_one_good_after("{\"type\":\"ADDED\",\"object\":{\"metadata\":"
	    "{\"name\":\"n\"}}}\n", 1);
	expect_one_good_after("{\"type\":7,\"object\":{}}\n", 1);
	expect_one_good_after("{\"type\":\"EXPLODED\",\"object\":{}}\n", 1);
	expect_one_good_after("{\"type\":\"ADDED\",\"object\":[]}\n", 1);
	expect_one_good_after("[1,2,3]\n\"str\"\n", 2);
	expect_one_good_after("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":"
	    "{}}}\n", 1);
}
END_TEST

START_TEST(test_decode_bad_utf8_and_nul)
{
	expect_one_good_after("{\"type\":\"ADDED\",\"object\":{\"metadata\":"
	    "{\"name\":\"\xc3\x28\",\"resourceVersion\":\"1\"}}}\n", 1);
	expect_one_good_after("{\"type\":\"ADDED\",\"object\":{\"metadata\":"
	    "{\"name\":\"a\\u0000b\",\"resourceVersion\":\"1\"}}}\n", 1);
}
END_TEST

START_TEST(test_decode_oversize)
{
	char		*big, *pad;
	size_t		 n = 100000;

	pad = malloc(n + 1);
	memset(pad, 'x', n);
	pad[n] = '\0';
	/* Name first (as the apiserver sends it), then a huge spec. */
	if (asprintf(&big, "{\"type\":\"ADDED\",\"object\":{\"kind\":"
	    "\"ConfigMap\",\"metadata\":{\"name\":\"huge\",\"namespace\":"
	    "\"ns\",\"resourceVersion\":\"3\"},\"data\":{\"k\":\"%s\"}}}\n",
	    pad) == -1)
		ck_abort();
	expect_one_good_after(big, 1);
	free(big);
	free(pad);
}
END_TEST

START_TEST(test_decode_deep_nesting)
{
	char	 buf[2048];
	size_t	 i, n = 0;

	n += snprintf(buf, sizeof(buf), "{\"type\":\"ADDED\",\"object\":");
	for (i = 0; i < 200; i++)
		buf[n++] = '[';
	for (i = 0; i < 200; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	buf[n++] = '\n';
	buf[n] = '\0';
	expect_one_good_after(buf, 1);
}
END_TEST

START_TEST(test_decode_no_trailing_newline)
{
	struct rec	 r;
	const char	*s = "{\"type\":\"ADDED\",\"object\":{\"metadata\":"
	    "{\"name\":\"last\",\"resourceVersion\":\"9\"}}}";

	r = decode_chunked(s, strlen(s), 0, 3, 5, NULL);
	ck_assert_int_eq(r.n, 1);
	ck_assert_str_eq(r.names[0], "last");
}
END_TEST

START_TEST(test_decode_pretty_printed)
{
	struct rec	 r;
	const char	*s = "{\n  \"type\": \"ADDED\",\n  \"object\": {\n"
	    "    \"metadata\": {\"name\": \"p\", \"resourceVersion\": \"1\"}\n"
	    "  }\n}\n{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":"
	    "\"p\",\"resourceVersion\":\"2\"}}}\n";

	r = decode_chunked(s, strlen(s), 0, 11, 4, NULL);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(r.types[1], KUBE_EV_DELETED);
}
END_TEST

START_TEST(test_val_dup_equal)
{
	yajl_val	 a, b;
	struct jw	*w1, *w2;
	const char	*s1, *s2;
	size_t		 l1, l2;
	const char	*txt = "{\"a\":[1,2.5,\"x\",true,false,null,{}],"
	    "\"b\":{\"c\":\"d\"},\"e\":-9223372036854775807}";

	a = json_parse(txt, strlen(txt), NULL, 0);
	ck_assert_ptr_nonnull(a);
	b = kube_val_dup(a);
	ck_assert_ptr_nonnull(b);
	w1 = jw_new();
	w2 = jw_new();
	jw_val(w1, a);
	jw_val(w2, b);
	ck_assert_int_eq(jw_result(w1, &s1, &l1), 0);
	ck_assert_int_eq(jw_result(w2, &s2, &l2), 0);
	ck_assert_uint_eq(l1, l2);
	ck_assert(memcmp(s1, s2, l1) == 0);
	jw_free(&w1);
	jw_free(&w2);
	yajl_tree_free(a);
	yajl_tree_free(b);
}
END_TEST

START_TEST(test_paths_and_table)
{
	char			 buf[256];
	const struct kube_res	*r;

	r = kube_res_lookup("Gateway");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(kube_path(buf, sizeof(buf), r, "default", "gw",
	    "status"), 0);
	ck_assert_str_eq(buf,
	    "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/"
	    "gw/status");
	ck_assert_int_eq(kube_path(buf, sizeof(buf), r, NULL, NULL, NULL), 0);
	ck_assert_str_eq(buf, "/apis/gateway.networking.k8s.io/v1/gateways");
	r = kube_res_lookup("Namespace");
	ck_assert_int_eq(kube_path(buf, sizeof(buf), r, "ignored", "x",
	    NULL), 0);
	ck_assert_str_eq(buf, "/api/v1/namespaces/x");
	r = kube_res_lookup("Secret");
	ck_assert_int_eq(kube_path(buf, 20, r, "default", "x", NULL), -1);
	ck_assert_ptr_null(kube_res_lookup("Nope"));
	ck_assert_ptr_null(kube_res_lookup(NULL));
	ck_assert_ptr_nonnull(kube_res_lookup("CloudflareGatewayParameters"));
}
END_TEST

START_TEST(test_http_helpers)
{
	struct http_buf	 b;
	char		 ua[64];
	long		 ms;
	int		 i, unsent;

	ck_assert_int_eq(http_retry_after_parse("7", 0), 7);
	ck_assert_int_eq(http_retry_after_parse("x7", 0), -1);
	ck_assert_int_eq(http_retry_after_parse("", 0), -1);
	ck_assert_int_eq(http_retry_after_parse(
	    "Wed, 21 Oct 2015 07:28:10 GMT", 1445412480), 10);
	ck_assert_int_eq(http_retry_after_parse(
	    "Wed, 21 Oct 2015 07:28:10 GMT", 1445412500), 0);
	for (i = 0; i < 20; i++) {
		ms = http_backoff_ms(i, 100, 5000, -1);
		ck_assert(ms >= 50 && ms <= 5000);
	}
	ck_assert_int_eq(http_backoff_ms(0, 100, 5000, 3), 3000);
	ck_assert(http_status_retryable(429) && http_status_retryable(503));
	ck_assert(!http_status_retryable(409) && !http_status_retryable(404));
	ck_assert(http_curl_retryable(CURLE_COULDNT_CONNECT, &unsent) &&
	    unsent);
	ck_assert(http_curl_retryable(CURLE_RECV_ERROR, &unsent) && !unsent);
	ck_assert(!http_curl_retryable(CURLE_SSL_CACERT_BADFILE, &unsent));
	http_user_agent(ua, sizeof(ua), "watcher");
	ck_assert_str_eq(ua, "cfgw/" CFGW_VERSION " (watcher)");
	http_buf_init(&b, 10);
	ck_assert_uint_eq(http_buf_write("hello", 1, 5, &b), 5);
	ck_assert_str_eq(b.data, "hello");
	ck_assert_uint_eq(http_buf_write("world!", 1, 6, &b), 0);
	ck_assert(b.overflow);
	http_buf_free(&b);
}
END_TEST

/* ---- list mode ------------------------------------------------------ */

#define ITEM(name, rv) \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\"," \
	"\"resourceVersion\":\"" rv "\"},\"spec\":" \
	"{\"a\":[1,[2,{\"b\":null}]]," \
	"\"s\":\"x\\\"y\",\"t\":true,\"d\":2.5}}"

struct lrec {
	int	 n;
	char	 names[16][64];
	char	 kinds[16][64];
	char	 spec[16][128];
};

static void
lrec_cb(void *arg, yajl_val obj)
{
	struct lrec	*r = arg;
	struct jw	*w;
	const char	*s, *buf;
	size_t		 len;

	ck_assert_int_lt(r->n, 16);
	s = kube_obj_name(obj);
	snprintf(r->names[r->n], sizeof(r->names[0]), "%s", s ? s : "");
	s = json_str(obj, "kind");
	snprintf(r->kinds[r->n], sizeof(r->kinds[0]), "%s", s ? s : "");
	ck_assert_ptr_nonnull(w = jw_new());
	jw_val(w, json_get(obj, "spec"));
	if (jw_result(w, &buf, &len) == 0)
		snprintf(r->spec[r->n], sizeof(r->spec[0]), "%.*s", (int)len,
		    buf);
	jw_free(&w);
	r->n++;
}

/*
 * Decode a list in chunks of random size; returns 0 or -1 (feed or finish
 * failed), the decoder's error in err.
 */
static int
list_chunked(const char *buf, size_t max, int meta, unsigned seed,
    size_t maxchunk, struct lrec *r, uint64_t *dropped, char *rv,
    char *cont, char *err)
{
	struct kube_decoder	*d;
	size_t			 off = 0, n, len = strlen(buf);
	int			 rc = 0;

	memset(r, 0, sizeof(*r));
	rv[0] = cont[0] = err[0] = '\0';
	srandom(seed);
	ck_assert_ptr_nonnull(d = kube_list_decoder_new(max, meta, lrec_cb,
	    r));
	while (off < len && rc == 0) {
		n = 1 + (size_t)random() % maxchunk;
		if (n > len - off)
			n = len - off;
		rc = kube_decoder_feed(d, buf + off, n);
		off += n;
	}
	if (rc == 0)
		rc = kube_decoder_finish(d);
	if (rc == 0) {
		snprintf(rv, 64, "%s", kube_decoder_list_rv(d));
		if (kube_decoder_list_continue(d) != NULL)
			snprintf(cont, 64, "%s", kube_decoder_list_continue(d));
	} else
		snprintf(err, 128, "%s", kube_decoder_error(d));
	*dropped = kube_decoder_dropped(d);
	ck_assert_uint_eq(kube_decoder_events(d), (uint64_t)r->n);
	kube_decoder_free(&d);
	return rc;
}

START_TEST(test_list_decode_chunks)
{
	/* Built-in order (metadata first), and sorted keys (items first). */
	static const char *lists[] = {
	    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":"
	    "{\"resourceVersion\":\"77\",\"continue\":\"tok\",\"x\":[{}]},"
	    "\"items\":[" ITEM("a", "1") "," ITEM("b", "2") ",\n  "
	    ITEM("c", "3") "]}",
	    "{\"apiVersion\":\"v1\",\"items\":[" ITEM("a", "1") ","
	    ITEM("b", "2") "," ITEM("c", "3") "],\"kind\":\"XList\","
	    "\"metadata\":{\"continue\":\"tok\",\"resourceVersion\":\"77\"}}\n",
	};
	struct lrec	 r;
	uint64_t	 dropped;
	char		 rv[64], cont[64], err[128];
	unsigned	 seed;
	size_t		 i;

	for (i = 0; i < 2; i++)
		for (seed = 1; seed <= 100; seed++) {
			ck_assert_int_eq(list_chunked(lists[i], 0, 0, seed,
			    seed % 4 == 0 ? 1 : 1 + seed % 61, &r, &dropped,
			    rv, cont, err), 0);
			ck_assert_int_eq(r.n, 3);
			ck_assert_uint_eq(dropped, 0);
			ck_assert_str_eq(r.names[0], "a");
			ck_assert_str_eq(r.names[2], "c");
			ck_assert_str_eq(r.spec[1],
			    "{\"a\":[1,[2,{\"b\":null}]],"
			    "\"s\":\"x\\\"y\",\"t\":true,\"d\":2.5}");
			ck_assert_str_eq(rv, "77");
			ck_assert_str_eq(cont, "tok");
		}
	/* The last page: no continue token; Go's null for no items. */
	ck_assert_int_eq(list_chunked("{\"kind\":\"L\",\"metadata\":"
	    "{\"resourceVersion\":\"9\",\"continue\":\"\"},\"items\":null}",
	    0, 0, 1, 5, &r, &dropped, rv, cont, err), 0);
	ck_assert_int_eq(r.n, 0);
	ck_assert_str_eq(rv, "9");
	ck_assert_str_eq(cont, "");
}
END_TEST

START_TEST(test_list_decode_drops)
{
	/*
	 * No name, a scalar, an array, one too large, NULs in a string item,
	 * a name and a key: dropped, not fatal.
	 */
	static const char list[] =
	    "{\"items\":[{\"metadata\":{\"resourceVersion\":\"1\"}},7,[1],"
	    ITEM("ok1", "2") ",{\"metadata\":{\"name\":\"big\","
	    "\"resourceVersion\":\"3\"},\"spec\":{\"pad\":[\""
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "\",{\"deeper\":[[{\"x\":\"y\"}]]}]}}," ITEM("ok2", "4")
	    ",{\"metadata\":{\"name\":\"nor\"}},\"a\\u0000b\","
	    "{\"metadata\":{\"name\":\"a\\u0000b\",\"resourceVersion\":\"5\"}},"
	    "{\"metadata\":{\"n\\u0000\":1,\"name\":\"x\"}}," ITEM("ok3", "6")
	    "],\"metadata\":{}}";
	struct lrec	 r;
	uint64_t	 dropped;
	char		 rv[64], cont[64], err[128];
	unsigned	 seed;

	for (seed = 1; seed <= 50; seed++) {
		ck_assert_int_eq(list_chunked(list, 400, 0, seed,
		    1 + seed % 23, &r, &dropped, rv, cont, err), 0);
		ck_assert_int_eq(r.n, 3);
		ck_assert_str_eq(r.names[0], "ok1");
		ck_assert_str_eq(r.names[1], "ok2");
		ck_assert_str_eq(r.names[2], "ok3");
		ck_assert_uint_eq(dropped, 8);
	}
}
END_TEST

START_TEST(test_list_decode_errors)
{
	static const struct {
		const char	*in, *err;
	} bad[] = {
		{ "{\"items\":[" ITEM("a", "1"), "truncated list" },
		{ "{\"items\":[}", "malformed JSON" },
		{ "{\"kind\":\"Status\",\"metadata\":{}}",
		    "list answer without items" },
		{ "{\"items\":{}}", "items is not an array" },
		{ "[]", "not a JSON object" },
		{ "\"x\"", "not a JSON object" },
		{ "{\"items\":[]} {\"items\":[]}", "trailing garbage" },
		{ "{\"items\":[],\"metadata\":{\"continue\":\""
		    "0123456789012345678901234567890123456789012345678901234"
		    "0123456789012345678901234567890123456789012345678901234"
		    "0123456789012345678901234567890123456789012345678901234"
		    "0123456789012345678901234567890123456789012345678901234"
		    "\"}}", "list metadata too large" },
		{ "{\"items\":[],\"metadata\":{\"continue\":\"a\\u0000\"}}",
		    "NUL in string" },
	};
	struct lrec	 r;
	uint64_t	 dropped;
	char		 rv[64], cont[64], err[128];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(list_chunked(bad[i].in, 200, 0, (unsigned)i +
		    1, 7, &r, &dropped, rv, cont, err), -1);
		if (bad[i].err != NULL)
			ck_assert_msg(strstr(err, bad[i].err) != NULL,
			    "%zu: %s", i, err);
	}
}
END_TEST

START_TEST(test_list_decode_metadata_only)
{
	struct lrec	 r;
	uint64_t	 dropped;
	char		 rv[64], cont[64], err[128];

	/* The list says what it is before its items: taken. */
	ck_assert_int_eq(list_chunked("{\"kind\":\"PartialObjectMetadataList\","
	    "\"metadata\":{},\"items\":[" ITEM("a", "1") "]}", 0, 1, 1, 9, &r,
	    &dropped, rv, cont, err), 0);
	ck_assert_int_eq(r.n, 1);
	/* Each item says so: taken. */
	ck_assert_int_eq(list_chunked("{\"items\":[{\"kind\":"
	    "\"PartialObjectMetadata\",\"metadata\":{\"name\":\"a\","
	    "\"resourceVersion\":\"1\"}}],\"kind\":"
	    "\"PartialObjectMetadataList\"}", 0, 1, 2, 9, &r, &dropped, rv,
	    cont, err), 0);
	ck_assert_int_eq(r.n, 1);
	/* Full objects (a server that ignored Accept): nothing handed on. */
	ck_assert_int_eq(list_chunked("{\"items\":[{\"kind\":\"Secret\","
	    "\"metadata\":{\"name\":\"s\",\"resourceVersion\":\"1\"},"
	    "\"data\":{\"k\":\"c2VjcmV0\"}}],\"kind\":\"SecretList\"}", 0, 1, 3,
	    9, &r, &dropped, rv, cont, err), -1);
	ck_assert_int_eq(r.n, 0);
	ck_assert_str_eq(err, KUBE_ERR_NOT_META);
	ck_assert_int_eq(list_chunked("{\"kind\":\"SecretList\",\"items\":["
	    ITEM("a", "1") "]}", 0, 1, 4, 9, &r, &dropped, rv, cont, err), -1);
	ck_assert_int_eq(r.n, 0);
}
END_TEST

static Suite *
kube_suite(void)
{
	Suite	*s = suite_create("kube");
	TCase	*tc = tcase_create("decode");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_decode_stream_random_chunks);
	tcase_add_test(tc, test_decode_tree_values);
	tcase_add_test(tc, test_decode_malformed_json);
	tcase_add_test(tc, test_decode_wrong_shapes);
	tcase_add_test(tc, test_decode_bad_utf8_and_nul);
	tcase_add_test(tc, test_decode_oversize);
	tcase_add_test(tc, test_decode_deep_nesting);
	tcase_add_test(tc, test_decode_no_trailing_newline);
	tcase_add_test(tc, test_decode_pretty_printed);
	tcase_add_test(tc, test_val_dup_equal);
	tcase_add_test(tc, test_list_decode_chunks);
	tcase_add_test(tc, test_list_decode_drops);
	tcase_add_test(tc, test_list_decode_errors);
	tcase_add_test(tc, test_list_decode_metadata_only);
	suite_add_tcase(s, tc);
	tc = tcase_create("helpers");
	tcase_add_test(tc, test_paths_and_table);
	tcase_add_test(tc, test_http_helpers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(kube_suite());
}
