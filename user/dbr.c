/* dbr: decoding and formatting of CA DBR value payloads; see dbr.h.
 *
 * The DBR types 0..34 form a 5 x 7 grid: family (plain, STS, TIME, GR, CTRL)
 * = type / 7, value type (STRING .. DOUBLE) = type % 7.  Within a family the
 * metadata differs only by the value type's size and padding, so the decoder
 * works from the value type plus a few per-family offsets instead of one
 * function per struct.  35..38 are the alarm-acknowledge oddities.
 */
#include "dbr.h"

#include "bytes.h"

#include <stdbool.h>
#include <string.h>

#include "ca_proto.h"
#include "ca_rules.h"
#include "fmt.h"

/* The value kinds and families of dbr.h, by their short names here. */
#define vkind dbr_vkind
#define family dbr_family
#define VK_STRING DBR_VK_STRING
#define VK_SHORT DBR_VK_SHORT
#define VK_FLOAT DBR_VK_FLOAT
#define VK_ENUM DBR_VK_ENUM
#define VK_CHAR DBR_VK_CHAR
#define VK_LONG DBR_VK_LONG
#define VK_DOUBLE DBR_VK_DOUBLE
#define VK_USHORT DBR_VK_USHORT
#define FAM_PLAIN DBR_FAM_PLAIN
#define FAM_STS DBR_FAM_STS
#define FAM_TIME DBR_FAM_TIME
#define FAM_GR DBR_FAM_GR
#define FAM_CTRL DBR_FAM_CTRL
#define FAM_ACK DBR_FAM_ACK

#define DBR_GRID_LAST 34	/* last type of the 5 x 7 grid (CTRL_DOUBLE) */

static const char *const type_names[DBR_LAST_TYPE + 1] = {
	"STRING", "SHORT", "FLOAT", "ENUM", "CHAR", "LONG", "DOUBLE",
	"STS_STRING", "STS_SHORT", "STS_FLOAT", "STS_ENUM", "STS_CHAR",
	"STS_LONG", "STS_DOUBLE",
	"TIME_STRING", "TIME_SHORT", "TIME_FLOAT", "TIME_ENUM", "TIME_CHAR",
	"TIME_LONG", "TIME_DOUBLE",
	"GR_STRING", "GR_SHORT", "GR_FLOAT", "GR_ENUM", "GR_CHAR", "GR_LONG",
	"GR_DOUBLE",
	"CTRL_STRING", "CTRL_SHORT", "CTRL_FLOAT", "CTRL_ENUM", "CTRL_CHAR",
	"CTRL_LONG", "CTRL_DOUBLE",
	"PUT_ACKT", "PUT_ACKS", "STSACK_STRING", "CLASS_NAME",
};

/* db_access.h dbr_value_offset[] (padding included): one table for the
 * kernel and user space, in include/ca_rules.h. */
#define value_offsets ca_rule_value_offset

static const unsigned char vkind_sizes[] = {
	[VK_STRING] = MAX_STRING_SIZE, [VK_SHORT] = 2, [VK_FLOAT] = 4,
	[VK_ENUM] = 2, [VK_CHAR] = 1, [VK_LONG] = 4, [VK_DOUBLE] = 8,
	[VK_USHORT] = 2,
};

static const char *const alarm_status_names[] = {
	"NO_ALARM", "READ", "WRITE", "HIHI", "HIGH", "LOLO", "LOW", "STATE",
	"COS", "COMM", "TIMEOUT", "HWLIMIT", "CALC", "SCAN", "LINK", "SOFT",
	"BAD_SUB", "UDF", "DISABLE", "SIMM", "READ_ACCESS", "WRITE_ACCESS",
};

static const char *const alarm_severity_names[] = {
	"NO_ALARM", "MINOR", "MAJOR", "INVALID",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* dbr_gr_* / dbr_ctrl_* limits in wire order (GR has the first six). */
static const char *const limit_names[8] = {
	"upper_disp_limit", "lower_disp_limit", "upper_alarm_limit",
	"upper_warning_limit", "lower_warning_limit", "lower_alarm_limit",
	"upper_ctrl_limit", "lower_ctrl_limit",
};

const char *dbr_type_name(unsigned type)
{
	return type <= DBR_LAST_TYPE ? type_names[type] : NULL;
}

const char *alarm_status_name(unsigned v)
{
	return v < ARRAY_SIZE(alarm_status_names) ? alarm_status_names[v] : NULL;
}

const char *alarm_severity_name(unsigned v)
{
	return v < ARRAY_SIZE(alarm_severity_names) ?
		alarm_severity_names[v] : NULL;
}

static enum vkind type_vkind(unsigned type);
static enum family type_family(unsigned type);

enum dbr_vkind dbr_value_kind(unsigned type)
{
	return type_vkind(type);
}

enum dbr_family dbr_type_family(unsigned type)
{
	return type_family(type);
}

size_t dbr_vkind_size(enum dbr_vkind k)
{
	return vkind_sizes[k];
}

const char *dbr_limit_name(unsigned i)
{
	return i < ARRAY_SIZE(limit_names) ? limit_names[i] : NULL;
}

static enum vkind type_vkind(unsigned type)
{
	if (type <= DBR_GRID_LAST)
		return (enum vkind)(type % 7);
	if (type == DBR_PUT_ACKT || type == DBR_PUT_ACKS)
		return VK_USHORT;
	return VK_STRING;	/* STSACK_STRING, CLASS_NAME */
}

static enum family type_family(unsigned type)
{
	if (type <= DBR_GRID_LAST)
		return (enum family)(type / 7);
	return type == DBR_STSACK_STRING ? FAM_ACK : FAM_PLAIN;
}

bool dbr_is_char(unsigned type)
{
	return type <= DBR_GRID_LAST && type_vkind(type) == VK_CHAR;
}

bool dbr_is_enum(unsigned type)
{
	return type <= DBR_GRID_LAST && type_vkind(type) == VK_ENUM;
}

bool dbr_enum_names_parse(unsigned type, const uint8_t *payload, size_t len,
			  struct dbr_enum_names *out)
{
	struct bytes_view r = bytes_view(payload, len);
	enum family fam = type_family(type);
	uint16_t no_str;
	int i, n;

	if (!dbr_is_enum(type) || (fam != FAM_GR && fam != FAM_CTRL) ||
	    !bv_be16(&r, 4, &no_str) ||
	    !bv_at(&r, 6, MAX_ENUM_STATES * MAX_ENUM_STRING_SIZE))
		return false;
	n = (int16_t)no_str;
	n = n < 0 ? 0 : n > MAX_ENUM_STATES ? MAX_ENUM_STATES : n;
	memset(out, 0, sizeof(*out));
	out->n = (uint8_t)n;
	for (i = 0; i < n; i++) {
		const uint8_t *p = bv_at(&r, 6 + (size_t)i * MAX_ENUM_STRING_SIZE,
					 MAX_ENUM_STRING_SIZE);
		size_t l = strnlen((const char *)p, MAX_ENUM_STRING_SIZE);

		memcpy(out->s[i], p, l);
	}
	return true;
}

size_t dbr_elem_size(unsigned type)
{
	if (type > DBR_LAST_TYPE)
		return 0;
	return vkind_sizes[type_vkind(type)];
}

long dbr_value_offset(unsigned type)
{
	if (type > DBR_LAST_TYPE)
		return -1;
	return value_offsets[type];
}

uint64_t dbr_size_n(unsigned type, uint64_t count)
{
	uint64_t off, elem;

	if (type > DBR_LAST_TYPE)
		return 0;
	off = value_offsets[type];
	elem = vkind_sizes[type_vkind(type)];
	if (count > (UINT64_MAX - off) / elem)
		return UINT64_MAX;
	return off + count * elem;
}

/* ---- output primitives ------------------------------------------------- */

struct out {
	struct sbuf *sb;
	enum out_style style;
};

/* Separator plus field name: ", name=" or ",\"name\":". */
static inline __attribute__((always_inline)) void put_key(struct out *o, const char *name)
{
	if (o->style == OUT_JSON)
		sbuf_put_key(o->sb, ",\"", name, "\":");
	else
		sbuf_put_key(o->sb, ", ", name, "=");
}

static void put_list_sep(struct out *o)
{
	sbuf_puts(o->sb, o->style == OUT_JSON ? "," : ", ");
}

static void put_dbl(struct out *o, double v)
{
	if (o->style == OUT_JSON)
		sbuf_put_jsondouble(o->sb, v);
	else
		sbuf_put_double(o->sb, v);
}

static void put_flt(struct out *o, float v)
{
	if (o->style == OUT_JSON)
		sbuf_put_jsonfloat(o->sb, v);
	else
		sbuf_put_float(o->sb, v);
}

/* A fixed-size, NUL-padded char field: its text stops at the first NUL, or
 * at the end of the bytes there are (a field may come without its NULs). */
static void put_cstr(struct out *o, const uint8_t *p, size_t n)
{
	const uint8_t *nul = memchr(p, '\0', n);

	if (nul)
		n = (size_t)(nul - p);
	if (o->style == OUT_JSON)
		sbuf_put_jsonstr(o->sb, (const char *)p, n);
	else
		sbuf_put_pyquoted(o->sb, (const char *)p, n);
}

/* A name from a table, or the bare number when the table has none. */
static void put_named(struct out *o, const char *name, unsigned v)
{
	if (!name)
		sbuf_put_u64(o->sb, v);
	else if (o->style == OUT_JSON)
		sbuf_put_jsonstr(o->sb, name, strlen(name));
	else
		sbuf_puts(o->sb, name);
}

/* One element of kind k at p; avail bytes are readable there (at least the
 * element size, except for a last STRING that lost its trailing NULs). */
static void put_elem(struct out *o, enum vkind k, const uint8_t *p,
		     size_t avail)
{
	uint32_t u32;
	uint64_t u64;
	float f;
	double d;

	switch (k) {
	case VK_STRING:
		put_cstr(o, p, avail < MAX_STRING_SIZE ? avail : MAX_STRING_SIZE);
		break;
	case VK_SHORT:
		sbuf_put_i64(o->sb, (int16_t)rd_be16(p));
		break;
	case VK_ENUM:
	case VK_USHORT:
		sbuf_put_u64(o->sb, rd_be16(p));
		break;
	case VK_CHAR:		/* dbr_char_t is epicsUInt8 */
		sbuf_put_u64(o->sb, p[0]);
		break;
	case VK_LONG:
		sbuf_put_i64(o->sb, (int32_t)rd_be32(p));
		break;
	case VK_FLOAT:
		u32 = rd_be32(p);
		memcpy(&f, &u32, sizeof(f));
		put_flt(o, f);
		break;
	case VK_DOUBLE:
		u64 = rd_be64(p);
		memcpy(&d, &u64, sizeof(d));
		put_dbl(o, d);
		break;
	}
}

/* ---- metadata ------------------------------------------------------------
 * Each returns false when its bytes are not all there; the caller then stops,
 * so the printed fields are always a prefix of the full list.
 */

/* status and severity (u16 each) at offset 0 of every non-plain struct. */
static bool put_sts(struct out *o, const struct bytes_view *r)
{
	const uint8_t *p = bv_at(r, 0, 4);

	if (!p)
		return false;
	put_key(o, "alarm");
	put_named(o, alarm_status_name(rd_be16(p)), rd_be16(p));
	put_key(o, "severity");
	put_named(o, alarm_severity_name(rd_be16(p + 2)), rd_be16(p + 2));
	return true;
}

/* UTC calendar time of a Unix second count, by hand (fmt_iso_utc) rather
 * than with gmtime_r so that a 32-bit time_t cannot truncate EPICS stamps
 * past 2038. */
static void put_iso_utc(struct out *o, uint64_t t, uint32_t nsec)
{
	char *p = sbuf_room(o->sb, FMT_ISO_UTC_MAX);

	if (p)
		sbuf_end(o->sb, fmt_iso_utc(p, t, nsec));
}

/* epicsTimeStamp at offset 4: secPastEpoch, nsec (u32 each).  An nsec out of
 * range (>= 1e9) is printed as it is: the tracer shows the wire. */
static bool put_stamp(struct out *o, const struct bytes_view *r)
{
	const uint8_t *p = bv_at(r, 4, 8);
	uint64_t unix_s;
	uint32_t nsec;
	char *q;

	if (!p)
		return false;
	unix_s = (uint64_t)rd_be32(p) + EPICS_EPOCH_UNIX;
	nsec = rd_be32(p + 4);
	put_key(o, "stamp");
	if (o->style == OUT_JSON) {
		sbuf_putc(o->sb, '"');
		put_iso_utc(o, unix_s, nsec);
		sbuf_putc(o->sb, '"');
		put_key(o, "stamp_unix");
		sbuf_put_u64(o->sb, unix_s);
		sbuf_putc(o->sb, '.');
		q = sbuf_room(o->sb, FMT_U64_MAX);
		if (q)
			sbuf_end(o->sb, fmt_u64_pad(q, nsec, 9));
	} else {
		sbuf_putc(o->sb, '\'');
		put_iso_utc(o, unix_s, nsec);
		sbuf_putc(o->sb, '\'');
	}
	return true;
}


/* dbr_gr_* / dbr_ctrl_* of a numeric type: after status and severity,
 * FLOAT and DOUBLE have precision (i16) and a 2-byte pad, then all have
 * units[8] and 6 (GR) or 8 (CTRL) limits of the value type. */
static bool put_gr_numeric(struct out *o, const struct bytes_view *r, enum vkind k,
			   bool ctrl)
{
	bool has_prec = (k == VK_FLOAT || k == VK_DOUBLE);
	size_t units_off = has_prec ? 8 : 4, esz = vkind_sizes[k];
	size_t lim_off = units_off + MAX_UNITS_SIZE;
	unsigned i, nlim = ctrl ? 8 : 6;
	const uint8_t *units = bv_at(r, units_off, MAX_UNITS_SIZE);
	const uint8_t *p;

	if (!units)
		return false;
	put_key(o, "units");
	put_cstr(o, units, MAX_UNITS_SIZE);
	if (has_prec) {
		p = bv_at(r, 4, 2);	/* before units: present if they are */
		put_key(o, "precision");
		sbuf_put_i64(o->sb, (int16_t)rd_be16(p));
	}
	for (i = 0; i < nlim; i++) {
		p = bv_at(r, lim_off + i * esz, esz);
		if (!p)
			return false;
		put_key(o, limit_names[i]);
		put_elem(o, k, p, esz);
	}
	return true;
}

/* dbr_gr_enum / dbr_ctrl_enum: no_str (i16), then strs[16][26].  no_str is
 * clamped to 0..16; a string that lost its NUL stops at its 26 bytes. */
static bool put_enum_strings(struct out *o, const struct bytes_view *r)
{
	const uint8_t *p = bv_at(r, 4, 2);
	int n, i;

	if (!p)
		return false;
	n = (int16_t)rd_be16(p);
	if (n < 0)
		n = 0;
	if (n > MAX_ENUM_STATES)
		n = MAX_ENUM_STATES;
	/* All 16 slots precede the value, so require them all at once:
	 * a partial list would look complete. */
	if (!bv_at(r, 6, MAX_ENUM_STATES * MAX_ENUM_STRING_SIZE))
		return false;
	put_key(o, "enum_strings");
	sbuf_putc(o->sb, '[');
	for (i = 0; i < n; i++) {
		if (i)
			put_list_sep(o);
		put_cstr(o, bv_at(r, 6 + (size_t)i * MAX_ENUM_STRING_SIZE,
				  MAX_ENUM_STRING_SIZE),
			 MAX_ENUM_STRING_SIZE);
	}
	sbuf_putc(o->sb, ']');
	return true;
}

/* dbr_stsack_string: status, severity, ackt, acks (u16 each).  ackt is a
 * yes/no flag, acks the highest unacknowledged severity. */
static bool put_stsack(struct out *o, const struct bytes_view *r)
{
	const uint8_t *p = bv_at(r, 4, 4);

	if (!p)
		return false;
	put_key(o, "ackt");
	sbuf_put_u64(o->sb, rd_be16(p));
	put_key(o, "acks");
	put_named(o, alarm_severity_name(rd_be16(p + 2)), rd_be16(p + 2));
	return true;
}

static bool put_meta(struct out *o, const struct bytes_view *r, unsigned type)
{
	enum family fam = type_family(type);
	enum vkind k = type_vkind(type);

	if (fam == FAM_PLAIN)
		return true;
	if (!put_sts(o, r))
		return false;
	switch (fam) {
	case FAM_TIME:
		return put_stamp(o, r);
	case FAM_GR:
	case FAM_CTRL:
		/* GR_STRING and CTRL_STRING are plain STS_STRINGs. */
		if (k == VK_STRING)
			return true;
		if (k == VK_ENUM)
			return put_enum_strings(o, r);
		return put_gr_numeric(o, r, k, fam == FAM_CTRL);
	case FAM_ACK:
		return put_stsack(o, r);
	default:
		return true;
	}
}

/* ---- the value list ------------------------------------------------------ */

/* Elements the bytes after the metadata hold.  With count > 0 a partial
 * last STRING counts (CA may drop a string's trailing NULs); with count 0
 * only whole elements do, as the rest is likely padding. */
static uint64_t elems_available(size_t bytes, enum vkind k, uint32_t count, bool cut)
{
	size_t esz = vkind_sizes[k];
	uint64_t n = bytes / esz;

	/* Bytes cut on purpose end wherever the budget did: a partial
	 * string there is a cut, never shown as if whole. */
	if (k == VK_STRING && count && bytes % esz && !cut)
		n++;
	return n;
}

static void put_values(struct out *o, const struct bytes_view *r, size_t off,
		       enum vkind k, uint64_t want, uint64_t nprint)
{
	size_t esz = vkind_sizes[k];
	uint64_t i;

	put_key(o, o->style == OUT_JSON ? "value" : "data");
	sbuf_putc(o->sb, '[');
	for (i = 0; i < nprint; i++) {
		/* i < elements available, so off + i * esz < len: no wrap. */
		size_t at = off + (size_t)i * esz;
		size_t avail = r->len - at;

		if (i)
			put_list_sep(o);
		put_elem(o, k, r->p + at, avail < esz ? avail : esz);
	}
	if (o->style == OUT_TEXT && want > nprint)
		sbuf_puts(o->sb, nprint ? ", ..." : "...");
	sbuf_putc(o->sb, ']');
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

enum dbr_result dbr_append_value(struct sbuf *sb, enum out_style style,
				 unsigned type, uint32_t count,
				 const uint8_t *payload, size_t len,
				 size_t max_elements)
{
	return dbr_append_value_cut(sb, style, type, count, payload, len, max_elements,
				    false);
}

enum dbr_result dbr_append_value_cut(struct sbuf *sb, enum out_style style,
				     unsigned type, uint32_t count,
				     const uint8_t *payload, size_t len,
				     size_t max_elements, bool cut)
{
	struct out o = { .sb = sb, .style = style };
	struct bytes_view r = bytes_view(payload, len);
	uint64_t avail, want, limit, nprint;
	size_t off;
	enum vkind k;

	if (type > DBR_LAST_TYPE)
		return DBR_BAD_TYPE;
	if (!put_meta(&o, &r, type))
		return DBR_TRUNCATED;
	off = value_offsets[type];
	if (off > r.len)	/* only padding fields can be missing here */
		return DBR_TRUNCATED;
	k = type_vkind(type);
	avail = elems_available(r.len - off, k, count, cut);
	/* The header's count is the number of elements: a reply to a count-0
	 * request carries the real count, so count 0 means none (the 8
	 * payload bytes are padding, not zeros to show). */
	want = count;
	limit = max_elements ? min_u64(want, max_elements) : want;
	nprint = min_u64(limit, avail);
	put_values(&o, &r, off, k, want, nprint);
	return nprint < limit ? DBR_TRUNCATED : DBR_OK;
}
