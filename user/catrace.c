/* catrace: trace EPICS Channel Access traffic, naming the PV behind every
 * message.  This file: the subcommands, the command line, then one run
 * (run_live.c or run_offline.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_cmd.h"
#include "fields_out.h"
#include "runtime.h"
#include "stats_cmd.h"

/* `catrace fields [--json]`: every field -V and --json=fields print, with
 * its type, length, range and dictionary, from the dissector's tables. */
static int fields_main(int argc, char **argv)
{
	struct sbuf sb;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "catrace fields: unknown argument '%s' (usage: catrace fields [--json])\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	sbuf_init(&sb);
	fields_describe_json(&sb);
	if (sb.oom || fwrite(sbuf_str(&sb), 1, sb.len, stdout) != sb.len || fflush(stdout)) {
		fprintf(stderr, "catrace fields: cannot write the description\n");
		rc = 1;
	}
	sbuf_free(&sb);
	return rc;
}

int main(int argc, char **argv)
{
	static struct pipeline pl;
	struct opts o;
	int rc;
	bool top = false;

	if (argc > 1 && strcmp(argv[1], "stats") == 0)
		return stats_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "build") == 0)
		return build_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "fields") == 0)
		return fields_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "top") == 0) {
		top = true;
		argc--;
		argv++;
	}
	/* A closed pipe (catrace ... | head) is a clean stop, not a death by
	 * signal: the write fails with EPIPE, the run ends, the programs are
	 * detached and the exit code is 0. */
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	pipeline_init(&pl, stdout);
	parse_args(argc, argv, &pl, &o);
	o.top = top;
	if (o.top_only_opt && !o.top) {
		fprintf(stderr, "catrace: --once, --sort and --rows belong to `catrace top`\n");
		return EXIT_USAGE;
	}
	/* At once: a SIGUSR1 that comes while a capture is opened or the
	 * programs attached must not end us (it asks for a status line). */
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_summary_signal;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
	}

	if (o.live.n_ifaces && o.read_file) {
		fprintf(stderr, "catrace: -i and -r exclude each other\n");
		rc = EXIT_USAGE;
	} else if ((o.met.listen || o.met.pin_dir) && !o.live.n_ifaces) {
		fprintf(stderr, "catrace: %s works with a live trace: give -i IFACE%s\n",
			o.met.listen ? "--metrics" : "--pin",
			o.met.listen ? " (with -r, use --metrics-file)" : "");
		rc = EXIT_USAGE;
	} else if (o.live.n_ifaces) {
		rc = run_live(&pl, &o);
	} else if (!o.read_file) {
		fprintf(stderr, "catrace: nothing to read: give -i IFACE or -r FILE (catrace --help for usage)\n");
		rc = EXIT_USAGE;
	} else {
		rc = run_offline(&pl, &o);
	}
	pipeline_free(&pl);
	free(o.filter);
	while (pl.n_cmds)
		free((char *)pl.cmds[--pl.n_cmds]);
	return rc;
}
