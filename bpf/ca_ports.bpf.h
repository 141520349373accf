/* The ports that make a packet CA: an array the loader configures and
 * the packet programs keep learning into, and the ports local and remote
 * clients search from.  bpf/sockowner.bpf.c reads both (the loader gives
 * it the packet programs' maps), so both objects agree on what CA is.
 * Included by both, after the UAPI and libbpf headers and
 * catrace_record.h. */
#ifndef CATRACE_CA_PORTS_BPF_H
#define CATRACE_CA_PORTS_BPF_H

/* What a port is, one array look-up per port (most packets are not CA,
 * and this is all they cost after their headers). */
#define PORT_SERVER      0x01  /* a configured server port, any address */
#define PORT_REPEATER    0x02  /* the repeater port */
#define PORT_LEARNED     0x04  /* some learned server uses it: see `servers` */
#define PORT_REP_CLIENT  0x08  /* some repeater client uses it: see `rep_clients` */

/* One byte per writer, so that no write races another: user space sets
 * `cfg` before attaching, the programs set the learned bytes. */
struct port_info {
	__u8 cfg;         /* PORT_SERVER, PORT_REPEATER */
	__u8 learned;     /* a learned server uses this port */
	__u8 rep_client;  /* a repeater client uses this port */
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct port_info);
} port_flags SEC(".maps");

/* Ports clients search from (ip 0): libca wakes its UDP thread at exit
 * with a VERSION sent from that port to itself. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ep_key);
	__type(value, __u8);
} udp_clients SEC(".maps");

static __always_inline __u32 port_bits(__u16 port)
{
	__u32 k = port;
	struct port_info *v = bpf_map_lookup_elem(&port_flags, &k);

	if (!v)
		return 0;
	return v->cfg | (v->learned ? PORT_LEARNED : 0) |
	       (v->rep_client ? PORT_REP_CLIENT : 0);
}

#endif
