/* The catrace program, shared by its parts: the command line
 * (cli_options.c), what both runs use (run_common.c), the offline run
 * (run_offline.c: a capture file through the pipeline) and the live run
 * (run_live.c: the kernel's records through the same pipeline). */
#ifndef CATRACE_RUNTIME_H
#define CATRACE_RUNTIME_H

#include <signal.h>
#include <stdbool.h>

#include "loader.h"
#include "metrics_service.h"
#include "pcap_writer.h"
#include "pipeline.h"
#include "privs.h"
#include "report.h"
#include "top.h"

#define EXIT_USAGE 2

/* --value-bytes not given: derived from --max-elements. */
#define VALUE_BYTES_AUTO UINT32_MAX

struct opts {
	const char *read_file;
	struct loader_opts live;
	struct pcap_writer_opts wr;   /* -w: wr.path set */
	bool print, no_print;   /* --print, --no-print */
	int tflags;
	/* Given on the command line, for the options that exclude others. */
	bool json_opt, xdp_mode_opt;
	const char *copy_opt;     /* --value-bytes or --headers-only */
	bool quiet;             /* -q: no information lines on stderr */
	bool no_proc;
	const char *chan_file;       /* --channels-file (NULL: no memory) */
	bool chan_file_opt;          /* given on the command line */
	char *filter;
	struct metrics_opts met;
	bool summary, events;
	struct summary_opts sum;
	bool top, top_once, top_only_opt, top_since_start;
	enum top_sort top_sort;
	unsigned top_rows;
	struct privs_user *drop_to;  /* -Z */
};

/* Set by the signal handlers, read by the run loops. */
extern volatile sig_atomic_t stop_requested, summary_requested, flush_requested;

/* cli_options.c */
void parse_args(int argc, char **argv, struct pipeline *pl, struct opts *o);
void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* run_common.c */
void on_stop_signal(int sig);
void on_summary_signal(int sig);
void on_flush_signal(int sig);
void stdout_buffer_big(void);
void print_summary(const struct pipeline *pl);
/* Packets on CA ports that are not decoded, and why: one line when any. */
void print_not_decoded(const char *prefix, uint64_t ip_len_short, uint64_t ca_fragments,
		       uint64_t reassembled, uint64_t bad_checksum);
void flush_stdout(struct pipeline *pl);
bool stdout_failed(struct pipeline *pl);
/* Whether message lines are printed: not with --no-print, top, or -w
 * (like tcpdump) unless --print. -q has no say here. */
bool lines_wanted(const struct opts *o);
bool reports_setup(struct pipeline *pl, const struct opts *o);
void reports_poll(const struct pipeline *pl, const struct opts *o);
void reports_finish(const struct pipeline *pl, const struct opts *o);
void top_view_init(struct top_view *v, const struct pipeline *pl,
		   const struct opts *o, const char *source);
void top_print_once(const struct top_view *v);
bool top_offline_screen(struct top_view *v);

/* run_offline.c, run_live.c: each returns catrace's exit status. */
int run_offline(struct pipeline *pl, const struct opts *o);
int run_live(struct pipeline *pl, struct opts *o);

#endif
