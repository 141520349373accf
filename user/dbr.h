/* dbr: decoding and formatting of Channel Access DBR value payloads.
 *
 * Layouts are those of epics-base db_access.h (dbr_sts_*, dbr_time_*,
 * dbr_gr_*, dbr_ctrl_*, dbr_stsack_string), big-endian on the wire, padding
 * fields included.  Pure functions: no I/O, no global state; every read is
 * bounds-checked against the bytes the caller says it has.
 */
#ifndef CATRACE_DBR_H
#define CATRACE_DBR_H

#include <stdbool.h>

#include "ca_proto.h"
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

enum out_style { OUT_TEXT, OUT_JSON };

/* "STRING", "TIME_DOUBLE", "CTRL_ENUM", "PUT_ACKT", "STSACK_STRING",
 * "CLASS_NAME"...; NULL if type > 38. */
const char *dbr_type_name(unsigned type);

/* Size in bytes of one element of the value type of this DBR type; 0 if the
 * type is unknown. */
size_t dbr_elem_size(unsigned type);

/* Bytes of metadata before the first value (db_access.h dbr_value_offset);
 * -1 if the type is unknown. */
long dbr_value_offset(unsigned type);

/* Size for count elements: offset + count * elem, unpadded; 0 for an unknown
 * type.  Saturates at UINT64_MAX instead of wrapping.  Unlike db_access.h's
 * dbr_size_n() macro, count 0 gives just the metadata size. */
uint64_t dbr_size_n(unsigned type, uint64_t count);

/* Names as in epics-base alarm.h; NULL when out of range. */
/* The state names a channel's DBR_GR_ENUM / DBR_CTRL_ENUM reply carries,
 * remembered so that its plain, STS and TIME enum values can be named. */
struct dbr_enum_names {
	uint8_t n;
	char s[MAX_ENUM_STATES][MAX_ENUM_STRING_SIZE + 1];
};
/* Whether values of this type are bytes (DBR_CHAR and its families). */
bool dbr_is_char(unsigned type);
/* Whether values of this type are enum indexes. */
bool dbr_is_enum(unsigned type);
/* The state names in a GR/CTRL_ENUM payload; false when type is not one or
 * the payload is short. */
bool dbr_enum_names_parse(unsigned type, const uint8_t *payload, size_t len,
			  struct dbr_enum_names *out);

/* Value kinds: the seven of the 5 x 7 grid (type % 7), then the u16 of
 * PUT_ACKT/PUT_ACKS.  Families: type / 7 on the grid, then the rest. */
enum dbr_vkind { DBR_VK_STRING, DBR_VK_SHORT, DBR_VK_FLOAT, DBR_VK_ENUM,
		 DBR_VK_CHAR, DBR_VK_LONG, DBR_VK_DOUBLE, DBR_VK_USHORT };
enum dbr_family { DBR_FAM_PLAIN, DBR_FAM_STS, DBR_FAM_TIME, DBR_FAM_GR,
		  DBR_FAM_CTRL, DBR_FAM_ACK };
/* For a type <= DBR_LAST_TYPE. */
enum dbr_vkind dbr_value_kind(unsigned type);
enum dbr_family dbr_type_family(unsigned type);
size_t dbr_vkind_size(enum dbr_vkind k);
/* The i-th limit of a GR (0..5) or CTRL (0..7) struct, "upper_disp_limit"
 * ...; NULL past the last. */
const char *dbr_limit_name(unsigned i);

const char *alarm_status_name(unsigned v);
const char *alarm_severity_name(unsigned v);

enum dbr_result { DBR_OK = 0, DBR_TRUNCATED = 1, DBR_BAD_TYPE = 2 };

/* Append the decoded value of a DBR payload to sb as fields, each one
 * preceded by a separator (", " in OUT_TEXT, "," in OUT_JSON), metadata first
 * (wire order), the value list last:
 *   text: ", alarm=NO_ALARM, severity=MINOR, data=[1.5]"
 *   JSON: ",\"alarm\":\"NO_ALARM\",\"severity\":\"MINOR\",\"value\":[1.5]"
 *
 * type and count come from the CA header; payload/len are the payload bytes
 * available, possibly fewer than the header announced (a cut capture).
 * Whatever is complete is printed; when the metadata is incomplete the
 * fields stop at the first missing one and no value list is printed.
 * Returns DBR_TRUNCATED if the metadata or fewer than min(count,
 * max_elements) elements were available, DBR_BAD_TYPE (appending nothing)
 * for a type > 38.  At most max_elements elements are printed (0: no limit).
 * count 0 (a reply to a "whatever you have" request) prints the elements the
 * payload holds; the 8-byte message padding may add a few zero elements.
 */
enum dbr_result dbr_append_value(struct sbuf *sb, enum out_style style,
				 unsigned type, uint32_t count,
				 const uint8_t *payload, size_t len,
				 size_t max_elements);
/* The same for a payload whose bytes past `len` were skipped on purpose
 * (`cut`): an element cut there is left out, never shown as if whole, and
 * DBR_TRUNCATED says that fewer elements than wanted could be shown. */
enum dbr_result dbr_append_value_cut(struct sbuf *sb, enum out_style style,
				     unsigned type, uint32_t count,
				     const uint8_t *payload, size_t len,
				     size_t max_elements, bool cut);

#endif
