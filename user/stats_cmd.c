/* stats_cmd: `catrace stats`; see stats_cmd.h. */
#include "stats_cmd.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ca_decode.h"
#include "kstats.h"
#include "learned_live.h"
#include "metrics.h"
#include "pins.h"
#include "sbuf.h"

static const char stats_usage[] =
"Usage: catrace stats [--pin DIR] [--prom]\n"
"\n"
"Print the kernel counters of a running catrace that pinned its maps with\n"
"--pin DIR (default " PINS_DEFAULT_DIR "): a short table, or with --prom\n"
"the Prometheus exposition. Pins live in the bpffs of the mount namespace\n"
"that made them: for a catrace started under `ip netns exec`, read them\n"
"from the same (`ip netns exec NS catrace stats`), or start it with\n"
"`nsenter --net=/run/netns/NS` so that they land in the host's bpffs.\n";

/* The counters for a person: totals, then the commands seen, one a line. */
static void render_table(struct sbuf *sb, const struct catrace_meta *meta, const char *dir,
			 const struct ca_counters *k, long learned)
{
	unsigned c;

	sbuf_printf(sb, "catrace pid %u on %s (pins in %s)\n", meta->pid, meta->ifaces, dir);
	sbuf_printf(sb, "packets seen %llu, CA %llu; CA messages dropped %llu "
		    "(records refused by the full ring buffer %llu)\n",
		    (unsigned long long)k->pkts_seen, (unsigned long long)k->pkts_ca,
		    (unsigned long long)k->msgs_dropped, (unsigned long long)k->ringbuf_drops);
	sbuf_printf(sb, "parse errors %llu, resynchronisations %llu, retransmissions %llu, "
		    "gaps %llu, learned endpoints %ld\n",
		    (unsigned long long)k->parse_errors, (unsigned long long)k->resyncs,
		    (unsigned long long)k->retransmits, (unsigned long long)k->gaps,
		    learned > 0 ? learned : 0);
	sbuf_printf(sb, "not decoded: IPv4 length past the frame %llu, fragments %llu, "
		    "wrong TCP checksum %llu\n",
		    (unsigned long long)k->ip_len_short, (unsigned long long)k->ca_fragments,
		    (unsigned long long)k->bad_checksum);
	if (k->learned_admitted || k->learned_refused || k->learned_expired)
		sbuf_printf(sb, "learned servers' flows: %llu admitted (opened like CA), "
			    "%llu refused (not CA); %llu servers expired unconfirmed\n",
			    (unsigned long long)k->learned_admitted,
			    (unsigned long long)k->learned_refused,
			    (unsigned long long)k->learned_expired);
	sbuf_printf(sb, "%-18s %12s %12s\n", "command", "requests", "responses");
	for (c = 0; c < CNT_CMDS; c++) {
		const char *name = c <= CA_PROTO_LAST_CMD ? ca_cmd_const_name(c) : NULL;

		if (!k->msgs[c][0] && !k->msgs[c][1])
			continue;
		if (name)
			sbuf_printf(sb, "%-18s", name);
		else
			sbuf_printf(sb, "%-18s", c == CNT_CMDS - 1 ? "(other)" : "(unknown)");
		sbuf_printf(sb, " %12llu %12llu\n", (unsigned long long)k->msgs[c][0],
			    (unsigned long long)k->msgs[c][1]);
	}
}

int stats_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin", required_argument, NULL, 'p' },
		{ "prom", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = PINS_DEFAULT_DIR;
	struct pinned_fds fds;
	struct catrace_meta meta;
	struct metrics_input in;
	struct learned_count ls;
	struct ca_counters k;
	struct sbuf sb;
	char err[8300];
	bool prom = false;
	long a, b;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			dir = optarg;
			break;
		case 'P':
			prom = true;
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
	if (learned_live_count(fds.servers, &ls) == 0) {
		in.learned_servers = ls.known;
		in.learned_confirmed = ls.confirmed;
	}
	sbuf_init(&sb);
	if (prom)
		metrics_render(&sb, &in);
	else
		render_table(&sb, &meta, dir, &k, (a > 0 ? a : 0) + (b > 0 ? b : 0));
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
