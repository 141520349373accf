/* capture_writer: -w's file fed by the pipeline.  Frames go into a
 * frame_notes queue before they are decoded, the pipeline's lines become
 * their comments, and they leave for the pcap_writer once no message can
 * still come for them (see frame_notes.h for the rule and its bounds).
 *
 * Offline, every frame read is queued by its number and the file gets
 * the CA frames (with --pv, --cmd or --writes: only the frames that
 * completed a message that passed them).  Live, the kernel sends only CA
 * packets; they are queued by time stamp, which their decoded records
 * share, and leave once the records up to a horizon have been decoded.
 *
 * Classic pcap files get the same frames, without the comments.
 */
#ifndef CATRACE_CAPTURE_WRITER_H
#define CATRACE_CAPTURE_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frame_notes.h"
#include "pcap_writer.h"
#include "pipeline.h"

/* Offline: frames read between two looks at what the pipeline holds (a
 * look walks its flows). */
#define CAPTURE_WRITER_CHECK_EVERY 64u

struct capture_writer {
	struct pcap_writer *w;
	struct frame_notes q;
	struct pipeline_notes pn;
	struct pipeline *pl;
	bool by_time;          /* live: frames found by time stamp */
	bool failed;           /* the file refused a packet (reported) */
	bool files_done;       /* -W files written: a normal end */
	unsigned since_check;
	char err[512];
};

/* Open wo's file and start taking the pipeline's lines.  only_noted:
 * write only frames with a message (message filters).  False with a
 * reason in err. */
bool capture_writer_open(struct capture_writer *cw, struct pipeline *pl,
			 const struct pcap_writer_opts *wo, bool by_time, bool only_noted,
			 char *err, size_t errlen);
/* One frame to write, before the pipeline decodes it (key: its number
 * offline, its time stamp live). */
void capture_writer_frame(struct capture_writer *cw, uint64_t key, uint64_t ts_ns,
			  uint32_t if_id, const uint8_t *data, uint32_t caplen, uint32_t wirelen);
/* Offline, after each frame: now and then, let go the frames that are
 * complete. */
void capture_writer_after_frame(struct capture_writer *cw);
/* Let go the frames that are complete and whose key is below horizon. */
void capture_writer_release(struct capture_writer *cw, uint64_t horizon);
/* Flush the file (SIGUSR2, -U's timer); -1 on error (reported). */
int capture_writer_flush(struct capture_writer *cw);
/* Whether the file refused a packet, or its reader went away (-w -). */
bool capture_writer_stopped(const struct capture_writer *cw);
/* End of input (after pipeline_finish): write what is queued, close, and
 * unless quiet say how many packets; warn of comments that may lack
 * messages.  0, or 1 when the file failed. */
int capture_writer_close(struct capture_writer *cw, bool quiet);

#endif
