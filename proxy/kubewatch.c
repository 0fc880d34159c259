/* SPDX-License-Identifier: Apache-2.0 */
/* kubewatch: --routes-configmap (not yet implemented). */
#include "log.h"
#include "proxy.h"

int
kube_watch_start(const char *ref, const char *kubeconfig)
{
	(void)kubeconfig;
	log_warnx("--routes-configmap %s: not implemented yet", ref);
	return -1;
}
