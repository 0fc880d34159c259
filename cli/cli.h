/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_CLI_H
#define CFGW_CLI_H

#include <stdio.h>

/*
 * cfgwctl subcommands.  Each lives in its own file (cli/<name>.c) and is
 * listed once in the command table of cli/cfgwctl.c.  A command returns
 * the process exit status: 0 ok, 1 failure, 2 usage error.
 */

struct cli_cmd {
	const char	*name;
	int		(*run)(int argc, char *argv[]);
	const char	*summary;
};

int	 cmd_plan(int, char *[]);
int	 cmd_reconcile(int, char *[]);	/* reconcile.c */
int	 cmd_resume(int, char *[]);	/* suspend.c */
int	 cmd_rotate(int, char *[]);	/* rotate.c */
int	 cmd_status(int, char *[]);
int	 cmd_suspend(int, char *[]);	/* suspend.c */
int	 cmd_version(int, char *[]);
int	 cmd_watch(int, char *[]);	/* watch.c */

/* kubecli.c: flags shared by the commands that talk to a cluster. */
struct kube;
struct cli_kube_flags {
	const char	*kubeconfig;	/* --kubeconfig */
	const char	*context;	/* --context */
	const char	*ns;		/* -n, --namespace */
	int		 verbose;	/* -v */
};

struct kube	*cli_kube_open(const struct cli_kube_flags *);
struct manifest_set;
int		 plan_load_cluster(struct manifest_set *,
		    const struct cli_kube_flags *);
const char	*cli_kube_ns(struct kube *, const struct cli_kube_flags *);

/* util.c */
int	 cli_json_pretty(FILE *, const char *json, size_t len);
void	 cli_usage_error(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
