/* ca_stream: frames one direction of a CA circuit (a byte stream) into
 * messages.  Messages may span any number of segments; only the first
 * `keep_limit` payload bytes of a message are kept (enough for the
 * metadata and the first elements), the rest is skipped without copying,
 * so an 8 MB waveform costs no memory.  Gaps (bytes the capture lacks) are
 * absorbed inside a payload; a gap that swallows a header loses sync, and
 * the framer then looks for the next plausible header and counts a
 * resynchronisation.
 *
 * Resources are bounded whatever the bytes: the search for a boundary is
 * a loop, not a recursion (bytes a false boundary hands back are simply
 * read again), its window grows on demand up to CA_STREAM_RESYNC_WINDOW
 * and is freed once in sync, a finished message's big keep buffer is
 * freed, and streams may share a budget for what their buffers hold.
 */
#ifndef CATRACE_CA_STREAM_H
#define CATRACE_CA_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca_decode.h"

#define CA_STREAM_SEG_STARTS 16

enum ca_stream_state {
	CS_HEADER,   /* in sync, collecting a header */
	CS_PAYLOAD,  /* in sync, inside a payload */
	CS_RESYNC,   /* out of sync, searching for a header */
};

/* Bytes that many streams' buffers may hold together.  A stream denied
 * memory keeps fewer payload bytes (the message is then marked
 * CA_MSG_BIG, as one beyond keep_limit) or searches a smaller window. */
struct ca_stream_budget {
	size_t used, limit;
	uint64_t denied;         /* times a buffer could not grow */
};

struct ca_stream {
	enum ca_stream_state state;
	enum ca_dir dir;
	size_t keep_limit;

	uint8_t hdr[CA_EXT_HDR_LEN];
	size_t hdr_have;

	struct ca_msg cur;       /* message in progress (CS_PAYLOAD) */
	uint8_t *keep;           /* its kept payload bytes */
	size_t keep_len, keep_cap;
	bool keep_stopped;       /* no more bytes kept for this message */
	uint64_t payload_left;   /* bytes of its payload still to come */
	uint64_t lost;           /* bytes of its payload the capture lacks */
	unsigned next_flags;     /* flags for the next message (RESYNC) */

	uint8_t *rbuf;           /* CS_RESYNC search window */
	size_t rlen, rbuf_cap;
	/* Where in the window segments began: a sender writes messages
	 * whole more often than not, so a segment's first byte is the
	 * likeliest place for one to start after a hole. */
	uint32_t seg_at[CA_STREAM_SEG_STARTS];
	unsigned n_seg_at;
	uint64_t skipped;        /* bytes discarded while out of sync */
	int resync_counted;      /* this loss of sync already counted */

	unsigned probation;      /* messages after a resync still checked */

	uint64_t resyncs;        /* times sync was lost and searched for */

	struct ca_stream_budget *budget;  /* NULL: unlimited */

	/* Stream positions, for where each message starts: bytes fed, gaps
	 * and skips all count, so position + seq0 is a sequence number. */
	uint64_t pos_end;        /* position after everything given so far */
	uint64_t cur_at;         /* where the message in progress began */
	bool seq_known;
	uint32_t seq0;           /* sequence number of position 0 */
};

/* After a resync the next messages must look right too, or the boundary
 * found was a false one and the search starts again. */
#define CA_STREAM_PROBATION 4

void ca_stream_init(struct ca_stream *s, enum ca_dir dir, size_t keep_limit,
		    int start_in_sync);
void ca_stream_free(struct ca_stream *s);
/* Share `b` with other streams (before the first feed). */
void ca_stream_set_budget(struct ca_stream *s, struct ca_stream_budget *b);
void ca_stream_feed(struct ca_stream *s, const uint8_t *d, size_t n,
		    ca_msg_fn fn, void *ctx);
/* The next byte given (fed, or a gap's first) has sequence number seq:
 * messages then say where they begin (ca_msg.at). */
void ca_stream_seq(struct ca_stream *s, uint32_t seq);
/* n bytes of the stream are missing from the capture. */
void ca_stream_gap(struct ca_stream *s, uint64_t n, ca_msg_fn fn, void *ctx);
/* n payload bytes were skipped on purpose by whoever copied the stream
 * (the kernel's copy budget): the message in progress keeps what it has
 * and is marked CA_MSG_BIG.  False when the framer is not inside a payload
 * that long (the two disagree): the bytes are then treated as a gap. */
bool ca_stream_skip(struct ca_stream *s, uint64_t n, ca_msg_fn fn, void *ctx);
/* A message boundary is known to be here (the kernel found it): unless
 * the framer already stands on one, what it holds is given up (a message
 * in progress reported cut short) and it frames from here.  False when it
 * was not already on a boundary. */
bool ca_stream_boundary(struct ca_stream *s, ca_msg_fn fn, void *ctx);
/* The stream ended (FIN, RST, end of capture): report a message cut short. */
void ca_stream_end(struct ca_stream *s, const char *why, ca_msg_fn fn, void *ctx);

#define CA_STREAM_RESYNC_WINDOW (64 * 1024)
/* A keep buffer larger than this is freed when its message is done. */
#define CA_STREAM_KEEP_IDLE 4096

#endif
