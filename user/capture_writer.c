/* capture_writer: see capture_writer.h. */
#include "capture_writer.h"

#include <string.h>

static int write_frame(void *ctx, const struct frame_note *f)
{
	struct capture_writer *cw = ctx;
	int r;

	r = pcap_writer_write_note(cw->w, f->if_id, f->ts_ns, f->data, f->caplen, f->wirelen,
				   f->n_notes ? sbuf_str(&f->text) : NULL,
				   cw->err, sizeof(cw->err));
	if (r == PCAP_WRITER_LIMIT) {
		/* -W files written: the normal end, as in tcpdump. */
		fprintf(stderr, "catrace: %s\n", cw->err);
		cw->files_done = true;
		return 1;
	}
	if (r) {
		/* `-w - | head -c N`: the reader went away, a clean stop. */
		if (!pcap_writer_reader_gone(cw->w))
			fprintf(stderr, "catrace: %s\n", cw->err);
		cw->failed = true;
		return 1;
	}
	return 0;
}

static void on_line(void *ctx, uint64_t frame, uint64_t ts_ns, const char *text, size_t len)
{
	struct capture_writer *cw = ctx;

	frame_notes_note(&cw->q, cw->by_time ? ts_ns : frame, text, len);
}

static void on_ca_frame(void *ctx, uint64_t frame, uint64_t ts_ns)
{
	struct capture_writer *cw = ctx;

	frame_notes_mark_ca(&cw->q, cw->by_time ? ts_ns : frame);
}

static void on_part(void *ctx, uint64_t frame, uint64_t ts_ns)
{
	struct capture_writer *cw = ctx;

	frame_notes_mark_part(&cw->q, cw->by_time ? ts_ns : frame);
}

bool capture_writer_open(struct capture_writer *cw, struct pipeline *pl,
			 const struct pcap_writer_opts *wo, bool by_time, bool only_noted,
			 char *err, size_t errlen)
{
	memset(cw, 0, sizeof(*cw));
	cw->w = pcap_writer_open(wo, err, errlen);
	if (!cw->w)
		return false;
	cw->pl = pl;
	cw->by_time = by_time;
	frame_notes_init(&cw->q, FRAME_NOTES_MAX_FRAMES, FRAME_NOTES_MAX_BYTES, only_noted,
			 write_frame, cw);
	cw->pn.line = on_line;
	cw->pn.ca_frame = on_ca_frame;
	cw->pn.part = on_part;
	cw->pn.ctx = cw;
	pipeline_notes_start(pl, &cw->pn);
	return true;
}

void capture_writer_frame(struct capture_writer *cw, uint64_t key, uint64_t ts_ns,
			  uint32_t if_id, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
	if (capture_writer_stopped(cw))
		return;
	frame_notes_add(&cw->q, key, ts_ns, if_id, data, caplen, wirelen);
	/* Live frames are CA (the kernel chose them); offline the decoder
	 * says. */
	if (cw->by_time)
		frame_notes_mark_ca(&cw->q, key);
}

void capture_writer_release(struct capture_writer *cw, uint64_t horizon)
{
	struct flow_stamp p;
	uint64_t below;

	if (frame_notes_oldest(&cw->q) == UINT64_MAX)
		return;
	p = pipeline_oldest_pending(cw->pl);
	below = cw->by_time ? p.ts_ns : p.frame;
	frame_notes_release(&cw->q, below < horizon ? below : horizon);
}

void capture_writer_after_frame(struct capture_writer *cw)
{
	if (++cw->since_check < CAPTURE_WRITER_CHECK_EVERY)
		return;
	cw->since_check = 0;
	capture_writer_release(cw, UINT64_MAX);
}

int capture_writer_flush(struct capture_writer *cw)
{
	if (cw->failed || cw->files_done)
		return 0;
	if (pcap_writer_flush(cw->w, cw->err, sizeof(cw->err)) < 0) {
		if (!pcap_writer_reader_gone(cw->w))
			fprintf(stderr, "catrace: %s\n", cw->err);
		cw->failed = true;
		return -1;
	}
	return 0;
}

bool capture_writer_stopped(const struct capture_writer *cw)
{
	return cw->failed || cw->files_done;
}

int capture_writer_close(struct capture_writer *cw, bool quiet)
{
	const struct frame_notes_stats *st = &cw->q.st;
	uint64_t n;
	int rc = 0;

	frame_notes_finish(&cw->q);
	pipeline_notes_stop(cw->pl);
	n = pcap_writer_packets(cw->w);
	if (cw->failed && !pcap_writer_reader_gone(cw->w))
		rc = 1;
	if (pcap_writer_close(cw->w, cw->err, sizeof(cw->err))) {
		fprintf(stderr, "catrace: %s\n", cw->err);
		rc = 1;
	}
	cw->w = NULL;
	if (st->forced || st->late || st->late_parts || st->oom)
		fprintf(stderr, "catrace: -w: %llu packets written before all their messages "
			"were certain (the queue's bound), %llu messages that came after "
			"their packet was written (not in its comment), %llu packets that "
			"carried part of a message shown gone before it was, %llu packets "
			"not written for want of memory\n",
			(unsigned long long)st->forced, (unsigned long long)st->late,
			(unsigned long long)st->late_parts, (unsigned long long)st->oom);
	if (!quiet)
		fprintf(stderr, "%llu packets written\n", (unsigned long long)n);
	return rc;
}
