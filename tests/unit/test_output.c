/* The formatters: one line per message whatever bytes a PV name holds
 * (found by fuzzing: a CR/LF in a name split --format lines). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_escapes_name),
		cmocka_unit_test(test_no_line_breaks_in_any_style),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
