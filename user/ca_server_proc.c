/* ca_server_proc: see ca_server_proc.h. */
#include "ca_server_proc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TCP_LISTEN 0x0A
#define MAX_INODES 64

struct inode_set {
	unsigned long ino[MAX_INODES];
	unsigned n;
};

static void set_add(struct inode_set *s, unsigned long ino)
{
	if (ino && s->n < MAX_INODES)
		s->ino[s->n++] = ino;
}

static bool set_has(const struct inode_set *s, unsigned long ino)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (s->ino[i] == ino)
			return true;
	return false;
}

/* One socket line of net/{tcp,udp}{,6}: its local address (0 for any
 * IPv6 address but the wildcard, which also takes IPv4), local port,
 * state and inode.  False for the header and for lines not understood. */
static bool parse_line(const char *line, bool v6, uint32_t *ip, bool *wildcard,
		       uint16_t *port, unsigned *state, unsigned long *ino)
{
	char addr[40];
	unsigned p, st;
	unsigned long i;
	unsigned x;

	if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*u %lu",
		   addr, &p, &st, &i) != 4)
		return false;
	if (v6) {
		*wildcard = strspn(addr, "0") == strlen(addr);
		*ip = 0;
	} else {
		if (sscanf(addr, "%8x", &x) != 1)
			return false;
		/* The kernel prints the address's four bytes as one native
		 * integer: back to network order, then to host order. */
		*ip = ntohl((uint32_t)x);
		*wildcard = *ip == 0;
	}
	*port = (uint16_t)p;
	*state = st;
	*ino = i;
	return true;
}

/* Sockets of one table on `port`: TCP listening at `ip` (or any), or UDP
 * bound to it at any address. */
static void read_table(const char *root, const char *name, bool v6, bool tcp, uint32_t ip,
		       uint16_t port, struct inode_set *out)
{
	char path[512], line[512];
	unsigned long ino;
	uint32_t lip;
	uint16_t lport;
	unsigned state;
	bool any;
	FILE *f;

	snprintf(path, sizeof(path), "%s/net/%s", root, name);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!parse_line(line, v6, &lip, &any, &lport, &state, &ino) || lport != port)
			continue;
		if (tcp && (state != TCP_LISTEN || !(any || lip == ip)))
			continue;
		set_add(out, ino);
	}
	fclose(f);
}

static void sockets_on(const char *root, bool tcp, uint32_t ip, uint16_t port,
		       struct inode_set *out)
{
	read_table(root, tcp ? "tcp" : "udp", false, tcp, ip, port, out);
	read_table(root, tcp ? "tcp6" : "udp6", true, tcp, ip, port, out);
}

/* Look at the fd links in `dir` for sockets of `a` and `b`; returns how
 * many links it read. */
static unsigned scan_fds(const char *dir, const struct inode_set *a,
			 const struct inode_set *b, bool *has_a, bool *has_b)
{
	char path[700], link[64];
	unsigned long ino;
	unsigned links = 0;
	struct dirent *d;
	ssize_t n;
	DIR *fd;

	fd = opendir(dir);
	if (!fd)
		return 0;
	while ((d = readdir(fd)) && !(*has_a && *has_b)) {
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		links++;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		*has_a |= set_has(a, ino);
		*has_b |= set_has(b, ino);
	}
	closedir(fd);
	return links;
}

/* Does process `pid` hold a socket of `a` and one of `b`?  A process
 * whose main thread has exited (softIoc -S does, its IOC running on in
 * other threads) shows no fds under its pid: then one of its threads'. */
static bool process_holds_both(const char *root, const char *pid,
			       const struct inode_set *a, const struct inode_set *b)
{
	char path[600];
	bool has_a = false, has_b = false;
	struct dirent *d;
	DIR *tasks;

	snprintf(path, sizeof(path), "%s/%s/fd", root, pid);
	if (scan_fds(path, a, b, &has_a, &has_b))
		return has_a && has_b;
	snprintf(path, sizeof(path), "%s/%s/task", root, pid);
	tasks = opendir(path);
	if (!tasks)
		return false;
	while ((d = readdir(tasks))) {
		if (!isdigit((unsigned char)d->d_name[0]) || !strcmp(d->d_name, pid))
			continue;
		snprintf(path, sizeof(path), "%s/%s/task/%s/fd", root, pid, d->d_name);
		if (scan_fds(path, a, b, &has_a, &has_b))
			break;  /* the threads share one fd table */
	}
	closedir(tasks);
	return has_a && has_b;
}

bool ca_server_proc_listens(const char *root, uint32_t ip, uint16_t port, uint16_t ca_port)
{
	struct inode_set listeners = { .n = 0 }, udp = { .n = 0 };
	struct dirent *d;
	bool found = false;
	DIR *dir;

	/* The socket tables first: most learned servers are not local, and
	 * those cost no look at any process. */
	sockets_on(root, true, ip, port, &listeners);
	if (!listeners.n)
		return false;
	sockets_on(root, false, ip, port, &udp);
	if (port != ca_port)
		sockets_on(root, false, ip, ca_port, &udp);
	if (!udp.n)
		return false;
	dir = opendir(root);
	if (!dir)
		return false;
	while (!found && (d = readdir(dir)))
		if (isdigit((unsigned char)d->d_name[0]))
			found = process_holds_both(root, d->d_name, &listeners, &udp);
	closedir(dir);
	return found;
}
