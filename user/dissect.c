/* dissect: see dissect.h.
 *
 * Layouts: the CA header (ca_decode.c's diagram), each command's use of
 * its parameters (the same meanings output.c prints), and the DBR structs
 * of db_access.h through dbr.c's value kinds, families, value offsets and
 * limit names, so a layout is written down once.
 */
#include "dissect.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dbr.h"
#include "fmt.h"

/* Field descriptors, by a name the code uses. */
enum {
	F_CMD, F_SIZE, F_DTYPE, F_COUNT, F_DTYPE_RAW, F_COUNT_RAW, F_P1, F_P2,
	F_EXT_SIZE, F_EXT_COUNT, F_HDR_PARTIAL,
	F_PRIORITY, F_MINOR, F_CLIENT_MINOR, F_VERSION_FLAG, F_SEQUENCE, F_REPLY,
	F_CID, F_SID, F_IOID, F_SUBID, F_STATUS, F_ACCESS, F_PORT, F_SRV_IP,
	F_BEACON_ID, F_BEACON_VER, F_REPEATER_IP, F_CLIENT_IP,
	F_PV, F_USER, F_HOST, F_SRV_MINOR, F_LOW, F_HIGH, F_TO, F_MASK,
	F_ORIG_CMD, F_ORIG_SIZE, F_ORIG_DTYPE, F_ORIG_COUNT, F_ORIG_P1, F_ORIG_P2,
	F_ORIG_EXT_SIZE, F_ORIG_EXT_COUNT, F_ERRMSG, F_PAYLOAD, F_PAD,
	F_ASTATUS, F_ASEV, F_STAMP, F_DBR_PAD, F_PREC, F_PREC_PAD, F_UNITS,
	F_LIMIT0, F_LIMIT1, F_LIMIT2, F_LIMIT3, F_LIMIT4, F_LIMIT5, F_LIMIT6,
	F_LIMIT7, F_NO_STR, F_ENUM_STR, F_ENUM_UNUSED, F_ACKT, F_ACKS, F_VALUE,
	F_MORE,
	F_LINK_HDR, F_ETH_DST, F_ETH_SRC, F_ETH_VLAN_TPID, F_ETH_VLAN_TCI, F_ETH_TYPE,
	F_IP_VHL, F_IP_DSF, F_IP_LEN, F_IP_ID, F_IP_FRAG, F_IP_TTL, F_IP_PROTO,
	F_IP_CSUM, F_IP_SRC, F_IP_DST, F_IP_OPT,
	F_UDP_SPORT, F_UDP_DPORT, F_UDP_LEN, F_UDP_CSUM,
	F_TCP_SPORT, F_TCP_DPORT, F_TCP_SEQ, F_TCP_ACK, F_TCP_OFF_FLAGS, F_TCP_WIN,
	F_TCP_CSUM, F_TCP_URG, F_TCP_OPT, F_N
};

#define D(i, id_, name_, type_, dict_, size_, array_) \
	[i] = { id_, name_, type_, dict_, size_, array_ }

const struct dis_desc dis_descs[F_N] = {
	/* The header. */
	D(F_CMD, "ca.command", "Command", DIS_ENUM, DIS_DICT_COMMAND, 2, false),
	D(F_SIZE, "ca.payload_size", "Payload size", DIS_UINT, 0, 2, false),
	D(F_DTYPE, "ca.data_type", "Data type", DIS_ENUM, DIS_DICT_DBR_TYPE, 2, false),
	D(F_COUNT, "ca.data_count", "Data count", DIS_UINT, 0, 2, false),
	D(F_DTYPE_RAW, "ca.data_type_field", "Data type field (unused here)", DIS_UINT, 0, 2, false),
	D(F_COUNT_RAW, "ca.data_count_field", "Data count field (unused here)", DIS_UINT, 0, 2, false),
	D(F_P1, "ca.parameter1", "Parameter 1 (unused here)", DIS_UINT, 0, 4, false),
	D(F_P2, "ca.parameter2", "Parameter 2 (unused here)", DIS_UINT, 0, 4, false),
	D(F_EXT_SIZE, "ca.ext_payload_size", "Extended payload size", DIS_UINT, 0, 4, false),
	D(F_EXT_COUNT, "ca.ext_data_count", "Extended data count", DIS_UINT, 0, 4, false),
	D(F_HDR_PARTIAL, "ca.header_partial", "Partial header", DIS_BYTES, 0, 0, false),
	/* What the header's fields mean for a command. */
	D(F_PRIORITY, "ca.priority", "Circuit priority", DIS_UINT, 0, 2, false),
	D(F_MINOR, "ca.minor_version", "Protocol minor version", DIS_UINT, 0, 2, false),
	D(F_CLIENT_MINOR, "ca.client_minor_version", "Client protocol minor version", DIS_UINT, 0, 4, false),
	D(F_VERSION_FLAG, "ca.sequence_flag", "Search sequence flag (1: parameter 1 is a sequence number)", DIS_UINT, 0, 2, false),
	D(F_SEQUENCE, "ca.search_sequence", "Search sequence number", DIS_UINT, 0, 4, false),
	D(F_REPLY, "ca.reply_flag", "Reply flag", DIS_ENUM, DIS_DICT_REPLY_FLAG, 2, false),
	D(F_CID, "ca.cid", "Client channel ID", DIS_UINT, 0, 4, false),
	D(F_SID, "ca.sid", "Server channel ID", DIS_UINT, 0, 4, false),
	D(F_IOID, "ca.ioid", "I/O request ID", DIS_UINT, 0, 4, false),
	D(F_SUBID, "ca.subscription_id", "Subscription ID", DIS_UINT, 0, 4, false),
	D(F_STATUS, "ca.status", "Status (ECA code)", DIS_ENUM, DIS_DICT_ECA, 4, false),
	D(F_ACCESS, "ca.access_rights", "Access rights", DIS_ENUM, DIS_DICT_ACCESS, 4, false),
	D(F_PORT, "ca.server_port", "Server TCP port", DIS_UINT, 0, 2, false),
	D(F_SRV_IP, "ca.server_address", "Server address", DIS_IPV4, 0, 4, false),
	D(F_BEACON_ID, "ca.beacon_id", "Beacon sequence ID", DIS_UINT, 0, 4, false),
	D(F_BEACON_VER, "ca.server_minor_version", "Server protocol minor version", DIS_UINT, 0, 2, false),
	D(F_REPEATER_IP, "ca.repeater_address", "Repeater address", DIS_IPV4, 0, 4, false),
	D(F_CLIENT_IP, "ca.client_address", "Client address", DIS_IPV4, 0, 4, false),
	/* Payloads. */
	D(F_PV, "ca.pv", "Channel name", DIS_STRING, 0, 0, false),
	D(F_USER, "ca.user_name", "Client user name", DIS_STRING, 0, 0, false),
	D(F_HOST, "ca.host_name", "Client host name", DIS_STRING, 0, 0, false),
	D(F_SRV_MINOR, "ca.server_minor_version_payload", "Server protocol minor version", DIS_UINT, 0, 2, false),
	D(F_LOW, "ca.low", "Low (unused)", DIS_FLOAT, 0, 4, false),
	D(F_HIGH, "ca.high", "High (unused)", DIS_FLOAT, 0, 4, false),
	D(F_TO, "ca.to", "Timeout (unused)", DIS_FLOAT, 0, 4, false),
	D(F_MASK, "ca.mask", "Monitor mask", DIS_FLAGS, DIS_DICT_MASK, 2, false),
	D(F_ORIG_CMD, "ca.error.command", "Failed request: command", DIS_ENUM, DIS_DICT_COMMAND, 2, false),
	D(F_ORIG_SIZE, "ca.error.payload_size", "Failed request: payload size", DIS_UINT, 0, 2, false),
	D(F_ORIG_DTYPE, "ca.error.data_type", "Failed request: data type", DIS_UINT, 0, 2, false),
	D(F_ORIG_COUNT, "ca.error.data_count", "Failed request: data count", DIS_UINT, 0, 2, false),
	D(F_ORIG_P1, "ca.error.parameter1", "Failed request: parameter 1", DIS_UINT, 0, 4, false),
	D(F_ORIG_P2, "ca.error.parameter2", "Failed request: parameter 2", DIS_UINT, 0, 4, false),
	D(F_ORIG_EXT_SIZE, "ca.error.ext_payload_size", "Failed request: extended payload size", DIS_UINT, 0, 4, false),
	D(F_ORIG_EXT_COUNT, "ca.error.ext_data_count", "Failed request: extended data count", DIS_UINT, 0, 4, false),
	D(F_ERRMSG, "ca.error.message", "Error message", DIS_STRING, 0, 0, false),
	D(F_PAYLOAD, "ca.payload", "Payload", DIS_BYTES, 0, 0, false),
	D(F_PAD, "ca.padding", "Padding to 8 bytes", DIS_BYTES, 0, 0, false),
	/* DBR values (db_access.h). */
	D(F_ASTATUS, "ca.dbr.status", "Alarm status", DIS_ENUM, DIS_DICT_ALARM_STATUS, 2, false),
	D(F_ASEV, "ca.dbr.severity", "Alarm severity", DIS_ENUM, DIS_DICT_ALARM_SEVERITY, 2, false),
	D(F_STAMP, "ca.dbr.stamp", "Time stamp", DIS_STAMP, 0, 8, false),
	D(F_DBR_PAD, "ca.dbr.pad", "Alignment padding", DIS_BYTES, 0, 0, false),
	D(F_PREC, "ca.dbr.precision", "Display precision", DIS_INT, 0, 2, false),
	D(F_PREC_PAD, "ca.dbr.precision_pad", "Padding after the precision", DIS_BYTES, 0, 2, false),
	D(F_UNITS, "ca.dbr.units", "Engineering units", DIS_STRING, 0, 8, false),
	D(F_LIMIT0, "ca.dbr.upper_disp_limit", "Upper display limit", DIS_DBR_VALUE, 0, 0, false),
	D(F_LIMIT1, "ca.dbr.lower_disp_limit", "Lower display limit", DIS_DBR_VALUE, 0, 0, false),
	D(F_LIMIT2, "ca.dbr.upper_alarm_limit", "Upper alarm limit", DIS_DBR_VALUE, 0, 0, false),
	D(F_LIMIT3, "ca.dbr.upper_warning_limit", "Upper warning limit", DIS_DBR_VALUE, 0, 0, false),
	D(F_LIMIT4, "ca.dbr.lower_warning_limit", "Lower warning limit", DIS_DBR_VALUE, 0, 0, false),
	D(F_LIMIT5, "ca.dbr.lower_alarm_limit", "Lower alarm limit", DIS_DBR_VALUE, 0, 0, false),
	D(F_LIMIT6, "ca.dbr.upper_ctrl_limit", "Upper control limit", DIS_DBR_VALUE, 0, 0, false),
	D(F_LIMIT7, "ca.dbr.lower_ctrl_limit", "Lower control limit", DIS_DBR_VALUE, 0, 0, false),
	D(F_NO_STR, "ca.dbr.no_str", "Number of enum states", DIS_INT, 0, 2, false),
	D(F_ENUM_STR, "ca.dbr.enum_string", "Enum state name", DIS_STRING, 0, MAX_ENUM_STRING_SIZE, true),
	D(F_ENUM_UNUSED, "ca.dbr.enum_unused", "Unused enum state slots", DIS_BYTES, 0, 0, false),
	D(F_ACKT, "ca.dbr.ackt", "Transient alarms need acknowledging", DIS_UINT, 0, 2, false),
	D(F_ACKS, "ca.dbr.acks", "Highest unacknowledged severity", DIS_ENUM, DIS_DICT_ALARM_SEVERITY, 2, false),
	D(F_VALUE, "ca.dbr.value", "Value element", DIS_DBR_VALUE, 0, 0, true),
	D(F_MORE, "ca.dbr.more_values", "Further value elements (not dissected one by one)", DIS_BYTES, 0, 0, false),
	/* The frame's headers (--all-layers). */
	D(F_LINK_HDR, "link.header", "Link-layer header (cooked or loopback)", DIS_BYTES, 0, 0, false),
	D(F_ETH_DST, "eth.dst", "Destination MAC", DIS_MAC, 0, 6, false),
	D(F_ETH_SRC, "eth.src", "Source MAC", DIS_MAC, 0, 6, false),
	D(F_ETH_VLAN_TPID, "eth.vlan_tpid", "VLAN tag protocol ID", DIS_UINT, 0, 2, true),
	D(F_ETH_VLAN_TCI, "eth.vlan_tci", "VLAN tag control (priority, DEI, VLAN ID)", DIS_UINT, 0, 2, true),
	D(F_ETH_TYPE, "eth.type", "EtherType", DIS_UINT, 0, 2, false),
	D(F_IP_VHL, "ip.version_ihl", "Version and header length (words)", DIS_UINT, 0, 1, false),
	D(F_IP_DSF, "ip.dsfield", "Differentiated services", DIS_UINT, 0, 1, false),
	D(F_IP_LEN, "ip.len", "Total length", DIS_UINT, 0, 2, false),
	D(F_IP_ID, "ip.id", "Identification", DIS_UINT, 0, 2, false),
	D(F_IP_FRAG, "ip.flags_frag", "Flags and fragment offset", DIS_UINT, 0, 2, false),
	D(F_IP_TTL, "ip.ttl", "Time to live", DIS_UINT, 0, 1, false),
	D(F_IP_PROTO, "ip.proto", "Protocol", DIS_UINT, 0, 1, false),
	D(F_IP_CSUM, "ip.checksum", "Header checksum", DIS_UINT, 0, 2, false),
	D(F_IP_SRC, "ip.src", "Source address", DIS_IPV4, 0, 4, false),
	D(F_IP_DST, "ip.dst", "Destination address", DIS_IPV4, 0, 4, false),
	D(F_IP_OPT, "ip.options", "Options", DIS_BYTES, 0, 0, false),
	D(F_UDP_SPORT, "udp.srcport", "Source port", DIS_UINT, 0, 2, false),
	D(F_UDP_DPORT, "udp.dstport", "Destination port", DIS_UINT, 0, 2, false),
	D(F_UDP_LEN, "udp.length", "Length", DIS_UINT, 0, 2, false),
	D(F_UDP_CSUM, "udp.checksum", "Checksum", DIS_UINT, 0, 2, false),
	D(F_TCP_SPORT, "tcp.srcport", "Source port", DIS_UINT, 0, 2, false),
	D(F_TCP_DPORT, "tcp.dstport", "Destination port", DIS_UINT, 0, 2, false),
	D(F_TCP_SEQ, "tcp.seq", "Sequence number", DIS_UINT, 0, 4, false),
	D(F_TCP_ACK, "tcp.ack", "Acknowledgement number", DIS_UINT, 0, 4, false),
	D(F_TCP_OFF_FLAGS, "tcp.hdr_len_flags", "Header length (words) and flags", DIS_UINT, 0, 2, false),
	D(F_TCP_WIN, "tcp.window", "Window", DIS_UINT, 0, 2, false),
	D(F_TCP_CSUM, "tcp.checksum", "Checksum", DIS_UINT, 0, 2, false),
	D(F_TCP_URG, "tcp.urgent", "Urgent pointer", DIS_UINT, 0, 2, false),
	D(F_TCP_OPT, "tcp.options", "Options", DIS_BYTES, 0, 0, false),
};

const size_t dis_n_descs = F_N;

const char *dis_type_name(enum dis_type t)
{
	static const char *const names[] = {
		[DIS_UINT] = "uint", [DIS_INT] = "int", [DIS_FLOAT] = "float",
		[DIS_DOUBLE] = "double", [DIS_ENUM] = "enum", [DIS_FLAGS] = "flags",
		[DIS_IPV4] = "ipv4", [DIS_STRING] = "string", [DIS_STAMP] = "timestamp",
		[DIS_BYTES] = "bytes", [DIS_DBR_VALUE] = "dbr_value", [DIS_MAC] = "mac",
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

const char *dis_dict_name(enum dis_dict d)
{
	static const char *const names[DIS_DICT_COUNT] = {
		[DIS_DICT_NONE] = NULL, [DIS_DICT_COMMAND] = "command",
		[DIS_DICT_DBR_TYPE] = "dbr_type", [DIS_DICT_ECA] = "eca",
		[DIS_DICT_ALARM_STATUS] = "alarm_status",
		[DIS_DICT_ALARM_SEVERITY] = "alarm_severity",
		[DIS_DICT_ACCESS] = "access_rights", [DIS_DICT_MASK] = "monitor_mask",
		[DIS_DICT_REPLY_FLAG] = "reply_flag",
	};

	return (unsigned)d < DIS_DICT_COUNT ? names[d] : NULL;
}

static const char *reply_flag_name(uint64_t v)
{
	return v == CA_DO_REPLY ? "DO_REPLY" : v == CA_DONT_REPLY ? "DONT_REPLY" : NULL;
}

const char *dis_dict_lookup(enum dis_dict d, uint64_t v, enum ca_dir dir)
{
	unsigned u = v > UINT32_MAX ? UINT32_MAX : (unsigned)v;

	switch (d) {
	case DIS_DICT_COMMAND:
		return ca_cmd_dir_name(u, dir);
	case DIS_DICT_DBR_TYPE:
		return dbr_type_name(u);
	case DIS_DICT_ECA:
		return ca_eca_name(u);
	case DIS_DICT_ALARM_STATUS:
		return alarm_status_name(u);
	case DIS_DICT_ALARM_SEVERITY:
		return alarm_severity_name(u);
	case DIS_DICT_ACCESS:
		return ca_access_name(u);
	case DIS_DICT_MASK:	/* a bit number */
		return ca_mask_bit_name(u);
	case DIS_DICT_REPLY_FLAG:
		return reply_flag_name(v);
	default:
		return NULL;
	}
}

/* The i-th entry of a dictionary whose names are looked up by value 0..max
 * (gaps skipped). */
static bool dense_at(enum dis_dict d, unsigned max, size_t i, uint64_t *v,
		     const char **name, enum ca_dir dir)
{
	unsigned k;

	for (k = 0; k <= max; k++) {
		const char *nm = dis_dict_lookup(d, k, dir);

		if (nm && i-- == 0) {
			*v = k;
			*name = nm;
			return true;
		}
	}
	return false;
}

bool dis_dict_at(enum dis_dict d, size_t i, uint64_t *v, const char **name,
		 enum ca_dir *dir)
{
	uint32_t code;
	size_t nreq = 0;
	uint64_t dummy;
	const char *dn;

	*dir = CA_DIR_REQUEST;
	switch (d) {
	case DIS_DICT_COMMAND:
		while (dense_at(d, CA_PROTO_LAST_CMD, nreq, &dummy, &dn, CA_DIR_REQUEST))
			nreq++;
		if (i < nreq)
			return dense_at(d, CA_PROTO_LAST_CMD, i, v, name, CA_DIR_REQUEST);
		*dir = CA_DIR_RESPONSE;
		return dense_at(d, CA_PROTO_LAST_CMD, i - nreq, v, name, CA_DIR_RESPONSE);
	case DIS_DICT_ECA:
		if (!ca_eca_at(i, &code, name))
			return false;
		*v = code;
		return true;
	case DIS_DICT_DBR_TYPE:
		return dense_at(d, DBR_LAST_TYPE, i, v, name, *dir);
	case DIS_DICT_ALARM_STATUS:
	case DIS_DICT_ALARM_SEVERITY:
	case DIS_DICT_ACCESS:
	case DIS_DICT_MASK:
		/* Tables of a few dozen at most: 255 bounds the walk. */
		return dense_at(d, 255, i, v, name, *dir);
	case DIS_DICT_REPLY_FLAG:
		return dense_at(d, CA_DO_REPLY, i, v, name, *dir);
	default:
		return false;
	}
}

/* ---- building the list ---- */

struct builder {
	struct dis_msg *dm;
	uint32_t end;        /* the message's last byte + 1 */
	uint8_t depth;
};

/* A field of len bytes at off, clipped to the message; returns where the
 * next byte is.  Nothing for an empty one. */
static uint32_t add_idx(struct builder *b, unsigned desc, uint32_t off, uint64_t len,
			int32_t index, uint8_t kind)
{
	struct dis_msg *dm = b->dm;
	struct dis_field *f;

	if (off >= b->end || len == 0)
		return off;
	if (len > b->end - off)
		len = b->end - off;
	if (dm->n == dm->cap) {
		size_t ncap = dm->cap ? dm->cap * 2 : 32;
		struct dis_field *nf = realloc(dm->f, ncap * sizeof(*nf));

		if (!nf) {
			dm->oom = true;
			return off + (uint32_t)len;
		}
		dm->f = nf;
		dm->cap = ncap;
	}
	f = &dm->f[dm->n++];
	f->d = &dis_descs[desc];
	f->off = off;
	f->len = (uint32_t)len;
	f->have = off >= dm->have ? 0 : dm->have - off < len ? (uint32_t)(dm->have - off)
							       : (uint32_t)len;
	f->index = index;
	f->depth = b->depth;
	f->kind = kind;
	return off + (uint32_t)len;
}

static uint32_t add(struct builder *b, unsigned desc, uint32_t off, uint64_t len)
{
	return add_idx(b, desc, off, len, -1, 0);
}

/* The header's four parameter slots for this command and direction. */
struct roles {
	unsigned dtype, count, p1, p2;
};

static struct roles header_roles(const struct ca_msg *m)
{
	struct roles r = { F_DTYPE_RAW, F_COUNT_RAW, F_P1, F_P2 };
	bool req = m->dir == CA_DIR_REQUEST;
	struct roles value = { F_DTYPE, F_COUNT, F_SID, F_IOID };

	switch (m->h.cmd) {
	case CA_PROTO_VERSION:
		r.count = F_MINOR;
		if (m->tcp) {
			if (req)
				r.dtype = F_PRIORITY;
		} else {
			r.dtype = F_VERSION_FLAG;
			if (m->h.dtype == 1)
				r.p1 = F_SEQUENCE;
		}
		return r;
	case CA_PROTO_SEARCH:
		if (req) {
			r = (struct roles){ F_REPLY, F_MINOR, F_CID, F_CID };
		} else {
			r.dtype = F_PORT;
			r.p1 = F_SRV_IP;
			r.p2 = F_CID;
		}
		return r;
	case CA_PROTO_NOT_FOUND:
		return (struct roles){ F_REPLY, F_MINOR, F_CID, F_CID };
	case CA_PROTO_CREATE_CHAN:
		if (req) {
			r.p1 = F_CID;
			r.p2 = F_CLIENT_MINOR;
			return r;
		}
		return (struct roles){ F_DTYPE, F_COUNT, F_CID, F_SID };
	case CA_PROTO_ACCESS_RIGHTS:
		r.p1 = F_CID;
		r.p2 = F_ACCESS;
		return r;
	case CA_PROTO_READ:
	case CA_PROTO_READ_NOTIFY:
		if (!req)
			value.p1 = m->h.cmd == CA_PROTO_READ ? F_CID : F_STATUS;
		return value;
	case CA_PROTO_WRITE:
	case CA_PROTO_WRITE_NOTIFY:
		if (!req)
			value.p1 = F_STATUS;
		return value;
	case CA_PROTO_EVENT_ADD:
		value.p2 = F_SUBID;
		if (!req && !ca_is_cancel_confirm(&m->h, m->dir))
			value.p1 = F_STATUS;
		return value;
	case CA_PROTO_EVENT_CANCEL:
		value.p2 = F_SUBID;
		return value;
	case CA_PROTO_CLEAR_CHANNEL:
		r.p1 = F_SID;
		r.p2 = F_CID;
		return r;
	case CA_PROTO_ERROR:
		r.p1 = F_CID;
		r.p2 = F_STATUS;
		return r;
	case CA_PROTO_RSRV_IS_UP:
		return (struct roles){ F_BEACON_VER, F_PORT, F_BEACON_ID, F_SRV_IP };
	case CA_PROTO_REPEATER_CONFIRM:
		r.p2 = F_REPEATER_IP;
		return r;
	case CA_PROTO_REPEATER_REGISTER:
		r.p2 = F_CLIENT_IP;
		return r;
	case CA_PROTO_CREATE_CH_FAIL:
	case CA_PROTO_SERVER_DISCONN:
		r.p1 = F_CID;
		return r;
	default:
		return r;
	}
}

static void add_header(struct builder *b, const struct ca_msg *m)
{
	struct roles r = header_roles(m);

	add(b, F_CMD, 0, 2);
	add(b, F_SIZE, 2, 2);
	add(b, r.dtype, 4, 2);
	add(b, r.count, 6, 2);
	add(b, r.p1, 8, 4);
	add(b, r.p2, 12, 4);
	if (m->h.extended) {
		add(b, F_EXT_SIZE, 16, 4);
		add(b, F_EXT_COUNT, 20, 4);
	}
}

/* A NUL-terminated name filling the payload's start: up to and with its
 * NUL when the capture shows one, else all the payload. */
static uint32_t add_name(struct builder *b, unsigned desc, uint32_t po)
{
	const struct dis_msg *dm = b->dm;
	size_t avail = dm->have > po ? dm->have - po : 0;
	const uint8_t *nul;

	if (avail > b->end - po)
		avail = b->end - po;
	nul = avail ? memchr(dm->bytes + po, 0, avail) : NULL;
	if (nul)
		return add(b, desc, po, (uint32_t)(nul - (dm->bytes + po)) + 1);
	return add(b, desc, po, b->end - po);
}

/* The metadata of a DBR struct at po; returns where it ends. */
static uint32_t add_dbr_meta(struct builder *b, unsigned type, uint32_t po)
{
	enum dbr_family fam = dbr_type_family(type);
	enum dbr_vkind k = dbr_value_kind(type);
	const struct dis_msg *dm = b->dm;
	uint32_t o;
	unsigned i, nlim;
	int n;

	if (fam == DBR_FAM_PLAIN)
		return po;
	o = add(b, F_ASTATUS, po, 2);
	o = add(b, F_ASEV, o, 2);
	switch (fam) {
	case DBR_FAM_TIME:
		return add(b, F_STAMP, o, 8);
	case DBR_FAM_ACK:
		o = add(b, F_ACKT, o, 2);
		return add(b, F_ACKS, o, 2);
	case DBR_FAM_GR:
	case DBR_FAM_CTRL:
		break;
	default:
		return o;
	}
	if (k == DBR_VK_STRING)	/* GR_STRING, CTRL_STRING: an STS_STRING */
		return o;
	if (k == DBR_VK_ENUM) {
		/* no_str, then all 16 slots; those past no_str are unused. */
		n = po + 6 <= dm->have ? (int16_t)rd_be16(dm->bytes + po + 4) : 0;
		n = n < 0 ? 0 : n > MAX_ENUM_STATES ? MAX_ENUM_STATES : n;
		o = add(b, F_NO_STR, o, 2);
		for (i = 0; i < (unsigned)n; i++)
			o = add_idx(b, F_ENUM_STR, o, MAX_ENUM_STRING_SIZE, (int32_t)i, 0);
		return add(b, F_ENUM_UNUSED, o,
			   (uint64_t)(MAX_ENUM_STATES - n) * MAX_ENUM_STRING_SIZE);
	}
	if (k == DBR_VK_FLOAT || k == DBR_VK_DOUBLE) {
		o = add(b, F_PREC, o, 2);
		o = add(b, F_PREC_PAD, o, 2);
	}
	o = add(b, F_UNITS, o, MAX_UNITS_SIZE);
	nlim = fam == DBR_FAM_CTRL ? 8 : 6;
	for (i = 0; i < nlim; i++)
		o = add_idx(b, F_LIMIT0 + i, o, dbr_vkind_size(k), -1, (uint8_t)k);
	return o;
}

/* A DBR value payload: metadata, alignment, the elements, the rest. */
static uint32_t add_dbr(struct builder *b, const struct ca_msg *m, uint32_t po,
			size_t max_elements)
{
	unsigned type = m->h.dtype;
	uint32_t o, vo, esz;
	uint64_t i, n, room;
	enum dbr_vkind k;

	if (type > DBR_LAST_TYPE)
		return add(b, F_PAYLOAD, po, b->end - po);
	k = dbr_value_kind(type);
	esz = (uint32_t)dbr_vkind_size(k);
	o = add_dbr_meta(b, type, po);
	vo = po + (uint32_t)dbr_value_offset(type);
	if (o < vo)
		o = add(b, F_DBR_PAD, o, vo - o);
	if (vo >= b->end)
		return o;
	/* The header's count says how many elements; a reply's bytes past
	 * them (count 0 included) are padding. */
	room = b->end - vo;
	n = m->h.count;
	if (n > (room + esz - 1) / esz)
		n = (room + esz - 1) / esz;
	for (i = 0; i < n; i++) {
		uint64_t at = vo + i * esz;

		/* One field per element while there are bytes to show and
		 * the limit allows; the rest as one. */
		if ((max_elements && i >= max_elements) || at >= b->dm->have)
			break;
		o = add_idx(b, F_VALUE, (uint32_t)at, esz, (int32_t)i, (uint8_t)k);
	}
	if (i < n)
		o = add(b, F_MORE, o, vo + n * esz - o);
	return o;
}

static uint32_t add_error(struct builder *b, uint32_t po)
{
	const struct dis_msg *dm = b->dm;
	bool ext = po + 4 <= dm->have && rd_be16(dm->bytes + po + 2) == CA_EXT_SIZE_MARK;
	uint32_t o = po;

	b->depth = 1;
	o = add(b, F_ORIG_CMD, o, 2);
	o = add(b, F_ORIG_SIZE, o, 2);
	o = add(b, F_ORIG_DTYPE, o, 2);
	o = add(b, F_ORIG_COUNT, o, 2);
	o = add(b, F_ORIG_P1, o, 4);
	o = add(b, F_ORIG_P2, o, 4);
	if (ext) {
		o = add(b, F_ORIG_EXT_SIZE, o, 4);
		o = add(b, F_ORIG_EXT_COUNT, o, 4);
	}
	b->depth = 0;
	if (o < b->end)
		o = add_name(b, F_ERRMSG, o);
	return o;
}

static void add_payload(struct builder *b, const struct ca_msg *m, size_t max_elements)
{
	uint32_t po = m->h.hdr_len, o = po;
	bool req = m->dir == CA_DIR_REQUEST;

	if (po >= b->end)
		return;
	if (ca_msg_carries_value(m)) {
		o = add_dbr(b, m, po, max_elements);
	} else {
		switch (m->h.cmd) {
		case CA_PROTO_EVENT_ADD:
			if (!req)
				break;
			o = add(b, F_LOW, o, 4);
			o = add(b, F_HIGH, o, 4);
			o = add(b, F_TO, o, 4);
			o = add(b, F_MASK, o, 2);
			break;
		case CA_PROTO_SEARCH:
			o = req ? add_name(b, F_PV, po) : add(b, F_SRV_MINOR, po, 2);
			break;
		case CA_PROTO_CREATE_CHAN:
			if (req)
				o = add_name(b, F_PV, po);
			break;
		case CA_PROTO_CLIENT_NAME:
			o = add_name(b, F_USER, po);
			break;
		case CA_PROTO_HOST_NAME:
			o = add_name(b, F_HOST, po);
			break;
		case CA_PROTO_ERROR:
			o = add_error(b, po);
			break;
		default:
			break;
		}
	}
	/* What no field took: padding after fields, else the payload. */
	if (o < b->end)
		add(b, o == po ? F_PAYLOAD : F_PAD, o, b->end - o);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Header bytes when the framer no longer had them as they came: the
 * same fields written back (the 16-bit count of an extended header is
 * then 0, as senders write it). */
static size_t header_bytes(const struct ca_msg *m, uint8_t *out)
{
	const struct ca_hdr *h = &m->h;

	if (m->raw_hdr_len) {
		memcpy(out, m->raw_hdr, m->raw_hdr_len);
		return m->raw_hdr_len;
	}
	memset(out, 0, CA_EXT_HDR_LEN);
	out[0] = (uint8_t)(h->cmd >> 8);
	out[1] = (uint8_t)h->cmd;
	out[2] = h->extended ? 0xff : (uint8_t)(h->size >> 8);
	out[3] = h->extended ? 0xff : (uint8_t)h->size;
	out[4] = (uint8_t)(h->dtype >> 8);
	out[5] = (uint8_t)h->dtype;
	out[6] = h->extended ? 0 : (uint8_t)(h->count >> 8);
	out[7] = h->extended ? 0 : (uint8_t)h->count;
	put_be32(out + 8, h->p1);
	put_be32(out + 12, h->p2);
	if (h->extended) {
		put_be32(out + 16, h->size);
		put_be32(out + 20, h->count);
	}
	return h->hdr_len >= CA_HDR_LEN ? h->hdr_len : CA_HDR_LEN;
}

bool dissect_msg(struct dis_msg *dm, const struct ca_msg *m, size_t max_elements)
{
	uint8_t hdr[CA_EXT_HDR_LEN];
	size_t hl = header_bytes(m, hdr);
	bool whole_hdr = m->h.hdr_len >= CA_HDR_LEN;
	struct builder b = { dm, 0, 0 };
	uint64_t total;

	memset(dm, 0, sizeof(*dm));
	dm->dir = m->dir;
	if (!whole_hdr)
		hl = m->raw_hdr_len;
	total = whole_hdr ? (uint64_t)m->h.hdr_len + m->h.size : hl;
	/* Offsets are 32-bit: a message is at most 4 GiB + a header. */
	if (total > UINT32_MAX)
		total = UINT32_MAX;
	dm->total = total;
	dm->bytes = malloc(hl + m->payload_len + 1);
	if (!dm->bytes) {
		dm->oom = true;
		return false;
	}
	memcpy(dm->bytes, hdr, hl);
	if (whole_hdr && m->payload_len)
		memcpy(dm->bytes + hl, m->payload, m->payload_len);
	dm->have = hl + (whole_hdr ? m->payload_len : 0);
	b.end = (uint32_t)total;
	if (!whole_hdr) {
		add(&b, F_HDR_PARTIAL, 0, hl);
		return !dm->oom;
	}
	add_header(&b, m);
	add_payload(&b, m, max_elements);
	return !dm->oom;
}

/* pcap link types (DLT_*), by number: this file reads bytes, not pcap. */
enum { LT_NULL = 0, LT_EN10MB = 1, LT_RAW = 101, LT_LOOP = 108,
       LT_LINUX_SLL = 113, LT_IPV4 = 228, LT_LINUX_SLL2 = 276 };

/* Where the IPv4 header begins, the link fields added. */
static uint32_t add_link(struct builder *b, int linktype)
{
	const struct dis_msg *dm = b->dm;
	uint32_t o = 0;
	int32_t tag = 0;

	switch (linktype) {
	case LT_EN10MB:
		o = add(b, F_ETH_DST, 0, 6);
		o = add(b, F_ETH_SRC, o, 6);
		/* 802.1Q / 802.1ad tags, as many as the bytes show (pkt.c
		 * refuses frames with more than it decodes). */
		while (o + 4 <= dm->have && tag < 8 &&
		       (rd_be16(dm->bytes + o) == 0x8100 || rd_be16(dm->bytes + o) == 0x88a8)) {
			o = add_idx(b, F_ETH_VLAN_TPID, o, 2, tag, 0);
			o = add_idx(b, F_ETH_VLAN_TCI, o, 2, tag++, 0);
		}
		return add(b, F_ETH_TYPE, o, 2);
	case LT_LINUX_SLL:
		return add(b, F_LINK_HDR, 0, 16);
	case LT_LINUX_SLL2:
		return add(b, F_LINK_HDR, 0, 20);
	case LT_NULL:
	case LT_LOOP:
		return add(b, F_LINK_HDR, 0, 4);
	default:	/* RAW, IPV4: the frame starts with IPv4 */
		return 0;
	}
}

bool dissect_headers(struct dis_msg *dm, int linktype, const uint8_t *frame,
		     uint32_t upto)
{
	struct builder b = { dm, upto, 0 };
	uint32_t ip, o, l4;
	unsigned proto;

	memset(dm, 0, sizeof(*dm));
	dm->bytes = malloc(upto ? upto : 1);
	if (!dm->bytes) {
		dm->oom = true;
		return false;
	}
	memcpy(dm->bytes, frame, upto);
	dm->have = dm->total = upto;
	ip = add_link(&b, linktype);
	if (ip + 20 > upto)	/* the CA payload is after a whole header */
		return !dm->oom;
	l4 = ip + (uint32_t)(frame[ip] & 15) * 4;
	proto = frame[ip + 9];
	o = add(&b, F_IP_VHL, ip, 1);
	o = add(&b, F_IP_DSF, o, 1);
	o = add(&b, F_IP_LEN, o, 2);
	o = add(&b, F_IP_ID, o, 2);
	o = add(&b, F_IP_FRAG, o, 2);
	o = add(&b, F_IP_TTL, o, 1);
	o = add(&b, F_IP_PROTO, o, 1);
	o = add(&b, F_IP_CSUM, o, 2);
	o = add(&b, F_IP_SRC, o, 4);
	o = add(&b, F_IP_DST, o, 4);
	if (l4 > o)
		o = add(&b, F_IP_OPT, o, l4 - o);
	if (proto == 17) {
		o = add(&b, F_UDP_SPORT, o, 2);
		o = add(&b, F_UDP_DPORT, o, 2);
		o = add(&b, F_UDP_LEN, o, 2);
		add(&b, F_UDP_CSUM, o, 2);
	} else if (proto == 6) {
		o = add(&b, F_TCP_SPORT, o, 2);
		o = add(&b, F_TCP_DPORT, o, 2);
		o = add(&b, F_TCP_SEQ, o, 4);
		o = add(&b, F_TCP_ACK, o, 4);
		o = add(&b, F_TCP_OFF_FLAGS, o, 2);
		o = add(&b, F_TCP_WIN, o, 2);
		o = add(&b, F_TCP_CSUM, o, 2);
		o = add(&b, F_TCP_URG, o, 2);
		if (o < upto)
			add(&b, F_TCP_OPT, o, upto - o);
	}
	return !dm->oom;
}

void dis_msg_free(struct dis_msg *dm)
{
	free(dm->bytes);
	free(dm->f);
	memset(dm, 0, sizeof(*dm));
}

/* ---- values ---- */

static uint64_t rd_uint(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;
	uint32_t i;

	for (i = 0; i < len && i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int64_t rd_int(const uint8_t *p, uint32_t len)
{
	uint64_t v = rd_uint(p, len);

	if (len == 2)
		return (int16_t)v;
	if (len == 4)
		return (int32_t)v;
	if (len == 1)
		return (int8_t)v;
	return (int64_t)v;
}

static void put_text(struct sbuf *sb, const uint8_t *p, size_t n, bool json)
{
	const uint8_t *nul = memchr(p, 0, n);

	if (nul)
		n = (size_t)(nul - p);
	if (json)
		sbuf_put_jsonstr(sb, (const char *)p, n);
	else
		sbuf_put_pyquoted(sb, (const char *)p, n);
}

/* A field's type with a DBR value's kind resolved. */
static enum dis_type field_type(const struct dis_field *f, bool *is_char)
{
	*is_char = false;
	if (f->d->type != DIS_DBR_VALUE)
		return f->d->type;
	switch ((enum dbr_vkind)f->kind) {
	case DBR_VK_STRING:
		return DIS_STRING;
	case DBR_VK_SHORT:
	case DBR_VK_LONG:
		return DIS_INT;
	case DBR_VK_FLOAT:
		return DIS_FLOAT;
	case DBR_VK_DOUBLE:
		return DIS_DOUBLE;
	case DBR_VK_CHAR:	/* dbr_char_t is epicsUInt8 */
		*is_char = true;
		return DIS_UINT;
	default:
		return DIS_UINT;
	}
}

/* The field's captured bytes (f->have of them); a field with none may lie
 * past the buffer, where not even a pointer may point. */
static const uint8_t *field_bytes(const struct dis_msg *dm, const struct dis_field *f)
{
	return f->have ? dm->bytes + f->off : dm->bytes;
}

bool dis_field_is_text(const struct dis_field *f)
{
	bool is_char;

	return field_type(f, &is_char) == DIS_STRING;
}

/* The number of a numeric field in the form JSON and text share. */
static void put_number(struct sbuf *sb, enum dis_type t, const uint8_t *p,
		       uint32_t len, bool json)
{
	uint32_t u32;
	uint64_t u64;
	float fl;
	double d;

	switch (t) {
	case DIS_INT:
		sbuf_put_i64(sb, rd_int(p, len));
		break;
	case DIS_FLOAT:
		u32 = rd_be32(p);
		memcpy(&fl, &u32, sizeof(fl));
		if (json)
			sbuf_put_jsonfloat(sb, fl);
		else
			sbuf_put_float(sb, fl);
		break;
	case DIS_DOUBLE:
		u64 = rd_be64(p);
		memcpy(&d, &u64, sizeof(d));
		if (json)
			sbuf_put_jsondouble(sb, d);
		else
			sbuf_put_double(sb, d);
		break;
	default:
		sbuf_put_u64(sb, rd_uint(p, len));
		break;
	}
}

void dis_field_hex(const struct dis_msg *dm, const struct dis_field *f, struct sbuf *sb)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *p = field_bytes(dm, f);
	uint32_t i;

	for (i = 0; i < f->have; i++) {
		sbuf_putc(sb, hx[p[i] >> 4]);
		sbuf_putc(sb, hx[p[i] & 15]);
	}
}

/* Bytes a field of its type has; 0 for variable ones.  A field the
 * message's end clipped shorter (a size field that lies) has no number. */
static uint32_t natural_size(const struct dis_field *f)
{
	if (f->d->type == DIS_DBR_VALUE)
		return (uint32_t)dbr_vkind_size((enum dbr_vkind)f->kind);
	return f->d->size;
}

static bool clipped(const struct dis_field *f)
{
	uint32_t n = natural_size(f);

	return n && f->len < n;
}

void dis_field_value_json(const struct dis_msg *dm, const struct dis_field *f,
			  struct sbuf *sb)
{
	const uint8_t *p = field_bytes(dm, f);
	bool is_char;
	enum dis_type t = field_type(f, &is_char);

	if (t == DIS_STRING) {
		put_text(sb, p, f->have, true);
		return;
	}
	if (t == DIS_BYTES || t == DIS_MAC) {
		sbuf_putc(sb, '"');
		dis_field_hex(dm, f, sb);
		sbuf_putc(sb, '"');
		return;
	}
	if (f->have < f->len || clipped(f)) {	/* a number cut short has no value */
		sbuf_puts(sb, "null");
		return;
	}
	if (t == DIS_STAMP) {
		sbuf_printf(sb, "{\"sec\":%u,\"nsec\":%u}", rd_be32(p), rd_be32(p + 4));
		return;
	}
	put_number(sb, t, p, f->len, true);
}

static void put_flags(struct sbuf *sb, const struct dis_field *f, uint64_t v, bool *known)
{
	unsigned bit;
	bool any = false;

	for (bit = 0; bit < 64; bit++) {
		const char *nm;

		if (!(v & ((uint64_t)1 << bit)))
			continue;
		nm = dis_dict_lookup(f->d->dict, bit, CA_DIR_REQUEST);
		if (any)
			sbuf_putc(sb, '|');
		any = true;
		if (nm) {
			sbuf_puts(sb, nm);
		} else {
			sbuf_printf(sb, "bit%u", bit);
			*known = false;
		}
	}
	if (!any)
		sbuf_puts(sb, "NONE");
}

/* The packet header fields whose meaning is not their number. */
static bool put_header_meaning(struct sbuf *sb, const struct dis_msg *dm,
			       const struct dis_field *f, const uint8_t *p)
{
	static const char *const tcp_flags[] = { "FIN", "SYN", "RST", "PSH", "ACK", "URG",
						 "ECE", "CWR" };
	unsigned v, i;
	bool any = false;

	switch (f->d - dis_descs) {
	case F_ETH_TYPE:
	case F_ETH_VLAN_TPID:
		v = rd_be16(p);
		sbuf_printf(sb, "0x%04x%s", v, v == 0x0800 ? " (IPv4)" : v == 0x8100 ? " (802.1Q)" :
			    v == 0x88a8 ? " (802.1ad)" : "");
		return true;
	case F_ETH_VLAN_TCI:
		v = rd_be16(p);
		sbuf_printf(sb, "VLAN %u, priority %u", v & 0xfff, v >> 13);
		return true;
	case F_IP_VHL:
		sbuf_printf(sb, "version %u, header %u bytes", p[0] >> 4, (p[0] & 15) * 4u);
		return true;
	case F_IP_FRAG:
		v = rd_be16(p);
		sbuf_printf(sb, "%s%soffset %u", v & 0x4000 ? "DF, " : "", v & 0x2000 ? "MF, " : "",
			    (v & 0x1fff) * 8);
		return true;
	case F_IP_PROTO:
		sbuf_printf(sb, "%u%s", p[0], p[0] == 6 ? " (TCP)" : p[0] == 17 ? " (UDP)" : "");
		return true;
	case F_SIZE:
		if (rd_be16(p) != CA_EXT_SIZE_MARK)
			return false;
		sbuf_puts(sb, "0xffff: extended header, sizes after parameter 2");
		return true;
	case F_COUNT:
		/* The 16-bit count of an extended header is not the count. */
		if (f->off != 6 || dm->have < 4 || rd_be16(dm->bytes + 2) != CA_EXT_SIZE_MARK)
			return false;
		sbuf_printf(sb, "%u (extended header: the count is after parameter 2)", rd_be16(p));
		return true;
	case F_TCP_OFF_FLAGS:
		v = rd_be16(p);
		sbuf_printf(sb, "header %u bytes, ", (v >> 12) * 4);
		for (i = 0; i < 8; i++) {
			if (v & (1u << i)) {
				sbuf_printf(sb, "%s%s", any ? "|" : "", tcp_flags[i]);
				any = true;
			}
		}
		if (!any)
			sbuf_puts(sb, "no flags");
		return true;
	default:
		return false;
	}
}

void dis_field_hvalue(const struct dis_msg *dm, const struct dis_field *f,
		      struct sbuf *sb, bool *known)
{
	const uint8_t *p = field_bytes(dm, f);
	bool is_char;
	enum dis_type t = field_type(f, &is_char);
	uint64_t v;
	const char *nm;

	*known = true;
	if (t == DIS_STRING) {
		put_text(sb, p, f->have, false);
		if (f->have < f->len)
			sbuf_printf(sb, " (cut: %u of %u bytes captured)", f->have, f->len);
		return;
	}
	if (f->have < f->len) {
		sbuf_printf(sb, "%u of %u bytes captured", f->have, f->len);
		return;
	}
	if (clipped(f)) {
		sbuf_printf(sb, "%u of its %u bytes before the message ends", f->len,
			    natural_size(f));
		return;
	}
	if (put_header_meaning(sb, dm, f, p))
		return;
	switch (t) {
	case DIS_BYTES:
		sbuf_printf(sb, "%u byte%s", f->len, f->len == 1 ? "" : "s");
		return;
	case DIS_ENUM:
		v = rd_uint(p, f->len);
		/* The failed request inside an ERROR is a request. */
		nm = dis_dict_lookup(f->d->dict, v,
				     f->d == &dis_descs[F_ORIG_CMD] ? CA_DIR_REQUEST : dm->dir);
		if (nm) {
			sbuf_puts(sb, nm);
		} else {
			sbuf_put_u64(sb, v);
			*known = false;
		}
		return;
	case DIS_FLAGS:
		put_flags(sb, f, rd_uint(p, f->len), known);
		return;
	case DIS_IPV4:
		sbuf_put_ipv4(sb, rd_be32(p));
		return;
	case DIS_MAC:
		sbuf_printf(sb, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
		return;
	case DIS_STAMP: {
		char *q = sbuf_room(sb, FMT_ISO_UTC_MAX);

		if (q)
			sbuf_end(sb, fmt_iso_utc(q, (uint64_t)rd_be32(p) + EPICS_EPOCH_UNIX,
						 rd_be32(p + 4)));
		return;
	}
	default:
		put_number(sb, t, p, f->len, false);
		if (is_char && p[0] >= 0x20 && p[0] < 0x7f)
			sbuf_printf(sb, " '%c'", p[0]);
		return;
	}
}
