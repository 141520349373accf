/* Unit tests for the write audit: the client names user/track.c keeps per
 * circuit (CLIENT_NAME, HOST_NAME), which messages user/audit.c selects,
 * and the lines it prints.  Messages are built by hand and go through the
 * tracker as in a capture, so names and PVs come from the same state the
 * pipeline uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "procattr.h"
#include "track.h"

#define REQ CA_DIR_REQUEST
#define RSP CA_DIR_RESPONSE

/* client 10.0.0.1:40000, server 10.0.0.2:5064 */
static const struct flow_key CIRC_A = { 0x0A000001, 0x0A000002, 40000, 5064 };
static const struct flow_key CIRC_B = { 0x0A000003, 0x0A000002, 40001, 5064 };

static struct ca_msg msg(unsigned cmd, enum ca_dir dir, uint32_t size, unsigned dtype,
			 uint32_t count, uint32_t p1, uint32_t p2,
			 const void *payload, size_t plen)
{
	struct ca_msg m;

	memset(&m, 0, sizeof(m));
	m.h.cmd = (uint16_t)cmd;
	m.h.size = size;
	m.h.dtype = (uint16_t)dtype;
	m.h.count = count;
	m.h.p1 = p1;
	m.h.p2 = p2;
	m.h.hdr_len = CA_HDR_LEN;
	m.dir = dir;
	m.tcp = true;
	m.payload = payload;
	m.payload_len = plen;
	return m;
}

/* Run one message through the tracker and, when the audit selects it,
 * format it into `out` (else out is ""). */
static void run(struct track *t, struct output *o, const struct flow_key *k,
		struct ca_msg *m, const struct proc_owner *proc, char *out, size_t n)
{
	struct track_name pv = track_msg(t, k, m);
	struct msg_ctx c;
	struct sbuf sb;

	out[0] = '\0';
	if (!audit_selects(m))
		return;
	memset(&c, 0, sizeof(c));
	c.ts_ns = 1700000000123456789ull;
	c.frame = 7;
	c.tcp = true;
	if (m->dir == REQ) {
		c.src_ip = k->cli_ip, c.sport = k->cli_port;
		c.dst_ip = k->srv_ip, c.dport = k->srv_port;
	} else {
		c.src_ip = k->srv_ip, c.sport = k->srv_port;
		c.dst_ip = k->cli_ip, c.dport = k->cli_port;
	}
	c.pv = pv.name;
	c.pv_len = pv.len;
	c.proc_server = proc;  /* the IOC: the traced host's end */
	sbuf_init(&sb);
	audit_format(o, &sb, &c, track_client(t, k), m);
	snprintf(out, n, "%s", sbuf_str(&sb));
	sbuf_free(&sb);
}

static void name_msg(struct track *t, const struct flow_key *k, unsigned cmd,
		     const char *name, size_t len)
{
	struct ca_msg m = msg(cmd, REQ, (uint32_t)len, 0, 0, 0, 0, name, len);

	track_msg(t, k, &m);
}

/* A channel T:ao with cid 1 / sid 7 on circuit k. */
static void open_channel(struct track *t, const struct flow_key *k)
{
	static const char pv[8] = "T:ao";
	struct ca_msg m = msg(CA_PROTO_CREATE_CHAN, REQ, 8, 0, 0, 1, 13, pv, 8);

	track_msg(t, k, &m);
	m = msg(CA_PROTO_CREATE_CHAN, RSP, 0, 6, 1, 1, 7, NULL, 0);
	track_msg(t, k, &m);
}

static void test_names_per_circuit(void **state)
{
	struct track t;
	const struct track_client *c;

	(void)state;
	track_init(&t);
	assert_null(track_client(&t, &CIRC_A));
	name_msg(&t, &CIRC_A, CA_PROTO_CLIENT_NAME, "alice\0\0", 8);
	name_msg(&t, &CIRC_A, CA_PROTO_HOST_NAME, "console1", 16);
	name_msg(&t, &CIRC_B, CA_PROTO_CLIENT_NAME, "bob\0\0\0\0", 8);
	c = track_client(&t, &CIRC_A);
	assert_non_null(c);
	assert_true(c->has_user && c->has_host);
	assert_string_equal(c->user, "alice");
	assert_int_equal(c->user_len, 5);
	assert_string_equal(c->host, "console1");
	c = track_client(&t, &CIRC_B);
	assert_string_equal(c->user, "bob");
	assert_false(c->has_host);
	/* A later CLIENT_NAME replaces the name. */
	name_msg(&t, &CIRC_B, CA_PROTO_CLIENT_NAME, "carol\0\0", 8);
	assert_string_equal(track_client(&t, &CIRC_B)->user, "carol");
	/* Closing the circuit forgets them. */
	track_circuit_close(&t, &CIRC_A);
	assert_null(track_client(&t, &CIRC_A));
	track_free(&t);
}

/* Names are bounded: a 1000-byte "user name" keeps 64 bytes; one with no
 * NUL in the bytes we have keeps those. */
static void test_names_bounded(void **state)
{
	char big[1000];
	struct track t;
	const struct track_client *c;

	(void)state;
	memset(big, 'x', sizeof(big));
	track_init(&t);
	name_msg(&t, &CIRC_A, CA_PROTO_CLIENT_NAME, big, sizeof(big));
	name_msg(&t, &CIRC_A, CA_PROTO_HOST_NAME, "cut", 3);
	c = track_client(&t, &CIRC_A);
	assert_int_equal(c->user_len, TRACK_CLIENT_NAME_MAX);
	assert_int_equal(strlen(c->user), TRACK_CLIENT_NAME_MAX);
	assert_string_equal(c->host, "cut");
	track_free(&t);
}

static void test_selects(void **state)
{
	uint8_t err_write[16] = { 0, CA_PROTO_WRITE }, err_read[16] = { 0, CA_PROTO_READ_NOTIFY };
	struct ca_msg m;

	(void)state;
	m = msg(CA_PROTO_WRITE, REQ, 8, 0, 1, 7, 1, "1", 8);
	assert_true(audit_selects(&m));
	m = msg(CA_PROTO_WRITE_NOTIFY, REQ, 8, 0, 1, 7, 1, "1", 8);
	assert_true(audit_selects(&m));
	m = msg(CA_PROTO_WRITE_NOTIFY, RSP, 0, 0, 1, 1, 1, NULL, 0);
	assert_true(audit_selects(&m));
	m = msg(CA_PROTO_ACCESS_RIGHTS, RSP, 0, 0, 0, 1, 3, NULL, 0);
	assert_true(audit_selects(&m));
	m = msg(CA_PROTO_ERROR, RSP, 16, 0, 0, 1, 376, err_write, 16);
	assert_true(audit_selects(&m));
	/* Not writes. */
	m = msg(CA_PROTO_ERROR, RSP, 16, 0, 0, 1, 368, err_read, 16);
	assert_false(audit_selects(&m));
	m = msg(CA_PROTO_ERROR, RSP, 8, 0, 0, 1, 376, err_write, 8);
	assert_false(audit_selects(&m));  /* no request inside */
	m = msg(CA_PROTO_READ_NOTIFY, REQ, 0, 6, 1, 7, 1, NULL, 0);
	assert_false(audit_selects(&m));
	m = msg(CA_PROTO_ACCESS_RIGHTS, REQ, 0, 0, 0, 1, 3, NULL, 0);
	assert_false(audit_selects(&m));
	m = msg(CA_PROTO_WRITE, REQ, 8, 0, 1, 7, 1, "1", 8);
	m.tcp = false;
	assert_false(audit_selects(&m));
	m.tcp = true;
	m.h.hdr_len = 8;  /* a partial header */
	assert_false(audit_selects(&m));
}

/* The lines: a write with callback, its refusal, the rights, and a plain
 * write the server refuses with an ERROR. */
static void test_text_lines(void **state)
{
	static const uint8_t dbl[8] = { 0x40, 0x04, 0, 0, 0, 0, 0, 0 };  /* 2.5 */
	uint8_t err[24] = { 0, CA_PROTO_WRITE, 0, 8, 0, 6, 0, 1, 0, 0, 0, 7, 0, 0, 0, 9,
			    'T', ':', 'a', 'o', 0 };
	struct proc_owner ioc = { 4242, "softIoc" };
	struct track t;
	struct output o;
	struct ca_msg m;
	char line[1024];

	(void)state;
	track_init(&t);
	output_init(&o);
	name_msg(&t, &CIRC_A, CA_PROTO_CLIENT_NAME, "op\0\0\0\0\0\0", 8);
	name_msg(&t, &CIRC_A, CA_PROTO_HOST_NAME, "cr'1\0\0\0\0", 8);
	open_channel(&t, &CIRC_A);

	m = msg(CA_PROTO_ACCESS_RIGHTS, RSP, 0, 0, 0, 1, 1, NULL, 0);
	run(&t, &o, &CIRC_A, &m, NULL, line, sizeof(line));
	assert_string_equal(line, "1700000000.123456 10.0.0.1:40000<-10.0.0.2:5064 "
			    "AccessRightsResponse(user='op', host='cr\\'1', pv='T:ao', rights=READ)");

	m = msg(CA_PROTO_WRITE_NOTIFY, REQ, 8, 6, 1, 7, 2, dbl, 8);
	run(&t, &o, &CIRC_A, &m, NULL, line, sizeof(line));
	assert_string_equal(line, "1700000000.123456 10.0.0.1:40000->10.0.0.2:5064 "
			    "WriteNotifyRequest(user='op', host='cr\\'1', pv='T:ao', data=[2.5], "
			    "data_type=DOUBLE, data_count=1, ioid=2)");

	m = msg(CA_PROTO_WRITE_NOTIFY, RSP, 0, 6, 1, 376, 2, NULL, 0);
	run(&t, &o, &CIRC_A, &m, &ioc, line, sizeof(line));
	assert_string_equal(line, "1700000000.123456 10.0.0.1:40000<-10.0.0.2:5064 "
			    "WriteNotifyResponse(user='op', host='cr\\'1', pv='T:ao', "
			    "status=ECA_NOWTACCESS, ioid=2) server=softIoc[4242]");

	m = msg(CA_PROTO_ERROR, RSP, 24, 0, 0, 1, 376, err, sizeof(err));
	run(&t, &o, &CIRC_A, &m, NULL, line, sizeof(line));
	assert_string_equal(line, "1700000000.123456 10.0.0.1:40000<-10.0.0.2:5064 "
			    "ErrorResponse(user='op', host='cr\\'1', pv='T:ao', request=WRITE, "
			    "status=ECA_NOWTACCESS, ioid=9, message='T:ao')");

	/* Not selected: nothing printed. */
	m = msg(CA_PROTO_READ_NOTIFY, REQ, 0, 6, 1, 7, 3, NULL, 0);
	run(&t, &o, &CIRC_A, &m, NULL, line, sizeof(line));
	assert_string_equal(line, "");
	track_free(&t);
}

/* A client that never said who it is; a channel the tracker never saw. */
static void test_unknown_names_and_pv(void **state)
{
	struct track t;
	struct output o;
	struct ca_msg m;
	char line[1024];

	(void)state;
	track_init(&t);
	output_init(&o);
	o.ts = TS_NONE;
	m = msg(CA_PROTO_WRITE, REQ, 8, 0, 1, 99, 1, "5\0\0\0\0\0\0", 8);
	run(&t, &o, &CIRC_B, &m, NULL, line, sizeof(line));
	assert_string_equal(line, "10.0.0.3:40001->10.0.0.2:5064 WriteRequest(user=None, "
			    "host=None, pv=None, data=['5'], data_type=STRING, data_count=1, ioid=1)");
	o.style = OUT_JSON;
	run(&t, &o, &CIRC_B, &m, NULL, line, sizeof(line));
	assert_non_null(strstr(line, ",\"user\":null,\"host\":null,\"pv\":null,"));
	track_free(&t);
}

static void test_json(void **state)
{
	static const uint8_t dbl[8] = { 0x40, 0x04, 0, 0, 0, 0, 0, 0 };
	struct proc_owner ioc = { 4242, "soft\"Ioc" };
	struct track t;
	struct output o;
	struct ca_msg m;
	char line[1024];

	(void)state;
	track_init(&t);
	output_init(&o);
	o.style = OUT_JSON;
	name_msg(&t, &CIRC_A, CA_PROTO_CLIENT_NAME, "op\n\0\0\0\0\0", 8);
	name_msg(&t, &CIRC_A, CA_PROTO_HOST_NAME, "cr1\0\0\0\0\0", 8);
	open_channel(&t, &CIRC_A);
	m = msg(CA_PROTO_WRITE, REQ, 8, 6, 1, 7, 5, dbl, 8);
	run(&t, &o, &CIRC_A, &m, &ioc, line, sizeof(line));
	assert_string_equal(line, "{\"ts\":1700000000.123456789,\"frame\":7,\"client\":\"10.0.0.1\","
			    "\"client_port\":40000,\"server\":\"10.0.0.2\",\"server_port\":5064,"
			    "\"command\":\"WriteRequest\",\"user\":\"op\\n\",\"host\":\"cr1\","
			    "\"pv\":\"T:ao\",\"value\":[2.5],\"data_type\":\"DOUBLE\","
			    "\"data_count\":1,\"ioid\":5,"
			    "\"server_proc\":{\"pid\":4242,\"comm\":\"soft\\\"Ioc\"}}");
	m = msg(CA_PROTO_ACCESS_RIGHTS, RSP, 0, 0, 0, 1, 3, NULL, 0);
	run(&t, &o, &CIRC_A, &m, NULL, line, sizeof(line));
	assert_non_null(strstr(line, "\"command\":\"AccessRightsResponse\",\"user\":\"op\\n\","
				     "\"host\":\"cr1\",\"pv\":\"T:ao\",\"rights\":\"READ|WRITE\"}"));
	m = msg(CA_PROTO_WRITE_NOTIFY, REQ, 8, 6, 1, 7, 6, dbl, 8);
	run(&t, &o, &CIRC_A, &m, NULL, line, sizeof(line));
	m = msg(CA_PROTO_WRITE_NOTIFY, RSP, 0, 6, 1, 1, 6, NULL, 0);
	run(&t, &o, &CIRC_A, &m, NULL, line, sizeof(line));
	assert_non_null(strstr(line, "\"pv\":\"T:ao\",\"status\":\"ECA_NORMAL\",\"ioid\":6}"));
	track_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_per_circuit),
		cmocka_unit_test(test_names_bounded),
		cmocka_unit_test(test_selects),
		cmocka_unit_test(test_text_lines),
		cmocka_unit_test(test_unknown_names_and_pv),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
