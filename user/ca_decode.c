/* ca_decode: see ca_decode.h.
 *
 *  0               2               4               6               8
 *  +---------------+---------------+---------------+---------------+
 *  |    command    | payload size  |   data type   |  data count   |
 *  +---------------+---------------+---------------+---------------+
 *  |          parameter 1          |          parameter 2          |
 *  +-------------------------------+-------------------------------+
 *  | extended size (if size=0xFFFF)| extended count (same)         |
 *  +-------------------------------+-------------------------------+
 * Channel Access Protocol Specification (epics-base), caProto.h.
 */
#include "ca_decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "dbr.h"

enum ca_hdr_status ca_hdr_parse(const uint8_t *buf, size_t len, struct ca_hdr *h)
{
	uint16_t size16, count16;

	if (len < CA_HDR_LEN)
		return CA_HDR_SHORT;
	h->cmd = rd_be16(buf);
	size16 = rd_be16(buf + 2);
	h->dtype = rd_be16(buf + 4);
	count16 = rd_be16(buf + 6);
	h->p1 = rd_be32(buf + 8);
	h->p2 = rd_be32(buf + 12);
	/* RSRV and libca test only the size marker; caproto and cashark also
	 * want count 0.  Follow the implementations that produce the traffic:
	 * a 0xFFFF size with a non-zero count is still extended for RSRV. */
	if (size16 == CA_EXT_SIZE_MARK) {
		if (len < CA_EXT_HDR_LEN)
			return CA_HDR_SHORT;
		h->size = rd_be32(buf + 16);
		h->count = rd_be32(buf + 20);
		h->hdr_len = CA_EXT_HDR_LEN;
		h->extended = true;
	} else {
		h->size = size16;
		h->count = count16;
		h->hdr_len = CA_HDR_LEN;
		h->extended = false;
	}
	return CA_HDR_OK;
}

uint64_t ca_value_wire_size(unsigned dtype, uint64_t count)
{
	uint64_t n = dbr_size_n(dtype, count);

	return n ? ca_pad8(n) : 0;
}

bool ca_hdr_plausible(const struct ca_hdr *h, enum ca_dir dir, bool tcp,
		      bool strict_dbr)
{
	struct ca_rule_hdr r = ca_hdr_rule(h);

	/* One rule for both sides: include/ca_rules.h. */
	return ca_rule_plausible(&r, dir == CA_DIR_REQUEST, tcp, strict_dbr);
}

static const char *const cmd_const_names[] = {
	[CA_PROTO_VERSION] = "VERSION",
	[CA_PROTO_EVENT_ADD] = "EVENT_ADD",
	[CA_PROTO_EVENT_CANCEL] = "EVENT_CANCEL",
	[CA_PROTO_READ] = "READ",
	[CA_PROTO_WRITE] = "WRITE",
	[CA_PROTO_SNAPSHOT] = "SNAPSHOT",
	[CA_PROTO_SEARCH] = "SEARCH",
	[CA_PROTO_BUILD] = "BUILD",
	[CA_PROTO_EVENTS_OFF] = "EVENTS_OFF",
	[CA_PROTO_EVENTS_ON] = "EVENTS_ON",
	[CA_PROTO_READ_SYNC] = "READ_SYNC",
	[CA_PROTO_ERROR] = "ERROR",
	[CA_PROTO_CLEAR_CHANNEL] = "CLEAR_CHANNEL",
	[CA_PROTO_RSRV_IS_UP] = "RSRV_IS_UP",
	[CA_PROTO_NOT_FOUND] = "NOT_FOUND",
	[CA_PROTO_READ_NOTIFY] = "READ_NOTIFY",
	[CA_PROTO_READ_BUILD] = "READ_BUILD",
	[CA_PROTO_REPEATER_CONFIRM] = "REPEATER_CONFIRM",
	[CA_PROTO_CREATE_CHAN] = "CREATE_CHAN",
	[CA_PROTO_WRITE_NOTIFY] = "WRITE_NOTIFY",
	[CA_PROTO_CLIENT_NAME] = "CLIENT_NAME",
	[CA_PROTO_HOST_NAME] = "HOST_NAME",
	[CA_PROTO_ACCESS_RIGHTS] = "ACCESS_RIGHTS",
	[CA_PROTO_ECHO] = "ECHO",
	[CA_PROTO_REPEATER_REGISTER] = "REPEATER_REGISTER",
	[CA_PROTO_SIGNAL] = "SIGNAL",
	[CA_PROTO_CREATE_CH_FAIL] = "CREATE_CH_FAIL",
	[CA_PROTO_SERVER_DISCONN] = "SERVER_DISCONN",
};

const char *ca_cmd_const_name(unsigned cmd)
{
	return cmd <= CA_PROTO_LAST_CMD ? cmd_const_names[cmd] : NULL;
}

bool ca_cmd_obsolete(unsigned cmd)
{
	return cmd == CA_PROTO_SNAPSHOT || cmd == CA_PROTO_BUILD ||
	       cmd == CA_PROTO_READ_BUILD || cmd == CA_PROTO_SIGNAL;
}

/* Request/response names by command; NULL where a direction has no name of
 * its own (the other one is used). */
static const struct {
	const char *req;
	const char *resp;
} cmd_names[] = {
	[CA_PROTO_VERSION] = { "VersionRequest", "VersionResponse" },
	[CA_PROTO_EVENT_ADD] = { "EventAddRequest", "EventAddResponse" },
	[CA_PROTO_EVENT_CANCEL] = { "EventCancelRequest", "EventCancelResponse" },
	[CA_PROTO_READ] = { "ReadRequest", "ReadResponse" },
	[CA_PROTO_WRITE] = { "WriteRequest", "WriteResponse" },
	[CA_PROTO_SEARCH] = { "SearchRequest", "SearchResponse" },
	[CA_PROTO_EVENTS_OFF] = { "EventsOffRequest", "EventsOffResponse" },
	[CA_PROTO_EVENTS_ON] = { "EventsOnRequest", "EventsOnResponse" },
	[CA_PROTO_READ_SYNC] = { "ReadSyncRequest", "ReadSyncResponse" },
	[CA_PROTO_ERROR] = { "ErrorRequest", "ErrorResponse" },
	[CA_PROTO_CLEAR_CHANNEL] = { "ClearChannelRequest", "ClearChannelResponse" },
	[CA_PROTO_RSRV_IS_UP] = { "Beacon", "Beacon" },
	[CA_PROTO_NOT_FOUND] = { "NotFoundRequest", "NotFoundResponse" },
	[CA_PROTO_READ_NOTIFY] = { "ReadNotifyRequest", "ReadNotifyResponse" },
	[CA_PROTO_REPEATER_CONFIRM] = { "RepeaterConfirmRequest", "RepeaterConfirmResponse" },
	[CA_PROTO_CREATE_CHAN] = { "CreateChanRequest", "CreateChanResponse" },
	[CA_PROTO_WRITE_NOTIFY] = { "WriteNotifyRequest", "WriteNotifyResponse" },
	[CA_PROTO_CLIENT_NAME] = { "ClientNameRequest", "ClientNameResponse" },
	[CA_PROTO_HOST_NAME] = { "HostNameRequest", "HostNameResponse" },
	[CA_PROTO_ACCESS_RIGHTS] = { "AccessRightsRequest", "AccessRightsResponse" },
	[CA_PROTO_ECHO] = { "EchoRequest", "EchoResponse" },
	[CA_PROTO_REPEATER_REGISTER] = { "RepeaterRegisterRequest", "RepeaterRegisterResponse" },
	[CA_PROTO_CREATE_CH_FAIL] = { "CreateChFailRequest", "CreateChFailResponse" },
	[CA_PROTO_SERVER_DISCONN] = { "ServerDisconnRequest", "ServerDisconnResponse" },
};

const char *ca_cmd_dir_name(unsigned cmd, enum ca_dir dir)
{
	if (cmd > CA_PROTO_LAST_CMD)
		return NULL;
	return dir == CA_DIR_REQUEST ? cmd_names[cmd].req : cmd_names[cmd].resp;
}

bool ca_is_cancel_confirm(const struct ca_hdr *h, enum ca_dir dir)
{
	return h->cmd == CA_PROTO_EVENT_ADD && dir == CA_DIR_RESPONSE && h->size == 0;
}

bool ca_msg_carries_value(const struct ca_msg *m)
{
	return ca_rule_carries_value(m->h.cmd, m->dir == CA_DIR_REQUEST) &&
	       !ca_is_cancel_confirm(&m->h, m->dir);
}

const char *ca_command_name(const struct ca_hdr *h, enum ca_dir dir, bool tcp)
{
	(void)tcp;
	if (h->cmd > CA_PROTO_LAST_CMD)
		return "UnknownCommand";
	if (ca_cmd_obsolete(h->cmd))
		return "ObsoleteCommand";
	/* RSRV confirms an EVENT_CANCEL with an EVENT_ADD without payload
	 * (its count is the subscription's, often 0 but not always); libca
	 * takes any empty EVENT_ADD reply as that.  caproto calls it an
	 * EventCancelResponse. */
	if (ca_is_cancel_confirm(h, dir))
		return "EventCancelResponse";
	return dir == CA_DIR_REQUEST ? cmd_names[h->cmd].req : cmd_names[h->cmd].resp;
}

static const struct {
	uint32_t code;
	const char *name;
} eca_names[] = {
	{ 1, "ECA_NORMAL" }, { 48, "ECA_ALLOCMEM" }, { 72, "ECA_TOLARGE" },
	{ 80, "ECA_TIMEOUT" }, { 114, "ECA_BADTYPE" }, { 142, "ECA_INTERNAL" },
	{ 152, "ECA_GETFAIL" }, { 160, "ECA_PUTFAIL" }, { 176, "ECA_BADCOUNT" },
	{ 186, "ECA_BADSTR" }, { 192, "ECA_DISCONN" }, { 200, "ECA_DBLCHNL" },
	{ 210, "ECA_EVDISALLOW" }, { 242, "ECA_BADMONID" }, { 330, "ECA_BADMASK" },
	{ 339, "ECA_IODONE" }, { 347, "ECA_IOINPROGRESS" }, { 354, "ECA_BADSYNCGRP" },
	{ 362, "ECA_PUTCBINPROG" }, { 368, "ECA_NORDACCESS" }, { 376, "ECA_NOWTACCESS" },
	{ 386, "ECA_ANACHRONISM" }, { 392, "ECA_NOSEARCHADDR" }, { 400, "ECA_NOCONVERT" },
	{ 410, "ECA_BADCHID" }, { 418, "ECA_BADFUNCPTR" }, { 424, "ECA_ISATTACHED" },
	{ 432, "ECA_UNAVAILINSERV" }, { 440, "ECA_CHANDESTROY" }, { 450, "ECA_BADPRIORITY" },
	{ 458, "ECA_NOTTHREADED" }, { 464, "ECA_16KARRAYCLIENT" }, { 472, "ECA_CONNSEQTMO" },
	{ 480, "ECA_UNRESPTMO" },
};

bool ca_eca_at(size_t i, uint32_t *code, const char **name)
{
	if (i >= sizeof(eca_names) / sizeof(eca_names[0]))
		return false;
	*code = eca_names[i].code;
	*name = eca_names[i].name;
	return true;
}

/* ACCESS_RIGHTS parameter 2: bit 0 read, bit 1 write (caProto.h). */
static const char *const access_names[] = { "NONE", "READ", "WRITE", "READ|WRITE" };

const char *ca_access_name(uint32_t rights)
{
	return rights < 4 ? access_names[rights] : NULL;
}

/* db_access.h DBE_* bits, lowest first. */
static const char *const mask_bit_names[] = { "VALUE", "LOG", "ALARM", "PROPERTY" };

const char *ca_mask_bit_name(unsigned bit)
{
	return bit < 4 ? mask_bit_names[bit] : NULL;
}

const char *ca_eca_name(uint32_t status)
{
	size_t i;

	for (i = 0; i < sizeof(eca_names) / sizeof(eca_names[0]); i++)
		if (eca_names[i].code == status)
			return eca_names[i].name;
	return NULL;
}

static void set_problem(struct ca_msg *m, unsigned flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_problem(struct ca_msg *m, unsigned flag, const char *fmt, ...)
{
	va_list ap;

	m->flags |= flag;
	va_start(ap, fmt);
	vsnprintf(m->problem, sizeof(m->problem), fmt, ap);
	va_end(ap);
}

size_t ca_walk_datagram(const uint8_t *data, size_t avail, size_t wire_len,
			enum ca_dir dir, ca_msg_fn fn, void *ctx)
{
	size_t off = 0, n = 0;
	bool cut = avail < wire_len;

	if (avail > wire_len)
		avail = wire_len;
	while (off < wire_len) {
		struct ca_msg m;
		size_t left = avail - off;
		size_t wire_left = wire_len - off;

		memset(&m, 0, sizeof(m));
		m.dir = dir;
		m.tcp = false;
		m.at_known = true;
		m.at = (uint32_t)off;
		ca_msg_set_raw_hdr(&m, data + off,
				   left < CA_EXT_HDR_LEN ? left : CA_EXT_HDR_LEN);
		if (ca_hdr_parse(data + off, left, &m.h) == CA_HDR_SHORT) {
			if (off >= avail)
				break;  /* nothing captured of this one */
			/* Report what is there; the header fields of a partial
			 * header are not trusted. */
			memset(&m.h, 0, sizeof(m.h));
			if (left >= 2)
				m.h.cmd = rd_be16(data + off);
			m.h.hdr_len = (uint8_t)(left < CA_HDR_LEN ? left : CA_HDR_LEN);
			if (cut && wire_left >= CA_HDR_LEN)
				set_problem(&m, CA_MSG_TRUNCATED,
					    "header cut by capture: %llu of %u bytes",
					    (unsigned long long)left,
					    wire_left >= CA_EXT_HDR_LEN ? CA_EXT_HDR_LEN : CA_HDR_LEN);
			else
				set_problem(&m, CA_MSG_MALFORMED,
					    "%llu stray bytes after the last message",
					    (unsigned long long)wire_left);
			fn(ctx, &m);
			n++;
			break;
		}
		m.raw_hdr_len = m.h.hdr_len;
		m.payload = data + off + m.h.hdr_len;
		if ((uint64_t)m.h.size <= left - m.h.hdr_len) {
			m.payload_len = m.h.size;
		} else {
			m.payload_len = left - m.h.hdr_len;
			if (cut && (uint64_t)m.h.size <= wire_left - m.h.hdr_len)
				set_problem(&m, CA_MSG_TRUNCATED,
					    "payload cut by capture: %llu of %llu bytes",
					    (unsigned long long)m.payload_len,
					    (unsigned long long)m.h.size);
			else
				set_problem(&m, CA_MSG_MALFORMED,
					    "payload size %llu exceeds the datagram (%llu bytes left)",
					    (unsigned long long)m.h.size,
					    (unsigned long long)(wire_left - m.h.hdr_len));
		}
		fn(ctx, &m);
		n++;
		if (m.flags & (CA_MSG_TRUNCATED | CA_MSG_MALFORMED))
			break;
		off += m.h.hdr_len + m.h.size;
	}
	return n;
}
