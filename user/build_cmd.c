/* build_cmd: `catrace build [-w FILE] [FILE...]`: JSON lines (the schema
 * --json and --json=full print, see ca_build.h) -> a pcap of the CA
 * messages they describe.
 *
 * TCP circuits: the first message of a circuit (client and server
 * address and port, the client being the side that sends requests) is
 * preceded by a SYN, SYN-ACK, ACK exchange at its time, unless it says
 * "handshake": false.  Sequence numbers then run on from the handshake in
 * each direction (or from a message's "seq"), acknowledgments follow the
 * other side's.  Messages in a row with the same "frame" and the same
 * addresses go into one packet, as they came; a packet longer than an
 * IPv4 datagram holds is split into several segments.
 *
 * Errors: a line that is not JSON or does not describe a message stops the
 * build with "catrace build: FILE:LINE: what is wrong" and exit code 1;
 * the pcap written so far holds the packets of the lines before it. */
#include "build_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_build.h"
#include "frame_build.h"
#include "json.h"
#include "pcap_writer.h"

/* The longest line read: a 16 MiB payload in hex, with room for the rest. */
#define BUILD_MAX_LINE ((size_t)CA_BUILD_MAX_PAYLOAD * 2 + 65536)

static const char build_usage[] =
"Usage: catrace build -w FILE [FILE...]\n"
"Build a capture from CA messages given as JSON lines (what catrace --json\n"
"and --json=full print), read from the FILEs or standard input.\n"
"  -w FILE      write the pcap to FILE (\"-\": standard output)\n"
"  -h, --help   this help\n"
"A field left out takes its default (sizes, padding, extended form, TCP\n"
"handshake, sequence numbers, checksums); values may be given by name\n"
"(\"data_type\": \"TIME_DOUBLE\", \"data\": [3.14], \"pv\": \"T:ai\"); a field\n"
"{\"range\": [1, 1000]} makes one message per value.  See catrace(8).\n"
"Example:\n"
"  catrace -r in.pcap --json=full | jq -c '.' | catrace build -w out.pcap\n";

struct circuit {
	uint32_t cli_ip, srv_ip;
	uint16_t cli_port, srv_port;
	uint32_t next[2];        /* by enum ca_dir: request = client's */
	bool hole[2];            /* a hole before the next message */
};

struct builder {
	struct pcap_writer *w;
	struct circuit *circ;
	size_t n_circ, cap_circ;
	uint64_t last_ts;
	bool have_ts;
	uint16_t ip_id;
	/* the packet being gathered */
	bool pending;
	struct build_msg head;   /* addressing of the pending packet (no bytes) */
	uint32_t seq;            /* of its first byte */
	bool head_after_hole;    /* it starts after a hole in its stream */
	uint8_t *buf;
	size_t len, cap;
	uint8_t *frame;          /* one frame */
	uint64_t packets, messages;
	char err[512];
};

static struct circuit *circuit_of(struct builder *b, const struct build_msg *m, bool *fresh)
{
	bool req = m->dir == CA_DIR_REQUEST;
	uint32_t cip = req ? m->src_ip : m->dst_ip, sip = req ? m->dst_ip : m->src_ip;
	uint16_t cp = req ? m->sport : m->dport, sp = req ? m->dport : m->sport;
	struct circuit *c;
	size_t i;

	*fresh = false;
	/* Newest first: the messages of a capture mostly follow one circuit. */
	for (i = b->n_circ; i-- > 0;) {
		c = &b->circ[i];
		if (c->cli_ip == cip && c->srv_ip == sip && c->cli_port == cp && c->srv_port == sp)
			return c;
	}
	if (b->n_circ == b->cap_circ) {
		size_t nc = b->cap_circ ? b->cap_circ * 2 : 16;
		void *p = realloc(b->circ, nc * sizeof(*b->circ));

		if (!p)
			return NULL;
		b->circ = p;
		b->cap_circ = nc;
	}
	c = &b->circ[b->n_circ++];
	memset(c, 0, sizeof(*c));
	c->cli_ip = cip;
	c->srv_ip = sip;
	c->cli_port = cp;
	c->srv_port = sp;
	/* Fixed initial numbers, different per side, so a rebuilt capture is
	 * the same every time. */
	c->next[CA_DIR_REQUEST] = 1000001;
	c->next[CA_DIR_RESPONSE] = 2000001;
	*fresh = true;
	return c;
}

static int put_frame(struct builder *b, uint64_t ts, const struct frame_spec *s,
		     const uint8_t *data, size_t len)
{
	size_t n = frame_build(b->frame, FRAME_BUILD_ETH + 65535, s, data, len);
	char err[256];

	if (!n) {
		snprintf(b->err, sizeof(b->err), "a %s payload of %zu bytes does not fit a packet",
			 s->tcp ? "TCP" : "UDP", len);
		return -1;
	}
	if (pcap_writer_write(b->w, ts, b->frame, (uint32_t)n, (uint32_t)n, err, sizeof(err))) {
		snprintf(b->err, sizeof(b->err), "%s", err);
		return -1;
	}
	b->packets++;
	return 0;
}

static struct frame_spec spec_of(struct builder *b, const struct build_msg *m)
{
	struct frame_spec s;

	memset(&s, 0, sizeof(s));
	s.tcp = m->tcp;
	s.src_ip = m->src_ip;
	s.dst_ip = m->dst_ip;
	s.sport = m->sport;
	s.dport = m->dport;
	s.ip_id = b->ip_id++;
	return s;
}

/* SYN, SYN-ACK, ACK at ts, from the client's side of m's circuit. */
static int handshake(struct builder *b, const struct build_msg *m, struct circuit *c, uint64_t ts)
{
	struct build_msg cli = *m;
	struct frame_spec s;

	cli.dir = CA_DIR_REQUEST;
	cli.src_ip = c->cli_ip;
	cli.dst_ip = c->srv_ip;
	cli.sport = c->cli_port;
	cli.dport = c->srv_port;
	s = spec_of(b, &cli);
	s.seq = c->next[CA_DIR_REQUEST] - 1;
	s.flags = TCPF_SYN;
	if (put_frame(b, ts, &s, NULL, 0))
		return -1;
	s = spec_of(b, &cli);
	s.src_ip = c->srv_ip;
	s.dst_ip = c->cli_ip;
	s.sport = c->srv_port;
	s.dport = c->cli_port;
	s.seq = c->next[CA_DIR_RESPONSE] - 1;
	s.ack = c->next[CA_DIR_REQUEST];
	s.flags = TCPF_SYN | TCPF_ACK;
	if (put_frame(b, ts, &s, NULL, 0))
		return -1;
	s = spec_of(b, &cli);
	s.seq = c->next[CA_DIR_REQUEST];
	s.ack = c->next[CA_DIR_RESPONSE];
	s.flags = TCPF_ACK;
	return put_frame(b, ts, &s, NULL, 0);
}

/* After a packet that follows a hole: the peer acknowledges it at once,
 * in as many bare ACKs as catrace waits for before it gives up the hole
 * (flow.c, FLOW_HOLE_PATIENCE, plus one), as a capture that missed
 * segments shows the peer did.  Then the messages after the hole come out
 * at their own packets, as they did from the capture the line came from. */
#define BUILD_HOLE_ACKS 9

static int ack_past_hole(struct builder *b, const struct build_msg *m, uint32_t peer_seq,
			 uint32_t end)
{
	struct frame_spec s;
	int i;

	for (i = 0; i < BUILD_HOLE_ACKS; i++) {
		s = spec_of(b, m);
		s.src_ip = m->dst_ip;
		s.dst_ip = m->src_ip;
		s.sport = m->dport;
		s.dport = m->sport;
		s.seq = peer_seq;
		s.ack = end;
		s.flags = TCPF_ACK;
		if (put_frame(b, m->ts_ns, &s, NULL, 0))
			return -1;
	}
	return 0;
}

static int flush_pending(struct builder *b)
{
	const struct build_msg *m = &b->head;
	size_t off = 0, max = m->tcp ? FRAME_BUILD_MAX_TCP_PAYLOAD : FRAME_BUILD_MAX_UDP_PAYLOAD;
	uint32_t ack = 0, s_end = b->seq + (uint32_t)b->len;

	if (!b->pending)
		return 0;
	b->pending = false;
	if (m->tcp) {
		bool fresh;
		struct circuit *c = circuit_of(b, m, &fresh);

		if (!c) {
			snprintf(b->err, sizeof(b->err), "out of memory");
			return -1;
		}
		ack = c->next[m->dir == CA_DIR_REQUEST ? CA_DIR_RESPONSE : CA_DIR_REQUEST];
	} else if (b->len > max) {
		snprintf(b->err, sizeof(b->err), "a UDP payload of %zu bytes does not fit a datagram",
			 b->len);
		return -1;
	}
	/* TCP: a packet longer than one segment holds goes as several. */
	do {
		size_t n = b->len - off < max ? b->len - off : max;
		struct frame_spec s = spec_of(b, m);

		s.seq = b->seq + (uint32_t)off;
		s.ack = ack;
		s.flags = TCPF_PSH | TCPF_ACK;
		if (put_frame(b, m->ts_ns, &s, b->buf + off, n))
			return -1;
		off += n;
	} while (off < b->len);
	b->len = 0;
	if (m->tcp && b->head_after_hole)
		return ack_past_hole(b, m, ack, s_end);
	return 0;
}

static bool same_packet(const struct builder *b, const struct build_msg *m, uint32_t seq)
{
	const struct build_msg *h = &b->head;

	return b->pending && h->has_frame && m->has_frame && h->frame == m->frame &&
	       h->tcp == m->tcp && h->src_ip == m->src_ip && h->dst_ip == m->dst_ip &&
	       h->sport == m->sport && h->dport == m->dport &&
	       (!m->tcp || b->seq + (uint32_t)b->len == seq);
}

static int append(struct builder *b, const struct build_msg *m)
{
	if (b->len + m->len > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		void *p;

		while (nc < b->len + m->len)
			nc *= 2;
		p = realloc(b->buf, nc);
		if (!p) {
			snprintf(b->err, sizeof(b->err), "out of memory");
			return -1;
		}
		b->buf = p;
		b->cap = nc;
	}
	if (m->len)  /* an empty datagram has no bytes at all */
		memcpy(b->buf + b->len, m->bytes, m->len);
	b->len += m->len;
	return 0;
}

static int add_msg(struct builder *b, struct build_msg *m)
{
	uint32_t seq = 0;
	bool after_hole = false;

	if (!m->has_ts)
		m->ts_ns = b->have_ts ? b->last_ts + 1000 : 1000000000ull;
	b->last_ts = m->ts_ns;
	b->have_ts = true;
	if (m->tcp) {
		bool fresh;
		struct circuit *c = circuit_of(b, m, &fresh);

		if (!c) {
			snprintf(b->err, sizeof(b->err), "out of memory");
			return -1;
		}
		if (fresh && m->has_seq)
			c->next[m->dir] = m->seq;
		if (fresh && m->handshake) {
			if (flush_pending(b))
				return -1;
			/* Looked up again: nothing may have moved the table, but
			 * a pointer into a growable array is not kept across calls. */
			c = circuit_of(b, m, &fresh);
			if (handshake(b, m, c, m->ts_ns))
				return -1;
		}
		seq = m->has_seq ? m->seq : c->next[m->dir] + m->gap;
		after_hole = m->gap || c->hole[m->dir];
		c->next[m->dir] = seq + (uint32_t)m->len + m->tail_gap;
		c->hole[m->dir] = m->tail_gap > 0;
	}
	if (!same_packet(b, m, seq)) {
		if (flush_pending(b))
			return -1;
		b->pending = true;
		b->head = *m;
		b->head.bytes = NULL;
		b->seq = seq;
		b->head_after_hole = after_hole;
	}
	b->messages++;
	return append(b, m);
}

/* One line: parse, expand its ranges, add each message. */
static int build_line(struct builder *b, char *line, size_t len)
{
	struct json_val v;
	struct json_err je;
	struct build_ranges r;
	uint64_t i;
	int rc = 0;

	if (!json_parse(line, len, &v, &je)) {
		snprintf(b->err, sizeof(b->err), "column %zu: %s", je.col, je.msg);
		return -1;
	}
	if (v.type != JSON_OBJ) {
		json_free(&v);
		snprintf(b->err, sizeof(b->err), "a JSON object expected");
		return -1;
	}
	if (build_ranges_prepare(&v, &r, b->err, sizeof(b->err))) {
		json_free(&v);
		return -1;
	}
	for (i = 0; i < r.n && rc == 0; i++) {
		struct build_msg m;

		build_ranges_set(&r, i);
		rc = build_msg_from_json(&v, &m, b->err, sizeof(b->err));
		if (rc == 0)
			rc = add_msg(b, &m);
		build_msg_free(&m);
	}
	build_ranges_restore(&r);
	json_free(&v);
	return rc;
}

static bool blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* 0, or 1 with the error printed. */
static int build_stream(struct builder *b, FILE *in, const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int rc = 0;

	while ((n = getline(&line, &cap, in)) >= 0) {
		lineno++;
		if ((size_t)n > BUILD_MAX_LINE) {
			fprintf(stderr, "catrace build: %s:%lu: a line longer than %zu bytes\n",
				name, lineno, BUILD_MAX_LINE);
			rc = 1;
			break;
		}
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (blank(line, (size_t)n))
			continue;
		if (build_line(b, line, (size_t)n)) {
			fprintf(stderr, "catrace build: %s:%lu: %s\n", name, lineno, b->err);
			rc = 1;
			break;
		}
	}
	if (!rc && ferror(in)) {
		fprintf(stderr, "catrace build: %s: read error\n", name);
		rc = 1;
	}
	free(line);
	return rc;
}

int build_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pcap_writer_opts wo;
	struct builder b;
	const char *out = NULL;
	char err[512];
	int c, rc = 0, i;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hw:", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			out = optarg;
			break;
		case 'h':
			fputs(build_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "catrace build: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "catrace build: unknown option '%s' (catrace build --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (!out) {
		fprintf(stderr, "catrace build: where to write? give -w FILE (or -w - for standard output)\n");
		return 2;
	}
	memset(&wo, 0, sizeof(wo));
	wo.path = out;
	memset(&b, 0, sizeof(b));
	b.frame = malloc(FRAME_BUILD_ETH + 65535);
	if (!b.frame) {
		fprintf(stderr, "catrace build: out of memory\n");
		return 1;
	}
	b.w = pcap_writer_open(&wo, err, sizeof(err));
	if (!b.w) {
		fprintf(stderr, "catrace build: %s\n", err);
		free(b.frame);
		return 1;
	}
	if (optind == argc) {
		rc = build_stream(&b, stdin, "<stdin>");
	} else {
		for (i = optind; i < argc && !rc; i++) {
			FILE *f = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;

			if (!f) {
				fprintf(stderr, "catrace build: %s: %m\n", argv[i]);
				rc = 1;
				break;
			}
			rc = build_stream(&b, f, argv[i]);
			if (f != stdin)
				fclose(f);
		}
	}
	if (flush_pending(&b) && !rc) {
		fprintf(stderr, "catrace build: %s\n", b.err);
		rc = 1;
	}
	if (pcap_writer_close(b.w, err, sizeof(err)) && !rc) {
		fprintf(stderr, "catrace build: %s\n", err);
		rc = 1;
	}
	free(b.circ);
	free(b.buf);
	free(b.frame);
	return rc;
}
