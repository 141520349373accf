/* fmt: small hand-written number and time formatters for the output path.
 *
 * A printf-family call parses its format string and sets up a string
 * stream every time; with one call per field that was about 70% of
 * `catrace -r`'s time.  These write straight into the caller's memory and
 * return the end of what they wrote (no NUL).  The caller provides room
 * for the largest result (the FMT_*_MAX sizes).  The output is that of
 * the printf conversions named beside each function, byte for byte.
 */
#ifndef CATRACE_FMT_H
#define CATRACE_FMT_H

#include <stdbool.h>
#include <stdint.h>

#define FMT_U64_MAX      20   /* 18446744073709551615 */
#define FMT_I64_MAX      20   /* -9223372036854775808 */
#define FMT_IPV4_MAX     15   /* 255.255.255.255 */
#define FMT_DOUBLE_MAX   32   /* -0.00012345678901234567 (22), -1.2345678901234567e-308 (24) */
#define FMT_DATE_MAX     40   /* a 20-digit year, then -MM-DD HH:MM:SS */
#define FMT_ISO_UTC_MAX  52   /* FMT_DATE_MAX, '.', 10 nsec digits, 'Z' */

/* "%llu" */
char *fmt_u64(char *p, uint64_t v);
/* "%0*llu": at least `width` digits (at most 20), zeros in front. */
char *fmt_u64_pad(char *p, uint64_t v, unsigned width);
/* "%lld" */
char *fmt_i64(char *p, int64_t v);
/* "%u.%u.%u.%u" of an address in host byte order. */
char *fmt_ipv4(char *p, uint32_t ip);
/* "%0*x": lower-case hex, at least `width` digits (at most 8). */
char *fmt_hex(char *p, uint32_t v, unsigned width);

/* A double in Python repr style: the fewest significant digits that read
 * back (strtod) as the same value; positional for decimal exponents
 * -4..15 (with ".0" when there is no fraction: "12.0"), else scientific
 * as "%.*e" writes it ("1e+16", "1.5e-05"); "nan", "inf", "-inf".
 * fmt_float: the fewest digits that read back as the same float. */
char *fmt_double(char *p, double v);
char *fmt_float(char *p, float v);
/* The same result found the slow way, a "%.*e" + strtod search over
 * 1..17 digits: the fallback for values the fast path cannot decide, and
 * the reference the tests hold the fast path to. */
char *fmt_shortest_by_search(char *p, double v, bool as_float);

/* strftime "%Y-%m-%d %H:%M:%S" of a Unix time, UTC, proleptic Gregorian. */
char *fmt_date_time(char *p, uint64_t unix_s);
/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (the year at least 4 digits, nsec at
 * least 9: an out-of-range nsec is written as it is). */
char *fmt_iso_utc(char *p, uint64_t unix_s, uint32_t nsec);

#endif
