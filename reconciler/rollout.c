/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rollout: pure helpers over the tunnel replicas a Gateway wants and the
 * state of their Deployments (no I/O; unit tested).
 */
#include <string.h>

#include "json.h"
#include "owned.h"
#include "rollout.h"

size_t
rollout_replica_count(yajl_val cgp)
{
	yajl_val	 reps = json_path(cgp, "spec", "tunnel", "replicas",
			    NULL);

	if (reps == NULL || !YAJL_IS_ARRAY(reps))
		return 1;
	return json_len(reps);
}

yajl_val
rollout_replica(yajl_val cgp, size_t i)
{
	yajl_val	 reps = json_path(cgp, "spec", "tunnel", "replicas",
			    NULL);

	if (reps == NULL || !YAJL_IS_ARRAY(reps))
		return NULL;
	return json_at(reps, i);
}

const char *
rollout_replica_name(yajl_val cgp, size_t i)
{
	yajl_val	 reps = json_path(cgp, "spec", "tunnel", "replicas",
			    NULL);

	if (reps == NULL || !YAJL_IS_ARRAY(reps))
		return i == 0 ? OWNED_DEFAULT_REPLICA : NULL;
	return json_str(json_at(reps, i), "name");
}

/*
 * Rolled out: the pod template carries the current token hash and the
 * Deployment's status has caught up (ready, not available, so that
 * minReadySeconds does not hold Ready back), as in the reference.
 */
int
rollout_done(yajl_val dep, const char *hash, int *deadline)
{
	yajl_val	 st = json_get(dep, "status"), c;
	const char	*h;
	long long	 gen = 0, og = -1, want = 1, upd = 0, tot = 0, rdy = 0;
	size_t		 i;

	*deadline = 0;
	c = json_get(st, "conditions");
	for (i = 0; i < json_len(c); i++) {
		const char *t = json_str(json_at(c, i), "type");
		const char *s = json_str(json_at(c, i), "status");

		if (t != NULL && s != NULL && !strcmp(t, "Progressing") &&
		    !strcmp(s, "False"))
			*deadline = 1;
	}
	h = json_str(json_path(dep, "spec", "template", "metadata",
	    "annotations", NULL), OWNED_ANN_TOKEN_HASH);
	(void)json_int(json_get(dep, "metadata"), "generation", &gen);
	(void)json_int(st, "observedGeneration", &og);
	(void)json_int(json_get(dep, "spec"), "replicas", &want);
	(void)json_int(st, "updatedReplicas", &upd);
	(void)json_int(st, "replicas", &tot);
	(void)json_int(st, "readyReplicas", &rdy);
	return h != NULL && hash != NULL && strcmp(h, hash) == 0 &&
	    og >= gen && upd >= want && tot <= upd && rdy >= upd;
}

