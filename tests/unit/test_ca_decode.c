/* Unit tests for user/ca_decode.c: header parsing, plausibility, command and
 * status names, and the UDP datagram walker.
 *
 * Headers are built byte by byte in wire (big-endian) order as
 * doc/ca-protocol.md, "Header (16 bytes)", describes them.  Every parse runs
 * on a heap copy of exactly the bytes available so that AddressSanitizer
 * catches a read past the end.
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
#include "ca_proto.h"
#include "wire.h"

/* ---- helpers -------------------------------------------------------------- */

static uint8_t *heap_copy(const void *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

/* A header struct as ca_hdr_parse would fill it, for the name/plausible
 * tests. */
static struct ca_hdr mkhdr(unsigned cmd, uint32_t size, unsigned dtype,
			   uint32_t count, uint32_t p1, uint32_t p2)
{
	struct ca_hdr h;

	memset(&h, 0, sizeof(h));
	h.cmd = (uint16_t)cmd;
	h.size = size;
	h.dtype = (uint16_t)dtype;
	h.count = count;
	h.p1 = p1;
	h.p2 = p2;
	h.hdr_len = CA_HDR_LEN;
	h.extended = false;
	return h;
}

/* Parse a header from wire bytes (exact-size heap copy). */
static struct ca_hdr parse_wire(const struct wire *w)
{
	struct ca_hdr h;
	uint8_t *c = heap_copy(w->b, w->n);

	memset(&h, 0xAA, sizeof(h));
	assert_int_equal(ca_hdr_parse(c, w->n, &h), CA_HDR_OK);
	free(c);
	return h;
}

/* ---- ca_hdr_parse ------------------------------------------------------------ */

static void test_hdr_parse_standard(void **state)
{
	struct wire w = { .n = 0 };
	struct ca_hdr h;

	(void)state;
	/* READ_NOTIFY response: 8 bytes, DOUBLE, count 1, ECA_NORMAL, ioid 7 */
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, 1, 7);
	assert_int_equal(w.n, 16);
	h = parse_wire(&w);
	assert_int_equal(h.cmd, 15);
	assert_int_equal(h.size, 8);
	assert_int_equal(h.dtype, 6);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.p1, 1);
	assert_int_equal(h.p2, 7);
	assert_int_equal(h.hdr_len, 16);
	assert_false(h.extended);

	/* Every field at its extreme, big-endian: no sign or byte-order slip. */
	w.n = 0;
	wire_ca_hdr(&w, 0x1234, 0xFFF8, 0xABCD, 0xFFFE, 0xDEADBEEF, 0x80000001);
	h = parse_wire(&w);
	assert_int_equal(h.cmd, 0x1234);
	assert_int_equal(h.size, 0xFFF8);
	assert_int_equal(h.dtype, 0xABCD);
	assert_int_equal(h.count, 0xFFFE);
	assert_int_equal(h.p1, 0xDEADBEEFu);
	assert_int_equal(h.p2, 0x80000001u);
	assert_int_equal(h.hdr_len, 16);
	assert_false(h.extended);

	/* Bytes after the header are not part of it. */
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	wire_fill(&w, 0xFF, 40);
	h = parse_wire(&w);
	assert_int_equal(h.cmd, 23);
	assert_int_equal(h.size, 0);
	assert_int_equal(h.hdr_len, 16);
	assert_false(h.extended);
}

static void test_hdr_parse_extended(void **state)
{
	struct wire w = { .n = 0 };
	struct ca_hdr h;

	(void)state;
	/* A 25,000-element DOUBLE monitor update: 200,000 bytes. */
	wire_ca_ext_hdr(&w, CA_PROTO_EVENT_ADD, 200000, DBR_DOUBLE, 25000, 1, 0x42);
	assert_int_equal(w.n, 24);
	h = parse_wire(&w);
	assert_int_equal(h.cmd, 1);
	assert_int_equal(h.size, 200000);
	assert_int_equal(h.count, 25000);
	assert_int_equal(h.dtype, 6);
	assert_int_equal(h.p1, 1);
	assert_int_equal(h.p2, 0x42);
	assert_int_equal(h.hdr_len, 24);
	assert_true(h.extended);

	/* 32-bit size and count are taken whole. */
	w.n = 0;
	wire_ca_ext_hdr(&w, CA_PROTO_READ_NOTIFY, 0x12345678, DBR_CHAR, 0x9ABCDEF0, 7, 8);
	h = parse_wire(&w);
	assert_int_equal(h.size, 0x12345678u);
	assert_int_equal(h.count, 0x9ABCDEF0u);
	assert_int_equal(h.hdr_len, 24);
	assert_true(h.extended);

	/* A payload size of 0xFFFE is an ordinary 16-byte header. */
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 0xFFFE, DBR_CHAR, 0, 7, 8);
	wire_u32(&w, 99);
	wire_u32(&w, 99);
	h = parse_wire(&w);
	assert_int_equal(h.size, 0xFFFE);
	assert_int_equal(h.count, 0);
	assert_int_equal(h.hdr_len, 16);
	assert_false(h.extended);
}

static void test_hdr_parse_short(void **state)
{
	struct wire w = { .n = 0 }, x = { .n = 0 };
	struct ca_hdr h;
	size_t len;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, 1, 7);
	for (len = 0; len < 16; len++) {
		uint8_t *c = heap_copy(w.b, len);

		assert_int_equal(ca_hdr_parse(c, len, &h), CA_HDR_SHORT);
		free(c);
	}
	wire_ca_ext_hdr(&x, CA_PROTO_EVENT_ADD, 200000, DBR_DOUBLE, 25000, 1, 2);
	for (len = 0; len < 24; len++) {
		uint8_t *c = heap_copy(x.b, len);

		assert_int_equal(ca_hdr_parse(c, len, &h), CA_HDR_SHORT);
		free(c);
	}
	{
		uint8_t *c = heap_copy(x.b, 24);

		assert_int_equal(ca_hdr_parse(c, 24, &h), CA_HDR_OK);
		assert_int_equal(h.size, 200000);
		free(c);
	}
}

/* ---- ca_hdr_plausible --------------------------------------------------------- */

struct plaus_case {
	const char *what;
	unsigned cmd, dtype;
	uint32_t size, count, p1, p2;
	enum ca_dir dir;
	bool tcp;
};

#define REQ CA_DIR_REQUEST
#define RSP CA_DIR_RESPONSE

/* Real headers, each in its legal direction and transport, as the table in
 * doc/ca-protocol.md, "Commands", describes them. */
static const struct plaus_case real_headers[] = {
	{ "VERSION tcp client", 0, 0, 0, 13, 0, 0, REQ, true },
	{ "VERSION tcp client prio 99", 0, 99, 0, 13, 0, 0, REQ, true },
	{ "VERSION tcp server", 0, 0, 0, 13, 0, 0, RSP, true },
	{ "VERSION udp client", 0, 1, 0, 13, 0x1234, 0, REQ, false },
	{ "VERSION udp server", 0, 1, 0, 13, 0x1234, 0, RSP, false },
	{ "EVENT_ADD subscribe", 1, DBR_TIME_STRING + 6, 16, 1, 0x100, 5, REQ, true },
	{ "EVENT_ADD update DOUBLE", 1, DBR_DOUBLE, 8, 1, ECA_NORMAL, 5, RSP, true },
	{ "EVENT_ADD update TIME_DOUBLE", 1, 20, 24, 1, ECA_NORMAL, 5, RSP, true },
	{ "EVENT_ADD update LONG[3]", 1, DBR_LONG, 16, 3, ECA_NORMAL, 5, RSP, true },
	{ "EVENT_CANCEL", 2, DBR_DOUBLE, 0, 1, 0x100, 5, REQ, true },
	{ "READ request", 3, DBR_DOUBLE, 0, 1, 0x100, 9, REQ, true },
	{ "READ reply", 3, DBR_DOUBLE, 8, 1, 3, 9, RSP, true },
	{ "WRITE", 4, DBR_DOUBLE, 8, 1, 0x100, 9, REQ, true },
	{ "WRITE STRING", 4, DBR_STRING, 40, 1, 0x100, 9, REQ, true },
	{ "SEARCH udp request", 6, CA_DONT_REPLY, 16, 13, 77, 77, REQ, false },
	{ "SEARCH tcp request", 6, CA_DO_REPLY, 16, 13, 77, 77, REQ, true },
	{ "SEARCH udp reply", 6, 5064, 8, 0, 0xFFFFFFFF, 77, RSP, false },
	{ "SEARCH udp reply other port", 6, 40123, 8, 0, 0x0A000001, 77, RSP, false },
	{ "EVENTS_OFF", 8, 0, 0, 0, 0, 0, REQ, true },
	{ "EVENTS_ON", 9, 0, 0, 0, 0, 0, REQ, true },
	{ "READ_SYNC", 10, 0, 0, 0, 0, 0, REQ, true },
	{ "ERROR", 11, 0, 48, 0, 1, 368, RSP, true },
	{ "CLEAR_CHANNEL request", 12, 0, 0, 0, 0x100, 1, REQ, true },
	{ "CLEAR_CHANNEL reply", 12, 0, 0, 0, 0x100, 1, RSP, true },
	{ "RSRV_IS_UP", 13, 13, 0, 5064, 42, 0x0A000001, RSP, false },
	{ "NOT_FOUND", 14, CA_DO_REPLY, 0, 13, 77, 77, RSP, true },
	{ "READ_NOTIFY request", 15, DBR_DOUBLE, 0, 1, 0x100, 9, REQ, true },
	{ "READ_NOTIFY reply", 15, DBR_DOUBLE, 8, 1, ECA_NORMAL, 9, RSP, true },
	{ "READ_NOTIFY reply CTRL_DOUBLE", 15, 34, 88, 1, ECA_NORMAL, 9, RSP, true },
	{ "REPEATER_CONFIRM", 17, 0, 0, 0, 0, 0x7F000001, RSP, false },
	{ "CREATE_CHAN request", 18, 0, 8, 0, 1, 13, REQ, true },
	{ "CREATE_CHAN reply", 18, DBR_DOUBLE, 0, 1, 1, 0x100, RSP, true },
	{ "WRITE_NOTIFY request", 19, DBR_DOUBLE, 8, 1, 0x100, 9, REQ, true },
	{ "WRITE_NOTIFY reply", 19, DBR_DOUBLE, 0, 1, ECA_NORMAL, 9, RSP, true },
	{ "CLIENT_NAME", 20, 0, 8, 0, 0, 0, REQ, true },
	{ "HOST_NAME", 21, 0, 16, 0, 0, 0, REQ, true },
	{ "ACCESS_RIGHTS", 22, 0, 0, 0, 1, 3, RSP, true },
	{ "ECHO request", 23, 0, 0, 0, 0, 0, REQ, true },
	{ "ECHO reply", 23, 0, 0, 0, 0, 0, RSP, true },
	{ "REPEATER_REGISTER", 24, 0, 0, 0, 0, 0x7F000001, REQ, false },
	{ "CREATE_CH_FAIL", 26, 0, 0, 0, 1, 0, RSP, true },
	{ "SERVER_DISCONN", 27, 0, 0, 0, 1, 0, RSP, true },
};

/* A cancel confirmation's bytes occur inside every value reply and it has
 * no fields to check: by design it never anchors a resync. */
static void test_cancel_confirm_not_plausible(void **state)
{
	struct wire w = { .n = 0 };
	struct ca_hdr h;

	(void)state;
	wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 0, DBR_DOUBLE, 0, ECA_NORMAL, 5);
	h = parse_wire(&w);
	assert_false(ca_hdr_plausible(&h, CA_DIR_RESPONSE, true, false));
	assert_true(ca_is_cancel_confirm(&h, CA_DIR_RESPONSE));
}

/* Headers whose payload is not a DBR value, or whose value size is exact:
 * strict_dbr must not change the verdict for any of the cases above. */
static void test_plausible_real_headers(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(real_headers) / sizeof(real_headers[0]); i++) {
		const struct plaus_case *c = &real_headers[i];
		struct wire w = { .n = 0 };
		struct ca_hdr h;

		/* Through the wire form, so the test also covers the parse. */
		wire_ca_hdr(&w, c->cmd, c->size, c->dtype, c->count, c->p1, c->p2);
		h = parse_wire(&w);
		if (!ca_hdr_plausible(&h, c->dir, c->tcp, false))
			fail_msg("rejected (non-strict): %s", c->what);
		if (!ca_hdr_plausible(&h, c->dir, c->tcp, true))
			fail_msg("rejected (strict): %s", c->what);
	}
}

static void test_plausible_extended(void **state)
{
	struct wire w = { .n = 0 };
	struct ca_hdr h;

	(void)state;
	/* 25,000 doubles: the size matches type and count exactly. */
	wire_ca_ext_hdr(&w, CA_PROTO_EVENT_ADD, 200000, DBR_DOUBLE, 25000, 1, 5);
	h = parse_wire(&w);
	assert_true(ca_hdr_plausible(&h, RSP, true, true));
	assert_true(ca_hdr_plausible(&h, RSP, true, false));
	/* A READ_NOTIFY reply of 100,000 CHARs (padded to 100,000). */
	w.n = 0;
	wire_ca_ext_hdr(&w, CA_PROTO_READ_NOTIFY, 100000, DBR_CHAR, 100000, 1, 5);
	h = parse_wire(&w);
	assert_true(ca_hdr_plausible(&h, RSP, true, true));
	/* Strict: 8 bytes short of what type and count need. */
	w.n = 0;
	wire_ca_ext_hdr(&w, CA_PROTO_EVENT_ADD, 199992, DBR_DOUBLE, 25000, 1, 5);
	h = parse_wire(&w);
	assert_false(ca_hdr_plausible(&h, RSP, true, true));
}

static void check_rejected(const struct ca_hdr *h, const char *what)
{
	int dir, tcp, strict;

	for (dir = 0; dir < 2; dir++)
		for (tcp = 0; tcp < 2; tcp++)
			for (strict = 0; strict < 2; strict++)
				if (ca_hdr_plausible(h, (enum ca_dir)dir, tcp, strict))
					fail_msg("accepted %s (dir %d tcp %d strict %d)",
						 what, dir, tcp, strict);
}

static void test_plausible_reject(void **state)
{
	struct wire w = { .n = 0 };
	struct ca_hdr h;
	static const unsigned obsolete[] = { 5, 7, 16, 25 };
	static const unsigned unknown[] = { 28, 29, 64, 255, 0x100, 0x8000, 0xFFFF };
	size_t i;

	(void)state;
	/* All-zero bytes (the inside of a big array) are not a VERSION. */
	wire_fill(&w, 0, 16);
	h = parse_wire(&w);
	assert_int_equal(h.cmd, 0);
	check_rejected(&h, "16 zero bytes");

	/* VERSION with count (minor version) 0. */
	h = mkhdr(CA_PROTO_VERSION, 0, 0, 0, 0, 0);
	check_rejected(&h, "VERSION count 0 prio 0");
	h = mkhdr(CA_PROTO_VERSION, 0, 1, 0, 0x1234, 0);
	check_rejected(&h, "VERSION count 0 udp-style");

	/* Payload sizes that are not a multiple of 8. */
	h = mkhdr(CA_PROTO_CREATE_CHAN, 12, 0, 0, 1, 13);
	check_rejected(&h, "CREATE_CHAN size 12");
	h = mkhdr(CA_PROTO_WRITE, 4, DBR_LONG, 1, 0x100, 1);
	check_rejected(&h, "WRITE LONG size 4");
	h = mkhdr(CA_PROTO_READ_NOTIFY, 2, DBR_SHORT, 1, 1, 1);
	check_rejected(&h, "READ_NOTIFY SHORT size 2");
	h = mkhdr(CA_PROTO_SEARCH, 13, CA_DONT_REPLY, 13, 5, 5);
	check_rejected(&h, "SEARCH size 13");
	h = mkhdr(CA_PROTO_ERROR, 49, 0, 0, 1, 368);
	check_rejected(&h, "ERROR size 49");

	/* Obsolete and unknown commands never anchor a message boundary. */
	for (i = 0; i < sizeof(obsolete) / sizeof(obsolete[0]); i++) {
		h = mkhdr(obsolete[i], 0, 0, 0, 0, 0);
		check_rejected(&h, "obsolete command");
		h = mkhdr(obsolete[i], 8, DBR_DOUBLE, 1, 1, 1);
		check_rejected(&h, "obsolete command with payload");
	}
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		h = mkhdr(unknown[i], 0, 0, 0, 0, 0);
		check_rejected(&h, "unknown command");
	}

	/* Wrong direction or transport for one-way commands. */
	h = mkhdr(CA_PROTO_ERROR, 48, 0, 0, 1, 368);
	assert_false(ca_hdr_plausible(&h, REQ, true, false));
	h = mkhdr(CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 1, 3);
	assert_false(ca_hdr_plausible(&h, REQ, true, false));
	h = mkhdr(CA_PROTO_RSRV_IS_UP, 0, 13, 5064, 42, 0);
	assert_false(ca_hdr_plausible(&h, RSP, true, false));
	h = mkhdr(CA_PROTO_EVENT_CANCEL, 0, DBR_DOUBLE, 1, 0x100, 5);
	assert_false(ca_hdr_plausible(&h, RSP, true, false));

	/* A value larger than its type and count allow. */
	h = mkhdr(CA_PROTO_READ_NOTIFY, 16, DBR_DOUBLE, 1, 1, 9);
	assert_false(ca_hdr_plausible(&h, RSP, true, false));
	assert_false(ca_hdr_plausible(&h, RSP, true, true));
	/* An unknown DBR type. */
	h = mkhdr(CA_PROTO_READ_NOTIFY, 8, 39, 1, 1, 9);
	assert_false(ca_hdr_plausible(&h, RSP, true, false));
}

/* ---- names ------------------------------------------------------------------------ */

struct name_case {
	unsigned cmd;
	enum ca_dir dir;
	bool tcp;
	uint32_t size, count;
	const char *name;
};

static const struct name_case names[] = {
	{ 0, REQ, false, 0, 13, "VersionRequest" },
	{ 0, RSP, false, 0, 13, "VersionResponse" },
	{ 0, REQ, true, 0, 13, "VersionRequest" },
	{ 0, RSP, true, 0, 13, "VersionResponse" },
	{ 6, REQ, false, 16, 13, "SearchRequest" },
	{ 6, RSP, false, 8, 0, "SearchResponse" },
	{ 14, RSP, true, 0, 13, "NotFoundResponse" },
	{ 14, RSP, false, 0, 13, "NotFoundResponse" },
	{ 18, REQ, true, 8, 0, "CreateChanRequest" },
	{ 18, RSP, true, 0, 1, "CreateChanResponse" },
	{ 22, RSP, true, 0, 0, "AccessRightsResponse" },
	{ 15, REQ, true, 0, 1, "ReadNotifyRequest" },
	{ 15, RSP, true, 8, 1, "ReadNotifyResponse" },
	/* A READ_NOTIFY reply with size 0 is not a cancel. */
	{ 15, RSP, true, 0, 0, "ReadNotifyResponse" },
	{ 4, REQ, true, 8, 1, "WriteRequest" },
	{ 19, REQ, true, 8, 1, "WriteNotifyRequest" },
	{ 19, RSP, true, 0, 1, "WriteNotifyResponse" },
	{ 1, REQ, true, 16, 1, "EventAddRequest" },
	{ 1, RSP, true, 8, 1, "EventAddResponse" },
	/* count 0 but a payload: an update of "whatever the server has". */
	{ 1, RSP, true, 8, 0, "EventAddResponse" },
	{ 1, RSP, true, 0, 0, "EventCancelResponse" },
	/* RSRV's confirmation carries the subscription's count: any empty
	 * EVENT_ADD reply is one (ca_is_cancel_confirm). */
	{ 1, RSP, true, 0, 1, "EventCancelResponse" },
	{ 1, RSP, false, 0, 25000, "EventCancelResponse" },
	/* A client never sends the confirmation: a request stays a request. */
	{ 1, REQ, true, 0, 0, "EventAddRequest" },
	{ 2, REQ, true, 0, 1, "EventCancelRequest" },
	{ 12, REQ, true, 0, 0, "ClearChannelRequest" },
	{ 12, RSP, true, 0, 0, "ClearChannelResponse" },
	{ 23, REQ, true, 0, 0, "EchoRequest" },
	{ 23, RSP, true, 0, 0, "EchoResponse" },
	{ 11, RSP, true, 48, 0, "ErrorResponse" },
	{ 13, RSP, false, 0, 5064, "Beacon" },
	{ 13, REQ, false, 0, 5064, "Beacon" },
	{ 24, REQ, false, 0, 0, "RepeaterRegisterRequest" },
	{ 17, RSP, false, 0, 0, "RepeaterConfirmResponse" },
	{ 20, REQ, true, 8, 0, "ClientNameRequest" },
	{ 21, REQ, true, 8, 0, "HostNameRequest" },
	{ 27, RSP, true, 0, 0, "ServerDisconnResponse" },
	{ 26, RSP, true, 0, 0, "CreateChFailResponse" },
	{ 8, REQ, true, 0, 0, "EventsOffRequest" },
	{ 9, REQ, true, 0, 0, "EventsOnRequest" },
	{ 10, REQ, true, 0, 0, "ReadSyncRequest" },
	{ 3, REQ, true, 0, 1, "ReadRequest" },
	{ 3, RSP, true, 8, 1, "ReadResponse" },
};

static void test_command_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct name_case *c = &names[i];
		struct ca_hdr h = mkhdr(c->cmd, c->size, 0, c->count, 1, 2);
		const char *got = ca_command_name(&h, c->dir, c->tcp);

		assert_non_null(got);
		if (strcmp(got, c->name) != 0)
			fail_msg("cmd %u dir %d size %u count %u: got \"%s\", want \"%s\"",
				 c->cmd, (int)c->dir, (unsigned)c->size,
				 (unsigned)c->count, got, c->name);
	}
}

static void test_command_names_obsolete_unknown(void **state)
{
	static const unsigned obsolete[] = { 5, 7, 16, 25 };
	static const unsigned unknown[] = { 28, 29, 100, 0x100, 0x7FFF, 0xFFFF };
	size_t i;
	int dir, tcp;

	(void)state;
	for (i = 0; i < 4; i++)
		for (dir = 0; dir < 2; dir++)
			for (tcp = 0; tcp < 2; tcp++) {
				struct ca_hdr h = mkhdr(obsolete[i], 0, 0, 0, 0, 0);

				assert_string_equal(ca_command_name(&h, (enum ca_dir)dir, tcp),
						    "ObsoleteCommand");
				assert_true(ca_cmd_obsolete(obsolete[i]));
			}
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		for (dir = 0; dir < 2; dir++) {
			struct ca_hdr h = mkhdr(unknown[i], 0, 0, 0, 0, 0);

			assert_string_equal(ca_command_name(&h, (enum ca_dir)dir, true),
					    "UnknownCommand");
			assert_null(ca_cmd_const_name(unknown[i]));
			assert_false(ca_cmd_obsolete(unknown[i]));
		}
	/* Every code 0..27 has a name in both directions, never NULL. */
	for (i = 0; i <= CA_PROTO_LAST_CMD; i++)
		for (dir = 0; dir < 2; dir++)
			for (tcp = 0; tcp < 2; tcp++) {
				struct ca_hdr h = mkhdr((unsigned)i, 8, 0, 1, 0, 0);
				const char *n = ca_command_name(&h, (enum ca_dir)dir, tcp);

				assert_non_null(n);
				assert_true(strlen(n) > 0);
				assert_non_null(ca_cmd_const_name((unsigned)i));
				if (i != 5 && i != 7 && i != 16 && i != 25)
					assert_false(ca_cmd_obsolete((unsigned)i));
			}
	assert_string_equal(ca_cmd_const_name(0), "VERSION");
	assert_string_equal(ca_cmd_const_name(13), "RSRV_IS_UP");
	assert_string_equal(ca_cmd_const_name(15), "READ_NOTIFY");
	assert_string_equal(ca_cmd_const_name(27), "SERVER_DISCONN");
}

static void test_eca_names(void **state)
{
	static const struct {
		uint32_t v;
		const char *name;
	} eca[] = {
		{ 1, "ECA_NORMAL" }, { 48, "ECA_ALLOCMEM" }, { 72, "ECA_TOLARGE" },
		{ 80, "ECA_TIMEOUT" }, { 114, "ECA_BADTYPE" }, { 142, "ECA_INTERNAL" },
		{ 152, "ECA_GETFAIL" }, { 160, "ECA_PUTFAIL" }, { 176, "ECA_BADCOUNT" },
		{ 186, "ECA_BADSTR" }, { 192, "ECA_DISCONN" }, { 200, "ECA_DBLCHNL" },
		{ 210, "ECA_EVDISALLOW" }, { 242, "ECA_BADMONID" }, { 330, "ECA_BADMASK" },
		{ 339, "ECA_IODONE" }, { 347, "ECA_IOINPROGRESS" }, { 354, "ECA_BADSYNCGRP" },
		{ 362, "ECA_PUTCBINPROG" }, { 368, "ECA_NORDACCESS" }, { 376, "ECA_NOWTACCESS" },
		{ 386, "ECA_ANACHRONISM" }, { 392, "ECA_NOSEARCHADDR" }, { 400, "ECA_NOCONVERT" },
		{ 410, "ECA_BADCHID" }, { 418, "ECA_BADFUNCPTR" }, { 424, "ECA_ISATTACHED" },
		{ 432, "ECA_UNAVAILINSERV" }, { 440, "ECA_CHANDESTROY" }, { 450, "ECA_BADPRIORITY" },
		{ 458, "ECA_NOTTHREADED" }, { 464, "ECA_16KARRAYCLIENT" }, { 472, "ECA_CONNSEQTMO" },
		{ 480, "ECA_UNRESPTMO" },
	};
	static const uint32_t none[] = { 0, 2, 8, 49, 367, 369, 481, 0xFFFFFFFF };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(eca) / sizeof(eca[0]); i++) {
		const char *n = ca_eca_name(eca[i].v);

		assert_non_null(n);
		assert_string_equal(n, eca[i].name);
	}
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_null(ca_eca_name(none[i]));
}

/* ---- ca_walk_datagram ------------------------------------------------------------ */

#define MAXM 16

struct seen {
	struct ca_msg m;
	uint8_t payload[2048];
	size_t payload_off;  /* payload pointer minus datagram start */
	const char *name;
};

struct walk {
	const uint8_t *base;
	size_t n;
	struct seen s[MAXM];
};

static void on_msg(void *ctx, struct ca_msg *m)
{
	struct walk *w = ctx;
	struct seen *s;

	assert_true(w->n < MAXM);
	s = &w->s[w->n++];
	s->m = *m;
	assert_true(m->payload_len <= m->h.size || (m->flags & CA_MSG_MALFORMED));
	assert_true(m->payload_len <= sizeof(s->payload));
	if (m->payload_len) {
		assert_non_null(m->payload);
		memcpy(s->payload, m->payload, m->payload_len);
		s->payload_off = (size_t)(m->payload - w->base);
	}
	s->name = ca_command_name(&m->h, m->dir, m->tcp);
}

/* Walk a heap copy of exactly `avail` bytes. */
static size_t walk(struct walk *w, const struct wire *d, size_t avail,
		   size_t wire_len, enum ca_dir dir)
{
	uint8_t *c = heap_copy(d->b, avail);
	size_t n;

	memset(w, 0, sizeof(*w));
	w->base = c;
	n = ca_walk_datagram(c, avail, wire_len, dir, on_msg, w);
	free(c);
	w->base = NULL;
	assert_int_equal(n, w->n);
	return n;
}

/* libca's search datagram: VERSION then SEARCHes. */
static void build_search_datagram(struct wire *d)
{
	d->n = 0;
	wire_ca_hdr(d, CA_PROTO_VERSION, 0, 1, 13, 0x0102, 0);
	wire_ca_hdr(d, CA_PROTO_SEARCH, 8, CA_DONT_REPLY, 13, 1, 1);
	wire_name(d, "PV:a", 8);
	wire_ca_hdr(d, CA_PROTO_SEARCH, 16, CA_DONT_REPLY, 13, 2, 2);
	wire_name(d, "PV:bbbbbb", 16);
	wire_ca_hdr(d, CA_PROTO_SEARCH, 24, CA_DONT_REPLY, 13, 3, 3);
	wire_name(d, "LONG:NAME:XYZ:ABC", 24);
	assert_int_equal(d->n, 16 + 24 + 32 + 40);
}

static void test_walk_search_datagram(void **state)
{
	struct wire d;
	struct walk w;

	(void)state;
	build_search_datagram(&d);
	assert_int_equal(walk(&w, &d, d.n, d.n, CA_DIR_REQUEST), 4);
	assert_string_equal(w.s[0].name, "VersionRequest");
	assert_int_equal(w.s[0].m.h.cmd, 0);
	assert_int_equal(w.s[0].m.h.dtype, 1);
	assert_int_equal(w.s[0].m.h.count, 13);
	assert_int_equal(w.s[0].m.h.p1, 0x0102);
	assert_int_equal(w.s[0].m.payload_len, 0);
	assert_int_equal(w.s[0].m.flags, 0);
	assert_false(w.s[0].m.tcp);
	assert_int_equal(w.s[0].m.dir, CA_DIR_REQUEST);

	assert_string_equal(w.s[1].name, "SearchRequest");
	assert_int_equal(w.s[1].m.h.size, 8);
	assert_int_equal(w.s[1].m.h.p1, 1);
	assert_int_equal(w.s[1].m.payload_len, 8);
	assert_int_equal(w.s[1].payload_off, 32);
	assert_memory_equal(w.s[1].payload, "PV:a\0\0\0\0", 8);
	assert_int_equal(w.s[1].m.flags, 0);

	assert_string_equal(w.s[2].name, "SearchRequest");
	assert_int_equal(w.s[2].m.h.p2, 2);
	assert_int_equal(w.s[2].m.payload_len, 16);
	assert_int_equal(w.s[2].payload_off, 56);
	assert_string_equal((const char *)w.s[2].payload, "PV:bbbbbb");
	assert_int_equal(w.s[2].m.flags, 0);

	assert_string_equal(w.s[3].name, "SearchRequest");
	assert_int_equal(w.s[3].m.h.p1, 3);
	assert_int_equal(w.s[3].m.payload_len, 24);
	assert_int_equal(w.s[3].payload_off, 88);
	assert_string_equal((const char *)w.s[3].payload, "LONG:NAME:XYZ:ABC");
	assert_int_equal(w.s[3].m.flags, 0);
	assert_int_equal(w.s[3].m.problem[0], '\0');

	/* The server's answer: VERSION then a SEARCH reply. */
	d.n = 0;
	wire_ca_hdr(&d, CA_PROTO_VERSION, 0, 1, 13, 0x0102, 0);
	wire_ca_hdr(&d, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 2);
	wire_u16(&d, 13);
	wire_fill(&d, 0, 6);
	assert_int_equal(walk(&w, &d, d.n, d.n, CA_DIR_RESPONSE), 2);
	assert_string_equal(w.s[0].name, "VersionResponse");
	assert_string_equal(w.s[1].name, "SearchResponse");
	assert_int_equal(w.s[1].m.h.dtype, 5064);
	assert_int_equal(w.s[1].m.h.p2, 2);
	assert_int_equal(w.s[1].m.dir, CA_DIR_RESPONSE);
}

static void test_walk_payload_exceeds_datagram(void **state)
{
	struct wire d = { .n = 0 };
	struct walk w;

	(void)state;
	wire_ca_hdr(&d, CA_PROTO_VERSION, 0, 1, 13, 7, 0);
	/* Claims 40 bytes; the datagram holds 8 more after this header. */
	wire_ca_hdr(&d, CA_PROTO_SEARCH, 40, CA_DONT_REPLY, 13, 1, 1);
	wire_name(&d, "PV:a", 8);
	assert_int_equal(walk(&w, &d, d.n, d.n, CA_DIR_REQUEST), 2);
	assert_int_equal(w.s[0].m.flags, 0);
	assert_int_equal(w.s[1].m.flags, CA_MSG_MALFORMED);
	assert_int_equal(w.s[1].m.h.size, 40);
	assert_int_equal(w.s[1].m.payload_len, 8);
	assert_memory_equal(w.s[1].payload, "PV:a\0\0\0\0", 8);
	assert_true(strlen(w.s[1].m.problem) > 0);

	/* A bad message in the middle stops the walk: nothing after it. */
	d.n = 0;
	wire_ca_hdr(&d, CA_PROTO_VERSION, 0, 1, 13, 7, 0);
	wire_ca_hdr(&d, CA_PROTO_SEARCH, 0xFFF8, CA_DONT_REPLY, 13, 1, 1);
	wire_name(&d, "PV:a", 8);
	wire_ca_hdr(&d, CA_PROTO_SEARCH, 8, CA_DONT_REPLY, 13, 2, 2);
	wire_name(&d, "PV:b", 8);
	assert_int_equal(walk(&w, &d, d.n, d.n, CA_DIR_REQUEST), 2);
	assert_int_equal(w.s[1].m.flags, CA_MSG_MALFORMED);
	assert_int_equal(w.s[1].m.payload_len, 32);
	assert_true(strlen(w.s[1].m.problem) > 0);
}

static void test_walk_cut_by_capture(void **state)
{
	struct wire d;
	struct walk w;

	(void)state;
	build_search_datagram(&d);
	/* Cut 10 bytes into the last SEARCH's payload. */
	assert_int_equal(walk(&w, &d, 72 + 16 + 10, d.n, CA_DIR_REQUEST), 4);
	assert_int_equal(w.s[0].m.flags, 0);
	assert_int_equal(w.s[1].m.flags, 0);
	assert_int_equal(w.s[2].m.flags, 0);
	assert_int_equal(w.s[3].m.flags, CA_MSG_TRUNCATED);
	assert_int_equal(w.s[3].m.h.size, 24);
	assert_int_equal(w.s[3].m.h.p1, 3);
	assert_int_equal(w.s[3].m.payload_len, 10);
	assert_memory_equal(w.s[3].payload, "LONG:NAME:", 10);
	assert_true(strlen(w.s[3].m.problem) > 0);

	/* Cut inside the last header: still truncated, not malformed. */
	assert_int_equal(walk(&w, &d, 72 + 10, d.n, CA_DIR_REQUEST), 4);
	assert_int_equal(w.s[2].m.flags, 0);
	assert_int_equal(w.s[3].m.flags, CA_MSG_TRUNCATED);
	assert_int_equal(w.s[3].m.h.cmd, CA_PROTO_SEARCH);
	assert_int_equal(w.s[3].m.payload_len, 0);
	assert_true(strlen(w.s[3].m.problem) > 0);

	/* Cut at a message boundary: the messages captured are whole. */
	assert_int_equal(walk(&w, &d, 72, d.n, CA_DIR_REQUEST), 3);
	assert_int_equal(w.s[0].m.flags, 0);
	assert_int_equal(w.s[1].m.flags, 0);
	assert_int_equal(w.s[2].m.flags, 0);

	/* Cut inside the VERSION header itself. */
	assert_int_equal(walk(&w, &d, 6, d.n, CA_DIR_REQUEST), 1);
	assert_int_equal(w.s[0].m.flags, CA_MSG_TRUNCATED);
	assert_int_equal(w.s[0].m.h.cmd, CA_PROTO_VERSION);

	/* A capture holding more than the wire length (Ethernet padding
	 * handed through) must not invent a message from the padding. */
	{
		struct wire p = d;

		wire_fill(&p, 0, 14);
		assert_int_equal(walk(&w, &p, p.n, d.n, CA_DIR_REQUEST), 4);
		assert_int_equal(w.s[3].m.flags, 0);
	}
}

static void test_walk_stray_bytes(void **state)
{
	struct wire d;
	struct walk w;

	(void)state;
	build_search_datagram(&d);
	wire_u8(&d, 0x00);
	wire_u8(&d, 0x06);
	wire_u8(&d, 0x00);
	wire_u8(&d, 0x08);
	wire_u8(&d, 0xEE);
	assert_int_equal(walk(&w, &d, d.n, d.n, CA_DIR_REQUEST), 5);
	assert_int_equal(w.s[0].m.flags, 0);
	assert_int_equal(w.s[3].m.flags, 0);
	assert_int_equal(w.s[3].m.payload_len, 24);
	assert_int_equal(w.s[4].m.flags, CA_MSG_MALFORMED);
	assert_int_equal(w.s[4].m.payload_len, 0);
	assert_true(strlen(w.s[4].m.problem) > 0);
	assert_non_null(strstr(w.s[4].m.problem, "5"));
}

static void test_walk_empty(void **state)
{
	static const uint8_t dummy[1] = { 0 };
	struct walk w;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(ca_walk_datagram(dummy, 0, 0, CA_DIR_REQUEST, on_msg, &w), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(ca_walk_datagram(dummy, 0, 0, CA_DIR_RESPONSE, on_msg, &w), 0);
	assert_int_equal(w.n, 0);
}

static void test_walk_extended_udp(void **state)
{
	struct wire d = { .n = 0 };
	struct walk w;

	(void)state;
	wire_ca_hdr(&d, CA_PROTO_VERSION, 0, 1, 13, 7, 0);
	wire_ca_ext_hdr(&d, CA_PROTO_SEARCH, 16, CA_DONT_REPLY, 13, 9, 9);
	wire_name(&d, "EXT:NAME", 16);
	wire_ca_hdr(&d, CA_PROTO_SEARCH, 8, CA_DONT_REPLY, 13, 10, 10);
	wire_name(&d, "PV:c", 8);
	assert_int_equal(d.n, 16 + 24 + 16 + 16 + 8);
	assert_int_equal(walk(&w, &d, d.n, d.n, CA_DIR_REQUEST), 3);
	assert_int_equal(w.s[1].m.flags, 0);
	assert_true(w.s[1].m.h.extended);
	assert_int_equal(w.s[1].m.h.hdr_len, 24);
	assert_int_equal(w.s[1].m.h.size, 16);
	assert_int_equal(w.s[1].m.h.count, 13);
	assert_int_equal(w.s[1].m.h.p1, 9);
	assert_int_equal(w.s[1].m.payload_len, 16);
	assert_int_equal(w.s[1].payload_off, 40);
	assert_string_equal((const char *)w.s[1].payload, "EXT:NAME");
	assert_string_equal(w.s[1].name, "SearchRequest");
	assert_int_equal(w.s[2].m.flags, 0);
	assert_false(w.s[2].m.h.extended);
	assert_int_equal(w.s[2].m.h.p1, 10);
	assert_int_equal(w.s[2].payload_off, 72);
	assert_string_equal((const char *)w.s[2].payload, "PV:c");

	/* Capture cut between byte 16 and 24 of the extended header. */
	assert_int_equal(walk(&w, &d, 16 + 20, d.n, CA_DIR_REQUEST), 2);
	assert_int_equal(w.s[1].m.flags, CA_MSG_TRUNCATED);
	assert_int_equal(w.s[1].m.h.cmd, CA_PROTO_SEARCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_parse_standard),
		cmocka_unit_test(test_hdr_parse_extended),
		cmocka_unit_test(test_hdr_parse_short),
		cmocka_unit_test(test_plausible_real_headers),
		cmocka_unit_test(test_cancel_confirm_not_plausible),
		cmocka_unit_test(test_plausible_extended),
		cmocka_unit_test(test_plausible_reject),
		cmocka_unit_test(test_command_names),
		cmocka_unit_test(test_command_names_obsolete_unknown),
		cmocka_unit_test(test_eca_names),
		cmocka_unit_test(test_walk_search_datagram),
		cmocka_unit_test(test_walk_payload_exceeds_datagram),
		cmocka_unit_test(test_walk_cut_by_capture),
		cmocka_unit_test(test_walk_stray_bytes),
		cmocka_unit_test(test_walk_empty),
		cmocka_unit_test(test_walk_extended_udp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
