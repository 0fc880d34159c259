/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rotate: `cfgwctl rotate gateway token NAME` asks the controller for a
 * new tunnel token now by setting the annotation
 * gateways.cloudflare-gateway-controller.io/rotateTokenRequestedAt (RFC
 * 3339, ns precision).  The controller rotates the tunnel secret, writes
 * the new token to Secret gateway-<gw>, and the tunnel Deployments roll
 * to it one at a time.  With --wait (or --watch, the reference's name) it
 * follows that to the end like `cfgwctl watch gateway token`.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"
#include "json.h"

#define ROTATE_TIMEOUT_MS	(10LL * 60 * 1000)

static void
rotate_usage(FILE *f)
{
	fprintf(f,
	    "usage: cfgwctl rotate gateway token NAME [-n NAMESPACE] "
	    "[--kubeconfig PATH]\n"
	    "       [--context NAME] [--wait] [--timeout DURATION]\n\n"
	    "Rotate a Gateway's tunnel token now (annotation\n"
	    GWCTL_ANN_ROTATE ").\n"
	    "--wait (alias --watch) follows the rotation until every tunnel\n"
	    "Deployment has rolled to the new token and the Gateway is "
	    "Ready\n(default --timeout 10m).\n");
}

static int
rotate_check(struct gwctl *g, yajl_val gw, void *arg)
{
	(void)arg;
	if (!gwctl_suspended(gw))
		return GWCTL_OK;
	fprintf(stderr, "cfgwctl %s: reconciliation is suspended for Gateway "
	    "%s/%s, use 'cfgwctl resume gateway %s -n %s' first\n", g->cmd,
	    g->ns, g->name, g->name, g->ns);
	return GWCTL_FAIL;
}

/*
 * The controller skips a request that is not later than the CGS
 * lastRotatedAt (a rotation since the request).  That time has whole
 * seconds and the reconciler compares the two as strings, so a request
 * stamped in the same second as the last rotation (or as the seed the
 * first reconciliation writes) would be taken as already done: wait for
 * the next second first (at most two).
 */
static void
rotate_after(const char *last)
{
	struct tm	 tm;
	const char	*end;
	time_t		 t;
	int		 i;

	memset(&tm, 0, sizeof(tm));
	if (last == NULL || (end = strptime(last, "%Y-%m-%dT%H:%M:%S",
	    &tm)) == NULL || strcmp(end, "Z") != 0 ||
	    (t = timegm(&tm)) == (time_t)-1)
		return;
	for (i = 0; i < 20 && time(NULL) <= t; i++)
		gwctl_sleep_ms(100);
}

/*
 * The CGS must show a token and at least one tunnel Deployment (a
 * rotation has nothing to roll otherwise); its hash is copied to old.
 */
static int
rotate_precheck(struct gwctl *g, char *old, size_t sz)
{
	yajl_val	 cgs, inv;
	const char	*h, *kind;
	size_t		 i, ndeps = 0;
	int		 found;

	if ((found = gwctl_get(g, "CloudflareGatewayStatus", g->name,
	    &cgs)) <= 0) {
		if (found == 0)
			fprintf(stderr, "cfgwctl %s: Gateway %s/%s has no "
			    "CloudflareGatewayStatus: the controller has not "
			    "reconciled it yet\n", g->cmd, g->ns, g->name);
		return GWCTL_FAIL;
	}
	inv = json_path(cgs, "status", "inventory", NULL);
	for (i = 0; i < json_len(inv); i++)
		ndeps += (kind = json_str(json_at(inv, i), "kind")) != NULL &&
		    strcmp(kind, "Deployment") == 0;
	h = json_str(json_path(cgs, "status", "tunnel", "token", NULL),
	    "hash");
	if (ndeps == 0 || h == NULL || *h == '\0' || strlen(h) >= sz) {
		fprintf(stderr, "cfgwctl %s: Gateway %s/%s has %s in its "
		    "CloudflareGatewayStatus\n", g->cmd, g->ns, g->name,
		    ndeps == 0 ? "no tunnel Deployment" : "no token hash");
		json_free(&cgs);
		return GWCTL_FAIL;
	}
	strcpy(old, h);
	rotate_after(json_str(json_path(cgs, "status", "tunnel", "token",
	    "rotation", NULL), "lastRotatedAt"));
	json_free(&cgs);
	return GWCTL_OK;
}

int
cmd_rotate(int argc, char *argv[])
{
	struct gwctl	 g;
	char		 now[64], old[128];
	const char	*kv[] = { GWCTL_ANN_ROTATE, now };
	yajl_val	 gw;
	int		 rc;

	memset(&g, 0, sizeof(g));
	g.cmd = "rotate";
	g.timeout_ms = ROTATE_TIMEOUT_MS;
	if ((rc = gwctl_args(&g, argc, argv, GWCTL_F_WAIT | GWCTL_F_WATCH |
	    GWCTL_F_TIMEOUT | GWCTL_F_TOKEN, rotate_usage)) >= 0)
		return rc;
	if (gwctl_open(&g) != GWCTL_OK)
		return GWCTL_FAIL;
	rc = GWCTL_FAIL;
	if ((gw = gwctl_gateway(&g)) != NULL &&
	    rotate_check(&g, gw, NULL) == GWCTL_OK)
		rc = rotate_precheck(&g, old, sizeof(old));
	json_free(&gw);
	if (rc == GWCTL_OK) {
		gwctl_rfc3339nano(now, sizeof(now));
		rc = gwctl_annotate(&g, rotate_check, NULL, kv, 1);
	}
	if (rc == GWCTL_OK) {
		printf("Requested token rotation for Gateway %s/%s "
		    "(rotateTokenRequestedAt %s)\n", g.ns, g.name, now);
		fflush(stdout);
		if (g.wait)
			rc = gwctl_follow_rotation(&g, old, now);
	}
	gwctl_close(&g);
	return rc;
}
