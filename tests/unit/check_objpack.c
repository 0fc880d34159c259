/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objpack.h"
#include "check_run.h"

/* An HTTPRoute as the watcher keeps it (trimmed compact JSON). */
static const char route[] =
    "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
    "\"metadata\":{\"annotations\":{\"example.org/team\":\"payments\"},"
    "\"creationTimestamp\":\"2026-11-27T09:54:57Z\",\"generation\":3,"
    "\"labels\":{\"app\":\"shop\"},\"name\":\"shop\",\"namespace\":\"store\","
    "\"resourceVersion\":\"81723\",\"uid\":"
    "\"1681bc30-2750-4f31-b12b-de5e23494fd6\"},\"spec\":{\"hostnames\":"
    "[\"shop.example.org\"],\"parentRefs\":[{\"group\":"
    "\"gateway.networking.k8s.io\",\"kind\":\"Gateway\",\"name\":\"edge\","
    "\"namespace\":\"infra\"}],\"rules\":[{\"backendRefs\":[{\"group\":\"\","
    "\"kind\":\"Service\",\"name\":\"shop-web\",\"port\":8080,\"weight\":1}],"
    "\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/cart\"}}]}]"
    "}}";

/* Pack text, return a malloc'd copy of the frame. */
static unsigned char *
pack(const char *text, size_t len, size_t *plen)
{
	const void	*p;
	unsigned char	*c;

	p = objpack_pack(text, len, plen);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(c = malloc(*plen));
	memcpy(c, p, *plen);
	return c;
}

/* Pack text and unpack it again: the same text. */
static void
round_trip(const char *text, size_t len)
{
	unsigned char	*f;
	char		*t;
	size_t		 pl, tl;

	f = pack(text, len, &pl);
	ck_assert_ptr_nonnull(t = objpack_unpack(f, pl, 0, &tl));
	ck_assert_uint_eq(tl, len);
	ck_assert_mem_eq(t, text, len);
	ck_assert_int_eq(t[tl], '\0');
	free(t);
	free(f);
}

START_TEST(test_round_trip)
{
	char		 big[70000];
	size_t		 i;

	round_trip(route, sizeof(route) - 1);
	/* Empty text, and a large one past the scratch buffer's trim. */
	round_trip("", 0);
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + (i * 7919 % 26));
	big[sizeof(big) - 1] = '\0';
	round_trip(big, sizeof(big) - 1);
	objpack_cleanup();
	/* Works again after a cleanup. */
	round_trip(route, sizeof(route) - 1);
}
END_TEST

START_TEST(test_size_bound)
{
	unsigned char	*f;
	size_t		 pl;

	/* The dictionary makes a small object pack to well under a third. */
	f = pack(route, sizeof(route) - 1, &pl);
	ck_assert_msg(pl * 3 < sizeof(route) - 1, "%zu of %zu", pl,
	    sizeof(route) - 1);
	free(f);
	ck_assert_ptr_null(objpack_pack(route, OBJPACK_MAX + 1, &pl));
}
END_TEST

/* 1 if the frame unpacks to text other than route. */
static int
other_text(const unsigned char *f, size_t pl)
{
	char	*t;
	size_t	 tl;
	int	 other;

	if ((t = objpack_unpack(f, pl, 0, &tl)) == NULL)
		return 0;
	other = tl != sizeof(route) - 1 || strcmp(t, route) != 0;
	free(t);
	return other;
}

START_TEST(test_reject)
{
	unsigned char	*f, *x;
	char		*t;
	size_t		 pl, tl, i;
	int		 accepted = 0;

	f = pack(route, sizeof(route) - 1, &pl);
	/* Truncated, extended, and over the caller's limit. */
	for (i = 0; i < pl; i++) {
		errno = 0;
		ck_assert_ptr_null(objpack_unpack(f, i, 0, &tl));
		ck_assert_int_eq(errno, EINVAL);
	}
	ck_assert_ptr_nonnull(x = malloc(pl + 1));
	memcpy(x, f, pl);
	x[pl] = 0;
	ck_assert_ptr_null(objpack_unpack(x, pl + 1, 0, &tl));
	free(x);
	ck_assert_ptr_null(objpack_unpack(f, pl, sizeof(route) - 2, &tl));
	ck_assert_ptr_nonnull(t = objpack_unpack(f, pl, sizeof(route) - 1,
	    &tl));
	free(t);
	/*
	 * No single-bit flip yields other text: the frame has a checksum.
	 * (A few bits change nothing, e.g. the header's unused bit.)
	 */
	for (i = 0; i < pl * 8; i++) {
		f[i / 8] ^= (unsigned char)(1u << (i % 8));
		accepted += other_text(f, pl);
		f[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	/* Nor does a changed byte anywhere in the compressed block. */
	for (i = 12; i < pl - 4; i++) {
		f[i] = (unsigned char)~f[i];
		accepted += other_text(f, pl);
		f[i] = (unsigned char)~f[i];
	}
	ck_assert_int_eq(accepted, 0);
	free(f);
	ck_assert_ptr_null(objpack_unpack(route, sizeof(route) - 1, 0, &tl));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("objpack");
	TCase	*tc = tcase_create("core");
	int	 rc;

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_size_bound);
	tcase_add_test(tc, test_reject);
	suite_add_tcase(s, tc);
	rc = check_run(s);
	objpack_cleanup();
	return rc;
}
