/* output: one decoded CA message -> a text line (caproto-shark's shape,
 * with the PV name added) or a JSON object.  Appends to an sbuf; printing
 * is the caller's business. */
#ifndef CATRACE_OUTPUT_H
#define CATRACE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca_decode.h"
#include "dbr.h"
#include "sbuf.h"

enum ts_format {
	TS_EPOCH,        /* seconds.micro since 1970 (default, tcpdump -tt) */
	TS_NONE,         /* -t */
	TS_DELTA,        /* -ttt: since the previous line */
	TS_DATE,         /* -tttt: UTC date and time */
	TS_SINCE_FIRST,  /* -ttttt: since the first line */
};

struct proc_owner;

/* Where a message was seen, and what it concerns. */
struct track_client;
struct dbr_enum_names;
struct seg_ring;

struct msg_ctx {
	uint64_t ts_ns;
	uint64_t frame;         /* 1-based packet number in the source */
	uint32_t src_ip, dst_ip;
	uint16_t sport, dport;
	bool tcp;
	const char *pv;         /* NULL when unknown */
	size_t pv_len;
	const char *pv_why;     /* pv unknown for a message about a channel: why */
	/* The channel's enum state names (from its GR/CTRL_ENUM replies), to
	 * name enum values; NULL when not known. */
	const struct dbr_enum_names *enums;
	/* The circuit's client names (CLIENT_NAME, HOST_NAME), or NULL. */
	const struct track_client *who;
	/* The local processes at the circuit's ends (live), or NULL. */
	const struct proc_owner *proc_client, *proc_server;
	/* Where the payload (UDP datagram, or the TCP segment that carried
	 * the message's last byte) is in frame `frame`: data_len captured
	 * bytes from data_off, the first with sequence number data_seq (TCP).
	 * have_data false: no frame to point into (live records). */
	bool have_data;
	uint32_t data_off, data_len, data_seq;
	/* That frame's bytes (at least data_off of them) and link type, when
	 * it is the frame being read; NULL otherwise (a message completed by
	 * a segment held earlier, live). */
	const uint8_t *frame_data;
	int linktype;
	/* Where the direction's recent segments were (TCP, with field
	 * output), or NULL. */
	const struct seg_ring *segs;
};

struct output {
	enum out_style style;
	enum ts_format ts;
	bool nano;              /* 9 decimals in text times */
	size_t max_elements;
	const char *tmpl;       /* --format template, or NULL */
	/* --json=full: every byte of each message too, so `catrace build`
	 * can rebuild it (see put_json_full). */
	bool full;
	bool tree;              /* -V: each line followed by its field tree */
	bool hexdump;           /* -X: and by the message's bytes */
	bool json_fields;       /* --json=fields: one object of fields each */
	bool all_layers;        /* --all-layers: the frame's headers too */
	/* state for relative times */
	bool have_first;
	uint64_t first_ns, prev_ns;
};

void output_init(struct output *o);
/* Append one message (a whole line, without the newline). */
void output_format(struct output *o, struct sbuf *sb, const struct msg_ctx *c,
		   const struct ca_msg *m);
/* --json=full's line for an empty UDP datagram (a registration with the
 * repeater): {"ts":..,"frame":..,"src":..,"sport":..,"dst":..,"dport":..,
 * "proto":"udp","datagram":"empty"}. */
void output_format_empty_datagram(struct output *o, struct sbuf *sb, const struct msg_ctx *c);
/* The time stamp that starts a text line (with its space; nothing for -t),
 * for other line formats (the write audit). */
void output_put_time(struct output *o, struct sbuf *sb, uint64_t ts_ns);
/* The local processes at the ends, named by side: " client=camonitor[77]
 * server=softIoc[1234]" in text, ",\"client_proc\":{...},\"server_proc\":
 * {...}" in JSON (beacons: server and repeater; repeater registrations:
 * client and repeater); nothing for an end that is not known. */
void output_put_procs(struct sbuf *sb, enum out_style style, const struct msg_ctx *c,
		      const struct ca_msg *m);
/* After a value whose payload was cut on purpose (the kernel's copy
 * budget, the decoder's keep limit) where elements to show were lost:
 * " (cut: K of N bytes)" in text, ",\"data_cut\":{...}" in JSON. */
void output_put_cut(struct sbuf *sb, enum out_style style, size_t kept, uint32_t size);
/* Check a --format template; returns NULL if fine, else the bad token. */
const char *output_check_template(const char *tmpl);

void format_ip(char *buf, size_t n, uint32_t ip);

#endif
