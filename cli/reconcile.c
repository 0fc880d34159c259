/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reconcile: `cfgwctl reconcile gateway NAME` asks the controller for a
 * reconciliation now by setting the annotation
 * cloudflare-gateway-controller.io/reconcileRequestedAt (RFC 3339, ns
 * precision) and, unless --wait=false, waits until the Gateway's
 * CloudflareGatewayStatus reports it handled (lastHandledReconcileAt) and
 * the Gateway's Ready condition settles on True (exit 0) or False (1).
 * gwctl_wait_reconciled is shared with resume.
 */
#include <stdio.h>
#include <string.h>

#include "gwctl.h"
#include "json.h"

#define RECONCILE_TIMEOUT_MS	(5LL * 60 * 1000)
#define RECONCILE_POLL_MS	1000

struct rw_state {
	int	 handled;
	char	 ready[256];	/* last "status reason" printed */
	char	 seen[512];	/* Ready as last read, for a timeout */
};

static void
reconcile_usage(FILE *f)
{
	fprintf(f,
	    "usage: cfgwctl reconcile gateway NAME [-n NAMESPACE] "
	    "[--kubeconfig PATH] [--context NAME]\n"
	    "       [--wait=true|false] [--timeout DURATION]\n\n"
	    "Request a reconciliation of a Gateway now (annotation\n"
	    GWCTL_ANN_REQUESTED ") and wait (default;\n"
	    "--timeout 5m) until the controller has handled it and the\n"
	    "Gateway's Ready condition is True (exit 0) or False (exit 1).\n");
}

/* One look; GWCTL_OK / GWCTL_FAIL when finished, -1 to go on. */
static int
rw_step(struct gwctl *g, const char *want, struct rw_state *st,
    long long start)
{
	yajl_val	 gw = NULL, cgs = NULL;
	const char	*got, *ready, *reason, *msg;
	char		 line[sizeof(st->ready)];
	int		 rc = -1;

	if (gwctl_get(g, "Gateway", g->name, &gw) == 0) {
		fprintf(stderr, "cfgwctl %s: Gateway %s/%s was deleted\n",
		    g->cmd, g->ns, g->name);
		return GWCTL_FAIL;
	}
	if (gw != NULL && gwctl_suspended(gw)) {
		fprintf(stderr, "cfgwctl %s: Gateway %s/%s was suspended "
		    "meanwhile\n", g->cmd, g->ns, g->name);
		json_free(&gw);
		return GWCTL_FAIL;
	}
	if (!st->handled && gwctl_get(g, "CloudflareGatewayStatus", g->name,
	    &cgs) == 1 && (got = json_str(json_get(cgs, "status"),
	    "lastHandledReconcileAt")) != NULL && strcmp(got, want) == 0) {
		st->handled = 1;
		gwctl_stamp(stdout, start);
		printf("CloudflareGatewayStatus/%s handled "
		    "reconcileRequestedAt %s\n", g->name, want);
	}
	json_free(&cgs);
	if (gw != NULL) {
		ready = gwctl_cond(gw, "Ready", &reason, &msg);
		snprintf(st->seen, sizeof(st->seen), "Ready=%s %s%s%s", ready,
		    reason ? reason : "-", msg ? ": " : "", msg ? msg : "");
	}
	if (st->handled && gw != NULL && gwctl_cond_current(gw, "Ready")) {
		ready = gwctl_cond(gw, "Ready", &reason, &msg);
		snprintf(line, sizeof(line), "%s %s", ready, reason ? reason :
		    "-");
		if (strcmp(line, st->ready) != 0) {
			gwctl_stamp(stdout, start);
			printf("Gateway/%s Ready=%s %s%s%s\n", g->name, ready,
			    reason ? reason : "-", msg ? ": " : "",
			    msg ? msg : "");
			snprintf(st->ready, sizeof(st->ready), "%s", line);
		}
		if (strcmp(ready, "True") == 0)
			rc = GWCTL_OK;
		else if (strcmp(ready, "False") == 0) {
			fprintf(stderr, "cfgwctl %s: Gateway %s/%s is not "
			    "ready: %s: %s\n", g->cmd, g->ns, g->name,
			    reason ? reason : "-", msg ? msg : "");
			rc = GWCTL_FAIL;
		}
	}
	json_free(&gw);
	fflush(stdout);
	return rc;
}

int
gwctl_wait_reconciled(struct gwctl *g, const char *want)
{
	struct rw_state	 st;
	long long	 start = gwctl_mono_ms();
	char		 d[32];
	int		 rc;

	memset(&st, 0, sizeof(st));
	gwctl_stamp(stdout, start);
	printf("waiting for the controller to handle the request\n");
	fflush(stdout);
	for (;;) {
		if ((rc = rw_step(g, want, &st, start)) >= 0)
			break;
		if (gwctl_mono_ms() - start >= g->timeout_ms) {
			gwctl_duration(d, sizeof(d), g->timeout_ms);
			fprintf(stderr, "cfgwctl %s: timed out after %s %s\n",
			    g->cmd, d, st.handled ? "waiting for the Gateway "
			    "to become Ready" : "waiting for the controller to "
			    "handle the request (is it running, and the "
			    "GatewayClass accepted?)");
			if (st.seen[0] != '\0')
				fprintf(stderr, "cfgwctl %s: Gateway %s/%s: "
				    "%s\n", g->cmd, g->ns, g->name, st.seen);
			return GWCTL_FAIL;
		}
		gwctl_sleep_ms(RECONCILE_POLL_MS);
	}
	if (rc == GWCTL_OK)
		printf("Reconciliation completed\n");
	return rc;
}

static int
reconcile_check(struct gwctl *g, yajl_val gw, void *arg)
{
	(void)arg;
	if (!gwctl_suspended(gw))
		return GWCTL_OK;
	fprintf(stderr, "cfgwctl %s: reconciliation is suspended for Gateway "
	    "%s/%s, use 'cfgwctl resume gateway %s -n %s' first\n", g->cmd,
	    g->ns, g->name, g->name, g->ns);
	return GWCTL_FAIL;
}

int
cmd_reconcile(int argc, char *argv[])
{
	struct gwctl	 g;
	char		 now[64];
	const char	*kv[] = { GWCTL_ANN_REQUESTED, now };
	int		 rc;

	memset(&g, 0, sizeof(g));
	g.cmd = "reconcile";
	g.wait = 1;
	g.timeout_ms = RECONCILE_TIMEOUT_MS;
	if ((rc = gwctl_args(&g, argc, argv, GWCTL_F_WAIT | GWCTL_F_TIMEOUT,
	    reconcile_usage)) >= 0)
		return rc;
	if (gwctl_open(&g) != GWCTL_OK)
		return GWCTL_FAIL;
	gwctl_rfc3339nano(now, sizeof(now));
	if ((rc = gwctl_annotate(&g, reconcile_check, NULL, kv, 1)) ==
	    GWCTL_OK) {
		printf("Requested reconciliation for Gateway %s/%s "
		    "(reconcileRequestedAt %s)\n", g.ns, g.name, now);
		fflush(stdout);
		if (g.wait)
			rc = gwctl_wait_reconciled(&g, now);
	}
	gwctl_close(&g);
	return rc;
}
