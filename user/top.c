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

static enum top_sort sort_key;   /* for the qsort comparators */

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

static uint64_t pv_key(const struct census_pv *p)
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
	uint64_t kx = pv_key(x), ky = pv_key(y);

	if (kx != ky)
		return kx < ky ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int client_cmp(const void *a, const void *b)
{
	const struct census_client *x = *(const struct census_client *const *)a;
	const struct census_client *y = *(const struct census_client *const *)b;
	uint64_t kx = sort_key == TOP_SORT_SEARCHES ? x->searches : x->messages;
	uint64_t ky = sort_key == TOP_SORT_SEARCHES ? y->searches : y->messages;

	if (kx != ky)
		return kx < ky ? 1 : -1;
	return x->ip < y->ip ? -1 : x->ip > y->ip;
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

static void render_pvs(struct sbuf *sb, const struct top_view *v, double span)
{
	size_t n, i;
	const struct census_pv **pvs;

	sort_key = v->sort;
	pvs = census_pvs_sorted(v->census, &n, pv_cmp);
	sbuf_printf(sb, "\nBusiest PVs (by %s)\n", sort_name(v->sort));
	sbuf_puts(sb, "   updates/s    reads/s   writes/s searches/s  pv\n");
	for (i = 0; i < n && i < v->rows && pv_key(pvs[i]); i++)
		sbuf_printf(sb, "  %10.2f %10.2f %10.2f %10.2f  %s\n",
			    (double)pvs[i]->updates / span, (double)pvs[i]->reads / span,
			    (double)pvs[i]->writes / span, (double)pvs[i]->searches / span,
			    pvs[i]->name);
	if (!i)
		sbuf_puts(sb, "  (none)\n");
	/* Channels created before catrace started have no name: say how
	 * much traffic that is, rather than leave it out unsaid. */
	if (v->census->unnamed)
		sbuf_printf(sb, "  %10.2f messages/s about channels with no name (created before "
			    "catrace started; see --channels-file)\n",
			    (double)v->census->unnamed / span);
	free(pvs);
}

static void render_clients(struct sbuf *sb, const struct top_view *v, double span)
{
	size_t n, i;
	const struct census_client **cl;
	char ip[16];

	sort_key = v->sort;
	cl = census_clients_sorted(v->census, &n, client_cmp);
	sbuf_printf(sb, "\nBusiest clients (by %s)\n",
		    v->sort == TOP_SORT_SEARCHES ? "searches" : "requests");
	sbuf_puts(sb, "  requests/s searches/s  client\n");
	for (i = 0; i < n && i < v->rows; i++) {
		format_ip(ip, sizeof(ip), cl[i]->ip);
		sbuf_printf(sb, "  %10.2f %10.2f  %s\n", (double)cl[i]->messages / span,
			    (double)cl[i]->searches / span, ip);
	}
	if (!i)
		sbuf_puts(sb, "  (none)\n");
	free(cl);
}

static void render_servers(struct sbuf *sb, const struct top_view *v, double span)
{
	const struct census *c = v->census;
	size_t n = hmap_count(&c->servers), i = 0, it;
	const struct census_server **s = n ? malloc(n * sizeof(*s)) : NULL;
	const void *k;
	void *val;
	char ip[16], ep[32];

	sbuf_puts(sb, "\nServers (open circuits, channels)\n");
	sbuf_puts(sb, "  circuits channels  updates/s   beacons restarts  server\n");
	if (s) {
		for (it = 0; hmap_next(&c->servers, &it, &k, &val) && i < n;)
			s[i++] = val;
		qsort(s, n, sizeof(*s), server_cmp);
	}
	for (i = 0; s && i < n && i < v->rows; i++) {
		format_ip(ip, sizeof(ip), s[i]->ip);
		snprintf(ep, sizeof(ep), "%s:%u", ip, s[i]->port);
		sbuf_printf(sb, "  %8" PRIu64 " %8" PRIu64 " %10.2f %9" PRIu64 " %8" PRIu64 "  %s\n",
			    s[i]->circuits, s[i]->channels, (double)s[i]->monitor_updates / span, s[i]->beacons,
			    s[i]->restarts, ep);
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
	double span = census_span_s(c);

	sbuf_printf(sb, "catrace top: %s, %.1f s of traffic, %" PRIu64 " CA messages (%.1f/s), "
		    "rates since the start", v->source, c->first_ns ? span : 0.0, v->messages,
		    (double)v->messages / span);
	if (v->kernel)
		sbuf_printf(sb, ", %" PRIu64 " dropped by the kernel", (uint64_t)v->kernel->ringbuf_drops);
	sbuf_putc(sb, '\n');
	render_pvs(sb, v, span);
	render_clients(sb, v, span);
	render_servers(sb, v, span);
	render_unanswered(sb, v);
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
	sbuf_puts(&sb, "\nq quit   sort: m messages  u updates  r reads  w writes  s searches\n");
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
		if (ch < 0 || ch > 255)
			continue;
		{
			char key[2] = { (char)ch, 0 };

			if (top_parse_sort(key, &v->sort))
				redraw = true;
		}
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
