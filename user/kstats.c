/* kstats: kernel counters from map fds; see kstats.h. */
#include "kstats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static void add_counters(struct ca_counters *sum, const struct ca_counters *c)
{
	int i, j;

	for (i = 0; i < CNT_CMDS; i++)
		for (j = 0; j < 2; j++) {
			sum->msgs[i][j] += c->msgs[i][j];
			sum->bytes[i][j] += c->bytes[i][j];
		}
	sum->pkts_seen += c->pkts_seen;
	sum->pkts_ca += c->pkts_ca;
	sum->parse_errors += c->parse_errors;
	sum->learned += c->learned;
	sum->ringbuf_drops += c->ringbuf_drops;
	sum->resyncs += c->resyncs;
	sum->retransmits += c->retransmits;
	sum->gaps += c->gaps;
	sum->walk_limit += c->walk_limit;
	sum->msgs_dropped += c->msgs_dropped;
	sum->pkt_drops += c->pkt_drops;
	sum->unsynced_bytes += c->unsynced_bytes;
	sum->ip_len_short += c->ip_len_short;
	sum->ca_fragments += c->ca_fragments;
	sum->flows_created += c->flows_created;
	sum->flows_ended += c->flows_ended;
	sum->learned_refused += c->learned_refused;
	sum->learned_admitted += c->learned_admitted;
	sum->learned_expired += c->learned_expired;
	sum->bad_checksum += c->bad_checksum;
}

int kstats_counters(int counters_fd, struct ca_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct ca_counters *per;
	__u32 zero = 0;
	int c;

	if (ncpu <= 0) {
		errno = ncpu ? -ncpu : EINVAL;
		return -1;
	}
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -1;
	if (bpf_map_lookup_elem(counters_fd, &zero, per)) {
		int e = errno;

		free(per);
		errno = e;
		return -1;
	}
	memset(sum, 0, sizeof(*sum));
	for (c = 0; c < ncpu; c++)
		add_counters(sum, &per[c]);
	free(per);
	return 0;
}

long kstats_count_entries(int map_fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	unsigned char *key, *next;
	long n = 0;
	void *prev = NULL;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -1;
	key = calloc(2, info.key_size ? info.key_size : 1);
	if (!key)
		return -1;
	next = key + info.key_size;
	/* An LRU map can drop the key we hold mid-walk: the kernel then
	 * restarts from the first key, so the walk is capped. */
	while (bpf_map_get_next_key(map_fd, prev, next) == 0 && n <= (long)info.max_entries) {
		memcpy(key, next, info.key_size);
		prev = key;
		n++;
	}
	free(key);
	return n > (long)info.max_entries ? (long)info.max_entries : n;
}
