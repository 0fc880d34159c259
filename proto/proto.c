/* SPDX-License-Identifier: Apache-2.0 */
/* The catalogue's lookups, generated from msg.def. */
#include <string.h>

#include "proto.h"

static const struct msg_entry {
	unsigned	 type;
	const char	*name;
	unsigned	 from;
	unsigned	 to;
} msg_table[] = {
#define X(num, name, f, t)	{ num, #name, (f), (t) },
#include "msg.def"
#undef X
};

static const char *const proc_names[PROC_MAX] = {
	[PROC_SUPERVISOR] = "cfgwd",
	[PROC_WATCHER] = "watcher",
	[PROC_RECONCILER] = "reconciler",
	[PROC_CFAPI] = "cfapi",
	[PROC_DNSWORKER] = "dnsworker",
	[PROC_ROTATOR] = "rotator",
};

static const struct msg_entry *
msg_find(unsigned type)
{
	size_t	 i;

	for (i = 0; i < sizeof(msg_table) / sizeof(msg_table[0]); i++)
		if (msg_table[i].type == type)
			return &msg_table[i];
	return NULL;
}

const char *
msg_name(unsigned type)
{
	const struct msg_entry *e = msg_find(type);

	return e != NULL ? e->name : "UNKNOWN";
}

int
msg_known(unsigned type)
{
	return msg_find(type) != NULL;
}

int
msg_allowed(unsigned type, enum proc_id from, enum proc_id to)
{
	const struct msg_entry *e = msg_find(type);

	if (e == NULL || (unsigned)from >= PROC_MAX || (unsigned)to >= PROC_MAX)
		return 0;
	return (e->from & (1u << from)) && (e->to & (1u << to));
}

int
msg_may_send(unsigned type, enum proc_id from)
{
	const struct msg_entry *e = msg_find(type);

	return e != NULL && (unsigned)from < PROC_MAX &&
	    (e->from & (1u << from)) != 0;
}

int
msg_may_receive(unsigned type, enum proc_id to)
{
	const struct msg_entry *e = msg_find(type);

	return e != NULL && (unsigned)to < PROC_MAX &&
	    (e->to & (1u << to)) != 0;
}

const char *
proc_name(enum proc_id p)
{
	if ((unsigned)p >= PROC_MAX)
		return "unknown";
	return proc_names[p];
}

int
proc_lookup(const char *name, enum proc_id *out)
{
	int	 i;

	for (i = 0; i < PROC_MAX; i++)
		if (strcmp(proc_names[i], name) == 0) {
			*out = (enum proc_id)i;
			return 0;
		}
	return -1;
}
