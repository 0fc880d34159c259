/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_PROTO_H
#define CFGW_PROTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Processes and the message catalogue.  The enum, msg_name() and the
 * routing check are generated from msg.def.
 */

#define PROTO_VERSION	1

enum proc_id {
	PROC_SUPERVISOR = 0,
	PROC_WATCHER,
	PROC_RECONCILER,
	PROC_CFAPI,
	PROC_DNSWORKER,
	PROC_ROTATOR,
	PROC_MAX
};

#define P_SUPERVISOR	(1u << PROC_SUPERVISOR)
#define P_WATCHER	(1u << PROC_WATCHER)
#define P_RECONCILER	(1u << PROC_RECONCILER)
#define P_CFAPI		(1u << PROC_CFAPI)
#define P_DNSWORKER	(1u << PROC_DNSWORKER)
#define P_ROTATOR	(1u << PROC_ROTATOR)
#define P_WORKERS	(P_WATCHER | P_RECONCILER | P_CFAPI | P_DNSWORKER | \
			 P_ROTATOR)

enum msg_type {
	MSG_NONE = 0,
#define X(num, name, from, to)	MSG_##name = num,
#include "msg.def"
#undef X
};

const char	*msg_name(unsigned type);
int		 msg_known(unsigned type);
/* 1 if the catalogue lets `from` send `type` to `to`. */
int		 msg_allowed(unsigned type, enum proc_id from, enum proc_id to);
int		 msg_may_send(unsigned type, enum proc_id from);
int		 msg_may_receive(unsigned type, enum proc_id to);

const char	*proc_name(enum proc_id);
int		 proc_lookup(const char *name, enum proc_id *out);

#endif
