/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctl: the control channel's framing over SOCK_SEQPACKET, and the Z85 key
 * encoding the supervisor uses to hand CURVE keys to workers.  Z85 is
 * written here because the only packaged encoder is inside libzmq, which
 * the supervisor must not link.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "ctl.h"
#include "log.h"

static const char z85_chars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ".-:+=^!/*?&<>()[]{}@%$#";

int
ctl_send(int fd, enum proc_id self, unsigned type, uint64_t reqid,
    const char *payload, size_t len)
{
	struct frame_hdr h;
	uint8_t		 hdr[FRAME_HDR_LEN];
	struct iovec	 iov[2];
	struct msghdr	 mh;
	ssize_t		 n;

	if (len > FRAME_CTL_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	frame_header_init(&h, self, type, reqid, len);
	frame_encode_header(&h, hdr);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)payload;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != sizeof(hdr) + len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
ctl_recv(int fd, enum proc_id self, enum proc_id peer, struct ctl_msg *m,
    int dontwait)
{
	ssize_t	 n;
	size_t	 cap = sizeof(m->buf) - 1;

	m->why = FRAME_OK;
	do
		n = recv(fd, m->buf, cap,
		    MSG_TRUNC | (dontwait ? MSG_DONTWAIT : 0));
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (n == 0)
		return 1;
	if ((size_t)n > cap) {
		/* The kernel cut the datagram: too big for the channel. */
		m->why = FRAME_ESIZE;
		return -2;
	}
	if ((size_t)n < FRAME_HDR_LEN) {
		m->why = FRAME_ESHORT;
		return -2;
	}
	if (frame_check(m->buf, FRAME_HDR_LEN, m->buf + FRAME_HDR_LEN,
	    (size_t)n - FRAME_HDR_LEN, self, peer, FRAME_CTL_MAX, &m->f,
	    &m->why) != 0)
		return -2;
	m->buf[n] = '\0';
	return 0;
}

int
ctl_z85_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	size_t		 i, o = 0;
	uint32_t	 v;
	int		 k;

	if (len % 4 != 0 || outsz < len / 4 * 5 + 1)
		return -1;
	for (i = 0; i < len; i += 4) {
		v = ((uint32_t)in[i] << 24) | ((uint32_t)in[i + 1] << 16) |
		    ((uint32_t)in[i + 2] << 8) | in[i + 3];
		for (k = 4; k >= 0; k--) {
			out[o + (size_t)k] = z85_chars[v % 85];
			v /= 85;
		}
		o += 5;
	}
	out[o] = '\0';
	return 0;
}

static int
ctl_z85_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(z85_chars, c)) == NULL)
		return -1;
	return (int)(p - z85_chars);
}

int
ctl_z85_decode(const char *in, uint8_t *out, size_t outsz)
{
	size_t		 len = strlen(in), i, o = 0;
	uint64_t	 v;
	int		 k, d;

	if (len % 5 != 0 || outsz < len / 5 * 4)
		return -1;
	for (i = 0; i < len; i += 5) {
		v = 0;
		for (k = 0; k < 5; k++) {
			if ((d = ctl_z85_value(in[i + (size_t)k])) == -1)
				return -1;
			v = v * 85 + (uint64_t)d;
		}
		if (v > UINT32_MAX)
			return -1;
		out[o++] = (uint8_t)(v >> 24);
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	return (int)o;
}

int
ctl_keypair(char pub[CTL_KEY_Z85_LEN + 1], char sec[CTL_KEY_Z85_LEN + 1])
{
	uint8_t	 pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	int	 rc;

	if (sodium_init() == -1) {
		log_warnx("sodium_init failed");
		return -1;
	}
	/* crypto_box keys are Curve25519, the same curve ZeroMQ CURVE uses. */
	crypto_box_keypair(pk, sk);
	rc = ctl_z85_encode(pk, sizeof(pk), pub, CTL_KEY_Z85_LEN + 1) |
	    ctl_z85_encode(sk, sizeof(sk), sec, CTL_KEY_Z85_LEN + 1);
	sodium_memzero(sk, sizeof(sk));
	return rc == 0 ? 0 : -1;
}
