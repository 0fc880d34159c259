/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_KUBECONFIG_H
#define CFGW_KUBECONFIG_H

#include <stddef.h>

/*
 * Kubernetes client configuration: a kubeconfig file (or a colon-separated
 * list of them, merged the kubectl way: the first file that sets a map key
 * wins), or the in-cluster service account.  Relative file paths inside a
 * kubeconfig are relative to that file's directory.  *-data fields are
 * base64-decoded into memory and handed to curl as blobs.
 */

struct kubeconfig {
	char	*server;		/* "https://h:p", no trailing / */
	char	*tls_server_name;
	int	 insecure;		/* insecure-skip-tls-verify */
	char	*ca_file;
	char	*ca_data;		/* decoded PEM */
	size_t	 ca_len;
	char	*cert_file;
	char	*cert_data;
	size_t	 cert_len;
	char	*key_file;
	char	*key_data;		/* wiped on clear */
	size_t	 key_len;
	char	*token;			/* wiped on clear */
	char	*token_file;		/* re-read when it changes */
	char	*username;
	char	*password;		/* wiped on clear */
	char	*namespace;		/* of the context or the SA */
	char	*source;		/* file(s), for messages */
	int	 in_cluster;
};

/* One file or a colon-separated list; context NULL/"" = current-context. */
int	 kubeconfig_load(struct kubeconfig *, const char *paths,
	    const char *context, char *err, size_t errsz);
/* In-cluster: $KUBERNETES_SERVICE_HOST/PORT, SA dir ($CFGW_SA_DIR). */
int	 kubeconfig_in_cluster(struct kubeconfig *, char *err, size_t errsz);
/* The whole chain: explicit path, $KUBECONFIG, ~/.kube/config, cluster. */
int	 kubeconfig_resolve(struct kubeconfig *, const char *path,
	    const char *context, char *err, size_t errsz);
void	 kubeconfig_clear(struct kubeconfig *);
/* Base64 (standard alphabet, padding optional, whitespace skipped). */
int	 kubeconfig_b64decode(const char *in, char **out, size_t *outlen);

#endif
