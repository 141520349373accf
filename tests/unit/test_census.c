/* Unit tests for user/census.c: what the metrics, summaries and beacon
 * events are computed from.  Messages are built by hand with the time
 * stamps and ids a real exchange has; each test frees the census, so
 * LeakSanitizer (make SAN=1) reports anything left behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ca_decode.h"
#include "ca_proto.h"
#include "census.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define REQ CA_DIR_REQUEST
#define RSP CA_DIR_RESPONSE

static const uint32_t IOC = 0x0A000001, CLI = 0x0A000002, CLI2 = 0x0A000003;
static const struct flow_key CIRC = { 0x0A000002, 0x0A000001, 40000, 5064 };

static struct ca_msg msg(unsigned cmd, enum ca_dir dir, bool tcp, unsigned dtype,
			 unsigned count, uint32_t p1, uint32_t p2)
{
	struct ca_msg m;

	memset(&m, 0, sizeof(m));
	m.h.cmd = (uint16_t)cmd;
	m.h.dtype = (uint16_t)dtype;
	m.h.count = count;
	m.h.p1 = p1;
	m.h.p2 = p2;
	m.h.hdr_len = 16;
	m.dir = dir;
	m.tcp = tcp;
	return m;
}

static void feed(struct census *c, const struct flow_key *k, uint64_t ts,
		 uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		 const char *pv, struct ca_msg m)
{
	struct msg_ctx mc;

	memset(&mc, 0, sizeof(mc));
	mc.ts_ns = ts;
	mc.src_ip = src;
	mc.sport = sport;
	mc.dst_ip = dst;
	mc.dport = dport;
	mc.tcp = m.tcp;
	mc.pv = pv;
	mc.pv_len = pv ? strlen(pv) : 0;
	census_msg(c, k, &mc, &m);
}

/* ---- beacons ---- */

static struct census_event events[64];
static unsigned n_events;

static void on_event(void *ctx, const struct census_event *ev)
{
	(void)ctx;
	if (n_events < 64)
		events[n_events++] = *ev;
}

static void beacon(struct census *c, uint64_t ts, uint32_t seq)
{
	struct flow_key k = { IOC, CLI, 49000, 5065 };

	feed(c, &k, ts, IOC, 49000, CLI, 5065, NULL,
	     msg(CA_PROTO_RSRV_IS_UP, REQ, false, 13, 5064, seq, 0));
}

/* A server booting: ids from 0, the period doubling from 20 ms up to 15 s,
 * then steady.  Returns the time of the last beacon. */
static uint64_t boot(struct census *c, uint64_t t, uint32_t *seq, unsigned steady)
{
	uint64_t period = 20 * MS;
	unsigned i;

	beacon(c, t, (*seq)++);
	while (period < 15 * SEC) {
		t += period;
		beacon(c, t, (*seq)++);
		period *= 2;
	}
	for (i = 0; i < steady; i++) {
		t += 15 * SEC;
		beacon(c, t, (*seq)++);
	}
	return t;
}

static unsigned count_kind(enum census_event_kind k)
{
	unsigned i, n = 0;

	for (i = 0; i < n_events; i++)
		n += events[i].kind == k;
	return n;
}

static void setup_events(struct census *c)
{
	census_init(c, 100);
	c->on_event = on_event;
	n_events = 0;
}

static void test_beacon_boot_is_one_appearance(void **state)
{
	struct census c;
	uint32_t seq = 0;
	struct census_server *s;

	(void)state;
	setup_events(&c);
	boot(&c, 100 * SEC, &seq, 10);
	/* The ramp-up is how a server starts, not a string of anomalies. */
	assert_int_equal(n_events, 1);
	assert_int_equal(events[0].kind, CENSUS_EV_APPEARED);
	s = census_server_get(&c, IOC, 5064);
	assert_non_null(s);
	assert_int_equal(s->beacons, seq);
	assert_int_equal(s->restarts, 0);
	census_free(&c);
}

static void test_beacon_restart_counts_once(void **state)
{
	struct census c;
	uint32_t seq = 0;
	uint64_t t;

	(void)state;
	setup_events(&c);
	t = boot(&c, 100 * SEC, &seq, 5);
	/* Killed; back 3 s later, counting from 0 again with a fast start. */
	seq = 0;
	boot(&c, t + 3 * SEC, &seq, 5);
	assert_int_equal(count_kind(CENSUS_EV_RESTARTED), 1);
	assert_int_equal(n_events, 2);
	assert_int_equal(census_server_get(&c, IOC, 5064)->restarts, 1);
	census_free(&c);
}

static void test_beacon_restart_soon_after_boot(void **state)
{
	struct census c;
	uint32_t seq = 0;
	uint64_t t = 100 * SEC;
	unsigned i;

	(void)state;
	setup_events(&c);
	/* Six beacons of a ramp (ids 0..5), then a restart: ids 0, 1, 2. */
	for (i = 0; i < 6; i++, t += (20 * MS) << i)
		beacon(&c, t, seq++);
	seq = 0;
	t += SEC;
	for (i = 0; i < 3; i++, t += (20 * MS) << i)
		beacon(&c, t, seq++);
	assert_int_equal(count_kind(CENSUS_EV_RESTARTED), 1);
	census_free(&c);
}

static void test_beacon_duplicates_ignored(void **state)
{
	struct census c;
	uint32_t seq = 0;
	uint64_t t;

	(void)state;
	setup_events(&c);
	t = boot(&c, 100 * SEC, &seq, 5);
	/* The same beacon by a second route, and a straggler one id back. */
	beacon(&c, t + 2 * MS, seq - 1);
	beacon(&c, t + 3 * MS, seq - 2);
	t += 15 * SEC;
	beacon(&c, t, seq++);
	assert_int_equal(n_events, 1);
	census_free(&c);
}

static void test_beacon_missed_and_gap(void **state)
{
	struct census c;
	uint32_t seq = 0;
	uint64_t t;

	(void)state;
	setup_events(&c);
	t = boot(&c, 100 * SEC, &seq, 5);
	/* One beacon lost.  The clock says so once 1.25 periods pass without
	 * one (as casw does), here at the next message, 30 s on; the beacon
	 * after, 45 s after the last timed one, does not say it again. */
	seq++;
	t += 30 * SEC;
	beacon(&c, t, seq++);
	assert_int_equal(count_kind(CENSUS_EV_MISSED), 1);
	t += 15 * SEC;
	beacon(&c, t, seq++);
	assert_int_equal(count_kind(CENSUS_EV_MISSED), 1);
	/* Then silence for 2 min with ids moving on (a network cut, not a
	 * restart): missed by the clock, then beacons resume. */
	seq += 7;
	t += 120 * SEC;
	beacon(&c, t, seq++);
	assert_int_equal(count_kind(CENSUS_EV_MISSED), 2);
	assert_int_equal(count_kind(CENSUS_EV_RESUMED), 1);
	/* The event names the beacon before the gap, not this one again. */
	assert_int_equal(events[n_events - 1].seq, seq - 1);
	assert_int_equal(events[n_events - 1].prev_seq, seq - 9);
	assert_int_equal(count_kind(CENSUS_EV_RESTARTED), 0);
	assert_int_equal(census_server_get(&c, IOC, 5064)->restarts, 1);
	/* Steady again afterwards: no more events. */
	t += 15 * SEC;
	beacon(&c, t, seq++);
	t += 15 * SEC;
	beacon(&c, t, seq++);
	t += 15 * SEC;
	beacon(&c, t, seq++);
	assert_int_equal(n_events, 4);
	/* The server stops: no beacon ever comes again. The clock alone says
	 * it is missed (live, catrace ticks every second), once. */
	census_tick(&c, t + 10 * SEC);
	assert_int_equal(count_kind(CENSUS_EV_MISSED), 2);
	census_tick(&c, t + 20 * SEC);
	assert_int_equal(count_kind(CENSUS_EV_MISSED), 3);
	census_tick(&c, t + 60 * SEC);
	census_tick(&c, t + 120 * SEC);
	assert_int_equal(count_kind(CENSUS_EV_MISSED), 3);
	census_free(&c);
}

static void test_beacon_repeater_copies_not_counted(void **state)
{
	struct census c;
	struct flow_key k = { CLI, CLI, 40000, 5065 };

	(void)state;
	setup_events(&c);
	/* A repeater forwards beacons to its clients: responses. */
	feed(&c, &k, SEC, CLI, 5065, CLI, 40000, NULL,
	     msg(CA_PROTO_RSRV_IS_UP, RSP, false, 13, 5064, 1, IOC));
	assert_null(census_server_get(&c, IOC, 5064));
	assert_int_equal(n_events, 0);
	census_free(&c);
}

/* ---- searches ---- */

static void search(struct census *c, uint64_t ts, uint32_t cli, uint16_t port,
		   uint32_t cid, const char *pv)
{
	struct flow_key k = { cli, 0xFFFFFFFF, port, 5064 };

	feed(c, &k, ts, cli, port, 0x0A0000FF, 5064, pv,
	     msg(CA_PROTO_SEARCH, REQ, false, 5, 13, cid, cid));
}

static void search_reply(struct census *c, uint64_t ts, uint32_t cli, uint16_t port,
			 uint32_t cid, const char *pv)
{
	struct flow_key k = { cli, IOC, port, 5064 };

	feed(c, &k, ts, IOC, 5064, cli, port, pv,
	     msg(CA_PROTO_SEARCH, RSP, false, 5064, 0, 0xFFFFFFFF, cid));
}

static void test_search_answered_and_latency(void **state)
{
	struct census c;
	struct census_server *s;

	(void)state;
	census_init(&c, 100);
	search(&c, 10 * SEC, CLI, 40000, 7, "A:B");
	search_reply(&c, 10 * SEC + 300 * 1000, CLI, 40000, 7, "A:B");   /* 300 us */
	census_tick(&c, 30 * SEC);
	census_finish(&c);
	assert_int_equal(c.searches, 1);
	assert_int_equal(c.searches_answered, 1);
	assert_int_equal(c.searches_unanswered, 0);
	s = census_server_get(&c, IOC, 5064);
	assert_non_null(s);
	assert_int_equal(s->latency[CENSUS_REQ_SEARCH].count, 1);
	/* 300 us falls in the 0.0005 bucket (index 5). */
	assert_int_equal(s->latency[CENSUS_REQ_SEARCH].buckets[5], 1);
	census_free(&c);
}

static void test_search_unanswered_after_timeout(void **state)
{
	struct census c;
	const struct census_pv **pvs;
	size_t n;

	(void)state;
	census_init(&c, 100);
	/* libca resends with the same cid: three requests, no reply. */
	search(&c, 10 * SEC, CLI, 40000, 3, "GONE");
	search(&c, 10 * SEC + 30 * MS, CLI, 40000, 3, "GONE");
	search(&c, 10 * SEC + 90 * MS, CLI, 40000, 3, "GONE");
	census_tick(&c, 14 * SEC);
	assert_int_equal(c.searches_unanswered, 0);     /* not yet 5 s */
	census_tick(&c, 16 * SEC);
	assert_int_equal(c.searches_unanswered, 3);
	n = census_pvs(&c, &pvs);
	assert_int_equal(n, 1);
	assert_string_equal(pvs[0]->name, "GONE");
	assert_int_equal(pvs[0]->searches, 3);
	assert_int_equal(pvs[0]->unanswered, 3);
	/* A reply after expiry matches nothing. */
	search_reply(&c, 17 * SEC, CLI, 40000, 3, "GONE");
	assert_int_equal(c.searches_answered, 0);
	census_free(&c);
}

static void test_search_same_cid_other_client(void **state)
{
	struct census c;

	(void)state;
	census_init(&c, 100);
	search(&c, SEC, CLI, 40000, 1, "X");
	search(&c, SEC, CLI2, 40000, 1, "Y");
	search_reply(&c, SEC + MS, CLI, 40000, 1, "X");
	census_finish(&c);
	assert_int_equal(c.searches_answered, 1);
	assert_int_equal(c.searches_unanswered, 1);
	census_free(&c);
}

static void test_pv_table_bounded_keeps_frequent(void **state)
{
	struct census c;
	const struct census_pv **pvs;
	char name[32];
	size_t n, i;
	bool hot = false, warm = false;
	unsigned k;

	(void)state;
	census_init(&c, 10);
	for (k = 0; k < 5; k++)
		search(&c, SEC + k, CLI, 40000, 1000 + k, "HOT");
	search(&c, SEC, CLI, 40000, 2000, "WARM");
	search(&c, SEC + 1, CLI, 40000, 2001, "WARM");
	/* A storm of 5000 names, once each. */
	for (k = 0; k < 5000; k++) {
		snprintf(name, sizeof(name), "STORM:%u", k);
		search(&c, 2 * SEC + k, CLI, 40001, k, name);
	}
	n = census_pvs(&c, &pvs);
	assert_int_equal(n, 10);
	for (i = 0; i < n; i++) {
		if (!strcmp(pvs[i]->name, "HOT")) {
			hot = true;
			assert_int_equal(pvs[i]->searches, 5);
		}
		if (!strcmp(pvs[i]->name, "WARM"))
			warm = true;
		if (!strncmp(pvs[i]->name, "STORM:", 6))
			assert_int_equal(pvs[i]->searches, 1);
	}
	assert_true(hot);
	assert_true(warm);
	assert_int_equal(c.pv_evictions, 5000 + 2 - 10);
	assert_int_equal(c.searches, 5007);
	census_free(&c);
}

static void test_pv_limit_zero(void **state)
{
	struct census c;
	const struct census_pv **pvs;

	(void)state;
	census_init(&c, 0);
	search(&c, SEC, CLI, 40000, 1, "X");
	assert_int_equal(census_pvs(&c, &pvs), 0);
	assert_int_equal(c.searches, 1);
	census_free(&c);
}

/* ---- circuits ---- */

static void circ(struct census *c, uint64_t ts, enum ca_dir dir, unsigned cmd,
		 unsigned dtype, unsigned count, uint32_t p1, uint32_t p2)
{
	if (dir == REQ)
		feed(c, &CIRC, ts, CLI, 40000, IOC, 5064, "T:ai",
		     msg(cmd, dir, true, dtype, count, p1, p2));
	else
		feed(c, &CIRC, ts, IOC, 5064, CLI, 40000, "T:ai",
		     msg(cmd, dir, true, dtype, count, p1, p2));
}

static void test_circuit_channels_updates_latency(void **state)
{
	struct census c;
	struct census_server *s;

	(void)state;
	census_init(&c, 100);
	circ(&c, SEC, REQ, CA_PROTO_CREATE_CHAN, 0, 13, 1, 13);
	circ(&c, SEC + 2 * MS, RSP, CA_PROTO_CREATE_CHAN, 6, 1, 1, 77);
	circ(&c, SEC + 3 * MS, REQ, CA_PROTO_READ_NOTIFY, 6, 1, 77, 5);
	circ(&c, SEC + 4 * MS, RSP, CA_PROTO_READ_NOTIFY, 6, 1, 1, 5);
	circ(&c, SEC + 5 * MS, REQ, CA_PROTO_WRITE_NOTIFY, 6, 1, 77, 6);
	circ(&c, SEC + 9 * MS, RSP, CA_PROTO_WRITE_NOTIFY, 6, 1, 1, 6);
	/* A subscription: two updates and the cancel confirmation. */
	circ(&c, SEC + 10 * MS, REQ, CA_PROTO_EVENT_ADD, 6, 1, 77, 9);
	{
		struct ca_msg m = msg(CA_PROTO_EVENT_ADD, RSP, true, 6, 1, 1, 9);

		m.h.size = 8;
		feed(&c, &CIRC, SEC + 11 * MS, IOC, 5064, CLI, 40000, "T:ai", m);
		feed(&c, &CIRC, SEC + 12 * MS, IOC, 5064, CLI, 40000, "T:ai", m);
	}
	circ(&c, SEC + 13 * MS, RSP, CA_PROTO_EVENT_ADD, 6, 1, 1, 9);  /* size 0: confirm */
	s = census_server_get(&c, IOC, 5064);
	assert_non_null(s);
	assert_int_equal(s->circuits, 1);
	assert_int_equal(s->channels, 1);
	assert_int_equal(s->monitor_updates, 2);
	assert_int_equal(s->latency[CENSUS_REQ_CREATE_CHAN].count, 1);
	assert_int_equal(s->latency[CENSUS_REQ_READ_NOTIFY].count, 1);
	assert_int_equal(s->latency[CENSUS_REQ_WRITE_NOTIFY].count, 1);
	/* 4 ms: in the 0.005 bucket (index 8). */
	assert_int_equal(s->latency[CENSUS_REQ_WRITE_NOTIFY].buckets[8], 1);
	/* 1 ms (READ_NOTIFY): in the 0.001 bucket (index 6); 2 ms
	 * (CREATE_CHAN): 0.0025 (index 7). */
	assert_int_equal(s->latency[CENSUS_REQ_READ_NOTIFY].buckets[6], 1);
	assert_int_equal(s->latency[CENSUS_REQ_CREATE_CHAN].buckets[7], 1);
	assert_int_equal(c.msgs[CA_PROTO_EVENT_ADD][1], 3);
	circ(&c, SEC + 20 * MS, RSP, CA_PROTO_CLEAR_CHANNEL, 0, 0, 77, 1);
	assert_int_equal(s->channels, 0);
	/* A second clear (duplicate) does not go below zero. */
	circ(&c, SEC + 21 * MS, RSP, CA_PROTO_CLEAR_CHANNEL, 0, 0, 77, 1);
	assert_int_equal(s->channels, 0);
	circ(&c, SEC + 30 * MS, RSP, CA_PROTO_CREATE_CHAN, 6, 1, 2, 78);
	census_circuit_close(&c, &CIRC);
	assert_int_equal(s->circuits, 0);
	assert_int_equal(s->channels, 0);
	census_free(&c);
}

/* A beacon from an invented server (issue 14: 47 forged datagrams once
 * filled the table for good). */
static void forged_beacon(struct census *c, uint64_t ts, uint32_t ip)
{
	struct flow_key k = { ip, CLI, 49000, 5065 };

	feed(c, &k, ts, ip, 49000, CLI, 5065, NULL,
	     msg(CA_PROTO_RSRV_IS_UP, REQ, false, 13, 5064, 0, 0));
}

/* Forged servers cannot hold the server table: when it is full the one
 * heard from least recently goes, never one with an open circuit; a real
 * server seen after the flood gets its entry; the silent ones expire. */
static void test_server_table_not_held_by_forgeries(void **state)
{
	struct census c;
	struct census_server *s;
	unsigned i;

	(void)state;
	census_init(&c, 100);
	circ(&c, SEC, REQ, CA_PROTO_CREATE_CHAN, 0, 13, 1, 13);  /* IOC:5064, a circuit */
	for (i = 0; i < 10000; i++)
		forged_beacon(&c, 2 * SEC + i * MS, 0x0B000000 + i);
	assert_true(hmap_count(&c.servers) <= CENSUS_SERVERS_MAX);
	assert_int_equal(c.servers_untracked, 0);
	assert_int_equal(c.servers_forgotten, 10001 - CENSUS_SERVERS_MAX);
	s = census_server_get(&c, IOC, 5064);
	assert_non_null(s);
	assert_int_equal(s->circuits, 1);
	/* The newest forgeries are there, the oldest gone. */
	assert_non_null(census_server_get(&c, 0x0B000000 + 9999, 5064));
	assert_null(census_server_get(&c, 0x0B000000, 5064));
	/* A real server that starts beaconing after the flood. */
	forged_beacon(&c, 20 * SEC, 0x0A0000FE);
	assert_non_null(census_server_get(&c, 0x0A0000FE, 5064));
	/* Five minutes of silence: only the server with a circuit stays. */
	census_tick(&c, 20 * SEC + CENSUS_SERVER_IDLE_NS + 2 * SEC);
	assert_int_equal(hmap_count(&c.servers), 1);
	assert_non_null(census_server_get(&c, IOC, 5064));
	/* Its circuit closes: it goes too once silent long enough. */
	census_circuit_close(&c, &CIRC);
	census_tick(&c, 30 * SEC + 2 * CENSUS_SERVER_IDLE_NS);
	assert_int_equal(hmap_count(&c.servers), 0);
	census_free(&c);
}

static void test_unanswered_request_forgotten(void **state)
{
	struct census c;

	(void)state;
	census_init(&c, 100);
	circ(&c, SEC, REQ, CA_PROTO_READ_NOTIFY, 6, 1, 77, 5);
	assert_int_equal(hmap_count(&c.pending[CENSUS_REQ_READ_NOTIFY]), 1);
	census_tick(&c, 30 * SEC);
	assert_int_equal(hmap_count(&c.pending[CENSUS_REQ_READ_NOTIFY]), 1);
	census_tick(&c, 62 * SEC);
	assert_int_equal(hmap_count(&c.pending[CENSUS_REQ_READ_NOTIFY]), 0);
	census_free(&c);
}

static void test_other_commands_counted_together(void **state)
{
	struct census c;

	(void)state;
	census_init(&c, 100);
	circ(&c, SEC, REQ, 200, 0, 0, 0, 0);
	circ(&c, SEC, REQ, 29, 0, 0, 0, 0);
	assert_int_equal(c.msgs[CENSUS_CMDS - 1][0], 2);
	census_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_beacon_boot_is_one_appearance),
		cmocka_unit_test(test_beacon_restart_counts_once),
		cmocka_unit_test(test_beacon_restart_soon_after_boot),
		cmocka_unit_test(test_beacon_duplicates_ignored),
		cmocka_unit_test(test_beacon_missed_and_gap),
		cmocka_unit_test(test_beacon_repeater_copies_not_counted),
		cmocka_unit_test(test_search_answered_and_latency),
		cmocka_unit_test(test_search_unanswered_after_timeout),
		cmocka_unit_test(test_search_same_cid_other_client),
		cmocka_unit_test(test_pv_table_bounded_keeps_frequent),
		cmocka_unit_test(test_pv_limit_zero),
		cmocka_unit_test(test_circuit_channels_updates_latency),
		cmocka_unit_test(test_unanswered_request_forgotten),
		cmocka_unit_test(test_server_table_not_held_by_forgeries),
		cmocka_unit_test(test_other_commands_counted_together),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
