/* fmt: hand-written formatters; see fmt.h. */
#include "fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "00" "01" ... "99": two digits per step halves the divisions. */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static const uint64_t u64_pow10[] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
	10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
	100000000000ull, 1000000000000ull, 10000000000000ull,
	100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull,
	10000000000000000000ull,
};

static unsigned count_digits(uint64_t v)
{
	unsigned n = 1;

	while (n < FMT_U64_MAX && v >= u64_pow10[n])
		n++;
	return n;
}

/* The n lowest decimal digits of v (zeros in front) at p..p+n. */
static char *put_digits(char *p, uint64_t v, unsigned n)
{
	char *end = p + n, *q = end;

	while (q - p >= 2) {
		q -= 2;
		memcpy(q, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (q > p)
		*--q = (char)('0' + v % 10);
	return end;
}

char *fmt_u64_pad(char *p, uint64_t v, unsigned width)
{
	unsigned n = count_digits(v);

	if (width > FMT_U64_MAX)
		width = FMT_U64_MAX;
	return put_digits(p, v, n > width ? n : width);
}

char *fmt_u64(char *p, uint64_t v)
{
	return put_digits(p, v, count_digits(v));
}

char *fmt_i64(char *p, int64_t v)
{
	if (v >= 0)
		return fmt_u64(p, (uint64_t)v);
	*p++ = '-';
	/* Negate in unsigned arithmetic: INT64_MIN has no positive twin. */
	return fmt_u64(p, 0 - (uint64_t)v);
}

char *fmt_ipv4(char *p, uint32_t ip)
{
	p = fmt_u64(p, ip >> 24);
	*p++ = '.';
	p = fmt_u64(p, (ip >> 16) & 0xff);
	*p++ = '.';
	p = fmt_u64(p, (ip >> 8) & 0xff);
	*p++ = '.';
	return fmt_u64(p, ip & 0xff);
}

char *fmt_hex(char *p, uint32_t v, unsigned width)
{
	static const char hex[] = "0123456789abcdef";
	unsigned n = 1, i;

	while (n < 8 && (v >> (4 * n)))
		n++;
	if (width > 8)
		width = 8;
	if (n < width)
		n = width;
	for (i = 0; i < n; i++)
		p[i] = hex[(v >> (4 * (n - 1 - i))) & 0xf];
	return p + n;
}

/* ---- shortest round-trip doubles ---- */

char *fmt_shortest_by_search(char *p, double v, bool as_float)
{
	char tmp[64];
	int prec, exp;
	const char *e;
	size_t n;

	if (isnan(v)) {
		memcpy(p, "nan", 3);
		return p + 3;
	}
	if (isinf(v)) {
		n = v < 0 ? 4 : 3;
		memcpy(p, v < 0 ? "-inf" : "inf", n);
		return p + n;
	}
	for (prec = 1; prec <= 17; prec++) {
		double back;

		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		back = strtod(tmp, NULL);
		if (as_float ? (float)back == (float)v : back == v)
			break;
	}
	e = strchr(tmp, 'e');
	exp = e ? atoi(e + 1) : 0;
	if (exp >= -4 && exp < 16) {
		int decimals = prec - 1 - exp;

		snprintf(tmp, sizeof(tmp), "%.*f", decimals > 0 ? decimals : 0, v);
		n = strlen(tmp);
		memcpy(p, tmp, n);
		p += n;
		if (!memchr(tmp, '.', n)) {
			memcpy(p, ".0", 2);
			p += 2;
		}
		return p;
	}
	/* Scientific: Python writes 1e+16 and 1.5e-05. */
	n = strlen(tmp);
	memcpy(p, tmp, n);
	return p + n;
}

/* Powers of ten that a double holds exactly (5^22 < 2^53). */
static const double exact_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};


/* The shortest positional form of a > 0 as digits / 10^decimals, found
 * with double arithmetic where that is provably what the search finds:
 *
 * - At `decimals` = k the search's candidate is a rounded to k decimals
 *   (for a in [1e-4, 1e15) its significant-digit steps are exactly these
 *   k steps, and no k below 0 is needed: a value that round-trips at
 *   tens or hundreds is an integer, which k = 0 finds with the same
 *   output).  P = a * 10^k is computed as p, within half an ulp; when p's
 *   fraction is clearly away from one half, round(p) is round(P), the
 *   candidate's digits.  Near a tie we give up (the search decides).
 * - digits and 10^k are exact doubles, so digits / 10^k is the correctly
 *   rounded value of the decimal digits * 10^-k, which is what strtod
 *   returns for that decimal: the round-trip test is one division.
 *
 * Returns false (the caller searches) outside that range, near ties, and
 * past 2^52 digits (17-digit values like 0.1 + 0.2). */
static bool shortest_fixed(double a, bool as_float, uint64_t *digits,
			   unsigned *decimals)
{
	unsigned k;

	if (!(a >= 1e-4 && a < 1e15))
		return false;
	for (k = 0; k < sizeof(exact_pow10) / sizeof(exact_pow10[0]); k++) {
		double p = a * exact_pow10[k], whole, frac, d, back;

		if (p >= 0x1p52)
			return false;
		whole = floor(p);
		frac = p - whole;	/* exact: p and whole share their ulp */
		/* p is within p * 2^-53 of the exact product: a window four
		 * times as wide around the tie keeps the rounding certain. */
		if (fabs(frac - 0.5) <= p * 0x1p-51)
			return false;
		d = frac > 0.5 ? whole + 1 : whole;
		back = d / exact_pow10[k];
		if (as_float ? (float)back == (float)a : back == a) {
			*digits = (uint64_t)d;
			*decimals = k;
			return true;
		}
	}
	return false;
}

static char *fmt_shortest(char *p, double v, bool as_float)
{
	uint64_t digits;
	unsigned decimals;
	char *start = p;

	if (v == 0) {
		/* "%.0e" of zero is "0e+00", then "%.0f" and ".0": keeps the sign. */
		if (signbit(v))
			*p++ = '-';
		memcpy(p, "0.0", 3);
		return p + 3;
	}
	if (!shortest_fixed(fabs(v), as_float, &digits, &decimals))
		return fmt_shortest_by_search(start, v, as_float);
	if (v < 0)
		*p++ = '-';
	if (decimals == 0) {
		p = fmt_u64(p, digits);
		memcpy(p, ".0", 2);
		return p + 2;
	}
	p = fmt_u64(p, digits / u64_pow10[decimals]);
	*p++ = '.';
	return fmt_u64_pad(p, digits % u64_pow10[decimals], decimals);
}

char *fmt_double(char *p, double v)
{
	return fmt_shortest(p, v, false);
}

char *fmt_float(char *p, float v)
{
	return fmt_shortest(p, v, true);
}

/* ---- calendar ---- */

/* Leap years in 1..y. */
static uint64_t leaps_through(uint64_t y)
{
	return y / 4 - y / 100 + y / 400;
}

static bool is_leap(uint64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to the first of January of y (y >= 1970). */
static uint64_t days_before_year(uint64_t y)
{
	return 365 * (y - 1970) + leaps_through(y - 1) - leaps_through(1969);
}

/* Calendar date of a day count since 1970-01-01 (UTC, Gregorian). */
static void civil_date(uint64_t days, uint64_t *year, unsigned *mon,
		       unsigned *mday)
{
	static const unsigned short month_start[2][13] = {
		{ 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365 },
		{ 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366 },
	};
	/* A Gregorian year is 146097 / 400 days on average: the estimate
	 * is off by at most one year either way, which the loops fix. */
	uint64_t y = 1970 + days * 400 / 146097;
	const unsigned short *ms;
	unsigned yday, m = 0;

	while (y > 1970 && days_before_year(y) > days)
		y--;
	while (days_before_year(y + 1) <= days)
		y++;
	yday = (unsigned)(days - days_before_year(y));
	ms = month_start[is_leap(y)];
	while (yday >= ms[m + 1])
		m++;
	*year = y;
	*mon = m + 1;
	*mday = yday - ms[m] + 1;
}

/* "YYYY-MM-DD?HH:MM:SS" with `sep` between date and time. */
static char *date_time(char *p, uint64_t unix_s, char sep)
{
	uint64_t year, secs = unix_s % 86400;
	unsigned mon, mday;

	civil_date(unix_s / 86400, &year, &mon, &mday);
	p = fmt_u64_pad(p, year, 4);
	*p++ = '-';
	p = put_digits(p, mon, 2);
	*p++ = '-';
	p = put_digits(p, mday, 2);
	*p++ = sep;
	p = put_digits(p, secs / 3600, 2);
	*p++ = ':';
	p = put_digits(p, secs / 60 % 60, 2);
	*p++ = ':';
	return put_digits(p, secs % 60, 2);
}

char *fmt_date_time(char *p, uint64_t unix_s)
{
	return date_time(p, unix_s, ' ');
}

char *fmt_iso_utc(char *p, uint64_t unix_s, uint32_t nsec)
{
	p = date_time(p, unix_s, 'T');
	*p++ = '.';
	p = fmt_u64_pad(p, nsec, 9);
	*p++ = 'Z';
	return p;
}
