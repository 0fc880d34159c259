/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_IPC_H
#define CFGW_IPC_H

#include <zmq.h>

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "worker.h"

/*
 * ZeroMQ edges between workers.  Every socket is CURVE: a binding socket is
 * a CURVE server whose ZAP handler admits only the public keys of the peers
 * in `allowed` (a P_* mask) and names the peer in the ZAP User-Id; a
 * connecting socket is a CURVE client that knows the server's public key.
 * Endpoints: ipc://<runtime_dir>/<name>.sock.  ZMQ_MAXMSGSIZE is set on
 * every socket.  A message is two parts: header (frame.h), JSON payload.
 */

struct ipc_msg {
	struct frame	 f;		/* header and payload view */
	enum proc_id	 peer;		/* authenticated sender */
	char		 ident[256];	/* ROUTER routing id, if any */
	size_t		 identlen;
	void		*priv;		/* owned storage */
};

/* type: ZMQ_ROUTER, ZMQ_PUB.  name: endpoint base name, e.g. "cfapi". */
void	*ipc_bind(struct worker *, int type, const char *name,
	    unsigned allowed);
/* type: ZMQ_DEALER, ZMQ_SUB.  server: whose endpoint and key. */
void	*ipc_connect(struct worker *, int type, enum proc_id server,
	    const char *name);
/*
 * The same with both high-water marks set to hwm messages (0: ZeroMQ's
 * 1000) before the bind or connect, where they reach the pipes it makes.
 * A lower mark bounds the memory a fast sender's queue takes: a ROUTER
 * with ZMQ_ROUTER_MANDATORY then blocks instead (PUB drops).
 */
void	*ipc_bind_hwm(struct worker *, int type, const char *name,
	    unsigned allowed, int hwm);
void	*ipc_connect_hwm(struct worker *, int type, enum proc_id server,
	    const char *name, int hwm);
/* Send header+payload (ident/identlen for a ROUTER reply, else NULL/0). */
int	 ipc_send(struct worker *, void *sock, const void *ident,
	    size_t identlen, unsigned type, uint64_t reqid,
	    const char *payload, size_t len);
/*
 * Receive one message, non-blocking if `dontwait`.  Returns 0 with *m
 * filled, 1 when nothing is waiting, -1 on socket error, -2 when the
 * message is malformed or from a peer the catalogue refuses (already
 * logged; the caller drops it).
 */
int	 ipc_recv(struct worker *, void *sock, struct ipc_msg *m,
	    int dontwait);
void	 ipc_msg_free(struct ipc_msg *);
void	 ipc_close(void **sock);
/*
 * Close every socket still open, stop the ZAP handler and end the libzmq
 * context.  worker_shutdown() calls it; safe to call twice.
 */
void	 ipc_shutdown(struct worker *);
/* "ipc://<runtime_dir>/<name>.sock" into buf; 0, or -1 if too long. */
int	 ipc_endpoint(const struct worker *, const char *name, char *buf,
	    size_t bufsz);

#endif
