/* chanmem: see chanmem.h. */
#include "chanmem.h"
#include "bytes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca_proto.h"
#include "hmap.h"

#define CHANMEM_MAGIC "catrace-channels 1"

/* ---- the socket table of this network namespace ---------------------- */

struct sock_tuple {
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;
};

struct sock_table {
	bool readable;
	struct hmap established;  /* struct sock_tuple -> (void *)1 */
	struct hmap local_ips;    /* uint32_t -> (void *)1 */
};

/* "0100007F:13C8": the address as the kernel's raw be32 in hex (so the
 * bytes of a little-endian u32), the port in host order. */
static bool parse_proc_addr(const char *s, uint32_t *ip, uint16_t *port)
{
	unsigned long a, p;
	char *end;

	a = strtoul(s, &end, 16);
	if (end - s != 8 || *end != ':')
		return false;
	p = strtoul(end + 1, &end, 16);
	if (p > 0xffff)
		return false;
	*ip = ntohl((uint32_t)a);
	*port = (uint16_t)p;
	return true;
}

static void sock_table_read(struct sock_table *tab, const char *proc_root)
{
	char path[512], line[512], la[64], ra[64];
	unsigned st;
	FILE *f;

	hmap_init(&tab->established, sizeof(struct sock_tuple));
	hmap_init(&tab->local_ips, sizeof(uint32_t));
	snprintf(path, sizeof(path), "%s/net/tcp", proc_root);
	f = fopen(path, "r");
	if (!f)
		return;
	tab->readable = true;
	while (fgets(line, sizeof(line), f)) {
		struct sock_tuple t;

		memset(&t, 0, sizeof(t));
		if (sscanf(line, " %*u: %63s %63s %x", la, ra, &st) != 3 ||
		    !parse_proc_addr(la, &t.local_ip, &t.local_port) ||
		    !parse_proc_addr(ra, &t.remote_ip, &t.remote_port))
			continue;
		if (t.local_ip)
			hmap_put(&tab->local_ips, &t.local_ip, (void *)1, NULL);
		if (st == 1)  /* TCP_ESTABLISHED */
			hmap_put(&tab->established, &t, (void *)1, NULL);
	}
	fclose(f);
}

static void sock_table_free(struct sock_table *tab)
{
	hmap_free(&tab->established);
	hmap_free(&tab->local_ips);
}

static bool is_established(const struct sock_table *tab, uint32_t lip, uint16_t lport,
			   uint32_t rip, uint16_t rport)
{
	struct sock_tuple t;

	memset(&t, 0, sizeof(t));
	t.local_ip = lip;
	t.local_port = lport;
	t.remote_ip = rip;
	t.remote_port = rport;
	return hmap_get(&tab->established, &t) != NULL;
}

/* Whether a saved circuit may still be the one it was. */
static bool circuit_alive(const struct sock_table *tab, const struct flow_key *k)
{
	bool cli_here, srv_here;

	if (!tab->readable)
		return true;
	cli_here = hmap_get(&tab->local_ips, &k->cli_ip) != NULL;
	srv_here = hmap_get(&tab->local_ips, &k->srv_ip) != NULL;
	if (!cli_here && !srv_here)
		return true;  /* between two other hosts: cannot tell */
	return (srv_here && is_established(tab, k->srv_ip, k->srv_port, k->cli_ip, k->cli_port)) ||
	       (cli_here && is_established(tab, k->cli_ip, k->cli_port, k->srv_ip, k->srv_port));
}

/* ---- lines ------------------------------------------------------------ */

static bool parse_endpoint(const char *s, uint32_t *ip, uint16_t *port)
{
	char buf[32];
	const char *colon = strrchr(s, ':');
	struct in_addr a;
	unsigned long p;
	char *end;

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	p = strtoul(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p == 0 || p > 0xffff)
		return false;
	*ip = ntohl(a.s_addr);
	*port = (uint16_t)p;
	return true;
}

static bool parse_u32(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

/* %XX-unescape s into out (at most CA_MAX_NAME_LEN bytes); its length,
 * or -1 when malformed or too long. */
static int unescape_name(const char *s, char *out)
{
	size_t n = 0;

	while (*s) {
		int c = (unsigned char)*s++;

		if (c == '%') {
			int h = hex_digit_value(s[0]), l = h < 0 ? -1 : hex_digit_value(s[1]);

			if (l < 0)
				return -1;
			c = h * 16 + l;
			s += 2;
		}
		if (c == 0 || n >= CA_MAX_NAME_LEN)
			return -1;
		out[n++] = (char)c;
	}
	return (int)n;
}

static bool parse_key(char *cli, char *srv, struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	return parse_endpoint(cli, &k->cli_ip, &k->cli_port) &&
	       parse_endpoint(srv, &k->srv_ip, &k->srv_port);
}

/* One line into t; counted in st. */
static void load_line(struct track *t, const struct sock_table *tab, char *line,
		      struct chanmem_stats *st)
{
	char *f[7], *save = NULL, *tok;
	char name[CA_MAX_NAME_LEN + 1];
	int n = 0, len;

	line[strcspn(line, "\n")] = '\0';
	for (tok = strtok_r(line, " ", &save); tok && n < 7; tok = strtok_r(NULL, " ", &save))
		f[n++] = tok;
	if (tok) {
		st->bad_lines++;
		return;
	}
	if (n == 6 && !strcmp(f[0], "C")) {
		/* A channel with no name field is malformed: names are never empty. */
		st->bad_lines++;
		return;
	}
	if (n == 7 && !strcmp(f[0], "C")) {
		struct track_saved_chan c;

		memset(&c, 0, sizeof(c));
		c.has_sid = strcmp(f[4], "-") != 0;
		len = unescape_name(f[6], name);
		if (!parse_key(f[1], f[2], &c.key) || !parse_u32(f[3], &c.cid) ||
		    (c.has_sid && !parse_u32(f[4], &c.sid)) || strcmp(f[5], "=") || len <= 0) {
			st->bad_lines++;
			return;
		}
		if (!circuit_alive(tab, &c.key)) {
			st->stale++;
			return;
		}
		c.name = name;
		c.len = (size_t)len;
		if (track_import_chan(t, &c))
			st->channels++;
		else
			st->refused++;
		return;
	}
	if (n == 5 && !strcmp(f[0], "S")) {
		struct track_saved_sub s;

		memset(&s, 0, sizeof(s));
		if (!parse_key(f[1], f[2], &s.key) || !parse_u32(f[3], &s.subid) ||
		    !parse_u32(f[4], &s.cid)) {
			st->bad_lines++;
			return;
		}
		if (!circuit_alive(tab, &s.key)) {
			st->stale++;
			return;
		}
		if (track_import_sub(t, &s))
			st->subs++;
		else
			st->refused++;
		return;
	}
	st->bad_lines++;
}

int chanmem_load(struct track *t, const char *path, const char *proc_root,
		 struct chanmem_stats *st, char *err, size_t errlen)
{
	char line[CHANMEM_LINE_MAX];
	struct sock_table tab;
	FILE *f;
	int e;

	memset(st, 0, sizeof(*st));
	f = fopen(path, "r");
	if (!f) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!fgets(line, sizeof(line), f) || strncmp(line, CHANMEM_MAGIC "\n",
						    sizeof(CHANMEM_MAGIC))) {
		fclose(f);
		snprintf(err, errlen, "%s: not a catrace channel file (no '%s' line)",
			 path, CHANMEM_MAGIC);
		return -EINVAL;
	}
	memset(&tab, 0, sizeof(tab));
	sock_table_read(&tab, proc_root);
	/* Channels before subscriptions: the file lists them in that order
	 * per circuit, and a subscription needs its channel. */
	while (fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n') && !feof(f)) {
			int c;

			st->bad_lines++;  /* longer than any line we write */
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		load_line(t, &tab, line, st);
	}
	e = ferror(f) ? EIO : 0;
	fclose(f);
	sock_table_free(&tab);
	if (e) {
		snprintf(err, errlen, "%s: read error", path);
		return -e;
	}
	return 0;
}

/* ---- saving ----------------------------------------------------------- */

struct save_ctx {
	FILE *f;
};

static void put_endpoint(FILE *f, uint32_t ip, uint16_t port)
{
	fprintf(f, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		ip & 0xff, port);
}

static void put_key(FILE *f, const struct flow_key *k)
{
	fputc(' ', f);
	put_endpoint(f, k->cli_ip, k->cli_port);
	fputc(' ', f);
	put_endpoint(f, k->srv_ip, k->srv_port);
}

static void save_chan(void *ctx, const struct track_saved_chan *c)
{
	FILE *f = ((struct save_ctx *)ctx)->f;
	size_t i;

	if (!c->len)
		return;
	fputc('C', f);
	put_key(f, &c->key);
	fprintf(f, " %u ", c->cid);
	if (c->has_sid)
		fprintf(f, "%u", c->sid);
	else
		fputc('-', f);
	fputs(" = ", f);
	for (i = 0; i < c->len; i++) {
		unsigned char b = (unsigned char)c->name[i];

		if (b <= ' ' || b >= 0x7f || b == '%')
			fprintf(f, "%%%02X", b);
		else
			fputc(b, f);
	}
	fputc('\n', f);
}

static void save_sub(void *ctx, const struct track_saved_sub *s)
{
	FILE *f = ((struct save_ctx *)ctx)->f;

	fputc('S', f);
	put_key(f, &s->key);
	fprintf(f, " %u %u\n", s->subid, s->cid);
}

/* mkdir -p of path's directory (one level is what /run/catrace needs;
 * deeper ones too). */
static int make_parent_dir(const char *path)
{
	char dir[512];
	char *slash;
	size_t i;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (i = 1; dir[i]; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		dir[i] = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int chanmem_save(const struct track *t, const char *path, char *err, size_t errlen)
{
	char tmp[600];
	struct save_ctx sc;
	struct track_export_fns fns = { save_chan, save_sub, &sc };
	int fd, r, e;

	r = make_parent_dir(path);
	if (r < 0) {
		snprintf(err, errlen, "%s: creating its directory: %s", path, strerror(-r));
		return r;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || !(sc.f = fdopen(fd, "w"))) {
		e = errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s: %s", tmp, strerror(e));
		return -e;
	}
	fputs(CHANMEM_MAGIC "\n", sc.f);
	/* Every channel of every circuit, then its subscriptions. */
	track_export(t, &fns);
	e = ferror(sc.f) ? EIO : 0;
	if (fclose(sc.f) != 0 && !e)
		e = errno ? errno : EIO;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}
