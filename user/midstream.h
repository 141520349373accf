/* midstream: CA circuits that a capture joins after they opened, on a
 * port nobody named (a server on 5070, one a name server pointed to, one
 * whose search reply was before the capture).  Their opening (VERSION,
 * CLIENT_NAME) is not there to be recognised; what is there are segments
 * that hold whole CA messages: a monitor's updates, reads and replies.
 *
 * A TCP flow becomes CA once MIDSTREAM_SEGMENTS of its segments in a row
 * each hold nothing but whole, exactly sized CA messages going the same
 * way (which tells the server's end), and none said otherwise.  Random
 * bytes do not do that by chance: every header must name a command of
 * that direction and sizes that fit its type and count, and the last
 * message must end exactly with the segment.  The evidence segments are
 * kept (bounded) and handed back once the flow is taken, so its first
 * messages are decoded too.
 *
 * Bounded: MIDSTREAM_FLOWS candidate flows at once (the table is emptied
 * when full: a flood of non-CA flows costs a constant amount). */
#ifndef CATRACE_MIDSTREAM_H
#define CATRACE_MIDSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "hmap.h"
#include "pcap_source.h"
#include "pkt.h"

#define MIDSTREAM_SEGMENTS 3
#define MIDSTREAM_FLOWS 4096
#define MIDSTREAM_FRAME_MAX 2048   /* larger frames are not kept */

struct midstream {
	struct hmap cand;       /* flow (both ends) -> struct midstream_cand* */
	uint64_t found;         /* flows taken */
	uint64_t resets;        /* times the table was emptied when full */
};

/* A taken flow's evidence, to be read again, oldest first. */
struct midstream_found {
	uint32_t srv_ip;
	uint16_t srv_port;
	unsigned n;
	struct frame frames[MIDSTREAM_SEGMENTS];   /* data owned: midstream_release */
};

void midstream_init(struct midstream *m);
void midstream_free(struct midstream *m);
/* One TCP packet that no rule called CA, in frame `f`.  True when this
 * packet completes the evidence: `out` then says the server's end and
 * holds the earlier evidence frames (this one is not among them). */
bool midstream_segment(struct midstream *m, const struct pkt *p, const struct frame *f,
		       struct midstream_found *out);
void midstream_release(struct midstream_found *out);
/* The oldest evidence frame kept (the smallest number and time stamp):
 * its messages come if its flow is taken.  UINT64_MAX each when none. */
struct midstream_oldest {
	uint64_t frame, ts_ns;
};
struct midstream_oldest midstream_oldest_kept(const struct midstream *m);

#endif
