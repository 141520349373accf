/* Unit tests for user/top.c: rates over the last seconds fall to 0 when a
 * server goes quiet, every row says when it was last heard, and clients
 * are sockets with their user and process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ca_proto.h"
#include "census.h"
#include "procattr.h"
#include "top.h"
#include "track.h"

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

static const uint32_t IOC = 0x0A000001, CLI = 0x0A000002;
static const struct flow_key CIRC = { 0x0A000002, 0x0A000001, 40000, 5064 };

static void feed(struct census *c, uint64_t ts, unsigned cmd, enum ca_dir dir,
		 const struct track_client *who, const struct proc_owner *proc)
{
	struct msg_ctx mc;
	struct ca_msg m;

	memset(&mc, 0, sizeof(mc));
	memset(&m, 0, sizeof(m));
	m.h.cmd = (uint16_t)cmd;
	m.h.dtype = 6;
	m.h.count = 1;
	m.h.size = cmd == CA_PROTO_EVENT_ADD && dir == CA_DIR_RESPONSE ? 8 : 0;
	m.h.hdr_len = 16;
	m.dir = dir;
	m.tcp = true;
	mc.ts_ns = ts;
	mc.tcp = true;
	mc.src_ip = dir == CA_DIR_REQUEST ? CLI : IOC;
	mc.sport = dir == CA_DIR_REQUEST ? 40000 : 5064;
	mc.dst_ip = dir == CA_DIR_REQUEST ? IOC : CLI;
	mc.dport = dir == CA_DIR_REQUEST ? 5064 : 40000;
	mc.pv = "T:ai";
	mc.pv_len = 4;
	mc.who = who;
	mc.proc_client = proc;
	census_msg(c, &CIRC, &mc, &m);
}

/* The line of the table that names `what`. */
static const char *row(const char *text, const char *what, char *buf, size_t n)
{
	const char *at = strstr(text, what), *start, *end;

	if (!at)
		return "";
	for (start = at; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(at, '\n');
	if (!end)
		end = at + strlen(at);
	snprintf(buf, n, "%.*s", (int)(end - start), start);
	return buf;
}

static void test_rates_fall_to_zero_when_quiet(void **state)
{
	struct census c;
	struct top_view v;
	struct sbuf sb;
	struct track_client who;
	struct proc_owner proc = { 4321, "camonitor" };
	char line[256];
	unsigned i;

	(void)state;
	memset(&who, 0, sizeof(who));
	strcpy(who.user, "alice");
	who.user_len = 5;
	who.has_user = true;
	census_init(&c, 100);
	c.follow_activity = true;
	for (i = 0; i < 200; i++)      /* 20 updates/s for 10 s */
		feed(&c, T0 + i * (SEC / 20), CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, NULL, NULL);
	feed(&c, T0 + 5 * SEC, CA_PROTO_EVENT_ADD, CA_DIR_REQUEST, &who, &proc);
	/* The window is seconds 1..10: 180 updates in 9 s. */
	census_tick(&c, T0 + 10 * SEC);
	memset(&v, 0, sizeof(v));
	v.census = &c;
	v.messages = 201;
	v.rows = 10;
	v.source = "test";
	v.sort = TOP_SORT_UPDATES;
	sbuf_init(&sb);
	top_render(&sb, &v);
	assert_string_equal(row(sbuf_str(&sb), "  T:ai", line, sizeof(line)),
			    "       20.00       0.00       0.00       0.00     0s  T:ai");
	assert_string_equal(row(sbuf_str(&sb), "10.0.0.2:40000", line, sizeof(line)),
			    "        0.11       0.00      20.00     0s  10.0.0.2:40000        tcp  alice  "
			    "      camonitor[4321]");
	/* The IOC dies: 30 s of nothing (the live loop's clock ticks). */
	census_tick(&c, T0 + 40 * SEC);
	sbuf_reset(&sb);
	top_render(&sb, &v);
	assert_string_equal(row(sbuf_str(&sb), "  T:ai", line, sizeof(line)),
			    "        0.00       0.00       0.00       0.00    30s  T:ai");
	assert_non_null(strstr(row(sbuf_str(&sb), "10.0.0.1:5064", line, sizeof(line)),
			       "  0.00 "));
	assert_string_equal(row(sbuf_str(&sb), "10.0.0.2:40000", line, sizeof(line)),
			    "        0.00       0.00       0.00    30s  10.0.0.2:40000        tcp  alice  "
			    "      camonitor[4321]");
	/* Since the start, the same PV keeps its average. */
	assert_true(top_key(&v, 'a'));
	sbuf_reset(&sb);
	top_render(&sb, &v);
	assert_non_null(strstr(sbuf_str(&sb), "rates since the start"));
	assert_string_equal(row(sbuf_str(&sb), "  T:ai", line, sizeof(line)),
			    "        5.00       0.00       0.00       0.00    30s  T:ai");
	assert_false(top_key(&v, 'x'));
	sbuf_free(&sb);
	census_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_fall_to_zero_when_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
