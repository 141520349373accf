/* catrace: trace EPICS Channel Access traffic, naming the PV behind every
 * message.  This file: command line, then hand over to a source. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_rules.h"
#include "gso_split.h"
#include "live_filter.h"
#include "loader.h"
#include "metrics_service.h"
#include "pcap_writer.h"
#include "pipeline.h"
#include "pkt.h"
#include "privs.h"
#include "record.h"
#include "reorder.h"
#include "report.h"
#include "top.h"
#include "ringbuf_source.h"
#include "stats_cmd.h"
#include "version.h"

#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
/* stdout buffer when it is not a terminal: a write() costs about 1.3 us
 * on the test VM, one per 4 KiB (stdio's default) was a fifth of
 * catrace -r's time. */
#define OUT_BUF_BYTES (1u << 20)
static char out_buf[OUT_BUF_BYTES];  /* glibc ignores the size without one */

static const char usage_text[] =
"Usage: catrace -i IFACE [options] [filter expression]   trace live\n"
"       catrace -r FILE [options] [filter expression]\n"
"\n"
"Decode EPICS Channel Access traffic, one line per CA message, with the PV\n"
"name it concerns.\n"
"\n"
"Input:\n"
"  -i IFACE             trace this interface live (repeatable); needs root\n"
"                       (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON)\n"
"  --no-xdp             tc on ingress instead of XDP\n"
"  --xdp-mode MODE      native, generic or auto (default: native, else generic)\n"
"  --value-bytes N      value bytes the kernel copies per message (default: what\n"
"                       the shown elements need, at least 1024; at most 65536);\n"
"                       a value cut shorter says so\n"
"  --headers-only       copy no value bytes (PV names still come)\n"
"  -B KIB               ring buffer size in KiB (default 8192)\n"
"  -v                   libbpf messages and the verifier log; with -r, the\n"
"                       table-bound counters even when nothing was evicted\n"
"  -Z USER              once attached (and -w's file created), run as USER\n"
"                       (like tcpdump -Z); with -r, once the file is open\n"
"  -w FILE              write every CA packet to a pcap file ('-': stdout);\n"
"                       quiet unless --print\n"
"  -s SNAPLEN           bytes of each packet to keep (default and 0: 262144)\n"
"  -U                   flush the file after every packet\n"
"  --print              print decoded lines while writing\n"
"  -C MB                start a new file when this one would exceed MB\n"
"  -G SECONDS           start a new file every SECONDS (FILE is a strftime\n"
"                       template)\n"
"  -W N                 with -C: a ring of N files; with -G: stop after N files\n"
"  -r FILE              read a pcap/pcapng capture; '-' reads standard input\n"
"  --server-port N      CA server port (default 5064, or EPICS_CA_SERVER_PORT)\n"
"  --repeater-port N    CA repeater port (default 5065, or EPICS_CA_REPEATER_PORT)\n"
"  --port N             also treat port N as a CA server port (repeatable)\n"
"  --no-detect          do not recognise circuits on other ports by content\n"
"  filter expression    tcpdump syntax (e.g. 'host 10.1.2.3'), applied first\n"
"\n"
"Output:\n"
"  --json               JSON lines, one object per message\n"
"  --format TEMPLATE    custom lines: {timestamp} {src} {sport} {dst} {dport}\n"
"                       {proto} {frame} {command} {cmd} {pv} {size} {dtype}\n"
"                       {count} {p1} {p2}\n"
"  -t                   no time stamp; -tt epoch (default); -ttt delta;\n"
"                       -tttt UTC date; -ttttt since the first message\n"
"  --nano               nanosecond time stamps in text\n"
"  --max-elements N     array elements to print (default 10, 0: all)\n"
"  --writes             write audit: only WRITE, WRITE_NOTIFY (and their\n"
"                       replies) and ACCESS_RIGHTS, each with the client's\n"
"                       user and host names, PV, value and status\n"
"  --no-proc            live: do not name the local process that owns each\n"
"                       CA socket (proc=softIoc[1234])\n"
"  -q                   no summary on standard error (with --metrics,\n"
"                       --metrics-file or --summary: no message lines either)\n"
"\n"
"Metrics (Prometheus text format):\n"
"  --metrics ADDR:PORT  serve /metrics over HTTP while tracing (PORT alone:\n"
"                       on 127.0.0.1)\n"
"  --metrics-file PATH  write the metrics to PATH (a temporary file renamed)\n"
"                       every --interval seconds and at exit; with -r, once\n"
"  --interval S         seconds between metrics files (default 15)\n"
"  --pv-metrics-limit N PVs with their own search counters (default 100)\n"
"  --pin DIR            pin the counter maps under DIR (bpffs, e.g.\n"
"                       /sys/fs/bpf/catrace) for `catrace stats --pin DIR`\n"
"  catrace stats [--pin DIR]  print a running catrace's kernel counters\n"
"\n"
"Reports:\n"
"  --summary            at exit and on SIGUSR1, on stderr: the most searched\n"
"                       PVs with their rate and hosts, PVs never answered,\n"
"                       the clients that search most\n"
"  --summary-top N      entries per list (default 10)\n"
"  --summary-sigma S    only those above the mean + S standard deviations\n"
"  --summary-hz H       only those above H searches per second\n"
"  --events             a line for each beacon event: a server appeared,\n"
"                       restarted, resumed after a gap, missed beacons\n"
"\n"
"Top (catrace top -i IFACE | -r FILE [options]):\n"
"  a full-screen view, refreshed every second, of the busiest PVs, clients\n"
"  and servers, and unanswered searches; keys: q quit, m u r w s sort by\n"
"  messages, updates, reads, writes, searches\n"
"  --once               print one snapshot instead (live: after --interval\n"
"                       seconds, default 1)\n"
"  --sort KEY           messages, updates, reads, writes or searches\n"
"  --rows N             lines per table (default 10)\n"
"\n"
"Filters:\n"
"  --pv GLOB            only messages about matching PVs (repeatable)\n"
"  --cmd LIST           only these commands: names (ReadNotify,\n"
"                       SearchRequest, READ_NOTIFY) or codes, comma-separated\n"
"  -c COUNT             stop after COUNT messages\n"
"\n"
"  -h, --help           this text;  -V, --version   the version\n"
"\n"
"Examples:\n"
"  catrace -i eth0\n"
"  catrace -i eth0 --pv 'LINAC:*' --json\n"
"  catrace -r ioc.pcap\n"
"  catrace -r ioc.pcap --pv 'LINAC:*' --cmd WriteNotify,Write\n"
"  tcpdump -U -w - -i eth0 port 5064 | catrace -r -\n"
"  catrace -r ioc.pcap --json host 10.0.0.5 | jq .pv\n"
"  catrace -i eth0 -q --metrics 127.0.0.1:9464 --pin /sys/fs/bpf/catrace\n"
"  catrace -i eth0 --writes --pv 'LINAC:*'\n";

enum {
	OPT_JSON = 256, OPT_FORMAT, OPT_NANO, OPT_MAXEL, OPT_SRVPORT, OPT_REPPORT,
	OPT_PORT, OPT_NODETECT, OPT_PV, OPT_CMD, OPT_NOXDP, OPT_XDPMODE,
	OPT_VALUEBYTES, OPT_HEADERSONLY, OPT_PRINT, OPT_METRICS, OPT_METRICS_FILE,
	OPT_INTERVAL, OPT_PIN, OPT_PV_LIMIT, OPT_SUMMARY, OPT_SUMMARY_TOP, OPT_SUMMARY_SIGMA,
	OPT_SUMMARY_HZ, OPT_EVENTS, OPT_ONCE, OPT_SORT, OPT_ROWS,
	OPT_WRITES, OPT_NOPROC,
};

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "nano", no_argument, NULL, OPT_NANO },
	{ "max-elements", required_argument, NULL, OPT_MAXEL },
	{ "server-port", required_argument, NULL, OPT_SRVPORT },
	{ "repeater-port", required_argument, NULL, OPT_REPPORT },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "no-detect", no_argument, NULL, OPT_NODETECT },
	{ "pv", required_argument, NULL, OPT_PV },
	{ "cmd", required_argument, NULL, OPT_CMD },
	{ "no-xdp", no_argument, NULL, OPT_NOXDP },
	{ "xdp-mode", required_argument, NULL, OPT_XDPMODE },
	{ "value-bytes", required_argument, NULL, OPT_VALUEBYTES },
	{ "headers-only", no_argument, NULL, OPT_HEADERSONLY },
	{ "print", no_argument, NULL, OPT_PRINT },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "pin", required_argument, NULL, OPT_PIN },
	{ "pv-metrics-limit", required_argument, NULL, OPT_PV_LIMIT },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "summary-top", required_argument, NULL, OPT_SUMMARY_TOP },
	{ "summary-sigma", required_argument, NULL, OPT_SUMMARY_SIGMA },
	{ "summary-hz", required_argument, NULL, OPT_SUMMARY_HZ },
	{ "events", no_argument, NULL, OPT_EVENTS },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "rows", required_argument, NULL, OPT_ROWS },
	{ "writes", no_argument, NULL, OPT_WRITES },
	{ "no-proc", no_argument, NULL, OPT_NOPROC },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static volatile sig_atomic_t stop_requested;

/* --value-bytes not given: derived from --max-elements. */
#define VALUE_BYTES_AUTO UINT32_MAX

struct opts {
	const char *read_file;
	struct loader_opts live;
	struct pcap_writer_opts wr;   /* -w: wr.path set */
	bool print;
	int tflags;
	/* Given on the command line, for the options that exclude others. */
	bool json_opt, xdp_mode_opt;
	const char *copy_opt;     /* --value-bytes or --headers-only */
	bool quiet;
	bool no_proc;
	char *filter;
	struct metrics_opts met;
	bool summary, events;
	struct summary_opts sum;
	bool top, top_once, top_only_opt;
	enum top_sort top_sort;
	unsigned top_rows;
	struct privs_user *drop_to;  /* -Z */
};

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "catrace: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (catrace --help for usage)\n");
	exit(EXIT_USAGE);
}

/* Every number on the command line goes through here. */
static unsigned long parse_num(const char *s, unsigned long min,
			       unsigned long max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		goto bad;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	return v;
bad:
	fprintf(stderr, "catrace: %s: '%s' is not a number from %lu to %lu\n",
		what, s ? s : "", min, max);
	exit(EXIT_USAGE);
}

static double parse_double(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e12) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s: '%.200s' is not a positive number", what, s);
		die_usage("%s", msg);
	}
	return v;
}

static uint16_t env_port(const char *var, uint16_t dflt)
{
	const char *v = getenv(var);

	if (!v || !*v)
		return dflt;
	return (uint16_t)parse_num(v, 1, 65535, var);
}

static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static void add_cmds(struct pipeline *pl, struct opts *o, const char *list)
{
	char *save = NULL, *tok, *copy = strdup(list);

	(void)o;
	if (!copy)
		exit(1);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!pipeline_cmd_token_valid(tok))
			die_usage("--cmd: unknown command '%s'", tok);
		if (pl->n_cmds >= PIPELINE_MAX_CMDS)
			die_usage("--cmd: too many commands (at '%s')", tok);
		pl->cmds[pl->n_cmds] = strdup(tok);
		if (!pl->cmds[pl->n_cmds++])
			exit(1);
	}
	free(copy);
}

static void parse_args(int argc, char **argv, struct pipeline *pl, struct opts *o)
{
	int c;

	pl->cls.server_port = env_port("EPICS_CA_SERVER_PORT", CA_SERVER_PORT_DEFAULT);
	pl->cls.repeater_port = env_port("EPICS_CA_REPEATER_PORT", CA_REPEATER_PORT_DEFAULT);

	/* '+' stops at the first non-option (the filter expression); ':'
	 * lets us word our own one-line errors. */
	opterr = 0;
	o->live.value_bytes = VALUE_BYTES_AUTO;
	o->met.pv_limit = CENSUS_PV_LIMIT_DEFAULT;
	summary_opts_init(&o->sum);
	o->top_rows = 10;
	o->live.ringbuf_bytes = 8u << 20;
	while ((c = getopt_long(argc, argv, "+:r:i:c:B:w:s:C:G:W:Z:UtqvhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (o->read_file)
				die_usage("-r given twice%s: one capture a run", "");
			o->read_file = optarg;
			break;
		case 'i':
			if (o->live.n_ifaces >= LOADER_MAX_IFACES)
				die_usage("-i: at most 16 interfaces (at '%s')", optarg);
			o->live.ifaces[o->live.n_ifaces++] = optarg;
			break;
		case 'B': {
			/* At least the largest record (a 64 KB packet's). */
			unsigned long kib = parse_num(optarg, 128, 1u << 20, "-B");
			uint32_t bytes = 4096;

			/* The kernel wants a power of two, at least a page. */
			while (bytes < kib * 1024)
				bytes <<= 1;
			o->live.ringbuf_bytes = bytes;
			break;
		}
		case 'v':
			o->live.verbose = true;
			break;
		case 'Z': {
			static struct privs_user zu;
			char err[256];

			/* Looked up now: an unknown user must stop us before
			 * anything is attached. */
			if (!privs_lookup(optarg, &zu, err, sizeof(err))) {
				fprintf(stderr, "catrace: %s\n", err);
				exit(EXIT_USAGE);
			}
			o->drop_to = &zu;
			break;
		}
		case 'w':
			o->wr.path = optarg;
			break;
		case 's':
			o->wr.snaplen = (uint32_t)parse_num(optarg, 0, 262144, "-s");
			break;
		case 'U':
			o->wr.flush_each = true;
			break;
		case 'C':
			o->wr.rotate_bytes = parse_num(optarg, 1, 1000000, "-C") * 1000000ull;
			break;
		case 'G':
			o->wr.rotate_seconds = (uint32_t)parse_num(optarg, 1, 31536000, "-G");
			break;
		case 'W':
			o->wr.max_files = (uint32_t)parse_num(optarg, 1, 100000, "-W");
			break;
		case OPT_PRINT:
			o->print = true;
			break;
		case OPT_METRICS: {
			struct sockaddr_storage ss;
			char err[256];

			if (metrics_parse_listen(optarg, &ss, err, sizeof(err)))
				die_usage("%s", err);
			o->met.listen = optarg;
			break;
		}
		case OPT_SUMMARY:
			o->summary = true;
			break;
		case OPT_SUMMARY_TOP:
			o->sum.top = (unsigned)parse_num(optarg, 1, 1000000, "--summary-top");
			o->summary = true;
			break;
		case OPT_SUMMARY_SIGMA:
			o->sum.sigma = parse_double(optarg, "--summary-sigma");
			o->summary = true;
			break;
		case OPT_SUMMARY_HZ:
			o->sum.hz = parse_double(optarg, "--summary-hz");
			o->summary = true;
			break;
		case OPT_EVENTS:
			o->events = true;
			break;
		case OPT_ONCE:
			o->top_once = o->top_only_opt = true;
			break;
		case OPT_SORT:
			if (!top_parse_sort(optarg, &o->top_sort))
				die_usage("--sort: '%s' is not messages, updates, reads, writes or searches",
					  optarg);
			o->top_only_opt = true;
			break;
		case OPT_ROWS:
			o->top_rows = (unsigned)parse_num(optarg, 1, 10000, "--rows");
			o->top_only_opt = true;
			break;
		case OPT_METRICS_FILE:
			o->met.file = optarg;
			break;
		case OPT_INTERVAL:
			o->met.interval_s = (unsigned)parse_num(optarg, 1, 86400, "--interval");
			break;
		case OPT_PIN:
			o->met.pin_dir = optarg;
			break;
		case OPT_PV_LIMIT:
			o->met.pv_limit = (unsigned)parse_num(optarg, 0, CENSUS_PV_LIMIT_MAX,
							      "--pv-metrics-limit");
			break;
		case OPT_NOXDP:
			o->live.no_xdp = true;
			break;
		case OPT_XDPMODE:
			if (!strcmp(optarg, "native"))
				o->live.xdp_mode = XDP_MODE_NATIVE;
			else if (!strcmp(optarg, "generic"))
				o->live.xdp_mode = XDP_MODE_GENERIC;
			else if (!strcmp(optarg, "auto"))
				o->live.xdp_mode = XDP_MODE_AUTO;
			else
				die_usage("--xdp-mode: '%s' is not native, generic or auto", optarg);
			o->xdp_mode_opt = true;
			break;
		case OPT_VALUEBYTES:
			o->live.value_bytes = (uint32_t)parse_num(optarg, 0, REC_VALUE_BYTES_MAX, "--value-bytes");
			o->copy_opt = "--value-bytes";
			break;
		case OPT_HEADERSONLY:
			o->live.value_bytes = 0;
			o->copy_opt = "--headers-only";
			break;
		case 'c':
			pl->max_count = parse_num(optarg, 1, ULONG_MAX, "-c");
			break;
		case 't':
			o->tflags++;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_JSON:
			pl->out.style = OUT_JSON;
			o->json_opt = true;
			break;
		case OPT_FORMAT: {
			const char *bad = output_check_template(optarg);

			if (bad)
				die_usage("--format: unknown token '%s'", bad);
			pl->out.tmpl = optarg;
			break;
		}
		case OPT_NANO:
			pl->out.nano = true;
			break;
		case OPT_MAXEL:
			pl->out.max_elements = parse_num(optarg, 0, 100000000, "--max-elements");
			break;
		case OPT_SRVPORT:
			pl->cls.server_port = (uint16_t)parse_num(optarg, 1, 65535, "--server-port");
			break;
		case OPT_REPPORT:
			pl->cls.repeater_port = (uint16_t)parse_num(optarg, 1, 65535, "--repeater-port");
			break;
		case OPT_PORT:
			if (!classify_add_port(&pl->cls, (uint16_t)parse_num(optarg, 1, 65535, "--port")))
				die_usage("--port: at most %s ports", "32");
			break;
		case OPT_NODETECT:
			pl->detect_circuits = false;
			break;
		case OPT_PV:
			if (pl->n_pv_globs >= PIPELINE_MAX_PV_GLOBS)
				die_usage("--pv: too many patterns (at '%s')", optarg);
			if (!*optarg)
				die_usage("--pv: an empty pattern matches no PV%s", "");
			pl->pv_globs[pl->n_pv_globs++] = optarg;
			break;
		case OPT_CMD:
			add_cmds(pl, o, optarg);
			break;
		case OPT_WRITES:
			pl->writes = true;
			break;
		case OPT_NOPROC:
			o->no_proc = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("catrace %s (libbpf %u.%u)\n", CATRACE_VERSION,
			       libbpf_major_version(), libbpf_minor_version());
			exit(0);
		case ':':
			die_usage("option '%s' needs a value", argv[optind - 1]);
			break;
		default:
			if (optopt)
				fprintf(stderr, "catrace: unknown option '-%c' (catrace --help for usage)\n", optopt);
			else
				fprintf(stderr, "catrace: unknown option '%s' (catrace --help for usage)\n",
					argv[optind - 1]);
			exit(EXIT_USAGE);
		}
	}
	/* Options that contradict each other: one line, no guessing. */
	if (o->json_opt && pl->out.tmpl)
		die_usage("--json and --format exclude each other%s", "");
	if (o->live.no_xdp && o->xdp_mode_opt)
		die_usage("--no-xdp and --xdp-mode exclude each other%s", "");
	if (o->copy_opt && o->read_file)
		die_usage("%s sets what the kernel copies live: not with -r", o->copy_opt);
	if (o->tflags > 5)
		die_usage("-t: at most five (-ttttt)%s", "");
	switch (o->tflags) {
	case 0:
	case 2: pl->out.ts = TS_EPOCH; break;
	case 1: pl->out.ts = TS_NONE; break;
	case 3: pl->out.ts = TS_DELTA; break;
	case 4: pl->out.ts = TS_DATE; break;
	default: pl->out.ts = TS_SINCE_FIRST; break;
	}
	if (pl->writes && pl->out.tmpl)
		die_usage("--writes and --format exclude each other%s", "");
	/* By default the kernel copies what the elements shown need. */
	if (o->live.value_bytes == VALUE_BYTES_AUTO)
		o->live.value_bytes = ca_rule_value_budget_for(pl->out.max_elements,
							       REC_VALUE_BYTES_DEFAULT,
							       REC_VALUE_BYTES_MAX);
	if (optind < argc) {
		o->filter = join_args(argc - optind, argv + optind);
		if (!o->filter)
			exit(1);
	}
}

static void print_summary(const struct pipeline *pl)
{
	const struct pipeline_stats *s = &pl->st;

	fprintf(stderr,
		"%llu packets read, %llu CA packets, %llu CA messages (%llu printed), "
		"%llu malformed, %llu truncated, %llu resynchronisations\n",
		(unsigned long long)s->packets, (unsigned long long)s->ca_packets,
		(unsigned long long)s->messages, (unsigned long long)s->printed,
		(unsigned long long)s->malformed, (unsigned long long)s->truncated,
		(unsigned long long)pipeline_resyncs(pl));
	if (s->bad_packets || s->bad_headers)
		fprintf(stderr, "broken packets: %llu to or from CA ports (UDP/TCP header), "
			"%llu with a broken Ethernet/VLAN/IPv4 header\n",
			(unsigned long long)s->bad_packets, (unsigned long long)s->bad_headers);
}

/* Flush standard output; on failure remember why and end the run (the
 * loops stop at pl->done). */
static void flush_stdout(struct pipeline *pl)
{
	if (fflush(stdout) != 0 && !pl->out_errno) {
		pl->out_errno = errno ? errno : EIO;
		pl->done = true;
	}
}

/* At the end: did writing the output fail?  A reader that went away
 * (catrace ... | head) is a clean end, not a failure. */
static bool stdout_failed(struct pipeline *pl)
{
	flush_stdout(pl);
	if (!pl->out_errno && ferror(stdout))
		pl->out_errno = EIO;
	if (!pl->out_errno || pl->out_errno == EPIPE)
		return false;
	fprintf(stderr, "catrace: writing standard output: %s\n", strerror(pl->out_errno));
	return true;
}

/* ---- reports (census) ---- */

static volatile sig_atomic_t summary_requested, flush_requested;
static void on_stop_signal(int sig);

/* SIGUSR1: a status line (and the search summary with --summary). */
static void on_summary_signal(int sig)
{
	(void)sig;
	summary_requested = 1;
}

static void on_flush_signal(int sig)
{
	(void)sig;
	flush_requested = 1;
}

static void print_event(void *ctx, const struct census_event *ev)
{
	struct pipeline *pl = ctx;
	static struct sbuf sb;

	sbuf_reset(&sb);
	report_event(&sb, ev, pl->out.style == OUT_JSON);
	sbuf_putc(&sb, '\n');
	if (!sb.oom)
		fwrite(sbuf_str(&sb), 1, sb.len, pl->fp);
}

static void print_search_summary(const struct pipeline *pl, const struct opts *o)
{
	struct sbuf sb;

	fflush(pl->fp);
	sbuf_init(&sb);
	report_summary(&sb, pl->census, &o->sum);
	if (!sb.oom)
		fwrite(sbuf_str(&sb), 1, sb.len, stderr);
	sbuf_free(&sb);
}

/* Start the census when metrics or reports want one. */
static bool reports_setup(struct pipeline *pl, const struct opts *o)
{
	unsigned cap = 0;

	if (!metrics_wanted(&o->met) && !o->summary && !o->events && !o->top)
		return true;
	if (metrics_wanted(&o->met))
		cap = o->met.pv_limit;
	if ((o->summary || o->top) && cap < CENSUS_PV_CAPACITY_REPORTS)
		cap = CENSUS_PV_CAPACITY_REPORTS;
	if (o->top)
		pl->hook_only = true;
	if (!pipeline_census_start(pl, cap, o->summary || o->top)) {
		fprintf(stderr, "catrace: out of memory\n");
		return false;
	}
	if (o->events) {
		pl->census->on_event = print_event;
		pl->census->event_ctx = pl;
	}
	return true;
}

/* Between packets or polls: what SIGUSR1 asked for. */
static void reports_poll(const struct pipeline *pl, const struct opts *o)
{
	if (summary_requested) {
		summary_requested = 0;
		if (!o->live.n_ifaces)
			fprintf(stderr, "catrace: %llu packets read, %llu CA messages so far\n",
				(unsigned long long)pl->st.packets,
				(unsigned long long)pl->st.messages);
		if (o->summary)
			print_search_summary(pl, o);
	}
}

static void reports_finish(const struct pipeline *pl, const struct opts *o)
{
	if (pl->census)
		census_finish(pl->census);
	if (o->summary)
		print_search_summary(pl, o);
}

static void top_view_init(struct top_view *v, const struct pipeline *pl,
			  const struct opts *o, const char *source)
{
	memset(v, 0, sizeof(*v));
	v->census = pl->census;
	v->messages = pl->st.messages;
	v->sort = o->top_sort;
	v->rows = o->top_rows;
	v->source = source;
}

static void top_print_once(const struct top_view *v)
{
	struct sbuf sb;

	sbuf_init(&sb);
	top_render(&sb, v);
	if (!sb.oom)
		fwrite(sbuf_str(&sb), 1, sb.len, stdout);
	sbuf_free(&sb);
}

/* The capture is read: show the final state until `q` (or a signal). */
static bool top_offline_screen(struct top_view *v)
{
	if (!top_screen_start())
		return false;
	top_screen_tick(v, true);
	while (!stop_requested && top_screen_tick(v, false))
		usleep(100000);
	top_screen_stop();
	return true;
}

static int run_offline(struct pipeline *pl, const struct opts *o)
{
	static struct metrics_service ms;
	char err[PCAP_ERR_LEN];
	bool metrics = metrics_wanted(&o->met);
	struct pcap_source *src;
	struct frame f;
	int lt, r, rc = 0;

	src = pcap_source_open(o->read_file, err, sizeof(err));
	if (!src) {
		fprintf(stderr, "catrace: %s: %s\n",
			strcmp(o->read_file, "-") ? o->read_file : "standard input", err);
		return EXIT_USAGE;
	}
	lt = pcap_source_linktype(src);
	if (!pkt_linktype_supported(lt)) {
		fprintf(stderr, "catrace: %s: unsupported link type %d (%s); "
			"supported: Ethernet, Linux cooked v1/v2, loopback, raw IPv4\n",
			o->read_file, lt, pcap_source_linktype_name(lt));
		pcap_source_close(src);
		return EXIT_USAGE;
	}
	if (o->filter && pcap_source_set_filter(src, o->filter, err, sizeof(err)) < 0) {
		fprintf(stderr, "catrace: filter expression '%s': %s\n", o->filter, err);
		pcap_source_close(src);
		return EXIT_USAGE;
	}
	if (!reports_setup(pl, o)) {
		pcap_source_close(src);
		return 1;
	}
	if (metrics) {
		if (metrics_service_start(&ms, &o->met, pl, NULL, o->read_file, err, sizeof(err))) {
			fprintf(stderr, "catrace: %s\n", err);
			pcap_source_close(src);
			return EXIT_USAGE;
		}
	}
	if (o->quiet && (metrics || o->summary))
		pl->hook_only = true;
	if (o->drop_to && !privs_drop(o->drop_to, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		pcap_source_close(src);
		return 1;
	}
	/* Big output blocks for a file read to its end; a capture streamed
	 * in on standard input keeps stdio's small ones, so lines come out
	 * as packets come in. */
	if (strcmp(o->read_file, "-") && !isatty(STDOUT_FILENO))
		setvbuf(stdout, out_buf, _IOFBF, sizeof(out_buf));
	while (!pl->done && (r = pcap_source_next(src, &f, err, sizeof(err))) == 1) {
		pipeline_frame(pl, lt, &f);
		reports_poll(pl, o);
	}
	if (!pl->done && r < 0) {
		fprintf(stderr, "catrace: %s: after packet %llu: %s\n", o->read_file,
			(unsigned long long)pl->st.packets, err);
		rc = 1;
	}
	pipeline_finish(pl);
	reports_finish(pl, o);
	if (metrics && metrics_service_stop(&ms))
		rc = 1;
	if (o->top) {
		struct top_view v;

		top_view_init(&v, pl, o, o->read_file);
		if (o->top_once) {
			top_print_once(&v);
		} else {
			struct sigaction sa;

			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = on_stop_signal;
			sigaction(SIGINT, &sa, NULL);
			sigaction(SIGTERM, &sa, NULL);
			if (!top_offline_screen(&v))
				rc = EXIT_USAGE;
		}
	} else if (!o->quiet) {
		print_summary(pl);
		pipeline_print_limits(pl, stderr, o->live.verbose);
	}
	pcap_source_close(src);
	if (stdout_failed(pl))
		rc = 1;
	return rc;
}

/* ---- live ---- */

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct live_ctx {
	struct pipeline *pl;
	int64_t mono_to_wall_ns;
	uint64_t records, bad_records;
	struct pcap_writer *w;       /* -w */
	bool write_failed;           /* (or its reader went away: -w -) */
	bool files_done;             /* -W files written: a normal end */
	uint64_t pkt_ts_ns;          /* time stamp of the packet being split */
	struct reorder ro;           /* segment records, put in time order */
	struct live_filter filter;   /* the filter expression, if any */
	uint8_t fixbuf[REC_PKT_MAX]; /* an egress packet being finished */
};

static void write_packet(struct live_ctx *lc, const uint8_t *d, uint32_t caplen,
			 uint32_t wirelen)
{
	char err[512];

	int r;

	if (lc->write_failed || lc->files_done)
		return;
	r = pcap_writer_write(lc->w, lc->pkt_ts_ns, d, caplen, wirelen, err, sizeof(err));
	if (r == PCAP_WRITER_LIMIT) {
		/* -W files written: the normal end, as in tcpdump. */
		fprintf(stderr, "catrace: %s\n", err);
		lc->files_done = true;
		stop_requested = 1;
	} else if (r) {
		/* `-w - | head -c N`: the reader went away, a clean stop. */
		if (!pcap_writer_reader_gone(lc->w))
			fprintf(stderr, "catrace: %s\n", err);
		lc->write_failed = true;
		stop_requested = 1;
	}
}

static void write_segment(void *ctx, const uint8_t *seg, uint32_t len)
{
	write_packet(ctx, seg, len, len);
}

static void decode_record(void *ctx, const void *data, size_t size)
{
	struct live_ctx *lc = ctx;
	static struct rec_info ri;
	enum rec_result r = record_parse(data, size, &ri);

	if (r != REC_OK) {
		if (lc->bad_records++ == 0)
			fprintf(stderr, "catrace: ignoring a bad record: %s\n", record_result_str(r));
		return;
	}
	if (ri.packet) {
		if (!lc->w)
			return;
		lc->pkt_ts_ns = ri.ts_mono_ns + (uint64_t)lc->mono_to_wall_ns;
		/* tc egress may see a GSO packet that the stack cuts into
		 * segments after it: write what goes on the wire. */
		if (ri.gso_size && ri.pkt_caplen == ri.pkt_wirelen &&
		    gso_split(ri.pkt, ri.pkt_caplen, ri.gso_size, write_segment, lc) > 0)
			return;
		if (ri.egress && ri.pkt_caplen == ri.pkt_wirelen &&
		    ri.pkt_caplen <= sizeof(lc->fixbuf)) {
			/* Its transport checksum may still be partial. */
			memcpy(lc->fixbuf, ri.pkt, ri.pkt_caplen);
			l4_csum_finalize(lc->fixbuf, ri.pkt_caplen);
			write_packet(lc, lc->fixbuf, ri.pkt_caplen, ri.pkt_wirelen);
			return;
		}
		write_packet(lc, ri.pkt, ri.pkt_caplen, ri.pkt_wirelen);
		return;
	}
	lc->records++;
	if (!live_filter_match(&lc->filter, &ri))
		return;
	/* Unsigned arithmetic: a record's time stamp is not trusted to be
	 * small enough for a signed sum. */
	pipeline_segment(lc->pl, &ri, ri.ts_mono_ns + (uint64_t)lc->mono_to_wall_ns);
}

/* From the ring buffer: -w packets are written at once, segment records
 * wait a moment to come out in time order. */
static void on_live_record(void *ctx, const void *data, size_t size)
{
	struct live_ctx *lc = ctx;
	struct ca_seg_record r;

	if (size >= sizeof(r)) {
		memcpy(&r, data, sizeof(r));
		if (r.version == CATRACE_REC_VERSION && r.kind == REC_KIND_SEG) {
			reorder_push(&lc->ro, r.ts_ns, data, size, decode_record, lc);
			return;
		}
	}
	decode_record(ctx, data, size);
}

static uint64_t mono_ns(void)
{
	struct timespec m;

	clock_gettime(CLOCK_MONOTONIC, &m);
	return (uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec;
}

static uint64_t kernel_drops(const struct ca_counters *c)
{
	return c->ringbuf_drops + c->pkt_drops;
}

/* Records the kernel could not hand over, reported as they happen: at
 * most one line a second, whatever the rate of drops. */
struct drop_report {
	uint64_t reported;   /* records dropped already told about */
	uint64_t msgs;       /* and the messages they held */
	uint64_t at_ns;      /* when last looked */
};

static void report_drops(struct loader *l, struct drop_report *d, bool force)
{
	uint64_t now = mono_ns(), n;
	struct ca_counters cnt;

	if (!force && now - d->at_ns < 1000000000u)
		return;
	if (loader_counters(l, &cnt) != 0)
		return;
	n = kernel_drops(&cnt);
	if (n > d->reported)
		fprintf(stderr, "catrace: %llu records (%llu CA messages) dropped by the kernel "
			"(ring buffer full) in the last %.1f s\n",
			(unsigned long long)(n - d->reported),
			(unsigned long long)(cnt.msgs_dropped - d->msgs),
			(double)(now - d->at_ns) / 1e9);
	d->reported = n;
	d->msgs = cnt.msgs_dropped;
	d->at_ns = now;
}

/* The kernel wakes us only for a batch of records: look every 100 ms for
 * the few that came since, or sooner when a held record is due. */
static int poll_timeout_ms(const struct reorder *ro)
{
	uint64_t oldest = reorder_oldest(ro), now = mono_ns(), due;

	if (oldest == UINT64_MAX)
		return 100;
	due = oldest + REORDER_WINDOW_NS;
	if (due <= now)
		return 0;
	return (int)((due - now) / 1000000u) + 1 < 100 ? (int)((due - now) / 1000000u) + 1 : 100;
}

static int64_t mono_to_wall(void)
{
	struct timespec w, m;

	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)w.tv_sec - m.tv_sec) * 1000000000 + (w.tv_nsec - m.tv_nsec);
}

/* The iface label: the interfaces, comma-separated. */
static const char *ifaces_label(const struct loader_opts *lo, char *buf, size_t n)
{
	size_t used = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < lo->n_ifaces && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "," : "", lo->ifaces[i]);
	return buf;
}

/* -Z: every descriptor catrace needs is open; give up root.  Not when
 * detaching would need it (netlink tc filters, kernels without tcx). */
static bool drop_live_privileges(struct loader *l, const struct privs_user *u)
{
	char err[256];

	if (loader_detach_needs_privileges(l)) {
		fprintf(stderr, "catrace: -Z %s: this kernel has no tcx, and the tc filters "
			"attached instead need root to be removed; not dropping privileges\n",
			u->name);
		return false;
	}
	if (!privs_drop(u, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		return false;
	}
	return true;
}

static int run_live(struct pipeline *pl, struct opts *o)
{
	static struct live_ctx lc;
	static struct metrics_service ms;
	bool metrics = metrics_wanted(&o->met) || o->met.pin_dir;
	char ifaces[128];
	struct top_view top;
	uint64_t top_until_ns = 0;
	struct drop_report drops = { 0, 0, 0 };
	uint64_t started_ns;
	static struct procattr proc;
	struct ringbuf_source *rs = NULL;
	struct ca_counters cnt;
	struct sigaction sa;
	struct loader *l;
	char err[512];

	lc.pl = pl;
	reorder_init(&lc.ro, REORDER_MAX_BYTES);
	unsigned i;
	int r, rc = 0;

	if (o->filter && live_filter_compile(&lc.filter, o->filter, err, sizeof(err)) < 0) {
		fprintf(stderr, "catrace: filter expression '%s': %s\n", o->filter, err);
		return EXIT_USAGE;
	}
	if (o->wr.path) {
		if (!o->wr.snaplen)
			o->wr.snaplen = 262144;
		o->live.snaplen = o->wr.snaplen;
		lc.w = pcap_writer_open(&o->wr, err, sizeof(err));
		if (!lc.w) {
			fprintf(stderr, "catrace: %s\n", err);
			return EXIT_USAGE;
		}
		/* Like tcpdump: writing is quiet unless asked to print. */
		if (!o->print)
			pl->hook_only = true;
	}
	o->live.server_port = pl->cls.server_port;
	o->live.repeater_port = pl->cls.repeater_port;
	for (i = 0; i < pl->cls.n_user_ports && i < CATRACE_MAX_USER_PORTS; i++)
		o->live.user_ports[o->live.n_user_ports++] = pl->cls.user_ports[i];

	/* Before attaching: a SIGINT that comes while we attach must stop
	 * us, not be lost (a script's background job starts with SIGINT
	 * ignored; found by tests/netns/test_attach.sh hanging).  Restarted
	 * system calls keep attaching; the poll below still wakes. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A dropped SSH session: a clean stop, every buffered byte written. */
	sigaction(SIGHUP, &sa, NULL);
	/* SIGUSR2: write out what -w holds, and go on. */
	sa.sa_handler = on_flush_signal;
	sigaction(SIGUSR2, &sa, NULL);
	l = loader_load(&o->live, err, sizeof(err));
	if (!l) {
		fprintf(stderr, "catrace: %s\n", err);
		if (lc.w)
			pcap_writer_close(lc.w, err, sizeof(err));
		return EXIT_USAGE;
	}
	if (loader_attach(l, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		loader_close(l);
		if (lc.w)
			pcap_writer_close(lc.w, err, sizeof(err));
		return EXIT_USAGE;
	}
	if (o->quiet && o->summary)
		pl->hook_only = true;
	if (!reports_setup(pl, o)) {
		loader_close(l);
		if (lc.w)
			pcap_writer_close(lc.w, err, sizeof(err));
		return 1;
	}
	if (metrics) {
		ifaces_label(&o->live, ifaces, sizeof(ifaces));
		ms.records = &lc.records;
		if (metrics_service_start(&ms, &o->met, pl, l, ifaces, err, sizeof(err))) {
			fprintf(stderr, "catrace: %s\n", err);
			loader_close(l);
			if (lc.w)
				pcap_writer_close(lc.w, err, sizeof(err));
			return EXIT_USAGE;
		}
		ms.records = &lc.records;
		ms.records_bad = &lc.bad_records;
		/* A metrics service prints nothing per message when asked. */
		if (o->quiet && metrics_wanted(&o->met))
			pl->hook_only = true;
	}
	/* A terminal gets each line at once; a pipe or file gets full
	 * buffers, flushed after every round of records (at most 100 ms
	 * late): one write() per message would cost more than the rest. */
	if (isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	else if (!o->wr.path || strcmp(o->wr.path, "-"))
		setvbuf(stdout, out_buf, _IOFBF, sizeof(out_buf));
	lc.mono_to_wall_ns = mono_to_wall();
	rs = ringbuf_source_new(loader_ringbuf_fd(l), on_live_record, &lc);
	if (!rs) {
		fprintf(stderr, "catrace: ring buffer: %s\n", strerror(errno));
		loader_close(l);
		return 1;
	}
	/* Like tcpdump's "listening on": from here on, nothing is missed. */
	if (!o->quiet && !(o->top && !o->top_once)) {
		char where[512];

		fprintf(stderr, "tracing on %s\n", loader_describe(l, where, sizeof(where)));
	}
	if (o->top) {
		top_view_init(&top, pl, o, ifaces_label(&o->live, ifaces, sizeof(ifaces)));
		top_until_ns = mono_ns() + (uint64_t)(o->met.interval_s ? o->met.interval_s : 1) *
					     1000000000ull;
		if (!o->top_once && !top_screen_start()) {
			stop_requested = 1;
			rc = EXIT_USAGE;
		}
	}
	if (o->drop_to && !drop_live_privileges(l, o->drop_to)) {
		ringbuf_source_free(rs);
		loader_close(l);
		if (lc.w)
			pcap_writer_close(lc.w, err, sizeof(err));
		return 1;
	}
	drops.at_ns = mono_ns();
	started_ns = drops.at_ns;
	/* The traced host is one end of the circuits it serves or opens:
	 * name the process behind each socket, unless nothing is printed. */
	if (!o->no_proc && !pl->hook_only) {
		procattr_init(&proc, "/proc", stderr);
		pl->proc = &proc;
	}
	while (!stop_requested && !pl->done) {
		/* Follow clock adjustments (NTP steps) as we go. */
		lc.mono_to_wall_ns = mono_to_wall();
		/* Signals end the wait at once. */
		r = ringbuf_source_poll_with(rs, metrics ? metrics_service_fd(&ms) : -1,
					     poll_timeout_ms(&lc.ro));
		if (r >= 0)
			r = ringbuf_source_drain(rs);
		reorder_release(&lc.ro, mono_ns() - REORDER_WINDOW_NS, decode_record, &lc);
		flush_stdout(pl);
		if (metrics && metrics_service_run(&ms, (uint64_t)mono_to_wall() + mono_ns()))
			rc = 1;
		else if (!metrics && pl->census)
			census_tick(pl->census, (uint64_t)mono_to_wall() + mono_ns());
		if (summary_requested && loader_counters(l, &cnt) == 0)
			fprintf(stderr, "catrace: %llu CA messages captured, %llu dropped by kernel, "
				"%llu packets matched (%llu seen), %.1f s\n",
				(unsigned long long)pl->st.messages,
				(unsigned long long)cnt.msgs_dropped,
				(unsigned long long)cnt.pkts_ca, (unsigned long long)cnt.pkts_seen,
				(double)(mono_ns() - started_ns) / 1e9);
		reports_poll(pl, o);
		if (flush_requested) {
			flush_requested = 0;
			flush_stdout(pl);
			if (lc.w && !lc.write_failed && pcap_writer_flush(lc.w, err, sizeof(err))) {
				fprintf(stderr, "catrace: %s\n", err);
				lc.write_failed = true;
				stop_requested = 1;
			}
		}
		if (o->top) {
			top.messages = pl->st.messages;
			if (loader_counters(l, &cnt) == 0)
				top.kernel = &cnt;
			if (o->top_once ? mono_ns() >= top_until_ns : !top_screen_tick(&top, false))
				break;
		}
		if (!o->quiet)
			report_drops(l, &drops, false);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "catrace: reading the ring buffer: %s\n", strerror(-r));
			rc = 1;
			break;
		}
	}
	/* What the kernel already handed over still gets printed. */
	if (!pl->done && !lc.write_failed)
		ringbuf_source_drain(rs);
	reorder_release(&lc.ro, UINT64_MAX, decode_record, &lc);
	reorder_free(&lc.ro);
	live_filter_free(&lc.filter);
	if (lc.write_failed && !pcap_writer_reader_gone(lc.w))
		rc = 1;
	pipeline_finish(pl);
	/* With -w -, standard output is the writer's, and so are its errors. */
	if (!(o->wr.path && !strcmp(o->wr.path, "-")) && stdout_failed(pl))
		rc = 1;
	reports_finish(pl, o);
	if (metrics && metrics_service_stop(&ms))
		rc = 1;
	if (o->top) {
		top_screen_stop();
		top.messages = pl->st.messages;
		if (o->top_once && rc == 0)
			top_print_once(&top);
	} else if (!o->quiet) {
		report_drops(l, &drops, true);
		if (loader_counters(l, &cnt) == 0)
			fprintf(stderr, "%llu CA messages captured, %llu dropped by kernel, "
				"%llu packets matched (%llu seen), %llu printed\n",
				(unsigned long long)pl->st.messages,
				(unsigned long long)cnt.msgs_dropped,
				(unsigned long long)cnt.pkts_ca,
				(unsigned long long)cnt.pkts_seen,
				(unsigned long long)pl->st.printed);
		if (loader_counters(l, &cnt) == 0 &&
		    (cnt.retransmits || cnt.gaps || cnt.resyncs || cnt.parse_errors))
			fprintf(stderr, "kernel: %llu retransmitted segments skipped, %llu gaps, "
				"%llu resynchronisations, %llu parse errors\n",
				(unsigned long long)cnt.retransmits, (unsigned long long)cnt.gaps,
				(unsigned long long)cnt.resyncs, (unsigned long long)cnt.parse_errors);
		if (loader_counters(l, &cnt) == 0 && cnt.pkt_drops)
			fprintf(stderr, "kernel: also dropped %llu packet records (-w)\n",
				(unsigned long long)cnt.pkt_drops);
		pipeline_print_limits(pl, stderr, false);
	}
	ringbuf_source_free(rs);
	loader_close(l);
	if (pl->proc) {
		procattr_free(pl->proc);
		pl->proc = NULL;
	}
	if (lc.w) {
		uint64_t n = pcap_writer_packets(lc.w);

		if (pcap_writer_close(lc.w, err, sizeof(err))) {
			fprintf(stderr, "catrace: %s\n", err);
			rc = 1;
		} else if (!o->quiet) {
			fprintf(stderr, "%llu packets written\n", (unsigned long long)n);
		}
	}
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
	} else if (o.wr.path && !o.live.n_ifaces) {
		fprintf(stderr, "catrace: -w writes live captures: give -i IFACE\n");
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
