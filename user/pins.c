/* pins: pinned maps for `catrace stats`; see pins.h. */
#include "pins.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static const char *const pin_names[] = { "counters", "servers", "rep_clients", "meta" };
#define N_PINS (sizeof(pin_names) / sizeof(pin_names[0]))

static int *fd_slot(struct pinned_fds *f, unsigned i)
{
	int *slots[N_PINS] = { &f->counters, &f->servers, &f->rep_clients, &f->meta };

	return slots[i];
}

unsigned long long pins_start_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks = 0;
	FILE *fp;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	/* The command may hold spaces and parentheses: fields count from
	 * the last ')'.  starttime is field 22; ')' ends field 2. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		ticks = strtoull(p + 1, NULL, 10);
	return ticks;
}

static bool is_bpffs(const char *path)
{
	struct statfs s;

	return statfs(path, &s) == 0 && (unsigned long)s.f_type == BPF_FS_MAGIC;
}

static int mkdirs(const char *dir)
{
	char tmp[4096], *p;

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -1;
	return 0;
}

static void pin_path(char *buf, size_t n, const char *dir, unsigned i)
{
	snprintf(buf, n, "%s/%s", dir, pin_names[i]);
}

static bool owner_alive(const struct catrace_meta *m)
{
	return m->pid && kill((pid_t)m->pid, 0) == 0 &&
	       pins_start_ticks((int)m->pid) == m->start_ticks;
}

static int read_meta(int fd, struct catrace_meta *m)
{
	__u32 zero = 0;

	memset(m, 0, sizeof(*m));
	return bpf_map_lookup_elem(fd, &zero, m);
}

static void unpin_all(const char *dir)
{
	char path[4200];
	unsigned i;

	for (i = 0; i < N_PINS; i++) {
		pin_path(path, sizeof(path), dir, i);
		unlink(path);
	}
}

int pins_create(const char *dir, const struct pinned_fds *fds,
		const char *ifaces, char *err, size_t errlen)
{
	struct pinned_fds mine = *fds;
	struct catrace_meta meta;
	char path[4200];
	unsigned i;
	int old;
	__u32 zero = 0;

	if (!is_bpffs("/sys/fs/bpf") &&
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0 && errno != EBUSY) {
		snprintf(err, errlen, "--pin: mounting bpffs at /sys/fs/bpf: %s", strerror(errno));
		return -1;
	}
	if (mkdirs(dir)) {
		snprintf(err, errlen, "--pin %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!is_bpffs(dir)) {
		snprintf(err, errlen, "--pin %s: not on a BPF file system (use a directory under /sys/fs/bpf)",
			 dir);
		return -1;
	}
	pin_path(path, sizeof(path), dir, 3);
	old = bpf_obj_get(path);
	if (old >= 0) {
		int r = read_meta(old, &meta);

		close(old);
		if (r == 0 && owner_alive(&meta)) {
			snprintf(err, errlen, "--pin %s: in use by catrace pid %u", dir, meta.pid);
			return -1;
		}
	}
	/* Whatever is there was left by a catrace that is gone. */
	unpin_all(dir);

	memset(&meta, 0, sizeof(meta));
	meta.pid = (__u32)getpid();
	meta.start_ticks = pins_start_ticks((int)meta.pid);
	snprintf(meta.ifaces, sizeof(meta.ifaces), "%s", ifaces);
	if (bpf_map_update_elem(fds->meta, &zero, &meta, BPF_ANY)) {
		snprintf(err, errlen, "--pin: writing the owner record: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < N_PINS; i++) {
		pin_path(path, sizeof(path), dir, i);
		if (bpf_obj_pin(*fd_slot(&mine, i), path)) {
			snprintf(err, errlen, "--pin: pinning %s: %s", path, strerror(errno));
			unpin_all(dir);
			return -1;
		}
	}
	return 0;
}

void pins_remove(const char *dir)
{
	unpin_all(dir);
	rmdir(dir);
}

int pins_open(const char *dir, struct pinned_fds *fds, struct catrace_meta *meta,
	      char *err, size_t errlen)
{
	char path[4200];
	unsigned i;

	for (i = 0; i < N_PINS; i++)
		*fd_slot(fds, i) = -1;
	for (i = 0; i < N_PINS; i++) {
		pin_path(path, sizeof(path), dir, i);
		*fd_slot(fds, i) = bpf_obj_get(path);
		if (*fd_slot(fds, i) < 0) {
			int e = errno;

			pins_close(fds);
			if (e == ENOENT)
				snprintf(err, errlen, "no catrace is running with its maps pinned at %s "
					 "(%s does not exist; start one with --pin)", dir, path);
			else
				snprintf(err, errlen, "opening %s: %s", path, strerror(e));
			return -1;
		}
	}
	if (read_meta(fds->meta, meta)) {
		snprintf(err, errlen, "reading %s/meta: %s", dir, strerror(errno));
		pins_close(fds);
		return -1;
	}
	if (!owner_alive(meta)) {
		snprintf(err, errlen, "the catrace that pinned %s (pid %u) is no longer running; "
			 "its counters are stale", dir, meta->pid);
		pins_close(fds);
		return -1;
	}
	return 0;
}

void pins_close(struct pinned_fds *fds)
{
	unsigned i;

	for (i = 0; i < N_PINS; i++) {
		int *fd = fd_slot(fds, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}
