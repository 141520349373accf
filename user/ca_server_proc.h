/* ca_server_proc: is a learned TCP server a CA server process on this
 * host?  Announcements can be forged (issue 14), so the kernel holds a
 * server learned from one as pending and admits only its flows that open
 * like CA; a server this says yes for is confirmed, all its flows CA,
 * circuits opened before catrace started included.
 *
 * Yes when one local process has a TCP socket listening on the port (at
 * the address, or any) and a UDP socket bound to that port or to the CA
 * server port: rsrv binds UDP on its server port for searches, and its
 * TCP port is that port too, or an ephemeral one when another IOC of the
 * host holds it.  A forged announcement of sshd's port names a process
 * with no UDP socket on a CA port.
 *
 * Read from `root` ("/proc", or a test tree): net/{tcp,udp}{,6} (of the
 * reader's network namespace: catrace runs in the traced interface's),
 * then the fd links of the processes, only when both kinds of socket
 * exist.  Without the right to read other processes' fds (after -Z)
 * nothing is confirmed: safe, pending servers still admit CA flows.
 */
#ifndef CATRACE_CA_SERVER_PROC_H
#define CATRACE_CA_SERVER_PROC_H

#include <stdbool.h>
#include <stdint.h>

/* ip in host order; ca_port the configured CA server port (5064). */
bool ca_server_proc_listens(const char *root, uint32_t ip, uint16_t port, uint16_t ca_port);

#endif
