/* The offline run: a capture file (or standard input) through the
 * pipeline, packet by packet, then the reports. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pcap_source.h"
#include "pkt.h"
#include "runtime.h"

int run_offline(struct pipeline *pl, const struct opts *o)
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
	pl->hook_only = !lines_wanted(o);
	if (o->drop_to && !privs_drop(o->drop_to, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		pcap_source_close(src);
		return 1;
	}
	/* Big output blocks for a file read to its end; a capture streamed
	 * in on standard input keeps stdio's small ones, so lines come out
	 * as packets come in. */
	if (strcmp(o->read_file, "-") && !isatty(STDOUT_FILENO))
		stdout_buffer_big();
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

