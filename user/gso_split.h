/* gso_split: cut a TCP/IPv4 GSO super-packet into its wire segments.
 *
 * tc egress sees a TCP send as one skb of up to 64 KB; the stack (or the
 * NIC) cuts its payload into gso_size-byte segments only afterwards.  A -w
 * file must hold what went on the wire, as tcpdump's would, so the writer
 * redoes that cut here, byte for byte as Linux's software GSO
 * (inet_gso_segment + tcp_gso_segment) does it:
 *
 *   - the Ethernet header and VLAN tags (up to two) are copied unchanged;
 *   - the IPv4 header (options included) is copied with its total length
 *     set for the segment, the ID incremented per segment (the first keeps
 *     the original; no SKB_GSO_TCP_FIXEDID) and the checksum recomputed;
 *   - the TCP header (options included) is copied with the sequence number
 *     advanced by gso_size per segment, FIN and PSH kept only on the last
 *     segment, CWR only on the first, and a full checksum over the
 *     pseudo-header (what a NIC with checksum offload would put there).
 *
 * Bytes after the IPv4 total length (link padding) are not part of any
 * segment.  A total length of 0 on a frame longer than 64 KB is taken as
 * IPv4 BIG TCP (the length is then the rest of the frame).
 */
#ifndef CATRACE_GSO_SPLIT_H
#define CATRACE_GSO_SPLIT_H

#include <stdint.h>

/* The largest segment gso_split emits: Ethernet + two VLAN tags + IPv4 and
 * TCP headers with full options + a 64 KB payload. */
#define GSO_SPLIT_MAX_SEG (14 + 2 * 4 + 60 + 60 + 65535)

typedef void (*gso_emit_fn)(void *ctx, const uint8_t *seg, uint32_t seglen);

/* Split frame (len bytes, Ethernet) into gso_size-byte payload segments and
 * hand each, in order, to emit.  Returns the number of segments, or 0 when
 * the frame is not splittable: not IPv4/TCP, a fragment, TCP payload <=
 * gso_size (or gso_size 0), or headers truncated or contradicting each
 * other; the caller then writes the frame as it is.
 *
 * A segment is built in a per-thread buffer that is only valid during the
 * emit call; emit must not call gso_split itself. */
int gso_split(const uint8_t *frame, uint32_t len, uint16_t gso_size,
	      gso_emit_fn emit, void *ctx);

/* Recompute the TCP or UDP checksum of a complete IPv4 frame in place
 * (egress packets seen before the stack finished it).  Returns 1 when it
 * did, 0 when the frame is not complete IPv4 TCP/UDP. */
int l4_csum_finalize(uint8_t *frame, uint32_t len);

#endif
