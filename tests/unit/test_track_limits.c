/* Memory bounds of the channel tracker: a "name" longer than any libca
 * sends is cut to CA_MAX_NAME_LEN, so a flood of huge CREATE_CHAN payloads
 * cannot make each channel cost what its payload does; channels, circuits,
 * request ids and UDP searches all have bounds, evicting the least
 * recently used first; the UDP search ring grows only as searches come. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "track.h"

#define REQ CA_DIR_REQUEST
#define RSP CA_DIR_RESPONSE

/* One message through the tracker; returns whether it was named `want`
 * (NULL: named nothing). */
static bool named(struct track *t, const struct flow_key *k, bool tcp,
		  enum ca_dir dir, unsigned cmd, uint32_t size, unsigned dtype,
		  uint32_t count, uint32_t p1, uint32_t p2, const char *payload,
		  const char *want)
{
	uint8_t buf[64] = { 0 };
	struct track_name n;
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
	m.tcp = tcp;
	if (payload) {
		assert_true(strlen(payload) < sizeof(buf));
		memcpy(buf, payload, strlen(payload));
		m.payload = buf;
		m.payload_len = size;
	}
	n = track_msg(t, k, &m);
	if (!want)
		return n.name == NULL;
	return n.name && n.len == strlen(want) && !memcmp(n.name, want, n.len);
}

static struct flow_key circuit(uint32_t i)
{
	struct flow_key k = { 0x0A000000 + (i >> 16), 0x0AFF0001, (uint16_t)i, 5064 };

	return k;
}

/* CREATE_CHAN request and reply: channel cid named `name`, sid = cid + 1000. */
static void open_channel(struct track *t, const struct flow_key *k, uint32_t cid,
			 const char *name)
{
	named(t, k, true, REQ, CA_PROTO_CREATE_CHAN, 24, 0, 0, cid, 13, name, name);
	assert_true(named(t, k, true, RSP, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, cid,
			  cid + 1000, NULL, name));
}

/* A READ_NOTIFY reply by ioid names the channel its request named. */
static bool read_named(struct track *t, const struct flow_key *k, uint32_t cid,
		       uint32_t ioid, const char *want)
{
	named(t, k, true, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, cid + 1000, ioid,
	      NULL, NULL);
	return named(t, k, true, RSP, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, ECA_NORMAL,
		     ioid, NULL, want);
}

static void test_long_name_is_capped(void **state)
{
	static uint8_t name[4000];
	struct flow_key k = { 0x0a000002, 0x0a000001, 40000, 5064 };
	struct track t;
	struct ca_msg req, rsp;
	struct track_name n;

	(void)state;
	memset(name, 'A', sizeof(name) - 8);
	track_init(&t);
	memset(&req, 0, sizeof(req));
	req.h.cmd = CA_PROTO_CREATE_CHAN;
	req.h.size = sizeof(name);
	req.h.hdr_len = CA_HDR_LEN;
	req.h.p1 = 7;
	req.dir = CA_DIR_REQUEST;
	req.tcp = true;
	req.payload = name;
	req.payload_len = sizeof(name);
	track_msg(&t, &k, &req);

	memset(&rsp, 0, sizeof(rsp));
	rsp.h.cmd = CA_PROTO_CREATE_CHAN;
	rsp.h.hdr_len = CA_HDR_LEN;
	rsp.h.p1 = 7;
	rsp.h.p2 = 3;
	rsp.dir = CA_DIR_RESPONSE;
	rsp.tcp = true;
	n = track_msg(&t, &k, &rsp);
	assert_non_null(n.name);
	assert_int_equal(n.len, CA_MAX_NAME_LEN);
	track_free(&t);
}

/* The UDP search ring starts small and doubles as searches come, up to
 * TRACK_SEARCH_CAP; it once took 6 MiB at the first SEARCH. */
static void test_search_ring_grows_on_demand(void **state)
{
	struct flow_key cli = { 0x0A000020, 0x0AFFFFFF, 50100, 5064 };
	struct track t;
	uint32_t cid;
	size_t first;

	(void)state;
	track_init(&t);
	named(&t, &cli, false, REQ, CA_PROTO_SEARCH, 8, CA_DONT_REPLY, 13, 0, 0,
	      "PV:0", "PV:0");
	first = malloc_usable_size(t.ring);
	print_message("ring after one search: %zu bytes\n", first);
	assert_true(first < 64 * 1024);
	for (cid = 1; cid < TRACK_SEARCH_CAP + 10; cid++)
		named(&t, &cli, false, REQ, CA_PROTO_SEARCH, 8, CA_DONT_REPLY, 13, cid,
		      cid, "PV:x", "PV:x");
	assert_int_equal(t.ring_cap, TRACK_SEARCH_CAP);
	assert_true(hmap_count(&t.searches) <= TRACK_SEARCH_CAP);
	assert_int_equal(t.stats.searches_forgotten, 10);
	/* The oldest went first, the newest are there. */
	assert_true(named(&t, &cli, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0,
			  0xFFFFFFFF, 5, NULL, NULL));
	assert_true(named(&t, &cli, false, RSP, CA_PROTO_SEARCH, 8, 5064, 0,
			  0xFFFFFFFF, TRACK_SEARCH_CAP + 9, NULL, "PV:x"));
	track_free(&t);
}

/* Past TRACK_CHAN_CAP channels the least recently used is forgotten; a
 * channel in use stays. */
static void test_channels_evicted_least_recently_used(void **state)
{
	const uint32_t extra = 100, per_circuit = 1000;
	struct flow_key k0 = circuit(0);
	struct track t;
	char name[32];
	uint32_t i;

	(void)state;
	track_init(&t);
	for (i = 0; i < TRACK_CHAN_CAP + extra; i++) {
		struct flow_key k = circuit(i / per_circuit);

		snprintf(name, sizeof(name), "CH:%u", i);
		open_channel(&t, &k, i, name);
		if (i % 1000 == 0)  /* channel 0 stays in use */
			assert_true(read_named(&t, &k0, 0, i, "CH:0"));
	}
	assert_int_equal(t.n_chans, TRACK_CHAN_CAP);
	assert_int_equal(t.channels_open, TRACK_CHAN_CAP);
	assert_int_equal(t.stats.chans_evicted, extra);
	assert_true(read_named(&t, &k0, 0, 1, "CH:0"));
	assert_true(read_named(&t, &k0, 1, 2, NULL));         /* the oldest: gone */
	i = TRACK_CHAN_CAP + extra - 1;
	{
		struct flow_key k = circuit(i / per_circuit);

		snprintf(name, sizeof(name), "CH:%u", i);
		assert_true(read_named(&t, &k, i, 3, name));  /* the newest: there */
	}
	track_free(&t);
}

/* Past TRACK_CIRCUIT_CAP circuits the least recently used goes, with its
 * channels. */
static void test_circuits_evicted_least_recently_used(void **state)
{
	const uint32_t extra = 5;
	struct flow_key k0 = circuit(0), k1 = circuit(1);
	struct track t;
	uint32_t i;

	(void)state;
	track_init(&t);
	for (i = 0; i < TRACK_CIRCUIT_CAP + extra; i++) {
		struct flow_key k = circuit(i);

		open_channel(&t, &k, 1, "CH");
		if (i % 1000 == 0)
			assert_true(read_named(&t, &k0, 1, i, "CH"));
	}
	assert_int_equal(hmap_count(&t.circuits), TRACK_CIRCUIT_CAP);
	assert_int_equal(t.stats.circuits_evicted, extra);
	assert_int_equal(t.channels_open, TRACK_CIRCUIT_CAP);
	assert_true(read_named(&t, &k0, 1, 1, "CH"));
	assert_true(read_named(&t, &k1, 1, 1, NULL));
	track_free(&t);
}

/* Subscription ids of one circuit stop at TRACK_PENDING_CAP; those of a
 * closed channel are swept away when room is needed. */
static void test_ids_bounded_and_stale_ones_swept(void **state)
{
	const uint32_t extra = 10;
	struct flow_key k = circuit(7);
	struct track t;
	uint32_t i;

	(void)state;
	track_init(&t);
	open_channel(&t, &k, 1, "A");
	for (i = 0; i < TRACK_PENDING_CAP + extra; i++)
		named(&t, &k, true, REQ, CA_PROTO_EVENT_ADD, 16, DBR_DOUBLE, 1, 1001, i,
		      NULL, "A");
	assert_int_equal(t.n_ids, TRACK_PENDING_CAP);
	assert_int_equal(t.stats.ids_untracked, extra);
	/* An update of a tracked subscription is named, one past the bound not. */
	assert_true(named(&t, &k, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1,
			  ECA_NORMAL, 5, NULL, "A"));
	assert_true(named(&t, &k, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1,
			  ECA_NORMAL, TRACK_PENDING_CAP + 1, NULL, NULL));
	/* Channel A closes without cancelling; B's subscription finds room. */
	assert_true(named(&t, &k, true, RSP, CA_PROTO_CLEAR_CHANNEL, 0, 0, 0, 1001, 1,
			  NULL, "A"));
	open_channel(&t, &k, 2, "B");
	named(&t, &k, true, REQ, CA_PROTO_EVENT_ADD, 16, DBR_DOUBLE, 1, 1002,
	      TRACK_PENDING_CAP + 100, NULL, "B");
	assert_int_equal(t.n_ids, 1);
	assert_true(named(&t, &k, true, RSP, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1,
			  ECA_NORMAL, TRACK_PENDING_CAP + 100, NULL, "B"));
	track_free(&t);
}

/* All circuits together hold at most TRACK_IDS_CAP id bindings. */
static void test_ids_bounded_in_all(void **state)
{
	uint32_t circuits = TRACK_IDS_CAP / TRACK_PENDING_CAP + 1, c, i;
	struct track t;

	(void)state;
	track_init(&t);
	for (c = 0; c < circuits; c++) {
		struct flow_key k = circuit(c);

		open_channel(&t, &k, 1, "A");
		for (i = 0; i < TRACK_PENDING_CAP; i++)
			named(&t, &k, true, REQ, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1,
			      1001, i, NULL, "A");
	}
	assert_int_equal(t.n_ids, TRACK_IDS_CAP);
	assert_int_equal(t.stats.ids_untracked,
			 (uint64_t)circuits * TRACK_PENDING_CAP - TRACK_IDS_CAP);
	track_free(&t);
}

/* TCP searches without replies are channels too: bounded with them. */
static void test_tcp_searches_bounded(void **state)
{
	struct flow_key k = circuit(3);
	struct track t;
	uint32_t i;

	(void)state;
	track_init(&t);
	for (i = 0; i < TRACK_CHAN_CAP + 50; i++)
		named(&t, &k, true, REQ, CA_PROTO_SEARCH, 8, CA_DO_REPLY, 13, i, i,
		      "S", "S");
	assert_int_equal(t.n_chans, TRACK_CHAN_CAP);
	assert_int_equal(t.stats.chans_evicted, 50);
	/* The reply to the newest search still has its name. */
	assert_true(named(&t, &k, true, RSP, CA_PROTO_NOT_FOUND, 0, CA_DO_REPLY, 13,
			  TRACK_CHAN_CAP + 49, TRACK_CHAN_CAP + 49, NULL, "S"));
	assert_int_equal(t.n_chans, TRACK_CHAN_CAP - 1);
	track_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_name_is_capped),
		cmocka_unit_test(test_search_ring_grows_on_demand),
		cmocka_unit_test(test_channels_evicted_least_recently_used),
		cmocka_unit_test(test_circuits_evicted_least_recently_used),
		cmocka_unit_test(test_ids_bounded_and_stale_ones_swept),
		cmocka_unit_test(test_ids_bounded_in_all),
		cmocka_unit_test(test_tcp_searches_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
