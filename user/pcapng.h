/* pcapng: the blocks of a pcapng file, encoded into an sbuf (no I/O).
 *
 * Follows the pcapng draft (IETF opsawg, "PCAP Next Generation Dump File
 * Format"): every block is type (u32), total length (u32), body, total
 * length again; the body and each option value are padded with zeros to
 * 32 bits; options are code (u16), value length (u16, unpadded), value,
 * and a list of them ends with opt_endofopt (0, 0).  Numbers are written
 * in host byte order, which the Section Header's byte-order magic tells
 * readers.
 *
 *   Section Header:     0x0A0D0D0A  magic 0x1A2B3C4D  major 1  minor 0
 *                       section length -1 (unknown)  [shb_userappl]
 *   Interface Description: 1  link type (u16) 0 (u16)  snap length (u32)
 *                       [if_name] [if_description] if_tsresol 9 (ns)
 *   Enhanced Packet:    6  interface id  time high  time low  captured
 *                       length  original length  data  [opt_comment]
 *
 * Comments are UTF-8 (the format says so): bytes that are not valid UTF-8,
 * and control characters, are written as \xNN, so any text stays one
 * readable line.  Nothing else is changed (a backslash stays one): catrace's
 * lines escape what they print already, and a comment must read back equal
 * to its line.  A comment longer than
 * PCAPNG_COMMENT_MAX bytes (an option's length is 16 bits) is cut at a
 * character boundary and ends with PCAPNG_CUT_MARK.
 */
#ifndef CATRACE_PCAPNG_H
#define CATRACE_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

#define PCAPNG_BT_SHB 0x0A0D0D0Au
#define PCAPNG_BT_IDB 0x00000001u
#define PCAPNG_BT_EPB 0x00000006u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du

#define PCAPNG_OPT_ENDOFOPT 0
#define PCAPNG_OPT_COMMENT 1
#define PCAPNG_OPT_SHB_USERAPPL 4
#define PCAPNG_OPT_IF_NAME 2
#define PCAPNG_OPT_IF_DESCRIPTION 3
#define PCAPNG_OPT_IF_TSRESOL 9

/* Longest comment value written, a multiple of 4 below the 16-bit option
 * length, so its padding still fits. */
#define PCAPNG_COMMENT_MAX 65532u
#define PCAPNG_CUT_MARK " [cut]"

/* Each appends one whole block to sb; false when memory ran out (sb->oom,
 * as sbuf does) or a length does not fit the format. */
bool pcapng_put_shb(struct sbuf *sb, const char *userappl);
/* name, description: NULL for none. */
bool pcapng_put_idb(struct sbuf *sb, uint16_t linktype, uint32_t snaplen,
		    const char *name, const char *description);
/* ts_ns: Unix time in ns (the IDB's if_tsresol); comment: NULL or "" for
 * none. */
bool pcapng_put_epb(struct sbuf *sb, uint32_t if_id, uint64_t ts_ns,
		    const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		    const char *comment);

/* The comment text as written: escaped and cut as described above.
 * Appends to sb. */
void pcapng_put_comment_text(struct sbuf *sb, const char *s, size_t len);

#endif
