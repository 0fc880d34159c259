/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfgwctl: the operator's command line.  This file only dispatches to the
 * subcommands (one file each in cli/); commands that talk to a cluster
 * are added to the table below as they are written.  cfgwctl never holds
 * a Cloudflare credential.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cli_cmd cmds[] = {
	{ "plan", cmd_plan, "compile manifests offline: route table, "
	    "tunnel ingress, DNS, status" },
	{ "reconcile", cmd_reconcile, "reconcile a Gateway now and wait "
	    "for it (cluster)" },
	{ "resume", cmd_resume, "resume a suspended Gateway (cluster)" },
	{ "rotate", cmd_rotate, "rotate a Gateway's tunnel token "
	    "(cluster)" },
	{ "status", cmd_status, "show a Gateway's status, tunnel and routes "
	    "(cluster)" },
	{ "suspend", cmd_suspend, "stop reconciling a Gateway (cluster)" },
	{ "version", cmd_version, "print the version" },
	{ "watch", cmd_watch, "follow a token rotation under way "
	    "(cluster)" },
	{ NULL, NULL, NULL }
};

static void
usage(FILE *f)
{
	const struct cli_cmd	*c;

	fprintf(f, "usage: cfgwctl <command> [options]\n\ncommands:\n");
	for (c = cmds; c->name != NULL; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\nRun 'cfgwctl <command> --help' for a command's "
	    "options.\n");
}

int
cmd_version(int argc, char *argv[])
{
	(void)argv;
	if (argc > 1) {
		cli_usage_error("version", "takes no arguments");
		return 2;
	}
	printf("cfgwctl version %s\n", CFGW_VERSION);
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct cli_cmd	*c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	for (c = cmds; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "cfgwctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
