/* report: search summary and beacon events; see report.h. */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

void summary_opts_init(struct summary_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->top = SUMMARY_TOP_DEFAULT;
	o->never_max = SUMMARY_NEVER_MAX;
}

static int pv_by_searches(const void *a, const void *b)
{
	const struct census_pv *x = *(const struct census_pv *const *)a;
	const struct census_pv *y = *(const struct census_pv *const *)b;

	if (x->searches != y->searches)
		return x->searches < y->searches ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int client_by_searches(const void *a, const void *b)
{
	const struct census_client *x = *(const struct census_client *const *)a;
	const struct census_client *y = *(const struct census_client *const *)b;

	if (x->searches != y->searches)
		return x->searches < y->searches ? 1 : -1;
	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/* mean + sigma * stddev of the counts, for caSnooper's "above N sigma". */
static double threshold(const uint64_t *v, size_t n, double sigma)
{
	double mean = 0, var = 0;
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		mean += (double)v[i];
	mean /= (double)n;
	for (i = 0; i < n; i++)
		var += ((double)v[i] - mean) * ((double)v[i] - mean);
	return mean + sigma * sqrt(var / (double)n);
}

static void put_hosts(struct sbuf *sb, const struct census_pv *p)
{
	char ip[16];
	unsigned i;

	for (i = 0; i < p->n_hosts; i++) {
		format_ip(ip, sizeof(ip), p->hosts[i]);
		sbuf_printf(sb, "%s%s", i ? "," : "", ip);
	}
	if (p->more_hosts)
		sbuf_puts(sb, ",...");
}

static bool passes(uint64_t count, double span, double min_count, const struct summary_opts *o)
{
	if (o->sigma > 0 && (double)count <= min_count)
		return false;
	if (o->hz > 0 && (double)count / span <= o->hz)
		return false;
	return true;
}

static void rules_line(struct sbuf *sb, const struct summary_opts *o)
{
	sbuf_printf(sb, "  (top %u", o->top);
	if (o->sigma > 0)
		sbuf_printf(sb, ", above %g sigma", o->sigma);
	if (o->hz > 0)
		sbuf_printf(sb, ", above %g Hz", o->hz);
	sbuf_puts(sb, ")\n");
}

static void top_pvs(struct sbuf *sb, const struct census_pv **pvs, size_t n, double span,
		    const struct summary_opts *o)
{
	uint64_t *counts = NULL;
	double min_count = 0;
	size_t i, shown = 0, searched = 0;

	for (i = 0; i < n && pvs[i]->searches; i++)
		searched++;
	if (o->sigma > 0 && searched) {
		counts = malloc(searched * sizeof(*counts));
		if (counts) {
			for (i = 0; i < searched; i++)
				counts[i] = pvs[i]->searches;
			min_count = threshold(counts, searched, o->sigma);
			free(counts);
		}
	}
	sbuf_puts(sb, "Most searched PVs");
	rules_line(sb, o);
	sbuf_puts(sb, "  searches    rate/s  unanswered  pv  [hosts]\n");
	for (i = 0; i < searched && shown < o->top; i++) {
		const struct census_pv *p = pvs[i];

		if (!passes(p->searches, span, min_count, o))
			continue;
		sbuf_printf(sb, "  %8" PRIu64 "  %8.2f  %10" PRIu64 "  %s  [", p->searches,
			    (double)p->searches / span, p->unanswered, p->name);
		put_hosts(sb, p);
		sbuf_puts(sb, "]\n");
		shown++;
	}
	if (!shown)
		sbuf_puts(sb, "  (none)\n");
}

static void never_answered(struct sbuf *sb, const struct census_pv **pvs, size_t n,
			   const struct summary_opts *o)
{
	size_t i, total = 0, shown = 0;

	for (i = 0; i < n; i++)
		total += pvs[i]->searches && pvs[i]->unanswered == pvs[i]->searches;
	sbuf_printf(sb, "PVs searched and never answered: %zu\n", total);
	if (total)
		sbuf_puts(sb, "  searches  pv  [hosts]\n");
	for (i = 0; i < n && shown < o->never_max; i++) {
		const struct census_pv *p = pvs[i];

		if (!p->searches || p->unanswered != p->searches)
			continue;
		sbuf_printf(sb, "  %8" PRIu64 "  %s  [", p->searches, p->name);
		put_hosts(sb, p);
		sbuf_puts(sb, "]\n");
		shown++;
	}
	if (shown < total)
		sbuf_printf(sb, "  ... %zu more\n", total - shown);
}

static void top_clients(struct sbuf *sb, const struct census *c, double span,
			const struct summary_opts *o)
{
	size_t n, i, shown = 0, searching = 0;
	const struct census_client **cl = census_clients_sorted(c, &n, client_by_searches);
	double min_count = 0;
	char ip[16];

	for (i = 0; i < n && cl[i]->searches; i++)
		searching++;
	if (o->sigma > 0 && searching) {
		uint64_t *counts = malloc(searching * sizeof(*counts));

		if (counts) {
			for (i = 0; i < searching; i++)
				counts[i] = cl[i]->searches;
			min_count = threshold(counts, searching, o->sigma);
			free(counts);
		}
	}
	sbuf_puts(sb, "Clients by search rate");
	rules_line(sb, o);
	sbuf_puts(sb, "  searches    rate/s  requests  client\n");
	for (i = 0; i < searching && shown < o->top; i++) {
		if (!passes(cl[i]->searches, span, min_count, o))
			continue;
		format_ip(ip, sizeof(ip), cl[i]->ip);
		sbuf_printf(sb, "  %8" PRIu64 "  %8.2f  %8" PRIu64 "  %s\n", cl[i]->searches,
			    (double)cl[i]->searches / span, cl[i]->messages, ip);
		shown++;
	}
	if (!shown)
		sbuf_puts(sb, "  (none)\n");
	free(cl);
}

void report_summary(struct sbuf *sb, const struct census *c, const struct summary_opts *o)
{
	double span = census_span_s(c);
	size_t n;
	const struct census_pv **pvs = census_pvs_sorted(c, &n, pv_by_searches);

	sbuf_printf(sb, "Search summary: %.3f s of traffic, %" PRIu64 " searches "
		    "(%.2f/s), %" PRIu64 " answered, %" PRIu64 " unanswered, %zu PVs followed",
		    c->now_ns >= c->first_ns && c->first_ns ? span : 0.0, c->searches,
		    (double)c->searches / span, c->searches_answered, c->searches_unanswered, n);
	if (c->pv_evictions)
		sbuf_printf(sb, " (%" PRIu64 " evicted: counts are since each PV entered)",
			    c->pv_evictions);
	sbuf_putc(sb, '\n');
	top_pvs(sb, pvs, n, span, o);
	never_answered(sb, pvs, n, o);
	top_clients(sb, c, span, o);
	free(pvs);
}

void report_event(struct sbuf *sb, const struct census_event *ev, bool json)
{
	char ip[16];
	uint64_t s = ev->ts_ns / 1000000000ull, us = ev->ts_ns % 1000000000ull / 1000;

	format_ip(ip, sizeof(ip), ev->ip);
	if (json) {
		sbuf_printf(sb, "{\"ts\":%" PRIu64 ".%06" PRIu64 ",\"event\":\"beacon\",\"kind\":\"%s\","
			    "\"server\":\"%s\",\"port\":%u,\"beacon_id\":%u,\"previous_id\":%u,"
			    "\"interval\":%.6f,\"average\":%.6f}", s, us, census_event_name(ev->kind),
			    ip, ev->port, ev->seq, ev->prev_seq, ev->interval_s, ev->average_s);
		return;
	}
	sbuf_printf(sb, "%" PRIu64 ".%06" PRIu64 " EVENT beacon %s server=%s:%u beacon_id=%u",
		    s, us, census_event_name(ev->kind), ip, ev->port, ev->seq);
	if (ev->kind != CENSUS_EV_APPEARED)
		sbuf_printf(sb, " previous_id=%u interval=%.3fs average=%.3fs", ev->prev_seq,
			    ev->interval_s, ev->average_s);
}
