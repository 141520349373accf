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
	unsigned n = 5;

	/* Most numbers printed are small: ports, ids, counts, seconds. */
	if (v < 100)
		return v < 10 ? 1 : 2;
	if (v < 10000)
		return v < 1000 ? 3 : 4;
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

/* One byte in decimal, 1 to 3 digits. */
static char *put_octet(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		memcpy(p, digit_pairs + 2 * v, 2);
		return p + 2;
	}
	if (v >= 10) {
		memcpy(p, digit_pairs + 2 * v, 2);
		return p + 2;
	}
	*p = (char)('0' + v);
	return p + 1;
}

char *fmt_ipv4(char *p, uint32_t ip)
{
	p = put_octet(p, ip >> 24);
	*p++ = '.';
	p = put_octet(p, (ip >> 16) & 0xff);
	*p++ = '.';
	p = put_octet(p, (ip >> 8) & 0xff);
	*p++ = '.';
	return put_octet(p, ip & 0xff);
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
 *   candidate's digits.  Near one half, fma gives p's rounding error
 *   exactly (a product's error is itself a double), which settles it.
 * - digits and 10^k are exact doubles, so digits / 10^k is the correctly
 *   rounded value of the decimal digits * 10^-k, which is what strtod
 *   returns for that decimal: the round-trip test is one division.
 *
 * Returns false (the caller searches) outside that range, past 2^52
 * digits (17-digit values like 0.1 + 0.2), and at an exact tie that
 * could matter (see below). */
static bool shortest_fixed(double a, bool as_float, uint64_t *digits,
			   unsigned *decimals)
{
	unsigned k;

	if (!(a >= 1e-4 && a < 1e15))
		return false;
	for (k = 0; k < sizeof(exact_pow10) / sizeof(exact_pow10[0]); k++) {
		double p = a * exact_pow10[k], whole, off_tie, d, back;
		bool up;

		if (p >= 0x1p52)
			return false;
		whole = floor(p);
		/* Exact: p and whole share their ulp; and off_tie is
		 * computed exactly near the tie, where it matters. */
		off_tie = (p - whole) - 0.5;
		if (fabs(off_tie) > p * 0x1p-51) {
			/* Four times p's largest error: the side is certain. */
			up = off_tie > 0;
		} else {
			double err = fma(a, exact_pow10[k], -p);

			if (off_tie == -err) {
				/* P is exactly n + 1/2: both neighbours lie half a
				 * step (10^-k / 2) from a.  While P < 2^51 (2^22
				 * for a float) that is more than half of a's ulp,
				 * so neither reads back as a, whichever way printf
				 * rounds the tie: this k fails, as in the search. */
				if (p >= (as_float ? 0x1p22 : 0x1p51))
					return false;
				continue;
			}
			up = off_tie > -err;
		}
		d = up ? whole + 1 : whole;
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

/* "YYYY-MM-DD?HH:MM:SS" with `sep` between date and time.  The date of
 * the last day asked for is kept: stamps come in runs from one day, and
 * the calendar arithmetic costs more than the rest of the line. */
static char *date_time(char *p, uint64_t unix_s, char sep)
{
	static uint64_t memo_day = UINT64_MAX;
	static char memo[FMT_DATE_MAX];
	static size_t memo_len;
	uint64_t day = unix_s / 86400, secs = unix_s % 86400;

	if (day != memo_day) {
		uint64_t year;
		unsigned mon, mday;
		char *q = memo;

		civil_date(day, &year, &mon, &mday);
		q = fmt_u64_pad(q, year, 4);
		*q++ = '-';
		q = put_digits(q, mon, 2);
		*q++ = '-';
		q = put_digits(q, mday, 2);
		memo_len = (size_t)(q - memo);
		memo_day = day;
	}
	memcpy(p, memo, memo_len);
	p += memo_len;
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
