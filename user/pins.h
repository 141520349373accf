/* pins: `--pin DIR` puts the maps `catrace stats` needs (counters, learned
 * endpoints, and an owner record) under a bpffs directory, so that
 * another process can read a running tracer's counters. */
#ifndef CATRACE_PINS_H
#define CATRACE_PINS_H

#include <stdbool.h>
#include <stddef.h>

#include "catrace_record.h"

#define PINS_DEFAULT_DIR "/sys/fs/bpf/catrace"

struct pinned_fds {
	int counters, servers, rep_clients, meta;
};

/* Mount bpffs at /sys/fs/bpf if nothing is mounted there (as bpftool
 * does), make DIR, refuse it if a live catrace owns it, clear what a dead
 * one left, record this process as the owner and pin.  0, or -1 and a
 * one-line reason. */
int pins_create(const char *dir, const struct pinned_fds *fds,
		const char *ifaces, char *err, size_t errlen);
/* Unpin what pins_create pinned (the directory goes if empty). */
void pins_remove(const char *dir);

/* Open the pins of a running catrace; fails (with a reason) when there are
 * none or their owner is gone.  On success the fds are the caller's. */
int pins_open(const char *dir, struct pinned_fds *fds, struct catrace_meta *meta,
	      char *err, size_t errlen);
void pins_close(struct pinned_fds *fds);

/* This process's start time in clock ticks (/proc/self/stat), 0 if
 * unknown; with a pid it identifies a process even after pid reuse. */
unsigned long long pins_start_ticks(int pid);

#endif
