/* Unit tests for user/dissect.c: the field list of one CA message.
 *
 * Messages are built byte by byte (wire.h) after the CA specification and
 * db_access.h; the payload handed to the dissector is a heap copy of
 * exactly the captured bytes, so AddressSanitizer catches a read past it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_decode.h"
#include "dbr.h"
#include "dissect.h"
#include "sbuf.h"
#include "wire.h"

#define D_1_5 0x3ff8000000000000ull
#define D_2_5 0x4004000000000000ull

struct built {
	struct ca_msg m;
	uint8_t *payload;   /* exact-size copy of the captured payload bytes */
	struct dis_msg dm;
};

/* Parse w's bytes as one message of which `captured` payload bytes are
 * kept (SIZE_MAX: all), and dissect it. */
static void build(struct built *b, const struct wire *w, enum ca_dir dir, bool tcp,
		  size_t captured, size_t max_elements)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(ca_hdr_parse(w->b, w->n, &b->m.h), CA_HDR_OK);
	b->m.dir = dir;
	b->m.tcp = tcp;
	ca_msg_set_raw_hdr(&b->m, w->b, b->m.h.hdr_len);
	b->m.payload_len = w->n - b->m.h.hdr_len;
	if (captured < b->m.payload_len)
		b->m.payload_len = captured;
	b->payload = malloc(b->m.payload_len ? b->m.payload_len : 1);
	assert_non_null(b->payload);
	memcpy(b->payload, w->b + b->m.h.hdr_len, b->m.payload_len);
	b->m.payload = b->payload;
	assert_true(dissect_msg(&b->dm, &b->m, max_elements));
}

static void unbuild(struct built *b)
{
	dis_msg_free(&b->dm);
	free(b->payload);
}

/* Field i is `id` at off, len bytes, have of them captured. */
static void expect(const struct built *b, size_t i, const char *id, uint32_t off,
		   uint32_t len, uint32_t have)
{
	const struct dis_field *f;

	assert_true(i < b->dm.n);
	f = &b->dm.f[i];
	assert_string_equal(f->d->id, id);
	assert_int_equal(f->off, off);
	assert_int_equal(f->len, len);
	assert_int_equal(f->have, have);
}

static void expect_whole(const struct built *b, size_t i, const char *id, uint32_t off,
			 uint32_t len)
{
	expect(b, i, id, off, len, len);
}

static void expect_hvalue(const struct built *b, size_t i, const char *want, bool known)
{
	struct sbuf sb;
	bool k;

	sbuf_init(&sb);
	dis_field_hvalue(&b->dm, &b->dm.f[i], &sb, &k);
	assert_false(sb.oom);
	assert_string_equal(sbuf_str(&sb), want);
	assert_int_equal(k, known);
	sbuf_free(&sb);
}

static void expect_json(const struct built *b, size_t i, const char *want)
{
	struct sbuf sb;

	sbuf_init(&sb);
	dis_field_value_json(&b->dm, &b->dm.f[i], &sb);
	assert_string_equal(sbuf_str(&sb), want);
	sbuf_free(&sb);
}

/* The fields cover the message: each begins where the last ended. */
static void expect_tiled(const struct built *b)
{
	uint32_t at = 0;
	size_t i;

	for (i = 0; i < b->dm.n; i++) {
		assert_int_equal(b->dm.f[i].off, at);
		assert_true(b->dm.f[i].len > 0);
		at += b->dm.f[i].len;
	}
	assert_int_equal(at, b->dm.total);
}

/* ReadNotifyResponse, TIME_DOUBLE, one element: the header's fields by
 * their meaning, then status, severity, stamp, the 4-byte RISC pad and
 * the value at dbr_value_offset (16). */
static void test_time_double(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 24, 20, 1, 1 /* ECA_NORMAL */, 7);
	wire_u16(&w, 4);      /* HIGH */
	wire_u16(&w, 1);      /* MINOR */
	wire_u32(&w, 1000);   /* seconds past 1990 */
	wire_u32(&w, 5);
	wire_u32(&w, 0);
	wire_u64(&w, D_1_5);
	build(&b, &w, CA_DIR_RESPONSE, true, SIZE_MAX, 0);
	expect_tiled(&b);
	assert_int_equal(b.dm.n, 11);
	expect_whole(&b, 0, "ca.command", 0, 2);
	expect_hvalue(&b, 0, "ReadNotifyResponse", true);
	expect_whole(&b, 1, "ca.payload_size", 2, 2);
	expect_whole(&b, 2, "ca.data_type", 4, 2);
	expect_hvalue(&b, 2, "TIME_DOUBLE", true);
	expect_whole(&b, 3, "ca.data_count", 6, 2);
	expect_whole(&b, 4, "ca.status", 8, 4);
	expect_hvalue(&b, 4, "ECA_NORMAL", true);
	expect_whole(&b, 5, "ca.ioid", 12, 4);
	expect_json(&b, 5, "7");
	expect_whole(&b, 6, "ca.dbr.status", 16, 2);
	expect_hvalue(&b, 6, "HIGH", true);
	expect_whole(&b, 7, "ca.dbr.severity", 18, 2);
	expect_hvalue(&b, 7, "MINOR", true);
	expect_whole(&b, 8, "ca.dbr.stamp", 20, 8);
	expect_hvalue(&b, 8, "1990-01-01T00:16:40.000000005Z", true);
	expect_json(&b, 8, "{\"sec\":1000,\"nsec\":5}");
	expect_whole(&b, 9, "ca.dbr.pad", 28, 4);
	expect_whole(&b, 10, "ca.dbr.value", 32, 8);
	assert_int_equal(b.dm.f[10].index, 0);
	expect_hvalue(&b, 10, "1.5", true);
	unbuild(&b);
}

/* An extended header: its two words are fields; with max_elements 2 the
 * third element is in one "more values" field; the padding after. */
static void test_extended_and_more(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;

	(void)state;
	wire_ca_ext_hdr(&w, CA_PROTO_EVENT_ADD, 32, 6 /* DOUBLE */, 3, 1, 9);
	wire_u64(&w, D_1_5);
	wire_u64(&w, D_2_5);
	wire_u64(&w, D_1_5);
	wire_u64(&w, 0);      /* padding to 8 is 0 here: size is 32 for 24 */
	build(&b, &w, CA_DIR_RESPONSE, true, SIZE_MAX, 2);
	expect_tiled(&b);
	expect_whole(&b, 1, "ca.payload_size", 2, 2);
	expect_json(&b, 1, "65535");
	expect_whole(&b, 5, "ca.subscription_id", 12, 4);
	expect_whole(&b, 6, "ca.ext_payload_size", 16, 4);
	expect_json(&b, 6, "32");
	expect_whole(&b, 7, "ca.ext_data_count", 20, 4);
	expect_whole(&b, 8, "ca.dbr.value", 24, 8);
	expect_whole(&b, 9, "ca.dbr.value", 32, 8);
	expect_hvalue(&b, 9, "2.5", true);
	expect_whole(&b, 10, "ca.dbr.more_values", 40, 8);
	expect_whole(&b, 11, "ca.padding", 48, 8);
	assert_int_equal(b.dm.n, 12);
	unbuild(&b);
}

/* A payload the capture cut: the element it cut says how much it has and
 * has no value; the elements after it, none of whose bytes are there,
 * are one field, not one each. */
static void test_cut_payload(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 40, 5 /* LONG */, 10, 1, 1);
	for (unsigned i = 0; i < 10; i++)
		wire_u32(&w, i);
	build(&b, &w, CA_DIR_RESPONSE, true, 6, 0);
	expect_tiled(&b);
	expect_whole(&b, 6, "ca.dbr.value", 16, 4);
	expect(&b, 7, "ca.dbr.value", 20, 4, 2);
	expect_json(&b, 7, "null");
	expect_hvalue(&b, 7, "2 of 4 bytes captured", true);
	expect(&b, 8, "ca.dbr.more_values", 24, 32, 0);
	assert_int_equal(b.dm.n, 9);
	assert_int_equal(b.dm.have, 22);
	assert_int_equal(b.dm.total, 56);
	unbuild(&b);
}

/* CTRL_ENUM: no_str, the states it counts, the unused slots as one field,
 * the value at 422. */
static void test_ctrl_enum(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 424, 31, 1, 1, 1);
	wire_u16(&w, 0);
	wire_u16(&w, 0);
	wire_u16(&w, 2);
	wire_str(&w, "Off", MAX_ENUM_STRING_SIZE);
	wire_str(&w, "On", MAX_ENUM_STRING_SIZE);
	wire_fill(&w, 0, 14 * MAX_ENUM_STRING_SIZE);
	wire_u16(&w, 1);      /* 6 + 16 * 26 + 2 = 424: no padding */
	build(&b, &w, CA_DIR_RESPONSE, true, SIZE_MAX, 0);
	expect_tiled(&b);
	expect_whole(&b, 8, "ca.dbr.no_str", 20, 2);
	expect_whole(&b, 9, "ca.dbr.enum_string", 22, 26);
	expect_hvalue(&b, 9, "'Off'", true);
	expect_json(&b, 10, "\"On\"");
	assert_int_equal(b.dm.f[10].index, 1);
	expect_whole(&b, 11, "ca.dbr.enum_unused", 74, 14 * 26);
	expect_whole(&b, 12, "ca.dbr.value", 16 + 422, 2);
	assert_int_equal(b.dm.n, 13);
	unbuild(&b);
}

/* GR_FLOAT: precision and its pad, units, six limits of the value type,
 * then the value (at 40). */
static void test_gr_float(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;
	unsigned i;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 48, 23, 1, 1, 1);
	wire_u16(&w, 0);
	wire_u16(&w, 0);
	wire_u16(&w, 3);
	wire_u16(&w, 0);
	wire_str(&w, "mA", MAX_UNITS_SIZE);
	for (i = 0; i < 7; i++)
		wire_u32(&w, 0x3fc00000u);   /* 1.5f */
	wire_u32(&w, 0);
	build(&b, &w, CA_DIR_RESPONSE, true, SIZE_MAX, 0);
	expect_tiled(&b);
	expect_whole(&b, 8, "ca.dbr.precision", 20, 2);
	expect_json(&b, 8, "3");
	expect_whole(&b, 9, "ca.dbr.precision_pad", 22, 2);
	expect_whole(&b, 10, "ca.dbr.units", 24, 8);
	expect_hvalue(&b, 10, "'mA'", true);
	for (i = 0; i < 6; i++) {
		char id[64];

		snprintf(id, sizeof(id), "ca.dbr.%s", dbr_limit_name(i));
		expect_whole(&b, 11 + i, id, 32 + 4 * i, 4);
	}
	expect_hvalue(&b, 11, "1.5", true);
	expect_whole(&b, 17, "ca.dbr.value", 56, 4);
	expect_whole(&b, 18, "ca.padding", 60, 4);
	unbuild(&b);
}

/* A search: the name up to its NUL, then padding; the header's
 * parameters are the cid twice, the type field the reply flag. */
static void test_search_request(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_SEARCH, 8, CA_DONT_REPLY, 13, 5, 5);
	wire_name(&w, "T:ai", 8);
	build(&b, &w, CA_DIR_REQUEST, false, SIZE_MAX, 0);
	expect_tiled(&b);
	expect_whole(&b, 2, "ca.reply_flag", 4, 2);
	expect_hvalue(&b, 2, "DONT_REPLY", true);
	expect_whole(&b, 4, "ca.cid", 8, 4);
	expect_whole(&b, 5, "ca.cid", 12, 4);
	expect_whole(&b, 6, "ca.pv", 16, 5);
	expect_json(&b, 6, "\"T:ai\"");
	expect_whole(&b, 7, "ca.padding", 21, 3);
	unbuild(&b);
}

/* ERROR: the failed request's header, one level down, then the text. */
static void test_error(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_ERROR, 32, 0, 0, 3, 114 /* ECA_BADTYPE */);
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 0, 99, 1, 2, 4);
	wire_name(&w, "bad type", 16);
	build(&b, &w, CA_DIR_RESPONSE, true, SIZE_MAX, 0);
	expect_tiled(&b);
	expect_hvalue(&b, 5, "ECA_BADTYPE", true);
	expect_whole(&b, 6, "ca.error.command", 16, 2);
	expect_hvalue(&b, 6, "ReadNotifyRequest", true);
	assert_int_equal(b.dm.f[6].depth, 1);
	expect_whole(&b, 8, "ca.error.data_type", 20, 2);
	expect_whole(&b, 12, "ca.error.message", 32, 9);
	assert_int_equal(b.dm.f[12].depth, 0);
	expect_whole(&b, 13, "ca.padding", 41, 7);
	unbuild(&b);
}

/* A size that lies (4 bytes for a DOUBLE): the element the message's end
 * clips has no value, and nothing is read past the message. */
static void test_clipped_element(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 4, 6, 1, 1, 1);
	wire_u32(&w, 0x3ff80000u);
	build(&b, &w, CA_DIR_RESPONSE, true, SIZE_MAX, 0);
	expect_tiled(&b);
	expect_whole(&b, 6, "ca.dbr.value", 16, 4);
	expect_json(&b, 6, "null");
	expect_hvalue(&b, 6, "4 of its 8 bytes before the message ends", true);
	unbuild(&b);
	/* A time stamp clipped the same way. */
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 8, 20, 1, 1, 1);
	wire_u32(&w, 0);
	wire_u32(&w, 1000);
	build(&b, &w, CA_DIR_RESPONSE, true, SIZE_MAX, 0);
	expect_whole(&b, 8, "ca.dbr.stamp", 20, 4);
	expect_json(&b, 8, "null");
	unbuild(&b);
}

/* Enum values no dictionary names: the number, and known false. */
static void test_unknown_enum(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_WRITE_NOTIFY, 0, 6, 1, 9999, 1);
	build(&b, &w, CA_DIR_RESPONSE, true, SIZE_MAX, 0);
	expect_whole(&b, 4, "ca.status", 8, 4);
	expect_hvalue(&b, 4, "9999", false);
	unbuild(&b);
}

/* Monitor mask bits by name. */
static void test_event_add_request(void **state)
{
	struct wire w = { .n = 0 };
	struct built b;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 16, 20, 1, 1, 2);
	wire_u32(&w, 0);
	wire_u32(&w, 0);
	wire_u32(&w, 0);
	wire_u16(&w, 5);
	wire_u16(&w, 0);
	build(&b, &w, CA_DIR_REQUEST, true, SIZE_MAX, 0);
	expect_tiled(&b);
	expect_whole(&b, 9, "ca.mask", 28, 2);
	expect_hvalue(&b, 9, "VALUE|ALARM", true);
	expect_whole(&b, 10, "ca.padding", 30, 2);
	unbuild(&b);
}

/* A header the capture cut: one field of what is there. */
static void test_partial_header(void **state)
{
	struct ca_msg m;
	struct dis_msg dm;
	static const uint8_t bytes[10] = { 0, 15, 0, 8 };

	(void)state;
	memset(&m, 0, sizeof(m));
	m.h.cmd = 15;
	m.h.hdr_len = 10;
	ca_msg_set_raw_hdr(&m, bytes, sizeof(bytes));
	assert_true(dissect_msg(&dm, &m, 0));
	assert_int_equal(dm.n, 1);
	assert_string_equal(dm.f[0].d->id, "ca.header_partial");
	assert_int_equal(dm.f[0].len, 10);
	assert_int_equal(dm.f[0].have, 10);
	dis_msg_free(&dm);
}

/* Without the raw header (a framer that lost it), the fields are written
 * back: an extended one has 0xffff in its 16-bit size. */
static void test_no_raw_header(void **state)
{
	struct ca_msg m;
	struct dis_msg dm;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.h = (struct ca_hdr){ .cmd = 1, .dtype = 6, .size = 0, .count = 0x10000,
			       .p1 = 1, .p2 = 2, .hdr_len = 24, .extended = true };
	m.dir = CA_DIR_RESPONSE;
	assert_true(dissect_msg(&dm, &m, 0));
	assert_int_equal(dm.total, 24);
	assert_int_equal(dm.bytes[2], 0xff);
	assert_int_equal(dm.bytes[3], 0xff);
	assert_int_equal(dm.bytes[21], 1);   /* count 0x10000, big-endian */
	assert_string_equal(dm.f[dm.n - 1].d->id, "ca.ext_data_count");
	dis_msg_free(&dm);
}

/* Every DBR type, counts 0..3, every captured length: the fields tile
 * the message, fixed-size fields have their size unless the message ends
 * first, and nothing reads past the captured bytes (ASan). */
static void test_all_types_tile(void **state)
{
	unsigned type, count, i;

	(void)state;
	for (type = 0; type <= DBR_LAST_TYPE + 1; type++) {
		for (count = 0; count <= 3; count++) {
			uint64_t size = type <= DBR_LAST_TYPE ? ca_value_wire_size(type, count) : 16;
			size_t cap;

			for (cap = 0; cap <= size; cap += (size > 64 ? 37 : 1)) {
				struct wire w = { .n = 0 };
				struct built b;

				wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, (unsigned)size, type, count, 1, 1);
				wire_fill(&w, 0x41, size);
				if (type == 24 || type == 31)   /* GR/CTRL_ENUM: 3 states */
					wire_set16(&w, CA_HDR_LEN + 4, 3);
				build(&b, &w, CA_DIR_RESPONSE, true, cap, 0);
				expect_tiled(&b);
				for (i = 0; i < b.dm.n; i++) {
					const struct dis_field *f = &b.dm.f[i];

					if (f->d->size && f->off + f->d->size <= b.dm.total)
						assert_int_equal(f->len, f->d->size);
					assert_true(f->have <= f->len);
				}
				unbuild(&b);
			}
		}
	}
}

/* The descriptor table: ids unique, the limits named as dbr.c names
 * them, every dictionary with entries, every enum field with one. */
static void test_descriptors(void **state)
{
	size_t i, j;
	int d;

	(void)state;
	for (i = 0; i < dis_n_descs; i++) {
		assert_non_null(dis_descs[i].id);
		assert_non_null(dis_descs[i].name);
		for (j = i + 1; j < dis_n_descs; j++)
			assert_true(strcmp(dis_descs[i].id, dis_descs[j].id) != 0);
		if (dis_descs[i].type == DIS_ENUM || dis_descs[i].type == DIS_FLAGS)
			assert_true(dis_descs[i].dict != DIS_DICT_NONE);
	}
	for (i = 0; dbr_limit_name((unsigned)i); i++) {
		char id[64];
		bool found = false;

		snprintf(id, sizeof(id), "ca.dbr.%s", dbr_limit_name((unsigned)i));
		for (j = 0; j < dis_n_descs; j++)
			found |= !strcmp(dis_descs[j].id, id);
		assert_true(found);
	}
	assert_int_equal(i, 8);
	for (d = DIS_DICT_NONE + 1; d < DIS_DICT_COUNT; d++) {
		uint64_t v;
		const char *nm;
		enum ca_dir dir;

		assert_non_null(dis_dict_name((enum dis_dict)d));
		assert_true(dis_dict_at((enum dis_dict)d, 0, &v, &nm, &dir));
		/* Each entry looks up to itself. */
		for (i = 0; dis_dict_at((enum dis_dict)d, i, &v, &nm, &dir); i++)
			assert_string_equal(dis_dict_lookup((enum dis_dict)d, v, dir), nm);
	}
}

/* The frame's headers: Ethernet with a VLAN tag, IPv4 with options, TCP
 * with options, each field at its frame offset, up to the payload. */
static void test_headers_vlan_tcp(void **state)
{
	struct wire w = { .n = 0 };
	struct dis_msg hm;
	struct sbuf sb;
	bool known;
	size_t i;
	uint32_t at = 0;

	(void)state;
	wire_eth(&w, 0x8100);
	wire_vlan(&w, 0x2007, 0x0800);
	wire_ipv4(&w, 6, 24 + 24, 6, 0x4000, 0x0a000001, 0x0a000002);
	wire_tcp(&w, 5064, 40000, 0x01020304, 6, 0x18);
	assert_int_equal(w.n, 18 + 24 + 24);
	assert_true(dissect_headers(&hm, 1, w.b, (uint32_t)w.n));
	for (i = 0; i < hm.n; i++) {   /* from the first byte, no gap */
		assert_int_equal(hm.f[i].off, at);
		at += hm.f[i].len;
	}
	assert_int_equal(at, w.n);
	assert_string_equal(hm.f[2].d->id, "eth.vlan_tpid");
	assert_string_equal(hm.f[3].d->id, "eth.vlan_tci");
	assert_int_equal(hm.f[3].off, 14);
	assert_string_equal(hm.f[4].d->id, "eth.type");
	assert_string_equal(hm.f[5].d->id, "ip.version_ihl");
	assert_int_equal(hm.f[5].off, 18);
	assert_string_equal(hm.f[15].d->id, "ip.options");
	assert_int_equal(hm.f[15].len, 4);
	assert_string_equal(hm.f[18].d->id, "tcp.seq");
	assert_int_equal(hm.f[18].off, 18 + 24 + 4);
	sbuf_init(&sb);
	dis_field_hvalue(&hm, &hm.f[20], &sb, &known);
	assert_string_equal(sbuf_str(&sb), "header 24 bytes, PSH|ACK");
	sbuf_reset(&sb);
	dis_field_hvalue(&hm, &hm.f[3], &sb, &known);
	assert_string_equal(sbuf_str(&sb), "VLAN 7, priority 1");
	sbuf_reset(&sb);
	dis_field_hvalue(&hm, &hm.f[0], &sb, &known);
	assert_string_equal(sbuf_str(&sb), "00:1b:21:3c:4d:5e");
	sbuf_free(&sb);
	assert_string_equal(hm.f[hm.n - 1].d->id, "tcp.options");
	dis_msg_free(&hm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_double),
		cmocka_unit_test(test_extended_and_more),
		cmocka_unit_test(test_cut_payload),
		cmocka_unit_test(test_ctrl_enum),
		cmocka_unit_test(test_gr_float),
		cmocka_unit_test(test_search_request),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_clipped_element),
		cmocka_unit_test(test_unknown_enum),
		cmocka_unit_test(test_event_add_request),
		cmocka_unit_test(test_partial_header),
		cmocka_unit_test(test_no_raw_header),
		cmocka_unit_test(test_all_types_tile),
		cmocka_unit_test(test_descriptors),
		cmocka_unit_test(test_headers_vlan_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
