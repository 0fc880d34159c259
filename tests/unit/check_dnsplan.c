/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsplan.h"
#include "check_run.h"

#define OWNER	"prod/default/web"
#define TARGET	"6f1e-aa.cfargotunnel.com"
#define MINE	"managed by cfgw: prod/default/web"

static struct dnsplan_record
rec(const char *id, const char *name, const char *type, const char *content,
    const char *comment)
{
	struct dnsplan_record	 r = { id, name, type, content, comment, 1, 1 };

	return r;
}

static const struct dnsplan_op *
find_op(const struct dnsplan *p, enum dnsplan_op_kind k, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->nops; i++)
		if (p->ops[i].kind == k && dnsplan_name_eq(p->ops[i].name,
		    name))
			return &p->ops[i];
	return NULL;
}

START_TEST(test_comment)
{
	char	 buf[DNSPLAN_COMMENT_MAX + 1], big[300];

	ck_assert_int_eq(dnsplan_comment(OWNER, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, MINE);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(dnsplan_comment(big, buf, sizeof(buf)), 0);
	ck_assert_uint_le(strlen(buf), DNSPLAN_COMMENT_MAX);
	ck_assert_ptr_nonnull(strstr(buf, "managed by cfgw: ~"));
	ck_assert_uint_eq(strlen(buf), strlen(DNSPLAN_COMMENT_PREFIX) + 33);
	/* Stable and owner-specific. */
	{
		char	 b2[DNSPLAN_COMMENT_MAX + 1];

		big[0] = 'b';
		ck_assert_int_eq(dnsplan_comment(big, b2, sizeof(b2)), 0);
		ck_assert_str_ne(buf, b2);
	}
	ck_assert_int_eq(dnsplan_comment("a\nb", buf, sizeof(buf)), 0);
	ck_assert_ptr_null(strchr(buf, '\n'));
	ck_assert_int_eq(dnsplan_comment(OWNER, buf, 5), -1);
}
END_TEST

START_TEST(test_create_noop_update_delete)
{
	const char		*want[] = { "new.example.com", "same.example.com",
	    "Stale.Example.com.", "new.example.com" };
	struct dnsplan_record	 act[4];
	struct dnsplan		 p;
	const struct dnsplan_op	*op;

	act[0] = rec("r1", "same.example.com", "CNAME", TARGET, MINE);
	act[1] = rec("r2", "stale.example.com", "CNAME", "old.cfargotunnel.com",
	    MINE);
	act[2] = rec("r3", "gone.example.com", "CNAME", TARGET, MINE);
	act[3] = rec("r4", "other.example.com", "A", "192.0.2.1", NULL);
	ck_assert_int_eq(dnsplan_compute(OWNER, TARGET, want, 4, act, 4, &p),
	    0);
	ck_assert_uint_eq(p.nhosts, 3);		/* duplicate folded */
	ck_assert_uint_eq(p.nops, 3);
	/* Batch order: deletes, patches, posts. */
	ck_assert_int_eq(p.ops[0].kind, DNSPLAN_DELETE);
	ck_assert_str_eq(p.ops[0].id, "r3");
	ck_assert_int_eq(p.ops[1].kind, DNSPLAN_PATCH);
	ck_assert_str_eq(p.ops[1].id, "r2");
	ck_assert_int_eq(p.ops[1].adopt, 0);
	ck_assert_int_eq(p.ops[2].kind, DNSPLAN_POST);
	op = find_op(&p, DNSPLAN_POST, "new.example.com");
	ck_assert_ptr_nonnull(op);
	ck_assert_int_eq(p.hosts[0].state, DNSPLAN_HOST_WRITE);
	ck_assert_int_eq(p.hosts[1].state, DNSPLAN_HOST_OK);
	ck_assert_int_eq(p.hosts[2].state, DNSPLAN_HOST_WRITE);
	ck_assert_uint_eq(dnsplan_count(&p, DNSPLAN_DELETE), 1);
	ck_assert_uint_eq(dnsplan_count(&p, DNSPLAN_PATCH), 1);
	ck_assert_uint_eq(dnsplan_count(&p, DNSPLAN_POST), 1);
	dnsplan_free(&p);
	ck_assert_ptr_null(p.ops);
}
END_TEST

START_TEST(test_idle_is_free)
{
	const char		*want[] = { "a.example.com", "b.example.com" };
	struct dnsplan_record	 act[3];
	struct dnsplan		 p;

	act[0] = rec("r1", "a.example.com", "CNAME", TARGET, MINE);
	act[1] = rec("r2", "b.example.com", "CNAME", TARGET, MINE);
	act[2] = rec("r3", "c.example.com", "CNAME", "x.example.net",
	    "someone");
	ck_assert_int_eq(dnsplan_compute(OWNER, TARGET, want, 2, act, 3, &p),
	    0);
	ck_assert_uint_eq(p.nops, 0);
	ck_assert_int_eq(p.hosts[0].state, DNSPLAN_HOST_OK);
	ck_assert_int_eq(p.hosts[1].state, DNSPLAN_HOST_OK);
	dnsplan_free(&p);
}
END_TEST

START_TEST(test_not_proxied_is_patched)
{
	const char		*want[] = { "a.example.com" };
	struct dnsplan_record	 act[1];
	struct dnsplan		 p;

	act[0] = rec("r1", "a.example.com", "CNAME", TARGET, MINE);
	act[0].proxied = 0;
	ck_assert_int_eq(dnsplan_compute(OWNER, TARGET, want, 1, act, 1, &p),
	    0);
	ck_assert_uint_eq(p.nops, 1);
	ck_assert_int_eq(p.ops[0].kind, DNSPLAN_PATCH);
	dnsplan_free(&p);
}
END_TEST

START_TEST(test_foreign_conflicts)
{
	const char		*want[] = { "foreign.example.com",
	    "other-gw.example.com", "a-rec.example.com", "adopt.example.com",
	    "commented.example.com" };
	struct dnsplan_record	 act[5];
	struct dnsplan		 p;
	size_t			 i;

	act[0] = rec("f1", "foreign.example.com", "CNAME", "elsewhere.net",
	    NULL);
	act[1] = rec("f2", "other-gw.example.com", "CNAME", TARGET,
	    "managed by cfgw: prod/default/api");
	act[2] = rec("f3", "a-rec.example.com", "A", "192.0.2.7", NULL);
	act[3] = rec("f4", "adopt.example.com", "CNAME", TARGET, "");
	act[4] = rec("f5", "commented.example.com", "CNAME", TARGET,
	    "hand-made, keep");
	ck_assert_int_eq(dnsplan_compute(OWNER, TARGET, want, 5, act, 5, &p),
	    0);
	/* Only the uncommented CNAME already at our target is adopted. */
	ck_assert_uint_eq(p.nops, 1);
	ck_assert_int_eq(p.ops[0].kind, DNSPLAN_PATCH);
	ck_assert_str_eq(p.ops[0].id, "f4");
	ck_assert_int_eq(p.ops[0].adopt, 1);
	ck_assert_int_eq(p.hosts[3].state, DNSPLAN_HOST_WRITE);
	for (i = 0; i < 5; i++) {
		if (i == 3)
			continue;
		ck_assert_int_eq(p.hosts[i].state, DNSPLAN_HOST_CONFLICT);
		ck_assert_ptr_nonnull(strstr(p.hosts[i].message,
		    p.hosts[i].hostname));
	}
	ck_assert_ptr_nonnull(strstr(p.hosts[1].message,
	    "another cfgw Gateway"));
	/* Nothing that is not ours is ever deleted, even if undesired. */
	dnsplan_free(&p);
	ck_assert_int_eq(dnsplan_compute(OWNER, TARGET, NULL, 0, act, 5, &p),
	    0);
	ck_assert_uint_eq(p.nops, 0);
	dnsplan_free(&p);
}
END_TEST

START_TEST(test_delete_all_ours)
{
	struct dnsplan_record	 act[4];
	struct dnsplan		 p;

	act[0] = rec("r1", "a.example.com", "CNAME", TARGET, MINE);
	act[1] = rec("r2", "b.example.com", "CNAME", "moved.cfargotunnel.com",
	    MINE);
	act[2] = rec("r3", "c.example.com", "CNAME", TARGET, NULL);
	act[3] = rec("r4", "d.example.com", "CNAME", TARGET,
	    "managed by cfgw: prod/default/web2");
	ck_assert_int_eq(dnsplan_compute(OWNER, TARGET, NULL, 0, act, 4, &p),
	    0);
	ck_assert_uint_eq(p.nops, 2);
	ck_assert_uint_eq(dnsplan_count(&p, DNSPLAN_DELETE), 2);
	ck_assert_ptr_nonnull(find_op(&p, DNSPLAN_DELETE, "a.example.com"));
	ck_assert_ptr_nonnull(find_op(&p, DNSPLAN_DELETE, "b.example.com"));
	dnsplan_free(&p);
}
END_TEST

START_TEST(test_duplicate_ours)
{
	const char		*want[] = { "a.example.com" };
	struct dnsplan_record	 act[2];
	struct dnsplan		 p;

	act[0] = rec("r1", "a.example.com", "CNAME", TARGET, MINE);
	act[1] = rec("r2", "a.example.com", "CNAME", TARGET, MINE);
	ck_assert_int_eq(dnsplan_compute(OWNER, TARGET, want, 1, act, 2, &p),
	    0);
	ck_assert_uint_eq(p.nops, 1);
	ck_assert_int_eq(p.ops[0].kind, DNSPLAN_DELETE);
	ck_assert_str_eq(p.ops[0].id, "r2");
	ck_assert_int_eq(p.hosts[0].state, DNSPLAN_HOST_OK);
	dnsplan_free(&p);
}
END_TEST

START_TEST(test_chunking)
{
	enum { N = 450 };
	static char		 names[N][32];
	const char		*want[N];
	struct dnsplan		 p;
	size_t			 i;

	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "h%zu.example.com", i);
		want[i] = names[i];
	}
	ck_assert_int_eq(dnsplan_compute(OWNER, TARGET, want, N, NULL, 0, &p),
	    0);
	ck_assert_uint_eq(p.nops, N);
	ck_assert_uint_eq(dnsplan_nchunks(p.nops, 0), 3);
	ck_assert_uint_eq(dnsplan_nchunks(200, 0), 1);
	ck_assert_uint_eq(dnsplan_nchunks(201, 200), 2);
	ck_assert_uint_eq(dnsplan_nchunks(0, 0), 0);
	ck_assert_uint_eq(dnsplan_nchunks(7, 3), 3);
	dnsplan_free(&p);
}
END_TEST

START_TEST(test_zone_modes)
{
	ck_assert_int_eq(dnsplan_one_below("a.example.com", "example.com"), 1);
	ck_assert_int_eq(dnsplan_one_below("A.Example.COM.", "example.com"),
	    1);
	ck_assert_int_eq(dnsplan_one_below("*.example.com", "example.com"), 1);
	ck_assert_int_eq(dnsplan_one_below("example.com", "example.com"), 0);
	ck_assert_int_eq(dnsplan_one_below("a.b.example.com", "example.com"),
	    0);
	ck_assert_int_eq(dnsplan_one_below("aexample.com", "example.com"), 0);
	ck_assert_int_eq(dnsplan_one_below("a.example.org", "example.com"), 0);
	ck_assert_int_eq(dnsplan_one_below("a.z2.example.com",
	    "z2.example.com"), 1);
	ck_assert_int_eq(dnsplan_one_below("a.example.com", ""), 0);
}
END_TEST

START_TEST(test_zone_candidates)
{
	const char	*h = "a.b.example.com";

	ck_assert_str_eq(dnsplan_zone_candidate(h, 0), "a.b.example.com");
	ck_assert_str_eq(dnsplan_zone_candidate(h, 1), "b.example.com");
	ck_assert_str_eq(dnsplan_zone_candidate(h, 2), "example.com");
	ck_assert_ptr_null(dnsplan_zone_candidate(h, 3));
	ck_assert_ptr_null(dnsplan_zone_candidate(h, 9));
	ck_assert_str_eq(dnsplan_zone_candidate("*.example.com", 0),
	    "example.com");
	ck_assert_ptr_null(dnsplan_zone_candidate("*.example.com", 1));
	ck_assert_ptr_null(dnsplan_zone_candidate("localhost", 0));
	ck_assert_ptr_null(dnsplan_zone_candidate("", 0));
	ck_assert_ptr_null(dnsplan_zone_candidate("a..b", 1));
}
END_TEST

static Suite *
dnsplan_suite(void)
{
	Suite	*s = suite_create("dnsplan");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_comment);
	tcase_add_test(tc, test_create_noop_update_delete);
	tcase_add_test(tc, test_idle_is_free);
	tcase_add_test(tc, test_not_proxied_is_patched);
	tcase_add_test(tc, test_foreign_conflicts);
	tcase_add_test(tc, test_delete_all_ours);
	tcase_add_test(tc, test_duplicate_ours);
	tcase_add_test(tc, test_chunking);
	tcase_add_test(tc, test_zone_modes);
	tcase_add_test(tc, test_zone_candidates);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(dnsplan_suite());
}
