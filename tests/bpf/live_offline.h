/* live_offline: what the BPF tests share to hold the live path against
 * the offline one: load the programs as catrace does, decode their
 * records with the live path (pipeline_segment), decode frames with the
 * offline one (pipeline_frame), every message kept as its JSON line (time
 * and frame number aside), and compare the two flow direction by flow
 * direction.  Static functions: each test is one translation unit.
 */
#ifndef CATRACE_TEST_LIVE_OFFLINE_H
#define CATRACE_TEST_LIVE_OFFLINE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "catrace.skel.h"
#include "catrace_record.h"
#include "kstats.h"
#include "loader.h"
#include "pipeline.h"
#include "record.h"
#include "sbuf.h"

#define MAX_MSGS 400000

/* One message: its circuit, direction, and its JSON line. */
struct seen {
	struct flow_key key;
	int dir;
	int tcp;
	uint64_t frame;
	char *json;
};

struct side {
	struct seen *v;
	size_t n;
	struct pipeline *pl;   /* the live side's decoder */
	uint64_t bad_records;
};

static uint64_t cur_frame;

static void add(struct side *sd, struct pipeline *pl, const struct flow_key *k,
		const struct msg_ctx *c, const struct ca_msg *m)
{
	static struct sbuf sb;
	struct msg_ctx cc = *c;
	struct seen *s;

	if (sd->n >= MAX_MSGS)
		return;
	/* Time and frame number differ between live and offline by nature. */
	cc.ts_ns = 0;
	cc.frame = 0;
	sbuf_reset(&sb);
	output_format(&pl->out, &sb, &cc, m);
	s = &sd->v[sd->n++];
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->dir = m->dir;
	s->tcp = m->tcp;
	s->frame = cur_frame;
	s->json = strdup(sbuf_str(&sb));
}

struct hook_ctx {
	struct side *sd;
	struct pipeline *pl;
};

static void msg_hook(void *ctx, const struct flow_key *k, const struct msg_ctx *c,
		     const struct ca_msg *m)
{
	struct hook_ctx *h = ctx;

	add(h->sd, h->pl, k, c, m);
}

static int on_record(void *ctx, void *data, size_t size)
{
	static struct rec_info ri;
	struct side *sd = ctx;
	enum rec_result r = record_parse(data, size, &ri);

	if (r != REC_OK) {
		if (sd->bad_records++ == 0)
			printf("  bad record: %s\n", record_result_str(r));
		return 0;
	}
	if (ri.packet)
		return 0;
	if (getenv("BPF_EQUIV_DEBUG"))
		fprintf(stderr, "frame %llu rec seq=%u len=%u spans=%u lost=%d boundary=%d\n",
			(unsigned long long)cur_frame, ri.seg.seq, ri.seg.len, ri.seg.n,
			ri.seg.lost, ri.seg.boundary);
	pipeline_segment(sd->pl, &ri, 1);
	return 0;
}

static void setup_pipeline(struct pipeline *pl, struct hook_ctx *h, struct side *sd)
{
	pipeline_init(pl, stdout);
	pl->out.style = OUT_JSON;
	/* The kernel learns ports from search replies and beacons, as the
	 * decoder does, but it does not recognise circuits by content. */
	pl->detect_circuits = false;
	h->sd = sd;
	h->pl = pl;
	pl->hook = msg_hook;
	pl->hook_ctx = h;
	pl->hook_only = true;
	sd->pl = pl;
}

static int cmp_key(const struct flow_key *a, const struct flow_key *b)
{
	return memcmp(a, b, sizeof(*a));
}

/* Compare the two sides flow direction by flow direction, in order. */
static int compare(const char *what, struct side *u, struct side *k)
{
	size_t i, j, fails = 0, from = 0;
	bool *used = calloc(k->n + 1, 1);

	if (!used)
		return 1;
	for (i = 0; i < u->n; i++) {
		struct seen *a = &u->v[i], *b = NULL;

		/* The next unused live message of the same flow direction. */
		while (from < k->n && used[from])
			from++;
		for (j = from; j < k->n; j++) {
			if (used[j] || k->v[j].dir != a->dir || k->v[j].tcp != a->tcp ||
			    cmp_key(&k->v[j].key, &a->key))
				continue;
			b = &k->v[j];
			break;
		}
		if (!b) {
			if (fails++ < 10)
				printf("  %s: frame %llu: no live message for %s\n", what,
				       (unsigned long long)a->frame, a->json);
			continue;
		}
		used[j] = true;
		if (strcmp(a->json, b->json) && fails++ < 10)
			printf("  %s: frame %llu:\n    offline %s\n    live    %s\n", what,
			       (unsigned long long)a->frame, a->json, b->json);
	}
	for (j = 0; j < k->n; j++)
		if (!used[j] && fails++ < 10)
			printf("  %s: frame %llu: live message the decoder lacks: %s\n",
			       what, (unsigned long long)k->v[j].frame, k->v[j].json);
	free(used);
	return fails ? 1 : 0;
}

static void free_side(struct side *sd)
{
	size_t i;

	for (i = 0; i < sd->n; i++)
		free(sd->v[i].json);
	free(sd->v);
}

/* The live decoder's own account: the kernel's boundaries always where
 * the framer had them, no bytes lost, no record refused. */
static int live_clean(const char *what, const char *name, struct side *sd,
		      struct catrace_bpf *skel)
{
	const struct flow_stats *fs = &sd->pl->flows.stats;
	struct ca_counters sum;
	int rc = 0;

	memset(&sum, 0, sizeof(sum));
	if (kstats_counters(bpf_map__fd(skel->maps.counters), &sum) == 0 &&
	    (sum.ringbuf_drops || sum.msgs_dropped)) {
		printf("  %s: %llu records refused by the ring buffer\n", what,
		       (unsigned long long)sum.ringbuf_drops);
		rc = 1;
	}
	if (fs->live_disagreed || sd->bad_records) {
		printf("  %s: %llu framing disagreements, %llu bad records\n", what,
		       (unsigned long long)fs->live_disagreed,
		       (unsigned long long)sd->bad_records);
		rc = 1;
	}
	if (rc)
		printf("FAIL: bpf %s %s: the live decoder's account\n", what, name);
	return rc;
}

/* Load as catrace does: the scratch map sized for every CPU, the CA ports
 * in the port array; a value budget and a ring buffer size (0: the
 * object's). */
static struct catrace_bpf *load_programs(uint32_t value_bytes, uint32_t ring)
{
	struct catrace_bpf *s = catrace_bpf__open();
	uint32_t k;
	uint8_t v[4] = {0};

	if (!s)
		return NULL;
	s->rodata->cfg_value_bytes = value_bytes;
	if (bpf_map__set_max_entries(s->maps.seg_scratch,
				     2 * (uint32_t)libbpf_num_possible_cpus()) ||
	    (ring && bpf_map__set_max_entries(s->maps.events, ring)) ||
	    catrace_bpf__load(s)) {
		catrace_bpf__destroy(s);
		return NULL;
	}
	k = CA_SERVER_PORT_DEFAULT;
	v[0] = LOADER_PORT_SERVER;
	bpf_map_update_elem(bpf_map__fd(s->maps.port_flags), &k, v, BPF_ANY);
	k = CA_REPEATER_PORT_DEFAULT;
	v[0] = LOADER_PORT_REPEATER;
	bpf_map_update_elem(bpf_map__fd(s->maps.port_flags), &k, v, BPF_ANY);
	return s;
}

#endif
