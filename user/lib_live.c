/* lib_live: see lib_live.h.  The order of records and their times follow
 * run_live.c's: segment records wait REORDER_WINDOW_NS in a heap so that
 * the CPUs' records come out in time order. */
#include "lib_live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "live_filter.h"
#include "loader.h"
#include "pipeline.h"
#include "record.h"
#include "reorder.h"
#include "ringbuf_source.h"

struct lib_live {
	struct pipeline *pl;
	struct loader *l;
	struct ringbuf_source *rs;
	struct reorder ro;
	struct live_filter filter;
	int64_t mono_to_wall_ns;
	uint64_t records;
	struct rec_info ri;          /* the record being decoded (big: not on the stack) */
};

static uint64_t mono_ns(void)
{
	struct timespec m;

	clock_gettime(CLOCK_MONOTONIC, &m);
	return (uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec;
}

/* Records carry CLOCK_MONOTONIC; messages carry Unix time. */
static int64_t mono_to_wall(void)
{
	struct timespec w, m;

	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)w.tv_sec - m.tv_sec) * 1000000000 + (w.tv_nsec - m.tv_nsec);
}

static void decode_record(void *ctx, const void *data, size_t size)
{
	struct lib_live *l = ctx;

	/* Packet records (-w's) are never asked for here, but fragments of
	 * CA datagrams come whole for reassembly; a bad record is skipped, as
	 * catrace -i does. */
	if (record_parse(data, size, &l->ri) != REC_OK)
		return;
	if (l->ri.packet && !l->ri.fragment)
		return;   /* -w's: never asked for here */
	l->records += !l->ri.packet;
	if (live_filter_match_any(&l->filter, &l->ri))
		pipeline_record(l->pl, &l->ri, l->ri.ts_mono_ns + (uint64_t)l->mono_to_wall_ns);
}

static void on_record(void *ctx, const void *data, size_t size)
{
	struct lib_live *l = ctx;
	uint64_t ts_ns;

	if (record_in_time_order(data, size, &ts_ns))
		reorder_push(&l->ro, ts_ns, data, size, decode_record, l);
	else
		decode_record(ctx, data, size);
}

struct lib_live *lib_live_open(struct pipeline *pl, const char *const *ifaces,
			       unsigned n_ifaces, char *err, size_t errlen)
{
	struct loader_opts o;
	struct lib_live *l;
	unsigned i;

	if (n_ifaces == 0 || n_ifaces > LOADER_MAX_IFACES) {
		snprintf(err, errlen, "live: give 1 to %d interfaces", LOADER_MAX_IFACES);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->pl = pl;
	reorder_init(&l->ro, REORDER_MAX_BYTES);
	/* catrace -i's defaults (cli_options.c). */
	memset(&o, 0, sizeof(o));
	for (i = 0; i < n_ifaces; i++)
		o.ifaces[i] = ifaces[i];
	o.n_ifaces = n_ifaces;
	o.xdp_mode = XDP_MODE_AUTO;
	o.server_port = pl->cls.server_port;
	o.repeater_port = pl->cls.repeater_port;
	o.value_bytes = ca_rule_value_budget_for(pl->out.max_elements, REC_VALUE_BYTES_DEFAULT,
						 REC_VALUE_BYTES_MAX);
	o.ringbuf_bytes = 8u << 20;
	l->l = loader_load(&o, err, errlen);
	if (!l->l)
		goto fail;
	if (loader_attach(l->l, err, errlen))
		goto fail;
	l->mono_to_wall_ns = mono_to_wall();
	l->rs = ringbuf_source_new(loader_ringbuf_fd(l->l), on_record, l);
	if (!l->rs) {
		snprintf(err, errlen, "ring buffer: %s", strerror(errno));
		goto fail;
	}
	return l;
fail:
	if (l->l)
		loader_close(l->l);
	reorder_free(&l->ro);
	free(l);
	return NULL;
}

int lib_live_set_filter(struct lib_live *l, const char *expr, char *err, size_t errlen)
{
	struct live_filter f;

	memset(&f, 0, sizeof(f));
	if (live_filter_compile(&f, expr, err, errlen) < 0)
		return -1;
	live_filter_free(&l->filter);
	l->filter = f;
	return 0;
}

/* How long records wait before they are due: the oldest held decides. */
static int wait_ms(const struct reorder *ro, int timeout_ms)
{
	uint64_t oldest = reorder_oldest(ro), now = mono_ns(), due;
	int ms;

	if (oldest == UINT64_MAX)
		return timeout_ms;
	due = oldest + REORDER_WINDOW_NS;
	if (due <= now)
		return 0;
	ms = (int)((due - now) / 1000000u) + 1;
	return timeout_ms >= 0 && timeout_ms < ms ? timeout_ms : ms;
}

int lib_live_poll(struct lib_live *l, int timeout_ms, char *err, size_t errlen)
{
	int r;

	l->mono_to_wall_ns = mono_to_wall();
	r = ringbuf_source_poll(l->rs, wait_ms(&l->ro, timeout_ms));
	if (r >= 0)
		r = ringbuf_source_drain(l->rs);
	reorder_release(&l->ro, mono_ns() - REORDER_WINDOW_NS, decode_record, l);
	if (r < 0 && r != -EINTR) {
		snprintf(err, errlen, "reading the ring buffer: %s", strerror(-r));
		return -1;
	}
	return 0;
}

uint64_t lib_live_records(const struct lib_live *l)
{
	return l->records;
}

void lib_live_close(struct lib_live *l)
{
	if (!l)
		return;
	reorder_release(&l->ro, UINT64_MAX, decode_record, l);
	ringbuf_source_free(l->rs);
	loader_close(l->l);
	live_filter_free(&l->filter);
	reorder_free(&l->ro);
	free(l);
}
