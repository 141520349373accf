/* ringbuf_source: records from the BPF ring buffer, handed one by one to
 * a callback (which parses and checks them: see record.h). */
#ifndef CATRACE_RINGBUF_SOURCE_H
#define CATRACE_RINGBUF_SOURCE_H

#include <stddef.h>

typedef void (*ringbuf_record_fn)(void *ctx, const void *data, size_t size);

struct ringbuf_source;

struct ringbuf_source *ringbuf_source_new(int map_fd, ringbuf_record_fn fn, void *ctx);
/* Wait up to timeout_ms for records and consume them; returns the number
 * consumed, or a negative errno (-EINTR when a signal came). */
int ringbuf_source_poll(struct ringbuf_source *s, int timeout_ms);
/* The same, also waking up when other_fd (if >= 0) becomes readable:
 * the caller then serves it. */
int ringbuf_source_poll_with(struct ringbuf_source *s, int other_fd, int timeout_ms);
/* Consume whatever is there without waiting. */
int ringbuf_source_drain(struct ringbuf_source *s);
void ringbuf_source_free(struct ringbuf_source *s);

#endif
