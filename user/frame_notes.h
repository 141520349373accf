/* frame_notes: frames to be written (-w pcapng) that wait for the CA
 * messages they carry, so that each goes to the file with a comment
 * listing them.
 *
 * The problem: a message's frame is the packet that carried its last byte,
 * but the decoder may produce it long after that packet was read (TCP
 * reassembly holds segments behind a hole; a circuit's messages wait for
 * the other direction's; kept frames are decoded once their flow is known
 * to be CA; a message cut by a gap is stamped with the packet of its last
 * bytes).  So frames are queued, in the order they are read, each with the
 * text of the messages reported for it, and leave only when the decoder
 * says that no message can still come for them: frame_notes_release(below)
 * with below = the oldest frame the pipeline still holds anything of
 * (pipeline_oldest_pending).
 *
 * Frames are found by a key: the frame number offline (exact), the time
 * stamp live (a -w packet and its decoded record share it; of several
 * frames with one time stamp, the newest takes the note: a GSO packet's
 * last segment, which carried its last bytes).  Live packets come from
 * several CPUs, so keys may go down: the queue then searches all of it
 * rather than stopping at the first larger key, and a frame leaves when
 * those before it have.
 *
 * Bounded: past max_frames frames or max_bytes of frames and text, the
 * oldest leave at once with the notes they have (counted in `forced`); a
 * note that comes for a frame already gone is counted in `late` and
 * dropped.  The file then still holds every packet, and only those
 * counted lack (part of) their comment.
 *
 * Which frames are written: with `only_noted` (message filters: --pv,
 * --cmd, --writes) only those with at least one note, or that carried
 * part of a noted message (frame_notes_mark_part: a message spread over
 * several TCP segments keeps them all); else every frame marked CA
 * (frame_notes_mark_ca), noted or part.  The others are dropped
 * (`skipped`).
 */
#ifndef CATRACE_FRAME_NOTES_H
#define CATRACE_FRAME_NOTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

#define FRAME_NOTES_MAX_FRAMES 65536u
#define FRAME_NOTES_MAX_BYTES ((size_t)64 << 20)
/* Between two notes of one frame. */
#define FRAME_NOTES_SEP "; "

struct frame_note {
	struct frame_note *next;
	uint64_t key;
	uint64_t ts_ns;
	uint32_t if_id;
	uint32_t caplen, wirelen;
	bool ca;
	bool part;               /* carried bytes of a noted message */
	unsigned n_notes;
	struct sbuf text;        /* the notes, joined by FRAME_NOTES_SEP */
	uint8_t data[];
};

/* Write one frame; its text is NUL-terminated (sbuf_str) or empty.
 * Non-zero: stop writing (an error, the file limit): frames still queued
 * are dropped. */
typedef int (*frame_notes_write_fn)(void *ctx, const struct frame_note *f);

struct frame_notes_stats {
	uint64_t queued;         /* frames added */
	uint64_t written;
	uint64_t skipped;        /* not CA, or no note under only_noted */
	uint64_t forced;         /* left before they were known complete */
	uint64_t late;           /* notes for frames already gone */
	uint64_t late_parts;     /* parts of a message, already gone */
	uint64_t oom;            /* frames that could not be queued */
};

struct frame_notes {
	struct frame_note *head, *tail;
	size_t n, bytes;
	size_t max_frames, max_bytes;
	bool only_noted;
	bool unsorted;           /* a key went down: search the whole queue */
	bool stopped;            /* the writer said stop */
	bool gone_any;           /* some frame has left: gone_key is set */
	uint64_t gone_key;       /* the newest key that left */
	frame_notes_write_fn write;
	void *ctx;
	struct frame_notes_stats st;
};

void frame_notes_init(struct frame_notes *q, size_t max_frames, size_t max_bytes,
		      bool only_noted, frame_notes_write_fn write, void *ctx);
/* Queue a frame (its bytes are copied). */
void frame_notes_add(struct frame_notes *q, uint64_t key, uint64_t ts_ns, uint32_t if_id,
		     const uint8_t *data, uint32_t caplen, uint32_t wirelen);
/* The decoder found the frame with this key to be CA. */
void frame_notes_mark_ca(struct frame_notes *q, uint64_t key);
/* The frame with this key carried bytes of a noted message. */
void frame_notes_mark_part(struct frame_notes *q, uint64_t key);
/* One message line for the frame with this key. */
void frame_notes_note(struct frame_notes *q, uint64_t key, const char *text, size_t len);
/* Write (or skip) the frames whose key is below `below`, oldest first. */
void frame_notes_release(struct frame_notes *q, uint64_t below);
/* The oldest frame's key (UINT64_MAX: none queued). */
uint64_t frame_notes_oldest(const struct frame_notes *q);
/* Let everything go (end of input), then free. */
void frame_notes_finish(struct frame_notes *q);

#endif
