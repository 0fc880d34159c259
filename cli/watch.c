/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watch: `cfgwctl watch gateway token NAME` follows a token rotation that
 * is under way, and gwctl_follow_rotation() is what `rotate gateway token
 * --wait` runs after its request.  It polls (once a second) the Gateway,
 * its CloudflareGatewayStatus and the tunnel Deployments named in the
 * CGS inventory, and prints each step as it happens: the CGS token hash
 * changing, each Deployment's pod template getting the new tokenHash
 * (token-updated) and finishing its rollout (rolled-out), the Gateway's
 * Programmed/Ready changes.  Deployments must roll one at a time: one
 * getting the new hash while another is still rolling out is reported
 * and makes the exit status 1.  Done (0) when every Deployment is rolled
 * out on the new hash and the Gateway is Ready=True; 1 on timeout, on
 * suspension or when the Gateway goes away.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwctl.h"
#include "json.h"

#define WATCH_TIMEOUT_MS	(30LL * 60 * 1000)
#define RF_POLL_MS		1000
#define RF_MAX_DEPS		128	/* CGP tunnel.replicas maxItems */
#define RF_HASH_MAX		128

struct rf_dep {
	char	 name[254];
	int	 updated;	/* pod template carries the new hash */
	int	 rolled;	/* ...and the rollout finished */
	int	 gone;
	int	 fresh;		/* updated in this round */
};

struct rf {
	struct gwctl	*g;
	long long	 start;
	char		 old[RF_HASH_MAX];	/* "" when attaching */
	char		 cur[RF_HASH_MAX];	/* new one, or "" */
	struct rf_dep	 deps[RF_MAX_DEPS];
	size_t		 ndeps;
	char		 conds[128];
	int		 ready;
	int		 violations;
	int		 waiting_said;
	const char	*requested;
};

static void
watch_usage(FILE *f)
{
	fprintf(f,
	    "usage: cfgwctl watch gateway token NAME [-n NAMESPACE] "
	    "[--kubeconfig PATH]\n"
	    "       [--context NAME] [--timeout DURATION]\n\n"
	    "Follow a token rotation under way (default --timeout 30m): the\n"
	    "CloudflareGatewayStatus token hash, each tunnel Deployment "
	    "rolling\nto it one at a time, the Gateway becoming Ready.\n");
}

static void
rf_say(struct rf *f, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
rf_say(struct rf *f, const char *src, const char *fmt, ...)
{
	va_list	 ap;

	gwctl_stamp(stdout, f->start);
	printf("%-40s ", src);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static const char *
rf_template_hash(yajl_val dep)
{
	return json_str(json_path(dep, "spec", "template", "metadata",
	    "annotations", NULL), GWCTL_ANN_TOKEN_HASH);
}

/* Same test as the reconciler (reconciler/rollout.c) and kubectl. */
static int
rf_rolled_out(yajl_val d)
{
	yajl_val	 st = json_get(d, "status");
	long long	 gen = 0, og = 0, want = 1, upd = 0, tot = 0, rdy = 0;

	(void)json_int(json_get(d, "metadata"), "generation", &gen);
	(void)json_int(json_get(d, "spec"), "replicas", &want);
	(void)json_int(st, "observedGeneration", &og);
	(void)json_int(st, "updatedReplicas", &upd);
	(void)json_int(st, "replicas", &tot);
	(void)json_int(st, "readyReplicas", &rdy);
	return og >= gen && upd >= want && tot <= upd && rdy >= upd;
}

/* Add the inventory's Deployments not yet known. */
static void
rf_inventory(struct rf *f, yajl_val cgs)
{
	yajl_val	 inv = json_path(cgs, "status", "inventory", NULL), e;
	const char	*kind, *name;
	size_t		 i, j;

	for (i = 0; i < json_len(inv); i++) {
		e = json_at(inv, i);
		if ((kind = json_str(e, "kind")) == NULL ||
		    strcmp(kind, "Deployment") != 0 ||
		    (name = json_str(e, "name")) == NULL ||
		    strlen(name) >= sizeof(f->deps[0].name))
			continue;
		for (j = 0; j < f->ndeps; j++)
			if (strcmp(f->deps[j].name, name) == 0)
				break;
		if (j < f->ndeps || f->ndeps == RF_MAX_DEPS)
			continue;
		memset(&f->deps[j], 0, sizeof(f->deps[j]));
		strcpy(f->deps[j].name, name);
		f->ndeps++;
	}
}

/* A new token hash is known: every Deployment must reach it. */
static void
rf_new_hash(struct rf *f, const char *h, const char *src)
{
	size_t	 i;

	if (f->cur[0] != '\0')
		snprintf(f->old, sizeof(f->old), "%s", f->cur);
	snprintf(f->cur, sizeof(f->cur), "%s", h);
	for (i = 0; i < f->ndeps; i++)
		f->deps[i].updated = f->deps[i].rolled = 0;
	rf_say(f, src, "token-rotated hash=%.12s (was %.12s)", h,
	    f->old[0] ? f->old : "-");
}

static int
rf_look_cgs(struct rf *f)
{
	yajl_val	 cgs;
	const char	*h;
	char		 src[300];
	int		 found;

	if ((found = gwctl_get(f->g, "CloudflareGatewayStatus", f->g->name,
	    &cgs)) <= 0)
		return found;
	rf_inventory(f, cgs);
	h = json_str(json_path(cgs, "status", "tunnel", "token", NULL),
	    "hash");
	snprintf(src, sizeof(src), "CloudflareGatewayStatus/%s", f->g->name);
	if (h != NULL && strlen(h) < RF_HASH_MAX && strcmp(h, f->cur) != 0 &&
	    strcmp(h, f->old) != 0)
		rf_new_hash(f, h, src);
	json_free(&cgs);
	return 1;
}

static void
rf_rolled_say(struct rf *f, struct rf_dep *d, yajl_val dep)
{
	long long	 upd = 0, rdy = 0;
	char		 src[300];

	snprintf(src, sizeof(src), "Deployment/%s", d->name);
	d->rolled = 1;
	(void)json_int(json_get(dep, "status"), "updatedReplicas", &upd);
	(void)json_int(json_get(dep, "status"), "readyReplicas", &rdy);
	rf_say(f, src, "rolled-out updated=%lld ready=%lld", upd, rdy);
}

/* d got the new hash: was another one (updated before) still rolling? */
static void
rf_updated(struct rf *f, struct rf_dep *d, int fresh_too)
{
	char	 src[300];
	size_t	 i;

	snprintf(src, sizeof(src), "Deployment/%s", d->name);
	rf_say(f, src, "token-updated hash=%.12s", f->cur);
	for (i = 0; i < f->ndeps; i++) {
		if (&f->deps[i] == d || !f->deps[i].updated ||
		    f->deps[i].rolled || f->deps[i].gone ||
		    (f->deps[i].fresh && !fresh_too))
			continue;
		f->violations++;
		rf_say(f, src, "OUT OF ORDER: updated while Deployment/%s "
		    "is still rolling out", f->deps[i].name);
	}
	d->updated = 1;
	d->fresh = 1;
}

/*
 * One snapshot of the Deployments, judged in an order that cannot blame
 * a correct rollout seen between two polls: first the rollouts that
 * finished, then new hashes on Deployments already rolled out (they went
 * first), then new hashes still rolling.
 */
static void
rf_look_deps(struct rf *f)
{
	yajl_val	 dep[RF_MAX_DEPS];
	const char	*h;
	char		 src[300];
	size_t		 i;
	int		 found, pass;

	for (i = 0; i < f->ndeps; i++) {
		f->deps[i].fresh = 0;
		snprintf(src, sizeof(src), "Deployment/%s", f->deps[i].name);
		if ((found = gwctl_get(f->g, "Deployment", f->deps[i].name,
		    &dep[i])) == 0 && !f->deps[i].gone)
			rf_say(f, src, "not found");
		f->deps[i].gone = found == 0;
	}
	for (pass = 0; pass < 3; pass++)
		for (i = 0; i < f->ndeps; i++) {
			if (dep[i] == NULL || f->cur[0] == '\0')
				continue;
			h = rf_template_hash(dep[i]);
			if (pass == 0 && f->deps[i].updated &&
			    !f->deps[i].rolled && rf_rolled_out(dep[i]))
				rf_rolled_say(f, &f->deps[i], dep[i]);
			if (pass == 0 || f->deps[i].updated || h == NULL ||
			    strcmp(h, f->cur) != 0 ||
			    rf_rolled_out(dep[i]) != (pass == 1))
				continue;
			rf_updated(f, &f->deps[i], pass == 2);
			if (pass == 1)
				rf_rolled_say(f, &f->deps[i], dep[i]);
		}
	for (i = 0; i < f->ndeps; i++)
		json_free(&dep[i]);
}

/* The Gateway: GWCTL_FAIL when it is gone or suspended, else -1. */
static int
rf_look_gateway(struct rf *f)
{
	yajl_val	 gw;
	const char	*rd, *pg, *reason;
	char		 conds[sizeof(f->conds)], src[300];
	int		 found;

	if ((found = gwctl_get(f->g, "Gateway", f->g->name, &gw)) <= 0) {
		if (found == 0)
			fprintf(stderr, "cfgwctl %s: Gateway %s/%s was "
			    "deleted\n", f->g->cmd, f->g->ns, f->g->name);
		return found == 0 ? GWCTL_FAIL : -1;
	}
	snprintf(src, sizeof(src), "Gateway/%s", f->g->name);
	if (gwctl_suspended(gw)) {
		rf_say(f, src, "suspended");
		fprintf(stderr, "cfgwctl %s: Gateway %s/%s was suspended "
		    "during the rotation; 'cfgwctl resume gateway %s -n %s' "
		    "lets it finish\n", f->g->cmd, f->g->ns, f->g->name,
		    f->g->name, f->g->ns);
		json_free(&gw);
		return GWCTL_FAIL;
	}
	pg = gwctl_cond(gw, "Programmed", NULL, NULL);
	rd = gwctl_cond(gw, "Ready", &reason, NULL);
	f->ready = strcmp(rd, "True") == 0 && gwctl_cond_current(gw, "Ready");
	snprintf(conds, sizeof(conds), "Programmed=%s Ready=%s %s", pg, rd,
	    reason ? reason : "");
	if (strcmp(conds, f->conds) != 0) {
		rf_say(f, src, "%s", conds);
		strcpy(f->conds, conds);
	}
	json_free(&gw);
	return -1;
}

static size_t
rf_rolled(const struct rf *f, size_t *total)
{
	size_t	 i, n = 0;

	*total = 0;
	for (i = 0; i < f->ndeps; i++) {
		if (f->deps[i].gone)
			continue;
		(*total)++;
		n += f->deps[i].rolled;
	}
	return n;
}

/* One round; an exit status when finished, -1 to go on. */
static int
rf_step(struct rf *f)
{
	size_t	 n, total;
	int	 rc;

	if ((rc = rf_look_gateway(f)) >= 0)
		return rc;
	(void)rf_look_cgs(f);
	if (f->cur[0] == '\0' && !f->waiting_said) {
		rf_say(f, "", "waiting for the controller to rotate the "
		    "token%s%s", f->requested ? " requested at " : "",
		    f->requested ? f->requested : "");
		f->waiting_said = 1;
	}
	rf_look_deps(f);
	n = rf_rolled(f, &total);
	if (f->cur[0] != '\0' && total > 0 && n == total && f->ready)
		return GWCTL_OK;
	return -1;
}

static int
rf_finish(struct rf *f, int rc)
{
	size_t	 n, total;
	char	 d[32];

	n = rf_rolled(f, &total);
	if (rc == -1) {
		gwctl_duration(d, sizeof(d), f->g->timeout_ms);
		fprintf(stderr, "cfgwctl %s: timed out after %s: %zu/%zu "
		    "Deployment(s) rolled out on the new token%s\n", f->g->cmd,
		    d, n, total, f->cur[0] == '\0' ? " (the controller has "
		    "not rotated it: is it running? see its rotator log)" :
		    "; 'cfgwctl status gateway' shows why");
		return GWCTL_FAIL;
	}
	if (rc != GWCTL_OK)
		return rc;
	gwctl_duration(d, sizeof(d), gwctl_mono_ms() - f->start);
	printf("Token rotation completed for Gateway %s/%s in %s: hash "
	    "%.12s -> %.12s, %zu Deployment(s) rolled out%s\n", f->g->ns,
	    f->g->name, d, f->old[0] ? f->old : "-", f->cur, total,
	    f->violations ? "" : " one at a time");
	if (f->violations) {
		fprintf(stderr, "cfgwctl %s: %d Deployment(s) got the new "
		    "token while another was still rolling out\n", f->g->cmd,
		    f->violations);
		return GWCTL_FAIL;
	}
	return GWCTL_OK;
}

static int
rf_run(struct rf *f)
{
	int	 rc;

	for (;;) {
		if ((rc = rf_step(f)) >= 0)
			break;
		if (gwctl_mono_ms() - f->start >= f->g->timeout_ms)
			break;
		gwctl_sleep_ms(RF_POLL_MS);
	}
	return rf_finish(f, rc);
}

int
gwctl_follow_rotation(struct gwctl *g, const char *old_hash,
    const char *requested)
{
	struct rf	*f;
	int		 rc;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		fprintf(stderr, "cfgwctl %s: out of memory\n", g->cmd);
		return GWCTL_FAIL;
	}
	f->g = g;
	f->start = gwctl_mono_ms();
	snprintf(f->old, sizeof(f->old), "%s", old_hash ? old_hash : "");
	f->requested = requested;
	rc = rf_run(f);
	free(f);
	return rc;
}

/*
 * Attach: Deployments whose pod template differs from the CGS hash are
 * still to roll; none, and no request pending, means nothing under way.
 */
static int
watch_attach(struct gwctl *g, struct rf *f, yajl_val gw, yajl_val cgs)
{
	yajl_val	 dep;
	const char	*h, *req, *handled;
	size_t		 i, pending = 0;

	h = json_str(json_path(cgs, "status", "tunnel", "token", NULL),
	    "hash");
	rf_inventory(f, cgs);
	if (f->ndeps == 0) {
		fprintf(stderr, "cfgwctl %s: Gateway %s/%s has no tunnel "
		    "Deployments in its CloudflareGatewayStatus inventory\n",
		    g->cmd, g->ns, g->name);
		return GWCTL_FAIL;
	}
	snprintf(f->cur, sizeof(f->cur), "%s", h ? h : "");
	for (i = 0; i < f->ndeps; i++) {
		if (gwctl_get(g, "Deployment", f->deps[i].name, &dep) < 0)
			return GWCTL_FAIL;
		h = rf_template_hash(dep);
		f->deps[i].updated = h != NULL && strcmp(h, f->cur) == 0;
		f->deps[i].rolled = f->deps[i].updated && rf_rolled_out(dep);
		pending += !f->deps[i].rolled;
		json_free(&dep);
	}
	req = gwctl_ann(gw, GWCTL_ANN_ROTATE);
	handled = json_str(json_path(cgs, "status", "tunnel", "token",
	    "rotation", NULL), "lastHandledRotateAt");
	if (pending == 0 && (req == NULL || (handled != NULL &&
	    strcmp(req, handled) == 0))) {
		printf("No ongoing token rotation for Gateway %s/%s: all %zu "
		    "Deployment(s) are up to date\n", g->ns, g->name,
		    f->ndeps);
		return GWCTL_SKIP;
	}
	if (gwctl_suspended(gw)) {
		fprintf(stderr, "cfgwctl %s: Gateway %s/%s is suspended with "
		    "%zu/%zu Deployment(s) pending update; use 'cfgwctl resume "
		    "gateway %s -n %s' first\n", g->cmd, g->ns, g->name,
		    pending, f->ndeps, g->name, g->ns);
		return GWCTL_FAIL;
	}
	if (pending == 0) {	/* requested, not yet rotated */
		memcpy(f->old, f->cur, sizeof(f->old));
		f->cur[0] = '\0';
		pending = f->ndeps;
	}
	printf("Ongoing token rotation for Gateway %s/%s: %zu/%zu "
	    "Deployment(s) pending update\n", g->ns, g->name, pending,
	    f->ndeps);
	return GWCTL_OK;
}

int
cmd_watch(int argc, char *argv[])
{
	struct gwctl	 g;
	struct rf	*f = NULL;
	yajl_val	 gw = NULL, cgs = NULL;
	int		 rc;

	memset(&g, 0, sizeof(g));
	g.cmd = "watch";
	g.timeout_ms = WATCH_TIMEOUT_MS;
	if ((rc = gwctl_args(&g, argc, argv, GWCTL_F_TIMEOUT | GWCTL_F_TOKEN,
	    watch_usage)) >= 0)
		return rc;
	if (gwctl_open(&g) != GWCTL_OK)
		return GWCTL_FAIL;
	rc = GWCTL_FAIL;
	if ((gw = gwctl_gateway(&g)) == NULL)
		goto out;
	if (gwctl_get(&g, "CloudflareGatewayStatus", g.name, &cgs) == 0)
		fprintf(stderr, "cfgwctl watch: Gateway %s/%s has no "
		    "CloudflareGatewayStatus: the controller has not "
		    "reconciled it yet\n", g.ns, g.name);
	if (cgs == NULL || (f = calloc(1, sizeof(*f))) == NULL)
		goto out;
	f->g = &g;
	f->start = gwctl_mono_ms();
	if ((rc = watch_attach(&g, f, gw, cgs)) == GWCTL_OK) {
		fflush(stdout);
		rc = rf_run(f);
	}
out:
	free(f);
	json_free(&gw);
	json_free(&cgs);
	gwctl_close(&g);
	return rc == GWCTL_SKIP ? GWCTL_OK : rc;
}
