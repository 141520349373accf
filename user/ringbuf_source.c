/* ringbuf_source: see ringbuf_source.h.
 *
 * The ring buffer is mapped as the kernel offers it (one read-write page
 * with the consumer position; the producer position page, then the data
 * pages twice, read-only) and read by ring_walk, which publishes the
 * consumer position in batches.  Waiting is an epoll on the map: the
 * kernel signals it when the BPF programs ask for a wake-up. */
#include "ringbuf_source.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "ring_walk.h"

/* Publish the consumer position at least this often (and at the end of
 * every walk): the kernel sees the space free a little later, the cache
 * line stops bouncing between CPUs on every record. */
#define PUBLISH_MAX (64 * 1024)

struct ringbuf_source {
	ringbuf_record_fn fn;
	void *ctx;
	int epfd;
	void *cons_map, *prod_map;
	size_t page, size;
	struct ring_view view;
};

static void on_record(void *ctx, const void *data, size_t size)
{
	struct ringbuf_source *s = ctx;

	s->fn(s->ctx, data, size);
}

struct ringbuf_source *ringbuf_source_new(int map_fd, ringbuf_record_fn fn, void *ctx)
{
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);
	struct epoll_event ev = { .events = EPOLLIN };
	struct ringbuf_source *s;
	int err;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &info_len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1))) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->fn = fn;
	s->ctx = ctx;
	s->page = (size_t)sysconf(_SC_PAGESIZE);
	s->size = info.max_entries;
	s->epfd = -1;
	s->cons_map = mmap(NULL, s->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (s->cons_map == MAP_FAILED) {
		s->cons_map = NULL;
		goto fail;
	}
	s->prod_map = mmap(NULL, s->page + 2 * s->size, PROT_READ, MAP_SHARED, map_fd,
			   (off_t)s->page);
	if (s->prod_map == MAP_FAILED) {
		s->prod_map = NULL;
		goto fail;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, map_fd, &ev))
		goto fail;
	s->view.consumer_pos = s->cons_map;
	s->view.producer_pos = s->prod_map;
	s->view.data = (const uint8_t *)s->prod_map + s->page;
	s->view.size = s->size;
	s->view.publish_every = s->size / 16 < PUBLISH_MAX ? s->size / 16 : PUBLISH_MAX;
	return s;
fail:
	err = errno;
	ringbuf_source_free(s);
	errno = err;
	return NULL;
}

int ringbuf_source_drain(struct ringbuf_source *s)
{
	long n = ring_walk(&s->view, on_record, s);

	if (n < 0)
		return -EBADMSG;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

int ringbuf_source_poll(struct ringbuf_source *s, int timeout_ms)
{
	struct epoll_event ev;

	if (epoll_wait(s->epfd, &ev, 1, timeout_ms) < 0)
		return -errno;
	return ringbuf_source_drain(s);
}

int ringbuf_source_poll_with(struct ringbuf_source *s, int other_fd, int timeout_ms)
{
	/* An epoll descriptor is readable when one of its own is. */
	struct pollfd p[2] = {
		{ .fd = s->epfd, .events = POLLIN },
		{ .fd = other_fd, .events = POLLIN },
	};

	if (other_fd < 0)
		return ringbuf_source_poll(s, timeout_ms);
	if (poll(p, 2, timeout_ms) < 0)
		return -errno;
	return ringbuf_source_drain(s);
}

void ringbuf_source_free(struct ringbuf_source *s)
{
	if (!s)
		return;
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->prod_map)
		munmap(s->prod_map, s->page + 2 * s->size);
	if (s->cons_map)
		munmap(s->cons_map, s->page);
	free(s);
}
