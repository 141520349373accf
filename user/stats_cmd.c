/* stats_cmd: `catrace stats`; see stats_cmd.h. */
#include "stats_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kstats.h"
#include "metrics.h"
#include "pins.h"
#include "sbuf.h"

static const char stats_usage[] =
"Usage: catrace stats [--pin DIR]\n"
"\n"
"Print the Prometheus exposition of the kernel counters of a running\n"
"catrace that pinned its maps with --pin DIR (default " PINS_DEFAULT_DIR ").\n";

int stats_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = PINS_DEFAULT_DIR;
	struct pinned_fds fds;
	struct catrace_meta meta;
	struct metrics_input in;
	struct ca_counters k;
	struct sbuf sb;
	char err[8300];
	long a, b;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			dir = optarg;
			break;
		case 'h':
			fputs(stats_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "catrace stats: %s needs an argument\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "catrace stats: unknown option '%s' (catrace stats --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "catrace stats: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (pins_open(dir, &fds, &meta, err, sizeof(err))) {
		fprintf(stderr, "catrace stats: %s\n", err);
		return 1;
	}
	if (kstats_counters(fds.counters, &k)) {
		fprintf(stderr, "catrace stats: reading %s/counters failed\n", dir);
		pins_close(&fds);
		return 1;
	}
	a = kstats_count_entries(fds.servers);
	b = kstats_count_entries(fds.rep_clients);
	meta.ifaces[sizeof(meta.ifaces) - 1] = 0;
	memset(&in, 0, sizeof(in));
	in.iface = meta.ifaces;
	in.kernel = &k;
	in.live = true;
	in.learned_endpoints = (uint64_t)(a > 0 ? a : 0) + (uint64_t)(b > 0 ? b : 0);
	sbuf_init(&sb);
	metrics_render(&sb, &in);
	pins_close(&fds);
	if (sb.oom) {
		fprintf(stderr, "catrace stats: out of memory\n");
		sbuf_free(&sb);
		return 1;
	}
	fwrite(sbuf_str(&sb), 1, sb.len, stdout);
	sbuf_free(&sb);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "catrace stats: error writing output\n");
		return 1;
	}
	return 0;
}
