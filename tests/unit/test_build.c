/* Unit tests for user/ca_build.c (a JSON line -> the CA message's bytes)
 * and user/frame_build.c (the frame around them): header fields raw and
 * by name, the defaults of what is left out, the extended form, payloads
 * raw and in human form, ranges, the exact time stamps, the checksums. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_build.h"
#include "frame_build.h"
#include "json.h"

/* Build one line; the message must encode (or fail with err_has). */
static void build(const char *line, struct build_msg *m, const char *err_has)
{
	struct json_val v;
	struct json_err je;
	char err[256] = "";
	int rc;

	if (!json_parse(line, strlen(line), &v, &je))
		fail_msg("'%s': %s", line, je.msg);
	rc = build_msg_from_json(&v, m, err, sizeof(err));
	json_free(&v);
	if (err_has) {
		if (rc == 0 || !strstr(err, err_has))
			fail_msg("'%s': rc %d '%s', wanted an error with '%s'", line, rc, err, err_has);
		build_msg_free(m);
		return;
	}
	if (rc)
		fail_msg("'%s': %s", line, err);
}

static void test_header_raw(void **state)
{
	static const uint8_t want[] = {
		0, 15, 0, 8, 0, 20, 0, 1, 0, 0, 0, 7, 0x12, 0x34, 0x56, 0x78,
		1, 2, 3, 4, 5, 6, 7, 8,
	};
	struct build_msg m;

	(void)state;
	build("{\"cmd\":15,\"dtype\":20,\"count\":1,\"p1\":7,\"p2\":305419896,"
	      "\"payload\":\"0102030405060708\",\"dir\":\"response\"}", &m, NULL);
	assert_int_equal(m.len, sizeof(want));
	assert_memory_equal(m.bytes, want, sizeof(want));
	assert_true(m.tcp);
	assert_int_equal(m.dir, CA_DIR_RESPONSE);
	assert_int_equal(m.sport, 5064);
	assert_int_equal(m.dport, CA_BUILD_CLIENT_PORT);
	build_msg_free(&m);
}

static void test_header_by_name(void **state)
{
	static const uint8_t want[] = {
		0, 15, 0, 0, 0, 20, 0, 1, 0, 0, 0, 3, 0, 0, 0, 9,
	};
	struct build_msg m;

	(void)state;
	/* --json's names, the direction from the command's name. */
	build("{\"command\":\"ReadNotifyRequest\",\"data_type\":\"TIME_DOUBLE\","
	      "\"data_count\":1,\"sid\":3,\"ioid\":9}", &m, NULL);
	assert_int_equal(m.len, sizeof(want));
	assert_memory_equal(m.bytes, want, sizeof(want));
	assert_int_equal(m.dir, CA_DIR_REQUEST);
	assert_int_equal(m.dport, 5064);
	build_msg_free(&m);
	/* The raw field wins over its name (--json prints both). */
	build("{\"command\":\"READ_NOTIFY\",\"dtype\":6,\"data_type\":\"TIME_DOUBLE\"}", &m, NULL);
	assert_int_equal(m.bytes[5], 6);
	build_msg_free(&m);
	/* ECA status by name: ECA_NORMAL is 1. */
	build("{\"command\":\"WriteNotifyResponse\",\"status\":\"ECA_NORMAL\",\"ioid\":2}", &m, NULL);
	assert_int_equal(m.bytes[11], 1);
	assert_int_equal(m.dir, CA_DIR_RESPONSE);
	build_msg_free(&m);
	build("{\"command\":\"Bogus\"}", &m, "unknown command 'Bogus'");
	build("{\"command\":\"ReadNotifyRequest\",\"data_type\":\"NOPE\"}", &m, "unknown DBR type");
	build("{\"cmd\":70000}", &m, "\"cmd\": an integer from 0 to 65535");
	build("{\"cmd\":1.5}", &m, "\"cmd\": an integer");
	build("{\"cmd\":0,\"dir\":\"up\"}", &m, "\"dir\": \"request\" or \"response\"");
}

static void test_defaults(void **state)
{
	struct build_msg m;

	(void)state;
	build("{\"command\":\"SEARCH\",\"pv\":\"T:ai\",\"cid\":4}", &m, NULL);
	assert_false(m.tcp);  /* searches go over UDP unless told */
	assert_int_equal(m.len, 16 + 8);
	assert_int_equal(m.bytes[3], 8);     /* size: "T:ai\0" padded to 8 */
	assert_int_equal(m.bytes[5], 5);     /* don't reply */
	assert_int_equal(m.bytes[7], 13);    /* minor version */
	assert_int_equal(m.bytes[11], 4);    /* cid in p1 ... */
	assert_int_equal(m.bytes[15], 4);    /* ... and p2 */
	assert_memory_equal(m.bytes + 16, "T:ai\0\0\0\0", 8);
	assert_int_equal(m.src_ip, 0x7f000001);
	assert_false(m.has_ts);
	assert_true(m.handshake);
	build_msg_free(&m);
	build("{\"command\":\"Beacon\"}", &m, NULL);
	assert_int_equal(m.dport, 5065);
	assert_int_equal(m.bytes[5], 13);
	assert_int_equal(m.bytes[6] << 8 | m.bytes[7], 5064);
	build_msg_free(&m);
}

static void test_extended(void **state)
{
	struct build_msg m;
	char line[128];

	(void)state;
	/* 8190 doubles are 65,520 bytes: still the short form; 8192 are
	 * 65,536, which needs the extended one. */
	snprintf(line, sizeof(line), "{\"cmd\":4,\"dtype\":6,\"count\":8192,\"size\":65536}");
	build(line, &m, NULL);
	assert_int_equal(m.len, 24 + 65536);  /* no payload given: zeros */
	assert_int_equal(m.bytes[2], 0xff);
	assert_int_equal(m.bytes[3], 0xff);
	assert_int_equal(m.bytes[7], 0);
	assert_int_equal(m.bytes[17], 1);     /* size 0x00010000 */
	assert_int_equal(m.bytes[22], 0x20);  /* count 0x00002000 */
	build_msg_free(&m);
	build("{\"cmd\":4,\"size\":65520,\"count\":70000}", &m, NULL);
	assert_int_equal(m.len, 24 + 65520);  /* the count alone needs it */
	build_msg_free(&m);
	build("{\"cmd\":4,\"size\":8,\"extended\":true}", &m, NULL);
	assert_int_equal(m.len, 24 + 8);      /* asked for: a small one too */
	build_msg_free(&m);
	build("{\"cmd\":4,\"size\":65535,\"extended\":false}", &m, "needs it");
}

static void test_payloads(void **state)
{
	static const uint8_t time_double[] = {
		0, 4, 0, 1,              /* HIGH (4), MINOR (1): alarm.h */
		0, 0, 0, 0, 0, 0, 0, 0,  /* stamp */
		0, 0, 0, 0,              /* RISC padding */
		0x40, 0x09, 0x1e, 0xb8, 0x51, 0xeb, 0x85, 0x1f,  /* 3.14 */
	};
	struct build_msg m;

	(void)state;
	build("{\"command\":\"ReadNotifyResponse\",\"data_type\":\"TIME_DOUBLE\",\"data\":[3.14],"
	      "\"alarm\":\"HIGH\",\"severity\":\"MINOR\"}", &m, NULL);
	assert_int_equal(m.len, 16 + sizeof(time_double));
	assert_int_equal(m.bytes[3], sizeof(time_double));
	assert_int_equal(m.bytes[7], 1);  /* count from the data */
	assert_memory_equal(m.bytes + 16, time_double, sizeof(time_double));
	build_msg_free(&m);
	/* --json's key for the value is "value"; no type: a double. */
	build("{\"command\":\"WriteRequest\",\"value\":[1,2,3]}", &m, NULL);
	assert_int_equal(m.bytes[5], 6);
	assert_int_equal(m.len, 16 + 24);
	build_msg_free(&m);
	build("{\"command\":\"WriteRequest\",\"value\":[\"on\"]}", &m, NULL);
	assert_int_equal(m.bytes[5], 0);
	assert_int_equal(m.len, 16 + 40);
	assert_string_equal((const char *)m.bytes + 16, "on");
	build_msg_free(&m);
	build("{\"command\":\"WriteRequest\",\"data_type\":\"SHORT\",\"data\":[-2,32767]}", &m, NULL);
	assert_int_equal(m.len, 16 + 8);
	assert_int_equal(m.bytes[16], 0xff);
	assert_int_equal(m.bytes[17], 0xfe);
	assert_int_equal(m.bytes[18], 0x7f);
	build_msg_free(&m);
	/* --json's metadata: a time stamp, GR limits (null: NaN), units,
	 * precision; enum strings. */
	build("{\"command\":\"ReadNotifyResponse\",\"data_type\":\"TIME_LONG\",\"data\":[1],"
	      "\"stamp_unix\":631152001.000000002}", &m, NULL);
	assert_int_equal(m.bytes[16 + 7], 1);    /* secPastEpoch 1 */
	assert_int_equal(m.bytes[16 + 11], 2);   /* nsec 2 */
	build_msg_free(&m);
	build("{\"command\":\"ReadNotifyResponse\",\"data_type\":\"CTRL_DOUBLE\",\"data\":[0],"
	      "\"units\":\"V\",\"precision\":2,\"upper_disp_limit\":10.0,"
	      "\"upper_alarm_limit\":null,\"lower_ctrl_limit\":-1}", &m, NULL);
	assert_int_equal(m.len, 16 + 88);
	assert_int_equal(m.bytes[16 + 5], 2);          /* precision */
	assert_int_equal(m.bytes[16 + 8], 'V');        /* units */
	assert_int_equal(m.bytes[16 + 16], 0x40);      /* 10.0 = 0x4024... */
	assert_int_equal(m.bytes[16 + 17], 0x24);
	assert_int_equal(m.bytes[16 + 32] & 0x7f, 0x7f);  /* NaN: exponent all ones */
	assert_int_equal(m.bytes[16 + 72], 0xbf);      /* -1.0 = 0xbff0... */
	build_msg_free(&m);
	build("{\"command\":\"ReadNotifyResponse\",\"data_type\":\"GR_ENUM\",\"data\":[1],"
	      "\"enum_strings\":[\"Off\",\"On\"]}", &m, NULL);
	assert_int_equal(m.bytes[16 + 5], 2);          /* no_str */
	assert_string_equal((const char *)m.bytes + 16 + 6 + 26, "On");
	build_msg_free(&m);
	build("{\"command\":\"ReadNotifyResponse\",\"data_type\":\"STSACK_STRING\",\"data\":[\"x\"],"
	      "\"ackt\":1,\"acks\":\"MAJOR\"}", &m, NULL);
	assert_int_equal(m.bytes[16 + 5], 1);
	assert_int_equal(m.bytes[16 + 7], 2);          /* MAJOR */
	assert_int_equal(m.bytes[16 + 8], 'x');
	build_msg_free(&m);
	build("{\"command\":\"ReadNotifyResponse\",\"data_type\":\"GR_LONG\",\"data\":[1],"
	      "\"upper_disp_limit\":null}", &m, "null is only for FLOAT and DOUBLE");
	/* An EVENT_ADD request's mask (default VALUE|ALARM); an ERROR's copy
	 * of the request and its text. */
	build("{\"command\":\"EventAddRequest\",\"mask\":4}", &m, NULL);
	assert_int_equal(m.len, 16 + 16);
	assert_int_equal(m.bytes[16 + 13], 4);
	build_msg_free(&m);
	build("{\"command\":\"EventAddRequest\"}", &m, NULL);
	assert_int_equal(m.bytes[16 + 13], 5);
	build_msg_free(&m);
	build("{\"command\":\"ErrorResponse\",\"original_request\":{\"cmd\":15,\"count\":4096},"
	      "\"error_message\":\"too big\"}", &m, NULL);
	assert_int_equal(m.len, 16 + 16 + 8);
	assert_int_equal(m.bytes[16 + 1], 15);
	assert_int_equal(m.bytes[16 + 6], 0x10);
	assert_string_equal((const char *)m.bytes + 32, "too big");
	build_msg_free(&m);
	/* A payload from names is fitted to the given size: cut (libca's
	 * short DBR_STRING) or zero-filled. */
	build("{\"command\":\"WriteRequest\",\"data\":[\"1.5\"],\"size\":8}", &m, NULL);
	assert_int_equal(m.len, 16 + 8);
	build_msg_free(&m);
	build("{\"command\":\"ReadNotifyResponse\",\"size\":24}", &m, NULL);
	assert_int_equal(m.len, 16 + 24);
	build_msg_free(&m);
	build("{\"command\":\"WriteRequest\",\"data_type\":\"SHORT\",\"data\":[40000]}", &m,
	      "fits SHORT");
	build("{\"command\":\"WriteRequest\",\"data_type\":\"STRING\",\"data\":[1]}", &m,
	      "a string of at most 39");
	/* A CHAR array as text: the bytes and a NUL. */
	build("{\"command\":\"WriteRequest\",\"data_type\":\"CHAR\",\"data\":\"hi there\"}", &m, NULL);
	assert_int_equal(m.bytes[7], 9);      /* count */
	assert_int_equal(m.len, 16 + 16);
	assert_string_equal((const char *)m.bytes + 16, "hi there");
	build_msg_free(&m);
	build("{\"command\":\"ClientNameRequest\",\"name\":\"operator\"}", &m, NULL);
	assert_int_equal(m.len, 16 + 16);
	build_msg_free(&m);
	/* Raw bytes are written as they are: not padded, size from them. */
	build("{\"cmd\":1,\"payload\":\"abCD01\"}", &m, NULL);
	assert_int_equal(m.len, 19);
	assert_int_equal(m.bytes[3], 3);
	assert_int_equal(m.bytes[17], 0xcd);
	build_msg_free(&m);
	/* A lying size is kept. */
	build("{\"cmd\":1,\"payload\":\"00\",\"size\":4000}", &m, NULL);
	assert_int_equal(m.len, 17);
	assert_int_equal(m.bytes[2] << 8 | m.bytes[3], 4000);
	build_msg_free(&m);
	build("{\"cmd\":1,\"payload\":\"abc\"}", &m, "odd number");
	build("{\"cmd\":1,\"payload\":\"zz\"}", &m, "not a hex digit");
	/* A header cut short: only its first bytes. */
	build("{\"cmd\":1,\"hdr_len\":6}", &m, NULL);
	assert_int_equal(m.len, 6);
	build_msg_free(&m);
	build("{\"cmd\":1,\"hdr_len\":16}", &m, "not shorter");
	/* The empty datagram of a repeater registration. */
	build("{\"datagram\":\"empty\",\"sport\":33737}", &m, NULL);
	assert_int_equal(m.len, 0);
	assert_false(m.tcp);
	assert_int_equal(m.dport, 5065);
	build_msg_free(&m);
}

static void test_where_and_when(void **state)
{
	struct build_msg m;
	uint64_t ns;

	(void)state;
	build("{\"cmd\":0,\"ts\":1796398031.184084123,\"frame\":9,\"src\":\"10.0.0.1\",\"sport\":1,"
	      "\"dst\":\"10.0.0.2\",\"dport\":2,\"proto\":\"udp\",\"seq\":5,\"handshake\":false}",
	      &m, NULL);
	assert_true(m.has_ts);
	assert_true(m.ts_ns == 1796398031184084123ull);
	assert_true(m.has_frame && m.frame == 9);
	assert_int_equal(m.src_ip, 0x0a000001);
	assert_int_equal(m.dst_ip, 0x0a000002);
	assert_int_equal(m.sport, 1);
	assert_int_equal(m.dport, 2);
	assert_false(m.tcp);
	assert_true(m.has_seq && m.seq == 5);
	assert_false(m.handshake);
	build_msg_free(&m);
	assert_true(build_parse_ts("12", &ns) && ns == 12000000000ull);
	assert_true(build_parse_ts("1.5", &ns) && ns == 1500000000ull);
	assert_false(build_parse_ts("1.1234567891", &ns));
	assert_false(build_parse_ts("1e3", &ns));
	assert_false(build_parse_ts("-1", &ns));
	/* Holes: before the first message after one (resync), after one
	 * whose bytes the capture missed (truncated). */
	build("{\"cmd\":0,\"resync\":true}", &m, NULL);
	assert_int_equal(m.gap, CA_BUILD_RESYNC_GAP);
	assert_int_equal(m.tail_gap, 0);
	build_msg_free(&m);
	build("{\"cmd\":0,\"resync\":true,\"gap\":100}", &m, NULL);
	assert_int_equal(m.gap, 100);
	build_msg_free(&m);
	build("{\"cmd\":1,\"size\":4000,\"payload\":\"0000\",\"truncated\":\"cut\"}", &m, NULL);
	assert_int_equal(m.tail_gap, 3998);
	build_msg_free(&m);
	build("{\"cmd\":1,\"size\":4000,\"payload\":\"0000\"}", &m, NULL);
	assert_int_equal(m.tail_gap, 0);  /* a lying size: no hole */
	build_msg_free(&m);
	build("{\"cmd\":0,\"resync\":1}", &m, "\"resync\": true or false");
	build("{\"cmd\":0,\"ts\":-1}", &m, "\"ts\"");
	build("{\"cmd\":0,\"src\":\"1.2.3\"}", &m, "not an IPv4 address");
	build("{\"cmd\":0,\"sport\":65536}", &m, "\"sport\"");
}

static void test_ranges(void **state)
{
	const char *line = "{\"cmd\":6,\"p1\":{\"range\":[5,7]},\"p2\":{\"range\":[100,101]}}";
	struct json_val v;
	struct json_err je;
	struct build_ranges r;
	struct build_msg m;
	char err[128];
	uint64_t i, first[50];

	(void)state;
	assert_true(json_parse(line, strlen(line), &v, &je));
	assert_int_equal(build_ranges_prepare(&v, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 3);  /* the longest range; the shorter wraps */
	for (i = 0; i < r.n; i++) {
		build_ranges_set(&r, i);
		assert_int_equal(build_msg_from_json(&v, &m, err, sizeof(err)), 0);
		assert_int_equal(m.bytes[11], 5 + i);
		assert_int_equal(m.bytes[15], 100 + i % 2);
		build_msg_free(&m);
	}
	build_ranges_restore(&r);
	assert_int_equal(json_get(&v, "p1")->type, JSON_OBJ);
	json_free(&v);

	line = "{\"cmd\":6,\"p1\":{\"range\":[1,1000000],\"random\":50,\"seed\":3}}";
	for (int round = 0; round < 2; round++) {
		assert_true(json_parse(line, strlen(line), &v, &je));
		assert_int_equal(build_ranges_prepare(&v, &r, err, sizeof(err)), 0);
		assert_int_equal(r.n, 50);
		for (i = 0; i < r.n; i++) {
			uint64_t p1;

			build_ranges_set(&r, i);
			assert_true(json_u64(json_get(&v, "p1"), &p1));
			assert_true(p1 >= 1 && p1 <= 1000000);
			if (round == 0)
				first[i] = p1;
			else
				assert_true(first[i] == p1);  /* same seed, same values */
		}
		build_ranges_restore(&r);
		json_free(&v);
	}
	assert_true(first[0] != first[1] || first[1] != first[2]);
}

/* A ranged string: the value in place of the format's %d. */
static void test_range_format(void **state)
{
	const char *line = "{\"command\":\"SEARCH\",\"pv\":{\"format\":\"A%d:b\",\"range\":[-1,1]}}";
	struct json_val v;
	struct json_err je;
	struct build_ranges r;
	struct build_msg m;
	char err[128];

	(void)state;
	assert_true(json_parse(line, strlen(line), &v, &je));
	assert_int_equal(build_ranges_prepare(&v, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 3);
	build_ranges_set(&r, 0);
	assert_string_equal(json_get(&v, "pv")->s, "A-1:b");
	build_ranges_set(&r, 2);
	assert_string_equal(json_get(&v, "pv")->s, "A1:b");
	assert_int_equal(build_msg_from_json(&v, &m, err, sizeof(err)), 0);
	assert_memory_equal(m.bytes + 16, "A1:b\0\0\0\0", 8);
	build_msg_free(&m);
	build_ranges_restore(&r);
	assert_int_equal(json_get(&v, "pv")->type, JSON_OBJ);
	json_free(&v);
}

static void test_range_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"p1\":{\"range\":[3,1]}}", "LO <= HI" },
		{ "{\"p1\":{\"range\":[1]}}", "LO <= HI" },
		{ "{\"p1\":{\"range\":[1,2.5]}}", "LO <= HI" },
		{ "{\"p1\":{\"range\":[1,2],\"step\":2}}", "unknown range key \"step\"" },
		{ "{\"p1\":{\"range\":[1,2],\"seed\":2}}", "goes with \"random\"" },
		{ "{\"p1\":{\"range\":[1,2],\"random\":0}}", "a count of values" },
		{ "{\"p1\":{\"range\":[0,100000000]}}", "more than" },
		{ "{\"p1\":{\"range\":[1,2],\"format\":\"x%s\"}}", "one %d" },
		{ "{\"p1\":{\"range\":[1,2],\"format\":\"%d%d\"}}", "one %d" },
		{ "{\"p1\":{\"range\":[2,1],\"format\":\"x%d\"}}", "LO <= HI" },
		{ "{\"p1\":{\"range\":[1,2],\"format\":3}}", "one %d" },
	};
	struct json_val v;
	struct json_err je;
	struct build_ranges r;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(json_parse(bad[i][0], strlen(bad[i][0]), &v, &je));
		if (build_ranges_prepare(&v, &r, err, sizeof(err)) == 0 || !strstr(err, bad[i][1]))
			fail_msg("'%s': '%s', wanted '%s'", bad[i][0], err, bad[i][1]);
		/* restored on failure: the object is whole again */
		assert_int_equal(json_get(&v, "p1")->type, JSON_OBJ);
		json_free(&v);
	}
}

static uint32_t ones_sum(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* A checksum is right when the sum over the data with it is 0xffff. */
static void check_frame(const uint8_t *f, size_t n, bool tcp, size_t len)
{
	const uint8_t *ip = f + 14, *l4 = ip + 20;
	uint8_t pseudo[12];
	size_t l4len = n - 34;

	assert_int_equal(n, 14 + 20 + (tcp ? 20 : 8) + len);
	assert_int_equal(f[12] << 8 | f[13], 0x0800);
	assert_int_equal(ones_sum(ip, 20, 0), 0xffff);
	assert_int_equal(ip[2] << 8 | ip[3], n - 14);
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = tcp ? 6 : 17;
	pseudo[10] = (uint8_t)(l4len >> 8);
	pseudo[11] = (uint8_t)l4len;
	assert_int_equal(ones_sum(l4, l4len, ones_sum(pseudo, 12, 0)), 0xffff);
}

static void test_frames(void **state)
{
	static uint8_t buf[14 + 65535];
	static uint8_t data[70000];
	struct frame_spec s = {
		.tcp = true, .src_ip = 0x0a000001, .dst_ip = 0x0a000002, .sport = 40000,
		.dport = 5064, .seq = 0xfffffff0u, .ack = 7, .flags = TCPF_PSH | TCPF_ACK, .ip_id = 3,
	};
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	n = frame_build(buf, sizeof(buf), &s, data, 17);  /* odd length */
	check_frame(buf, n, true, 17);
	assert_int_equal(buf[14 + 20 + 13], TCPF_PSH | TCPF_ACK);
	n = frame_build(buf, sizeof(buf), &s, data, FRAME_BUILD_MAX_TCP_PAYLOAD);
	check_frame(buf, n, true, FRAME_BUILD_MAX_TCP_PAYLOAD);
	assert_int_equal(frame_build(buf, sizeof(buf), &s, data, FRAME_BUILD_MAX_TCP_PAYLOAD + 1), 0);
	assert_int_equal(frame_build(buf, 60, &s, data, 17), 0);  /* buffer too small */
	s.tcp = false;
	n = frame_build(buf, sizeof(buf), &s, data, 0);
	check_frame(buf, n, false, 0);
	n = frame_build(buf, sizeof(buf), &s, data, 1001);
	check_frame(buf, n, false, 1001);
	/* MACs are made from the addresses: 02:00 then the IPv4 address. */
	assert_int_equal(buf[0], 2);
	assert_int_equal(buf[5], 2);   /* dst 10.0.0.2 */
	assert_int_equal(buf[11], 1);  /* src 10.0.0.1 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_raw),
		cmocka_unit_test(test_header_by_name),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_extended),
		cmocka_unit_test(test_payloads),
		cmocka_unit_test(test_where_and_when),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_range_format),
		cmocka_unit_test(test_range_errors),
		cmocka_unit_test(test_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
