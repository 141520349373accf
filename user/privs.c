/* privs: see privs.h. */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool privs_lookup(const char *user, struct privs_user *u, char *err, size_t errlen)
{
	struct passwd *pw;
	char *end;

	memset(u, 0, sizeof(*u));
	if (!user || !*user) {
		snprintf(err, errlen, "-Z: no user name given");
		return false;
	}
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		unsigned long id = strtoul(user, &end, 10);

		if (*end == '\0' && id < (uid_t)-1)
			pw = getpwuid((uid_t)id);
	}
	if (!pw) {
		snprintf(err, errlen, "-Z: unknown user '%s'%s%s", user,
			 errno ? ": " : "", errno ? strerror(errno) : "");
		return false;
	}
	if (strlen(pw->pw_name) >= sizeof(u->name)) {
		snprintf(err, errlen, "-Z: user name '%s' too long", pw->pw_name);
		return false;
	}
	strcpy(u->name, pw->pw_name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return true;
}

bool privs_drop(const struct privs_user *u, char *err, size_t errlen)
{
	/* Groups first: once the uid is not 0 they can no longer change. */
	if (initgroups(u->name, u->gid) < 0) {
		snprintf(err, errlen, "-Z %s: setting its groups: %s", u->name, strerror(errno));
		return false;
	}
	if (setresgid(u->gid, u->gid, u->gid) < 0) {
		snprintf(err, errlen, "-Z %s: setgid %u: %s", u->name, (unsigned)u->gid,
			 strerror(errno));
		return false;
	}
	if (setresuid(u->uid, u->uid, u->uid) < 0) {
		snprintf(err, errlen, "-Z %s: setuid %u: %s", u->name, (unsigned)u->uid,
			 strerror(errno));
		return false;
	}
	/* A drop that did not really happen must not go unnoticed. */
	if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "-Z %s: root could be regained; refusing to go on", u->name);
		return false;
	}
	return true;
}
