/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gwinput: what a Gateway's run reads before it talks to Cloudflare: the
 * reconcileEvery annotation, the CloudflareGatewayParameters it names, the
 * credentials Secret (the CGP's secretRef, else the GatewayClass's
 * parametersRef; no ReferenceGrant is required for the class's Secret: the
 * class is the cluster administrator's choice), DNS zones and rotation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwjob.h"
#include "json.h"
#include "log.h"
#include "reconciler.h"
#include "route.h"
#include "store.h"

const char *
gw_annotation(yajl_val gw, const char *key)
{
	return json_str(json_path(gw, "metadata", "annotations", NULL), key);
}

/* reconcileEvery: a Go-style duration; 0 on success. */
int
gw_every(yajl_val gw, long long *ms)
{
	const char	*v = gw_annotation(gw, REC_ANN_EVERY);

	*ms = REC_EVERY_DEFAULT_MS;
	if (v == NULL)
		return 0;
	*ms = route_duration_ms(v);
	if (*ms <= 0) {
		*ms = REC_EVERY_DEFAULT_MS;
		return -1;
	}
	if (*ms < 10000)
		*ms = 10000;	/* no hot loops against Cloudflare */
	return 0;
}

int
gw_copy(char *dst, size_t sz, const char *src)
{
	if (src == NULL || strlen(src) >= sz)
		return -1;
	strcpy(dst, src);
	return 0;
}

/* CGP dns (tri-state) and tunnel.token.rotation; 0, or -1 on ENOMEM. */
static int
gw_params_dns_rotation(struct gw_job *j, yajl_val cgp)
{
	yajl_val	 dns, rot;
	int		 en;

	dns = json_path(cgp, "spec", "dns", NULL);
	free(j->zones);
	j->zones = NULL;
	j->dns_disabled = 0;
	if (dns != NULL) {
		struct jw	*w = jw_new();
		yajl_val	 zs = json_get(dns, "zones");
		size_t		 i;

		if (w == NULL)
			return -1;
		jw_arr(w);
		for (i = 0; i < json_len(zs); i++)
			if (json_str(json_at(zs, i), "name") != NULL)
				jw_str(w, json_str(json_at(zs, i), "name"));
		jw_arr_end(w);
		j->zones = jw_take(w, NULL);
		jw_free(&w);
		j->dns_disabled = json_len(zs) == 0;
	}
	rot = json_path(cgp, "spec", "tunnel", "token", "rotation", NULL);
	j->rot_enabled = 1;
	if (json_bool(rot, "enabled", &en) == 0)
		j->rot_enabled = en;
	if (gw_copy(j->rot_cron, sizeof(j->rot_cron),
	    json_str(json_get(rot, "schedule"), "cron")) == 0) {
		if (gw_copy(j->rot_tz, sizeof(j->rot_tz),
		    json_str(json_get(rot, "schedule"), "timeZone")) == -1)
			strcpy(j->rot_tz, "UTC");
	} else {
		strcpy(j->rot_cron, "0 18 * * 4");
		strcpy(j->rot_tz, "America/Los_Angeles");
	}
	return 0;
}

/* CGP: parametersRef, credentials, DNS zones, rotation.  0, or -1 after
 * gw_fail. */
int
gw_params(struct rec *r, struct gw_job *j, yajl_val gw, yajl_val *cgpp)
{
	yajl_val	 pr, cgp = NULL, gc, cpr;
	const char	*grp, *kind, *pname, *sref;

	pr = json_path(gw, "spec", "infrastructure", "parametersRef", NULL);
	if (pr != NULL) {
		grp = json_str(pr, "group");
		kind = json_str(pr, "kind");
		pname = json_str(pr, "name");
		if (grp == NULL || strcmp(grp, REC_GROUP) != 0 ||
		    kind == NULL ||
		    strcmp(kind, "CloudflareGatewayParameters") != 0 ||
		    pname == NULL) {
			gw_fail(r, j, GW_TERMINAL, "InvalidParameters",
			    "Failed to read parameters: parametersRef must be "
			    "a %s CloudflareGatewayParameters", REC_GROUP);
			return -1;
		}
		cgp = store_get(r->store, "CloudflareGatewayParameters",
		    j->ns, pname);
		if (cgp == NULL) {
			gw_fail(r, j, GW_TERMINAL, "InvalidParameters",
			    "Failed to read parameters: "
			    "CloudflareGatewayParameters %s/%s not found",
			    j->ns, pname);
			return -1;
		}
	}
	*cgpp = cgp;
	sref = json_str(json_path(cgp, "spec", "secretRef", NULL), "name");
	gc = store_get(r->store, "GatewayClass", NULL,
	    json_str(json_get(gw, "spec"), "gatewayClassName"));
	cpr = json_path(gc, "spec", "parametersRef", NULL);
	if (sref != NULL) {
		(void)gw_copy(j->cred_ns, sizeof(j->cred_ns), j->ns);
		if (gw_copy(j->cred_name, sizeof(j->cred_name), sref) == -1)
			sref = NULL;
	} else if (gw_copy(j->cred_ns, sizeof(j->cred_ns),
	    json_str(cpr, "namespace")) == 0 &&
	    gw_copy(j->cred_name, sizeof(j->cred_name),
	    json_str(cpr, "name")) == 0)
		sref = j->cred_name;
	if (sref == NULL) {
		gw_fail(r, j, GW_TERMINAL, "InvalidParameters",
		    "Failed to read credentials: neither the "
		    "CloudflareGatewayParameters secretRef nor the "
		    "GatewayClass parametersRef names a Secret");
		return -1;
	}
	return gw_params_dns_rotation(j, cgp);
}

