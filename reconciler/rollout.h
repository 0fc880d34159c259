/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_RECONCILER_ROLLOUT_H
#define CFGW_RECONCILER_ROLLOUT_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

/*
 * The tunnel replicas of a Gateway: CloudflareGatewayParameters
 * spec.tunnel.replicas, or one "primary" when absent ([] means none).
 * rollout_replica returns the i-th replica object (NULL for the default).
 */
size_t		 rollout_replica_count(yajl_val cgp);
const char	*rollout_replica_name(yajl_val cgp, size_t i);
yajl_val	 rollout_replica(yajl_val cgp, size_t i);

/*
 * 1 if the Deployment runs the pod template with token hash `hash` on
 * every replica: observedGeneration >= generation, updated >= desired,
 * total <= updated, ready >= updated (ready, not available, so that
 * minReadySeconds does not hold Ready back).  *deadline is set when the
 * Deployment reports Progressing=False (progress deadline exceeded).
 */
int		 rollout_done(yajl_val dep, const char *hash, int *deadline);

#endif
