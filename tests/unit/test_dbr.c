/* Unit tests for user/dbr.c: DBR payload decoding and formatting.
 *
 * Payloads are built byte by byte in wire (big-endian) order, following the
 * db_access.h struct layouts, and every decode runs on a heap copy of exactly
 * len bytes so that AddressSanitizer catches any read past the end.
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

#include "ca_proto.h"
#include "dbr.h"
#include "sbuf.h"
#include "wire.h"

/* Values as IEEE bit patterns (wire_u64, wire_u32), spelled out so that
 * the tests do not depend on the host's float layout. */
#define D_1_5    0x3ff8000000000000ull
#define D_M2_5   0xc004000000000000ull
#define D_9_5    0x4023000000000000ull
#define D_M9_5   0xc023000000000000ull
#define D_8      0x4020000000000000ull
#define D_5      0x4014000000000000ull
#define D_M5     0xc014000000000000ull
#define D_M8     0xc020000000000000ull
#define D_3_25   0x400a000000000000ull
#define F_1_5    0x3fc00000u
#define F_M0_25  0xbe800000u

/* ---- decode harness -------------------------------------------------------- */

/* Decode len bytes of p (copied to an exact-size heap block) and compare. */
static void check_n(enum out_style style, unsigned type, uint32_t count,
		    const struct wire *p, size_t len, size_t max,
		    enum dbr_result want_rc, const char *want)
{
	struct sbuf sb;
	uint8_t *copy;
	enum dbr_result rc;
	char got[4096];
	bool oom;

	assert_true(len <= p->n);
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, p->b, len);
	sbuf_init(&sb);
	rc = dbr_append_value(&sb, style, type, count, copy, len, max);
	oom = sb.oom;
	snprintf(got, sizeof(got), "%s", sbuf_str(&sb));
	/* Free before asserting: a failed assert longjmps past cleanup. */
	sbuf_free(&sb);
	free(copy);
	assert_false(oom);
	assert_string_equal(got, want);
	assert_int_equal(rc, want_rc);
}

static void check(enum out_style style, unsigned type, uint32_t count,
		  const struct wire *p, const char *want)
{
	check_n(style, type, count, p, p->n, 0, DBR_OK, want);
}

/* ---- tables ---------------------------------------------------------------- */

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(dbr_type_name(0), "STRING");
	assert_string_equal(dbr_type_name(6), "DOUBLE");
	assert_string_equal(dbr_type_name(11), "STS_CHAR");
	assert_string_equal(dbr_type_name(20), "TIME_DOUBLE");
	assert_string_equal(dbr_type_name(21), "GR_STRING");
	assert_string_equal(dbr_type_name(31), "CTRL_ENUM");
	assert_string_equal(dbr_type_name(34), "CTRL_DOUBLE");
	assert_string_equal(dbr_type_name(35), "PUT_ACKT");
	assert_string_equal(dbr_type_name(36), "PUT_ACKS");
	assert_string_equal(dbr_type_name(37), "STSACK_STRING");
	assert_string_equal(dbr_type_name(38), "CLASS_NAME");
	assert_null(dbr_type_name(39));
	assert_null(dbr_type_name(0xffffffffu));
}

static void test_sizes(void **state)
{
	/* sizeof(struct dbr_*) from db_access.h, i.e. the size for count 1. */
	static const unsigned struct_size[DBR_LAST_TYPE + 1] = {
		40, 2, 4, 2, 1, 4, 8,
		44, 6, 8, 6, 6, 8, 16,
		52, 16, 16, 16, 16, 16, 24,
		44, 26, 44, 424, 20, 40, 72,
		44, 30, 52, 424, 22, 48, 88,
		2, 2, 48, 40,
	};
	unsigned t;

	(void)state;
	for (t = 0; t <= DBR_LAST_TYPE; t++)
		assert_int_equal(dbr_size_n(t, 1), struct_size[t]);
	assert_int_equal(dbr_elem_size(DBR_STRING), 40);
	assert_int_equal(dbr_elem_size(DBR_CTRL_STRING), 40);
	assert_int_equal(dbr_elem_size(9), 4);		/* STS_FLOAT */
	assert_int_equal(dbr_elem_size(31), 2);		/* CTRL_ENUM */
	assert_int_equal(dbr_elem_size(18), 1);		/* TIME_CHAR */
	assert_int_equal(dbr_elem_size(DBR_PUT_ACKS), 2);
	assert_int_equal(dbr_elem_size(DBR_STSACK_STRING), 40);
	assert_int_equal(dbr_elem_size(DBR_CLASS_NAME), 40);
	assert_int_equal(dbr_elem_size(39), 0);
	assert_int_equal(dbr_value_offset(13), 8);	/* STS_DOUBLE */
	assert_int_equal(dbr_value_offset(18), 15);	/* TIME_CHAR */
	assert_int_equal(dbr_value_offset(24), 422);	/* GR_ENUM */
	assert_int_equal(dbr_value_offset(34), 80);	/* CTRL_DOUBLE */
	assert_int_equal(dbr_value_offset(37), 8);
	assert_int_equal(dbr_value_offset(39), -1);
	assert_int_equal(dbr_size_n(20, 0), 16);
	assert_int_equal(dbr_size_n(20, 1000), 16 + 8000);
	assert_true(dbr_size_n(DBR_DOUBLE, 0xffffffffu) == 0xffffffffull * 8);
	assert_true(dbr_size_n(DBR_STRING, UINT64_MAX) == UINT64_MAX);
	assert_true(dbr_size_n(34, UINT64_MAX / 8) == UINT64_MAX);
	assert_int_equal(dbr_size_n(99, 1), 0);
}

static void test_alarm_names(void **state)
{
	(void)state;
	assert_string_equal(alarm_status_name(0), "NO_ALARM");
	assert_string_equal(alarm_status_name(3), "HIHI");
	assert_string_equal(alarm_status_name(17), "UDF");
	assert_string_equal(alarm_status_name(21), "WRITE_ACCESS");
	assert_null(alarm_status_name(22));
	assert_string_equal(alarm_severity_name(0), "NO_ALARM");
	assert_string_equal(alarm_severity_name(3), "INVALID");
	assert_null(alarm_severity_name(4));
}

/* ---- plain types ----------------------------------------------------------- */

static void test_plain_string(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	/* A 1-element STRING payload cut to 8 bytes: trailing NULs dropped. */
	wire_str(&p, "hello", 8);
	check(OUT_TEXT, DBR_STRING, 1, &p, ", data=['hello']");
	check(OUT_JSON, DBR_STRING, 1, &p, ",\"value\":[\"hello\"]");
	/* Even without any NUL the text stops at the bytes there are. */
	check_n(OUT_TEXT, DBR_STRING, 1, &p, 3, 0, DBR_OK, ", data=['hel']");
}

static void test_plain_string_array(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_str(&p, "first", 40);
	wire_str(&p, "", 40);
	wire_str(&p, "third", 8);
	check(OUT_TEXT, DBR_STRING, 3, &p, ", data=['first', '', 'third']");
	check(OUT_JSON, DBR_STRING, 3, &p, ",\"value\":[\"first\",\"\",\"third\"]");
}

static void test_plain_short(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 0xfffe);	/* -2 */
	wire_u16(&p, 3);
	wire_u16(&p, 0x8000);	/* -32768 */
	wire_u16(&p, 0);	/* padding, beyond count */
	check(OUT_TEXT, DBR_SHORT, 3, &p, ", data=[-2, 3, -32768]");
	check(OUT_JSON, DBR_SHORT, 3, &p, ",\"value\":[-2,3,-32768]");
}

static void test_plain_float(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u32(&p, F_1_5);
	wire_u32(&p, F_M0_25);
	check(OUT_TEXT, DBR_FLOAT, 2, &p, ", data=[1.5, -0.25]");
	check(OUT_JSON, DBR_FLOAT, 2, &p, ",\"value\":[1.5,-0.25]");
}

static void test_plain_enum(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 1);
	wire_fill(&p, 0, 6);
	check(OUT_TEXT, DBR_ENUM, 1, &p, ", data=[1]");
	/* Enum indices are unsigned. */
	p.n = 0;
	wire_u16(&p, 0xffff);
	check(OUT_JSON, DBR_ENUM, 1, &p, ",\"value\":[65535]");
}

static void test_plain_char(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u8(&p, 200);
	wire_u8(&p, 0);
	wire_u8(&p, 255);
	check(OUT_TEXT, DBR_CHAR, 3, &p, ", data=[200, 0, 255]");
	check(OUT_JSON, DBR_CHAR, 3, &p, ",\"value\":[200,0,255]");
}

static void test_plain_long(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u32(&p, (uint32_t)-100000);
	wire_u32(&p, 0x7fffffff);
	wire_u32(&p, 0x80000000u);
	check(OUT_TEXT, DBR_LONG, 3, &p,
	      ", data=[-100000, 2147483647, -2147483648]");
	check(OUT_JSON, DBR_LONG, 3, &p,
	      ",\"value\":[-100000,2147483647,-2147483648]");
}

static void test_plain_double(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u64(&p, D_M2_5);
	wire_u64(&p, 0x7ff8000000000000ull);	/* NaN */
	check(OUT_TEXT, DBR_DOUBLE, 2, &p, ", data=[-2.5, nan]");
	check(OUT_JSON, DBR_DOUBLE, 2, &p, ",\"value\":[-2.5,null]");
}

static void test_max_elements(void **state)
{
	struct wire p = { .n = 0 };
	unsigned i;

	(void)state;
	for (i = 1; i <= 5; i++)
		wire_u32(&p, i);
	check_n(OUT_TEXT, DBR_LONG, 5, &p, p.n, 3, DBR_OK,
		", data=[1, 2, 3, ...]");
	check_n(OUT_JSON, DBR_LONG, 5, &p, p.n, 3, DBR_OK,
		",\"value\":[1,2,3]");
	check_n(OUT_TEXT, DBR_LONG, 5, &p, p.n, 5, DBR_OK,
		", data=[1, 2, 3, 4, 5]");
	check_n(OUT_TEXT, DBR_LONG, 5, &p, p.n, 9, DBR_OK,
		", data=[1, 2, 3, 4, 5]");
}

/* The decoder appends: earlier fields stay, ours follow a separator. */
static void test_appends(void **state)
{
	struct sbuf sb;
	uint8_t one[2] = { 0, 7 };

	(void)state;
	sbuf_init(&sb);
	sbuf_puts(&sb, "READ_NOTIFY 'pv'");
	assert_int_equal(dbr_append_value(&sb, OUT_TEXT, DBR_SHORT, 1, one, 2,
					  0), DBR_OK);
	assert_string_equal(sbuf_str(&sb), "READ_NOTIFY 'pv', data=[7]");
	sbuf_free(&sb);
}

/* ---- STS and TIME ---------------------------------------------------------- */

static void test_sts_double(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 17);	/* UDF */
	wire_u16(&p, 3);	/* INVALID */
	wire_fill(&p, 0xaa, 4);	/* RISC_pad: must be skipped */
	wire_u64(&p, D_1_5);
	check(OUT_TEXT, 13, 1, &p,
	      ", alarm=UDF, severity=INVALID, data=[1.5]");
	check(OUT_JSON, 13, 1, &p,
	      ",\"alarm\":\"UDF\",\"severity\":\"INVALID\",\"value\":[1.5]");
}

static void test_sts_unknown_alarm(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 99);
	wire_u16(&p, 7);
	wire_u16(&p, 0xfffd);	/* STS_SHORT -3 */
	check(OUT_TEXT, 8, 1, &p, ", alarm=99, severity=7, data=[-3]");
	check(OUT_JSON, 8, 1, &p,
	      ",\"alarm\":99,\"severity\":7,\"value\":[-3]");
}

static void test_time_double_epoch(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 0);
	wire_u16(&p, 0);
	wire_u32(&p, 0);	/* secPastEpoch */
	wire_u32(&p, 0);	/* nsec */
	wire_fill(&p, 0xaa, 4);	/* RISC_pad */
	wire_u64(&p, D_1_5);
	check(OUT_TEXT, 20, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, "
	      "stamp='1990-01-01T00:00:00.000000000Z', data=[1.5]");
	check(OUT_JSON, 20, 1, &p,
	      ",\"alarm\":\"NO_ALARM\",\"severity\":\"NO_ALARM\","
	      "\"stamp\":\"1990-01-01T00:00:00.000000000Z\","
	      "\"stamp_unix\":631152000.000000000,\"value\":[1.5]");
}

static void test_time_double(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 4);		/* HIGH */
	wire_u16(&p, 1);		/* MINOR */
	wire_u32(&p, 1164265043);	/* 2026-11-23T06:57:23Z */
	wire_u32(&p, 123456789);
	wire_fill(&p, 0, 4);
	wire_u64(&p, D_3_25);
	wire_u64(&p, D_M2_5);
	check(OUT_TEXT, 20, 2, &p,
	      ", alarm=HIGH, severity=MINOR, "
	      "stamp='2026-11-23T06:57:23.123456789Z', data=[3.25, -2.5]");
	check(OUT_JSON, 20, 2, &p,
	      ",\"alarm\":\"HIGH\",\"severity\":\"MINOR\","
	      "\"stamp\":\"2026-11-23T06:57:23.123456789Z\","
	      "\"stamp_unix\":1795417043.123456789,\"value\":[3.25,-2.5]");
}

/* Leap days, the last representable second, and an nsec out of range. */
static void test_time_stamp_edges(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u32(&p, 0);
	wire_u32(&p, 320716799);	/* 2000-02-29T23:59:59Z */
	wire_u32(&p, 999999999);
	check(OUT_TEXT, DBR_TIME_STRING, 0, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, "
	      "stamp='2000-02-29T23:59:59.999999999Z', data=[]");
	p.n = 4;
	wire_u32(&p, 0xffffffffu);	/* 2126-02-07T06:28:15Z */
	wire_u32(&p, 1500000000);	/* invalid: printed as it is */
	check(OUT_JSON, DBR_TIME_STRING, 0, &p,
	      ",\"alarm\":\"NO_ALARM\",\"severity\":\"NO_ALARM\","
	      "\"stamp\":\"2126-02-07T06:28:15.1500000000Z\","
	      "\"stamp_unix\":4926119295.1500000000,\"value\":[]");
}

static void test_time_string(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 0);
	wire_u16(&p, 0);
	wire_u32(&p, 1);
	wire_u32(&p, 5);
	wire_str(&p, "on", 40);
	check(OUT_TEXT, DBR_TIME_STRING, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, "
	      "stamp='1990-01-01T00:00:01.000000005Z', data=['on']");
}

static void test_time_short(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 0);
	wire_u16(&p, 0);
	wire_u32(&p, 86400 * 31);	/* 1990-02-01 */
	wire_u32(&p, 0);
	wire_u16(&p, 0xaaaa);		/* RISC_pad */
	wire_u16(&p, 0xfffb);		/* -5 */
	wire_u16(&p, 6);
	check(OUT_TEXT, 15, 2, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, "
	      "stamp='1990-02-01T00:00:00.000000000Z', data=[-5, 6]");
}

static void test_time_char(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 7);		/* STATE */
	wire_u16(&p, 2);		/* MAJOR */
	wire_u32(&p, 0);
	wire_u32(&p, 1);
	wire_fill(&p, 0xaa, 3);		/* RISC_pad0 (2) + RISC_pad1 (1) */
	wire_u8(&p, 200);
	wire_u8(&p, 1);
	check(OUT_JSON, 18, 2, &p,
	      ",\"alarm\":\"STATE\",\"severity\":\"MAJOR\","
	      "\"stamp\":\"1990-01-01T00:00:00.000000001Z\","
	      "\"stamp_unix\":631152000.000000001,\"value\":[200,1]");
}

/* ---- GR and CTRL ----------------------------------------------------------- */

/* dbr_gr_double / dbr_ctrl_double up to (not including) the value. */
static void gr_double_meta(struct wire *p, bool ctrl)
{
	wire_u16(p, 0);
	wire_u16(p, 0);
	wire_u16(p, 3);			/* precision */
	wire_u16(p, 0xaaaa);		/* RISC_pad0 */
	wire_str(p, "mm", 8);
	wire_u64(p, D_9_5);		/* upper_disp_limit */
	wire_u64(p, D_M9_5);		/* lower_disp_limit */
	wire_u64(p, D_8);		/* upper_alarm_limit */
	wire_u64(p, D_5);		/* upper_warning_limit */
	wire_u64(p, D_M5);		/* lower_warning_limit */
	wire_u64(p, D_M8);		/* lower_alarm_limit */
	if (ctrl) {
		wire_u64(p, D_9_5);
		wire_u64(p, D_M9_5);
	}
}

static void test_gr_double(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	gr_double_meta(&p, false);
	assert_int_equal(p.n, 64);
	wire_u64(&p, D_1_5);
	check(OUT_TEXT, 27, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, units='mm', precision=3, "
	      "upper_disp_limit=9.5, lower_disp_limit=-9.5, "
	      "upper_alarm_limit=8.0, upper_warning_limit=5.0, "
	      "lower_warning_limit=-5.0, lower_alarm_limit=-8.0, data=[1.5]");
	check(OUT_JSON, 27, 1, &p,
	      ",\"alarm\":\"NO_ALARM\",\"severity\":\"NO_ALARM\","
	      "\"units\":\"mm\",\"precision\":3,"
	      "\"upper_disp_limit\":9.5,\"lower_disp_limit\":-9.5,"
	      "\"upper_alarm_limit\":8.0,\"upper_warning_limit\":5.0,"
	      "\"lower_warning_limit\":-5.0,\"lower_alarm_limit\":-8.0,"
	      "\"value\":[1.5]");
}

static void test_ctrl_double(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	gr_double_meta(&p, true);
	assert_int_equal(p.n, 80);
	wire_u64(&p, D_M2_5);
	check(OUT_TEXT, 34, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, units='mm', precision=3, "
	      "upper_disp_limit=9.5, lower_disp_limit=-9.5, "
	      "upper_alarm_limit=8.0, upper_warning_limit=5.0, "
	      "lower_warning_limit=-5.0, lower_alarm_limit=-8.0, "
	      "upper_ctrl_limit=9.5, lower_ctrl_limit=-9.5, data=[-2.5]");
}

static void test_gr_float(void **state)
{
	struct wire p = { .n = 0 };
	unsigned i;

	(void)state;
	wire_u16(&p, 0);
	wire_u16(&p, 0);
	wire_u16(&p, 0xffff);		/* precision -1 */
	wire_u16(&p, 0);
	wire_str(&p, "", 8);
	for (i = 0; i < 6; i++)
		wire_u32(&p, i & 1 ? F_M0_25 : F_1_5);
	assert_int_equal(p.n, 40);
	wire_u32(&p, F_1_5);
	check(OUT_JSON, 23, 1, &p,
	      ",\"alarm\":\"NO_ALARM\",\"severity\":\"NO_ALARM\","
	      "\"units\":\"\",\"precision\":-1,"
	      "\"upper_disp_limit\":1.5,\"lower_disp_limit\":-0.25,"
	      "\"upper_alarm_limit\":1.5,\"upper_warning_limit\":-0.25,"
	      "\"lower_warning_limit\":1.5,\"lower_alarm_limit\":-0.25,"
	      "\"value\":[1.5]");
}

static void test_gr_short(void **state)
{
	struct wire p = { .n = 0 };
	unsigned i;

	(void)state;
	wire_u16(&p, 0);
	wire_u16(&p, 0);
	wire_str(&p, "counts", 8);
	for (i = 0; i < 6; i++)
		wire_u16(&p, (unsigned)(100 - 40 * (int)i) & 0xffff);
	assert_int_equal(p.n, 24);
	wire_u16(&p, 42);
	check(OUT_TEXT, 22, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, units='counts', "
	      "upper_disp_limit=100, lower_disp_limit=60, "
	      "upper_alarm_limit=20, upper_warning_limit=-20, "
	      "lower_warning_limit=-60, lower_alarm_limit=-100, data=[42]");
}

static void test_ctrl_long(void **state)
{
	struct wire p = { .n = 0 };
	static const int32_t lim[8] = {
		1000, -1000, 900, 800, -800, -900, 500, -500 };
	unsigned i;

	(void)state;
	wire_u16(&p, 3);		/* HIHI */
	wire_u16(&p, 2);		/* MAJOR */
	wire_str(&p, "V", 8);
	for (i = 0; i < 8; i++)
		wire_u32(&p, (uint32_t)lim[i]);
	assert_int_equal(p.n, 44);
	wire_u32(&p, 950);
	wire_u32(&p, (uint32_t)-1);
	check(OUT_TEXT, 33, 2, &p,
	      ", alarm=HIHI, severity=MAJOR, units='V', "
	      "upper_disp_limit=1000, lower_disp_limit=-1000, "
	      "upper_alarm_limit=900, upper_warning_limit=800, "
	      "lower_warning_limit=-800, lower_alarm_limit=-900, "
	      "upper_ctrl_limit=500, lower_ctrl_limit=-500, data=[950, -1]");
	check(OUT_JSON, 33, 2, &p,
	      ",\"alarm\":\"HIHI\",\"severity\":\"MAJOR\",\"units\":\"V\","
	      "\"upper_disp_limit\":1000,\"lower_disp_limit\":-1000,"
	      "\"upper_alarm_limit\":900,\"upper_warning_limit\":800,"
	      "\"lower_warning_limit\":-800,\"lower_alarm_limit\":-900,"
	      "\"upper_ctrl_limit\":500,\"lower_ctrl_limit\":-500,"
	      "\"value\":[950,-1]");
}

static void test_ctrl_char(void **state)
{
	struct wire p = { .n = 0 };
	unsigned i;

	(void)state;
	wire_u16(&p, 0);
	wire_u16(&p, 0);
	wire_str(&p, "", 8);
	for (i = 0; i < 8; i++)
		wire_u8(&p, 250 + i % 6);	/* unsigned limits */
	wire_u8(&p, 0xaa);			/* RISC_pad */
	assert_int_equal(p.n, 21);
	wire_u8(&p, 200);
	check(OUT_TEXT, 32, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, units='', "
	      "upper_disp_limit=250, lower_disp_limit=251, "
	      "upper_alarm_limit=252, upper_warning_limit=253, "
	      "lower_warning_limit=254, lower_alarm_limit=255, "
	      "upper_ctrl_limit=250, lower_ctrl_limit=251, data=[200]");
}

/* dbr_ctrl_enum: status, severity, no_str, strs[16][26], value. */
static void enum_meta(struct wire *p, unsigned no_str)
{
	static const char *const names[16] = { "Off", "On" };
	unsigned i;

	wire_u16(p, 0);
	wire_u16(p, 0);
	wire_u16(p, no_str);
	for (i = 0; i < 16; i++)
		wire_str(p, names[i] ? names[i] : "", 26);
}

static void test_ctrl_enum(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	enum_meta(&p, 2);
	assert_int_equal(p.n, 422);
	wire_u16(&p, 1);
	wire_fill(&p, 0, 2);		/* padding to 8 */
	check(OUT_TEXT, 31, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, "
	      "enum_strings=['Off', 'On'], data=[1]");
	check(OUT_JSON, 31, 1, &p,
	      ",\"alarm\":\"NO_ALARM\",\"severity\":\"NO_ALARM\","
	      "\"enum_strings\":[\"Off\",\"On\"],\"value\":[1]");
	/* GR_ENUM has the same layout. */
	check(OUT_TEXT, 24, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, "
	      "enum_strings=['Off', 'On'], data=[1]");
}

static void test_enum_no_str_clamped(void **state)
{
	struct wire p = { .n = 0 };
	size_t i;

	(void)state;
	enum_meta(&p, 40);
	wire_u16(&p, 0);
	check(OUT_TEXT, 31, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, enum_strings=['Off', 'On', "
	      "'', '', '', '', '', '', '', '', '', '', '', '', '', ''], "
	      "data=[0]");
	p.b[4] = 0xff;			/* no_str = -1 (dbr_short_t) */
	p.b[5] = 0xff;
	check(OUT_TEXT, 31, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, enum_strings=[], "
	      "data=[0]");
	/* A state string of 26 characters has no NUL: stop at the field. */
	p.b[4] = 0;
	p.b[5] = 1;
	for (i = 0; i < 26; i++)
		p.b[6 + i] = (uint8_t)('a' + i);
	check(OUT_TEXT, 31, 1, &p,
	      ", alarm=NO_ALARM, severity=NO_ALARM, "
	      "enum_strings=['abcdefghijklmnopqrstuvwxyz'], data=[0]");
}

static void test_gr_string(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 15);		/* SOFT */
	wire_u16(&p, 1);
	wire_str(&p, "idle", 40);
	check(OUT_TEXT, DBR_GR_STRING, 1, &p,
	      ", alarm=SOFT, severity=MINOR, data=['idle']");
	check(OUT_JSON, DBR_CTRL_STRING, 1, &p,
	      ",\"alarm\":\"SOFT\",\"severity\":\"MINOR\",\"value\":[\"idle\"]");
}

/* ---- alarm acknowledgement and class name ------------------------------- */

static void test_stsack_string(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 6);		/* LOW */
	wire_u16(&p, 1);		/* MINOR */
	wire_u16(&p, 1);		/* ackt */
	wire_u16(&p, 2);		/* acks: MAJOR */
	wire_str(&p, "3.5", 40);
	check(OUT_TEXT, DBR_STSACK_STRING, 1, &p,
	      ", alarm=LOW, severity=MINOR, ackt=1, acks=MAJOR, data=['3.5']");
	check(OUT_JSON, DBR_STSACK_STRING, 1, &p,
	      ",\"alarm\":\"LOW\",\"severity\":\"MINOR\",\"ackt\":1,"
	      "\"acks\":\"MAJOR\",\"value\":[\"3.5\"]");
}

static void test_class_name(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_str(&p, "ai", 8);
	check(OUT_TEXT, DBR_CLASS_NAME, 1, &p, ", data=['ai']");
	check(OUT_JSON, DBR_CLASS_NAME, 1, &p, ",\"value\":[\"ai\"]");
}

static void test_put_ackt(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 1);
	wire_fill(&p, 0, 6);
	check(OUT_TEXT, DBR_PUT_ACKT, 1, &p, ", data=[1]");
	check(OUT_JSON, DBR_PUT_ACKS, 1, &p, ",\"value\":[1]");
}

/* ---- escaping -------------------------------------------------------------- */

static void test_string_escapes(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_str(&p, "a\"b\\c\x01'\xe9", 40);
	check(OUT_JSON, DBR_STRING, 1, &p,
	      ",\"value\":[\"a\\\"b\\\\c\\u0001'\\u00e9\"]");
	check(OUT_TEXT, DBR_STRING, 1, &p,
	      ", data=['a\"b\\\\c\\x01\\'\\xe9']");
}

/* ---- truncation, hostile headers ------------------------------------------- */

static void test_truncated_metadata(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	gr_double_meta(&p, false);
	wire_u64(&p, D_1_5);
	/* Not even status and severity. */
	check_n(OUT_TEXT, 27, 1, &p, 3, 0, DBR_TRUNCATED, "");
	/* Up to the units. */
	check_n(OUT_TEXT, 27, 1, &p, 23, 0, DBR_TRUNCATED,
		", alarm=NO_ALARM, severity=NO_ALARM, units='mm', "
		"precision=3");
	check_n(OUT_TEXT, 27, 1, &p, 24, 0, DBR_TRUNCATED,
		", alarm=NO_ALARM, severity=NO_ALARM, units='mm', "
		"precision=3, upper_disp_limit=9.5");
	/* All limits, the value missing. */
	check_n(OUT_TEXT, 27, 1, &p, 64, 0, DBR_TRUNCATED,
		", alarm=NO_ALARM, severity=NO_ALARM, units='mm', precision=3, "
		"upper_disp_limit=9.5, lower_disp_limit=-9.5, "
		"upper_alarm_limit=8.0, upper_warning_limit=5.0, "
		"lower_warning_limit=-5.0, lower_alarm_limit=-8.0, data=[...]");
	/* Cut inside the RISC_pad of a TIME_CHAR: the stamp is there. */
	p.n = 0;
	wire_fill(&p, 0, 16);
	check_n(OUT_TEXT, 18, 1, &p, 14, 0, DBR_TRUNCATED,
		", alarm=NO_ALARM, severity=NO_ALARM, "
		"stamp='1990-01-01T00:00:00.000000000Z'");
	/* Cut inside the enum strings: no partial list. */
	p.n = 0;
	enum_meta(&p, 2);
	wire_u16(&p, 1);
	check_n(OUT_TEXT, 31, 1, &p, 100, 0, DBR_TRUNCATED,
		", alarm=NO_ALARM, severity=NO_ALARM");
	check_n(OUT_JSON, 37, 1, &p, 6, 0, DBR_TRUNCATED,
		",\"alarm\":\"NO_ALARM\",\"severity\":\"NO_ALARM\"");
}

static void test_truncated_values(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u64(&p, D_1_5);
	wire_u64(&p, D_M2_5);
	wire_u64(&p, D_9_5);
	check_n(OUT_TEXT, DBR_DOUBLE, 3, &p, 20, 0, DBR_TRUNCATED,
		", data=[1.5, -2.5, ...]");
	check_n(OUT_JSON, DBR_DOUBLE, 3, &p, 20, 0, DBR_TRUNCATED,
		",\"value\":[1.5,-2.5]");
	/* Only what max_elements asks for needs to be there. */
	check_n(OUT_TEXT, DBR_DOUBLE, 3, &p, 20, 2, DBR_OK,
		", data=[1.5, -2.5, ...]");
	check_n(OUT_TEXT, DBR_DOUBLE, 3, &p, 0, 0, DBR_TRUNCATED,
		", data=[...]");
}

static void test_huge_count(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u16(&p, 1);
	wire_u16(&p, 2);
	wire_u8(&p, 9);			/* half an element */
	check_n(OUT_TEXT, DBR_SHORT, 0xffffffffu, &p, 5, 0, DBR_TRUNCATED,
		", data=[1, 2, ...]");
	check_n(OUT_TEXT, DBR_SHORT, 0xffffffffu, &p, 5, 2, DBR_OK,
		", data=[1, 2, ...]");
	check_n(OUT_JSON, DBR_STRING, 0xffffffffu, &p, 5, 0, DBR_TRUNCATED,
		",\"value\":[\"\"]");
	check_n(OUT_TEXT, 34, 0xffffffffu, &p, 5, 0, DBR_TRUNCATED,
		", alarm=READ, severity=MAJOR");
}

static void test_len_zero(void **state)
{
	struct sbuf sb;

	(void)state;
	sbuf_init(&sb);
	assert_int_equal(dbr_append_value(&sb, OUT_TEXT, DBR_DOUBLE, 0, NULL, 0,
					  0), DBR_OK);
	assert_string_equal(sbuf_str(&sb), ", data=[]");
	sbuf_reset(&sb);
	assert_int_equal(dbr_append_value(&sb, OUT_TEXT, DBR_DOUBLE, 4, NULL, 0,
					  0), DBR_TRUNCATED);
	assert_string_equal(sbuf_str(&sb), ", data=[...]");
	sbuf_reset(&sb);
	assert_int_equal(dbr_append_value(&sb, OUT_JSON, 20, 0xffffffffu, NULL,
					  0, 0), DBR_TRUNCATED);
	assert_string_equal(sbuf_str(&sb), "");
	sbuf_free(&sb);
}

/* count 0 in a reply header means no elements: what follows is padding
 * (RSRV answers an empty array read with count 0 and 8 zero bytes). */
static void test_count_zero(void **state)
{
	struct wire p = { .n = 0 };

	(void)state;
	wire_u32(&p, 5);
	wire_u32(&p, 6);
	wire_u32(&p, 7);
	check_n(OUT_TEXT, DBR_LONG, 0, &p, 12, 0, DBR_OK, ", data=[]");
	check_n(OUT_JSON, DBR_LONG, 0, &p, 12, 2, DBR_OK, ",\"value\":[]");
	check_n(OUT_TEXT, DBR_SHORT, 0, &p, 8, 0, DBR_OK, ", data=[]");
	check_n(OUT_TEXT, DBR_STRING, 0, &p, 12, 0, DBR_OK, ", data=[]");
}

static void test_bad_type(void **state)
{
	struct sbuf sb;
	uint8_t b[8] = { 0 };

	(void)state;
	sbuf_init(&sb);
	sbuf_puts(&sb, "x");
	assert_int_equal(dbr_append_value(&sb, OUT_TEXT, 99, 1, b, sizeof(b),
					  0), DBR_BAD_TYPE);
	assert_int_equal(dbr_append_value(&sb, OUT_JSON, 39, 1, b, sizeof(b),
					  0), DBR_BAD_TYPE);
	assert_int_equal(dbr_append_value(&sb, OUT_JSON, 0xffffffffu, 1, b,
					  sizeof(b), 0), DBR_BAD_TYPE);
	assert_string_equal(sbuf_str(&sb), "x");
	sbuf_free(&sb);
}

/* Every type at every cut length: only ASan/UBSan judge here. */
static void test_all_types_all_lengths(void **state)
{
	static const uint32_t counts[] = { 0, 1, 2, 3, 0xffffffffu };
	struct wire p = { .n = 0 };
	unsigned type, c;
	size_t len;

	(void)state;
	wire_fill(&p, 0x41, 520);
	for (type = 0; type <= DBR_LAST_TYPE + 1; type++) {
		for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			for (len = 0; len <= p.n; len++) {
				struct sbuf sb;
				uint8_t *copy = malloc(len ? len : 1);

				assert_non_null(copy);
				memcpy(copy, p.b, len);
				sbuf_init(&sb);
				dbr_append_value(&sb, (enum out_style)(len & 1),
						 type, counts[c], copy, len,
						 len % 3);
				assert_false(sb.oom);
				sbuf_free(&sb);
				free(copy);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_alarm_names),
		cmocka_unit_test(test_plain_string),
		cmocka_unit_test(test_plain_string_array),
		cmocka_unit_test(test_plain_short),
		cmocka_unit_test(test_plain_float),
		cmocka_unit_test(test_plain_enum),
		cmocka_unit_test(test_plain_char),
		cmocka_unit_test(test_plain_long),
		cmocka_unit_test(test_plain_double),
		cmocka_unit_test(test_max_elements),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_sts_double),
		cmocka_unit_test(test_sts_unknown_alarm),
		cmocka_unit_test(test_time_double_epoch),
		cmocka_unit_test(test_time_double),
		cmocka_unit_test(test_time_stamp_edges),
		cmocka_unit_test(test_time_string),
		cmocka_unit_test(test_time_short),
		cmocka_unit_test(test_time_char),
		cmocka_unit_test(test_gr_double),
		cmocka_unit_test(test_ctrl_double),
		cmocka_unit_test(test_gr_float),
		cmocka_unit_test(test_gr_short),
		cmocka_unit_test(test_ctrl_long),
		cmocka_unit_test(test_ctrl_char),
		cmocka_unit_test(test_ctrl_enum),
		cmocka_unit_test(test_enum_no_str_clamped),
		cmocka_unit_test(test_gr_string),
		cmocka_unit_test(test_stsack_string),
		cmocka_unit_test(test_class_name),
		cmocka_unit_test(test_put_ackt),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_truncated_metadata),
		cmocka_unit_test(test_truncated_values),
		cmocka_unit_test(test_huge_count),
		cmocka_unit_test(test_len_zero),
		cmocka_unit_test(test_count_zero),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_all_types_all_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
