/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubecli: what every cluster-facing cfgwctl command shares: the
 * --kubeconfig / --context / -n flags and opening the Kubernetes client
 * (lib/kube.h: --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else
 * in-cluster).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "http.h"
#include "kube.h"
#include "log.h"

struct kube *
cli_kube_open(const struct cli_kube_flags *f)
{
	struct kube_opts	 o;
	struct kube		*k;
	char			 ua[128];

	(void)log_init("cfgwctl", NULL, LOG_FORMAT_TEXT, f->verbose);
	if (http_global_init() == -1)
		return NULL;
	http_user_agent(ua, sizeof(ua), "cfgwctl");
	memset(&o, 0, sizeof(o));
	o.kubeconfig = f->kubeconfig;
	o.context = f->context;
	o.user_agent = ua;
	o.max_retries = 2;
	if ((k = kube_new(&o)) == NULL)
		fprintf(stderr, "cfgwctl: cannot configure the Kubernetes "
		    "client (kubeconfig or in-cluster)\n");
	return k;
}

/* -n, else the kubeconfig context's namespace, else "default". */
const char *
cli_kube_ns(struct kube *k, const struct cli_kube_flags *f)
{
	const char	*ns;

	if (f->ns != NULL && *f->ns != '\0')
		return f->ns;
	ns = kube_namespace(k);
	return ns != NULL && *ns != '\0' ? ns : "default";
}
