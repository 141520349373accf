/* The formatters: one line per message whatever bytes a PV name holds
 * (found by fuzzing: a CR/LF in a name split --format lines). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dbr.h"
#include "output.h"

static void format_with_pv(enum out_style style, const char *tmpl, const char *pv,
			   size_t pv_len, struct sbuf *sb)
{
	struct output o;
	struct msg_ctx c;
	struct ca_msg m;

	output_init(&o);
	o.style = style;
	o.tmpl = tmpl;
	memset(&c, 0, sizeof(c));
	c.pv = pv;
	c.pv_len = pv_len;
	c.tcp = true;
	memset(&m, 0, sizeof(m));
	m.h.cmd = CA_PROTO_CLEAR_CHANNEL;
	m.h.hdr_len = CA_HDR_LEN;
	m.dir = CA_DIR_REQUEST;
	m.tcp = true;
	output_format(&o, sb, &c, &m);
}

/* A message over TCP with a payload, for the value formatters. */
static struct ca_msg value_msg(unsigned cmd, enum ca_dir dir, unsigned dtype,
			       uint32_t count, const uint8_t *payload, size_t len)
{
	struct ca_msg m;

	memset(&m, 0, sizeof(m));
	m.h.cmd = (uint16_t)cmd;
	m.h.hdr_len = CA_HDR_LEN;
	m.h.dtype = (uint16_t)dtype;
	m.h.count = count;
	m.h.size = (uint32_t)len;
	m.dir = dir;
	m.tcp = true;
	m.payload = payload;
	m.payload_len = len;
	return m;
}

static void test_template_escapes_name(void **state)
{
	static const char pv[] = "A\r\nB\\C\x01\xff";
	struct sbuf sb;

	(void)state;
	sbuf_init(&sb);
	format_with_pv(OUT_TEXT, "{pv}|{command}", pv, sizeof(pv) - 1, &sb);
	assert_string_equal(sbuf_str(&sb), "A\\x0d\\x0aB\\\\C\\x01\\xff|ClearChannelRequest");
	sbuf_free(&sb);
}

static void test_no_line_breaks_in_any_style(void **state)
{
	static const char pv[] = "X\nY\rZ";
	enum out_style styles[] = { OUT_TEXT, OUT_JSON };
	struct sbuf sb;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		sbuf_init(&sb);
		format_with_pv(styles[i], NULL, pv, sizeof(pv) - 1, &sb);
		assert_null(strpbrk(sbuf_str(&sb), "\r\n"));
		assert_non_null(strstr(sbuf_str(&sb), "X\\nY\\rZ"));
		sbuf_free(&sb);
	}
}

/* A channel whose GR/CTRL_ENUM reply named its states: its TIME_ENUM
 * updates (what camonitor and pyepics monitors get) show the names; an
 * index past them is None; no names, no field. */
static void test_enum_values_named(void **state)
{
	uint8_t payload[16] = { 0 };   /* status, severity, stamp, pad, value */
	struct dbr_enum_names names = { .n = 3, .s = { "Zero", "One", "Two" } };
	enum out_style styles[] = { OUT_TEXT, OUT_JSON };
	const char *want[] = { "data_names=['Two']", "\"data_names\":[\"Two\"]" };
	struct output o;
	struct msg_ctx c;
	struct ca_msg m;
	struct sbuf sb;
	size_t i;

	(void)state;
	/* DBR_TIME_ENUM; the value, big-endian u16 at offset 14. */
	m = value_msg(CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 17, 1, payload, sizeof(payload));
	payload[15] = 2;
	for (i = 0; i < 2; i++) {
		output_init(&o);
		o.style = styles[i];
		memset(&c, 0, sizeof(c));
		c.pv = "T:mbbi";
		c.pv_len = 6;
		c.tcp = true;
		c.enums = &names;
		sbuf_init(&sb);
		output_format(&o, &sb, &c, &m);
		assert_non_null(strstr(sbuf_str(&sb), want[i]));
		sbuf_free(&sb);
	}
	payload[15] = 7;
	sbuf_init(&sb);
	o.style = OUT_TEXT;
	output_format(&o, &sb, &c, &m);
	assert_non_null(strstr(sbuf_str(&sb), "data_names=[None]"));
	sbuf_free(&sb);
	c.enums = NULL;
	sbuf_init(&sb);
	output_format(&o, &sb, &c, &m);
	assert_null(strstr(sbuf_str(&sb), "data_names"));
	sbuf_free(&sb);
}

/* A CHAR array holding text reads as text too (caget -S); bytes that are
 * not text, or a single character, do not. */
static void test_char_text(void **state)
{
	uint8_t text[16] = "catrace", bin[16] = { 1, 2, 3, 200 }, one[16] = "x";
	const uint8_t *payloads[] = { text, bin, one };
	const bool want[] = { true, false, false };
	struct output o;
	struct msg_ctx c;
	struct ca_msg m;
	struct sbuf sb;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		m = value_msg(CA_PROTO_WRITE, CA_DIR_REQUEST, 4 /* DBR_CHAR */, 16,
			      payloads[i], 16);
		output_init(&o);
		memset(&c, 0, sizeof(c));
		c.tcp = true;
		sbuf_init(&sb);
		output_format(&o, &sb, &c, &m);
		if (want[i])
			assert_non_null(strstr(sbuf_str(&sb), "data_text='catrace'"));
		else
			assert_null(strstr(sbuf_str(&sb), "data_text"));
		sbuf_free(&sb);
	}
}

/* A subscription's mask by name, next to the number. */
static void test_event_mask_names(void **state)
{
	static const struct { unsigned mask; const char *want; } cases[] = {
		{ 5, "mask=5, mask_names=VALUE|ALARM)" },
		{ 0, "mask=0, mask_names=NONE)" },
		{ 0x1a, "mask=26, mask_names=LOG|PROPERTY|0x10)" },
	};
	uint8_t payload[16];
	struct output o;
	struct msg_ctx c;
	struct ca_msg m;
	struct sbuf sb;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		memset(payload, 0, sizeof(payload));
		payload[12] = (uint8_t)(cases[i].mask >> 8);
		payload[13] = (uint8_t)cases[i].mask;
		m = value_msg(CA_PROTO_EVENT_ADD, CA_DIR_REQUEST, 0, 0, payload, 16);
		output_init(&o);
		memset(&c, 0, sizeof(c));
		c.tcp = true;
		sbuf_init(&sb);
		output_format(&o, &sb, &c, &m);
		assert_non_null(strstr(sbuf_str(&sb), cases[i].want));
		sbuf_free(&sb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_escapes_name),
		cmocka_unit_test(test_no_line_breaks_in_any_style),
		cmocka_unit_test(test_enum_values_named),
		cmocka_unit_test(test_char_text),
		cmocka_unit_test(test_event_mask_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
