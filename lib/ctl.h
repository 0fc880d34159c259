/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_CTL_H
#define CFGW_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/*
 * The control channel between cfgwd and a worker: an AF_UNIX
 * SOCK_SEQPACKET socketpair, the worker's end on fd 3.  One frame (header
 * and JSON payload) per datagram, at most FRAME_CTL_MAX bytes of payload.
 * No libzmq here: cfgwd links this and must not pull libzmq in.
 */

#define CTL_FD		3

struct ctl_msg {
	struct frame	 f;		/* f.payload points into buf */
	enum frame_err	 why;		/* set when ctl_recv returns -2 */
	uint8_t		 buf[FRAME_HDR_LEN + FRAME_CTL_MAX + 1];
};

/* Send one frame; 0, or -1 with errno set (EAGAIN if the socket is full). */
int	 ctl_send(int fd, enum proc_id self, unsigned type, uint64_t reqid,
	    const char *payload, size_t len);
/*
 * Receive one datagram.  `peer` is who sits on the other end (PROC_MAX
 * when unknown).  Returns 0 with *m filled (payload NUL-terminated),
 * 1 on end of file, -1 on error (errno; EAGAIN when `dontwait` and
 * nothing waits), -2 when the frame is malformed (m->why says why).
 */
int	 ctl_recv(int fd, enum proc_id self, enum proc_id peer,
	    struct ctl_msg *m, int dontwait);

/*
 * CURVE keys as ZeroMQ wants them: Z85 (ZeroMQ RFC 32), 40 characters
 * for a 32-byte key.  ctl_z85_encode needs len % 4 == 0 and room for
 * len * 5 / 4 + 1 bytes; ctl_z85_decode returns the decoded length or -1.
 */
#define CTL_KEY_Z85_LEN	40
int	 ctl_z85_encode(const uint8_t *in, size_t len, char *out,
	    size_t outsz);
int	 ctl_z85_decode(const char *in, uint8_t *out, size_t outsz);
/* A Curve25519 keypair (libsodium) in Z85; 0 or -1. */
int	 ctl_keypair(char pub[CTL_KEY_Z85_LEN + 1],
	    char sec[CTL_KEY_Z85_LEN + 1]);

#endif
