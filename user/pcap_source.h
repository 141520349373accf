/* pcap_source: frames from a capture file (pcap or pcapng, micro- or
 * nanosecond) or from standard input ("-").  The only place that reads
 * files with libpcap. */
#ifndef CATRACE_PCAP_SOURCE_H
#define CATRACE_PCAP_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct frame {
	uint64_t ts_ns;        /* Unix time in nanoseconds */
	const uint8_t *data;
	uint32_t caplen, len;
	uint64_t number;       /* 1-based position in the file */
};

struct pcap_source;

/* Room for any of the one-line errors below (libpcap's are at most 256). */
#define PCAP_ERR_LEN 512

/* NULL on failure, with a one-line reason in err. */
struct pcap_source *pcap_source_open(const char *path, char *err, size_t errlen);
/* The same from an open stream, which the source then owns (libpcap
 * closes it); NULL on failure, and the stream is still the caller's. */
struct pcap_source *pcap_source_fopen(FILE *fp, char *err, size_t errlen);
/* Compile and apply a tcpdump filter expression; -1 with err on failure. */
int pcap_source_set_filter(struct pcap_source *s, const char *expr, char *err,
			   size_t errlen);
int pcap_source_linktype(const struct pcap_source *s);
/* libpcap's name for a link type ("EN10MB"), or "unknown". */
const char *pcap_source_linktype_name(int linktype);
/* 1: a frame; 0: end of file; -1: read error (reason in err). */
int pcap_source_next(struct pcap_source *s, struct frame *f, char *err,
		     size_t errlen);
void pcap_source_close(struct pcap_source *s);

#endif
