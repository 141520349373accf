/* Records from the BPF ring buffer: checked before use, converted to the
 * decoder's messages, and circuit ends free the tracker's tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <cmocka.h>

#include "catrace_record.h"
#include "pipeline.h"
#include "record.h"

struct rec_buf {
	struct ca_record r;
	uint8_t d[64];
};

static void make(struct rec_buf *b, uint16_t cmd, uint8_t dir, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->r.version = CATRACE_REC_VERSION;
	b->r.kind = REC_KIND_MSG;
	b->r.dir = dir;
	b->r.proto = 6;
	b->r.saddr = dir == REC_DIR_REQUEST ? 0x0a000002 : 0x0a000001;
	b->r.daddr = dir == REC_DIR_REQUEST ? 0x0a000001 : 0x0a000002;
	b->r.sport = dir == REC_DIR_REQUEST ? 40000 : 5064;
	b->r.dport = dir == REC_DIR_REQUEST ? 5064 : 40000;
	b->r.cmd = cmd;
	b->r.hdr_len = 16;
	if (name) {
		size_t n = strlen(name) + 1;

		memcpy(b->d, name, n);
		b->r.data_len = (uint16_t)n;
		b->r.size = (uint32_t)((n + 7) & ~7u);
	}
	b->r.rec_len = (uint16_t)(sizeof(b->r) + b->r.data_len);
}

static void test_rejects_bad_records(void **state)
{
	static struct rec_info ri;
	struct rec_buf b;

	(void)state;
	make(&b, CA_PROTO_CREATE_CHAN, REC_DIR_REQUEST, "A:b");
	assert_int_equal(record_parse(&b, sizeof(b.r) - 1, &ri), REC_SHORT);
	b.r.version = CATRACE_REC_VERSION + 1;
	assert_int_equal(record_parse(&b, sizeof(b), &ri), REC_BAD_VERSION);
	make(&b, CA_PROTO_CREATE_CHAN, REC_DIR_REQUEST, "A:b");
	b.r.kind = 99;
	assert_int_equal(record_parse(&b, sizeof(b), &ri), REC_UNKNOWN_KIND);
	make(&b, CA_PROTO_CREATE_CHAN, REC_DIR_REQUEST, "A:b");
	b.r.rec_len = sizeof(b) + 1;  /* longer than what was handed over */
	assert_int_equal(record_parse(&b, sizeof(b), &ri), REC_BAD_LENGTH);
	make(&b, CA_PROTO_CREATE_CHAN, REC_DIR_REQUEST, "A:b");
	b.r.data_len = 60;            /* more data than the record holds */
	assert_int_equal(record_parse(&b, sizeof(b.r) + 4, &ri), REC_BAD_LENGTH);
	/* Found by fuzzing: more payload than the CA header says, or a
	 * header length no CA header has. */
	make(&b, CA_PROTO_CREATE_CHAN, REC_DIR_REQUEST, "A:b");
	b.r.size = 0;
	assert_int_equal(record_parse(&b, sizeof(b), &ri), REC_BAD_LENGTH);
	make(&b, CA_PROTO_CREATE_CHAN, REC_DIR_REQUEST, "A:b");
	b.r.hdr_len = 17;
	assert_int_equal(record_parse(&b, sizeof(b), &ri), REC_BAD_LENGTH);
}

static void test_message_fields_and_orientation(void **state)
{
	static struct rec_info ri;
	struct rec_buf b;

	(void)state;
	make(&b, CA_PROTO_CREATE_CHAN, REC_DIR_RESPONSE, NULL);
	b.r.p1 = 7;
	b.r.p2 = 9;
	b.r.flags = REC_F_RESYNC;
	assert_int_equal(record_parse(&b, sizeof(b.r), &ri), REC_OK);
	/* A response's source is the server: the key puts the client first. */
	assert_int_equal(ri.key.cli_ip, 0x0a000002);
	assert_int_equal(ri.key.srv_port, 5064);
	assert_int_equal(ri.msg.dir, CA_DIR_RESPONSE);
	assert_int_equal(ri.msg.h.p1, 7);
	assert_true(ri.msg.flags & CA_MSG_RESYNC);
	assert_false(ri.close);

	make(&b, CA_PROTO_SEARCH, REC_DIR_REQUEST, "PV:name");
	assert_int_equal(record_parse(&b, b.r.rec_len, &ri), REC_OK);
	assert_int_equal(ri.msg.payload_len, 8);
	assert_string_equal((const char *)ri.msg.payload, "PV:name");
}

static int channels(struct pipeline *pl)
{
	return (int)hmap_count(&pl->track.circuits);
}

static void feed(struct pipeline *pl, struct rec_buf *b)
{
	static struct rec_info ri;

	assert_int_equal(record_parse(b, b->r.rec_len, &ri), REC_OK);
	pipeline_message(pl, &ri.key, 1, &ri.msg);
}

static void close_dir(struct pipeline *pl, uint8_t dir, bool rst)
{
	static struct rec_info ri;
	struct rec_buf b;

	make(&b, 0, dir, NULL);
	b.r.kind = REC_KIND_CLOSE;
	b.r.flags = rst ? REC_F_RST : REC_F_FIN;
	assert_int_equal(record_parse(&b, sizeof(b.r), &ri), REC_OK);
	assert_true(ri.close);
	pipeline_circuit_end(pl, &ri.key, ri.msg.dir, ri.rst);
}

static void test_circuit_end_frees_tables(void **state)
{
	static struct pipeline pl;
	FILE *null = fopen("/dev/null", "w");
	struct rec_buf b;
	int rst;

	(void)state;
	assert_non_null(null);
	for (rst = 0; rst < 2; rst++) {
		pipeline_init(&pl, null);
		make(&b, CA_PROTO_CREATE_CHAN, REC_DIR_REQUEST, "A:b");
		feed(&pl, &b);
		assert_int_equal(channels(&pl), 1);
		if (rst) {
			close_dir(&pl, REC_DIR_RESPONSE, true);
		} else {
			close_dir(&pl, REC_DIR_REQUEST, false);
			/* Half closed: the server may still answer. */
			assert_int_equal(channels(&pl), 1);
			close_dir(&pl, REC_DIR_RESPONSE, false);
		}
		assert_int_equal(channels(&pl), 0);
		assert_int_equal(hmap_count(&pl.half_closed), 0);
		pipeline_finish(&pl);
		pipeline_free(&pl);
	}
	fclose(null);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejects_bad_records),
		cmocka_unit_test(test_message_fields_and_orientation),
		cmocka_unit_test(test_circuit_end_frees_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
