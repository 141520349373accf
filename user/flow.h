/* flow: TCP connections seen in a capture, each direction reassembled by
 * sequence number and framed into CA messages.
 *
 * In-order bytes go straight to the framer; retransmitted bytes are
 * dropped; segments that arrive early are held (bounded per direction,
 * FLOW_OOO_LIMIT) until the hole fills.  When the bound is hit, or the
 * connection ends with a hole, the hole is reported to the framer as a gap
 * and the direction is marked lossy.  The table itself is bounded: the
 * least recently used flow is evicted.  So is what its flows hold: held
 * segments in all (FLOW_OOO_TOTAL_LIMIT: past it a direction gives up its
 * hole) and the framers' buffers (FLOW_STREAM_MEM_LIMIT: past it messages
 * keep fewer payload bytes).
 */
#ifndef CATRACE_FLOW_H
#define CATRACE_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "ca_stream.h"
#include "hmap.h"
#include "pkt.h"

#define FLOW_OOO_LIMIT (4u << 20)
#define FLOW_OOO_TOTAL_LIMIT (64u << 20)
#define FLOW_STREAM_MEM_LIMIT ((size_t)128 << 20)
/* Flows a pipeline tracks at once (each costs about 1 KiB). */
#define FLOW_TABLE_MAX 65536
/* Packets of a flow to wait, after the peer acknowledged bytes the
 * capture lacks, before declaring them lost: captures taken on multi-queue
 * NICs reorder packets, and a late segment must still find its place. */
#define FLOW_HOLE_PATIENCE 8

/* Client end first: the key is the circuit's identity. */
struct flow_key {
	uint32_t cli_ip, srv_ip;
	uint16_t cli_port, srv_port;
};

struct ooo_seg;
struct queued_msg;

/* Which packet a message is told to have come in: the one that carried
 * its last byte (held segments keep their own), never the packet that
 * happened to release it. */
struct flow_stamp {
	uint64_t ts_ns;
	uint64_t frame;
	/* Where that packet's TCP payload is in its frame (captured bytes
	 * data_len from data_off, the first with sequence number data_seq),
	 * for field offsets; have_data false when there is no frame (live). */
	bool have_data;
	uint32_t data_off, data_len, data_seq;
};

/* Holes given up on (their bytes declared lost), remembered so that their
 * bytes, if they come after all (a capture reordered further than the
 * patience above), are decoded rather than taken for retransmissions. */
#define FLOW_GONE_MAX 4

struct flow_gone {
	uint32_t start, end;      /* sequence range; empty when start == end */
	bool at_boundary;         /* a message began at `start` */
};

struct flow_half {
	bool isn_known;
	uint32_t isn;             /* initial sequence number, from the SYN */
	bool seq_known;
	bool fin;
	bool lossy;
	uint8_t csum_run;         /* right checksums in a row this way (ca_rule_csum_track) */
	uint32_t next_seq;
	struct ooo_seg *held;     /* sorted by sequence number */
	unsigned hole_wait;       /* packets left before a proven hole is given up */
	uint64_t held_bytes;
	struct flow_stamp last_stamp;  /* the packet of the last bytes delivered */
	/* With track_parts: the packets that carried bytes of the message
	 * being framed, so far (a cut capture keeps them all). */
	struct flow_stamp *parts;
	unsigned n_parts, cap_parts;
	struct flow_gone gone[FLOW_GONE_MAX];  /* newest replaces the oldest */
	unsigned gone_next;
	struct ca_stream stream;
};

/* A circuit's messages leave in capture-time order across its two
 * directions: while one direction holds segments behind a hole, the
 * other's messages that came later wait here (a reply must not come out
 * before its request, which would also leave its channel unnamed). */
#define FLOW_QUEUE_MAX_BYTES (1u << 20)
#define FLOW_QUEUE_TOTAL_MAX_BYTES (32u << 20)   /* all circuits together */

struct flow {
	struct flow_key key;
	struct flow_half half[2];  /* [CA_DIR_REQUEST], [CA_DIR_RESPONSE] */
	struct queued_msg *q_head[2], *q_tail[2];   /* per direction, in order */
	size_t q_bytes;
	struct flow *lru_prev, *lru_next;
};

struct flow_stats {
	uint64_t retransmitted;   /* segments wholly seen before */
	uint64_t out_of_order;    /* segments held for later */
	uint64_t gaps;            /* holes reported to a framer */
	uint64_t evicted;
	uint64_t resyncs_closed;  /* resyncs of flows already freed */
	uint64_t holes_given_up;  /* holes reported early: held bytes at their bound */
	uint64_t live_lost;       /* live: holes the kernel reported (loss, drops) */
	uint64_t live_disagreed;  /* live: the kernel's message boundaries were
				   * not where the framer had them */
	uint64_t after_close;     /* retransmissions of a flow already closed */
	uint64_t late;            /* segments that came after their hole was given up */
	uint64_t queued;          /* messages that waited for the other direction */
	uint64_t queue_full;      /* times a full queue let them go out of order */
	uint64_t bad_checksum;    /* segments the receiver's stack drops (ca_rule_csum_drops) */
};

/* Flows closed by FIN or RST are remembered this many at a time (the
 * newest), with where each direction ended: a retransmission that comes
 * after the close is not a new circuit joined midway. */
#define FLOW_CLOSED_MAX 1024

struct flow_closed {
	struct flow_key key;
	uint32_t end_seq[2];      /* per direction: the next sequence number */
	bool end_known[2];
};

/* Called when a flow's state goes away (closed, evicted, end). */
typedef void (*flow_close_fn)(void *ctx, const struct flow_key *k);

struct flow_table {
	struct hmap map;
	struct flow *lru_head, *lru_tail;  /* head: most recent */
	size_t max_flows;
	size_t keep_limit;
	uint64_t held_total;      /* bytes held out of order, all flows */
	uint64_t queued_total;    /* bytes of messages waiting, all flows */
	struct ca_stream_budget stream_mem;
	struct flow_stats stats;
	struct hmap closed;       /* flow_key -> struct flow_closed* */
	struct flow_closed *closed_ring[FLOW_CLOSED_MAX];  /* oldest replaced first */
	size_t closed_next;
	ca_msg_fn on_msg;
	flow_close_fn on_close;
	/* The flow whose messages are being emitted: callbacks read it to
	 * know the circuit (an evicted flow's, not always the packet's), and
	 * `stamp` to know the packet the message came in. */
	const struct flow_key *cur_key;
	struct flow_stamp stamp;
	struct flow *cur_flow;    /* whose framers are running */
	void *ctx;
	/* Offline -w: follow the packets each message was spread over.  While
	 * on_msg runs, msg_parts are those before its own packet (stamp). */
	bool track_parts;
	struct flow_half *feeding;   /* whose framer deliver() is running */
	const struct flow_stamp *msg_parts;
	unsigned n_msg_parts;
};

/* Packets of one message remembered at most (the rest of a longer one are
 * not told). */
#define FLOW_PARTS_MAX 1024

void flow_table_init(struct flow_table *t, size_t max_flows, size_t keep_limit,
		     ca_msg_fn on_msg, flow_close_fn on_close, void *ctx);
/* Flush every flow (end of capture) and free everything. */
void flow_table_free(struct flow_table *t);

struct flow *flow_lookup(struct flow_table *t, const struct flow_key *k);

/* Feed one TCP segment of a CA circuit.  `dir` says which way it goes;
 * `at` is its packet. */
void flow_segment(struct flow_table *t, const struct flow_key *k,
		  enum ca_dir dir, const struct pkt *p, struct flow_stamp at);

/* Live: a run of a segment's bytes the kernel copied, at `off` from the
 * segment's stream position. */
struct live_span {
	uint32_t off, len;
	const uint8_t *data;
};

/* Live: what the kernel sends of one TCP segment (a REC_KIND_SEG record).
 * It has already put the stream in order and dropped retransmissions;
 * it accounts for the bytes [seq, seq + len), and those that no span
 * holds are payload bytes past a message's copy budget, skipped on
 * purpose, unless `lost` says the ones before the first span are lost.
 * `boundary`: the first span starts at a message boundary. */
struct live_seg {
	uint8_t tcp_flags;
	bool lost, boundary;
	bool late;            /* fills a hole reported earlier: framed on its own */
	uint32_t seq, len;
	unsigned n;
	const struct live_span *spans;
};

/* Feed one live segment to the same framers flow_segment feeds. */
void flow_live_segment(struct flow_table *t, const struct flow_key *k,
		       enum ca_dir dir, const struct live_seg *s, struct flow_stamp at);

uint64_t flow_table_resyncs(const struct flow_table *t);

/* The oldest packet (frame number and time stamp, each the smallest) that
 * a message may still be stamped with, or (track_parts) told as one of its
 * parts: held segments, messages waiting for the other direction, messages
 * begun in a framer.  { UINT64_MAX,
 * UINT64_MAX } when none.  Walks every flow: call it now and then. */
struct flow_stamp flow_oldest_pending(const struct flow_table *t);

#endif
