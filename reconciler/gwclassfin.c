/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gwclassfin: the Gateway API's "gateway exists" finalizer on
 * GatewayClasses, as the reference sets it.  A Gateway of our class puts
 * gateway-exists-finalizer.gateway.networking.k8s.io/<gw>.<ns> on its
 * class (after taking it off any other class, for a changed
 * gatewayClassName) so the class cannot go while the Gateway exists; its
 * finalization takes the entry off every class.
 */
#include <stdio.h>
#include <string.h>

#include "gwjob.h"
#include "json.h"
#include "log.h"
#include "reconciler.h"
#include "store.h"

#define GWCF_PREFIX	"gateway-exists-finalizer.gateway.networking.k8s.io/"

static int
gwcf_name(char *buf, size_t sz, const struct gw_job *j)
{
	int	 n;

	n = snprintf(buf, sz, "%s%s.%s", GWCF_PREFIX, j->name, j->ns);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

static int
gwcf_write(struct rec *r, struct gw_job *j, yajl_val gc, const char *cls,
    const char *fin, int add)
{
	char	 err[512];

	if (kio_finalizer(r, "GatewayClass", NULL, cls, gc, fin, add, err,
	    sizeof(err)) == 0) {
		log_debug("Gateway %s/%s: GatewayClass %s finalizer %s",
		    j->ns, j->name, cls, add ? "added" : "removed");
		return 0;
	}
	log_warnx("Gateway %s/%s: GatewayClass %s: %s finalizer %s: %s",
	    j->ns, j->name, cls, add ? "add" : "remove", fin, err);
	return -1;
}

/* Take our entry off every class but keep (NULL: all); -1 if one failed. */
static int
gwcf_remove_others(struct rec *r, struct gw_job *j, const char *fin,
    const char *keep)
{
	yajl_val	 gc;
	const char	*ns, *name;
	size_t		 i, n = store_count(r->store, "GatewayClass");
	int		 rc = 0;

	for (i = 0; i < n; i++) {
		if (store_key_at(r->store, "GatewayClass", i, &ns, &name) ==
		    -1 || (keep != NULL && strcmp(name, keep) == 0))
			continue;
		gc = store_at(r->store, "GatewayClass", i);
		if (kio_has_finalizer(gc, fin) &&
		    gwcf_write(r, j, gc, name, fin, 0) == -1)
			rc = -1;
	}
	return rc;
}

int
gwclassfin_ensure(struct rec *r, struct gw_job *j, const char *cls)
{
	yajl_val	 gc;
	char		 fin[2 * GW_NAME_MAX + sizeof(GWCF_PREFIX) + 2];
	int		 rc = 0;

	if (cls == NULL || gwcf_name(fin, sizeof(fin), j) == -1)
		return -1;
	if (gwcf_remove_others(r, j, fin, cls) == -1)
		rc = -1;
	if ((gc = store_get(r->store, "GatewayClass", NULL, cls)) == NULL)
		return rc;
	/* No finalizer can be added to an object being deleted. */
	if (gatewayclass_ours(gc) && !kio_has_finalizer(gc, fin) &&
	    json_path(gc, "metadata", "deletionTimestamp", NULL) == NULL &&
	    gwcf_write(r, j, gc, cls, fin, 1) == -1)
		rc = -1;
	return rc;
}

int
gwclassfin_release(struct rec *r, struct gw_job *j)
{
	char	 fin[2 * GW_NAME_MAX + sizeof(GWCF_PREFIX) + 2];

	if (gwcf_name(fin, sizeof(fin), j) == -1)
		return -1;
	return gwcf_remove_others(r, j, fin, NULL);
}
