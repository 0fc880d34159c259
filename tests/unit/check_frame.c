/* SPDX-License-Identifier: Apache-2.0 */
/* The frame codec and the catalogue's routing checks: golden bytes and
 * every rejection, in the order frame_check documents. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"
#include "check_run.h"

static const uint8_t golden[FRAME_HDR_LEN] = {
	0x43, 0x46, 0x47, 0x57,		/* "CFGW" */
	0x00, 0x01,			/* version 1 */
	0x00, 0x28,			/* CF_REQUEST = 40 */
	0x00, 0x01,			/* FRAME_F_ERROR */
	0x02,				/* reconciler */
	0x00,				/* reserved */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x00, 0x00, 0x12, 0x34,		/* length 0x1234 */
};

START_TEST(test_encode_golden)
{
	struct frame_hdr h;
	uint8_t		 out[FRAME_HDR_LEN];

	frame_header_init(&h, PROC_RECONCILER, MSG_CF_REQUEST,
	    0x0102030405060708ULL, 0x1234);
	h.flags = FRAME_F_ERROR;
	memset(out, 0xee, sizeof(out));
	frame_encode_header(&h, out);
	ck_assert_mem_eq(out, golden, FRAME_HDR_LEN);
}
END_TEST

START_TEST(test_decode_golden)
{
	struct frame_hdr h;

	ck_assert_int_eq(frame_decode_header(golden, sizeof(golden), &h),
	    FRAME_OK);
	ck_assert_uint_eq(h.magic, FRAME_MAGIC);
	ck_assert_uint_eq(h.version, PROTO_VERSION);
	ck_assert_uint_eq(h.type, MSG_CF_REQUEST);
	ck_assert_uint_eq(h.flags, FRAME_F_ERROR);
	ck_assert_uint_eq(h.sender, PROC_RECONCILER);
	ck_assert_uint_eq(h.reqid, 0x0102030405060708ULL);
	ck_assert_uint_eq(h.length, 0x1234);
}
END_TEST

/* Build a header, then check it as `self` hearing from `peer`. */
static enum frame_err
check(unsigned type, enum proc_id sender, enum proc_id self,
    enum proc_id peer, size_t paylen, size_t hdr_paylen, size_t max,
    void (*mangle)(uint8_t *))
{
	struct frame_hdr h;
	struct frame	 f;
	uint8_t		 hdr[FRAME_HDR_LEN];
	char		*pay = calloc(1, paylen + 1);
	enum frame_err	 why = FRAME_OK;
	int		 rc;

	frame_header_init(&h, sender, type, 7, hdr_paylen);
	frame_encode_header(&h, hdr);
	if (mangle != NULL)
		mangle(hdr);
	rc = frame_check(hdr, sizeof(hdr), pay, paylen, self, peer, max, &f,
	    &why);
	ck_assert_int_eq(rc, why == FRAME_OK ? 0 : -2);
	if (rc == 0) {
		ck_assert_ptr_eq(f.payload, pay);
		ck_assert_uint_eq(f.paylen, paylen);
		ck_assert_uint_eq(f.hdr.reqid, 7);
	}
	free(pay);
	return why;
}

static void mangle_magic(uint8_t *h) { h[0] = 'X'; }
static void mangle_version(uint8_t *h) { h[5] = 2; }
static void mangle_reserved(uint8_t *h) { h[11] = 1; }
static void mangle_type(uint8_t *h) { h[6] = 0x7f; h[7] = 0x7f; }
static void mangle_sender(uint8_t *h) { h[10] = 200; }

START_TEST(test_accepts_good)
{
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 10, 10, FRAME_PAYLOAD_MAX, NULL), FRAME_OK);
	ck_assert_int_eq(check(MSG_PING, PROC_SUPERVISOR, PROC_WATCHER,
	    PROC_SUPERVISOR, 0, 0, FRAME_CTL_MAX, NULL), FRAME_OK);
	/* Unknown peer (PROC_MAX): the header's sender is taken. */
	ck_assert_int_eq(check(MSG_CF_REPLY, PROC_CFAPI, PROC_ROTATOR,
	    PROC_MAX, 3, 3, FRAME_PAYLOAD_MAX, NULL), FRAME_OK);
}
END_TEST

START_TEST(test_rejects_header)
{
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 1, 1, 100, mangle_magic), FRAME_EMAGIC);
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 1, 1, 100, mangle_version), FRAME_EVERSION);
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 1, 1, 100, mangle_reserved), FRAME_ERESERVED);
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 1, 1, 100, mangle_type), FRAME_ETYPE);
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_MAX, 1, 1, 100, mangle_sender), FRAME_ESPOOF);
}
END_TEST

START_TEST(test_rejects_short_and_long_header)
{
	struct frame	 f;
	enum frame_err	 why;

	ck_assert_int_eq(frame_check(golden, 10, "", 0, PROC_CFAPI,
	    PROC_RECONCILER, 100, &f, &why), -2);
	ck_assert_int_eq(why, FRAME_ESHORT);
	ck_assert_int_eq(frame_decode_header(golden, FRAME_HDR_LEN - 1,
	    &f.hdr), FRAME_ESHORT);
	ck_assert_int_eq(frame_check(golden, FRAME_HDR_LEN + 1, "", 0,
	    PROC_CFAPI, PROC_RECONCILER, 100, &f, &why), -2);
	ck_assert_int_eq(why, FRAME_ELENGTH);
}
END_TEST

START_TEST(test_rejects_routing)
{
	/* The watcher may never ask cfapi anything. */
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_WATCHER, PROC_CFAPI,
	    PROC_WATCHER, 1, 1, 100, NULL), FRAME_ESENDER);
	/* A CF_REQUEST does not go to the dnsworker. */
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER,
	    PROC_DNSWORKER, PROC_RECONCILER, 1, 1, 100, NULL),
	    FRAME_ERECEIVER);
	/* ROTATE_NOW is for the rotator only. */
	ck_assert_int_eq(check(MSG_ROTATE_NOW, PROC_SUPERVISOR, PROC_WATCHER,
	    PROC_SUPERVISOR, 2, 2, 100, NULL), FRAME_ERECEIVER);
	/* The dnsworker's key, claiming to be the reconciler. */
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_DNSWORKER, 1, 1, 100, NULL), FRAME_ESPOOF);
	/* A worker claiming to be the supervisor on its control channel. */
	ck_assert_int_eq(check(MSG_PING, PROC_SUPERVISOR, PROC_SUPERVISOR,
	    PROC_WATCHER, 2, 2, 100, NULL), FRAME_ESPOOF);
}
END_TEST

START_TEST(test_rejects_sizes)
{
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 101, 101, 100, NULL), FRAME_ESIZE);
	/* The length field alone over the limit. */
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 10, 0xffffffffu, 100, NULL), FRAME_ESIZE);
	/* Trailing bytes: more payload than the header says. */
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 11, 10, 100, NULL), FRAME_ELENGTH);
	/* Short payload. */
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 9, 10, 100, NULL), FRAME_ELENGTH);
	ck_assert_int_eq(check(MSG_CF_REQUEST, PROC_RECONCILER, PROC_CFAPI,
	    PROC_RECONCILER, 100, 100, 100, NULL), FRAME_OK);
}
END_TEST

START_TEST(test_catalogue)
{
	enum proc_id	 p;

	ck_assert_str_eq(msg_name(MSG_HELLO), "HELLO");
	ck_assert_str_eq(msg_name(MSG_ROTATE_REQUEST), "ROTATE_REQUEST");
	ck_assert_str_eq(msg_name(999), "UNKNOWN");
	ck_assert(msg_known(MSG_DELTA));
	ck_assert(!msg_known(0));
	ck_assert(msg_allowed(MSG_DELTA, PROC_WATCHER, PROC_RECONCILER));
	ck_assert(!msg_allowed(MSG_DELTA, PROC_RECONCILER, PROC_WATCHER));
	ck_assert(!msg_allowed(MSG_CF_REQUEST, PROC_WATCHER, PROC_CFAPI));
	ck_assert(!msg_allowed(MSG_HELLO, PROC_MAX, PROC_SUPERVISOR));
	ck_assert_int_eq(proc_lookup("dnsworker", &p), 0);
	ck_assert_int_eq(p, PROC_DNSWORKER);
	ck_assert_int_eq(proc_lookup("nobody", &p), -1);
	ck_assert_str_eq(proc_name(PROC_SUPERVISOR), "cfgwd");
	ck_assert_str_eq(proc_name(PROC_MAX), "unknown");
	ck_assert_str_eq(frame_strerror(FRAME_ESPOOF),
	    "sender is not the authenticated peer");
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite	*s = suite_create("frame");
	TCase	*tc = tcase_create("codec");

	tcase_add_test(tc, test_encode_golden);
	tcase_add_test(tc, test_decode_golden);
	tcase_add_test(tc, test_accepts_good);
	tcase_add_test(tc, test_rejects_header);
	tcase_add_test(tc, test_rejects_short_and_long_header);
	tcase_add_test(tc, test_rejects_routing);
	tcase_add_test(tc, test_rejects_sizes);
	tcase_add_test(tc, test_catalogue);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(frame_suite());
}
