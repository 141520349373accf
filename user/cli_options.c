/* catrace's command line: options, their bounds and the combinations
 * refused, into struct opts and the pipeline's settings. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_rules.h"
#include "chanmem.h"
#include "runtime.h"
#include "version.h"

#include <bpf/libbpf.h>

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
"                       quiet unless --print; with -r, cut the capture down to\n"
"                       its CA packets (with --pv/--cmd/--writes: those that\n"
"                       carried a message shown)\n"
"  --pcapng             -w writes pcapng (so does a FILE ending in .pcapng):\n"
"                       each packet with a comment listing its CA messages\n"
"  -s SNAPLEN           bytes of each packet to keep (default and 0: 262144)\n"
"  -U                   flush the file after every packet\n"
"  --print              message lines even while writing (-w)\n"
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
"  --json=full          the same with every byte of each message, for\n"
"                       catrace build (lossless)\n"
"  --json=fields        JSON lines of every field of each message: id, name,\n"
"                       offset in the frame, length, value, hvalue, raw bytes\n"
"  -V                   below each line, the message's field tree (as tshark -V):\n"
"                       each field's offset in the frame and stream, length,\n"
"                       meaning and raw bytes\n"
"  -X                   below each line, the message's bytes in hex and ASCII\n"
"  --all-layers         with -V or --json=fields: the frame's Ethernet, IPv4 and\n"
"                       UDP/TCP header fields too\n"
"  --format TEMPLATE    custom lines: {timestamp} {src} {sport} {dst} {dport}\n"
"                       {proto} {frame} {command} {cmd} {pv} {size} {dtype}\n"
"                       {count} {p1} {p2} {value} {status} {severity} {user}\n"
"                       {host} {proc}\n"
"  -t                   no time stamp; -tt epoch (default); -ttt delta;\n"
"                       -tttt UTC date; -ttttt since the first message\n"
"  --nano               nanosecond time stamps in text\n"
"  --max-elements N     array elements to print (default 10, 0: all)\n"
"  --writes             write audit: only WRITE, WRITE_NOTIFY (and their\n"
"                       replies) and ACCESS_RIGHTS, each with the client's\n"
"                       user and host names, PV, value and status\n"
"  --no-proc            live: do not name the local process that owns each\n"
"                       CA socket, by its role (server=softIoc[1234]), nor\n"
"                       confirm learned servers as local CA servers: read\n"
"                       nothing of /proc\n"
"  --channels-file PATH live: where the channel table is kept between runs, so\n"
"                       channels created before catrace started are named\n"
"                       (default " CHANMEM_DEFAULT_PATH ", or $CATRACE_CHANNELS_FILE)\n"
"  --no-channels-file   live: neither load nor save it\n"
"  -q                   quiet standard error: no information lines (tracing\n"
"                       on, names from, the exit summary, -w's count); errors,\n"
"                       warnings and the reports asked for still come\n"
"  --no-print           no message lines (a metrics or report service)\n"
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
"  catrace fields --json      describe every field -V and --json=fields print\n"
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
"  messages, updates, reads, writes, searches, a rates since the start\n"
"  --once               print one snapshot instead (live: after --interval\n"
"                       seconds, default 1)\n"
"  --sort KEY           messages, updates, reads, writes or searches\n"
"  --rows N             lines per table (default 10)\n"
"  --since-start        rates since the start, not over the last 10 s\n"
"                       (key a on the screen)\n"
"\n"
"Filters:\n"
"  --pv GLOB            only messages about matching PVs (repeatable)\n"
"  --cmd LIST           only these commands: names (ReadNotify,\n"
"                       SearchRequest, READ_NOTIFY) or codes, comma-separated\n"
"  -c COUNT             stop after COUNT messages\n"
"\n"
"  -h, --help           this text;  --version   the version\n"
"\n"
"Examples:\n"
"  catrace -i eth0\n"
"  catrace -i eth0 --pv 'LINAC:*' --json\n"
"  catrace -r ioc.pcap\n"
"  catrace -r ioc.pcap --pv 'LINAC:*' --cmd WriteNotify,Write\n"
"  catrace -r big.pcap --pv 'LINAC:*' -w linac.pcapng\n"
"  tcpdump -U -w - -i eth0 port 5064 | catrace -r -\n"
"  catrace -r ioc.pcap --json host 10.0.0.5 | jq .pv\n"
"  catrace -i eth0 -q --metrics 127.0.0.1:9464 --pin /sys/fs/bpf/catrace\n"
"  catrace -i eth0 --writes --pv 'LINAC:*'\n";

enum {
	OPT_JSON = 256, OPT_FORMAT, OPT_NANO, OPT_MAXEL, OPT_SRVPORT, OPT_REPPORT,
	OPT_PORT, OPT_NODETECT, OPT_PV, OPT_CMD, OPT_NOXDP, OPT_XDPMODE,
	OPT_VALUEBYTES, OPT_HEADERSONLY, OPT_PRINT, OPT_NO_PRINT, OPT_METRICS, OPT_METRICS_FILE,
	OPT_INTERVAL, OPT_PIN, OPT_PV_LIMIT, OPT_SUMMARY, OPT_SUMMARY_TOP, OPT_SUMMARY_SIGMA,
	OPT_SUMMARY_HZ, OPT_EVENTS, OPT_ONCE, OPT_SORT, OPT_ROWS, OPT_SINCE_START,
	OPT_WRITES, OPT_NOPROC, OPT_CHANFILE, OPT_NOCHANFILE, OPT_VERSION, OPT_ALL_LAYERS,
	OPT_PCAPNG,
};

static const struct option long_opts[] = {
	{ "json", optional_argument, NULL, OPT_JSON },
	{ "all-layers", no_argument, NULL, OPT_ALL_LAYERS },
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
	{ "no-print", no_argument, NULL, OPT_NO_PRINT },
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
	{ "since-start", no_argument, NULL, OPT_SINCE_START },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "rows", required_argument, NULL, OPT_ROWS },
	{ "writes", no_argument, NULL, OPT_WRITES },
	{ "no-proc", no_argument, NULL, OPT_NOPROC },
	{ "channels-file", required_argument, NULL, OPT_CHANFILE },
	{ "no-channels-file", no_argument, NULL, OPT_NOCHANFILE },
	{ "pcapng", no_argument, NULL, OPT_PCAPNG },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "catrace: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
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

void parse_args(int argc, char **argv, struct pipeline *pl, struct opts *o)
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
	/* The channel table of earlier runs (chanmem.h), unless told. */
	o->chan_file = getenv("CATRACE_CHANNELS_FILE");
	if (!o->chan_file || !*o->chan_file)
		o->chan_file = CHANMEM_DEFAULT_PATH;
	while ((c = getopt_long(argc, argv, "+:r:i:c:B:w:s:C:G:W:Z:UtqvhVX", long_opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (o->read_file)
				die_usage("-r given twice: one capture a run");
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
		case OPT_PCAPNG:
			o->wr.pcapng = true;
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
		case OPT_NO_PRINT:
			o->no_print = true;
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
		case OPT_SINCE_START:
			o->top_since_start = o->top_only_opt = true;
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
			if (optarg && !strcmp(optarg, "full"))
				pl->out.full = true;
			else if (optarg && !strcmp(optarg, "fields"))
				pl->out.json_fields = true;
			else if (optarg)
				die_usage("--json=%s: the forms are --json, --json=full and --json=fields",
					  optarg);
			break;
		case 'V':
			pl->out.tree = true;
			break;
		case 'X':
			pl->out.hexdump = true;
			break;
		case OPT_ALL_LAYERS:
			pl->out.all_layers = true;
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
				die_usage("--port: at most %d ports", CATRACE_MAX_USER_PORTS);
			break;
		case OPT_NODETECT:
			pl->detect_circuits = false;
			break;
		case OPT_PV:
			if (pl->n_pv_globs >= PIPELINE_MAX_PV_GLOBS)
				die_usage("--pv: too many patterns (at '%s')", optarg);
			if (!*optarg)
				die_usage("--pv: an empty pattern matches no PV");
			pl->pv_globs[pl->n_pv_globs++] = optarg;
			break;
		case OPT_CMD:
			add_cmds(pl, o, optarg);
			break;
		case OPT_WRITES:
			pl->writes = true;
			break;
		case OPT_CHANFILE:
			if (!*optarg)
				die_usage("--channels-file: an empty path");
			o->chan_file = optarg;
			o->chan_file_opt = true;
			break;
		case OPT_NOCHANFILE:
			o->chan_file = NULL;
			o->chan_file_opt = true;
			break;
		case OPT_NOPROC:
			o->no_proc = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_VERSION:
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
		die_usage("--json and --format exclude each other");
	/* The tree and the dump follow text lines; --json=fields is their
	 * JSON form. */
	if ((pl->out.tree || pl->out.hexdump) && (o->json_opt || pl->out.tmpl || pl->writes))
		die_usage("%s prints below text lines: not with %s", pl->out.tree ? "-V" : "-X",
			  o->json_opt ? (pl->out.json_fields ? "--json=fields (it holds the fields already)"
							     : "--json (use --json=fields)")
				      : pl->out.tmpl ? "--format" : "--writes");
	if (pl->out.json_fields && pl->writes)
		die_usage("--json=fields and --writes exclude each other");
	if (pl->out.json_fields && pl->out.full)
		die_usage("--json=full and --json=fields exclude each other");
	if (pl->out.all_layers && !pl->out.tree && !pl->out.json_fields)
		die_usage("--all-layers adds the frame's headers to -V or --json=fields: give one");
	if (o->print && o->no_print)
		die_usage("--print and --no-print exclude each other");
	if (o->live.no_xdp && o->xdp_mode_opt)
		die_usage("--no-xdp and --xdp-mode exclude each other");
	if (o->chan_file_opt && o->read_file)
		die_usage("--channels-file and --no-channels-file are for live traces: not with -r");
	if (o->copy_opt && o->read_file)
		die_usage("%s sets what the kernel copies live: not with -r", o->copy_opt);
	if (o->wr.pcapng && !o->wr.path)
		die_usage("--pcapng says how -w writes: give -w FILE");
	if (pcap_writer_name_is_pcapng(o->wr.path))
		o->wr.pcapng = true;
	if (o->tflags > 5)
		die_usage("-t: at most five (-ttttt)");
	switch (o->tflags) {
	case 0:
	case 2: pl->out.ts = TS_EPOCH; break;
	case 1: pl->out.ts = TS_NONE; break;
	case 3: pl->out.ts = TS_DELTA; break;
	case 4: pl->out.ts = TS_DATE; break;
	default: pl->out.ts = TS_SINCE_FIRST; break;
	}
	if (pl->writes && pl->out.tmpl)
		die_usage("--writes and --format exclude each other");
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

