/* Unit tests for user/pcapng.c: the pcapng blocks catrace writes.
 *
 * Each block is walked as a reader would: its two length fields must
 * agree with each other and with the bytes appended, be a multiple of 4,
 * and its options must parse (code, length, value, zero padding) up to
 * opt_endofopt.  Comments are checked for escaping (control characters,
 * bad UTF-8) and the length limit.  Last, a file of these blocks is read
 * back by libpcap, at nanosecond precision, byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcapng.h"
#include "sbuf.h"

static uint32_t get_u32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t get_u16(const char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Check the block at b (of `avail` bytes): type, equal lengths, a
 * multiple of 4.  Returns its length. */
static uint32_t check_block(const char *b, size_t avail, uint32_t type)
{
	uint32_t len;

	assert_true(avail >= 12);
	assert_int_equal(get_u32(b), type);
	len = get_u32(b + 4);
	assert_true(len <= avail);
	assert_int_equal(len % 4, 0);
	assert_int_equal(get_u32(b + len - 4), len);
	return len;
}

struct opt {
	uint16_t code, len;
	const char *val;
};

/* Parse the options from b[off] to the block's trailing length: each
 * padded with zeros, the list closed by opt_endofopt.  Returns how many. */
static unsigned parse_opts(const char *b, uint32_t off, uint32_t len,
			   struct opt *o, unsigned max)
{
	unsigned n = 0;
	bool end = false;

	while (off < len - 4) {
		uint16_t code = get_u16(b + off), l = get_u16(b + off + 2);
		uint32_t padded = (l + 3u) & ~3u, i;

		assert_false(end);   /* nothing after opt_endofopt */
		assert_true(off + 4 + padded <= len - 4);
		for (i = l; i < padded; i++)
			assert_int_equal(b[off + 4 + i], 0);
		if (code == PCAPNG_OPT_ENDOFOPT) {
			assert_int_equal(l, 0);
			end = true;
		} else {
			assert_true(n < max);
			o[n].code = code;
			o[n].len = l;
			o[n].val = b + off + 4;
			n++;
		}
		off += 4 + padded;
	}
	assert_int_equal(off, len - 4);
	if (n)
		assert_true(end);
	return n;
}

static void test_shb(void **state)
{
	struct sbuf sb;
	struct opt o[4];
	uint64_t seclen;
	uint32_t len;

	(void)state;
	sbuf_init(&sb);
	assert_true(pcapng_put_shb(&sb, NULL));
	len = check_block(sb.buf, sb.len, PCAPNG_BT_SHB);
	assert_int_equal(len, 28);
	assert_int_equal(sb.len, 28);
	assert_int_equal(get_u32(sb.buf + 8), PCAPNG_BYTE_ORDER_MAGIC);
	assert_int_equal(get_u16(sb.buf + 12), 1);
	assert_int_equal(get_u16(sb.buf + 14), 0);
	memcpy(&seclen, sb.buf + 16, 8);
	assert_true(seclen == UINT64_MAX);

	sbuf_reset(&sb);
	assert_true(pcapng_put_shb(&sb, "catrace 1.2"));   /* 11 bytes: 1 pad */
	len = check_block(sb.buf, sb.len, PCAPNG_BT_SHB);
	assert_int_equal(len, 28 + 4 + 12 + 4);
	assert_int_equal(parse_opts(sb.buf, 24, len, o, 4), 1);
	assert_int_equal(o[0].code, PCAPNG_OPT_SHB_USERAPPL);
	assert_int_equal(o[0].len, 11);
	assert_memory_equal(o[0].val, "catrace 1.2", 11);
	sbuf_free(&sb);
}

static void test_idb(void **state)
{
	struct sbuf sb;
	struct opt o[4];
	uint32_t len;

	(void)state;
	sbuf_init(&sb);
	/* "lo": 2 bytes of padding; the description 20: none. */
	assert_true(pcapng_put_idb(&sb, 1, 262144, "lo", "catrace: CA on lo..."));
	len = check_block(sb.buf, sb.len, PCAPNG_BT_IDB);
	assert_int_equal(len, sb.len);
	assert_int_equal(get_u16(sb.buf + 8), 1);
	assert_int_equal(get_u16(sb.buf + 10), 0);
	assert_int_equal(get_u32(sb.buf + 12), 262144);
	assert_int_equal(parse_opts(sb.buf, 16, len, o, 4), 3);
	assert_int_equal(o[0].code, PCAPNG_OPT_IF_NAME);
	assert_int_equal(o[0].len, 2);
	assert_memory_equal(o[0].val, "lo", 2);
	assert_int_equal(o[1].code, PCAPNG_OPT_IF_DESCRIPTION);
	assert_int_equal(o[1].len, 20);
	assert_int_equal(o[2].code, PCAPNG_OPT_IF_TSRESOL);
	assert_int_equal(o[2].len, 1);
	assert_int_equal(o[2].val[0], 9);
	assert_int_equal(len, 16 + (4 + 4) + (4 + 20) + (4 + 4) + 4 + 4);

	/* No name, no description: the resolution alone. */
	sbuf_reset(&sb);
	assert_true(pcapng_put_idb(&sb, 113, 65535, NULL, ""));
	len = check_block(sb.buf, sb.len, PCAPNG_BT_IDB);
	assert_int_equal(parse_opts(sb.buf, 16, len, o, 4), 1);
	assert_int_equal(o[0].code, PCAPNG_OPT_IF_TSRESOL);
	sbuf_free(&sb);
}

/* One EPB with caplen bytes and comment c: its fields and the comment
 * option as written (NULL when none). */
static const struct opt *epb_with(struct sbuf *sb, uint32_t caplen, const char *c,
				  struct opt *o)
{
	static uint8_t data[70000];
	uint64_t ts = 1704164645123456789ull;
	uint32_t len, i;
	unsigned n;

	for (i = 0; i < caplen; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	sbuf_reset(sb);
	assert_true(pcapng_put_epb(sb, 3, ts, data, caplen, caplen + 10, c));
	len = check_block(sb->buf, sb->len, PCAPNG_BT_EPB);
	assert_int_equal(len, sb->len);
	assert_int_equal(get_u32(sb->buf + 8), 3);
	assert_int_equal(get_u32(sb->buf + 12), (uint32_t)(ts >> 32));
	assert_int_equal(get_u32(sb->buf + 16), (uint32_t)ts);
	assert_int_equal(get_u32(sb->buf + 20), caplen);
	assert_int_equal(get_u32(sb->buf + 24), caplen + 10);
	assert_memory_equal(sb->buf + 28, data, caplen);
	for (i = caplen; i < ((caplen + 3) & ~3u); i++)
		assert_int_equal(sb->buf[28 + i], 0);
	n = parse_opts(sb->buf, 28 + ((caplen + 3) & ~3u), len, o, 1);
	if (!n)
		return NULL;
	assert_int_equal(o[0].code, PCAPNG_OPT_COMMENT);
	return o;
}

static void test_epb_padding(void **state)
{
	struct sbuf sb;
	struct opt o[1];
	uint32_t caplen;

	(void)state;
	sbuf_init(&sb);
	for (caplen = 0; caplen <= 9; caplen++) {
		assert_null(epb_with(&sb, caplen, NULL, o));
		assert_int_equal(sb.len, 32 + ((caplen + 3) & ~3u));
		assert_null(epb_with(&sb, caplen, "", o));
		assert_non_null(epb_with(&sb, caplen, "abcde", o));
		assert_int_equal(o[0].len, 5);
		assert_memory_equal(o[0].val, "abcde", 5);
		assert_int_equal(sb.len, 32 + ((caplen + 3) & ~3u) + 4 + 8 + 4);
	}
	sbuf_free(&sb);
}

/* The comment written for text s. */
static char *written(const char *s, size_t len)
{
	struct sbuf sb;
	char *r;

	sbuf_init(&sb);
	pcapng_put_comment_text(&sb, s, len);
	assert_false(sb.oom);
	r = strdup(sb.len ? sb.buf : "");
	sbuf_free(&sb);
	return r;
}

static void check_written(const char *s, size_t len, const char *want)
{
	char *got = written(s, len);

	assert_string_equal(got, want);
	free(got);
}

static void test_comment_escaping(void **state)
{
	(void)state;
	check_written("ReadNotifyResponse T:ai ioid=3", 30,
		      "ReadNotifyResponse T:ai ioid=3");
	/* A backslash catrace printed stays as it is. */
	check_written("a\\x41\\\\", 7, "a\\x41\\\\");
	check_written("a\nb\tc\x7f", 6, "a\\x0ab\\x09c\\x7f");
	/* A NUL inside the text is a byte like another. */
	check_written("a\0b", 3, "a\\x00b");
	/* Valid UTF-8 stays: e-acute, the euro sign, U+1F600. */
	check_written("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
		      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	/* Invalid: a lone continuation, overlong, a surrogate, past U+10FFFF,
	 * a sequence cut by the end. */
	check_written("\x80", 1, "\\x80");
	check_written("\xc0\xaf", 2, "\\xc0\\xaf");
	check_written("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	check_written("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80");
	check_written("x\xe2\x82", 3, "x\\xe2\\x82");
}

static void test_comment_limit(void **state)
{
	size_t big = PCAPNG_COMMENT_MAX + 100, n, mark = strlen(PCAPNG_CUT_MARK);
	char *s = malloc(big), *w;
	struct sbuf sb;
	struct opt o[1];

	(void)state;
	assert_non_null(s);
	memset(s, 'a', big);
	/* Exactly at the limit: whole. */
	w = written(s, PCAPNG_COMMENT_MAX);
	assert_int_equal(strlen(w), PCAPNG_COMMENT_MAX);
	free(w);
	/* One more: cut, with the mark, within the limit. */
	w = written(s, PCAPNG_COMMENT_MAX + 1);
	n = strlen(w);
	assert_int_equal(n, PCAPNG_COMMENT_MAX);
	assert_string_equal(w + n - mark, PCAPNG_CUT_MARK);
	free(w);
	/* Cut at a character boundary, never inside a 3-byte character nor
	 * an escape. */
	for (n = 0; n + 3 <= big; n += 3)
		memcpy(s + n, "\xe2\x82\xac", 3);
	w = written(s, big - big % 3);
	n = strlen(w) - mark;
	assert_true(strlen(w) <= PCAPNG_COMMENT_MAX);
	assert_int_equal(n % 3, 0);
	assert_string_equal(w + n, PCAPNG_CUT_MARK);
	free(w);
	memset(s, '\n', big);
	w = written(s, big);
	n = strlen(w) - mark;
	assert_int_equal(n % 4, 0);
	assert_true(strlen(w) <= PCAPNG_COMMENT_MAX);
	free(w);
	/* In a block: the option's length fits its 16 bits. */
	memset(s, 'b', big - 1);
	s[big - 1] = '\0';
	sbuf_init(&sb);
	assert_non_null(epb_with(&sb, 60, s, o));
	assert_int_equal(o[0].len, PCAPNG_COMMENT_MAX);
	sbuf_free(&sb);
	free(s);
}

/* A whole file, as the writer makes it, read back by libpcap. */
static void test_libpcap_reads_it(void **state)
{
	char path[] = "/tmp/test_pcapng_XXXXXX";
	char errbuf[PCAP_ERRBUF_SIZE];
	uint8_t pkt[61];
	struct pcap_pkthdr *h;
	const u_char *d;
	struct sbuf sb;
	pcap_t *p;
	FILE *f;
	int fd, i;

	(void)state;
	for (i = 0; i < (int)sizeof(pkt); i++)
		pkt[i] = (uint8_t)i;
	sbuf_init(&sb);
	assert_true(pcapng_put_shb(&sb, "catrace test"));
	assert_true(pcapng_put_idb(&sb, DLT_EN10MB, 262144, "eth0", "catrace: CA on eth0"));
	for (i = 0; i < 3; i++)
		assert_true(pcapng_put_epb(&sb, 0, 1704164645000000001ull + (uint64_t)i,
					   pkt, (uint32_t)(59 + i), 100,
					   i == 1 ? "EventAddResponse T:calc" : NULL));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(sb.buf, 1, sb.len, f), sb.len);
	assert_int_equal(fclose(f), 0);
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	assert_non_null(p);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	for (i = 0; i < 3; i++) {
		assert_int_equal(pcap_next_ex(p, &h, &d), 1);
		assert_int_equal(h->ts.tv_sec, 1704164645);
		assert_int_equal(h->ts.tv_usec, 1 + i);   /* ns, at this precision */
		assert_int_equal(h->caplen, 59 + i);
		assert_int_equal(h->len, 100);
		assert_memory_equal(d, pkt, h->caplen);
	}
	assert_int_equal(pcap_next_ex(p, &h, &d), PCAP_ERROR_BREAK);
	pcap_close(p);
	unlink(path);
	sbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shb),
		cmocka_unit_test(test_idb),
		cmocka_unit_test(test_epb_padding),
		cmocka_unit_test(test_comment_escaping),
		cmocka_unit_test(test_comment_limit),
		cmocka_unit_test(test_libpcap_reads_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
