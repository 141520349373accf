/* pcapng: see pcapng.h. */
#include "pcapng.h"

#include <stdio.h>
#include <string.h>

#define OPT_HDR_LEN 4u

static uint32_t pad4(uint32_t n)
{
	return (n + 3u) & ~3u;
}

static void put_u16(struct sbuf *sb, uint16_t v)
{
	sbuf_put(sb, (const char *)&v, sizeof(v));
}

static void put_u32(struct sbuf *sb, uint32_t v)
{
	sbuf_put(sb, (const char *)&v, sizeof(v));
}

static void put_zeros(struct sbuf *sb, uint32_t n)
{
	static const char z[4];

	if (n)
		sbuf_put(sb, z, n);
}

/* Bytes an option takes in a block, header and padding included. */
static uint32_t opt_len(size_t vlen)
{
	return OPT_HDR_LEN + pad4((uint32_t)vlen);
}

static void put_opt(struct sbuf *sb, uint16_t code, const void *v, size_t vlen)
{
	put_u16(sb, code);
	put_u16(sb, (uint16_t)vlen);
	if (vlen)
		sbuf_put(sb, v, vlen);
	put_zeros(sb, pad4((uint32_t)vlen) - (uint32_t)vlen);
}

/* A string option's length: names and descriptions are short; one that is
 * not is cut (they are labels, not data). */
static size_t str_opt_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > PCAPNG_COMMENT_MAX ? PCAPNG_COMMENT_MAX : n;
}

/* The block's closing length, which must equal its opening one: checked
 * here so that a miscount is a failure, not a file readers reject. */
static bool close_block(struct sbuf *sb, size_t start, uint32_t total)
{
	put_u32(sb, total);
	if (sb->oom)
		return false;
	return sb->len - start == total;
}

bool pcapng_put_shb(struct sbuf *sb, const char *userappl)
{
	size_t start = sb->len, ul = str_opt_len(userappl);
	uint32_t total = 28;   /* type, length, magic, versions, section length, length */
	uint64_t section_len = UINT64_MAX;   /* -1: not known */

	if (ul)
		total += opt_len(ul) + OPT_HDR_LEN;
	put_u32(sb, PCAPNG_BT_SHB);
	put_u32(sb, total);
	put_u32(sb, PCAPNG_BYTE_ORDER_MAGIC);
	put_u16(sb, 1);
	put_u16(sb, 0);
	sbuf_put(sb, (const char *)&section_len, sizeof(section_len));
	if (ul) {
		put_opt(sb, PCAPNG_OPT_SHB_USERAPPL, userappl, ul);
		put_opt(sb, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	}
	return close_block(sb, start, total);
}

bool pcapng_put_idb(struct sbuf *sb, uint16_t linktype, uint32_t snaplen,
		    const char *name, const char *description)
{
	size_t start = sb->len, nl = str_opt_len(name), dl = str_opt_len(description);
	/* Nanosecond time stamps: 10^-9, the format's "negative power of 10". */
	uint8_t tsresol = 9;
	uint32_t total = 20;   /* type, length, link type, reserved, snap length, length */

	if (nl)
		total += opt_len(nl);
	if (dl)
		total += opt_len(dl);
	total += opt_len(sizeof(tsresol)) + OPT_HDR_LEN;
	put_u32(sb, PCAPNG_BT_IDB);
	put_u32(sb, total);
	put_u16(sb, linktype);
	put_u16(sb, 0);
	put_u32(sb, snaplen);
	if (nl)
		put_opt(sb, PCAPNG_OPT_IF_NAME, name, nl);
	if (dl)
		put_opt(sb, PCAPNG_OPT_IF_DESCRIPTION, description, dl);
	put_opt(sb, PCAPNG_OPT_IF_TSRESOL, &tsresol, sizeof(tsresol));
	put_opt(sb, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	return close_block(sb, start, total);
}

/* Length of the valid UTF-8 character at s (at most n bytes), 0 when the
 * bytes there are not one (overlong, surrogate, past U+10FFFF, cut). */
static size_t utf8_char_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

/* The text of the character at s[i] as written, and how many bytes of s
 * it stands for (in *n). */
static const char *comment_piece(const unsigned char *s, size_t i, size_t len,
				 char esc[5], size_t *plen, size_t *n)
{
	size_t cl = utf8_char_len(s + i, len - i);

	*n = 1;
	if (cl == 0 || (cl == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
		snprintf(esc, 5, "\\x%02x", s[i]);
		*plen = 4;
		return esc;
	}
	*n = cl;
	*plen = cl;
	return (const char *)s + i;
}

void pcapng_put_comment_text(struct sbuf *sb, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	const size_t room = PCAPNG_COMMENT_MAX - (sizeof(PCAPNG_CUT_MARK) - 1);
	size_t i, n, plen, total = 0, out = 0;
	char esc[5];

	/* First the whole length: only a text that does not fit is cut, and
	 * then where the mark still fits after it. */
	for (i = 0; i < len; i += n) {
		comment_piece(s, i, len, esc, &plen, &n);
		total += plen;
	}
	for (i = 0; i < len; i += n) {
		const char *piece = comment_piece(s, i, len, esc, &plen, &n);

		if (total > PCAPNG_COMMENT_MAX && out + plen > room) {
			sbuf_put(sb, PCAPNG_CUT_MARK, sizeof(PCAPNG_CUT_MARK) - 1);
			return;
		}
		sbuf_put(sb, piece, plen);
		out += plen;
	}
}

bool pcapng_put_epb(struct sbuf *sb, uint32_t if_id, uint64_t ts_ns,
		    const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		    const char *comment)
{
	struct sbuf text;
	size_t start = sb->len, cl = 0;
	uint32_t total;
	bool ok;

	/* 32 bytes of fixed fields and lengths: the data must leave room. */
	if (caplen > UINT32_MAX - 32 - opt_len(PCAPNG_COMMENT_MAX) - 2 * OPT_HDR_LEN)
		return false;
	sbuf_init(&text);
	if (comment && *comment) {
		pcapng_put_comment_text(&text, comment, strlen(comment));
		if (text.oom) {
			sbuf_free(&text);
			sb->oom = true;
			return false;
		}
		cl = text.len;
	}
	total = 32 + pad4(caplen);
	if (cl)
		total += opt_len(cl) + OPT_HDR_LEN;
	put_u32(sb, PCAPNG_BT_EPB);
	put_u32(sb, total);
	put_u32(sb, if_id);
	put_u32(sb, (uint32_t)(ts_ns >> 32));
	put_u32(sb, (uint32_t)ts_ns);
	put_u32(sb, caplen);
	put_u32(sb, wirelen < caplen ? caplen : wirelen);
	if (caplen)
		sbuf_put(sb, (const char *)data, caplen);
	put_zeros(sb, pad4(caplen) - caplen);
	if (cl) {
		put_opt(sb, PCAPNG_OPT_COMMENT, text.buf, cl);
		put_opt(sb, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	}
	ok = close_block(sb, start, total);
	sbuf_free(&text);
	return ok;
}
