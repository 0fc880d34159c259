/* SPDX-License-Identifier: Apache-2.0 */
/* manifest: YAML manifests into yajl trees. */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "manifest.h"
#include "check_run.h"

static void
load(struct manifest_set *s, const char *yaml)
{
	char	 err[256];

	memset(s, 0, sizeof(*s));
	ck_assert_msg(manifest_load_buf(s, "t.yaml", yaml, strlen(yaml), err,
	    sizeof(err)) == 0, "%s", err);
}

START_TEST(test_multi_doc)
{
	struct manifest_set	 s;
	char			 where[256];

	load(&s, "# comment\n---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: a, namespace: n}\n---\n---\n"
	    "kind: HTTPRoute\nmetadata: {name: b}\n...\n");
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.docs[0].kind, "Service");
	ck_assert_str_eq(s.docs[0].name, "a");
	ck_assert_str_eq(s.docs[0].namespace, "n");
	ck_assert_uint_eq(s.docs[0].index, 0);
	ck_assert_uint_eq(s.docs[1].index, 2);	/* empty doc counted */
	ck_assert_ptr_null(s.docs[1].namespace);
	manifest_where(&s.docs[1], where, sizeof(where));
	ck_assert_str_eq(where, "t.yaml: document 3 (HTTPRoute b)");
	manifest_set_free(&s);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(test_scalars)
{
	struct manifest_set	 s;
	yajl_val		 o;
	long long		 i;

	load(&s, "i: 42\nneg: -7\nhex: 0x1F\noct: 0o17\nf: 1.5\n"
	    "e: 1e3\nt: true\nT: True\nf2: false\nn: null\ntilde: ~\n"
	    "empty:\nqs: '42'\ndq: \"true\"\nyes: yes\nver: 1.2.3\n"
	    "big: 99999999999999999999999\nblock: |\n  line1\n  line2\n"
	    "anchor: &a {x: 1}\nalias: *a\n");
	o = s.docs[0].obj;
	ck_assert_int_eq(json_int(o, "i", &i), 0);
	ck_assert_int_eq(i, 42);
	ck_assert_int_eq(json_int(o, "neg", &i), 0);
	ck_assert_int_eq(i, -7);
	ck_assert_int_eq(json_int(o, "hex", &i), 0);
	ck_assert_int_eq(i, 31);
	ck_assert_int_eq(json_int(o, "oct", &i), 0);
	ck_assert_int_eq(i, 15);
	ck_assert(YAJL_IS_DOUBLE(json_get(o, "f")));
	ck_assert(YAJL_IS_DOUBLE(json_get(o, "e")));
	ck_assert(YAJL_IS_TRUE(json_get(o, "t")));
	ck_assert(YAJL_IS_TRUE(json_get(o, "T")));
	ck_assert(YAJL_IS_FALSE(json_get(o, "f2")));
	ck_assert(YAJL_IS_NULL(json_get(o, "n")));
	ck_assert(YAJL_IS_NULL(json_get(o, "tilde")));
	ck_assert(YAJL_IS_NULL(json_get(o, "empty")));
	ck_assert_str_eq(json_str(o, "qs"), "42");
	ck_assert_str_eq(json_str(o, "dq"), "true");
	ck_assert_str_eq(json_str(o, "yes"), "yes");	/* YAML 1.2 */
	ck_assert_str_eq(json_str(o, "ver"), "1.2.3");
	ck_assert_ptr_nonnull(json_get(o, "big"));
	ck_assert_str_eq(json_str(o, "block"), "line1\nline2\n");
	ck_assert_int_eq(json_int(json_get(o, "alias"), "x", &i), 0);
	ck_assert_int_eq(i, 1);
	manifest_set_free(&s);
}
END_TEST

START_TEST(test_list_and_json)
{
	struct manifest_set	 s;

	load(&s, "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
	    "{\"kind\": \"Service\", \"metadata\": {\"name\": \"a\"}},"
	    "{\"kind\": \"Service\", \"metadata\": {\"name\": \"b\"}}]}");
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.docs[1].name, "b");
	ck_assert_int_eq(s.docs[1].item, 1);
	manifest_set_free(&s);
}
END_TEST

START_TEST(test_errors)
{
	struct manifest_set	 s;
	char			 err[256];
	const char		*bad = "kind: A\n---\nkind: B\n  x: [1,\n";
	const char		*bomb =
	    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(manifest_load_buf(&s, "bad.yaml", bad, strlen(bad),
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad.yaml: document 2: line"));
	ck_assert_uint_eq(s.n, 1);	/* the good first document */
	manifest_set_free(&s);
	ck_assert_int_eq(manifest_load_buf(&s, "s.yaml", "just a string",
	    13, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a mapping"));
	ck_assert_int_eq(manifest_load_buf(&s, "bomb.yaml", bomb,
	    strlen(bomb), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too large"));
	ck_assert_int_eq(manifest_load_path(&s, "/nonexistent/x.yaml", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.yaml"));
	manifest_set_free(&s);
}
END_TEST

static void
write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_dir_and_namespace)
{
	struct manifest_set	 s;
	char			 dir[] = "/tmp/check_manifest.XXXXXX", p[256];
	char			 err[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/b.yaml", dir);
	write_file(p, "kind: Service\nmetadata: {name: b}\n");
	snprintf(p, sizeof(p), "%s/a.yml", dir);
	write_file(p, "kind: GatewayClass\nmetadata: {name: a}\n");
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	write_file(p, "not yaml: [");
	snprintf(p, sizeof(p), "%s/sub", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/c.json", dir);
	write_file(p, "{\"kind\":\"Service\",\"metadata\":{\"name\":\"c\","
	    "\"namespace\":\"x\"}}");
	memset(&s, 0, sizeof(s));
	ck_assert_msg(manifest_load_path(&s, dir, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.docs[0].name, "a");
	ck_assert_str_eq(s.docs[1].name, "b");
	ck_assert_str_eq(s.docs[2].name, "c");
	ck_assert_int_eq(manifest_default_namespace(&s, "dflt"), 0);
	ck_assert_ptr_null(s.docs[0].namespace);	/* cluster-scoped */
	ck_assert_str_eq(s.docs[1].namespace, "dflt");
	ck_assert_str_eq(json_str(json_get(s.docs[1].obj, "metadata"),
	    "namespace"), "dflt");
	ck_assert_str_eq(s.docs[2].namespace, "x");
	manifest_set_free(&s);
	snprintf(p, sizeof(p), "%s/sub/c.json", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/a.yml", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/b.yaml", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	unlink(p);
	rmdir(dir);
}
END_TEST

static Suite *
manifest_suite(void)
{
	Suite	*s = suite_create("manifest");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_multi_doc);
	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_list_and_json);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_dir_and_namespace);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(manifest_suite());
}
