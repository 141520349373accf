/* Channel Access wire constants, shared by the BPF programs and user space.
 *
 * Facts from the CA protocol specification and epics-base caProto.h /
 * db_access.h / caerr.h (see doc/ca-protocol.md).  Plain
 * #defines only, so this header compiles in BPF C and in user space alike.
 */
#ifndef CATRACE_CA_PROTO_H
#define CATRACE_CA_PROTO_H

#define CA_SERVER_PORT_DEFAULT    5064
#define CA_REPEATER_PORT_DEFAULT  5065

#define CA_HDR_LEN        16   /* standard header */
#define CA_EXT_HDR_LEN    24   /* with the two extra 32-bit size/count words */
#define CA_EXT_SIZE_MARK  0xFFFF
#define CA_ALIGN          8    /* every message is padded to 8 bytes */

/* Command codes (caProto.h). */
#define CA_PROTO_VERSION           0
#define CA_PROTO_EVENT_ADD         1
#define CA_PROTO_EVENT_CANCEL      2
#define CA_PROTO_READ              3
#define CA_PROTO_WRITE             4
#define CA_PROTO_SNAPSHOT          5   /* obsolete */
#define CA_PROTO_SEARCH            6
#define CA_PROTO_BUILD             7   /* obsolete */
#define CA_PROTO_EVENTS_OFF        8
#define CA_PROTO_EVENTS_ON         9
#define CA_PROTO_READ_SYNC         10
#define CA_PROTO_ERROR             11
#define CA_PROTO_CLEAR_CHANNEL     12
#define CA_PROTO_RSRV_IS_UP        13  /* beacon */
#define CA_PROTO_NOT_FOUND         14
#define CA_PROTO_READ_NOTIFY       15
#define CA_PROTO_READ_BUILD        16  /* obsolete */
#define CA_PROTO_REPEATER_CONFIRM  17
#define CA_PROTO_CREATE_CHAN       18
#define CA_PROTO_WRITE_NOTIFY      19
#define CA_PROTO_CLIENT_NAME       20
#define CA_PROTO_HOST_NAME         21
#define CA_PROTO_ACCESS_RIGHTS     22
#define CA_PROTO_ECHO              23
#define CA_PROTO_REPEATER_REGISTER 24
#define CA_PROTO_SIGNAL            25  /* obsolete */
#define CA_PROTO_CREATE_CH_FAIL    26
#define CA_PROTO_SERVER_DISCONN    27
#define CA_PROTO_LAST_CMD          27

/* SEARCH request "reply flag" in the data type field. */
#define CA_DO_REPLY    10
#define CA_DONT_REPLY  5

/* Longest channel name libca accepts, NUL included. */
#define CA_MAX_NAME_LEN 1008

/* DBR types (db_access.h). */
#define DBR_STRING        0
#define DBR_SHORT         1
#define DBR_FLOAT         2
#define DBR_ENUM          3
#define DBR_CHAR          4
#define DBR_LONG          5
#define DBR_DOUBLE        6
#define DBR_STS_STRING    7
#define DBR_TIME_STRING   14
#define DBR_GR_STRING     21
#define DBR_CTRL_STRING   28
#define DBR_PUT_ACKT      35
#define DBR_PUT_ACKS      36
#define DBR_STSACK_STRING 37
#define DBR_CLASS_NAME    38
#define DBR_LAST_TYPE     38

#define MAX_STRING_SIZE      40
#define MAX_UNITS_SIZE       8
#define MAX_ENUM_STRING_SIZE 26
#define MAX_ENUM_STATES      16

/* EPICS epoch (1990-01-01) in Unix seconds. */
#define EPICS_EPOCH_UNIX 631152000u

/* ECA_NORMAL, the only status that means plain success. */
#define ECA_NORMAL 1

#endif
