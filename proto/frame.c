/* SPDX-License-Identifier: Apache-2.0 */
/*
 * frame: the header codec.  Written field by field so that no C struct
 * layout ever reaches the wire; every bound is checked on the way in.
 */
#include <string.h>

#include "frame.h"

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

void
frame_header_init(struct frame_hdr *h, enum proc_id sender, unsigned type,
    uint64_t reqid, size_t paylen)
{
	memset(h, 0, sizeof(*h));
	h->magic = FRAME_MAGIC;
	h->version = PROTO_VERSION;
	h->type = (uint16_t)type;
	h->sender = (uint8_t)sender;
	h->reqid = reqid;
	h->length = (uint32_t)paylen;
}

void
frame_encode_header(const struct frame_hdr *h, uint8_t out[FRAME_HDR_LEN])
{
	put32(out, h->magic);
	put16(out + 4, h->version);
	put16(out + 6, h->type);
	put16(out + 8, h->flags);
	out[10] = h->sender;
	out[11] = h->reserved;
	put32(out + 12, (uint32_t)(h->reqid >> 32));
	put32(out + 16, (uint32_t)h->reqid);
	put32(out + 20, h->length);
}

enum frame_err
frame_decode_header(const uint8_t *p, size_t len, struct frame_hdr *h)
{
	if (len < FRAME_HDR_LEN)
		return FRAME_ESHORT;
	h->magic = get32(p);
	h->version = get16(p + 4);
	h->type = get16(p + 6);
	h->flags = get16(p + 8);
	h->sender = p[10];
	h->reserved = p[11];
	h->reqid = ((uint64_t)get32(p + 12) << 32) | get32(p + 16);
	h->length = get32(p + 20);
	if (h->magic != FRAME_MAGIC)
		return FRAME_EMAGIC;
	if (h->version != PROTO_VERSION)
		return FRAME_EVERSION;
	if (h->reserved != 0)
		return FRAME_ERESERVED;
	return FRAME_OK;
}

int
frame_check(const uint8_t *hdr, size_t hdrlen, const void *payload,
    size_t paylen, enum proc_id self, enum proc_id peer, size_t max,
    struct frame *out, enum frame_err *why)
{
	enum frame_err	 e;

	*why = FRAME_OK;
	if (hdrlen != FRAME_HDR_LEN) {
		*why = hdrlen < FRAME_HDR_LEN ? FRAME_ESHORT : FRAME_ELENGTH;
		return -2;
	}
	if ((e = frame_decode_header(hdr, hdrlen, &out->hdr)) != FRAME_OK) {
		*why = e;
		return -2;
	}
	if (!msg_known(out->hdr.type))
		e = FRAME_ETYPE;
	else if (out->hdr.sender >= PROC_MAX ||
	    (peer != PROC_MAX && out->hdr.sender != peer))
		e = FRAME_ESPOOF;
	else if (!msg_may_send(out->hdr.type, out->hdr.sender))
		e = FRAME_ESENDER;
	else if (!msg_may_receive(out->hdr.type, self))
		e = FRAME_ERECEIVER;
	else if (out->hdr.length > max || paylen > max)
		e = FRAME_ESIZE;
	else if (out->hdr.length != paylen)
		e = FRAME_ELENGTH;
	if (e != FRAME_OK) {
		*why = e;
		return -2;
	}
	out->payload = payload;
	out->paylen = paylen;
	return 0;
}

const char *
frame_strerror(enum frame_err e)
{
	switch (e) {
	case FRAME_OK:		return "ok";
	case FRAME_ESHORT:	return "short frame";
	case FRAME_EMAGIC:	return "bad magic";
	case FRAME_EVERSION:	return "bad protocol version";
	case FRAME_ETYPE:	return "unknown message type";
	case FRAME_ESENDER:	return "sender not allowed";
	case FRAME_ERECEIVER:	return "receiver not allowed";
	case FRAME_ESPOOF:	return "sender is not the authenticated peer";
	case FRAME_ESIZE:	return "payload too large";
	case FRAME_ELENGTH:	return "length mismatch or trailing bytes";
	case FRAME_ERESERVED:	return "reserved field not zero";
	}
	return "unknown error";
}
