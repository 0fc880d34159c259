/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gwfinal: a Gateway's deletion.  DNS records first (dnsworker), then the
 * tunnel (cfapi deletes its connections, then the tunnel), then our
 * entries in the routes' status, then our GatewayClass finalizer entries,
 * then the finalizer; the owned objects go
 * by ownerReference garbage collection.  A suspended Gateway is released
 * at once and its Cloudflare resources stay (orphaned on purpose).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwjob.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "reconciler.h"
#include "store.h"

/*
 * Deletion: DNS records, then the tunnel (cfapi cleans its connections
 * first), then our route status entries, then the GatewayClass
 * finalizer entries, then the Gateway's finalizer; the owned
 * objects follow by ownerReference garbage collection.  A suspended
 * Gateway is let go at once and its Cloudflare resources stay.
 */
void
gw_finalize(struct rec *r, struct gw_job *j, yajl_val gw)
{
	struct jw	*w;
	yajl_val	 cgp = NULL;
	const char	*sus = gw_annotation(gw, REC_ANN_RECONCILE);
	const char	*cluster;

	if (sus != NULL && strcmp(sus, "disabled") == 0) {
		log_info("Gateway %s/%s: suspended, released without cleanup",
		    j->ns, j->name);
		if (gwclassfin_release(r, j) == -1 ||
		    gw_finalizer(r, j, gw, 0) == -1)
			rec_enqueue(r, j->key, -1);
		return;
	}
	j->step = GW_FIN_LIST;	/* gw_fail must not write Gateway status */
	if (gw_params(r, j, gw, &cgp) == -1)
		return;
	cluster = r->w.cfg.cluster_name[0] ? r->w.cfg.cluster_name :
	    "default";
	snprintf(j->tunnel_name, sizeof(j->tunnel_name),
	    "cloudflare-gateway-controller.io/clusters/%s/namespaces/%s/"
	    "gateways/%s", cluster, j->ns, j->name);
	if ((w = gw_cf_begin(j, "tunnel.list")) == NULL)
		return;
	jw_kstr(w, "name", j->tunnel_name);
	(void)gw_send_cf(r, j, GW_FIN_LIST, "tunnel.list", w);
}

static void
gw_fin_send_cleanup(struct rec *r, struct gw_job *j)
{
	struct jw	*w;
	const char	*buf, *cluster;
	size_t		 len;
	char		 s[800];

	if ((w = jw_new()) == NULL)
		return;
	cluster = r->w.cfg.cluster_name[0] ? r->w.cfg.cluster_name :
	    "default";
	jw_obj(w);
	snprintf(s, sizeof(s), "%s/%s", j->ns, j->name);
	jw_kstr(w, "gateway", s);
	jw_key(w, "cred");
	jw_obj(w);
	jw_kstr(w, "namespace", j->cred_ns);
	jw_kstr(w, "name", j->cred_name);
	jw_obj_end(w);
	snprintf(s, sizeof(s), "%s.cfargotunnel.com", j->tunnel_id);
	jw_kstr(w, "target", s);
	snprintf(s, sizeof(s), "%s/%s/%s", cluster, j->ns, j->name);
	jw_kstr(w, "owner", s);
	jw_obj_end(w);
	j->step = GW_FIN_DNS;
	if (jw_result(w, &buf, &len) == 0)
		j->reqid = rec_request(r, REC_PEER_DNS, MSG_DNS_CLEANUP,
		    j->key, GW_FIN_DNS, buf, len, REC_DNS_TIMEOUT_MS);
	jw_free(&w);
	if (j->reqid == 0)
		gw_fail(r, j, GW_RETRY, NULL, "cannot send DNS_CLEANUP");
}

static void
gw_fin_release(struct rec *r, struct gw_job *j)
{
	yajl_val	 gw;

	if (gwstatus_routes_forget(r, j) == -1) {
		gw_fail(r, j, GW_RETRY, NULL, "cannot clean route status");
		return;
	}
	if (gwclassfin_release(r, j) == -1) {
		gw_fail(r, j, GW_RETRY, NULL,
		    "cannot remove the GatewayClass finalizer");
		return;
	}
	gw = store_get(r->store, "Gateway", j->ns, j->name);
	if (gw != NULL && gw_finalizer(r, j, gw, 0) == -1) {
		gw_fail(r, j, GW_RETRY, NULL, "cannot remove finalizer");
		return;
	}
	log_info("Gateway %s/%s: finalized", j->ns, j->name);
	if (gw != NULL)
		events_emit(r, gw, "gateway.networking.k8s.io/v1", "Gateway",
		    "Normal", "Finalized", "Gateway finalized: DNS records "
		    "and tunnel deleted");
	j->tunnel_id[0] = '\0';
	r->rotate_dirty = 1;
	gw_job_reset(j);
}

void
gw_fin_next(struct rec *r, struct gw_job *j, enum gw_step done,
    yajl_val res)
{
	struct jw	*w;
	const char	*name, *derr;
	size_t		 i;

	switch (done) {
	case GW_FIN_LIST:
		j->tunnel_id[0] = '\0';
		for (i = 0; i < json_len(res); i++) {
			name = json_str(json_at(res, i), "name");
			if (name != NULL && strcmp(name, j->tunnel_name) == 0)
				(void)gw_copy(j->tunnel_id,
				    sizeof(j->tunnel_id),
				    json_str(json_at(res, i), "id"));
		}
		if (j->tunnel_id[0] == '\0') {
			gw_fin_release(r, j);	/* nothing at Cloudflare */
			return;
		}
		gw_fin_send_cleanup(r, j);
		return;
	case GW_FIN_DNS:
		if ((derr = json_str(res, "error")) != NULL) {
			gw_fail(r, j, GW_RETRY, NULL, "DNS cleanup: %s", derr);
			return;
		}
		if ((w = gw_cf_begin(j, "tunnel.delete")) == NULL)
			return;
		jw_kstr(w, "id", j->tunnel_id);
		(void)gw_send_cf(r, j, GW_FIN_DELETE, "tunnel.delete", w);
		return;
	case GW_FIN_DELETE:
		log_info("Gateway %s/%s: tunnel %s deleted", j->ns, j->name,
		    j->tunnel_id);
		gw_fin_release(r, j);
		return;
	default:
		gw_done(r, j, 0);
		return;
	}
}

