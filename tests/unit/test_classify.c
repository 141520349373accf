/* Unit tests for user/classify.c's learned servers (issue 14, finding 2):
 * a server learned from an announcement is pending, and only its flows
 * that open like a CA circuit are CA, each judged on its own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>

#include "classify.h"

#define SRV 0x0A090001u
#define CLI 0x0A090002u
#define SSH 22

static const uint8_t version_req[16] = { 0, 0, 0, 0, 0, 0, 0, 13 };
static const uint8_t version_rsp[16] = { 0, 0, 0, 0, 0, 0, 0, 13 };
static const uint8_t ssh_banner[] = "SSH-2.0-OpenSSH_9.2p1\r\n";

/* A TCP segment; `to_server` picks the direction. */
static struct pkt seg(uint16_t cport, uint16_t sport, bool to_server, uint8_t flags,
		      uint32_t seq, const uint8_t *d, uint32_t n)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.proto = IPPROTO_TCP;
	p.src_ip = to_server ? CLI : SRV;
	p.dst_ip = to_server ? SRV : CLI;
	p.sport = to_server ? cport : sport;
	p.dport = to_server ? sport : cport;
	p.tcp_flags = flags;
	p.seq = seq;
	p.payload = d;
	p.payload_len = p.payload_wire_len = n;
	return p;
}

/* classify_packet, then the flow's verdict when it is a pending one's. */
static enum classify_flow_verdict judge(struct classify *c, const struct pkt *p,
					struct classify_opening *o)
{
	struct classified cl;

	if (!classify_packet(c, p, &cl))
		return CLASSIFY_FLOW_NOT_CA;
	if (!cl.pending)
		return CLASSIFY_FLOW_CA;
	return classify_judge_flow(c, p, &cl, o);
}

/* SYN and SYN-ACK of a flow from `cport`: client ISN 100, server 900. */
static void open_flow(struct classify *c, uint16_t cport)
{
	struct classify_opening o;
	struct pkt p;

	p = seg(cport, SSH, true, TCPF_SYN, 100, NULL, 0);
	assert_int_equal(judge(c, &p, &o), CLASSIFY_FLOW_OPENING);
	p = seg(cport, SSH, false, TCPF_SYN | TCPF_ACK, 900, NULL, 0);
	assert_int_equal(judge(c, &p, &o), CLASSIFY_FLOW_OPENING);
}

static void test_announced_server_is_pending(void **state)
{
	struct classify c;
	struct classified cl;
	struct pkt p = seg(40000, SSH, true, TCPF_ACK, 101, NULL, 0);

	(void)state;
	classify_init(&c, 5064, 5065);
	classify_learn_server(&c, SRV, SSH);
	assert_true(classify_packet(&c, &p, &cl));
	assert_true(cl.pending);
	/* Found by content (or confirmed): every flow is CA. */
	classify_confirm_server(&c, SRV, SSH);
	assert_true(classify_packet(&c, &p, &cl));
	assert_false(cl.pending);
	classify_free(&c);
}

static void test_named_port_is_not_pending(void **state)
{
	struct classify c;
	struct classified cl;
	struct pkt p = seg(40000, SSH, true, TCPF_ACK, 101, NULL, 0);

	(void)state;
	classify_init(&c, 5064, 5065);
	classify_learn_server(&c, SRV, SSH);
	assert_true(classify_add_port(&c, SSH));
	assert_true(classify_packet(&c, &p, &cl));
	assert_false(cl.pending);
	classify_free(&c);
}

static void test_ssh_opening_refused(void **state)
{
	struct classify c;
	struct classify_opening o;
	struct pkt p;

	(void)state;
	classify_init(&c, 5064, 5065);
	classify_learn_server(&c, SRV, SSH);
	open_flow(&c, 40001);
	p = seg(40001, SSH, false, TCPF_ACK, 901, ssh_banner, sizeof(ssh_banner) - 1);
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	assert_int_equal(c.learned_refused, 1);
	/* The rest of the flow, even bytes that read as CA, stays out. */
	p = seg(40001, SSH, true, TCPF_ACK, 101, version_req, sizeof(version_req));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	assert_int_equal(c.learned_refused, 1);
	assert_int_equal(c.learned_admitted, 0);
	classify_free(&c);
}

static void test_version_opening_admitted(void **state)
{
	struct classify c;
	struct classify_opening o;
	struct classified cl;
	struct pkt p;

	(void)state;
	classify_init(&c, 5064, 5065);
	classify_learn_server(&c, SRV, SSH);
	open_flow(&c, 40002);
	p = seg(40002, SSH, true, TCPF_ACK, 101, version_req, sizeof(version_req));
	memset(&o, 0, sizeof(o));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_ADMITTED);
	assert_int_equal(o.cli_isn, 100);
	assert_int_equal(o.srv_isn, 900);
	assert_true(o.srv_seen);
	/* Later segments, either way, whatever they hold. */
	p = seg(40002, SSH, false, TCPF_ACK, 901, ssh_banner, sizeof(ssh_banner) - 1);
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_CA);
	assert_int_equal(c.learned_admitted, 1);
	/* Closed, it is forgotten: a later flow on the same ports is judged. */
	assert_true(classify_packet(&c, &p, &cl));
	classify_forget_flow(&c, &cl.key);
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	classify_free(&c);
}

/* An attacker's own CA-like flow to the port admits that flow only. */
static void test_judged_per_flow(void **state)
{
	struct classify c;
	struct classify_opening o;
	struct pkt p;

	(void)state;
	classify_init(&c, 5064, 5065);
	classify_learn_server(&c, SRV, SSH);
	open_flow(&c, 40003);
	open_flow(&c, 40004);
	p = seg(40003, SSH, true, TCPF_ACK, 101, version_req, sizeof(version_req));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_ADMITTED);
	p = seg(40004, SSH, true, TCPF_ACK, 101, ssh_banner, sizeof(ssh_banner) - 1);
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	p = seg(40005, SSH, true, TCPF_ACK, 101, version_req, sizeof(version_req));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);  /* not seen opening */
	assert_int_equal(c.learned_admitted, 1);
	assert_int_equal(c.learned_refused, 1);
	classify_free(&c);
}

/* The first payload must be at the stream's start: VERSION later in a
 * stream proves nothing.  Offline, a payload ahead of the start (a
 * reordered capture) waits for the first one; that one decides. */
static void test_version_not_at_start_refused(void **state)
{
	struct classify c;
	struct classify_opening o;
	struct pkt p;
	unsigned i;

	(void)state;
	classify_init(&c, 5064, 5065);
	classify_learn_server(&c, SRV, SSH);
	open_flow(&c, 40006);
	p = seg(40006, SSH, true, TCPF_ACK, 101 + 24, version_req, sizeof(version_req));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_EARLY);
	assert_int_equal(c.learned_refused, 0);
	/* The first payload comes: not CA's VERSION, so refused. */
	p = seg(40006, SSH, true, TCPF_ACK, 101, ssh_banner, sizeof(ssh_banner) - 1);
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	assert_int_equal(c.learned_refused, 1);

	/* Early payloads wait only so long: past the bound, refused. */
	open_flow(&c, 40007);
	p = seg(40007, SSH, true, TCPF_ACK, 101 + 24, version_req, sizeof(version_req));
	for (i = 0; i < CLASSIFY_EARLY_MAX; i++)
		assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_EARLY);
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	assert_int_equal(c.learned_refused, 2);
	/* Far ahead of the start is no reordering: refused at once. */
	open_flow(&c, 40008);
	p = seg(40008, SSH, true, TCPF_ACK, 101 + (1u << 20), version_req, sizeof(version_req));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	classify_free(&c);
}

/* Offline, a flow whose second segment came first: it waits, the first
 * (VERSION at the start) admits the flow. */
static void test_early_payload_then_version_admitted(void **state)
{
	struct classify c;
	struct classify_opening o;
	struct pkt p;

	(void)state;
	classify_init(&c, 5064, 5065);
	classify_learn_server(&c, SRV, SSH);
	open_flow(&c, 40009);
	p = seg(40009, SSH, true, TCPF_ACK, 101 + 16, version_req, sizeof(version_req));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_EARLY);
	p = seg(40009, SSH, true, TCPF_ACK, 101, version_req, sizeof(version_req));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_ADMITTED);
	assert_int_equal(c.learned_admitted, 1);
	classify_free(&c);
}

/* rsrv may send its VERSION before the client's: that opens it too, but
 * only when its SYN-ACK says where its stream starts. */
static void test_server_version_first(void **state)
{
	struct classify c;
	struct classify_opening o;
	struct pkt p;

	(void)state;
	classify_init(&c, 5064, 5065);
	classify_learn_server(&c, SRV, SSH);
	open_flow(&c, 40007);
	p = seg(40007, SSH, false, TCPF_ACK, 901, version_rsp, sizeof(version_rsp));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_ADMITTED);
	p = seg(40008, SSH, true, TCPF_SYN, 100, NULL, 0);
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_OPENING);
	p = seg(40008, SSH, false, TCPF_ACK, 901, version_rsp, sizeof(version_rsp));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	classify_free(&c);
}

/* A flow that ends before any payload leaves nothing behind. */
static void test_empty_flow_forgotten(void **state)
{
	struct classify c;
	struct classify_opening o;
	struct pkt p;

	(void)state;
	classify_init(&c, 5064, 5065);
	classify_learn_server(&c, SRV, SSH);
	open_flow(&c, 40009);
	assert_int_equal(hmap_count(&c.opening), 1);
	p = seg(40009, SSH, true, TCPF_FIN | TCPF_ACK, 101, NULL, 0);
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	assert_int_equal(hmap_count(&c.opening), 0);
	assert_int_equal(c.learned_refused, 0);
	classify_free(&c);
}

#define SEC 1000000000ull

/* Offline, as in the kernel: a pending server nothing refreshed for the
 * TTL (the capture's time) is forgotten; an announcement or an admitted
 * flow's packets refresh it. */
static void test_pending_server_expires(void **state)
{
	struct classify c;
	struct classify_opening o;
	struct pkt p;

	(void)state;
	classify_init(&c, 5064, 5065);
	c.now_ns = 1000 * SEC;
	classify_learn_server(&c, SRV, SSH);
	c.now_ns += 50 * SEC;
	classify_learn_server(&c, SRV, SSH);   /* announced again */
	c.now_ns += 50 * SEC;
	open_flow(&c, 40010);                  /* 50 s after: still known */
	p = seg(40010, SSH, true, TCPF_ACK, 101, version_req, sizeof(version_req));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_ADMITTED);
	c.now_ns += 50 * SEC;
	p = seg(40010, SSH, true, TCPF_ACK, 117, version_req, sizeof(version_req));
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_CA);   /* refreshes */
	c.now_ns += 61 * SEC;
	p = seg(40011, SSH, true, TCPF_SYN, 100, NULL, 0);
	assert_int_equal(judge(&c, &p, &o), CLASSIFY_FLOW_NOT_CA);
	assert_int_equal(c.learned_expired, 1);
	assert_false(classify_is_server(&c, SRV, SSH));
	classify_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_announced_server_is_pending),
		cmocka_unit_test(test_named_port_is_not_pending),
		cmocka_unit_test(test_ssh_opening_refused),
		cmocka_unit_test(test_version_opening_admitted),
		cmocka_unit_test(test_judged_per_flow),
		cmocka_unit_test(test_version_not_at_start_refused),
		cmocka_unit_test(test_early_payload_then_version_admitted),
		cmocka_unit_test(test_server_version_first),
		cmocka_unit_test(test_empty_flow_forgotten),
		cmocka_unit_test(test_pending_server_expires),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
