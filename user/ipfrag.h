/* ipfrag: IPv4 datagrams put back together from their fragments, as the
 * receiving host's stack does, so that a WRITE or a SEARCH sent in
 * fragments is decoded rather than skipped (issue 14).
 *
 * The rules are the receiver's (Linux's): fragments are held per (source,
 * destination, identification, protocol); one that overlaps another
 * without repeating its exact range makes the whole datagram dropped (a
 * receiver drops it, so what it seems to say never happened); an exact
 * repeat is ignored, the first copy kept; a datagram not complete 30 s
 * after its first fragment is given up.  Bounded: at most IPFRAG_MAX
 * datagrams are held (the oldest is given up for a new one), each at most
 * 64 KiB, in at most IPFRAG_MAX_PIECES fragments.
 */
#ifndef CATRACE_IPFRAG_H
#define CATRACE_IPFRAG_H

#include <stdbool.h>
#include <stdint.h>

#define IPFRAG_MAX 64
#define IPFRAG_MAX_PIECES 128
#define IPFRAG_TIMEOUT_NS (30ull * 1000000000ull)

struct ipfrag_dgram;

struct ipfrag_stats {
	uint64_t reassembled;   /* datagrams put back together */
	uint64_t given_up;      /* held ones dropped: timed out, pushed out, too many pieces */
	uint64_t overlapping;   /* dropped because two fragments overlapped */
	uint64_t bad;           /* fragments no receiver takes (past 64 KiB, not 8-byte units) */
};

/* The packets a datagram came in (the caller's numbers for them). */
struct ipfrag_piece_of {
	uint64_t frame;
	uint64_t ts_ns;
};

struct ipfrag {
	struct ipfrag_dgram *d[IPFRAG_MAX];
	unsigned n;
	struct ipfrag_stats st;
	/* The last datagram completed: its fragments' packets, by offset. */
	struct ipfrag_piece_of done[IPFRAG_MAX_PIECES];
	unsigned n_done;
};

enum ipfrag_result {
	IPFRAG_HELD,       /* kept until the rest comes */
	IPFRAG_COMPLETE,   /* *out holds the whole datagram */
	IPFRAG_DROPPED,    /* this fragment (and maybe its datagram) dropped */
};

void ipfrag_init(struct ipfrag *t);
void ipfrag_free(struct ipfrag *t);

/* One fragment: `ip` its IPv4 packet (header included), `len` its bytes
 * (the total length its header gives; the caller checked they were all
 * captured).  On IPFRAG_COMPLETE, *out is the whole datagram as one IPv4
 * packet with fragmentation fields cleared (malloc'd: the caller frees
 * it) and *out_len its length, and t->done lists the packets (`frame`,
 * `now_ns` as given with each) its fragments came in.  Datagrams older
 * than the timeout are given up first. */
enum ipfrag_result ipfrag_add(struct ipfrag *t, const uint8_t *ip, uint32_t len,
			      uint64_t now_ns, uint64_t frame, uint8_t **out,
			      uint32_t *out_len);

/* The earliest packet of a fragment held now (UINT64_MAX both when none):
 * a writer of those packets waits for it. */
struct ipfrag_piece_of ipfrag_oldest_held(const struct ipfrag *t);

/* Datagrams held now (tests, metrics). */
unsigned ipfrag_held(const struct ipfrag *t);

#endif
