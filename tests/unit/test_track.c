/* Unit tests for user/track.c: which PV each CA message concerns.
 *
 * Messages are struct ca_msg built by hand, in the order a client and an
 * IOC exchange them (doc/ca-protocol.md, "Following a channel").  Payloads
 * are heap copies of exactly their size, freed after each call, so ASan
 * reports a tracker that keeps a pointer into a message.  Every test ends with
 * track_free: under ASan (make SAN=1) LeakSanitizer reports anything it
 * leaves behind.
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
#include "flow.h"
#include "dbr.h"
#include "track.h"
#include "wire.h"

#define REQ CA_DIR_REQUEST
#define RSP CA_DIR_RESPONSE

static const struct flow_key CIRC_A = { 0x0A000001, 0x0A000002, 40000, 5064 };
static const struct flow_key CIRC_B = { 0x0A000003, 0x0A000002, 40001, 5064 };

/* The name of the last call, copied out (the tracker's pointer is only
 * valid until the next call). */
static char last[2048];
static bool last_null;
static unsigned next_flags;   /* the framer's flags for the next message */

/* Send one message through the tracker; the payload is `plen` bytes of
 * `payload` (NULL: none). */
static void send_msg(struct track *t, const struct flow_key *k, bool tcp,
		     enum ca_dir dir, unsigned cmd, uint32_t size, unsigned dtype,
		     uint32_t count, uint32_t p1, uint32_t p2,
		     const void *payload, size_t plen)
{
	struct ca_msg m;
	struct track_name n;
	uint8_t *copy = NULL;

	memset(&m, 0, sizeof(m));
	m.h.cmd = (uint16_t)cmd;
	m.h.size = size;
	m.h.dtype = (uint16_t)dtype;
	m.h.count = count;
	m.h.p1 = p1;
	m.h.p2 = p2;
	m.h.hdr_len = CA_HDR_LEN;
	m.dir = dir;
	m.tcp = tcp;
	m.flags = next_flags;
	next_flags = 0;
	if (plen) {
		copy = malloc(plen);
		assert_non_null(copy);
		memcpy(copy, payload, plen);
		m.payload = copy;
		m.payload_len = plen;
	}
	n = track_msg(t, k, &m);
	/* The name may point into the message's own payload (a request
	 * naming its PV), so it is read before the payload goes. */
	last_null = n.name == NULL;
	last[0] = '\0';
	if (n.name) {
		assert_true(n.len < sizeof(last));
		/* Every byte of the name is read: ASan checks it is live. */
		memcpy(last, n.name, n.len);
		last[n.len] = '\0';
		assert_int_equal(strlen(last), n.len);
	}
	if (copy) {
		memset(copy, 0xEE, plen);
		free(copy);
	}
}

#define TCP(t, k, dir, cmd, size, dtype, count, p1, p2) \
	send_msg(t, k, true, dir, cmd, size, dtype, count, p1, p2, NULL, 0)

/* A NUL-padded name payload, as the client sends it. */
static void send_named(struct track *t, const struct flow_key *k, bool tcp,
		       unsigned cmd, unsigned dtype, uint32_t count, uint32_t p1,
		       uint32_t p2, const char *name)
{
	uint8_t buf[1024];
	size_t n = strlen(name) + 1, padded = (n + 7) & ~(size_t)7;

	assert_true(padded <= sizeof(buf));
	memset(buf, 0, padded);
	memcpy(buf, name, n - 1);
	send_msg(t, k, tcp, REQ, cmd, (uint32_t)padded, dtype, count, p1, p2, buf, padded);
}

#define expect_name(s) do { \
		if (last_null) \
			fail_msg("line %d: no name, want \"%s\"", __LINE__, (s)); \
		assert_string_equal(last, (s)); \
	} while (0)

#define expect_none() do { \
		if (!last_null) \
			fail_msg("line %d: name \"%s\", want none", __LINE__, last); \
	} while (0)

/* CREATE_CHAN request + reply: cid -> name, then cid -> sid. */
static void open_channel(struct track *t, const struct flow_key *k, uint32_t cid,
			 uint32_t sid, const char *name)
{
	send_named(t, k, true, CA_PROTO_CREATE_CHAN, 0, 0, cid, 13, name);
	expect_name(name);
	TCP(t, k, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, cid, 3);
	expect_name(name);
	TCP(t, k, RSP, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, cid, sid);
	expect_name(name);
}

/* Each test gets a fresh tracker; the teardown frees it even when an
 * assertion fails mid-test, so LeakSanitizer reports only what track_free
 * itself leaves behind. */
static int setup(void **state)
{
	struct track *t = malloc(sizeof(*t));

	if (!t)
		return -1;
	track_init(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct track *t = *state;

	track_free(t);
	free(t);
	return 0;
}

/* ---- tests ---------------------------------------------------------------------- */

/* The state names a GR/CTRL_ENUM reply gives stay with the channel: its
 * later updates (another subscription, TIME_ENUM) carry them; they go
 * with the channel. */
static void test_enum_names_stay_with_channel(void **state)
{
	struct track *t = *state;
	struct dbr_enum_names e = { .n = 2, .s = { "Off", "On" } };
	struct track_name n;
	struct ca_msg m;

	open_channel(t, &CIRC_A, 1, 77, "T:bi");
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, 31, 1, 77, 5);
	memset(&m, 0, sizeof(m));
	m.h.cmd = CA_PROTO_READ_NOTIFY;
	m.h.dtype = 31;
	m.h.count = 1;
	m.h.p1 = 1;
	m.h.p2 = 5;
	m.h.hdr_len = CA_HDR_LEN;
	m.dir = RSP;
	m.tcp = true;
	n = track_msg(t, &CIRC_A, &m);
	assert_null(n.enums);
	track_set_enums(t, &n, &e);
	assert_non_null(n.enums);
	/* A subscription in TIME_ENUM, and one of its updates. */
	TCP(t, &CIRC_A, REQ, CA_PROTO_EVENT_ADD, 16, 17, 1, 77, 9);
	m.h.cmd = CA_PROTO_EVENT_ADD;
	m.h.dtype = 17;
	m.h.size = 16;
	m.h.p2 = 9;
	n = track_msg(t, &CIRC_A, &m);
	assert_non_null(n.enums);
	assert_int_equal(n.enums->n, 2);
	assert_string_equal(n.enums->s[1], "On");
	/* Cleared: a new channel with the same cid has no names. */
	TCP(t, &CIRC_A, REQ, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 77, 1);
	TCP(t, &CIRC_A, RSP, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 77, 1);
	open_channel(t, &CIRC_A, 1, 78, "T:bo");
	m.h.cmd = CA_PROTO_READ_NOTIFY;
	m.h.p2 = 6;
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, 17, 1, 78, 6);
	n = track_msg(t, &CIRC_A, &m);
	assert_non_null(n.name);
	assert_null(n.enums);
}

static void test_create_read_notify(void **state)
{
	struct track *t = *state;
	uint8_t val[8] = { 0x40, 0x09, 0, 0, 0, 0, 0, 0 };

	TCP(t, &CIRC_A, REQ, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	expect_none();
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_HOST_NAME, 8, 0, 0, 0, 0, "ioc1\0\0\0", 8);
	expect_none();
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_CLIENT_NAME, 8, 0, 0, 0, 0, "user\0\0\0", 8);
	expect_none();

	send_named(t, &CIRC_A, true, CA_PROTO_CREATE_CHAN, 0, 0, 7, 13, "XF:31IDA-OP{Tbl-Ax:X1}Mtr.RBV");
	expect_name("XF:31IDA-OP{Tbl-Ax:X1}Mtr.RBV");
	assert_int_equal(t->channels_open, 1);
	TCP(t, &CIRC_A, RSP, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	expect_none();
	TCP(t, &CIRC_A, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 7, 3);
	expect_name("XF:31IDA-OP{Tbl-Ax:X1}Mtr.RBV");
	TCP(t, &CIRC_A, RSP, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 7, 0x4242);
	expect_name("XF:31IDA-OP{Tbl-Ax:X1}Mtr.RBV");

	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x4242, 99);
	expect_name("XF:31IDA-OP{Tbl-Ax:X1}Mtr.RBV");
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1,
		 ECA_NORMAL, 99, val, 8);
	expect_name("XF:31IDA-OP{Tbl-Ax:X1}Mtr.RBV");

	/* An ioid nobody asked for, and a sid nobody bound. */
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1,
		 ECA_NORMAL, 12345, val, 8);
	expect_none();
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x4243, 100);
	expect_none();
	TCP(t, &CIRC_A, RSP, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, ECA_NORMAL, 100);
	expect_none();

	/* The cid is not a sid: a request naming sid 7 finds nothing. */
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 7, 101);
	expect_none();

	/* Deprecated READ: request by sid, reply (p1 = cid) by ioid. */
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ, 0, DBR_DOUBLE, 1, 0x4242, 102);
	expect_name("XF:31IDA-OP{Tbl-Ax:X1}Mtr.RBV");
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_READ, 8, DBR_DOUBLE, 1, 7, 102, val, 8);
	expect_name("XF:31IDA-OP{Tbl-Ax:X1}Mtr.RBV");

	/* A partial header names nothing and changes nothing. */
	{
		struct ca_msg m;
		struct track_name n;

		memset(&m, 0, sizeof(m));
		m.h.cmd = CA_PROTO_READ_NOTIFY;
		m.h.hdr_len = 6;
		m.tcp = true;
		m.dir = RSP;
		m.flags = CA_MSG_TRUNCATED;
		n = track_msg(t, &CIRC_A, &m);
		assert_null(n.name);
	}
}

static void test_event_add_cancel(void **state)
{
	struct track *t = *state;
	uint8_t ev[16] = { 0 }, val[8] = { 0x3f, 0xf8 };
	int i;

	ev[12] = 0;
	ev[13] = 5;  /* DBE_VALUE | DBE_ALARM */
	open_channel(t, &CIRC_A, 1, 0x100, "SR:C03-BI{DCCT:1}I:Real-I");
	open_channel(t, &CIRC_A, 2, 0x200, "SR:C03-BI{DCCT:1}Lifetime-I");

	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_EVENT_ADD, 16, 20, 1, 0x100, 55, ev, 16);
	expect_name("SR:C03-BI{DCCT:1}I:Real-I");
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_EVENT_ADD, 16, 20, 1, 0x200, 56, ev, 16);
	expect_name("SR:C03-BI{DCCT:1}Lifetime-I");
	for (i = 0; i < 5; i++) {
		send_msg(t, &CIRC_A, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1,
			 ECA_NORMAL, 55, val, 8);
		expect_name("SR:C03-BI{DCCT:1}I:Real-I");
		send_msg(t, &CIRC_A, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1,
			 ECA_NORMAL, 56, val, 8);
		expect_name("SR:C03-BI{DCCT:1}Lifetime-I");
	}
	/* Subscription ids and ioids are separate spaces. */
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1,
		 ECA_NORMAL, 55, val, 8);
	expect_none();

	TCP(t, &CIRC_A, REQ, CA_PROTO_EVENT_CANCEL, 0, 20, 1, 0x100, 55);
	expect_name("SR:C03-BI{DCCT:1}I:Real-I");
	/* An update still in flight, then the confirmation (size 0 count 0). */
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1,
		 ECA_NORMAL, 55, val, 8);
	expect_name("SR:C03-BI{DCCT:1}I:Real-I");
	TCP(t, &CIRC_A, RSP, CA_PROTO_EVENT_ADD, 0, 20, 0, ECA_NORMAL, 55);
	expect_name("SR:C03-BI{DCCT:1}I:Real-I");
	/* The subscription is over; the other one goes on. */
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1,
		 ECA_NORMAL, 55, val, 8);
	expect_none();
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1,
		 ECA_NORMAL, 56, val, 8);
	expect_name("SR:C03-BI{DCCT:1}Lifetime-I");
}

/* A CREATE_CHAN reply lost from the capture: the request that then uses
 * an unknown sid can only mean the one channel still waiting for its
 * reply, when the client's stream is whole from the start (issue 16). */
static void test_lost_create_reply_inferred(void **state)
{
	struct track *t = *state;
	uint8_t ev[16] = { 0 }, val[8] = { 0x3f, 0xf8 };

	TCP(t, &CIRC_A, REQ, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	open_channel(t, &CIRC_A, 1, 0x100, "T:calc");
	send_named(t, &CIRC_A, true, CA_PROTO_CREATE_CHAN, 0, 0, 2, 13, "T:ai");
	/* its reply (sid 0x200) is not in the capture */
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_EVENT_ADD, 16, 20, 1, 0x200, 9, ev, 16);
	expect_name("T:ai");
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1, ECA_NORMAL, 9, val, 8);
	expect_name("T:ai");
	assert_int_equal(t->stats.sids_inferred, 1);

	/* Two channels waiting: no telling which. */
	TCP(t, &CIRC_B, REQ, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	send_named(t, &CIRC_B, true, CA_PROTO_CREATE_CHAN, 0, 0, 1, 13, "B:one");
	send_named(t, &CIRC_B, true, CA_PROTO_CREATE_CHAN, 0, 0, 2, 13, "B:two");
	TCP(t, &CIRC_B, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x300, 4);
	expect_none();
	assert_int_equal(t->stats.sids_inferred, 1);
}

/* The client's own stream lost bytes: a CREATE_CHAN may have gone with
 * them, so a lone waiting channel proves nothing. */
static void test_no_inference_after_request_loss(void **state)
{
	struct track *t = *state;

	TCP(t, &CIRC_A, REQ, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	send_named(t, &CIRC_A, true, CA_PROTO_CREATE_CHAN, 0, 0, 1, 13, "T:calc");
	next_flags = CA_MSG_RESYNC;   /* the framer found its way after a hole */
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x500, 4);
	expect_none();
	assert_int_equal(t->stats.sids_inferred, 0);
}

static void test_write(void **state)
{
	struct track *t = *state;
	uint8_t val[8] = { 0x40, 0x14 };

	open_channel(t, &CIRC_A, 3, 0x300, "XF:10IDB-OP{Mono}Energy-SP");
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_WRITE, 8, DBR_DOUBLE, 1, 0x300, 9, val, 8);
	expect_name("XF:10IDB-OP{Mono}Energy-SP");
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_WRITE_NOTIFY, 8, DBR_DOUBLE, 1, 0x300, 10, val, 8);
	expect_name("XF:10IDB-OP{Mono}Energy-SP");
	TCP(t, &CIRC_A, RSP, CA_PROTO_WRITE_NOTIFY, 0, DBR_DOUBLE, 1, ECA_NORMAL, 10);
	expect_name("XF:10IDB-OP{Mono}Energy-SP");
	/* WRITE to an unknown sid. */
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_WRITE, 8, DBR_DOUBLE, 1, 0x301, 9, val, 8);
	expect_none();
}

static void test_clear_channel(void **state)
{
	struct track *t = *state;
	uint8_t val[8] = { 0x40, 0x14 };

	open_channel(t, &CIRC_A, 4, 0x400, "LINAC:BPM1:X");
	open_channel(t, &CIRC_A, 5, 0x500, "LINAC:BPM1:Y");
	assert_int_equal(t->channels_open, 2);
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_EVENT_ADD, 16, DBR_DOUBLE, 1, 0x400, 77,
		 (uint8_t[16]){ 0 }, 16);
	expect_name("LINAC:BPM1:X");

	TCP(t, &CIRC_A, REQ, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 0x400, 4);
	expect_name("LINAC:BPM1:X");
	TCP(t, &CIRC_A, RSP, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 0x400, 4);
	expect_name("LINAC:BPM1:X");
	assert_int_equal(t->channels_open, 1);

	/* Later messages with that sid (or cid) are nameless. */
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x400, 78);
	expect_none();
	TCP(t, &CIRC_A, RSP, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, ECA_NORMAL, 78);
	expect_none();
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_WRITE, 8, DBR_DOUBLE, 1, 0x400, 9, val, 8);
	expect_none();
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1, ECA_NORMAL, 77, val, 8);
	expect_none();
	TCP(t, &CIRC_A, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 4, 3);
	expect_none();
	TCP(t, &CIRC_A, RSP, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 0x400, 4);
	expect_none();
	/* The other channel is untouched. */
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x500, 79);
	expect_name("LINAC:BPM1:Y");
	TCP(t, &CIRC_A, RSP, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, ECA_NORMAL, 79);
	expect_name("LINAC:BPM1:Y");

	/* The cid reused for a new PV names the new PV only. */
	open_channel(t, &CIRC_A, 4, 0x401, "LINAC:BPM2:X");
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x401, 80);
	expect_name("LINAC:BPM2:X");
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x400, 81);
	expect_none();
	assert_int_equal(t->channels_open, 2);
}

/* CLEAR_CHANNEL "p1 is the sid, p2 the cid; trust whichever is known"
 * (track.c): a reply whose cid is not known but whose sid is still names
 * the channel, and must end it like any CLEAR_CHANNEL reply. */
static void test_clear_channel_by_sid(void **state)
{
	struct track *t = *state;

	open_channel(t, &CIRC_A, 40, 0x2800, "BYSID:pv");
	open_channel(t, &CIRC_A, 41, 0x2900, "BYSID:other");
	assert_int_equal(t->channels_open, 2);
	TCP(t, &CIRC_A, REQ, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 0x2800, 0xFFFF);
	expect_name("BYSID:pv");
	TCP(t, &CIRC_A, RSP, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 0x2800, 0xFFFF);
	expect_name("BYSID:pv");
	/* The channel is over: no name for its sid or cid any more. */
	assert_int_equal(t->channels_open, 1);
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x2800, 3);
	expect_none();
	TCP(t, &CIRC_A, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 40, 3);
	expect_none();
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x2900, 4);
	expect_name("BYSID:other");
}

/* The UDP search table is bounded (TRACK_SEARCH_CAP) and forgets its
 * oldest entries first; a search repeated since is not the oldest. */
static void test_udp_search_bound(void **state)
{
	static const struct flow_key cli = { 0x0A000020, 0x0AFFFFFF, 50100, 5064 };
	const uint32_t extra = 100;
	uint8_t name[8] = "PV:x";
	uint8_t minor[8] = { 0, 13 };
	struct track *t = *state;
	uint32_t cid;

	for (cid = 0; cid < TRACK_SEARCH_CAP + extra; cid++) {
		if (cid == TRACK_SEARCH_CAP - 1)  /* refresh the first search */
			send_msg(t, &cli, false, REQ, CA_PROTO_SEARCH, 8, CA_DONT_REPLY, 13,
				 0, 0, "PV:zero", 8);
		name[4] = (uint8_t)('a' + cid % 26);
		send_msg(t, &cli, false, REQ, CA_PROTO_SEARCH, 8, CA_DONT_REPLY, 13,
			 cid, cid, name, 8);
	}
	assert_true(hmap_count(&t->searches) <= TRACK_SEARCH_CAP);
	/* cid 0 was refreshed just before the table filled: kept, with the
	 * name of its latest search.  cids 1..extra are the oldest: gone. */
	send_msg(t, &cli, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 0, minor, 8);
	expect_name("PV:zero");
	for (cid = 1; cid <= extra; cid++) {
		send_msg(t, &cli, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, cid, minor, 8);
		expect_none();
	}
	for (cid = extra + 2; cid < TRACK_SEARCH_CAP + extra; cid += 997) {
		send_msg(t, &cli, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, cid, minor, 8);
		assert_false(last_null);
		assert_int_equal(strlen(last), 5);
		assert_memory_equal(last, "PV:x", 4);
		assert_int_equal(last[4], 'a' + cid % 26);
	}
}

static void test_server_disconn_create_fail(void **state)
{
	struct track *t = *state;

	open_channel(t, &CIRC_A, 10, 0xA00, "IOC:gone");
	TCP(t, &CIRC_A, RSP, CA_PROTO_SERVER_DISCONN, 0, 0, 0, 10, 0);
	expect_name("IOC:gone");
	assert_int_equal(t->channels_open, 0);
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0xA00, 1);
	expect_none();
	TCP(t, &CIRC_A, RSP, CA_PROTO_SERVER_DISCONN, 0, 0, 0, 10, 0);
	expect_none();

	/* CREATE_CHAN that the server refuses: no sid ever bound. */
	send_named(t, &CIRC_A, true, CA_PROTO_CREATE_CHAN, 0, 0, 11, 13, "IOC:refused");
	expect_name("IOC:refused");
	assert_int_equal(t->channels_open, 1);
	TCP(t, &CIRC_A, RSP, CA_PROTO_CREATE_CH_FAIL, 0, 0, 0, 11, 0);
	expect_name("IOC:refused");
	assert_int_equal(t->channels_open, 0);
	TCP(t, &CIRC_A, RSP, CA_PROTO_CREATE_CH_FAIL, 0, 0, 0, 11, 0);
	expect_none();

	/* caproto answers CLEAR_CHANNEL with SERVER_DISCONN. */
	open_channel(t, &CIRC_A, 12, 0xC00, "caproto:pv");
	TCP(t, &CIRC_A, REQ, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 0xC00, 12);
	expect_name("caproto:pv");
	TCP(t, &CIRC_A, RSP, CA_PROTO_SERVER_DISCONN, 0, 0, 0, 12, 0);
	expect_name("caproto:pv");
	assert_int_equal(t->channels_open, 0);
}

static void test_error(void **state)
{
	struct track *t = *state;
	uint8_t pl[16 + 32];

	open_channel(t, &CIRC_A, 20, 0x1400, "RO:pv");
	open_channel(t, &CIRC_A, 21, 0x1500, "Other:pv");

	/* ERROR with p1 = cid. */
	memset(pl, 0, sizeof(pl));
	wire_put_ca_hdr(pl, CA_PROTO_WRITE_NOTIFY, 8, DBR_DOUBLE, 1, 0x1400, 3);
	memcpy(pl + 16, "Write access denied", 19);
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_ERROR, sizeof(pl), 0, 0, 20, 376, pl, sizeof(pl));
	expect_name("RO:pv");

	/* ERROR whose p1 names no channel: the failed request's header (a
	 * READ_NOTIFY naming sid 0x1500) does. */
	memset(pl, 0, sizeof(pl));
	wire_put_ca_hdr(pl, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x1500, 4);
	memcpy(pl + 16, "Read access denied", 18);
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_ERROR, sizeof(pl), 0, 0, 0xFFFFFFFF, 368,
		 pl, sizeof(pl));
	expect_name("Other:pv");

	/* ... an EVENT_ADD naming sid 0x1400. */
	memset(pl, 0, sizeof(pl));
	wire_put_ca_hdr(pl, CA_PROTO_EVENT_ADD, 16, DBR_DOUBLE, 1, 0x1400, 5);
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_ERROR, sizeof(pl), 0, 0, 0xFFFFFFFF, 330,
		 pl, sizeof(pl));
	expect_name("RO:pv");

	/* ... a CREATE_CHAN naming cid 21. */
	memset(pl, 0, sizeof(pl));
	wire_put_ca_hdr(pl, CA_PROTO_CREATE_CHAN, 16, 0, 0, 21, 13);
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_ERROR, sizeof(pl), 0, 0, 0xFFFFFFFF, 142,
		 pl, sizeof(pl));
	expect_name("Other:pv");

	/* ... a request naming nothing known. */
	memset(pl, 0, sizeof(pl));
	wire_put_ca_hdr(pl, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x9999, 4);
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_ERROR, sizeof(pl), 0, 0, 0xFFFFFFFF, 368,
		 pl, sizeof(pl));
	expect_none();

	/* A payload too short to hold the failed header (a capture cut). */
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_ERROR, 48, 0, 0, 0xFFFFFFFF, 368, pl, 10);
	expect_none();
}

static void test_access_rights(void **state)
{
	struct track *t = *state;

	send_named(t, &CIRC_A, true, CA_PROTO_CREATE_CHAN, 0, 0, 30, 13, "AR:pv");
	expect_name("AR:pv");
	/* RSRV sends ACCESS_RIGHTS before the CREATE_CHAN reply. */
	TCP(t, &CIRC_A, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 30, 1);
	expect_name("AR:pv");
	TCP(t, &CIRC_A, RSP, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 30, 0x1E00);
	expect_name("AR:pv");
	/* ... and again whenever the rights change. */
	TCP(t, &CIRC_A, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 30, 3);
	expect_name("AR:pv");
	/* p1 is a cid, not a sid. */
	TCP(t, &CIRC_A, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 0x1E00, 3);
	expect_none();
}

static void test_udp_search(void **state)
{
	static const struct flow_key cli1 = { 0x0A000010, 0x0AFFFFFF, 50000, 5064 };
	static const struct flow_key cli1_other_port = { 0x0A000010, 0x0AFFFFFF, 50001, 5064 };
	static const struct flow_key cli2 = { 0x0A000011, 0x0AFFFFFF, 50000, 5064 };
	/* The reply comes from the IOC, not the broadcast address. */
	static const struct flow_key cli1_reply = { 0x0A000010, 0x0A000002, 50000, 5064 };
	uint8_t minor[8] = { 0, 13 };
	struct track *t = *state;

	send_msg(t, &cli1, false, REQ, CA_PROTO_VERSION, 0, 1, 13, 0x77, 0, NULL, 0);
	expect_none();
	send_named(t, &cli1, false, CA_PROTO_SEARCH, CA_DONT_REPLY, 13, 501, 501, "PV:udp:one");
	expect_name("PV:udp:one");
	send_named(t, &cli1, false, CA_PROTO_SEARCH, CA_DONT_REPLY, 13, 502, 502, "PV:udp:two");
	expect_name("PV:udp:two");
	send_named(t, &cli2, false, CA_PROTO_SEARCH, CA_DONT_REPLY, 13, 501, 501, "PV:udp:cli2");
	expect_name("PV:udp:cli2");

	send_msg(t, &cli1_reply, false, RSP, CA_PROTO_VERSION, 0, 1, 13, 0x77, 0, NULL, 0);
	expect_none();
	send_msg(t, &cli1_reply, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 502, minor, 8);
	expect_name("PV:udp:two");
	send_msg(t, &cli1_reply, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 501, minor, 8);
	expect_name("PV:udp:one");
	/* A second server answering the same search. */
	send_msg(t, &cli1, false, RSP, CA_PROTO_SEARCH, 8, 40123, 0, 0x0A000009, 501, minor, 8);
	expect_name("PV:udp:one");
	send_msg(t, &cli2, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 501, minor, 8);
	expect_name("PV:udp:cli2");

	/* Not for another client (port or address), nor for an unknown cid. */
	send_msg(t, &cli1_other_port, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 501, minor, 8);
	expect_none();
	send_msg(t, &cli2, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 502, minor, 8);
	expect_none();
	send_msg(t, &cli1, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 503, minor, 8);
	expect_none();

	/* The client searches again for cid 501 under a new name. */
	send_named(t, &cli1, false, CA_PROTO_SEARCH, CA_DONT_REPLY, 13, 501, 501, "PV:udp:renamed");
	expect_name("PV:udp:renamed");
	send_msg(t, &cli1, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 501, minor, 8);
	expect_name("PV:udp:renamed");

	/* UDP searches do not leak into a TCP circuit with the same ports. */
	TCP(t, &cli1, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 501, 3);
	expect_none();
}

static void test_tcp_search(void **state)
{
	struct track *t = *state;

	send_named(t, &CIRC_A, true, CA_PROTO_SEARCH, CA_DO_REPLY, 13, 600, 600, "TCP:search");
	expect_name("TCP:search");
	TCP(t, &CIRC_A, RSP, CA_PROTO_NOT_FOUND, 0, CA_DO_REPLY, 13, 600, 600);
	expect_name("TCP:search");
	send_named(t, &CIRC_A, true, CA_PROTO_SEARCH, CA_DO_REPLY, 13, 601, 601, "TCP:found");
	expect_name("TCP:found");
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_SEARCH, 8, 5064, 0, 0xFFFFFFFF, 601,
		 (uint8_t[8]){ 0, 13 }, 8);
	expect_name("TCP:found");
	/* A search still waiting when the tracker goes: freed by track_free. */
	send_named(t, &CIRC_A, true, CA_PROTO_SEARCH, CA_DO_REPLY, 13, 602, 602, "TCP:pending");
	expect_name("TCP:pending");
}

static void test_two_circuits(void **state)
{
	struct track *t = *state;
	uint8_t val[8] = { 0 };

	/* Same cid, same sid, same ioid on two circuits. */
	open_channel(t, &CIRC_A, 1, 0x100, "A:pv");
	open_channel(t, &CIRC_B, 1, 0x100, "B:pv");
	assert_int_equal(t->channels_open, 2);
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x100, 5);
	expect_name("A:pv");
	TCP(t, &CIRC_B, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x100, 5);
	expect_name("B:pv");
	send_msg(t, &CIRC_B, true, RSP, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, ECA_NORMAL, 5, val, 8);
	expect_name("B:pv");
	send_msg(t, &CIRC_A, true, RSP, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, ECA_NORMAL, 5, val, 8);
	expect_name("A:pv");
	TCP(t, &CIRC_A, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 1, 3);
	expect_name("A:pv");
	TCP(t, &CIRC_B, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 1, 3);
	expect_name("B:pv");

	/* Clearing on A leaves B alone. */
	TCP(t, &CIRC_A, RSP, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 0x100, 1);
	expect_name("A:pv");
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x100, 6);
	expect_none();
	TCP(t, &CIRC_B, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x100, 6);
	expect_name("B:pv");
}

static void test_circuit_close(void **state)
{
	struct track *t = *state;
	int i;

	for (i = 0; i < 50; i++) {
		char name[32];

		snprintf(name, sizeof(name), "A:pv%d", i);
		open_channel(t, &CIRC_A, (uint32_t)i, 0x1000 + (uint32_t)i, name);
		TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1,
		    0x1000 + (uint32_t)i, 900 + (uint32_t)i);
		TCP(t, &CIRC_A, REQ, CA_PROTO_EVENT_ADD, 16, DBR_DOUBLE, 1,
		    0x1000 + (uint32_t)i, 700 + (uint32_t)i);
	}
	send_named(t, &CIRC_A, true, CA_PROTO_SEARCH, CA_DO_REPLY, 13, 999, 999, "A:searching");
	open_channel(t, &CIRC_B, 1, 0x100, "B:pv");
	assert_int_equal(t->channels_open, 51);
	assert_int_equal(hmap_count(&t->circuits), 2);

	track_circuit_close(t, &CIRC_A);
	assert_int_equal(t->channels_open, 1);
	assert_int_equal(hmap_count(&t->circuits), 1);
	TCP(t, &CIRC_B, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x100, 5);
	expect_name("B:pv");
	/* Closing twice, or a circuit never seen, is harmless. */
	track_circuit_close(t, &CIRC_A);
	track_circuit_close(t, &(struct flow_key){ 9, 9, 9, 9 });
	assert_int_equal(hmap_count(&t->circuits), 1);

	/* A new circuit on the same ports knows nothing of the old one. */
	TCP(t, &CIRC_A, RSP, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, ECA_NORMAL, 905);
	expect_none();
	TCP(t, &CIRC_A, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x1005, 1);
	expect_none();
	TCP(t, &CIRC_A, RSP, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 5, 3);
	expect_none();

	/* The last name handed out (a closed channel's copy) is freed by
	 * track_free too. */
	TCP(t, &CIRC_B, RSP, CA_PROTO_SERVER_DISCONN, 0, 0, 0, 1, 0);
	expect_name("B:pv");
	assert_int_equal(t->channels_open, 0);
}

/* The circuit of the previous message is remembered to spare a look-up:
 * closing that very circuit must forget it (ASan sees a use after free
 * otherwise, and the new circuit would inherit the old names). */
static void test_circuit_close_last_used(void **state)
{
	struct track *t = *state;

	open_channel(t, &CIRC_A, 1, 0x100, "A:pv");
	TCP(t, &CIRC_A, REQ, CA_PROTO_EVENT_ADD, 16, DBR_DOUBLE, 1, 0x100, 7);
	expect_name("A:pv");
	track_circuit_close(t, &CIRC_A);
	assert_int_equal(hmap_count(&t->circuits), 0);
	TCP(t, &CIRC_A, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1, ECA_NORMAL, 7);
	expect_none();
	assert_int_equal(hmap_count(&t->circuits), 1);
}

static void test_payload_name(void **state)
{
	struct track *t = *state;
	struct ca_msg m;
	struct track_name n;
	bool term = true;
	uint8_t *p = malloc(8);

	assert_non_null(p);
	memset(&m, 0, sizeof(m));
	memcpy(p, "ABCDEFGH", 8);
	m.payload = p;
	m.payload_len = 8;
	n = ca_payload_name(&m, &term);
	assert_false(term);
	assert_int_equal(n.len, 8);
	assert_memory_equal(n.name, "ABCDEFGH", 8);

	memcpy(p, "AB\0DEFGH", 8);
	n = ca_payload_name(&m, &term);
	assert_true(term);
	assert_int_equal(n.len, 2);
	assert_memory_equal(n.name, "AB", 2);

	memcpy(p, "\0\0\0\0\0\0\0\0", 8);
	n = ca_payload_name(&m, &term);
	assert_true(term);
	assert_int_equal(n.len, 0);

	m.payload_len = 0;
	n = ca_payload_name(&m, &term);
	assert_false(term);
	assert_null(n.name);
	free(p);

	/* A CREATE_CHAN cut by the capture before the NUL still names. */
	send_msg(t, &CIRC_A, true, REQ, CA_PROTO_CREATE_CHAN, 24, 0, 0, 1, 13,
		 "CUT:NAME", 8);
	expect_name("CUT:NAME");
	TCP(t, &CIRC_A, RSP, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 1, 2);
	expect_name("CUT:NAME");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_read_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enum_names_stay_with_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_add_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_create_reply_inferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_inference_after_request_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_channel_by_sid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_disconn_create_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_rights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_search_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_circuits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_circuit_close_last_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_circuit_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_payload_name, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
