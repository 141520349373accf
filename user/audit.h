/* audit: the write audit (--writes): who wrote what to which PV, and what
 * the server answered.
 *
 * Selects WRITE and WRITE_NOTIFY requests, WRITE_NOTIFY replies, ERROR
 * replies about a WRITE or WRITE_NOTIFY (how a server refuses a plain
 * write), and ACCESS_RIGHTS (what the client may do with a channel).  Each
 * becomes one line that names the client end first (whichever way the
 * message went), the client's user and host names (CLIENT_NAME and
 * HOST_NAME of the circuit), the PV, the value written as the decoder
 * prints values, and the status or rights the server gave:
 *
 *   TIME CLIENT->SERVER WriteNotifyRequest(user='op', host='cr1', pv='T:ao', data=['2.5'], data_type=STRING, data_count=1, ioid=2)
 *   TIME CLIENT<-SERVER WriteNotifyResponse(user='op', host='cr1', pv='T:ao', status=ECA_NOWTACCESS, ioid=2)
 *
 * or one JSON object per line (client, client_port, server, server_port,
 * command, user, host, pv, value, status, rights ...).
 */
#ifndef CATRACE_AUDIT_H
#define CATRACE_AUDIT_H

#include <stdbool.h>

#include "ca_decode.h"
#include "output.h"
#include "sbuf.h"
#include "track.h"

/* Is this message part of the write audit? */
bool audit_selects(const struct ca_msg *m);

/* Append the audit line of a selected message (without the newline).
 * `who` is the circuit's client (NULL: unknown); the output's style, time
 * format and element limit apply. */
void audit_format(struct output *o, struct sbuf *sb, const struct msg_ctx *c,
		  const struct track_client *who, const struct ca_msg *m);

#endif
