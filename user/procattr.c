/* procattr: see procattr.h. */
#include "procattr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The cache key: a circuit (client end first) and its transport. */
struct pa_key {
	uint32_t cli_ip, srv_ip;
	uint16_t cli_port, srv_port;
	uint8_t tcp;
	uint8_t pad[3];
};

enum { SIDE_CLIENT, SIDE_SERVER };

/* A local UDP endpoint whose owner a round found. */
struct pa_endpoint_key {
	uint32_t ip;
	uint16_t port;
	uint16_t pad;
};

struct pa_endpoint {
	struct proc_owner owner;
	uint64_t found_ns;
};

struct pa_entry {
	bool done;            /* resolved, or given up */
	bool queued;          /* in the pending list, at pending[slot] */
	bool given_up;        /* a local socket whose owner no round found */
	unsigned slot;
	unsigned tries;
	uint64_t next_try_ns; /* not queued again before */
	bool have[2];         /* [SIDE_CLIENT], [SIDE_SERVER] */
	struct proc_owner owner[2];
};

/* Sockets that may be one end of a pending circuit.  A UDP end bound to
 * the wildcard address can match several sockets (two IOCs share UDP
 * 5064): then the end is attributed only when they all belong to one
 * process. */
#define CAND_MAX 4

struct pa_end {
	uint64_t ino[CAND_MAX];
	unsigned n;
	bool exact;           /* candidates match the address exactly */
	bool overflow;
	bool seen;            /* the socket table has this end (inode or not) */
};

struct round_item {
	struct pa_key key;
	struct pa_entry *e;
	struct pa_end end[2];
	/* The server's listening socket: whoever listens owns what it
	 * accepts, which tells the server end of a circuit that closed
	 * before we looked (a caget lasts a few milliseconds). */
	struct pa_end listener;
};

/* One socket inode looked for in the process scan. */
struct want {
	uint64_t ino;
	bool found;
	struct proc_owner owner;
};

struct round {
	struct round_item *items;
	unsigned n_items;
	struct hmap by_key;    /* pa_key -> item index + 1 */
	struct want *wants;
	unsigned n_wants, cap_wants, n_found;
	struct hmap by_ino;    /* inode -> want index + 1 */
	const struct pa_addrs *local;  /* this namespace's addresses */
};

static uint64_t now_ns(const struct procattr *pa)
{
	struct timespec ts;

	if (pa->now)
		return pa->now();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The network namespace we read /proc/net of: the kernel's records are
 * looked up in it only (0: unknown, a test tree). */
static uint32_t netns_of(const char *root)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/self/ns/net", root);
	return stat(path, &st) == 0 ? (uint32_t)st.st_ino : 0;
}

void procattr_init(struct procattr *pa, const char *root, FILE *warn)
{
	memset(pa, 0, sizeof(*pa));
	snprintf(pa->root, sizeof(pa->root), "%s", root);
	pa->warn = warn;
	pa->budget_ns = PROCATTR_BUDGET_BURST_NS;
	pa->netns = netns_of(root);
	hmap_init(&pa->cache, sizeof(struct pa_key));
	hmap_init(&pa->udp_ends, sizeof(struct pa_endpoint_key));
}

static void map_clear(struct hmap *m)
{
	size_t it = 0;
	void *v;

	while (hmap_next(m, &it, NULL, &v))
		free(v);
	hmap_free(m);
	hmap_init(m, m->key_len);
}

static void cache_clear(struct procattr *pa)
{
	map_clear(&pa->cache);
	pa->n_pending = 0;
}

void procattr_free(struct procattr *pa)
{
	cache_clear(pa);
	hmap_free(&pa->cache);
	map_clear(&pa->udp_ends);
	hmap_free(&pa->udp_ends);
	free(pa->pending);
	pa->pending = NULL;
	free(pa->local.ips);
	memset(&pa->local, 0, sizeof(pa->local));
}

static void make_key(struct pa_key *pk, const struct flow_key *k, bool tcp)
{
	memset(pk, 0, sizeof(*pk));
	pk->cli_ip = k->cli_ip;
	pk->srv_ip = k->srv_ip;
	pk->cli_port = k->cli_port;
	pk->srv_port = k->srv_port;
	pk->tcp = tcp;
}

/* /proc is unusable: say so once, name what failed, and stop trying. */
static void give_up(struct procattr *pa, const char *what, int err)
{
	pa->disabled = true;
	if (pa->warn)
		fprintf(pa->warn, "catrace: process attribution off: %s: %s\n",
			what, strerror(err));
}

/* ---- local addresses (for UDP sockets bound to the wildcard) ---- */

static void add_local(struct pa_addrs *a, uint32_t ip)
{
	if (a->n == a->cap) {
		unsigned ncap = a->cap ? a->cap * 2 : 16;
		uint32_t *n = realloc(a->ips, ncap * sizeof(*n));

		if (!n)
			return;
		a->ips = n;
		a->cap = ncap;
	}
	a->ips[a->n++] = ip;
}

/* This namespace's addresses and broadcasts, at most
 * PROCATTR_ADDRS_TTL_NS old: looked up once for every round and kernel
 * record of that time, not for each. */
static const struct pa_addrs *local_addrs(struct procattr *pa, uint64_t now)
{
	struct pa_addrs *a = &pa->local;
	struct ifaddrs *ifa, *i;

	if (a->n && now - a->at_ns < PROCATTR_ADDRS_TTL_NS)
		return a;
	a->n = 0;
	a->at_ns = now;
	add_local(a, 0xFFFFFFFFu);
	if (getifaddrs(&ifa) != 0)
		return a;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		add_local(a, ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr));
		if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr)
			add_local(a, ntohl(((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr.s_addr));
	}
	freeifaddrs(ifa);
	return a;
}

static bool addr_is_local(const struct pa_addrs *a, uint32_t ip)
{
	unsigned i;

	if ((ip >> 24) == 127)
		return true;
	for (i = 0; i < a->n; i++)
		if (a->ips[i] == ip)
			return true;
	return false;
}

static bool ip_is_local(const struct round *r, uint32_t ip)
{
	return addr_is_local(r->local, ip);
}

/* ---- socket tables ---- */

/* One address of /proc/net/{tcp,udp}{,6}: the kernel prints each 32-bit
 * word of the network-order address as a host-order integer.  IPv6
 * addresses count only when v4-mapped (::ffff:a.b.c.d) or unspecified
 * (a dual-stack wildcard socket). */
static bool parse_addr(const char *hex, size_t len, uint32_t *ip)
{
	uint32_t w[4];
	char b[9];
	size_t i;

	if (len != 8 && len != 32)
		return false;
	for (i = 0; i < len / 8; i++) {
		memcpy(b, hex + i * 8, 8);
		b[8] = '\0';
		w[i] = ntohl((uint32_t)strtoul(b, NULL, 16));
	}
	if (len == 8) {
		*ip = w[0];
		return true;
	}
	if (w[0] || w[1])
		return false;
	if (w[2] == 0 && w[3] == 0) {
		*ip = 0;
		return true;
	}
	if (w[2] != 0x0000FFFFu)
		return false;
	*ip = w[3];
	return true;
}

#define TCP_LISTEN 0x0A

struct sock_line {
	uint32_t lip, rip;
	uint16_t lport, rport;
	unsigned state;
	uint64_t ino;
};

/* "  0: 0100007F:13C8 00000000:0000 0A 00000000:00000000 00:00000000
 *  00000000     0        0 12345 ..." */
static bool parse_sock_line(const char *line, struct sock_line *s)
{
	char la[40], ra[40];
	unsigned lport, rport, st;
	unsigned long long ino;

	if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*u %llu",
		   la, &lport, ra, &rport, &st, &ino) != 6)
		return false;
	if (!parse_addr(la, strlen(la), &s->lip) || !parse_addr(ra, strlen(ra), &s->rip))
		return false;
	if (lport > 65535 || rport > 65535)
		return false;
	s->lport = (uint16_t)lport;
	s->rport = (uint16_t)rport;
	s->state = st;
	s->ino = ino;
	return true;
}

static void end_add(struct pa_end *e, uint64_t ino, bool exact)
{
	unsigned i;

	e->seen = true;
	if (!ino)
		return;  /* not yet accepted, or closing: no owner to find */
	if (exact && !e->exact) {
		/* The kernel delivers to the exact binding: wildcard ones lose. */
		e->n = 0;
		e->overflow = false;
		e->exact = true;
	} else if (!exact && e->exact) {
		return;
	}
	for (i = 0; i < e->n; i++)
		if (e->ino[i] == ino)
			return;
	if (e->n == CAND_MAX)
		e->overflow = true;
	else
		e->ino[e->n++] = ino;
}

static struct round_item *item_for(struct round *r, const struct pa_key *k)
{
	void *v = hmap_get(&r->by_key, k);

	return v ? &r->items[(uintptr_t)v - 1] : NULL;
}

static void match_listener(struct round *r, const struct sock_line *s)
{
	unsigned i;

	for (i = 0; i < r->n_items; i++) {
		struct round_item *it = &r->items[i];

		if (!it->key.tcp || it->key.srv_port != s->lport)
			continue;
		if (s->lip == it->key.srv_ip)
			end_add(&it->listener, s->ino, true);
		else if (s->lip == 0 && ip_is_local(r, it->key.srv_ip))
			end_add(&it->listener, s->ino, false);
	}
}

static void match_tcp(struct round *r, const struct sock_line *s)
{
	struct pa_key k;
	struct round_item *it;

	if (s->state == TCP_LISTEN) {
		match_listener(r, s);
		return;
	}
	memset(&k, 0, sizeof(k));
	k.tcp = 1;
	/* The local socket is the client end ... */
	k.cli_ip = s->lip;
	k.cli_port = s->lport;
	k.srv_ip = s->rip;
	k.srv_port = s->rport;
	if ((it = item_for(r, &k)) != NULL)
		end_add(&it->end[SIDE_CLIENT], s->ino, true);
	/* ... or the server end. */
	k.cli_ip = s->rip;
	k.cli_port = s->rport;
	k.srv_ip = s->lip;
	k.srv_port = s->lport;
	if ((it = item_for(r, &k)) != NULL)
		end_add(&it->end[SIDE_SERVER], s->ino, true);
}

/* A UDP end (ip:port, talking to peer) and a socket: unconnected sockets
 * match any peer, wildcard-bound ones any local address. */
static void match_udp_end(const struct round *r, struct pa_end *e,
			  uint32_t ip, uint16_t port, uint32_t peer_ip,
			  uint16_t peer_port, const struct sock_line *s)
{
	if (s->lport != port)
		return;
	if (s->rport && (s->rip != peer_ip || s->rport != peer_port))
		return;
	if (s->lip == ip)
		end_add(e, s->ino, true);
	else if (s->lip == 0 && ip_is_local(r, ip))
		end_add(e, s->ino, false);
}

static void match_udp(struct round *r, const struct sock_line *s)
{
	unsigned i;

	for (i = 0; i < r->n_items; i++) {
		struct round_item *it = &r->items[i];
		const struct pa_key *k = &it->key;

		if (k->tcp)
			continue;
		match_udp_end(r, &it->end[SIDE_CLIENT], k->cli_ip, k->cli_port,
			      k->srv_ip, k->srv_port, s);
		match_udp_end(r, &it->end[SIDE_SERVER], k->srv_ip, k->srv_port,
			      k->cli_ip, k->cli_port, s);
	}
}

/* Read one socket table; false when it cannot be read (`required`: then
 * attribution is off, said once). */
static bool read_table(struct procattr *pa, struct round *r, const char *name,
		       bool tcp, bool required)
{
	char path[300], line[512];
	struct sock_line s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/net/%s", pa->root, name);
	f = fopen(path, "re");
	if (!f) {
		if (required)
			give_up(pa, path, errno);
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!parse_sock_line(line, &s))
			continue;  /* the title line */
		if (tcp)
			match_tcp(r, &s);
		else
			match_udp(r, &s);
	}
	fclose(f);
	return true;
}

/* ---- the process scan ---- */

static void want_add(struct round *r, uint64_t ino)
{
	if (hmap_get(&r->by_ino, &ino))
		return;
	if (r->n_wants == r->cap_wants) {
		unsigned ncap = r->cap_wants ? r->cap_wants * 2 : 16;
		struct want *n = realloc(r->wants, ncap * sizeof(*n));

		if (!n)
			return;
		r->wants = n;
		r->cap_wants = ncap;
	}
	memset(&r->wants[r->n_wants], 0, sizeof(r->wants[0]));
	r->wants[r->n_wants].ino = ino;
	if (hmap_put(&r->by_ino, &ino, (void *)(uintptr_t)(r->n_wants + 1), NULL))
		r->n_wants++;
}

static void read_comm(int pid_dir, struct proc_owner *o)
{
	ssize_t n;
	int fd = openat(pid_dir, "comm", O_RDONLY | O_CLOEXEC);

	o->comm[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, o->comm, sizeof(o->comm) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	o->comm[n] = '\0';
	o->comm[strcspn(o->comm, "\n")] = '\0';
}

/* Look at the fd links in fd_dir; returns how many fds it lists (links
 * we may not read count: the task fallback is for an empty table only). */
static unsigned scan_fds(struct round *r, int fd_dir, int pid_dir, int32_t pid)
{
	DIR *d = fdopendir(fd_dir);
	struct dirent *de;
	unsigned fds = 0;

	if (!d) {
		close(fd_dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL && r->n_found < r->n_wants) {
		char target[64];
		unsigned long long ino;
		ssize_t n;
		void *v;

		if (de->d_name[0] == '.')
			continue;
		fds++;
		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n < 0 && errno == EACCES)
			break;  /* not ours to see (another user namespace): none are */
		if (n <= 8 || memcmp(target, "socket:[", 8))
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%llu]", &ino) != 1)
			continue;
		v = hmap_get(&r->by_ino, &(uint64_t){ ino });
		if (v && !r->wants[(uintptr_t)v - 1].found) {
			struct want *w = &r->wants[(uintptr_t)v - 1];

			w->found = true;
			w->owner.pid = pid;
			read_comm(pid_dir, &w->owner);
			r->n_found++;
		}
	}
	closedir(d);
	return fds;
}

/* A process whose main thread has exited (softIoc -S does that) shows no
 * fds under /proc/PID/fd; its other threads share the table. */
static void scan_tasks(struct round *r, int pid_dir, int32_t pid)
{
	int tdir = openat(pid_dir, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (tdir < 0)
		return;
	d = fdopendir(tdir);
	if (!d) {
		close(tdir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[300];
		int fdd;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    atoi(de->d_name) == pid)
			continue;
		snprintf(path, sizeof(path), "%s/fd", de->d_name);
		fdd = openat(dirfd(d), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fdd >= 0 && scan_fds(r, fdd, pid_dir, pid) > 0)
			break;  /* one live thread shows the shared table */
	}
	closedir(d);
}

/* Look at one process's fds (or its threads', see scan_tasks). */
static void scan_pid(struct round *r, int dir_fd, const char *name, int32_t pid)
{
	int pdir = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fdd;

	if (pdir < 0)
		return;  /* gone meanwhile */
	fdd = openat(pdir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdd < 0 || scan_fds(r, fdd, pdir, pid) == 0)
		scan_tasks(r, pdir, pid);
	close(pdir);
}

/* The processes that owned sockets lately first: an IOC's new circuit is
 * found there without looking at every process.  False if /proc is gone. */
static bool scan_hints(struct procattr *pa, struct round *r)
{
	int root = open(pa->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned i;

	if (root < 0) {
		give_up(pa, pa->root, errno);
		return false;
	}
	if (pa->n_hints)
		pa->st.hint_scans++;
	for (i = 0; i < pa->n_hints && r->n_found < r->n_wants; i++) {
		char name[16];

		snprintf(name, sizeof(name), "%d", (int)pa->hints[i]);
		scan_pid(r, root, name, pa->hints[i]);
	}
	close(root);
	return true;
}

static void scan_processes(struct procattr *pa, struct round *r)
{
	DIR *d = opendir(pa->root);
	struct dirent *de;

	if (!d) {
		give_up(pa, pa->root, errno);
		return;
	}
	pa->st.scans++;
	while ((de = readdir(d)) != NULL && r->n_found < r->n_wants) {
		if (isdigit((unsigned char)de->d_name[0]))
			scan_pid(r, dirfd(d), de->d_name, (int32_t)atoi(de->d_name));
	}
	closedir(d);
}

static void hint_add(struct procattr *pa, int32_t pid)
{
	unsigned i, n = pa->n_hints;

	for (i = 0; i < pa->n_hints; i++)
		if (pa->hints[i] == pid) {
			n = i;  /* move it to the front */
			break;
		}
	if (n == PROCATTR_HINTS)
		n--;
	memmove(&pa->hints[1], &pa->hints[0], n * sizeof(pa->hints[0]));
	pa->hints[0] = pid;
	if (n == pa->n_hints)
		pa->n_hints++;
}

/* ---- a round: resolve every pending circuit at once ---- */

/* The owner of an end: every candidate socket found, all in one process. */
static bool end_owner(const struct round *r, const struct pa_end *e,
		      struct proc_owner *out)
{
	unsigned i;
	bool have = false;

	if (e->overflow || !e->n)
		return false;
	for (i = 0; i < e->n; i++) {
		void *v = hmap_get(&r->by_ino, &e->ino[i]);
		const struct want *w;

		if (!v)
			return false;
		w = &r->wants[(uintptr_t)v - 1];
		if (!w->found)
			continue;  /* closed meanwhile */
		if (have && w->owner.pid != out->pid)
			return false;  /* shared port, several processes */
		*out = w->owner;
		have = true;
	}
	return have;
}

static void settle(const struct round *r, struct round_item *it, uint64_t now)
{
	struct pa_entry *e = it->e;
	bool retry = false;
	int side;

	for (side = 0; side < 2; side++) {
		const struct pa_end *end = &it->end[side];

		if (end_owner(r, end, &e->owner[side]))
			e->have[side] = true;
		else if (end->seen)
			retry = true;  /* a local socket with no owner found yet */
	}
	if (!e->have[SIDE_CLIENT] && !e->have[SIDE_SERVER] && !it->end[SIDE_SERVER].n &&
	    !it->end[SIDE_CLIENT].n && end_owner(r, &it->listener, &e->owner[SIDE_SERVER]))
		e->have[SIDE_SERVER] = true;
	/* No local socket at all: traffic passing by (a router, a mirror
	 * port) or a socket gone; no scan will change that. */
	if (e->have[SIDE_CLIENT] || e->have[SIDE_SERVER] || !retry)
		e->done = true;
	else if (e->tries >= PROCATTR_TRIES)
		e->done = e->given_up = true;
	else
		e->next_try_ns = now + (PROCATTR_RETRY_NS << (e->tries - 1));
}

static void round_free(struct round *r)
{
	free(r->items);
	free(r->wants);
	hmap_free(&r->by_key);
	hmap_free(&r->by_ino);
}

static void end_key(struct pa_endpoint_key *ek, const struct pa_key *k, int side)
{
	memset(ek, 0, sizeof(*ek));
	ek->ip = side == SIDE_CLIENT ? k->cli_ip : k->srv_ip;
	ek->port = side == SIDE_CLIENT ? k->cli_port : k->srv_port;
}

static void endpoint_remember(struct procattr *pa, const struct pa_key *k, int side,
			      const struct proc_owner *o, uint64_t now)
{
	struct pa_endpoint_key ek;
	struct pa_endpoint *ep;

	end_key(&ek, k, side);
	ep = hmap_get(&pa->udp_ends, &ek);
	if (!ep) {
		if (hmap_count(&pa->udp_ends) >= PROCATTR_CACHE_MAX)
			map_clear(&pa->udp_ends);
		ep = calloc(1, sizeof(*ep));
		if (!ep)
			return;
		if (!hmap_put(&pa->udp_ends, &ek, ep, NULL)) {
			free(ep);
			return;
		}
	}
	ep->owner = *o;
	ep->found_ns = now;
}

/* A new UDP peer of a local endpoint found lately: no round needed. */
static bool endpoint_known(struct procattr *pa, const struct pa_key *k,
			   struct pa_entry *e, uint64_t now)
{
	int side;

	for (side = 0; side < 2; side++) {
		struct pa_endpoint_key ek;
		struct pa_endpoint *ep;

		end_key(&ek, k, side);
		ep = hmap_get(&pa->udp_ends, &ek);
		if (ep && now - ep->found_ns < PROCATTR_ENDPOINT_TTL_NS) {
			e->owner[side] = ep->owner;
			e->have[side] = true;
		}
	}
	return e->have[SIDE_CLIENT] || e->have[SIDE_SERVER];
}

/* Did the tables show an end (or the listener) of every circuit? */
static bool all_seen(const struct round *r, bool tcp)
{
	unsigned i;

	for (i = 0; i < r->n_items; i++) {
		const struct round_item *it = &r->items[i];

		if (it->key.tcp == tcp && !it->end[SIDE_CLIENT].seen &&
		    !it->end[SIDE_SERVER].seen && !it->listener.seen)
			return false;
	}
	return true;
}

static void run_round(struct procattr *pa, uint64_t now)
{
	struct round r;
	bool any_tcp = false, any_udp = false;
	unsigned i, side, j;

	memset(&r, 0, sizeof(r));
	hmap_init(&r.by_key, sizeof(struct pa_key));
	hmap_init(&r.by_ino, sizeof(uint64_t));
	r.items = calloc(pa->n_pending ? pa->n_pending : 1, sizeof(*r.items));
	if (!r.items)
		goto out;
	for (i = 0; i < pa->n_pending; i++) {
		struct pa_entry *e = hmap_get(&pa->cache, &pa->pending[i]);

		if (!e || e->done || hmap_get(&r.by_key, &pa->pending[i]))
			continue;  /* forgotten, or queued twice */
		e->queued = false;
		e->tries++;
		r.items[r.n_items].key = pa->pending[i];
		r.items[r.n_items].e = e;
		if (!hmap_put(&r.by_key, &pa->pending[i], (void *)(uintptr_t)(r.n_items + 1), NULL))
			continue;
		if (pa->pending[i].tcp)
			any_tcp = true;
		else
			any_udp = true;
		r.n_items++;
	}
	pa->n_pending = 0;
	if (!r.n_items)
		goto out;
	pa->st.table_reads++;
	r.local = local_addrs(pa, now);
	/* tcp and udp must be there; the IPv6 tables not (IPv6 off). */
	/* The IPv6 tables (dual-stack sockets) only when the IPv4 ones left
	 * something unknown: the kernel walks its whole hash for each. */
	if (any_tcp) {
		if (!read_table(pa, &r, "tcp", true, true))
			goto out;
		if (!all_seen(&r, true))
			read_table(pa, &r, "tcp6", true, false);
	}
	if (any_udp) {
		if (!read_table(pa, &r, "udp", false, true))
			goto out;
		if (!all_seen(&r, false))
			read_table(pa, &r, "udp6", false, false);
	}
	for (i = 0; i < r.n_items; i++) {
		struct round_item *it = &r.items[i];

		for (side = 0; side < 2; side++)
			for (j = 0; j < it->end[side].n; j++)
				want_add(&r, it->end[side].ino[j]);
		/* The listener counts only when the server end is gone. */
		if (!it->end[SIDE_SERVER].n && !it->end[SIDE_CLIENT].n)
			for (j = 0; j < it->listener.n; j++)
				want_add(&r, it->listener.ino[j]);
	}
	if (r.n_wants && scan_hints(pa, &r) && r.n_found < r.n_wants)
		scan_processes(pa, &r);
	if (pa->disabled)
		goto out;
	for (i = 0; i < r.n_items; i++) {
		struct pa_entry *e = r.items[i].e;
		bool had[2] = { e->have[SIDE_CLIENT], e->have[SIDE_SERVER] };

		settle(&r, &r.items[i], now);
		if (e->given_up)
			pa->st.given_up++;
		for (side = 0; side < 2; side++)
			if (e->have[side] && !had[side]) {
				pa->st.found++;
				hint_add(pa, e->owner[side].pid);
				if (!r.items[i].key.tcp)
					endpoint_remember(pa, &r.items[i].key, side,
							  &e->owner[side], now);
			}
	}
out:
	round_free(&r);
}

/* ---- the kernel's records (bpf/sockowner.bpf.c) ---- */

/* The owner the kernel recorded for an end with one of our addresses: a
 * TCP socket by its four-tuple, a UDP one by its address and port, or its
 * port alone when bound to the wildcard.  A remote end is not looked up:
 * it costs a system call, and a remote peer may use a port that one of
 * our wildcard sockets has too. */
static bool kernel_end(struct procattr *pa, const struct pa_key *pk, int side,
		       uint64_t now, struct proc_owner *out)
{
	struct sock_owner_key k;
	struct sock_owner o;
	bool client = side == SIDE_CLIENT;

	memset(&k, 0, sizeof(k));
	k.netns = pa->netns;
	k.local_ip = client ? pk->cli_ip : pk->srv_ip;
	k.local_port = client ? pk->cli_port : pk->srv_port;
	k.proto = pk->tcp ? IPPROTO_TCP : IPPROTO_UDP;
	if (pk->tcp) {
		k.remote_ip = client ? pk->srv_ip : pk->cli_ip;
		k.remote_port = client ? pk->srv_port : pk->cli_port;
	}
	if (!addr_is_local(local_addrs(pa, now), k.local_ip))
		return false;
	if (!pa->kernel_owner(pa->kernel_owner_ctx, &k, &o)) {
		if (pk->tcp)
			return false;
		k.local_ip = 0;
		if (!pa->kernel_owner(pa->kernel_owner_ctx, &k, &o))
			return false;
	}
	memset(out, 0, sizeof(*out));
	out->pid = (int32_t)o.tgid;
	memcpy(out->comm, o.comm, sizeof(o.comm));
	return true;
}

/* Ends the kernel names; true when no /proc round is needed any more: an
 * end it did not name is not on this host.  Only the ends' addresses
 * tell, so a circuit between two of our addresses goes on to a round for
 * the other end (loopback, or a process that was already connected or
 * accepting when the programs were attached). */
static bool kernel_named(struct procattr *pa, const struct pa_key *k,
			 struct pa_entry *e, uint64_t now)
{
	int side;

	if (!pa->kernel_owner)
		return false;
	for (side = 0; side < 2; side++)
		if (!e->have[side] && kernel_end(pa, k, side, now, &e->owner[side])) {
			e->have[side] = true;
			pa->st.found++;
			pa->st.from_kernel++;
		}
	if (!e->have[SIDE_CLIENT] && !e->have[SIDE_SERVER])
		return false;
	for (side = 0; side < 2; side++)
		if (!e->have[side] &&
		    addr_is_local(local_addrs(pa, now), side == SIDE_CLIENT ? k->cli_ip : k->srv_ip))
			return false;
	return true;
}

/* ---- the cache ---- */

static struct pa_entry *entry_get(struct procattr *pa, const struct pa_key *k)
{
	struct pa_entry *e = hmap_get(&pa->cache, k);

	if (e)
		return e;
	/* Bounded: circuits that never close (UDP exchanges) are forgotten
	 * wholesale past the bound, then found again as they come. */
	if (hmap_count(&pa->cache) >= PROCATTR_CACHE_MAX)
		cache_clear(pa);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	if (!hmap_put(&pa->cache, k, e, NULL)) {
		free(e);
		return NULL;
	}
	return e;
}

static void queue(struct procattr *pa, const struct pa_key *k, struct pa_entry *e)
{
	if (!pa->pending) {
		pa->pending = calloc(PROCATTR_PENDING_MAX, sizeof(*pa->pending));
		if (!pa->pending)
			return;
	}
	if (pa->n_pending >= PROCATTR_PENDING_MAX)
		return;  /* queued on a later message, after a round */
	e->slot = pa->n_pending;
	pa->pending[pa->n_pending++] = *k;
	e->queued = true;
}

/* A queued circuit closed: its slot goes to the last key.  Keys of closed
 * circuits left in the list once filled it for good after a burst of
 * short circuits, and nothing was ever queued again (issue 14). */
static void unqueue(struct procattr *pa, struct pa_entry *e)
{
	unsigned last = pa->n_pending - 1;

	if (e->slot != last) {
		struct pa_entry *moved = hmap_get(&pa->cache, &pa->pending[last]);

		pa->pending[e->slot] = pa->pending[last];
		if (moved)
			moved->slot = e->slot;
	}
	pa->n_pending--;
	e->queued = false;
}

/* Top the budget up for the time gone by (a share of it), to the burst.
 * Only the sum is capped: a round that took seconds (a host with huge
 * socket tables) is paid back at the share's pace, however seldom we
 * are called, instead of at most a burst per call. */
static bool budget_left(struct procattr *pa, uint64_t now)
{
	uint64_t add = (now - pa->budget_at_ns) / PROCATTR_BUDGET_SHARE;
	uint64_t room = (uint64_t)(PROCATTR_BUDGET_BURST_NS - pa->budget_ns);

	pa->budget_at_ns = now;
	pa->budget_ns += (int64_t)(add < room ? add : room);
	return pa->budget_ns > 0;
}

/* A round for whatever waits, when the budget allows.  Any message may
 * start it, not only one of a waiting circuit: a circuit that waits may
 * never send another (a short one, or an idle one). */
static void round_if_due(struct procattr *pa, uint64_t now)
{
	uint64_t t;

	if (!pa->n_pending || !budget_left(pa, now))
		return;
	run_round(pa, now);
	t = now_ns(pa) - now;
	pa->budget_ns -= (int64_t)t;
	pa->st.round_ns += t;
}

/* The cache entry of k, resolved as far as the budget allows now. */
static struct pa_entry *entry_resolved(struct procattr *pa, const struct flow_key *k,
				       bool tcp)
{
	struct pa_entry *e;
	struct pa_key key;
	uint64_t now;

	if (pa->disabled)
		return NULL;
	make_key(&key, k, tcp);
	e = entry_get(pa, &key);
	if (!e)
		return NULL;
	if (e->done && !pa->n_pending)
		return e;
	now = now_ns(pa);
	if (!e->done) {
		if (kernel_named(pa, &key, e, now)) {
			e->done = true;
			if (e->queued)
				unqueue(pa, e);
		} else if (!tcp && !e->tries && !e->queued && endpoint_known(pa, &key, e, now))
			e->done = true;
		else if (!e->queued && now >= e->next_try_ns)
			queue(pa, &key, e);
	}
	round_if_due(pa, now);
	/* The cache may have been cleared: look again. */
	e = hmap_get(&pa->cache, &key);
	return e && !pa->disabled ? e : NULL;
}

const struct proc_owner *procattr_owner(struct procattr *pa,
					const struct flow_key *k, bool tcp,
					bool from_client)
{
	int side = from_client ? SIDE_CLIENT : SIDE_SERVER;
	struct pa_entry *e = entry_resolved(pa, k, tcp);

	if (!e)
		return NULL;
	if (e->have[side])
		return &e->owner[side];
	if (e->have[!side])
		return &e->owner[!side];
	return NULL;
}

void procattr_owners(struct procattr *pa, const struct flow_key *k, bool tcp,
		     const struct proc_owner **client, const struct proc_owner **server)
{
	struct pa_entry *e = entry_resolved(pa, k, tcp);

	*client = e && e->have[SIDE_CLIENT] ? &e->owner[SIDE_CLIENT] : NULL;
	*server = e && e->have[SIDE_SERVER] ? &e->owner[SIDE_SERVER] : NULL;
}

void procattr_forget(struct procattr *pa, const struct flow_key *k, bool tcp)
{
	struct pa_key key;
	struct pa_entry *e;

	make_key(&key, k, tcp);
	e = hmap_del(&pa->cache, &key);
	if (!e)
		return;
	if (e->queued)
		unqueue(pa, e);
	/* Closed before any round could look (or before one found it): an
	 * owner we will never know. */
	if (!e->done)
		pa->st.given_up++;
	free(e);
}
