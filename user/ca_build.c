/* ca_build: see ca_build.h. */
#include "ca_build.h"
#include "bytes.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbr.h"

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

bool build_parse_ip(const char *s, uint32_t *ip)
{
	unsigned a[4];
	char tail;

	if (sscanf(s, "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4 ||
	    a[0] > 255 || a[1] > 255 || a[2] > 255 || a[3] > 255)
		return false;
	*ip = a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
	return true;
}

bool build_parse_ts(const char *s, uint64_t *ns)
{
	uint64_t sec = 0, frac = 0;
	unsigned digits = 0;

	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		if (sec > (UINT64_MAX / 1000000000u - 10) / 10)
			return false;
		sec = sec * 10 + (uint64_t)(*s++ - '0');
	}
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9') {
			if (++digits > 9)
				return false;
			frac = frac * 10 + (uint64_t)(*s++ - '0');
		}
	}
	if (*s)
		return false;
	while (digits++ < 9)
		frac *= 10;
	*ns = sec * 1000000000u + frac;
	return true;
}

/* ---- reading fields ---- */

struct rd {
	const struct json_val *obj;
	char *err;
	size_t errlen;
};

/* An unsigned field: absent -> false, *bad untouched; present and not an
 * integer in [0, max] -> *bad set. */
static bool get_uint(struct rd *r, const char *key, uint64_t max, uint64_t *out, bool *bad)
{
	const struct json_val *v = json_get(r->obj, key);
	uint64_t u;

	if (!v)
		return false;
	if (!json_u64(v, &u) || u > max) {
		fail(r->err, r->errlen, "\"%s\": an integer from 0 to %llu expected", key,
		     (unsigned long long)max);
		*bad = true;
		return false;
	}
	*out = u;
	return true;
}

static const char *get_str(struct rd *r, const char *key, bool *bad)
{
	const struct json_val *v = json_get(r->obj, key);

	if (!v || v->type == JSON_NULL)
		return NULL;
	if (v->type != JSON_STR) {
		fail(r->err, r->errlen, "\"%s\": a string expected", key);
		*bad = true;
		return NULL;
	}
	if (strlen(v->s) != v->len) {
		fail(r->err, r->errlen, "\"%s\": a NUL inside the string", key);
		*bad = true;
		return NULL;
	}
	return v->s;
}

/* ---- names ---- */

static bool command_by_name(const char *name, unsigned *cmd, int *dir, bool tcp_hint)
{
	unsigned c;
	int d, t;

	/* The wire names (READ_NOTIFY), with or without CA_PROTO_. */
	if (!strncasecmp(name, "CA_PROTO_", 9))
		name += 9;
	for (c = 0; c <= CA_PROTO_LAST_CMD; c++) {
		const char *n = ca_cmd_const_name(c);

		if (n && !strcasecmp(n, name)) {
			*cmd = c;
			*dir = -1;
			return true;
		}
	}
	/* caproto-shark's names (ReadNotifyResponse) say the direction too;
	 * some differ between TCP and UDP, so the hinted transport first. */
	for (t = 0; t < 2; t++)
		for (c = 0; c <= CA_PROTO_LAST_CMD; c++)
			for (d = 0; d < 2; d++) {
				struct ca_hdr h = { .cmd = (uint16_t)c, .size = 8, .hdr_len = 16 };
				bool tcp = t == 0 ? tcp_hint : !tcp_hint;

				if (!strcmp(ca_command_name(&h, (enum ca_dir)d, tcp), name)) {
					*cmd = c;
					*dir = d;
					return true;
				}
			}
	return false;
}

static bool dtype_by_name(const char *name, unsigned *t)
{
	unsigned i;

	if (!strncasecmp(name, "DBR_", 4))
		name += 4;
	for (i = 0; i <= DBR_LAST_TYPE; i++) {
		const char *n = dbr_type_name(i);

		if (n && !strcasecmp(n, name)) {
			*t = i;
			return true;
		}
	}
	return false;
}

/* A number or a name looked up by fn in [0, max]. */
static bool get_named(struct rd *r, const char *key, uint64_t max,
		      bool (*by_name)(const char *, unsigned *), const char *what,
		      uint64_t *out, bool *bad)
{
	const struct json_val *v = json_get(r->obj, key);
	unsigned u;

	if (!v)
		return false;
	if (v->type == JSON_STR) {
		if (!by_name(v->s, &u)) {
			fail(r->err, r->errlen, "\"%s\": unknown %s '%.40s'", key, what, v->s);
			*bad = true;
			return false;
		}
		*out = u;
		return true;
	}
	return get_uint(r, key, max, out, bad);
}

static bool eca_by_name(const char *name, unsigned *out)
{
	unsigned i;

	/* ECA codes are (number << 3) | severity: 60 numbers, 8 severities. */
	for (i = 0; i < 60u << 3; i++) {
		const char *n = ca_eca_name(i);

		if (n && !strcmp(n, name)) {
			*out = i;
			return true;
		}
	}
	return false;
}

static bool alarm_by_name(const char *name, unsigned *out)
{
	unsigned i;

	for (i = 0; i < 64; i++) {
		const char *n = alarm_status_name(i);

		if (n && !strcmp(n, name)) {
			*out = i;
			return true;
		}
	}
	return false;
}

static bool severity_by_name(const char *name, unsigned *out)
{
	unsigned i;

	for (i = 0; i < 8; i++) {
		const char *n = alarm_severity_name(i);

		if (n && !strcmp(n, name)) {
			*out = i;
			return true;
		}
	}
	return false;
}

/* The names --json gives p1 and p2 (and dtype, count for SEARCH) for a
 * command, so a line edited by name encodes as it reads. */
struct alias {
	const char *p1, *p2, *dtype, *count;
	bool p1_status, p2_status;
};

static struct alias aliases_for(unsigned cmd, bool req)
{
	struct alias a = { 0 };

	switch (cmd) {
	case CA_PROTO_CREATE_CHAN:
		a.p1 = "cid";
		a.p2 = req ? "version" : "sid";
		break;
	case CA_PROTO_READ:
	case CA_PROTO_READ_NOTIFY:
	case CA_PROTO_WRITE:
	case CA_PROTO_WRITE_NOTIFY:
		a.p1 = req ? "sid" : cmd == CA_PROTO_READ ? "cid" : "status";
		a.p1_status = !req && cmd != CA_PROTO_READ;
		a.p2 = "ioid";
		break;
	case CA_PROTO_EVENT_ADD:
		a.p1 = req ? "sid" : "status";
		a.p1_status = !req;
		a.p2 = "subscriptionid";
		break;
	case CA_PROTO_EVENT_CANCEL:
		a.p1 = "sid";
		a.p2 = "subscriptionid";
		break;
	case CA_PROTO_CLEAR_CHANNEL:
		a.p1 = "sid";
		a.p2 = "cid";
		break;
	case CA_PROTO_SEARCH:
		if (req) {
			a.p1 = "cid";
			a.p2 = "cid";
			a.dtype = "reply";
			a.count = "version";
		} else {
			a.dtype = "port";
			a.p2 = "cid";
		}
		break;
	case CA_PROTO_NOT_FOUND:
		a.dtype = "reply";
		a.count = "version";
		a.p2 = "cid";
		break;
	case CA_PROTO_ACCESS_RIGHTS:
	case CA_PROTO_CREATE_CH_FAIL:
	case CA_PROTO_SERVER_DISCONN:
		a.p1 = "cid";
		break;
	case CA_PROTO_ERROR:
		a.p1 = "cid";
		a.p2 = "status";
		a.p2_status = true;
		break;
	case CA_PROTO_RSRV_IS_UP:
		a.dtype = "version";
		a.count = "server_port";
		a.p1 = "beacon_id";
		break;
	default:
		break;
	}
	return a;
}

/* ---- payloads ---- */

static int payload_from_hex(struct rd *r, const struct json_val *v, uint8_t **out, size_t *len)
{
	size_t i, n;
	uint8_t *b;

	if (v->type != JSON_STR)
		return fail(r->err, r->errlen, "\"payload\": a hex string expected");
	if (v->len % 2)
		return fail(r->err, r->errlen, "\"payload\": an odd number of hex digits");
	n = v->len / 2;
	if (n > CA_BUILD_MAX_PAYLOAD)
		return fail(r->err, r->errlen, "\"payload\": more than %u bytes", CA_BUILD_MAX_PAYLOAD);
	b = malloc(n ? n : 1);
	if (!b)
		return fail(r->err, r->errlen, "out of memory");
	for (i = 0; i < n; i++) {
		int hi = hex_digit_value(v->s[2 * i]), lo = hex_digit_value(v->s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return fail(r->err, r->errlen, "\"payload\": '%c' at %zu is not a hex digit",
				    hi < 0 ? v->s[2 * i] : v->s[2 * i + 1], hi < 0 ? 2 * i : 2 * i + 1);
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = b;
	*len = n;
	return 0;
}

/* A NUL-terminated name, padded to 8 (how libca sends PV and host names). */
static int payload_from_name(struct rd *r, const char *key, const char *s,
			     uint8_t **out, size_t *len)
{
	size_t n = strlen(s), padded = (size_t)ca_pad8(n + 1);

	if (n > CA_MAX_NAME_LEN)
		return fail(r->err, r->errlen, "\"%s\": longer than %d bytes", key, CA_MAX_NAME_LEN);
	*out = calloc(1, padded);
	if (!*out)
		return fail(r->err, r->errlen, "out of memory");
	memcpy(*out, s, n);
	*len = padded;
	return 0;
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The value kind of a DBR type: DBR_STRING .. DBR_DOUBLE. */
static unsigned value_kind(unsigned t)
{
	if (t <= 34)
		return t % 7;
	return t == DBR_PUT_ACKT || t == DBR_PUT_ACKS ? DBR_ENUM : DBR_STRING;
}

static int put_elem(struct rd *r, unsigned kind, const struct json_val *e, size_t i, uint8_t *p)
{
	int64_t iv;
	union { float f; uint32_t u; } f32;
	union { double d; uint64_t u; } f64;

	if (kind == DBR_STRING) {
		if (e->type != JSON_STR || e->len >= MAX_STRING_SIZE)
			return fail(r->err, r->errlen, "\"data\"[%zu]: a string of at most %d bytes expected",
				    i, MAX_STRING_SIZE - 1);
		memcpy(p, e->s, e->len);
		return 0;
	}
	if (e->type != JSON_NUM)
		return fail(r->err, r->errlen, "\"data\"[%zu]: a number expected", i);
	switch (kind) {
	case DBR_FLOAT:
		f32.f = (float)e->num;
		wr32(p, f32.u);
		return 0;
	case DBR_DOUBLE:
		f64.d = e->num;
		wr32(p, (uint32_t)(f64.u >> 32));
		wr32(p + 4, (uint32_t)f64.u);
		return 0;
	case DBR_SHORT:
		if (!json_int(e, INT16_MIN, INT16_MAX, &iv))
			break;
		wr16(p, (uint32_t)iv);
		return 0;
	case DBR_ENUM:
		if (!json_int(e, 0, UINT16_MAX, &iv))
			break;
		wr16(p, (uint32_t)iv);
		return 0;
	case DBR_CHAR:
		if (!json_int(e, INT8_MIN, UINT8_MAX, &iv))
			break;
		p[0] = (uint8_t)iv;
		return 0;
	case DBR_LONG:
		if (!json_int(e, INT32_MIN, UINT32_MAX, &iv))
			break;
		wr32(p, (uint32_t)iv);
		return 0;
	}
	return fail(r->err, r->errlen, "\"data\"[%zu]: an integer that fits %s expected", i,
		    dbr_type_name(kind));
}

/* A TIME type's stamp from "stamp_unix" (Unix seconds with up to nine
 * decimals, what --json prints beside the ISO "stamp"): EPICS counts from
 * 1990. */
static int put_stamp(struct rd *r, uint8_t *p)
{
	const struct json_val *v = json_get(r->obj, "stamp_unix");
	uint64_t ns, sec;

	if (!v)
		return 0;
	if (v->type != JSON_NUM || !build_parse_ts(v->s, &ns) ||
	    ns / 1000000000u < EPICS_EPOCH_UNIX ||
	    ns / 1000000000u - EPICS_EPOCH_UNIX > UINT32_MAX)
		return fail(r->err, r->errlen,
			    "\"stamp_unix\": Unix seconds from 1990 to 2126 expected");
	sec = ns / 1000000000u - EPICS_EPOCH_UNIX;
	wr32(p, (uint32_t)sec);
	wr32(p + 4, (uint32_t)(ns % 1000000000u));
	return 0;
}

static const char *const limit_names[8] = {
	"upper_disp_limit", "lower_disp_limit", "upper_alarm_limit", "upper_warning_limit",
	"lower_warning_limit", "lower_alarm_limit", "upper_ctrl_limit", "lower_ctrl_limit",
};

/* A limit: a number, or null (--json's NaN) */
static int put_limit(struct rd *r, unsigned kind, const char *key, uint8_t *p)
{
	const struct json_val *v = json_get(r->obj, key);
	struct json_val nan_v;

	if (!v)
		return 0;
	if (v->type == JSON_NULL) {
		if (kind != DBR_FLOAT && kind != DBR_DOUBLE)
			return fail(r->err, r->errlen, "\"%s\": null is only for FLOAT and DOUBLE", key);
		memset(&nan_v, 0, sizeof(nan_v));
		nan_v.type = JSON_NUM;
		nan_v.num = NAN;
		v = &nan_v;
	}
	if (put_elem(r, kind, v, 0, p) < 0)
		return fail(r->err, r->errlen, "\"%s\": a number that fits %s expected", key,
			    dbr_type_name(kind));
	return 0;
}

/* The GR and CTRL metadata (db_access.h dbr_gr_*, dbr_ctrl_*) from the
 * names --json prints: units, precision and the limits of numeric types,
 * the state names of ENUM ones; what is not given stays zero. */
static int put_graphics(struct rd *r, unsigned t, uint8_t *b)
{
	unsigned kind = value_kind(t), i, nlim = t >= DBR_CTRL_STRING ? 8 : 6;
	bool prec = kind == DBR_FLOAT || kind == DBR_DOUBLE;
	size_t units_off = prec ? 8 : 4, esz = dbr_elem_size(t);
	const struct json_val *v;

	if (kind == DBR_STRING)
		return 0;  /* GR_STRING and CTRL_STRING are STS_STRINGs */
	if (kind == DBR_ENUM) {
		v = json_get(r->obj, "enum_strings");
		if (!v)
			return 0;
		if (v->type != JSON_ARR || v->n > MAX_ENUM_STATES)
			return fail(r->err, r->errlen, "\"enum_strings\": at most %d strings expected",
				    MAX_ENUM_STATES);
		wr16(b + 4, (uint32_t)v->n);
		for (i = 0; i < v->n; i++) {
			if (v->items[i].type != JSON_STR || v->items[i].len >= MAX_ENUM_STRING_SIZE)
				return fail(r->err, r->errlen,
					    "\"enum_strings\"[%u]: a string of at most %d bytes expected",
					    i, MAX_ENUM_STRING_SIZE - 1);
			memcpy(b + 6 + i * MAX_ENUM_STRING_SIZE, v->items[i].s, v->items[i].len);
		}
		return 0;
	}
	v = json_get(r->obj, "units");
	if (v) {
		if (v->type != JSON_STR || v->len >= MAX_UNITS_SIZE)
			return fail(r->err, r->errlen, "\"units\": a string of at most %d bytes expected",
				    MAX_UNITS_SIZE - 1);
		memcpy(b + units_off, v->s, v->len);
	}
	if (prec) {
		int64_t pr;

		v = json_get(r->obj, "precision");
		if (v && !json_int(v, INT16_MIN, INT16_MAX, &pr))
			return fail(r->err, r->errlen, "\"precision\": a 16-bit integer expected");
		if (v)
			wr16(b + 4, (uint32_t)pr);
	}
	for (i = 0; i < nlim; i++)
		if (put_limit(r, kind, limit_names[i], b + units_off + MAX_UNITS_SIZE + i * esz) < 0)
			return -1;
	return 0;
}

/* DBR_STSACK_STRING: the transient acknowledgement flag and the
 * acknowledged severity after status and severity. */
static int put_acks(struct rd *r, uint8_t *b)
{
	uint64_t ackt = 0, acks = 0;
	bool bad = false;

	get_uint(r, "ackt", UINT16_MAX, &ackt, &bad);
	get_named(r, "acks", UINT16_MAX, severity_by_name, "alarm severity", &acks, &bad);
	if (bad)
		return -1;
	wr16(b + 4, (uint32_t)ackt);
	wr16(b + 6, (uint32_t)acks);
	return 0;
}

/* An EVENT_ADD request's payload: the (unused) low, high and to floats,
 * then the mask of events wanted (default VALUE|ALARM, what camonitor
 * asks for). */
static int payload_event_add(struct rd *r, uint8_t **pl, size_t *len)
{
	static const char *const keys[3] = { "low", "high", "to" };
	uint64_t mask = 5;
	bool bad = false;
	uint8_t *b;
	unsigned i;

	get_uint(r, "mask", UINT16_MAX, &mask, &bad);
	if (bad)
		return -1;
	b = calloc(1, 16);
	if (!b)
		return fail(r->err, r->errlen, "out of memory");
	for (i = 0; i < 3; i++)
		if (put_limit(r, DBR_FLOAT, keys[i], b + 4 * i) < 0) {
			free(b);
			return -1;
		}
	wr16(b + 12, (uint32_t)mask);
	*pl = b;
	*len = 16;
	return 0;
}

/* An ERROR's payload: the header of the request it refuses
 * ("original_request", the fields --json prints there), then the message
 * text, NUL-terminated, padded to 8. */
static int payload_error(struct rd *r, uint8_t **pl, size_t *len)
{
	static const char *const keys[6] = { "cmd", "size", "dtype", "count", "p1", "p2" };
	static const uint64_t max[6] = {
		UINT16_MAX, UINT16_MAX, UINT16_MAX, UINT16_MAX, UINT32_MAX, UINT32_MAX,
	};
	const struct json_val *orig = json_get(r->obj, "original_request");
	struct rd o = { orig, r->err, r->errlen };
	uint64_t f[6] = { 0 };
	const char *msg;
	bool bad = false;
	size_t n, total;
	unsigned i;
	uint8_t *b;

	msg = get_str(r, "error_message", &bad);
	if (bad)
		return -1;
	if (orig && orig->type != JSON_OBJ)
		return fail(r->err, r->errlen, "\"original_request\": an object expected");
	for (i = 0; orig && i < 6; i++) {
		get_uint(&o, keys[i], max[i], &f[i], &bad);
		if (bad)
			return fail(r->err, r->errlen,
				    "\"original_request\": \"%s\": an integer up to %llu expected",
				    keys[i], (unsigned long long)max[i]);
	}
	n = msg ? strlen(msg) : 0;
	if (n > CA_MAX_NAME_LEN * 4)
		return fail(r->err, r->errlen, "\"error_message\": too long");
	total = CA_HDR_LEN + (size_t)ca_pad8(n + 1);
	b = calloc(1, total);
	if (!b)
		return fail(r->err, r->errlen, "out of memory");
	wr16(b, (uint32_t)f[0]);
	wr16(b + 2, (uint32_t)f[1]);
	wr16(b + 4, (uint32_t)f[2]);
	wr16(b + 6, (uint32_t)f[3]);
	wr32(b + 8, (uint32_t)f[4]);
	wr32(b + 12, (uint32_t)f[5]);
	if (n)
		memcpy(b + CA_HDR_LEN, msg, n);
	*pl = b;
	*len = total;
	return 0;
}

/* A CHAR array given as text ("data": "hello", as caput -S writes a long
 * string): its bytes and a NUL, one element each. */
static bool is_char_text(const struct json_val *data, unsigned t)
{
	return data->type == JSON_STR && t < DBR_PUT_ACKT && value_kind(t) == DBR_CHAR;
}

/* "data": [..] as a value of type t: the metadata (alarm, severity; zero
 * otherwise) and the elements, padded to 8. */
static int payload_from_data(struct rd *r, const struct json_val *data, unsigned t,
			     uint8_t **out, size_t *len)
{
	const struct json_val one[1] = { *data };
	const struct json_val *items = data->type == JSON_ARR ? data->items : one;
	bool text = is_char_text(data, t);
	size_t n = data->type == JSON_ARR ? data->n : text ? data->len + 1 : 1, i;
	size_t esz = dbr_elem_size(t);
	long off = dbr_value_offset(t);
	uint64_t total;
	uint64_t st = 0, sev = 0;
	bool bad = false;
	uint8_t *b;

	if (off < 0 || !esz)
		return fail(r->err, r->errlen, "\"data\": no DBR type %u to encode it as", t);
	total = ca_pad8((uint64_t)off + n * esz);
	if (total > CA_BUILD_MAX_PAYLOAD)
		return fail(r->err, r->errlen, "\"data\": more than %u bytes", CA_BUILD_MAX_PAYLOAD);
	get_named(r, "alarm", UINT16_MAX, alarm_by_name, "alarm status", &st, &bad);
	get_named(r, "severity", UINT16_MAX, severity_by_name, "alarm severity", &sev, &bad);
	if (bad)
		return -1;
	b = calloc(1, total ? total : 1);
	if (!b)
		return fail(r->err, r->errlen, "out of memory");
	if (off >= 4) {  /* every type with metadata starts with status, severity */
		wr16(b, (uint32_t)st);
		wr16(b + 2, (uint32_t)sev);
	}
	if ((t >= DBR_TIME_STRING && t < DBR_GR_STRING && put_stamp(r, b + 4) < 0) ||
	    (t >= DBR_GR_STRING && t < DBR_PUT_ACKT && put_graphics(r, t, b) < 0) ||
	    (t == DBR_STSACK_STRING && put_acks(r, b) < 0)) {
		free(b);
		return -1;
	}
	if (text)
		memcpy(b + off, data->s, data->len);  /* the NUL is calloc's */
	for (i = 0; i < n && !text; i++)
		if (put_elem(r, value_kind(t), &items[i], i, b + off + i * esz) < 0) {
			free(b);
			return -1;
		}
	*out = b;
	*len = total;
	return 0;
}

/* A guess at the type of a human value with no type given. */
static unsigned guess_dtype(const struct json_val *data)
{
	const struct json_val *e = data->type == JSON_ARR ? (data->n ? data->items : NULL) : data;

	return e && e->type == JSON_STR ? DBR_STRING : DBR_DOUBLE;
}

/* ---- the message ---- */

struct hdr_in {
	uint64_t cmd, dtype, count, p1, p2, size;
	bool has_dtype, has_count, has_p1, has_p2, has_size;
	int dir;  /* from the command's name, -1: not said */
};

static int read_where(struct rd *r, const struct hdr_in *hi, struct build_msg *m)
{
	const char *proto, *dir, *src, *dst;
	bool bad = false, server_side;
	uint64_t u;
	uint16_t srv_port = CA_SERVER_PORT_DEFAULT;

	proto = get_str(r, "proto", &bad);
	dir = get_str(r, "dir", &bad);
	src = get_str(r, "src", &bad);
	dst = get_str(r, "dst", &bad);
	if (bad)
		return -1;
	if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return fail(r->err, r->errlen, "\"proto\": \"tcp\" or \"udp\" expected");
	if (dir && strcmp(dir, "request") && strcmp(dir, "response"))
		return fail(r->err, r->errlen, "\"dir\": \"request\" or \"response\" expected");
	if (proto) {
		m->tcp = !strcmp(proto, "tcp");
	} else {
		switch (hi->cmd) {
		case CA_PROTO_SEARCH: case CA_PROTO_NOT_FOUND: case CA_PROTO_RSRV_IS_UP:
		case CA_PROTO_REPEATER_CONFIRM: case CA_PROTO_REPEATER_REGISTER:
			m->tcp = false;
			break;
		default:
			m->tcp = true;
		}
	}
	if (dir)
		m->dir = !strcmp(dir, "request") ? CA_DIR_REQUEST : CA_DIR_RESPONSE;
	else
		m->dir = hi->dir == CA_DIR_RESPONSE ? CA_DIR_RESPONSE : CA_DIR_REQUEST;
	m->src_ip = m->dst_ip = 0x7f000001u;
	if (src && !build_parse_ip(src, &m->src_ip))
		return fail(r->err, r->errlen, "\"src\": '%.40s' is not an IPv4 address", src);
	if (dst && !build_parse_ip(dst, &m->dst_ip))
		return fail(r->err, r->errlen, "\"dst\": '%.40s' is not an IPv4 address", dst);
	if (hi->cmd == CA_PROTO_RSRV_IS_UP || hi->cmd == CA_PROTO_REPEATER_CONFIRM ||
	    hi->cmd == CA_PROTO_REPEATER_REGISTER)
		srv_port = CA_REPEATER_PORT_DEFAULT;
	server_side = m->dir == CA_DIR_RESPONSE;
	m->sport = server_side ? srv_port : CA_BUILD_CLIENT_PORT;
	m->dport = server_side ? CA_BUILD_CLIENT_PORT : srv_port;
	if (get_uint(r, "sport", UINT16_MAX, &u, &bad))
		m->sport = (uint16_t)u;
	if (get_uint(r, "dport", UINT16_MAX, &u, &bad))
		m->dport = (uint16_t)u;
	return bad ? -1 : 0;
}

static int read_when(struct rd *r, struct build_msg *m)
{
	const struct json_val *ts = json_get(r->obj, "ts"), *hs = json_get(r->obj, "handshake");
	const struct json_val *rs = json_get(r->obj, "resync");
	bool bad = false;
	uint64_t u;

	if (ts) {
		if (ts->type != JSON_NUM || !build_parse_ts(ts->s, &m->ts_ns))
			return fail(r->err, r->errlen,
				    "\"ts\": seconds with at most nine decimals expected");
		m->has_ts = true;
	}
	m->has_frame = get_uint(r, "frame", UINT64_MAX, &m->frame, &bad);
	if (get_uint(r, "seq", UINT32_MAX, &u, &bad)) {
		m->seq = (uint32_t)u;
		m->has_seq = true;
	}
	/* The first message after a hole says so (resync): a hole before it
	 * makes the decoder find it the same way again.  Its size is not
	 * known; any will do, as the decoder resynchronises on the header. */
	if (rs && rs->type != JSON_BOOL)
		return fail(r->err, r->errlen, "\"resync\": true or false expected");
	if (get_uint(r, "gap", UINT32_MAX / 2, &u, &bad))
		m->gap = (uint32_t)u;
	else if (!bad && rs && rs->b)
		m->gap = CA_BUILD_RESYNC_GAP;
	m->handshake = true;
	if (hs) {
		if (hs->type != JSON_BOOL)
			return fail(r->err, r->errlen, "\"handshake\": true or false expected");
		m->handshake = hs->b;
	}
	return bad ? -1 : 0;
}

/* What libca puts in the fields a line leaves out: its protocol version,
 * "don't reply" on UDP searches, the server port in beacons. */
static void protocol_defaults(struct hdr_in *hi, bool req)
{
	switch (hi->cmd) {
	case CA_PROTO_VERSION:
		if (!hi->has_count)
			hi->count = CA_BUILD_MINOR_VERSION;
		break;
	case CA_PROTO_SEARCH:
		if (req && !hi->has_dtype)
			hi->dtype = CA_DONT_REPLY;
		if (req && !hi->has_count)
			hi->count = CA_BUILD_MINOR_VERSION;
		break;
	case CA_PROTO_CREATE_CHAN:
		if (req && !hi->has_p2)
			hi->p2 = CA_BUILD_MINOR_VERSION;
		break;
	case CA_PROTO_RSRV_IS_UP:
		if (!hi->has_dtype)
			hi->dtype = CA_BUILD_MINOR_VERSION;
		if (!hi->has_count)
			hi->count = CA_SERVER_PORT_DEFAULT;
		break;
	default:
		break;
	}
}

static int read_header(struct rd *r, struct hdr_in *hi)
{
	const struct json_val *cmdv = json_get(r->obj, "cmd");
	const char *command;
	const char *proto;
	bool bad = false, req;
	struct alias a;
	unsigned c;

	memset(hi, 0, sizeof(*hi));
	hi->dir = -1;
	proto = get_str(r, "proto", &bad);
	command = get_str(r, "command", &bad);
	if (bad)
		return -1;
	/* With "cmd" given, the name only hints at the direction: --json
	 * names unknown codes "UnknownCommand". */
	if (command && !command_by_name(command, &c, &hi->dir, !proto || !strcmp(proto, "tcp"))) {
		if (!cmdv)
			return fail(r->err, r->errlen, "\"command\": unknown command '%.40s'", command);
		command = NULL;
		hi->dir = -1;
	}
	if (command)
		hi->cmd = c;
	if (cmdv) {
		if (!get_uint(r, "cmd", UINT16_MAX, &hi->cmd, &bad))
			return -1;
	} else if (!command) {
		return fail(r->err, r->errlen, "no \"cmd\" or \"command\": which message?");
	}
	{
		const char *dir = get_str(r, "dir", &bad);

		req = dir ? !strcmp(dir, "request") : hi->dir != CA_DIR_RESPONSE;
	}
	a = aliases_for((unsigned)hi->cmd, req);
	hi->has_dtype = get_named(r, "dtype", UINT16_MAX, dtype_by_name, "DBR type", &hi->dtype, &bad);
	if (!hi->has_dtype && !bad)
		hi->has_dtype = get_named(r, a.dtype ? a.dtype : "data_type", UINT16_MAX,
					  dtype_by_name, "DBR type", &hi->dtype, &bad);
	hi->has_count = get_uint(r, "count", UINT32_MAX, &hi->count, &bad);
	if (!hi->has_count && !bad)
		hi->has_count = get_uint(r, a.count ? a.count : "data_count", UINT32_MAX,
					 &hi->count, &bad);
	hi->has_p1 = get_uint(r, "p1", UINT32_MAX, &hi->p1, &bad);
	if (!hi->has_p1 && !bad && a.p1)
		hi->has_p1 = a.p1_status ? get_named(r, a.p1, UINT32_MAX, eca_by_name, "ECA status",
						     &hi->p1, &bad)
					 : get_uint(r, a.p1, UINT32_MAX, &hi->p1, &bad);
	hi->has_p2 = get_uint(r, "p2", UINT32_MAX, &hi->p2, &bad);
	if (!hi->has_p2 && !bad && a.p2)
		hi->has_p2 = a.p2_status ? get_named(r, a.p2, UINT32_MAX, eca_by_name, "ECA status",
						     &hi->p2, &bad)
					 : get_uint(r, a.p2, UINT32_MAX, &hi->p2, &bad);
	hi->has_size = get_uint(r, "size", UINT32_MAX, &hi->size, &bad);
	if (!bad)
		protocol_defaults(hi, req);
	return bad ? -1 : 0;
}

static int read_payload(struct rd *r, struct hdr_in *hi, bool req, uint8_t **pl, size_t *len)
{
	const struct json_val *hex = json_get(r->obj, "payload");
	const struct json_val *data = json_get(r->obj, "data");
	const char *s;
	bool bad = false;

	*pl = NULL;
	*len = 0;
	if (!data)
		data = json_get(r->obj, "value");
	if (hex)
		return payload_from_hex(r, hex, pl, len);
	if (req && (hi->cmd == CA_PROTO_SEARCH || hi->cmd == CA_PROTO_CREATE_CHAN)) {
		s = get_str(r, "pv", &bad);
		if (bad)
			return -1;
		return s ? payload_from_name(r, "pv", s, pl, len) : 0;
	}
	if (req && hi->cmd == CA_PROTO_EVENT_ADD)
		return payload_event_add(r, pl, len);
	if (!req && hi->cmd == CA_PROTO_ERROR)
		return payload_error(r, pl, len);
	if (!req && hi->cmd == CA_PROTO_SEARCH) {
		uint64_t ver;

		/* A search reply carries the server's minor version. */
		if (!get_uint(r, "version", UINT16_MAX, &ver, &bad))
			return bad ? -1 : 0;
		*pl = calloc(1, 8);
		if (!*pl)
			return fail(r->err, r->errlen, "out of memory");
		wr16(*pl, (uint32_t)ver);
		*len = 8;
		return 0;
	}
	if (hi->cmd == CA_PROTO_CLIENT_NAME || hi->cmd == CA_PROTO_HOST_NAME) {
		s = get_str(r, "name", &bad);
		if (bad)
			return -1;
		return s ? payload_from_name(r, "name", s, pl, len) : 0;
	}
	if (data && data->type != JSON_NULL) {
		if (!hi->has_dtype) {
			hi->dtype = guess_dtype(data);
			hi->has_dtype = true;
		}
		if (!hi->has_count) {
			hi->count = data->type == JSON_ARR ? data->n
				    : is_char_text(data, (unsigned)hi->dtype) ? data->len + 1 : 1;
			hi->has_count = true;
		}
		return payload_from_data(r, data, (unsigned)hi->dtype, pl, len);
	}
	return 0;
}

/* {"datagram": "empty"}: a UDP datagram with no CA message in it, as
 * libca registers with the repeater (--json=full prints these). */
static int empty_datagram(struct rd *r, struct build_msg *out)
{
	const struct json_val *d = json_get(r->obj, "datagram");
	struct hdr_in hi;

	if (d->type != JSON_STR || strcmp(d->s, "empty"))
		return fail(r->err, r->errlen, "\"datagram\": only \"empty\" is known");
	memset(&hi, 0, sizeof(hi));
	hi.cmd = CA_PROTO_REPEATER_REGISTER;  /* for the default ports */
	hi.dir = CA_DIR_REQUEST;
	if (read_where(r, &hi, out) < 0 || read_when(r, out) < 0)
		return -1;
	if (out->tcp)
		return fail(r->err, r->errlen, "\"datagram\": goes with \"proto\": \"udp\"");
	return 0;
}

/* A payload built from names (or none) is fitted to the size the line
 * gives, zero-filled or cut: --json's lines give sizes but not every byte
 * (an ERROR's copy of the request), and libca sends a single DBR_STRING
 * shorter than its 40 bytes; so the messages after keep their places.
 * Only a raw "payload" can disagree with its size (a lying size). */
static int fit_to_size(uint8_t **pl, size_t *len, uint64_t size)
{
	uint8_t *p;

	if (size <= *len) {
		*len = (size_t)size;
		return 0;
	}
	if (size > CA_BUILD_MAX_PAYLOAD) {
		free(*pl);
		*pl = NULL;
		return -1;
	}
	p = realloc(*pl, (size_t)size);
	if (!p) {
		free(*pl);
		*pl = NULL;
		return -1;
	}
	memset(p + *len, 0, (size_t)size - *len);
	*pl = p;
	*len = (size_t)size;
	return 0;
}

int build_msg_from_json(const struct json_val *obj, struct build_msg *out,
			char *err, size_t errlen)
{
	struct rd r = { obj, err, errlen };
	const struct json_val *ext = json_get(obj, "extended");
	struct hdr_in hi;
	uint8_t *pl = NULL, *b;
	size_t pl_len = 0, hl;
	int64_t cut_hdr = -1;
	bool extended;

	memset(out, 0, sizeof(*out));
	if (!obj || obj->type != JSON_OBJ)
		return fail(err, errlen, "an object expected");
	if (json_get(obj, "datagram"))
		return empty_datagram(&r, out);
	if (read_header(&r, &hi) < 0 || read_where(&r, &hi, out) < 0 || read_when(&r, out) < 0)
		return -1;
	if (json_get(obj, "hdr_len") &&
	    !json_int(json_get(obj, "hdr_len"), 0, CA_EXT_HDR_LEN, &cut_hdr))
		return fail(err, errlen, "\"hdr_len\": an integer from 0 to %d expected",
			    CA_EXT_HDR_LEN);
	if (read_payload(&r, &hi, out->dir == CA_DIR_REQUEST, &pl, &pl_len) < 0)
		return -1;
	if (!hi.has_size)
		hi.size = pl_len;
	else if (!json_get(obj, "payload") && hi.size != pl_len &&
		 fit_to_size(&pl, &pl_len, hi.size) < 0)
		return fail(err, errlen, "\"size\": %llu bytes: out of memory",
			    (unsigned long long)hi.size);
	if (ext && ext->type != JSON_BOOL) {
		free(pl);
		return fail(err, errlen, "\"extended\": true or false expected");
	}
	extended = ext ? ext->b : hi.size >= CA_EXT_SIZE_MARK || hi.count > UINT16_MAX;
	if (!extended && (hi.size >= CA_EXT_SIZE_MARK || hi.count > UINT16_MAX)) {
		free(pl);
		return fail(err, errlen, "\"extended\": false, but size %llu or count %llu needs it",
			    (unsigned long long)hi.size, (unsigned long long)hi.count);
	}
	hl = extended ? CA_EXT_HDR_LEN : CA_HDR_LEN;
	b = malloc(hl + pl_len);
	if (!b) {
		free(pl);
		return fail(err, errlen, "out of memory");
	}
	wr16(b, (uint32_t)hi.cmd);
	wr16(b + 2, extended ? CA_EXT_SIZE_MARK : (uint32_t)hi.size);
	wr16(b + 4, (uint32_t)hi.dtype);
	wr16(b + 6, extended ? 0 : (uint32_t)hi.count);
	wr32(b + 8, (uint32_t)hi.p1);
	wr32(b + 12, (uint32_t)hi.p2);
	if (extended) {
		wr32(b + 16, (uint32_t)hi.size);
		wr32(b + 20, (uint32_t)hi.count);
	}
	if (pl_len)
		memcpy(b + hl, pl, pl_len);
	free(pl);
	out->bytes = b;
	out->len = hl + pl_len;
	/* "data_cut": the decoder kept only the first 16 MiB on purpose. */
	if ((json_get(obj, "truncated") || json_get(obj, "data_cut")) && out->tcp &&
	    hi.size > pl_len && cut_hdr < 0)
		out->tail_gap = (uint32_t)(hi.size - pl_len);
	/* A message cut inside its header (--json=full says how much of it
	 * there was): only those bytes, no payload. */
	if (cut_hdr >= 0) {
		if ((size_t)cut_hdr >= hl)
			return fail(err, errlen, "\"hdr_len\": %lld is not shorter than the header (%zu)",
				    (long long)cut_hdr, hl);
		out->len = (size_t)cut_hdr;
	}
	return 0;
}

void build_msg_free(struct build_msg *m)
{
	free(m->bytes);
	m->bytes = NULL;
	m->len = 0;
}

/* ---- ranges ---- */

/* splitmix64: small, good enough to spread load-test values, and the same
 * sequence for the same seed everywhere. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int range_spec(struct build_range_field *f, const char *key, char *err, size_t errlen)
{
	const struct json_val *o = &f->orig, *rg = json_get(o, "range");
	const struct json_val *rnd = json_get(o, "random"), *seed = json_get(o, "seed");
	const struct json_val *fmt = json_get(o, "format");
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < o->n; i++) {
		const char *k = o->members[i].key;

		if (strcmp(k, "range") && strcmp(k, "random") && strcmp(k, "seed") &&
		    strcmp(k, "format"))
			return fail(err, errlen, "\"%s\": unknown range key \"%.40s\"", key, k);
	}
	if (fmt) {
		const char *pct = fmt->type == JSON_STR ? strchr(fmt->s, '%') : NULL;

		/* One %d, nothing else for printf to read: the format is data. */
		if (!pct || pct[1] != 'd' || strchr(pct + 2, '%') || strlen(fmt->s) != fmt->len ||
		    fmt->len > CA_MAX_NAME_LEN)
			return fail(err, errlen, "\"%s\": \"format\": a string with one %%d expected",
				    key);
		f->str = malloc(fmt->len + 24);
		if (!f->str)
			return fail(err, errlen, "out of memory");
		f->fmt_pre = (size_t)(pct - fmt->s);
	}
	if (!rg || rg->type != JSON_ARR || rg->n != 2 ||
	    !json_int(&rg->items[0], INT64_MIN, INT64_MAX, &f->lo) ||
	    !json_int(&rg->items[1], INT64_MIN, INT64_MAX, &f->hi) || f->lo > f->hi)
		return fail(err, errlen, "\"%s\": {\"range\": [LO, HI]} with integers LO <= HI expected",
			    key);
	if (rnd) {
		if (!json_u64(rnd, &f->n) || f->n == 0)
			return fail(err, errlen, "\"%s\": \"random\": a count of values expected", key);
		if (seed && !json_u64(seed, &s))
			return fail(err, errlen, "\"%s\": \"seed\": an integer expected", key);
		f->random = true;
		f->rng = s;
	} else {
		if (seed)
			return fail(err, errlen, "\"%s\": \"seed\" goes with \"random\"", key);
		if ((uint64_t)f->hi - (uint64_t)f->lo >= CA_BUILD_MAX_VARIANTS)
			return fail(err, errlen, "\"%s\": more than %u values", key, CA_BUILD_MAX_VARIANTS);
		f->n = (uint64_t)f->hi - (uint64_t)f->lo + 1;
	}
	if (f->n > CA_BUILD_MAX_VARIANTS)
		return fail(err, errlen, "\"%s\": more than %u values", key, CA_BUILD_MAX_VARIANTS);
	return 0;
}

int build_ranges_prepare(struct json_val *obj, struct build_ranges *r,
			 char *err, size_t errlen)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->n = 1;
	if (!obj || obj->type != JSON_OBJ)
		return 0;
	for (i = 0; i < obj->n; i++) {
		struct json_val *v = &obj->members[i].v;
		struct build_range_field *f;

		/* Other objects (client_proc, data_cut in --json) are not ours. */
		if (v->type != JSON_OBJ || !json_get(v, "range"))
			continue;
		if (r->n_fields == BUILD_MAX_RANGES) {
			build_ranges_restore(r);
			return fail(err, errlen, "more than %d ranged fields", BUILD_MAX_RANGES);
		}
		f = &r->f[r->n_fields++];
		f->slot = v;
		f->orig = *v;
		memset(v, 0, sizeof(*v));
		v->type = JSON_NUM;
		v->s = f->text;
		if (range_spec(f, obj->members[i].key, err, errlen) < 0) {
			build_ranges_restore(r);
			return -1;
		}
		if (f->str) {
			v->type = JSON_STR;
			v->s = f->str;
		}
		if (f->n > r->n)
			r->n = f->n;
	}
	return 0;
}

void build_ranges_set(struct build_ranges *r, uint64_t i)
{
	unsigned k;

	for (k = 0; k < r->n_fields; k++) {
		struct build_range_field *f = &r->f[k];
		uint64_t span = (uint64_t)f->hi - (uint64_t)f->lo;
		uint64_t off;
		int64_t v;

		if (f->random)
			off = span == UINT64_MAX ? next_rand(&f->rng) : next_rand(&f->rng) % (span + 1);
		else
			off = (i % f->n);
		v = (int64_t)((uint64_t)f->lo + off);
		if (f->str) {
			const char *fmt = json_get(&f->orig, "format")->s;

			f->slot->len = (size_t)sprintf(f->str, "%.*s%lld%s", (int)f->fmt_pre, fmt,
						       (long long)v, fmt + f->fmt_pre + 2);
			continue;
		}
		f->slot->len = (size_t)snprintf(f->text, sizeof(f->text), "%lld", (long long)v);
		f->slot->num = (double)v;
	}
}

void build_ranges_restore(struct build_ranges *r)
{
	unsigned k;

	for (k = 0; k < r->n_fields; k++) {
		*r->f[k].slot = r->f[k].orig;
		free(r->f[k].str);
		r->f[k].str = NULL;
	}
	r->n_fields = 0;
}
