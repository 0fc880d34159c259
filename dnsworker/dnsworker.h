/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_DNSWORKER_H
#define CFGW_DNSWORKER_H

/* dnsworker's private interface (this directory only). */

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "json.h"
#include "worker.h"

#define DNS_MAX_ZONECACHE	256	/* zones with cached records */
#define DNS_MAX_HOSTCACHE	4096	/* hostname -> zone */
#define DNS_MAX_OWNERS		1024
#define DNS_MAX_OWNER_ZONES	64
#define DNS_RECORDS_TTL_S	60.0	/* re-list a zone after this */
#define DNS_HOST_TTL_S		600.0
#define DNS_HOST_NEG_TTL_S	60.0
#define DNS_ZONELIST_TTL_S	300.0
#define DNS_MAX_ZONELISTS	32	/* credentials with a zone list */
#define DNS_ZONELIST_MAX	5000	/* cfapi's zone.list cap */
#define DNS_RPC_TIMEOUT_S	180.0

struct dns_zonecache {
	char		 zone_id[64];
	char		 cred[320];	/* whose listing */
	yajl_val	 root;		/* the CF_REPLY, owned */
	yajl_val	 records;	/* its "result" array */
	double		 fetched;
};

/* The zones a credential sees (zone.list), for local zone matching. */
struct dns_zonelist {
	char		 cred[320];
	yajl_val	 root;		/* the CF_REPLY, owned */
	yajl_val	 zones;		/* its "result" array */
	double		 fetched;
};

struct dns_hostcache {
	char		 key[600];	/* cred + "|" + hostname */
	char		 zone_id[64];
	char		 zone_name[254];
	int		 found;
	double		 expires;
};

/* Where an owner has records: the zones to look at when cleaning up. */
struct dns_owner {
	char		 owner[400];
	char		 zones[DNS_MAX_OWNER_ZONES][64];
	size_t		 nzones;
	int		 discovered;	/* all zones scanned once */
};

struct dns_state {
	struct worker		 w;
	void			*router;
	void			*cfapi;
	uint64_t		 reqid;
	int			 stop;
	struct dns_zonecache	 zc[DNS_MAX_ZONECACHE];
	struct dns_hostcache	 hc[DNS_MAX_HOSTCACHE];
	struct dns_zonelist	 zl[DNS_MAX_ZONELISTS];
	size_t			 nhc;
	struct dns_owner	 owners[DNS_MAX_OWNERS];
	size_t			 nowners;
	uint64_t		 writes, reads;	/* cfapi calls, for logs */
};

/*
 * One CF_REQUEST to cfapi, waiting for its reply while the control
 * channel is served.  Returns the parsed reply ({"ok":..}) or NULL on
 * timeout / shutdown (errbuf says why).  Free with json_free.
 */
yajl_val dns_cfapi_call(struct dns_state *, struct jw *req, char *errbuf,
	    size_t errsz);

/* dns_sync.c: handle DNS_SYNC (cleanup = DNS_CLEANUP); writes DNS_RESULT. */
void	 dns_sync_run(struct dns_state *, yajl_val req, int cleanup,
	    struct jw *out);
void	 dns_sync_forget(struct dns_state *);

#endif
