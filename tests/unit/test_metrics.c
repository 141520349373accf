/* Unit tests for user/metrics.c: the exposition's text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "census.h"
#include "metrics.h"

static void test_label_escapes(void **state)
{
	struct sbuf sb;
	const char in[] = "a\\b\"c\nd\x01\xc3\xa9";

	(void)state;
	sbuf_init(&sb);
	metrics_put_label_value(&sb, in, sizeof(in) - 1);
	/* Backslash, quote and newline escaped; other bytes as a visible
	 * (escaped) \xNN, so distinct names stay distinct. */
	assert_string_equal(sbuf_str(&sb), "a\\\\b\\\"c\\nd\\\\x01\\\\xc3\\\\xa9");
	sbuf_free(&sb);
}

static void test_histogram_cumulative_and_families(void **state)
{
	struct census c;
	struct msg_ctx mc;
	struct ca_msg m;
	struct flow_key k = { 0x0A000002, 0x0A000001, 40000, 5064 };
	struct metrics_input in;
	struct sbuf sb;
	const char *s;
	unsigned i;

	(void)state;
	census_init(&c, 10);
	memset(&in, 0, sizeof(in));
	/* Three reads: 0.2 ms, 3 ms, 20 s (beyond the last bucket). */
	for (i = 0; i < 3; i++) {
		static const uint64_t lat[3] = { 200000, 3000000, 20000000000ull };

		memset(&mc, 0, sizeof(mc));
		memset(&m, 0, sizeof(m));
		m.h.cmd = 15;
		m.h.hdr_len = 16;
		m.tcp = mc.tcp = true;
		m.dir = CA_DIR_REQUEST;
		m.h.p2 = i;
		mc.ts_ns = 1000000000ull * (i + 1) * 100;
		mc.src_ip = k.cli_ip, mc.sport = k.cli_port, mc.dst_ip = k.srv_ip, mc.dport = k.srv_port;
		census_msg(&c, &k, &mc, &m);
		m.dir = CA_DIR_RESPONSE;
		mc.ts_ns += lat[i];
		mc.src_ip = k.srv_ip, mc.sport = k.srv_port, mc.dst_ip = k.cli_ip, mc.dport = k.cli_port;
		census_msg(&c, &k, &mc, &m);
	}
	in.iface = "eth0";
	in.census = &c;
	sbuf_init(&sb);
	metrics_render(&sb, &in);
	s = sbuf_str(&sb);
	assert_non_null(strstr(s, "# TYPE catrace_request_duration_seconds histogram\n"));
	assert_non_null(strstr(s, "catrace_request_duration_seconds_bucket{command=\"read_notify\","
			       "server=\"10.0.0.1:5064\",le=\"0.00025\"} 1\n"));
	assert_non_null(strstr(s, "catrace_request_duration_seconds_bucket{command=\"read_notify\","
			       "server=\"10.0.0.1:5064\",le=\"0.005\"} 2\n"));
	assert_non_null(strstr(s, "catrace_request_duration_seconds_bucket{command=\"read_notify\","
			       "server=\"10.0.0.1:5064\",le=\"10\"} 2\n"));
	assert_non_null(strstr(s, "catrace_request_duration_seconds_bucket{command=\"read_notify\","
			       "server=\"10.0.0.1:5064\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(s, "catrace_request_duration_seconds_count{command=\"read_notify\","
			       "server=\"10.0.0.1:5064\"} 3\n"));
	assert_non_null(strstr(s, "catrace_messages_total{command=\"READ_NOTIFY\",direction=\"response\","
			       "iface=\"eth0\"} 3\n"));
	/* Every family has its HELP and TYPE, once. */
	assert_null(strstr(strstr(s, "# TYPE catrace_messages_total") + 1, "# TYPE catrace_messages_total"));
	assert_non_null(strstr(s, "# HELP catrace_build_info "));
	sbuf_free(&sb);
	census_free(&c);
}

/* Process attribution's families: present when it runs, absent when off. */
static void test_proc_families(void **state)
{
	struct procattr pa;
	struct metrics_input in;
	struct sbuf sb;
	const char *s;

	(void)state;
	procattr_init(&pa, "/nonexistent", NULL);
	pa.n_pending = 3;
	pa.st.found = 7;
	pa.st.from_kernel = 5;
	pa.st.given_up = 19869;
	pa.st.table_reads = 52;
	pa.st.round_ns = 1500000000ull;
	memset(&in, 0, sizeof(in));
	in.iface = "eth0";
	sbuf_init(&sb);
	metrics_render(&sb, &in);
	assert_null(strstr(sbuf_str(&sb), "catrace_proc_"));
	in.proc = &pa;
	sbuf_reset(&sb);
	metrics_render(&sb, &in);
	s = sbuf_str(&sb);
	assert_non_null(strstr(s, "# TYPE catrace_proc_pending gauge\ncatrace_proc_pending 3\n"));
	assert_non_null(strstr(s, "# TYPE catrace_proc_given_up_total counter\n"
			       "catrace_proc_given_up_total 19869\n"));
	assert_non_null(strstr(s, "\ncatrace_proc_named_total{source=\"kernel\"} 5\n"
			       "catrace_proc_named_total{source=\"proc\"} 2\n"));
	assert_non_null(strstr(s, "\ncatrace_proc_rounds_total 52\n"));
	assert_non_null(strstr(s, "\ncatrace_proc_round_seconds_total 1.5\n"));
	sbuf_free(&sb);
	pa.n_pending = 0;
	procattr_free(&pa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escapes),
		cmocka_unit_test(test_histogram_cumulative_and_families),
		cmocka_unit_test(test_proc_families),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
