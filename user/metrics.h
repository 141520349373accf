/* metrics: the Prometheus text exposition (format 0.0.4) of catrace's
 * counters.  Counters the kernel keeps come from the kernel (per-CPU maps
 * summed by the caller); the rest from the census of decoded messages.
 * Only builds text: serving it (HTTP, a file, `catrace stats`) is the
 * business of metrics_service. */
#ifndef CATRACE_METRICS_H
#define CATRACE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "catrace_record.h"
#include "census.h"
#include "procattr.h"
#include "sbuf.h"

struct metrics_input {
	const char *iface;                 /* the iface label: interfaces or file */
	const struct ca_counters *kernel;  /* live counters; NULL when offline */
	const struct census *census;       /* NULL: kernel families only */
	unsigned pv_limit;                 /* pv label series at most */
	/* Offline there is no kernel: packets from the decoder. */
	uint64_t packets_seen, packets_ca, packet_errors;
	uint64_t learned_endpoints;
	uint64_t packets_not_decoded[3];   /* offline: IPv4 length short, CA fragments,
					    * TCP segments with a wrong checksum */
	uint64_t flows_evicted;            /* live: TCP stream states the kernel evicted */
	uint64_t reassembled;              /* fragmented CA datagrams put back together */
	/* Live: learned TCP servers in the kernel's map, those confirmed
	 * (the kernel counts their flows admitted, refused, and expiries). */
	uint64_t learned_servers, learned_confirmed;
	uint64_t learned_expired_user;     /* forgotten by user space's sweep */
	uint64_t records, records_bad;     /* live: read from the ring buffer */
	const struct procattr *proc;       /* live process attribution; NULL: off */
	bool live;
};

void metrics_render(struct sbuf *sb, const struct metrics_input *in);

/* A label value as the exposition format wants it: backslash, quote and
 * newline escaped; other control and non-ASCII bytes as a visible \xNN
 * (itself escaped), so distinct names stay distinct series. */
void metrics_put_label_value(struct sbuf *sb, const char *s, size_t n);

#endif
