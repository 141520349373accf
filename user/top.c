/* top: busiest PVs, clients and servers; see top.h. */
#include "top.h"

#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"

/* What the comparators count (qsort passes no context). */
static enum top_sort sort_key;
static const struct top_rates *cur;

/* Counts since the start, or in the window that ends now. */
struct top_rates {
	bool since_start;
	uint64_t now_ns;
	double span;     /* seconds the counts cover */
};

bool top_parse_sort(const char *s, enum top_sort *out)
{
	static const struct { const char *name; enum top_sort key; } names[] = {
		{ "m", TOP_SORT_MESSAGES }, { "messages", TOP_SORT_MESSAGES },
		{ "u", TOP_SORT_UPDATES }, { "updates", TOP_SORT_UPDATES },
		{ "r", TOP_SORT_READS }, { "reads", TOP_SORT_READS },
		{ "w", TOP_SORT_WRITES }, { "writes", TOP_SORT_WRITES },
		{ "s", TOP_SORT_SEARCHES }, { "searches", TOP_SORT_SEARCHES },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			*out = names[i].key;
			return true;
		}
	return false;
}

bool top_key(struct top_view *v, int key)
{
	char name[2] = { (char)key, 0 };

	if (key == 'a' || key == 'A') {
		v->since_start = !v->since_start;
		return true;
	}
	return key > 0 && key < 128 && top_parse_sort(name, &v->sort);
}

static uint64_t counted(uint64_t total, const struct window *w, unsigned lane)
{
	return cur->since_start ? total : window_count(w, cur->now_ns, lane);
}

static double per_s(uint64_t total, const struct window *w, unsigned lane)
{
	return (double)counted(total, w, lane) / cur->span;
}

static uint64_t pv_count(const struct census_pv *p, enum top_sort key)
{
	switch (key) {
	case TOP_SORT_UPDATES: return counted(p->updates, &p->win, CENSUS_LANE_UPDATES);
	case TOP_SORT_READS: return counted(p->reads, &p->win, CENSUS_LANE_READS);
	case TOP_SORT_WRITES: return counted(p->writes, &p->win, CENSUS_LANE_WRITES);
	case TOP_SORT_SEARCHES: return counted(p->searches, &p->win, CENSUS_LANE_SEARCHES);
	default:
		return pv_count(p, TOP_SORT_UPDATES) + pv_count(p, TOP_SORT_READS) +
		       pv_count(p, TOP_SORT_WRITES) + pv_count(p, TOP_SORT_SEARCHES);
	}
}

/* Since the start: a PV that was ever busy in this way keeps its row,
 * its rates falling to 0 when it goes quiet. */
static uint64_t pv_total(const struct census_pv *p)
{
	switch (sort_key) {
	case TOP_SORT_UPDATES: return p->updates;
	case TOP_SORT_READS: return p->reads;
	case TOP_SORT_WRITES: return p->writes;
	case TOP_SORT_SEARCHES: return p->searches;
	default: return p->updates + p->reads + p->writes + p->searches;
	}
}

static int pv_cmp(const void *a, const void *b)
{
	const struct census_pv *x = *(const struct census_pv *const *)a;
	const struct census_pv *y = *(const struct census_pv *const *)b;
	uint64_t kx = pv_count(x, sort_key), ky = pv_count(y, sort_key);

	if (kx != ky)
		return kx < ky ? 1 : -1;
	kx = pv_total(x);
	ky = pv_total(y);
	if (kx != ky)
		return kx < ky ? 1 : -1;
	return strcmp(x->name, y->name);
}

static uint64_t endpoint_count(const struct endpoint *e)
{
	uint64_t req = counted(e->requests, &e->win, ENDPOINT_LANE_REQUESTS);
	uint64_t upd = counted(e->updates, &e->win, ENDPOINT_LANE_UPDATES);

	switch (sort_key) {
	case TOP_SORT_SEARCHES: return counted(e->searches, &e->win, ENDPOINT_LANE_SEARCHES);
	case TOP_SORT_UPDATES: return upd;
	case TOP_SORT_MESSAGES: return req + upd;
	default: return req;
	}
}

static const char *endpoint_sort_name(enum top_sort s)
{
	switch (s) {
	case TOP_SORT_SEARCHES: return "searches";
	case TOP_SORT_UPDATES: return "updates";
	case TOP_SORT_MESSAGES: return "messages";
	default: return "requests";
	}
}

static int endpoint_cmp(const void *a, const void *b)
{
	const struct endpoint *x = *(const struct endpoint *const *)a;
	const struct endpoint *y = *(const struct endpoint *const *)b;
	uint64_t kx = endpoint_count(x), ky = endpoint_count(y);

	if (kx != ky)
		return kx < ky ? 1 : -1;
	if (x->last_ns != y->last_ns)
		return x->last_ns < y->last_ns ? 1 : -1;
	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->tcp - y->tcp;
}

static int server_cmp(const void *a, const void *b)
{
	const struct census_server *x = *(const struct census_server *const *)a;
	const struct census_server *y = *(const struct census_server *const *)b;

	if (x->circuits != y->circuits)
		return x->circuits < y->circuits ? 1 : -1;
	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static int unanswered_cmp(const void *a, const void *b)
{
	const struct census_pv *x = *(const struct census_pv *const *)a;
	const struct census_pv *y = *(const struct census_pv *const *)b;

	if (x->unanswered != y->unanswered)
		return x->unanswered < y->unanswered ? 1 : -1;
	return strcmp(x->name, y->name);
}

static const char *sort_name(enum top_sort s)
{
	static const char *const n[] = { "messages", "updates", "reads", "writes", "searches" };

	return n[s];
}

/* How long ago `then` was: "3s", "12m", "5h"; "-" for never. */
static const char *age(char *buf, size_t n, uint64_t then)
{
	uint64_t s;

	if (!then)
		return "-";
	s = cur->now_ns > then ? (cur->now_ns - then) / 1000000000ull : 0;
	if (s < 100)
		snprintf(buf, n, "%" PRIu64 "s", s);
	else if (s < 100 * 60)
		snprintf(buf, n, "%" PRIu64 "m", s / 60);
	else
		snprintf(buf, n, "%" PRIu64 "h", s / 3600);
	return buf;
}

static void render_pvs(struct sbuf *sb, const struct top_view *v)
{
	size_t n, i;
	const struct census_pv **pvs;
	char seen[16];

	sort_key = v->sort;
	pvs = census_pvs_sorted(v->census, &n, pv_cmp);
	sbuf_printf(sb, "\nBusiest PVs (by %s)\n", sort_name(v->sort));
	sbuf_puts(sb, "   updates/s    reads/s   writes/s searches/s   seen  pv\n");
	for (i = 0; i < n && i < v->rows && pv_total(pvs[i]); i++) {
		const struct census_pv *p = pvs[i];

		sbuf_printf(sb, "  %10.2f %10.2f %10.2f %10.2f %6s  %s\n",
			    per_s(p->updates, &p->win, CENSUS_LANE_UPDATES),
			    per_s(p->reads, &p->win, CENSUS_LANE_READS),
			    per_s(p->writes, &p->win, CENSUS_LANE_WRITES),
			    per_s(p->searches, &p->win, CENSUS_LANE_SEARCHES),
			    age(seen, sizeof(seen), p->last_ns), p->name);
	}
	if (!i)
		sbuf_puts(sb, "  (none)\n");
	/* Channels created before catrace started have no name: say how
	 * much traffic that is, rather than leave it out unsaid. */
	if (v->census->unnamed)
		sbuf_printf(sb, "  %10.2f messages/s about channels with no name (created before "
			    "catrace started; see --channels-file)\n",
			    per_s(v->census->unnamed, &v->census->msgs_win, 1));
	free(pvs);
}

static void render_clients(struct sbuf *sb, const struct top_view *v)
{
	size_t n, i;
	const struct endpoint **ep;
	char ip[16], where[32], seen[16], proc[40];

	sort_key = v->sort;
	ep = endpoints_sorted(&v->census->endpoints, &n, endpoint_cmp);
	sbuf_printf(sb, "\nBusiest clients (by %s)\n", endpoint_sort_name(v->sort));
	sbuf_puts(sb, "  requests/s searches/s  updates/s   seen  client                    user         process\n");
	for (i = 0; i < n && i < v->rows; i++) {
		const struct endpoint *e = ep[i];

		format_ip(ip, sizeof(ip), e->ip);
		snprintf(where, sizeof(where), "%s:%u", ip, e->port);
		if (e->pid > 0)
			snprintf(proc, sizeof(proc), "%s[%d]", e->comm, (int)e->pid);
		else
			snprintf(proc, sizeof(proc), "-");
		sbuf_printf(sb, "  %10.2f %10.2f %10.2f %6s  %-21s %s  %-12s %s\n",
			    per_s(e->requests, &e->win, ENDPOINT_LANE_REQUESTS),
			    per_s(e->searches, &e->win, ENDPOINT_LANE_SEARCHES),
			    per_s(e->updates, &e->win, ENDPOINT_LANE_UPDATES),
			    age(seen, sizeof(seen), e->last_ns), where, e->tcp ? "tcp" : "udp",
			    e->user[0] ? e->user : "-", proc);
	}
	if (!i)
		sbuf_puts(sb, "  (none)\n");
	free(ep);
}

static void render_servers(struct sbuf *sb, const struct top_view *v)
{
	const struct census *c = v->census;
	size_t n = hmap_count(&c->servers), i = 0, it;
	const struct census_server **s = n ? malloc(n * sizeof(*s)) : NULL;
	void *val;
	char ip[16], ep[32], seen[16];

	sbuf_puts(sb, "\nServers (open circuits, channels)\n");
	sbuf_puts(sb, "  circuits channels  updates/s   beacons restarts   seen  server\n");
	if (s) {
		for (it = 0; i < n && hmap_next(&c->servers, &it, NULL, &val);)
			s[i++] = val;
		n = i;
		qsort(s, n, sizeof(*s), server_cmp);
	}
	for (i = 0; s && i < n && i < v->rows; i++) {
		format_ip(ip, sizeof(ip), s[i]->ip);
		snprintf(ep, sizeof(ep), "%s:%u", ip, s[i]->port);
		sbuf_printf(sb, "  %8" PRIu64 " %8" PRIu64 " %10.2f %9" PRIu64 " %8" PRIu64 " %6s  %s\n",
			    s[i]->circuits, s[i]->channels,
			    per_s(s[i]->monitor_updates, &s[i]->win, 0), s[i]->beacons,
			    s[i]->restarts, age(seen, sizeof(seen), s[i]->last_seen_ns), ep);
	}
	if (!i)
		sbuf_puts(sb, "  (none)\n");
	free(s);
}

static void render_unanswered(struct sbuf *sb, const struct top_view *v)
{
	size_t n, i, shown = 0;
	const struct census_pv **pvs = census_pvs_sorted(v->census, &n, unanswered_cmp);

	sbuf_printf(sb, "\nUnanswered searches: %" PRIu64 "\n", v->census->searches_unanswered);
	for (i = 0; i < n && shown < v->rows && pvs[i]->unanswered; i++, shown++)
		sbuf_printf(sb, "  %10" PRIu64 "  %s\n", pvs[i]->unanswered, pvs[i]->name);
	free(pvs);
}

void top_render(struct sbuf *sb, const struct top_view *v)
{
	const struct census *c = v->census;
	struct top_rates r = { v->since_start, c->now_ns, 0 };

	r.span = v->since_start ? census_span_s(c) : window_span_s(c->first_ns, c->now_ns);
	cur = &r;
	sbuf_printf(sb, "catrace top: %s, %.1f s of traffic, %" PRIu64 " CA messages (%.1f/s), ",
		    v->source, c->first_ns ? census_span_s(c) : 0.0, v->messages,
		    per_s(v->messages, &c->msgs_win, 0));
	if (v->since_start)
		sbuf_puts(sb, "rates since the start");
	else
		sbuf_printf(sb, "rates over the last %d s", WINDOW_SECONDS);
	if (v->kernel)
		sbuf_printf(sb, ", %" PRIu64 " dropped by the kernel", (uint64_t)v->kernel->ringbuf_drops);
	sbuf_putc(sb, '\n');
	render_pvs(sb, v);
	render_clients(sb, v);
	render_servers(sb, v);
	render_unanswered(sb, v);
	cur = NULL;
}

/* ---- full screen ---- */

static bool screen_on;
static uint64_t next_draw_ns;

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

bool top_screen_start(void)
{
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		fprintf(stderr, "catrace top: needs a terminal (use --once for a snapshot)\n");
		return false;
	}
	if (!initscr()) {
		fprintf(stderr, "catrace top: cannot start the terminal screen\n");
		return false;
	}
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	screen_on = true;
	return true;
}

static void draw(const struct top_view *v)
{
	struct sbuf sb;
	const char *p, *nl;
	int row = 0;

	sbuf_init(&sb);
	top_render(&sb, v);
	sbuf_puts(&sb, "\nq quit   a rates since the start / last seconds   "
		  "sort: m messages  u updates  r reads  w writes  s searches\n");
	erase();
	for (p = sbuf_str(&sb); *p && row < LINES; p = nl + 1, row++) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		mvaddnstr(row, 0, p, (int)(nl - p) < COLS ? (int)(nl - p) : COLS);
		if (!*nl)
			break;
	}
	refresh();
	sbuf_free(&sb);
}

bool top_screen_tick(struct top_view *v, bool force)
{
	int ch;
	bool redraw = force;

	while ((ch = getch()) != ERR) {
		if (ch == 'q' || ch == 'Q')
			return false;
		if (top_key(v, ch))
			redraw = true;
	}
	if (redraw || mono_ns() >= next_draw_ns) {
		draw(v);
		next_draw_ns = mono_ns() + 1000000000ull;
	}
	return true;
}

void top_screen_stop(void)
{
	if (screen_on)
		endwin();
	screen_on = false;
}
