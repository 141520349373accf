/* metrics_service: census, HTTP, file and pins; see metrics_service.h. */
#include "metrics_service.h"

#include "learned_live.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kstats.h"
#include "loader.h"
#include "metrics.h"
#include "pins.h"

bool metrics_wanted(const struct metrics_opts *o)
{
	return o->listen || o->file;
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t learned_live(struct loader *l)
{
	long a = kstats_count_entries(loader_map_fd(l, "servers"));
	long b = kstats_count_entries(loader_map_fd(l, "rep_clients"));

	return (uint64_t)(a > 0 ? a : 0) + (uint64_t)(b > 0 ? b : 0);
}

static void learned_servers_input(struct loader *l, struct metrics_input *in)
{
	struct learned_count n;

	if (learned_live_count(loader_map_fd(l, "servers"), &n) == 0) {
		in->learned_servers = n.known;
		in->learned_confirmed = n.confirmed;
	}
}

void metrics_service_render(void *ctx, struct sbuf *sb)
{
	struct metrics_service *ms = ctx;
	struct metrics_input in;
	struct ca_counters k;
	const struct pipeline_stats *st = &ms->pl->st;

	memset(&in, 0, sizeof(in));
	in.iface = ms->iface;
	in.census = ms->pl->census;
	in.pv_limit = ms->o.pv_limit;
	in.reassembled = ms->pl->st.ca_reassembled;
	if (ms->l) {
		in.live = true;
		if (loader_counters(ms->l, &k) == 0) {
			long long ev = loader_flows_evicted(ms->l, &k);

			in.kernel = &k;
			in.flows_evicted = ev > 0 ? (uint64_t)ev : 0;
		}
		in.learned_endpoints = learned_live(ms->l);
		learned_servers_input(ms->l, &in);
		in.records = ms->records ? *ms->records : 0;
		in.records_bad = ms->records_bad ? *ms->records_bad : 0;
		in.learned_expired_user = ms->learned_expired ? *ms->learned_expired : 0;
		in.proc = ms->pl->proc;
	} else {
		in.packets_seen = st->packets;
		in.packets_ca = st->ca_packets;
		in.packet_errors = st->bad_packets;
		in.packets_not_decoded[0] = st->ip_len_short;
		in.packets_not_decoded[1] = st->ca_fragments;
		in.packets_not_decoded[2] = ms->pl->flows.stats.bad_checksum;
		in.learned_endpoints = hmap_count(&ms->pl->cls.servers) +
				       hmap_count(&ms->pl->cls.rep_clients);
	}
	metrics_render(sb, &in);
}

int metrics_write_file(const char *path, const struct sbuf *sb, char *err, size_t errlen)
{
	char tmp[4200];
	FILE *fp;
	int e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "--metrics-file %s: path too long", path);
		return -1;
	}
	fp = fopen(tmp, "w");
	if (!fp) {
		snprintf(err, errlen, "--metrics-file %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fwrite(sbuf_str(sb), 1, sb->len, fp) != sb->len || fflush(fp) != 0) {
		e = errno;
		fclose(fp);
		unlink(tmp);
		snprintf(err, errlen, "--metrics-file %s: %s", tmp, strerror(e));
		return -1;
	}
	if (fclose(fp) != 0) {
		e = errno;
		unlink(tmp);
		snprintf(err, errlen, "--metrics-file %s: %s", tmp, strerror(e));
		return -1;
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		snprintf(err, errlen, "--metrics-file %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

static int write_now(struct metrics_service *ms)
{
	char err[4400];

	sbuf_reset(&ms->sb);
	metrics_service_render(ms, &ms->sb);
	if (ms->sb.oom) {
		fprintf(stderr, "catrace: --metrics-file: out of memory\n");
		return -1;
	}
	if (metrics_write_file(ms->o.file, &ms->sb, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		return -1;
	}
	return 0;
}

int metrics_service_start(struct metrics_service *ms, const struct metrics_opts *o,
			  struct pipeline *pl, struct loader *l, const char *iface,
			  char *err, size_t errlen)
{
	memset(ms, 0, sizeof(*ms));
	ms->o = *o;
	ms->pl = pl;
	ms->l = l;
	snprintf(ms->iface, sizeof(ms->iface), "%s", iface);
	sbuf_init(&ms->sb);
	if (!ms->o.interval_s)
		ms->o.interval_s = METRICS_INTERVAL_DEFAULT;
	if (o->pin_dir && l) {
		struct pinned_fds fds = {
			.counters = loader_map_fd(l, "counters"),
			.servers = loader_map_fd(l, "servers"),
			.rep_clients = loader_map_fd(l, "rep_clients"),
			.meta = loader_map_fd(l, "meta"),
		};

		if (pins_create(o->pin_dir, &fds, iface, err, errlen))
			goto fail;
		ms->pinned = true;
	}
	if (o->listen) {
		ms->http = metrics_http_start(o->listen, metrics_service_render, ms, err, errlen);
		if (!ms->http)
			goto fail;
	}
	/* The file exists from the start, so a collector sees catrace is up. */
	if (o->file && l) {
		if (write_now(ms)) {
			snprintf(err, errlen, "--metrics-file %s: cannot be written", o->file);
			goto fail;
		}
		ms->next_file_ns = mono_ns() + (uint64_t)ms->o.interval_s * 1000000000ull;
	}
	return 0;
fail:
	if (ms->pinned)
		pins_remove(o->pin_dir);
	ms->pinned = false;
	sbuf_free(&ms->sb);
	return -1;
}

int metrics_service_fd(const struct metrics_service *ms)
{
	return ms->http ? metrics_http_fd(ms->http) : -1;
}

int metrics_service_run(struct metrics_service *ms, uint64_t wall_ns)
{
	int rc = 0;

	if (ms->pl->census)
		census_tick(ms->pl->census, wall_ns);
	if (ms->http)
		metrics_http_run(ms->http);
	if (ms->o.file && ms->l && mono_ns() >= ms->next_file_ns) {
		rc = write_now(ms);
		ms->next_file_ns = mono_ns() + (uint64_t)ms->o.interval_s * 1000000000ull;
	}
	return rc;
}

int metrics_service_stop(struct metrics_service *ms)
{
	int rc = 0;

	if (ms->o.file)
		rc = write_now(ms);
	metrics_http_stop(ms->http);
	ms->http = NULL;
	if (ms->pinned)
		pins_remove(ms->o.pin_dir);
	ms->pinned = false;
	sbuf_free(&ms->sb);
	return rc;
}
