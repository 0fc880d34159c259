/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reconciler's object store: the hash index against a plain model
 * under random puts and deletes, insertion order, and the digest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "reconciler/store.c"
#include "check_run.h"

#define NKEYS	300

static yajl_val
obj(const char *ns, const char *name, int rv)
{
	char	 buf[256];

	if (ns != NULL)
		snprintf(buf, sizeof(buf), "{\"metadata\":{"
		    "\"namespace\":\"%s\",\"name\":\"%s\","
		    "\"resourceVersion\":\"%d\"}}", ns, name, rv);
	else
		snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"%s\","
		    "\"resourceVersion\":\"%d\"}}", name, rv);
	return yajl_tree_parse(buf, NULL, 0);
}

static int
rv_of(yajl_val o)
{
	return atoi(json_str(json_get(o, "metadata"), "resourceVersion"));
}

START_TEST(test_store_index_model)
{
	struct store	*s = store_new();
	int		 model[NKEYS], order[NKEYS], norder = 0;
	char		 ns[16], name[16];
	yajl_val	 old;
	size_t		 i;
	int		 step, k, err, j;

	srandom(7);
	memset(model, 0, sizeof(model));
	for (step = 1; step < 20000; step++) {
		k = (int)(random() % NKEYS);
		snprintf(ns, sizeof(ns), "ns%d", k % 7);
		snprintf(name, sizeof(name), "r%d", k);
		if (random() % 3 == 0) {
			old = store_del(s, "HTTPRoute", ns, name);
			ck_assert_int_eq(old != NULL, model[k] != 0);
			if (old != NULL)
				ck_assert_int_eq(rv_of(old), model[k]);
			yajl_tree_free(old);
			model[k] = 0;
			for (j = 0; j < norder; j++)
				if (order[j] == k) {
					memmove(&order[j], &order[j + 1],
					    (size_t)(norder - j - 1) *
					    sizeof(*order));
					norder--;
				}
			continue;
		}
		old = store_put(s, "HTTPRoute", obj(ns, name, step), &err);
		ck_assert_int_eq(err, 0);
		ck_assert_int_eq(old != NULL, model[k] != 0);
		yajl_tree_free(old);
		if (model[k] == 0)
			order[norder++] = k;
		model[k] = step;
		if (step % 500 != 0)
			continue;
		/* Every key found (or not) as the model says. */
		for (j = 0; j < NKEYS; j++) {
			snprintf(ns, sizeof(ns), "ns%d", j % 7);
			snprintf(name, sizeof(name), "r%d", j);
			old = store_get(s, "HTTPRoute", ns, name);
			ck_assert_int_eq(old != NULL, model[j] != 0);
			if (old != NULL)
				ck_assert_int_eq(rv_of(old), model[j]);
		}
		/* store_at keeps insertion order. */
		ck_assert_uint_eq(store_count(s, "HTTPRoute"), (size_t)norder);
		for (i = 0; i < (size_t)norder; i++) {
			snprintf(name, sizeof(name), "r%d", order[i]);
			ck_assert_str_eq(json_str(json_get(store_at(s,
			    "HTTPRoute", i), "metadata"), "name"), name);
		}
		store_release(s);
	}
	store_free(&s);
}
END_TEST

START_TEST(test_store_digest)
{
	struct store	*a = store_new(), *b = store_new();
	const char	*text = "Gateway ns/gw 5\nNamespace ns 2\n";
	unsigned char	 h[crypto_hash_sha256_BYTES];
	char		 ha[65], hb[65], want[65];
	unsigned long long c;
	size_t		 i;
	int		 err;

	/* The same objects in another order: the same digest. */
	store_put(a, "Gateway", obj("ns", "gw", 5), &err);
	store_put(a, "Namespace", obj(NULL, "ns", 2), &err);
	store_put(b, "Namespace", obj(NULL, "ns", 2), &err);
	c = store_changes(b);
	store_put(b, "Gateway", obj("ns", "gw", 5), &err);
	ck_assert(store_changes(b) > c);
	ck_assert_int_eq(store_digest(a, ha), 0);
	ck_assert_int_eq(store_digest(b, hb), 0);
	ck_assert_str_eq(ha, hb);
	/* Spelled out: sha256 of the sorted lines. */
	crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
	for (i = 0; i < sizeof(h); i++)
		snprintf(want + 2 * i, 3, "%02x", h[i]);
	ck_assert_str_eq(ha, want);
	/* A new resourceVersion changes it. */
	yajl_tree_free(store_put(b, "Gateway", obj("ns", "gw", 6), &err));
	ck_assert_int_eq(store_digest(b, hb), 0);
	ck_assert_str_ne(ha, hb);
	/* Cluster-scoped lookups with "" or NULL namespace. */
	ck_assert_ptr_nonnull(store_get(a, "Namespace", "", "ns"));
	ck_assert_ptr_nonnull(store_get(a, "Namespace", NULL, "ns"));
	yajl_tree_free(store_del(a, "Namespace", "", "ns"));
	ck_assert_ptr_null(store_get(a, "Namespace", NULL, "ns"));
	/* New kinds the watcher publishes. */
	ck_assert(store_kind_known("ServiceAccount"));
	ck_assert(store_kind_known("VerticalPodAutoscaler"));
	store_free(&a);
	store_free(&b);
}
END_TEST

/* Text kinds: borrowed parses until store_release, owned loads. */
START_TEST(test_store_text)
{
	struct store	*s = store_new();
	const char	*ns, *name;
	yajl_val	 a, b, o, put;
	int		 err;

	ck_assert(store_kind_text("HTTPRoute"));
	ck_assert(store_kind_text("Service"));
	ck_assert(!store_kind_text("Gateway"));
	ck_assert(!store_kind_text("Nonsense"));
	put = obj("ns", "r1", 3);
	ck_assert_ptr_null(store_put(s, "HTTPRoute", put, &err));
	ck_assert_int_eq(err, 0);
	/* obj stays readable until the release. */
	ck_assert_int_eq(rv_of(put), 3);
	a = store_get(s, "HTTPRoute", "ns", "r1");
	b = store_get(s, "HTTPRoute", "ns", "r1");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_ne(a, b);		/* parsed on each access */
	ck_assert_int_eq(rv_of(a), 3);
	ck_assert_int_eq(rv_of(store_at(s, "HTTPRoute", 0)), 3);
	store_release(s);
	/* Owned copies, by key and by position. */
	o = store_fetch(s, "HTTPRoute", "ns", "r1");
	ck_assert_int_eq(rv_of(o), 3);
	yajl_tree_free(o);
	ck_assert_ptr_null(store_fetch(s, "HTTPRoute", "ns", "r2"));
	o = store_load(s, "HTTPRoute", 0);
	ck_assert_str_eq(json_str(json_get(o, "metadata"), "namespace"),
	    "ns");
	yajl_tree_free(o);
	ck_assert_ptr_null(store_load(s, "HTTPRoute", 1));
	ck_assert_int_eq(store_key_at(s, "HTTPRoute", 0, &ns, &name), 0);
	ck_assert_str_eq(ns, "ns");
	ck_assert_str_eq(name, "r1");
	ck_assert_int_eq(store_key_at(s, "HTTPRoute", 1, &ns, &name), -1);
	/* A tree kind loads as a copy; its borrowed tree stays the same. */
	store_put(s, "Namespace", obj(NULL, "ns", 2), &err);
	ck_assert_ptr_eq(store_get(s, "Namespace", NULL, "ns"),
	    store_at(s, "Namespace", 0));
	o = store_load(s, "Namespace", 0);
	ck_assert_ptr_ne(o, store_at(s, "Namespace", 0));
	ck_assert_int_eq(rv_of(o), 2);
	yajl_tree_free(o);
	ck_assert_int_eq(store_key_at(s, "Namespace", 0, &ns, &name), 0);
	ck_assert_str_eq(ns, "");
	/* Replace and delete hand back owned trees of the old text. */
	o = store_put(s, "HTTPRoute", obj("ns", "r1", 4), &err);
	ck_assert_int_eq(rv_of(o), 3);
	yajl_tree_free(o);
	o = store_del(s, "HTTPRoute", "ns", "r1");
	ck_assert_int_eq(rv_of(o), 4);
	yajl_tree_free(o);
	ck_assert_uint_eq(store_count(s, "HTTPRoute"), 0);
	/* Refused: no name; nothing leaks (LSan under VARIANT=asan). */
	ck_assert_ptr_null(store_put(s, "HTTPRoute",
	    yajl_tree_parse("{\"metadata\":{}}", NULL, 0), &err));
	ck_assert_int_eq(err, -1);
	store_free(&s);
}
END_TEST

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The digest sorts whole lines: namespaces and names that are prefixes of
 * one another ("a" and "a-b", "a/b"), and kinds where one is a prefix of
 * another, must sort as the lines do, not field by field.
 */
START_TEST(test_store_digest_order)
{
	static const struct {
		const char	*kind, *ns, *name;
		int		 rv;
	} o[] = {
		{ "HTTPRoute", "a", "b", 10 }, { "HTTPRoute", "a-b", "c", 2 },
		{ "HTTPRoute", "a", "b-c", 3 }, { "HTTPRoute", "a.b", "a", 4 },
		{ "HTTPRoute", "ab", "", 5 }, { "HTTPRoute", "a", "bb", 1 },
		{ "Service", "a", "b", 7 }, { "ServiceAccount", "a", "b", 8 },
		{ "Namespace", NULL, "a", 9 }, { "Namespace", NULL, "a-b", 9 },
		{ "Namespace", NULL, "a b", 9 },
		{ "HTTPRoute", "a", "b.c", 11 },
	};
	struct store	*s = store_new();
	char		*lines[sizeof(o) / sizeof(o[0])], want[65], got[65];
	unsigned char	 h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	size_t		 i, n = 0;
	int		 err;

	for (i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
		yajl_tree_free(store_put(s, o[i].kind, obj(o[i].ns, o[i].name,
		    o[i].rv), &err));
		if (err == -1)
			continue;	/* the empty name is refused */
		ck_assert_int_ne(asprintf(&lines[n++], "%s %s%s%s %d\n",
		    o[i].kind, o[i].ns ? o[i].ns : "", o[i].ns ? "/" : "",
		    o[i].name, o[i].rv), -1);
	}
	ck_assert_uint_eq(n, sizeof(o) / sizeof(o[0]) - 1);
	qsort(lines, n, sizeof(*lines), cmp_str);
	crypto_hash_sha256_init(&st);
	for (i = 0; i < n; i++) {
		crypto_hash_sha256_update(&st, (unsigned char *)lines[i],
		    strlen(lines[i]));
		free(lines[i]);
	}
	crypto_hash_sha256_final(&st, h);
	for (i = 0; i < sizeof(h); i++)
		snprintf(want + 2 * i, 3, "%02x", h[i]);
	ck_assert_int_eq(store_digest(s, got), 0);
	ck_assert_str_eq(got, want);
	store_free(&s);
}
END_TEST

int
main(void)
{
	Suite	*su = suite_create("store");
	TCase	*tc = tcase_create("store");

	tcase_add_test(tc, test_store_index_model);
	tcase_add_test(tc, test_store_digest);
	tcase_add_test(tc, test_store_digest_order);
	tcase_add_test(tc, test_store_text);
	suite_add_tcase(su, tc);
	return check_run(su);
}
