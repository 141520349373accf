/* learned_live: the kernel's learned TCP servers (the `servers` map,
 * struct learned_server): how many there are, and confirming the pending
 * ones that are CA server processes of this host (ca_server_proc), so
 * that all their flows are CA.  Live only; the map's fd from the loader
 * or the pins. */
#ifndef CATRACE_LEARNED_LIVE_H
#define CATRACE_LEARNED_LIVE_H

#include <stdbool.h>
#include <stdint.h>

/* Confirmation rounds: at most one per this long (a round reads the
 * socket tables, and the processes' fds when a pending server's port
 * has a local listener). */
#define LEARNED_CONFIRM_INTERVAL_NS (2ull * 1000000000ull)

struct learned_count {
	uint64_t known;       /* entries (pending and confirmed) */
	uint64_t confirmed;
};

/* 0, or -1 with errno. */
int learned_live_count(int servers_fd, struct learned_count *out);

/* Confirm every pending entry `is_ca_server` says yes for; returns how
 * many were confirmed. */
typedef bool (*learned_check_fn)(void *ctx, uint32_t ip, uint16_t port);
unsigned learned_live_confirm(int servers_fd, learned_check_fn is_ca_server, void *ctx);

/* Forget pending entries not refreshed for `ttl_ns` by `now_ns`
 * (CLOCK_MONOTONIC, the kernel's clock): the kernel forgets one only when
 * a packet of it comes, and a forged announcement of a port nobody uses
 * would stay counted.  Returns how many were forgotten. */
unsigned learned_live_expire(int servers_fd, uint64_t ttl_ns, uint64_t now_ns);

#endif
