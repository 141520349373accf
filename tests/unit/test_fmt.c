/* Unit tests for user/fmt.c (the hand-written formatters) and the sbuf
 * writers built on them.
 *
 * Each formatter promises the bytes of a printf conversion (or, for
 * doubles, of the "%.*e" + strtod search catrace used before), so each is
 * compared with that conversion over edge values and many values from a
 * fixed-seed generator.  A few literal expectations pin the formats
 * themselves, so the tests do not merely compare two copies of one bug.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "sbuf.h"

static uint64_t rng_state;

static uint64_t rng64(void)
{
	/* xorshift64*: reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Writes through a formatter into a guarded buffer; the result as a C
 * string.  The guard bytes catch a formatter writing past its FMT_*_MAX. */
#define GUARD 0x5a
struct out {
	char buf[128];
};

static const char *finish(struct out *o, char *end, size_t max)
{
	size_t i;

	assert_true(end >= o->buf && (size_t)(end - o->buf) <= max);
	for (i = max; i < sizeof(o->buf); i++)
		assert_int_equal((unsigned char)o->buf[i], GUARD);
	*end = '\0';
	return o->buf;
}

static void prep(struct out *o)
{
	memset(o->buf, GUARD, sizeof(o->buf));
}

static void check_u64(uint64_t v)
{
	char want[32];
	struct out o;
	unsigned w;

	prep(&o);
	snprintf(want, sizeof(want), "%" PRIu64, v);
	assert_string_equal(finish(&o, fmt_u64(o.buf, v), FMT_U64_MAX), want);
	for (w = 0; w <= FMT_U64_MAX; w += (w < 10 ? 1 : 5)) {
		prep(&o);
		snprintf(want, sizeof(want), "%0*" PRIu64, (int)w, v);
		assert_string_equal(finish(&o, fmt_u64_pad(o.buf, v, w), FMT_U64_MAX), want);
	}
}

static void test_u64(void **state)
{
	uint64_t p = 1;
	int i;

	(void)state;
	check_u64(0);
	check_u64(UINT64_MAX);
	for (i = 0; i < 20; i++, p *= 10) {
		check_u64(p);
		check_u64(p - 1);
		check_u64(p + 1);
	}
	rng_state = 0x1234567;
	for (i = 0; i < 20000; i++) {
		uint64_t v = rng64();

		check_u64(v >> (rng64() % 64));
	}
}

static void check_i64(int64_t v)
{
	char want[32];
	struct out o;

	prep(&o);
	snprintf(want, sizeof(want), "%" PRId64, v);
	assert_string_equal(finish(&o, fmt_i64(o.buf, v), FMT_I64_MAX), want);
}

static void test_i64(void **state)
{
	int i;

	(void)state;
	check_i64(0);
	check_i64(-1);
	check_i64(INT64_MIN);
	check_i64(INT64_MAX);
	check_i64(-32768);
	check_i64(INT32_MIN);
	rng_state = 0x7654321;
	for (i = 0; i < 20000; i++)
		check_i64((int64_t)rng64() >> (rng64() % 64));
}

static void test_ipv4_and_hex(void **state)
{
	char want[32];
	struct out o;
	uint32_t ip;
	unsigned w;
	int i;

	(void)state;
	prep(&o);
	assert_string_equal(finish(&o, fmt_ipv4(o.buf, 0xffffffffu), FMT_IPV4_MAX),
			    "255.255.255.255");
	prep(&o);
	assert_string_equal(finish(&o, fmt_ipv4(o.buf, 0x0a000001u), FMT_IPV4_MAX), "10.0.0.1");
	prep(&o);
	assert_string_equal(finish(&o, fmt_hex(o.buf, 0x0a, 2), 8), "0a");
	rng_state = 0xabcdef;
	for (i = 0; i < 20000; i++) {
		ip = (uint32_t)rng64();
		prep(&o);
		snprintf(want, sizeof(want), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
			 (ip >> 8) & 0xff, ip & 0xff);
		assert_string_equal(finish(&o, fmt_ipv4(o.buf, ip), FMT_IPV4_MAX), want);
		ip >>= rng64() % 32;
		for (w = 0; w <= 8; w++) {
			prep(&o);
			snprintf(want, sizeof(want), "%0*x", (int)w, ip);
			assert_string_equal(finish(&o, fmt_hex(o.buf, ip, w), 8), want);
		}
	}
}

/* ---- doubles ---- */

static void check_double(double v)
{
	char want[64];
	struct out o;
	const char *got;
	char *e;

	prep(&o);
	e = fmt_shortest_by_search(o.buf, v, false);
	strcpy(want, finish(&o, e, FMT_DOUBLE_MAX));
	prep(&o);
	got = finish(&o, fmt_double(o.buf, v), FMT_DOUBLE_MAX);
	if (strcmp(got, want)) {
		print_error("double %a (%.17g): fast '%s', search '%s'\n", v, v, got, want);
		fail();
	}
	/* And it reads back as the same value. */
	if (!isnan(v))
		assert_true(strtod(got, NULL) == v);
}

static void check_float(float v)
{
	char want[64];
	struct out o;
	const char *got;
	char *e;

	prep(&o);
	e = fmt_shortest_by_search(o.buf, v, true);
	strcpy(want, finish(&o, e, FMT_DOUBLE_MAX));
	prep(&o);
	got = finish(&o, fmt_float(o.buf, v), FMT_DOUBLE_MAX);
	if (strcmp(got, want)) {
		print_error("float %a (%.9g): fast '%s', search '%s'\n", (double)v, (double)v,
			    got, want);
		fail();
	}
	if (!isnan(v))
		assert_true(strtof(got, NULL) == v);
}

static const char *double_str(struct out *o, double v)
{
	prep(o);
	return finish(o, fmt_double(o->buf, v), FMT_DOUBLE_MAX);
}

static const char *float_str(struct out *o, float v)
{
	prep(o);
	return finish(o, fmt_float(o->buf, v), FMT_DOUBLE_MAX);
}

/* Python's repr() of these values, as caproto-shark prints them. */
static void test_double_literals(void **state)
{
	struct out o;

	(void)state;
	assert_string_equal(double_str(&o, 12.0), "12.0");
	assert_string_equal(double_str(&o, 3.14159), "3.14159");
	assert_string_equal(double_str(&o, 0.1), "0.1");
	assert_string_equal(double_str(&o, 0.1 + 0.2), "0.30000000000000004");
	assert_string_equal(double_str(&o, -100.25), "-100.25");
	assert_string_equal(double_str(&o, 0.0), "0.0");
	assert_string_equal(double_str(&o, -0.0), "-0.0");
	assert_string_equal(double_str(&o, 1e-4), "0.0001");
	assert_string_equal(double_str(&o, 1.5e-5), "1.5e-05");
	assert_string_equal(double_str(&o, 1e15), "1000000000000000.0");
	assert_string_equal(double_str(&o, 1e16), "1e+16");
	assert_string_equal(double_str(&o, 123456789012345680.0), "1.2345678901234568e+17");
	assert_string_equal(double_str(&o, 5e-324), "5e-324");
	assert_string_equal(double_str(&o, DBL_MAX), "1.7976931348623157e+308");
	assert_string_equal(double_str(&o, NAN), "nan");
	assert_string_equal(double_str(&o, INFINITY), "inf");
	assert_string_equal(double_str(&o, -INFINITY), "-inf");
	assert_string_equal(float_str(&o, 0.1f), "0.1");
	assert_string_equal(float_str(&o, 3.14159f), "3.14159");
	assert_string_equal(float_str(&o, 16777217.0f), "16777216.0");
	assert_string_equal(float_str(&o, 1e-10f), "1e-10");
	assert_string_equal(float_str(&o, FLT_MAX), "3.4028235e+38");
}

/* Edges of the fast path's range and of its tie window. */
static void test_double_edges(void **state)
{
	static const double v[] = {
		1e-4, 0.00009999999999999999, 0.000099999, 1e15, 999999999999999.9,
		999999999999999.0, 4503599627370495.5, 4503599627370496.0,
		9007199254740991.0, 9007199254740992.0, 9007199254740993.0,
		0.5, 1.5, 2.5, 0.05, 0.15, 0.25, 0.35, 1.005, 2.675, 1.0000000000000002,
		0.9999999999999999, 123.456, 1e22, 1e23, 1e-5, 5e-5, DBL_MIN, DBL_EPSILON,
		0.3, 2.0 / 3.0, 1.0 / 3.0, 100.0, 1e10, 65535.0, -1.0,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		check_double(v[i]);
		check_double(-v[i]);
		check_double(nextafter(v[i], 0));
		check_double(nextafter(v[i], INFINITY));
		check_float((float)v[i]);
		check_float(nextafterf((float)v[i], 0));
	}
}

/* Any bit pattern: mostly values far outside the fast path, which must
 * hand over to the search. */
static void test_double_random_bits(void **state)
{
	int i;

	(void)state;
	rng_state = 0xfeedface;
	for (i = 0; i < 30000; i++) {
		uint64_t b = rng64();
		uint32_t fb = (uint32_t)rng64();
		double d;
		float f;

		memcpy(&d, &b, sizeof(d));
		memcpy(&f, &fb, sizeof(f));
		check_double(d);
		check_float(f);
	}
}

/* Full 53-bit mantissas in the positional range: 16 and 17 digits, where
 * the products outgrow what a double holds exactly. */
static void test_double_long_mantissas(void **state)
{
	int i;

	(void)state;
	rng_state = 0xdecade;
	for (i = 0; i < 40000; i++) {
		double m = 1.0 + (double)(rng64() >> 11) * 0x1p-53;

		check_double(ldexp(m, -14 + (int)(rng64() % 68)));
	}
}

/* Values a control system sends: decimals of 1 to 17 digits, at every
 * scale of the positional range, and just beside them; and halves, the
 * ties the fast path must leave to the search. */
static void test_double_decimals(void **state)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
				      1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
				      1e17, 1e18, 1e19, 1e20 };
	int i;

	(void)state;
	rng_state = 0xc0ffee;
	for (i = 0; i < 60000; i++) {
		unsigned ndig = 1 + (unsigned)(rng64() % 17);
		uint64_t lim = 1, n;
		unsigned k = (unsigned)(rng64() % 21), j;
		double v;

		for (j = 0; j < ndig; j++)
			lim *= 10;
		n = rng64() % lim;
		v = (double)n / p10[k];
		check_double(v);
		if (i % 4 == 0) {
			check_double(nextafter(v, INFINITY));
			check_double(((double)n + 0.5) / p10[k]);
		}
		if (ndig <= 9)
			check_float((float)v);
	}
}

/* ---- calendar ---- */

static void check_time(uint64_t t, uint32_t nsec)
{
	char want[96], d[64];
	struct out o;
	time_t tt = (time_t)t;
	struct tm tm;

	assert_non_null(gmtime_r(&tt, &tm));
	strftime(d, sizeof(d), "%Y-%m-%d %H:%M:%S", &tm);
	prep(&o);
	assert_string_equal(finish(&o, fmt_date_time(o.buf, t), FMT_DATE_MAX), d);
	strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(want, sizeof(want), "%s.%09" PRIu32 "Z", d, nsec);
	prep(&o);
	assert_string_equal(finish(&o, fmt_iso_utc(o.buf, t, nsec), FMT_ISO_UTC_MAX), want);
}

static void test_calendar(void **state)
{
	static const uint64_t t[] = {
		0, 59, 86399, 86400, 68169600 /* 1972-02-29 */, 951782400 /* 2000-02-29 */,
		951868800, 2147483647, 2147483648u, 4107542400u /* 2100-03-01 */,
		4107456000u /* 2100-02-28 */, 4102444799u, 4102444800u,
		631152000u + 0xffffffffu /* the last EPICS second */,
		253402300799u /* 9999-12-31 23:59:59 */,
	};
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		check_time(t[i], 0);
		check_time(t[i], 999999999);
	}
	/* An out-of-range nsec is shown as it is, all ten digits. */
	check_time(1000, 4294967295u);
	rng_state = 0x5eed;
	for (r = 0; r < 50000; r++)
		check_time(rng64() % 253402300800u, (uint32_t)(rng64() % 1000000000u));
}

/* ---- sbuf writers ---- */

static void test_sbuf_room_and_printf(void **state)
{
	char big[1000];
	struct sbuf sb;
	char *p;
	int i;

	(void)state;
	sbuf_init(&sb);
	assert_string_equal(sbuf_str(&sb), "");
	for (i = 0; i < 100; i++) {
		p = sbuf_room(&sb, FMT_U64_MAX);
		assert_non_null(p);
		sbuf_end(&sb, fmt_u64(p, (uint64_t)i));
		sbuf_putc(&sb, ',');
	}
	assert_int_equal(sb.len, strlen(sbuf_str(&sb)));
	assert_memory_equal(sbuf_str(&sb), "0,1,2,", 6);
	assert_int_equal(sbuf_str(&sb)[sb.len - 1], ',');
	/* sbuf_printf in one pass (fits) and in two (does not). */
	sbuf_reset(&sb);
	sbuf_printf(&sb, "%s-%d", "ab", 7);
	assert_string_equal(sbuf_str(&sb), "ab-7");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sbuf_printf(&sb, "[%s]", big);
	assert_int_equal(sb.len, 4 + 2 + sizeof(big) - 1);
	assert_int_equal(strlen(sbuf_str(&sb)), sb.len);
	assert_int_equal(sbuf_str(&sb)[sb.len - 1], ']');
	sbuf_put_u64(&sb, UINT64_MAX);
	sbuf_put_i64(&sb, INT64_MIN);
	sbuf_put_ipv4(&sb, 0x7f000001u);
	assert_non_null(strstr(sbuf_str(&sb), "]18446744073709551615-9223372036854775808127.0.0.1"));
	sbuf_free(&sb);
}

/* The quoters against straightforward printf-based versions of the same
 * rules, for every byte value. */
static void ref_pyquoted(char *out, const unsigned char *s, size_t n)
{
	size_t i;

	*out++ = '\'';
	for (i = 0; i < n; i++) {
		unsigned c = s[i];

		if (c == '\'' || c == '\\')
			out += sprintf(out, "\\%c", c);
		else if (c == '\n')
			out += sprintf(out, "\\n");
		else if (c == '\t')
			out += sprintf(out, "\\t");
		else if (c == '\r')
			out += sprintf(out, "\\r");
		else if (c < 0x20 || c >= 0x7f)
			out += sprintf(out, "\\x%02x", c);
		else
			*out++ = (char)c;
	}
	strcpy(out, "'");
}

static void ref_jsonstr(char *out, const unsigned char *s, size_t n)
{
	size_t i;

	*out++ = '"';
	for (i = 0; i < n; i++) {
		unsigned c = s[i];

		if (c == '"' || c == '\\')
			out += sprintf(out, "\\%c", c);
		else if (c == '\n')
			out += sprintf(out, "\\n");
		else if (c == '\r')
			out += sprintf(out, "\\r");
		else if (c == '\t')
			out += sprintf(out, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			out += sprintf(out, "\\u%04x", c);
		else
			*out++ = (char)c;
	}
	strcpy(out, "\"");
}

static void test_sbuf_quoting(void **state)
{
	unsigned char all[256];
	static char want[256 * 6 + 3];
	struct sbuf sb;
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	sbuf_init(&sb);
	sbuf_put_pyquoted(&sb, (const char *)all, sizeof(all));
	ref_pyquoted(want, all, sizeof(all));
	assert_string_equal(sbuf_str(&sb), want);
	sbuf_reset(&sb);
	sbuf_put_jsonstr(&sb, (const char *)all, sizeof(all));
	ref_jsonstr(want, all, sizeof(all));
	assert_string_equal(sbuf_str(&sb), want);
	sbuf_reset(&sb);
	sbuf_put_pyquoted(&sb, "it's", 4);
	assert_string_equal(sbuf_str(&sb), "'it\\'s'");
	sbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_i64),
		cmocka_unit_test(test_ipv4_and_hex),
		cmocka_unit_test(test_double_literals),
		cmocka_unit_test(test_double_edges),
		cmocka_unit_test(test_double_random_bits),
		cmocka_unit_test(test_double_decimals),
		cmocka_unit_test(test_double_long_mantissas),
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_sbuf_room_and_printf),
		cmocka_unit_test(test_sbuf_quoting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
