/* The records the BPF programs send to user space, one per CA packet, and
 * the counters they keep.  One definition for both sides: fixed-width
 * fields, explicit padding, sizes asserted.  Bump CATRACE_REC_VERSION when
 * the layout changes; user space refuses records of another version.
 */
#ifndef CATRACE_RECORD_H
#define CATRACE_RECORD_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define CATRACE_REC_VERSION 2

/* Every record starts with this prefix, whatever its kind. */
struct ca_rec_prefix {
	__u16 version;
	__u8 kind;
	__u8 flags;
	__u32 rec_len;      /* bytes of this record, everything included */
};

/* kind */
#define REC_KIND_SEG    1  /* the CA bytes of one packet (struct ca_seg_record) */
#define REC_KIND_PACKET 3  /* a whole CA packet for -w (struct ca_pkt_record) */

/* dir: which way relative to the CA server */
#define REC_DIR_REQUEST  0
#define REC_DIR_RESPONSE 1

/* flags */
#define REC_F_EGRESS   0x01  /* seen by the tc egress program */
#define REC_F_BOUNDARY 0x02  /* TCP: the first span starts at a message
			      * boundary (the stream's first byte, or where
			      * the kernel found the boundaries again) */
#define REC_F_LOST     0x04  /* TCP: bytes between the previous record of this
			      * flow direction and this one were lost (a hole
			      * in the sequence, or a record the full ring
			      * buffer refused), not skipped on purpose */
#define REC_F_UNSYNCED 0x08  /* TCP: the kernel does not know the message
			      * boundaries; the span is the segment as it
			      * came, for user space to search */
#define REC_F_LATE     0x10  /* TCP: a segment whose bytes fill a hole an
			      * earlier record reported (it came after a later
			      * one): not in stream order, framed on its own */
#define REC_F_FRAGMENT 0x20  /* packet records: an IPv4 fragment of a CA
			      * datagram, sent whole (snap length or not) for
			      * user space to put the datagram back together */

/* IPv4 datagrams of CA traffic in fragments: the first fragment (it has
 * the ports) leaves its identity in the `frag_ids` map, so that the later
 * ones (no ports) are known as CA too. */
struct frag_key {
	__u32 saddr, daddr;   /* host order */
	__u16 id;
	__u8 proto;
	__u8 pad;
};

/* One record per CA packet (a TCP segment or a UDP datagram): the packet's
 * metadata once, then its CA bytes as spans.  A span is a run of bytes
 * copied whole: `struct ca_span` then `len` bytes, at `off` from `seq`.
 * For TCP the record accounts for the stream bytes [seq, seq + len): bytes
 * of it that no span holds are payload bytes of messages past their copy
 * budget, skipped on purpose (unless REC_F_LOST says otherwise for those
 * before the first span).  Message boundaries are the stream's: a message
 * may start in one record and end in another.  A UDP record has one span
 * at offset 0 with the datagram's CA bytes (len: its length on the wire).
 * A TCP segment with FIN or RST but no bytes is a record with no spans. */
struct ca_seg_record {
	__u16 version;
	__u8 kind;          /* REC_KIND_SEG */
	__u8 flags;
	__u32 rec_len;      /* header, spans and their bytes */
	__u64 ts_ns;        /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 ifindex;
	__u32 saddr;        /* host byte order */
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u32 seq;          /* TCP: stream position of the first byte accounted for */
	__u32 len;          /* bytes accounted for (TCP), datagram payload (UDP) */
	__u8 proto;         /* 6 TCP, 17 UDP */
	__u8 dir;
	__u8 tcp_flags;     /* as on the wire (FIN 0x01, SYN 0x02, RST 0x04) */
	__u8 pad0;
	__u16 n_spans;
	__u16 pad1;
};

_Static_assert(sizeof(struct ca_seg_record) == 48, "ca_seg_record layout changed");

struct ca_span {
	__u32 off;          /* from the record's seq */
	__u32 len;          /* bytes that follow */
};

_Static_assert(sizeof(struct ca_span) == 8, "ca_span layout changed");

/* Spans one record holds at most: past it, a packet's remaining messages
 * go into another record (same packet, same time stamp). */
#define REC_SPANS_MAX 32

/* What the kernel copies of each message's payload by default: every GR
 * and CTRL value with the elements shown, typical string arrays. */
#define REC_VALUE_BYTES_DEFAULT 1024
#define REC_VALUE_BYTES_MAX     65536
/* Payload bytes copied of messages that carry no value (names, errors,
 * client and host names) whatever the value budget: the longest name
 * libca sends, padded, fits. */
#define REC_META_BYTES 2048

/* The CA bytes a segment record carries at most, span headers included:
 * past it, the packet goes on in another record.  A span holds at most
 * the payload of the largest IPv4 packet. */
#define REC_SEG_DATA_MAX (64 * 1024)
#define REC_SPAN_MAX_LEN (REC_SEG_DATA_MAX - 8)

/* With -w: the bytes of each CA packet (up to the snap length), sent once
 * per packet before its segment record.  Sized exactly to the packet. */
struct ca_pkt_record {
	__u16 version;
	__u8 kind;          /* REC_KIND_PACKET */
	__u8 flags;         /* REC_F_EGRESS */
	__u32 rec_len;      /* header + cap_len */
	__u64 ts_ns;        /* CLOCK_MONOTONIC */
	__u32 ifindex;
	__u32 wire_len;     /* bytes of the packet */
	__u32 cap_len;      /* bytes that follow */
	__u16 gso_size;     /* tc egress: the stack cuts the payload into
			     * segments of this size after us (0: none) */
	__u16 gso_segs;
	__u8 dir;
	__u8 pad0[7];
};

_Static_assert(sizeof(struct ca_pkt_record) == 40, "ca_pkt_record layout changed");

/* The largest packet a record carries (a 64 KB GSO packet and headers). */
#define REC_PKT_MAX (128 * 1024)

/* Per-CPU counters (one array entry); user space sums the CPUs. */
#define CNT_CMDS 32   /* command codes 0..27, 28..31 "other" */

struct ca_counters {
	__u64 msgs[CNT_CMDS][2];    /* [cmd][dir] */
	__u64 bytes[CNT_CMDS][2];   /* header + payload bytes */
	__u64 pkts_seen;
	__u64 pkts_ca;
	__u64 parse_errors;  /* broken headers (Ethernet/VLAN, IPv4, UDP, TCP), and
			      * datagrams or streams that end inside a CA header */
	__u64 learned;
	__u64 ringbuf_drops; /* segment records the full ring buffer refused */
	__u64 resyncs;
	__u64 retransmits;
	__u64 gaps;
	__u64 walk_limit;   /* packets with more messages than one walk takes */
	__u64 msgs_dropped; /* messages whose header was in a refused record:
			     * messages counted = delivered + these */
	__u64 pkt_drops;    /* REC_KIND_PACKET (-w) */
	__u64 unsynced_bytes; /* bytes sent for user space to search */
	__u64 ip_len_short;  /* CA packets whose IPv4 total length runs past the
			      * frame: receivers drop them, so they are not decoded */
	__u64 ca_fragments;  /* first IPv4 fragments on CA ports: not reassembled,
			      * not decoded (later fragments carry no ports) */
	__u64 flows_created; /* TCP directions the flows map took in ... */
	__u64 flows_ended;   /* ... and let go at FIN or RST: the rest of those
			      * created and no longer held were evicted (LRU) */
	/* Learned servers (see struct learned_server): flows to a pending
	 * one that did not start like CA, those that did, entries that
	 * expired unconfirmed. */
	__u64 learned_refused;
	__u64 learned_admitted;
	__u64 learned_expired;
	__u64 bad_checksum;  /* TCP segments to this host with a wrong checksum,
			      * in a direction shown to carry right ones: the
			      * stack drops them, so they are not decoded */
};

/* Learned endpoints: TCP servers, clients of a repeater. */
struct ep_key {
	__u32 ip;      /* host byte order */
	__u16 port;
	__u16 pad;
};

/* A TCP server learned from an announcement (the `servers` map's value).
 * Anybody can send a beacon or a search reply naming any address and
 * port, so an announcement alone makes an endpoint PENDING: only its
 * flows that start like a CA circuit are CA, each judged apart (struct
 * pending_flow).  User space CONFIRMS it (all its flows CA, circuits open
 * before catrace started included) when a local CA server process listens
 * on it.  A pending entry nothing refreshed for the TTL expires. */
struct learned_server {
	__u64 seen_ns;     /* last announcement or admitted flow (ktime) */
	__u8 confirmed;
	__u8 pad[7];
};

#define LEARNED_TTL_NS_DEFAULT (60ull * 1000000000ull)

/* A flow to a pending server between its SYN and its first payload,
 * keyed by the client-to-server tcp_dir_key: where each stream starts. */
struct pending_flow {
	__u32 cli_next;    /* client ISN + 1 */
	__u32 srv_next;    /* server ISN + 1, once its SYN-ACK was seen */
	__u8 srv_seen;
	__u8 pad[7];
};

/* One direction of a TCP flow. */
struct tcp_dir_key {
	__u32 saddr, daddr;
	__u16 sport, dport;
};

/* Where the kernel is in one direction's stream: the next byte expected,
 * and, in sync, what the bytes from there are (the rest of a header, or
 * payload bytes to copy, then payload bytes to skip). */
struct tcp_dir_state {
	__u64 skip;        /* payload bytes to skip after `copy` */
	__u32 next_seq;
	__u32 copy;        /* payload bytes of the current message to copy */
	__u32 unsynced_sent; /* bytes sent unframed since sync was lost */
	__u8 hdr_have;     /* bytes of a header split across segments */
	__u8 synced;       /* message boundaries known */
	__u8 lost;         /* the next record carries REC_F_LOST */
	__u8 boundary;     /* the next record carries REC_F_BOUNDARY */
	__u8 hdr_lost;     /* the split header's first bytes were in a
			    * refused record: its message is dropped whole */
	__u8 late;         /* records carry REC_F_LATE (a late segment's state) */
	__u8 csum_run;     /* right checksums in a row this way (CA_CSUM_RUN:
			    * verified, wrong ones dropped: ca_rule_csum_drops) */
	__u8 pad[1];
	/* The latest hole reported: bytes that come for it later were
	 * reordered, not retransmitted (hole_start == hole_end: none). */
	__u32 hole_start, hole_end;
	/* Bytes of a split header.  Twice the longest header, so that
	 * appending up to 24 bytes at any fill level up to 23 stays inside
	 * it: that is what lets the verifier accept the variable offset. */
	__u8 hdr[48];
};

_Static_assert(sizeof(struct tcp_dir_state) == 88, "tcp_dir_state layout changed");

/* Bytes sent unframed after sync is lost, for user space's search (its
 * window): past them, nothing until the kernel finds a boundary. */
#define REC_UNSYNCED_MAX (64 * 1024)

#define CATRACE_MAX_USER_PORTS 32

/* Who owns a set of pinned maps (`--pin`): `catrace stats` reads it to
 * tell a running tracer from pins a killed one left behind.  Written by
 * user space only; the BPF programs never touch it. */
struct catrace_meta {
	__u32 pid;
	__u32 pad;
	__u64 start_ticks;   /* /proc/PID/stat start time: a reused pid differs */
	char ifaces[64];     /* the iface label */
};

#endif
