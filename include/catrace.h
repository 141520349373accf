/* libcatrace: catrace's Channel Access decoder as a library.
 *
 * One interface for a capture file (or standard input) and for live
 * interfaces, shaped like libpcap's: open a source, set filters, then pull
 * messages one at a time (catrace_next) or hand them to a callback
 * (catrace_loop), and close.  Errors are a return code plus a one-line
 * reason kept per handle (catrace_geterr), as pcap_geterr does.
 *
 *     char err[CATRACE_ERRBUF_SIZE];
 *     catrace_t *h = catrace_open_offline("ioc.pcap", err);
 *     const struct catrace_msg *m;
 *
 *     if (!h) { fprintf(stderr, "%s\n", err); return 1; }
 *     catrace_set_pv(h, "LINAC:*");
 *     while (catrace_next(h, &m) == 1)
 *         printf("%s %s\n", m->command, m->pv ? m->pv : "?");
 *     catrace_free(h);
 *
 * What a message points to (strings, the raw bytes, the JSON text) belongs
 * to the library and stays valid until the next call on the same handle,
 * as libpcap's packet data does.  A handle is used by one thread at a
 * time.  Fields may be appended to struct catrace_msg in later versions
 * of the same soname; the library always allocates it.
 */
#ifndef CATRACE_H
#define CATRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the library exports; everything else in it is hidden. */
#if defined(__GNUC__)
#define CATRACE_API __attribute__((visibility("default")))
#else
#define CATRACE_API
#endif

/* Room for any error the open calls write (like PCAP_ERRBUF_SIZE). */
#define CATRACE_ERRBUF_SIZE 512

typedef struct catrace catrace_t;

/* Return codes (catrace_next, catrace_loop, the setters). */
#define CATRACE_OK            0
#define CATRACE_ERROR        -1   /* catrace_geterr says why */
#define CATRACE_ERROR_CLOSED -2   /* the handle was closed */
#define CATRACE_BREAK        -3   /* catrace_loop ended by catrace_breakloop */

enum catrace_dir {
	CATRACE_DIR_REQUEST = 0,   /* client -> server (or repeater) */
	CATRACE_DIR_RESPONSE = 1,  /* server (or repeater) -> client */
};

/* catrace_msg.flags */
#define CATRACE_MSG_TRUNCATED 0x1u  /* the capture ran out before the message */
#define CATRACE_MSG_MALFORMED 0x2u  /* the message contradicts itself */
#define CATRACE_MSG_RESYNC    0x4u  /* first message after a resynchronisation */
#define CATRACE_MSG_BIG       0x8u  /* payload longer than kept */

struct catrace_msg {
	uint64_t ts_ns;          /* Unix time, nanoseconds */
	uint64_t frame;          /* 1-based packet number (offline) */
	uint32_t src_ip, dst_ip; /* IPv4, host byte order */
	const char *src, *dst;   /* the same, dotted */
	uint16_t sport, dport;
	int tcp;                 /* 1: TCP circuit, 0: UDP */
	enum catrace_dir dir;
	/* The CA header, extended form decoded. */
	uint16_t cmd;
	uint16_t dtype;
	uint32_t size, count, p1, p2;
	uint8_t hdr_len;         /* 16, or 24 for the extended form */
	const char *command;     /* "ReadNotifyResponse", as catrace prints */
	const char *pv;          /* the channel's PV name, NULL when unknown */
	unsigned flags;          /* CATRACE_MSG_* */
	const char *problem;     /* why truncated or malformed, else "" */
	/* The whole message decoded (fields, value, everything catrace
	 * --json prints), as one JSON object: the same text, key for key. */
	const char *json;
	size_t json_len;
	/* The message's bytes: the header as sent, then the payload bytes
	 * the decoder kept (payload_len <= size; less when cut). */
	const uint8_t *raw;
	size_t raw_len;
};

/* A capture file (pcap or pcapng); "-" is standard input.  NULL on
 * failure, with the reason in errbuf (CATRACE_ERRBUF_SIZE bytes).  As
 * for catrace, EPICS_CA_SERVER_PORT and EPICS_CA_REPEATER_PORT in the
 * environment name CA's ports. */
CATRACE_API catrace_t *catrace_open_offline(const char *path, char *errbuf);
/* A capture read from an open stream, which the library owns from the
 * call on: closed with the handle, or at once when this fails. */
CATRACE_API catrace_t *catrace_fopen_offline(FILE *fp, char *errbuf);
/* Live: the programs attached to these interfaces (needs root or
 * CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON), detached by catrace_close. */
CATRACE_API catrace_t *catrace_open_live(const char *const *ifaces, unsigned n_ifaces,
					 char *errbuf);

/* Filters, before the first message.  Each call to catrace_set_pv adds a
 * glob (a message passes when its PV matches any); catrace_set_cmd adds
 * a comma-separated list as catrace --cmd takes it; catrace_set_filter
 * sets a tcpdump filter expression (live: the subset catrace -i takes).
 * CATRACE_OK, or CATRACE_ERROR and catrace_geterr. */
CATRACE_API int catrace_set_pv(catrace_t *h, const char *glob);
CATRACE_API int catrace_set_cmd(catrace_t *h, const char *list);
CATRACE_API int catrace_set_filter(catrace_t *h, const char *expr);
/* Array elements a value shows (catrace --max-elements; default 10, 0:
 * all).  Live, the kernel copies what 10 elements need: set at open. */
CATRACE_API int catrace_set_max_elements(catrace_t *h, size_t n);

/* The next message: 1 and *msg set; 0 at the end of a capture (live: a
 * poll of timeout_ms passed with nothing, see catrace_set_timeout);
 * CATRACE_ERROR or CATRACE_ERROR_CLOSED. */
CATRACE_API int catrace_next(catrace_t *h, const struct catrace_msg **msg);

typedef void (*catrace_handler)(void *user, const struct catrace_msg *msg);
/* Call fn for up to cnt messages (cnt <= 0: until the end).  Returns the
 * number handled, CATRACE_BREAK after catrace_breakloop, or an error. */
CATRACE_API int catrace_loop(catrace_t *h, int cnt, catrace_handler fn, void *user);
/* From a handler or a signal handler: catrace_loop returns. */
CATRACE_API void catrace_breakloop(catrace_t *h);
/* Another port CA servers listen on (catrace --port).  Offline
 * only: live, the kernel's ports are set at open. */
CATRACE_API int catrace_add_port(catrace_t *h, unsigned port);
/* Live: how long catrace_next waits for traffic before returning 0
 * (default 100 ms; negative: until a message comes). */
CATRACE_API int catrace_set_timeout(catrace_t *h, int timeout_ms);

/* For language bindings, where a call costs more than a message: the
 * next messages, up to max (what is ready: live, it does not wait for
 * more once it has one), as an array of fixed-size headers and one data
 * buffer, both owned by the library until the next call.  A message's
 * data (at data_off) is json_len bytes of JSON, raw_len raw bytes,
 * pv_len bytes of PV name (none when pv_len is CATRACE_PACKED_NO_PV) and
 * command_len bytes of command name.  Returns how many headers (0 at the
 * end, or live when the timeout passed), or an error (after the messages
 * that came before it). */
struct catrace_packed {
	uint64_t ts_ns, frame;
	uint32_t src_ip, dst_ip;
	uint16_t sport, dport, cmd, dtype;
	uint32_t size, count, p1, p2;
	uint32_t flags;
	uint32_t json_len, raw_len;
	uint16_t pv_len;
	uint8_t tcp, dir, hdr_len, command_len;
	uint8_t pad[2];
	uint32_t data_off;
};
#define CATRACE_PACKED_NO_PV 0xffffu
CATRACE_API int catrace_next_packed(catrace_t *h, const struct catrace_packed **hdrs,
				    const void **data, size_t *data_len, unsigned max);

/* The last error on this handle, one line. */
CATRACE_API const char *catrace_geterr(catrace_t *h);
/* Counters so far: packets (frames or live records) read, messages
 * decoded, messages that passed the filters. */
CATRACE_API void catrace_stats(catrace_t *h, uint64_t *packets, uint64_t *messages,
			       uint64_t *passed);

/* End the source (live: detach) and free the decoder; the handle stays,
 * and calls on it return CATRACE_ERROR_CLOSED.  Closing twice is fine. */
CATRACE_API void catrace_close(catrace_t *h);
/* Close if needed, and free the handle itself. */
CATRACE_API void catrace_free(catrace_t *h);

/* "0.1.0": the library's version. */
CATRACE_API const char *catrace_lib_version(void);

#ifdef __cplusplus
}
#endif

#endif
