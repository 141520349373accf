/* Memory bounds of the channel tracker: a "name" longer than any libca
 * sends is cut to CA_MAX_NAME_LEN, so a flood of huge CREATE_CHAN payloads
 * cannot make each channel cost what its payload does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "track.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_name_is_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
