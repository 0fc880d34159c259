/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonpatch.h"
#include "check_run.h"

/* RFC 6902 Appendix A and the edges around it. */
static const struct {
	const char	*doc, *ops, *want;	/* want NULL: an error */
	const char	*why;
} cases[] = {
	/* A.1 - A.16 */
	{ "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\","
	    "\"value\":\"qux\"}]", "{\"foo\":\"bar\",\"baz\":\"qux\"}", NULL },
	{ "{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":"
	    "\"/foo/1\",\"value\":\"qux\"}]",
	    "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", NULL },
	{ "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\","
	    "\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}", NULL },
	{ "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\","
	    "\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}", NULL },
	{ "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"replace\","
	    "\"path\":\"/baz\",\"value\":\"boo\"}]",
	    "{\"baz\":\"boo\",\"foo\":\"bar\"}", NULL },
	{ "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":"
	    "{\"corge\":\"grault\"}}", "[{\"op\":\"move\",\"from\":"
	    "\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
	    "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\","
	    "\"thud\":\"fred\"}}", NULL },
	{ "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}", "[{\"op\":"
	    "\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
	    "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", NULL },
	{ "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", "[{\"op\":\"test\","
	    "\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":"
	    "\"/foo/1\",\"value\":2}]", "{\"baz\":\"qux\",\"foo\":[\"a\",2,"
	    "\"c\"]}", NULL },
	{ "{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\","
	    "\"value\":\"bar\"}]", NULL, "[0] (test /baz): test failed" },
	{ "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/child\","
	    "\"value\":{\"grandchild\":{}}}]",
	    "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}", NULL },
	{ "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\","
	    "\"value\":\"qux\"}]", NULL, "path not found" },
	{ "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\","
	    "\"value\":10}]", "{\"/\":9,\"~1\":10}", NULL },
	{ "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\","
	    "\"value\":\"10\"}]", NULL, "test failed" },
	{ "{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\","
	    "\"value\":[\"abc\",\"def\"]}]",
	    "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}", NULL },
	/* more */
	{ "{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\","
	    "\"path\":\"/c\"},{\"op\":\"replace\",\"path\":\"/c/b\","
	    "\"value\":2}]", "{\"a\":{\"b\":1},\"c\":{\"b\":2}}", NULL },
	{ "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]",
	    "[1]", NULL },
	{ "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", NULL,
	    "path not found" },
	{ "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]",
	    NULL, "path not found" },
	{ "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/3\","
	    "\"value\":0}]", NULL, "array index out of range" },
	{ "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/01\"}]", NULL,
	    "path not found" },
	{ "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", NULL,
	    "path not found" },
	{ "{\"a\":{\"b\":{}}}", "[{\"op\":\"move\",\"from\":\"/a\","
	    "\"path\":\"/a/b/c\"}]", NULL, "path is inside from" },
	{ "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", NULL,
	    "path not found" },
	{ "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/~2\",\"value\":1}]",
	    NULL, "path not found" },
	{ "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", NULL,
	    "no value" },
	{ "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":null}]",
	    "{\"a\":1,\"b\":null}", NULL },
	{ "{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", NULL,
	    "unknown op" },
	{ "{\"a\":1}", "[{\"path\":\"/a\"}]", NULL, "op and path" },
	{ "{\"a\":1}", "{\"op\":\"add\"}", NULL, "not a list" },
	{ "{\"a\":\"x\"}", "[{\"op\":\"add\",\"path\":\"/a/b\","
	    "\"value\":1}]", NULL, "path not found" },
};

static char *
text(yajl_val v)
{
	struct jw	*w = jw_new();
	char		*s;
	size_t		 len;

	jw_val(w, v);
	s = jw_take(w, &len);
	jw_free(&w);
	return s;
}

START_TEST(test_cases)
{
	yajl_val	 doc, ops;
	char		 err[300], *got;
	int		 rc;

	doc = json_parse(cases[_i].doc, strlen(cases[_i].doc), err,
	    sizeof(err));
	ops = json_parse(cases[_i].ops, strlen(cases[_i].ops), err,
	    sizeof(err));
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_nonnull(ops);
	err[0] = '\0';
	rc = jsonpatch_apply(&doc, ops, err, sizeof(err));
	if (cases[_i].want == NULL) {
		ck_assert_msg(rc == -1, "case %d applied", _i);
		ck_assert_msg(strstr(err, cases[_i].why) != NULL,
		    "case %d: %s", _i, err);
	} else {
		ck_assert_msg(rc == 0, "case %d: %s", _i, err);
		got = text(doc);
		ck_assert_str_eq(got, cases[_i].want);
		free(got);
	}
	json_free(&doc);
	json_free(&ops);
}
END_TEST

START_TEST(test_add_takes_the_value)
{
	yajl_val	 doc, v;
	char		 err[200], *got;

	doc = json_parse("{\"s\":{}}", 8, err, sizeof(err));
	v = json_parse("{\"k\":[true]}", 12, err, sizeof(err));
	ck_assert_int_eq(jsonpatch_add(&doc, "/s/x", v, err, sizeof(err)), 0);
	got = text(doc);
	ck_assert_str_eq(got, "{\"s\":{\"x\":{\"k\":[true]}}}");
	free(got);
	v = json_parse("1", 1, err, sizeof(err));
	ck_assert_int_eq(jsonpatch_add(&doc, "/t/x", v, err, sizeof(err)),
	    -1);	/* v freed: ASan would see a leak */
	ck_assert_ptr_nonnull(strstr(err, "add /t/x: path not found"));
	json_free(&doc);
}
END_TEST

/* Copying the document into itself doubles it: bounded, not an OOM. */
START_TEST(test_copy_growth_bounded)
{
	yajl_val	 doc, ops;
	char		 err[200], buf[4096];
	size_t		 i, n = 0;

	/* Each copy lands on a new key: the document doubles each time. */
	buf[n++] = '[';
	for (i = 0; i < 60; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s{\"op\":"
		    "\"copy\",\"from\":\"\",\"path\":\"/x%zu\"}",
		    i > 0 ? "," : "", i);
	buf[n++] = ']';
	doc = json_parse("{\"a\":[1,2,3]}", 13, err, sizeof(err));
	ops = json_parse(buf, n, err, sizeof(err));
	ck_assert_ptr_nonnull(ops);
	ck_assert_int_eq(jsonpatch_apply(&doc, ops, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "would grow too large"));
	json_free(&doc);
	json_free(&ops);
	/* And no more than 256 operations. */
	n = 0;
	buf[n++] = '[';
	for (i = 0; i < 257; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s{}",
		    i > 0 ? "," : "");
	buf[n++] = ']';
	doc = json_parse("{}", 2, err, sizeof(err));
	ops = json_parse(buf, n, err, sizeof(err));
	ck_assert_int_eq(jsonpatch_apply(&doc, ops, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "more than 256 operations");
	json_free(&doc);
	json_free(&ops);
}
END_TEST

/* json_parse refuses deep nesting (trees are walked recursively). */
START_TEST(test_parse_depth)
{
	char		 buf[2 * 300], err[100];
	yajl_val	 v;
	size_t		 d;

	for (d = 255; d <= 257; d++) {
		memset(buf, '[', d);
		memset(buf + d, ']', d);
		v = json_parse(buf, 2 * d, err, sizeof(err));
		if (d <= 256)
			ck_assert_msg(v != NULL, "depth %zu: %s", d, err);
		else {
			ck_assert_ptr_null(v);
			ck_assert_str_eq(err, "JSON nested too deeply");
		}
		json_free(&v);
	}
	/* Brackets in strings (and escaped quotes) do not count. */
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "[\"\\\"");
	memset(buf + strlen(buf), '[', 400);
	strcat(buf, "\"]");
	v = json_parse(buf, strlen(buf), err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	json_free(&v);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("jsonpatch");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cases, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_add_takes_the_value);
	tcase_add_test(tc, test_copy_growth_bounded);
	tcase_add_test(tc, test_parse_depth);
	suite_add_tcase(s, tc);
	return check_run(s);
}
