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

int
main(void)
{
	Suite	*su = suite_create("store");
	TCase	*tc = tcase_create("store");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_store_index_model);
	tcase_add_test(tc, test_store_digest);
	tcase_add_test(tc, test_store_text);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
