/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_FRAME_H
#define CFGW_FRAME_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*
 * A frame is a fixed header, written field by field in network byte order,
 * followed by a JSON payload.  On the control channel (SOCK_SEQPACKET) both
 * travel in one datagram; on ZeroMQ they are the two parts of a message.
 *
 *   0  magic    u32  "CFGW"
 *   4  version  u16  PROTO_VERSION
 *   6  type     u16  enum msg_type
 *   8  flags    u16  FRAME_F_*
 *  10  sender   u8   enum proc_id
 *  11  reserved u8   0
 *  12  reqid    u64  request id (0 when none)
 *  20  length   u32  payload length
 */

#define FRAME_MAGIC		0x43464757u
#define FRAME_HDR_LEN		24
#define FRAME_PAYLOAD_MAX	(16u * 1024 * 1024)
#define FRAME_CTL_MAX		(64u * 1024)
#define FRAME_F_ERROR		0x0001	/* payload is an error object */

struct frame_hdr {
	uint32_t	 magic;
	uint16_t	 version;
	uint16_t	 type;
	uint16_t	 flags;
	uint8_t		 sender;
	uint8_t		 reserved;
	uint64_t	 reqid;
	uint32_t	 length;
};

enum frame_err {
	FRAME_OK = 0,
	FRAME_ESHORT,		/* fewer bytes than a header */
	FRAME_EMAGIC,
	FRAME_EVERSION,
	FRAME_ETYPE,		/* not in the catalogue */
	FRAME_ESENDER,		/* the catalogue forbids this sender */
	FRAME_ERECEIVER,	/* ... or this receiver */
	FRAME_ESPOOF,		/* header sender is not the authenticated peer */
	FRAME_ESIZE,		/* payload over the limit */
	FRAME_ELENGTH,		/* length field disagrees: short or trailing */
	FRAME_ERESERVED,
};

struct frame {
	struct frame_hdr hdr;
	const char	*payload;	/* not NUL-terminated; points into input */
	size_t		 paylen;
};

void		 frame_encode_header(const struct frame_hdr *,
		    uint8_t out[FRAME_HDR_LEN]);
enum frame_err	 frame_decode_header(const uint8_t *, size_t,
		    struct frame_hdr *);
void		 frame_header_init(struct frame_hdr *, enum proc_id sender,
		    unsigned type, uint64_t reqid, size_t paylen);

/*
 * Check a received frame in the documented order: header, sender, size,
 * then the length against the payload.  `peer` is the authenticated sender
 * (from the control socket or the ZAP User-Id), or PROC_MAX when unknown.
 * Returns 0, or -2 (malformed) with *why set.
 */
int		 frame_check(const uint8_t *hdr, size_t hdrlen,
		    const void *payload, size_t paylen, enum proc_id self,
		    enum proc_id peer, size_t max, struct frame *out,
		    enum frame_err *why);
const char	*frame_strerror(enum frame_err);

static_assert(FRAME_HDR_LEN == 4 + 2 + 2 + 2 + 1 + 1 + 8 + 4,
    "frame header layout");

#endif
