/* The record the BPF programs send to user space, one per CA message, and
 * the counters they keep.  One definition for both sides: fixed-width
 * fields, explicit padding, sizes asserted.  Bump CATRACE_REC_VERSION when
 * the layout changes; user space refuses records of another version.
 */
#ifndef CATRACE_RECORD_H
#define CATRACE_RECORD_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define CATRACE_REC_VERSION 1

/* rec.kind */
#define REC_KIND_MSG   1
#define REC_KIND_CLOSE 2   /* a TCP FIN or RST: no CA fields, no data */
#define REC_KIND_PACKET 3  /* a whole CA packet for -w (struct ca_pkt_record) */

/* rec.dir: which way relative to the CA server */
#define REC_DIR_REQUEST  0
#define REC_DIR_RESPONSE 1

/* rec.flags */
#define REC_F_EGRESS       0x01  /* seen by the tc egress program */
#define REC_F_RESYNC       0x02  /* first message after the flow lost sync */
#define REC_F_HDR_SPLIT    0x04  /* header completed from the previous segment */
#define REC_F_DATA_PARTIAL 0x08  /* payload continues past this packet */
#define REC_F_TRUNCATED    0x10  /* the packet ends inside this message's header
				  * or a UDP message's payload */
#define REC_F_NAME_TRUNC   0x20  /* name longer than the bytes copied */
#define REC_F_FIN          0x40  /* REC_KIND_CLOSE: this direction sent FIN */
#define REC_F_RST          0x80  /* REC_KIND_CLOSE: RST */

/* Payload bytes a record can carry: names of SEARCH/CREATE_CHAN requests,
 * or the first bytes of a value. */
#define REC_NAME_MAX   128
#define REC_DATA_MAX   256

struct ca_record {
	__u16 version;
	__u16 rec_len;      /* bytes of this record, data included */
	__u8 kind;
	__u8 dir;
	__u8 proto;         /* 6 TCP, 17 UDP */
	__u8 flags;
	__u64 ts_ns;        /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 ifindex;
	__u32 saddr;        /* host byte order */
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u16 cmd;
	__u16 dtype;
	__u32 size;         /* payload size, extended form decoded */
	__u32 count;
	__u32 p1;
	__u32 p2;
	__u32 seq;          /* TCP sequence number of the message's first byte */
	__u8 hdr_len;       /* 16 or 24 */
	__u8 pad0[3];
	__u16 data_len;     /* payload bytes that follow the record */
	__u16 pad1;
	/* data_len bytes of the message's payload follow (the PV name of a
	 * SEARCH or CREATE_CHAN request, else the first bytes of a value). */
};

_Static_assert(sizeof(struct ca_record) == 64, "ca_record layout changed");

/* With -w: the bytes of each CA packet (up to the snap length), sent once
 * per packet before its message records.  Sized exactly to the packet. */
struct ca_pkt_record {
	__u16 version;
	__u16 rec_len;      /* header + cap_len */
	__u8 kind;          /* REC_KIND_PACKET */
	__u8 dir;
	__u8 flags;         /* REC_F_EGRESS */
	__u8 pad0;
	__u64 ts_ns;        /* CLOCK_MONOTONIC */
	__u32 ifindex;
	__u32 wire_len;     /* bytes of the packet */
	__u32 cap_len;      /* bytes that follow */
	__u16 gso_size;     /* tc egress: the stack cuts the payload into
			     * segments of this size after us (0: none) */
	__u16 gso_segs;
};

_Static_assert(sizeof(struct ca_pkt_record) == 32, "ca_pkt_record layout changed");

/* The largest packet a record carries (a 64 KB GSO packet and headers). */
#define REC_PKT_MAX (128 * 1024)

/* Per-CPU counters (one array entry); user space sums the CPUs. */
#define CNT_CMDS 32   /* command codes 0..27, 28..31 "other" */

struct ca_counters {
	__u64 msgs[CNT_CMDS][2];    /* [cmd][dir] */
	__u64 bytes[CNT_CMDS][2];   /* header + payload bytes */
	__u64 pkts_seen;
	__u64 pkts_ca;
	__u64 parse_errors;
	__u64 learned;
	__u64 ringbuf_drops;
	__u64 resyncs;
	__u64 retransmits;
	__u64 gaps;
	__u64 walk_limit;   /* packets with more messages than one walk takes */
};

/* Learned endpoints: TCP servers, clients of a repeater. */
struct ep_key {
	__u32 ip;      /* host byte order */
	__u16 port;
	__u16 pad;
};

/* One direction of a TCP flow. */
struct tcp_dir_key {
	__u32 saddr, daddr;
	__u16 sport, dport;
};

struct tcp_dir_state {
	__u64 skip;        /* payload bytes of the current message still to come */
	__u32 next_seq;
	__u8 hdr_have;     /* bytes of a header split across segments */
	__u8 synced;       /* message boundaries known */
	__u8 name_pending; /* a SEARCH/CREATE_CHAN waits for the rest of its name */
	__u8 pend_flags;   /* record flags of the waiting message */
	/* Bytes of a split header.  Twice the longest header, so that
	 * appending up to 24 bytes at any fill level up to 23 stays inside
	 * it: that is what lets the verifier accept the variable offset. */
	__u8 hdr[48];
	/* The waiting message: its header, and the name bytes so far.  The
	 * name buffer is twice REC_NAME_MAX for the same verifier reason. */
	__u32 pend_seq;
	__u16 name_have;
	__u16 name_want;
	__u8 pend_hdr[24];
	__u8 name[2 * REC_NAME_MAX];
};

_Static_assert(sizeof(struct tcp_dir_state) == 352, "tcp_dir_state layout changed");

#define CATRACE_MAX_USER_PORTS 8

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
