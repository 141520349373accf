/* The offline run: a capture file (or standard input) through the
 * pipeline, packet by packet, then the reports. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_writer.h"
#include "pcap_source.h"
#include "pkt.h"
#include "runtime.h"

/* Whether two names are one file (both exist). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return strcmp(a, "-") && strcmp(b, "-") && stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* -w with -r: the capture cut down to its CA packets, in the input's
 * link type; one interface, named after the file it came from. */
static bool offline_writer_open(struct capture_writer *cw, struct pipeline *pl,
				const struct opts *o, int linktype, uint64_t first_ns)
{
	struct pcap_writer_opts wo = o->wr;
	struct pcap_writer_iface ifc;
	char desc[512], err[512];
	bool filtered = pl->n_pv_globs || pl->n_cmds || pl->writes;

	if (same_file(o->read_file, o->wr.path)) {
		fprintf(stderr, "catrace: -w %s is the capture -r reads: it would be emptied "
			"before it is read\n", o->wr.path);
		return false;
	}
	snprintf(desc, sizeof(desc), "catrace: CA from %s",
		 strcmp(o->read_file, "-") ? o->read_file : "standard input");
	ifc.name = NULL;
	ifc.description = desc;
	wo.ifaces = &ifc;
	wo.n_ifaces = 1;
	wo.linktype_set = true;
	wo.linktype = linktype;
	/* -G's periods run on packet time: the first starts with the first
	 * packet, not with the clock (which is later than every packet). */
	wo.start_ns = first_ns;
	if (!capture_writer_open(cw, pl, &wo, false, filtered, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		return false;
	}
	return true;
}

int run_offline(struct pipeline *pl, const struct opts *o)
{
	static struct capture_writer cw;
	bool writing = false;
	static struct metrics_service ms;
	char err[PCAP_ERR_LEN];
	bool metrics = metrics_wanted(&o->met);
	struct pcap_source *src;
	struct frame f;
	int lt, r = 0, rc = 0;
	bool have_first = false;     /* f holds a packet read ahead */

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
	if (o->wr.path) {
		/* The first packet is read now, for its time (decoded below). */
		r = pcap_source_next(src, &f, err, sizeof(err));
		have_first = true;
		if (!offline_writer_open(&cw, pl, o, lt, r == 1 ? f.ts_ns : 0)) {
			pcap_source_close(src);
			return EXIT_USAGE;
		}
		writing = true;
	}
	if (!reports_setup(pl, o)) {
		if (writing)
			capture_writer_close(&cw, true);
		pcap_source_close(src);
		return 1;
	}
	if (metrics) {
		if (metrics_service_start(&ms, &o->met, pl, NULL, o->read_file, err, sizeof(err))) {
			fprintf(stderr, "catrace: %s\n", err);
			if (writing)
				capture_writer_close(&cw, true);
			pcap_source_close(src);
			return EXIT_USAGE;
		}
	}
	pl->hook_only = !lines_wanted(o);
	if (o->drop_to && !privs_drop(o->drop_to, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		if (writing)
			capture_writer_close(&cw, true);
		pcap_source_close(src);
		return 1;
	}
	/* Big output blocks for a file read to its end; a capture streamed
	 * in on standard input keeps stdio's small ones, so lines come out
	 * as packets come in. */
	if (strcmp(o->read_file, "-") && !isatty(STDOUT_FILENO))
		stdout_buffer_big();
	while (!pl->done) {
		if (!have_first)
			r = pcap_source_next(src, &f, err, sizeof(err));
		have_first = false;
		if (r != 1)
			break;
		if (writing)
			capture_writer_frame(&cw, f.number, f.ts_ns, 0, f.data, f.caplen, f.len);
		pipeline_frame(pl, lt, &f);
		reports_poll(pl, o);
		if (writing) {
			capture_writer_after_frame(&cw);
			if (capture_writer_stopped(&cw))
				break;
		}
	}
	if (!pl->done && r < 0) {
		fprintf(stderr, "catrace: %s: after packet %llu: %s\n", o->read_file,
			(unsigned long long)pl->st.packets, err);
		rc = 1;
	}
	pipeline_finish(pl);
	/* After the flows' last messages, which may be for any frame. */
	if (writing && capture_writer_close(&cw, o->quiet))
		rc = 1;
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

