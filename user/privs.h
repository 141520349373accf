/* privs: -Z USER, giving up root once everything that needs it is done
 * (programs loaded and attached, maps and the ring buffer opened, the -w
 * file created), as tcpdump -Z does.  What catrace does afterwards works
 * on file descriptors it already holds: reading the ring buffer and the
 * counter map, closing links (which detaches them). */
#ifndef CATRACE_PRIVS_H
#define CATRACE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privs_user {
	char name[64];
	uid_t uid;
	gid_t gid;
};

/* Look USER up (a name, or a number); false with a one-line reason. */
bool privs_lookup(const char *user, struct privs_user *u, char *err, size_t errlen);

/* Become that user for good: supplementary groups, group, then user
 * (real, effective and saved ids), which also clears every capability;
 * then prove root cannot be had back.  False with a one-line reason. */
bool privs_drop(const struct privs_user *u, char *err, size_t errlen);

#endif
