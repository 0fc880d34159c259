/* SPDX-License-Identifier: Apache-2.0 */
/*
 * suspend, resume: `cfgwctl suspend gateway NAME` sets the annotation
 * cloudflare-gateway-controller.io/reconcile: disabled (the controller
 * then leaves the Gateway and everything it owns alone, and a deletion
 * orphans the tunnel and DNS records); `cfgwctl resume gateway NAME` sets
 * it back to enabled with reconcileRequestedAt = now and, unless
 * --wait=false, waits for the reconciliation that follows.
 */
#include <stdio.h>
#include <string.h>

#include "gwctl.h"

#define RESUME_TIMEOUT_MS	(5LL * 60 * 1000)

static void
suspend_usage(FILE *f)
{
	fprintf(f,
	    "usage: cfgwctl suspend gateway NAME [-n NAMESPACE] "
	    "[--kubeconfig PATH] [--context NAME]\n\n"
	    "Suspend reconciliation of a Gateway (annotation\n"
	    GWCTL_ANN_RECONCILE ": disabled).  The controller\n"
	    "stops acting on it; deleting it then orphans its tunnel and DNS\n"
	    "records.\n");
}

static void
resume_usage(FILE *f)
{
	fprintf(f,
	    "usage: cfgwctl resume gateway NAME [-n NAMESPACE] "
	    "[--kubeconfig PATH] [--context NAME]\n"
	    "       [--wait=true|false] [--timeout DURATION]\n\n"
	    "Resume reconciliation of a suspended Gateway (reconcile: "
	    "enabled,\nreconcileRequestedAt = now) and wait (default; "
	    "--timeout 5m) until\nthe controller has handled the request "
	    "and the Gateway is Ready.\n");
}

static int
suspend_check(struct gwctl *g, yajl_val gw, void *arg)
{
	(void)arg;
	if (!gwctl_suspended(gw))
		return GWCTL_OK;
	printf("Reconciliation is already suspended for Gateway %s/%s\n",
	    g->ns, g->name);
	return GWCTL_SKIP;
}

static int
resume_check(struct gwctl *g, yajl_val gw, void *arg)
{
	(void)arg;
	if (gwctl_suspended(gw))
		return GWCTL_OK;
	printf("Reconciliation is not suspended for Gateway %s/%s\n", g->ns,
	    g->name);
	return GWCTL_SKIP;
}

int
cmd_suspend(int argc, char *argv[])
{
	struct gwctl	 g;
	const char	*kv[] = { GWCTL_ANN_RECONCILE, "disabled" };
	int		 rc;

	memset(&g, 0, sizeof(g));
	g.cmd = "suspend";
	if ((rc = gwctl_args(&g, argc, argv, 0, suspend_usage)) >= 0)
		return rc;
	if (gwctl_open(&g) != GWCTL_OK)
		return GWCTL_FAIL;
	rc = gwctl_annotate(&g, suspend_check, NULL, kv, 1);
	if (rc == GWCTL_OK)
		printf("Suspended reconciliation for Gateway %s/%s\n", g.ns,
		    g.name);
	gwctl_close(&g);
	return rc == GWCTL_SKIP ? GWCTL_OK : rc;
}

int
cmd_resume(int argc, char *argv[])
{
	struct gwctl	 g;
	char		 now[64];
	const char	*kv[] = { GWCTL_ANN_RECONCILE, "enabled",
			    GWCTL_ANN_REQUESTED, now };
	int		 rc;

	memset(&g, 0, sizeof(g));
	g.cmd = "resume";
	g.wait = 1;
	g.timeout_ms = RESUME_TIMEOUT_MS;
	if ((rc = gwctl_args(&g, argc, argv, GWCTL_F_WAIT | GWCTL_F_TIMEOUT,
	    resume_usage)) >= 0)
		return rc;
	if (gwctl_open(&g) != GWCTL_OK)
		return GWCTL_FAIL;
	gwctl_rfc3339nano(now, sizeof(now));
	rc = gwctl_annotate(&g, resume_check, NULL, kv, 2);
	if (rc == GWCTL_OK) {
		printf("Resumed reconciliation for Gateway %s/%s\n", g.ns,
		    g.name);
		fflush(stdout);
		if (g.wait)
			rc = gwctl_wait_reconciled(&g, now);
	}
	gwctl_close(&g);
	return rc == GWCTL_SKIP ? GWCTL_OK : rc;
}
