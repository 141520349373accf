/* ringbuf_source: see ringbuf_source.h. */
#include "ringbuf_source.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include <bpf/libbpf.h>

struct ringbuf_source {
	struct ring_buffer *rb;
	ringbuf_record_fn fn;
	void *ctx;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct ringbuf_source *s = ctx;

	s->fn(s->ctx, data, size);
	return 0;
}

struct ringbuf_source *ringbuf_source_new(int map_fd, ringbuf_record_fn fn, void *ctx)
{
	struct ringbuf_source *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fn = fn;
	s->ctx = ctx;
	s->rb = ring_buffer__new(map_fd, on_sample, s, NULL);
	if (!s->rb) {
		free(s);
		return NULL;
	}
	return s;
}

int ringbuf_source_poll(struct ringbuf_source *s, int timeout_ms)
{
	return ring_buffer__poll(s->rb, timeout_ms);
}

int ringbuf_source_poll_with(struct ringbuf_source *s, int other_fd, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = ring_buffer__epoll_fd(s->rb), .events = POLLIN },
		{ .fd = other_fd, .events = POLLIN },
	};

	if (other_fd < 0)
		return ring_buffer__poll(s->rb, timeout_ms);
	if (poll(p, 2, timeout_ms) < 0)
		return -errno;
	return ring_buffer__consume(s->rb);
}

int ringbuf_source_drain(struct ringbuf_source *s)
{
	return ring_buffer__consume(s->rb);
}

void ringbuf_source_free(struct ringbuf_source *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	free(s);
}
