/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan_cluster: `cfgwctl plan --from-cluster` reads the objects the route
 * compiler needs from the cluster (read-only lists), so manifests given
 * with -f are planned against the live state: a manifest object replaces
 * the cluster object of the same kind, namespace and name.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kube.h"
#include "manifest.h"

static const char *plan_cluster_kinds[] = {
	"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant",
	"Service", "Namespace", NULL
};

/* List one kind in all namespaces; kinds the server lacks are skipped. */
static int
plan_cluster_kind(struct kube *k, struct manifest_set *set, const char *kind)
{
	const struct kube_res	*res = kube_res_lookup(kind);
	struct kube_resp	 resp;
	char			 name[64], err[512];
	int			 rc = 0;

	memset(&resp, 0, sizeof(resp));
	if (res == NULL)
		return 0;
	if (kube_list(k, res, NULL, NULL, &resp) == -1) {
		if (resp.status != 404) {
			fprintf(stderr, "cfgwctl plan: list %s: %ld %s\n",
			    kind, resp.status, resp.message);
			rc = -1;
		}
		kube_resp_free(&resp);
		return rc;
	}
	snprintf(name, sizeof(name), "cluster:%s", kind);
	if (resp.body == NULL || manifest_load_buf(set, name, resp.body,
	    resp.len, err, sizeof(err)) == -1) {
		fprintf(stderr, "cfgwctl plan: %s\n", resp.body == NULL ?
		    "empty list" : err);
		rc = -1;
	}
	kube_resp_free(&resp);
	return rc;
}

/* Items of a List have no kind/apiVersion: give them the listed ones. */
static int
plan_cluster_fill(struct manifest_set *set, size_t first, const char *kind)
{
	const struct kube_res	*res = kube_res_lookup(kind);
	struct manifest_doc	*d;
	char			 av[128];
	size_t			 i;

	snprintf(av, sizeof(av), "%s%s%s", res->group, res->group[0] ? "/" :
	    "", res->version);
	for (i = first; i < set->n; i++) {
		d = &set->docs[i];
		if (d->kind[0] == '\0' && (manifest_obj_set(d->obj, "kind",
		    kind) == -1 || manifest_obj_set(d->obj, "apiVersion",
		    av) == -1))
			return -1;
		manifest_doc_refresh(d);
	}
	return 0;
}

int
plan_load_cluster(struct manifest_set *set, const struct cli_kube_flags *f)
{
	struct kube	*k;
	size_t		 i, first;
	int		 rc = 0;

	if ((k = cli_kube_open(f)) == NULL)
		return -1;
	for (i = 0; rc == 0 && plan_cluster_kinds[i] != NULL; i++) {
		first = set->n;
		rc = plan_cluster_kind(k, set, plan_cluster_kinds[i]);
		if (rc == 0 && plan_cluster_fill(set, first,
		    plan_cluster_kinds[i]) == -1)
			rc = -1;
	}
	kube_free(&k);
	return rc;
}
