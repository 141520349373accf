/* pcap_writer: write frames to pcap or pcapng files (-w), with tcpdump's
 * -U, -C, -G and -W.  The only place that writes capture files.
 *
 * Classic pcap files (the default) are written with libpcap: link type
 * EN10MB unless opts say otherwise, nanosecond timestamps (magic
 * 0xa1b23c4d), so they open in Wireshark, tshark, capinfos, caproto-shark
 * and `catrace -r`.  With opts.pcapng, each file is pcapng (pcapng.h): a
 * Section Header, an Interface Description per interface given, then an
 * Enhanced Packet per frame, with the frame's comment when there is one;
 * every file of a rotation starts with the same header blocks, so each
 * opens on its own.  "-" writes the stream to standard output.
 *
 * File names, as tcpdump 4.99 makes them:
 *   - no rotation: path as given.
 *   - -C (rotate_bytes): the first file is path, the next path1, path2, ...
 *     With -W N as well, a ring: path0 .. path{N-1}, the number zero-padded
 *     to the width of N-1 (-W 10: path0..path9; -W 100: path00..path99;
 *     -W 1: path, reused), each reopened (truncated) when its turn comes.
 *   - -G (rotate_seconds): path is a strftime(3) template, expanded with the
 *     time that opened the file (see below).  With -C as well, the size
 *     rotations within one -G period append 1, 2, ... (or the -W ring
 *     numbers) to the expanded name, and a new period starts again without
 *     a number (0 with -W).  With -W N and no -C, the writer stops after N
 *     files (pcap_writer_write returns PCAP_WRITER_LIMIT), like tcpdump's
 *     "Maximum file limit reached".
 *   - -W without -C or -G is ignored, as tcpdump ignores it.
 *
 * Choices where tcpdump's behaviour would not fit a tracer:
 *   - -C rotates *before* a packet that would take the file over
 *     rotate_bytes, so files never exceed it (tcpdump rotates once a file
 *     already exceeds it).  A file always takes at least one packet, so a
 *     single record larger than rotate_bytes gets a file of its own.
 *   - -G works on packet time, not on the clock at write time: a period
 *     starts with the packet (or the open) that opened the file and ends
 *     with the first packet rotate_seconds or more later, which opens the
 *     next file named from that packet's time (tcpdump's periods also run
 *     from one rotation to the next rather than being clock aligned).
 *     The first file is named from opts.start_ns (0: now).  A packet older
 *     than the period start (clocks stepping back) stays in the current
 *     file.
 *   - Names are expanded in local time, as tcpdump does (honouring TZ);
 *     opts.utc selects UTC instead.
 *
 * Errors: every failure is a one-line reason naming the file
 * ("trace.pcap: No space left on device").  Records go through a 64 KiB
 * stdio buffer that this unit flushes itself before it would overflow, so
 * the bytes known to be on disk always end at a record boundary; when a
 * write or flush fails, the file is cut back (ftruncate) to that boundary
 * and closed, so it stays a valid pcap file of complete records.  The
 * records that were still in the buffer are lost (at most 64 KiB; with
 * flush_each only the failing one) and are not counted by
 * pcap_writer_packets.  A file whose header cannot be written is removed.
 * On standard output, and on files that are not regular files, nothing is
 * cut back: an error there is only reported.  After an error the writer
 * refuses further packets; pcap_writer_close still frees it.
 */
#ifndef CATRACE_PCAP_WRITER_H
#define CATRACE_PCAP_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAP_WRITER_DEFAULT_SNAPLEN 262144u	/* tcpdump's -s 0 */

/* pcap_writer_write: -G with -W reached its file count; the packet was not
 * written and the last file is closed.  The caller should stop cleanly. */
#define PCAP_WRITER_LIMIT 1

/* A pcapng interface: its Interface Description Block. */
struct pcap_writer_iface {
	const char *name;        /* if_name, or NULL (a capture file) */
	const char *description; /* if_description, or NULL */
};

struct pcap_writer_opts {
	const char *path;	 /* file, template (-G) or "-" for stdout */
	uint32_t snaplen;	 /* -s: 0 means 262144 (at most 262144) */
	bool flush_each;	 /* -U: flush after every packet */
	uint64_t rotate_bytes;	 /* -C in bytes (MB * 1000000); 0: off */
	uint32_t rotate_seconds; /* -G; 0: off */
	uint32_t max_files;	 /* -W; 0: unlimited */
	bool utc;		 /* -G names in UTC instead of local time */
	uint64_t start_ns;	 /* Unix ns naming the first -G file; 0: now */
	bool linktype_set;	 /* linktype given; else Ethernet (EN10MB) */
	int linktype;		 /* DLT_ value of the frames written */
	bool pcapng;		 /* pcapng instead of classic pcap */
	/* pcapng: the interfaces, in the order of their ids (none given: one
	 * without name or description).  The strings are copied. */
	const struct pcap_writer_iface *ifaces;
	unsigned n_ifaces;
};

struct pcap_writer;

/* Open the (first) file and write its header.  NULL on failure with a
 * one-line reason in err. */
struct pcap_writer *pcap_writer_open(const struct pcap_writer_opts *o,
				     char *err, size_t errlen);

/* Write one frame captured at ts_ns (Unix time in ns).  caplen bytes of
 * data are given; more than snaplen are cut to snaplen, wirelen is kept.
 * 0: written (or buffered); -1: error, reason naming the file in err (and
 * the same for every later call); PCAP_WRITER_LIMIT: see above. */
int pcap_writer_write(struct pcap_writer *w, uint64_t ts_ns,
		      const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		      char *err, size_t errlen);

/* The same, on interface if_id (pcapng: an index into opts.ifaces; an id
 * past them is written as 0), with a comment (pcapng: the frame's
 * opt_comment; NULL or "": none).  Classic pcap ignores both. */
int pcap_writer_write_note(struct pcap_writer *w, uint32_t if_id, uint64_t ts_ns,
			   const uint8_t *data, uint32_t caplen, uint32_t wirelen,
			   const char *comment, char *err, size_t errlen);

/* Whether a -w file name asks for pcapng (it ends in ".pcapng"). */
bool pcap_writer_name_is_pcapng(const char *path);

/* Flush what is buffered (e.g. on a timer, or before exiting on a
 * signal).  0 or -1 with err as for pcap_writer_write. */
int pcap_writer_flush(struct pcap_writer *w, char *err, size_t errlen);

/* Flush, close and free.  -1 with err if the final flush fails; an error
 * already returned by pcap_writer_write is not returned again (0).
 * Standard output is flushed but left open. */
int pcap_writer_close(struct pcap_writer *w, char *err, size_t errlen);

/* Packets in the files (across rotations; after an error, only those the
 * files really hold). */
/* Writing to standard output failed because its reader went away (EPIPE:
 * `catrace -w - | head -c N`): a clean end, not an error. */
bool pcap_writer_reader_gone(const struct pcap_writer *w);
uint64_t pcap_writer_packets(const struct pcap_writer *w);

/* Name of the file being written ("-" for stdout), or the last one. */
const char *pcap_writer_filename(const struct pcap_writer *w);

#endif
