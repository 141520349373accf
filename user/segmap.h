/* segmap: where the recent TCP segments of each circuit direction were in
 * the capture (frame number, payload offset), so that a message's fields
 * in segments before the one that completed it can be pointed at too.
 * Kept only while field output (-V, --json=fields) is on; bounded: the
 * last SEGMAP_KEEP segments per direction, SEGMAP_MAX_DIRS directions. */
#ifndef CATRACE_SEGMAP_H
#define CATRACE_SEGMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "ca_decode.h"
#include "flow.h"
#include "hmap.h"

#define SEGMAP_KEEP 64
#define SEGMAP_MAX_DIRS 4096

struct seg_pos {
	uint32_t seq, len;       /* the captured payload's sequence range */
	uint32_t data_off;       /* its offset in the frame */
	uint64_t frame;
};

struct seg_ring {
	struct seg_pos s[SEGMAP_KEEP];
	unsigned next, n;
};

struct segmap {
	struct hmap map;         /* flow_key + direction -> struct seg_ring */
};

void segmap_init(struct segmap *m);
void segmap_free(struct segmap *m);
/* A segment of k going way `dir`; nothing when the table is full. */
void segmap_note(struct segmap *m, const struct flow_key *k, enum ca_dir dir,
		 const struct seg_pos *p);
const struct seg_ring *segmap_ring(const struct segmap *m, const struct flow_key *k,
				   enum ca_dir dir);
/* The newest remembered segment holding the byte at seq. */
bool seg_ring_find(const struct seg_ring *r, uint32_t seq, struct seg_pos *out);
/* The circuit closed: its directions are forgotten. */
void segmap_forget(struct segmap *m, const struct flow_key *k);

#endif
