/* Unit tests for user/endpoints.c: catrace top's clients, one per
 * socket, bounded whatever a churn of short-lived clients does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "endpoints.h"

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

static struct endpoint_seen req(uint16_t port, bool tcp, uint64_t ts)
{
	struct endpoint_seen s;

	memset(&s, 0, sizeof(s));
	s.ip = 0x0A000002;
	s.port = port;
	s.tcp = tcp;
	s.ts_ns = ts;
	return s;
}

static int by_port(const void *a, const void *b)
{
	const struct endpoint *x = *(const struct endpoint *const *)a;
	const struct endpoint *y = *(const struct endpoint *const *)b;

	return x->port - y->port;
}

static void test_one_entry_per_socket_with_names(void **state)
{
	struct endpoints e;
	struct endpoint_seen s = req(40000, true, T0);
	const struct endpoint **a;
	size_t n;

	(void)state;
	endpoints_init(&e);
	assert_true(endpoints_seen(&e, &s));
	s.user = "operator-with-a-name-longer-than-the-column";
	s.user_len = strlen(s.user);
	s.pid = 4321;
	s.comm = "camonitor";
	s.ts_ns = T0 + SEC;
	assert_true(endpoints_seen(&e, &s));
	s = req(40000, false, T0 + 2 * SEC);   /* same port, UDP: another socket */
	s.search = true;
	assert_true(endpoints_seen(&e, &s));
	a = endpoints_sorted(&e, &n, by_port);
	assert_int_equal(n, 2);
	{
		const struct endpoint *tcp = a[0]->tcp ? a[0] : a[1];
		const struct endpoint *udp = a[0]->tcp ? a[1] : a[0];

		assert_int_equal(tcp->requests, 2);
		assert_int_equal(tcp->searches, 0);
		assert_int_equal(tcp->last_ns, T0 + SEC);
		assert_int_equal(strlen(tcp->user), ENDPOINT_USER_MAX);
		assert_int_equal(tcp->pid, 4321);
		assert_string_equal(tcp->comm, "camonitor");
		assert_int_equal(udp->searches, 1);
		assert_string_equal(udp->user, "");
		assert_int_equal(window_count(&udp->win, T0 + 2 * SEC, ENDPOINT_LANE_SEARCHES), 1);
	}
	free(a);
	endpoints_free(&e);
}

static void test_idle_endpoints_forgotten(void **state)
{
	struct endpoints e;
	struct endpoint_seen s;

	(void)state;
	endpoints_init(&e);
	s = req(40000, true, T0);
	endpoints_seen(&e, &s);
	s = req(40001, true, T0 + 100 * SEC);
	endpoints_seen(&e, &s);
	endpoints_expire(&e, T0 + 100 * SEC + ENDPOINTS_IDLE_NS - SEC);
	assert_int_equal(hmap_count(&e.map), 1);
	assert_int_equal(e.forgotten, 1);
	endpoints_free(&e);
}

/* caget in a loop: a new socket every time.  The table stays bounded,
 * the newest stay, and a busy old client is not pushed out by them. */
static void test_churn_stays_bounded(void **state)
{
	struct endpoints e;
	struct endpoint_seen s;
	unsigned i;

	(void)state;
	endpoints_init(&e);
	for (i = 0; i < 5 * ENDPOINTS_MAX; i++) {
		s = req((uint16_t)(1024 + i % 60000), false, T0 + i * (SEC / 1000));
		s.ip = 0x0A000000 + i / 60000 + 3;
		assert_true(endpoints_seen(&e, &s));
		/* The monitor client speaks now and then. */
		if (i % 100 == 0) {
			s = req(5000, true, T0 + i * (SEC / 1000));
			assert_true(endpoints_seen(&e, &s));
		}
		assert_true(hmap_count(&e.map) <= ENDPOINTS_MAX);
	}
	s = req(5000, true, 0);
	{
		struct endpoint_key { uint32_t ip; uint16_t port; uint8_t tcp, pad; } k =
			{ 0x0A000002, 5000, 1, 0 };
		const struct endpoint *mon = hmap_get(&e.map, &k);

		assert_non_null(mon);
		assert_int_equal(mon->requests, (5 * ENDPOINTS_MAX + 99) / 100);
	}
	assert_true(e.forgotten >= 4 * ENDPOINTS_MAX);
	endpoints_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_entry_per_socket_with_names),
		cmocka_unit_test(test_idle_endpoints_forgotten),
		cmocka_unit_test(test_churn_stays_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
