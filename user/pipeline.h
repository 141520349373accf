/* pipeline: frames in, printed CA messages out.  Joins the packet parser,
 * the classifier, TCP reassembly, the channel tracker, the filters and the
 * formatter, so every source (capture files now, the live ring buffer
 * later) shares one decoder and one output. */
#ifndef CATRACE_PIPELINE_H
#define CATRACE_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "census.h"
#include "classify.h"
#include "midstream.h"
#include "flow.h"
#include "ipfrag.h"
#include "output.h"
#include "pcap_source.h"
#include "procattr.h"
#include "sbuf.h"
#include "segmap.h"
#include "track.h"

#define PIPELINE_MAX_PV_GLOBS 64
#define PIPELINE_MAX_CMDS     64

struct pipeline_stats {
	uint64_t packets;        /* frames read */
	uint64_t ca_packets;     /* frames that carried CA (or could have) */
	uint64_t messages;       /* CA messages decoded */
	uint64_t printed;        /* messages that passed the filters */
	uint64_t malformed;
	uint64_t truncated;
	uint64_t bad_packets;    /* CA-port packets with broken IP/UDP/TCP headers */
	uint64_t bad_headers;    /* frames whose link or IPv4 header is broken
				  * (ports unknown: maybe CA, maybe not) */
	uint64_t fragments;
	uint64_t ca_fragments;   /* first fragments on CA ports */
	uint64_t ca_reassembled; /* CA datagrams put back together and decoded */
	uint64_t ip_len_short;   /* CA packets whose IPv4 length runs past the
				  * frame: receivers drop them, not decoded */
	uint64_t detected;       /* circuits found by their content */
	uint64_t unnamed;        /* messages about a channel whose name is unknown */
};

#define PIPELINE_EARLY_MAX 16

/* -w pcapng: where the frames' comments come from.  `line` gets every
 * message that passes the filters, as catrace's text line without its
 * time stamp, for the frame that carried its last byte; `ca_frame` every
 * frame found to be CA (also one decoded late: kept evidence), and the
 * SYN and SYN-ACK of a learned server's flow (which is judged CA later, by
 * its opening: a cut capture without them would not be read the same). */
struct pipeline_notes {
	void (*line)(void *ctx, uint64_t frame, uint64_t ts_ns, const char *text, size_t len);
	void (*ca_frame)(void *ctx, uint64_t frame, uint64_t ts_ns);
	/* The earlier packets that carried bytes of a message `line` was
	 * given for (a message spread over several TCP segments; offline). */
	void (*part)(void *ctx, uint64_t frame, uint64_t ts_ns);
	void *ctx;
	struct output out;           /* the lines' format */
	struct sbuf text;
};

struct pipeline {
	struct classify cls;
	struct midstream mid;        /* circuits joined midway on unknown ports */
	/* Payloads of a learned server's flow that came before its first one
	 * (a reordered capture): kept until the flow is judged. */
	struct early_frame {
		struct flow_key key;
		struct frame f;          /* data owned */
	} early[PIPELINE_EARLY_MAX];
	unsigned n_early;
	struct flow_table flows;
	struct ipfrag frags;         /* IPv4 fragments waiting for the rest */
	struct track track;
	struct output out;
	struct sbuf line;
	FILE *fp;
	bool detect_circuits;    /* recognise CA circuits on unknown ports */

	const char *pv_globs[PIPELINE_MAX_PV_GLOBS];
	unsigned n_pv_globs;
	const char *cmds[PIPELINE_MAX_CMDS];
	unsigned n_cmds;
	uint64_t max_count;      /* 0: no limit */
	bool done;               /* -c reached, or the output failed */
	int out_errno;           /* why writing the output failed (EPIPE: reader gone) */
	bool writes;             /* --writes: the write audit, not every message */
	/* Live: names the local process of printed messages (NULL: off). */
	struct procattr *proc;

	/* Called for every decoded message before the filters (tests and
	 * tools); when `hook_only`, nothing is printed. */
	void (*hook)(void *ctx, const struct flow_key *k, const struct msg_ctx *c,
		     const struct ca_msg *m);
	void *hook_ctx;
	bool hook_only;
	/* Where a message that passed the filters goes, with its formatted
	 * line (no newline), instead of fp: the library (libcatrace.c)
	 * queues them for catrace_next.  NULL: written to fp. */
	void (*deliver)(void *ctx, const struct msg_ctx *c, const struct ca_msg *m,
			const struct sbuf *line);
	void *deliver_ctx;

	/* -w pcapng's comments (NULL: off; pipeline_notes_start). */
	struct pipeline_notes *notes;

	/* Metrics and summaries (NULL: not wanted, no cost). */
	struct census *census;

	/* Where recent segments were (-V, --json=fields only). */
	struct segmap segs;

	/* the frame being decoded, and its link type */
	struct frame cur;
	int cur_linktype;
	bool cur_valid;          /* cur.data may be read: a frame is being decoded */
	bool in_reassembled;     /* decoding a datagram put back together (frags.done) */
	struct pipeline_stats st;
};

/* Configure fields (ports, output, filters) after init, before frames. */
void pipeline_init(struct pipeline *pl, FILE *fp);
void pipeline_frame(struct pipeline *pl, int linktype, const struct frame *f);
/* One live segment record (the ring buffer): framed by the same framers,
 * tracker, filters and output as decoded frames. */
struct rec_info;
void pipeline_segment(struct pipeline *pl, const struct rec_info *ri, uint64_t ts_ns);
/* Live: an IPv4 fragment of CA traffic the kernel sent whole (an Ethernet
 * frame): held until its datagram is whole, then decoded. */
void pipeline_fragment(struct pipeline *pl, const uint8_t *frame, uint32_t len, uint64_t ts_ns);
/* Live: a record the decoder takes (record_in_time_order): a segment to
 * pipeline_segment, a fragment to pipeline_fragment, -w's packets not. */
void pipeline_record(struct pipeline *pl, const struct rec_info *ri, uint64_t ts_ns);
/* Count what goes by (metrics, reports): a census following up to
 * pv_capacity PVs.  False when out of memory. */
bool pipeline_census_start(struct pipeline *pl, unsigned pv_capacity, bool follow_activity);
/* Report lines and CA frames to n (its callbacks set), once the output
 * options are set: the lines are text, without time, whatever is printed. */
void pipeline_notes_start(struct pipeline *pl, struct pipeline_notes *n);
/* No more reports (n's buffer freed); pipeline_free does it too. */
void pipeline_notes_stop(struct pipeline *pl);
/* The oldest packet a message may still be stamped with (frame number and
 * time stamp, each the smallest; UINT64_MAX each when none): frames before
 * it have all their messages.  Walks the flows: call it now and then. */
struct flow_stamp pipeline_oldest_pending(const struct pipeline *pl);
/* End of input: flush flows (messages cut short are reported). */
void pipeline_finish(struct pipeline *pl);
void pipeline_free(struct pipeline *pl);
uint64_t pipeline_resyncs(const struct pipeline *pl);
/* One line on f saying how often the decoder's tables hit their bounds
 * (flows, circuits, channels evicted...): when any did, or `always`. */
void pipeline_print_limits(const struct pipeline *pl, FILE *f, bool always);

/* "ReadNotify,SEARCH,15" style list check for --cmd. */
bool pipeline_cmd_token_valid(const char *tok);

#endif
