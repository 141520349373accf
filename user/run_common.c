/* What the offline and the live run share: the signal flags, standard
 * output and its errors, the summary line, the reports and top. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

/* stdout buffer when it is not a terminal: a write() costs about 1.3 us
 * on the test VM, one per 4 KiB (stdio's default) was a fifth of
 * catrace -r's time. */
#define OUT_BUF_BYTES (1u << 20)
static char out_buf[OUT_BUF_BYTES];  /* glibc ignores the size without one */

void stdout_buffer_big(void)
{
	setvbuf(stdout, out_buf, _IOFBF, sizeof(out_buf));
}

void print_summary(const struct pipeline *pl)
{
	const struct pipeline_stats *s = &pl->st;

	fprintf(stderr,
		"%llu packets read, %llu CA packets, %llu CA messages (%llu printed), "
		"%llu malformed, %llu truncated, %llu resynchronisations\n",
		(unsigned long long)s->packets, (unsigned long long)s->ca_packets,
		(unsigned long long)s->messages, (unsigned long long)s->printed,
		(unsigned long long)s->malformed, (unsigned long long)s->truncated,
		(unsigned long long)pipeline_resyncs(pl));
	if (pl->flows.stats.after_close)
		fprintf(stderr, "%llu segments retransmitted after their circuit closed: not decoded again\n",
			(unsigned long long)pl->flows.stats.after_close);
	if (s->unnamed)
		fprintf(stderr, "%llu messages about channels whose name is unknown (pv=?: "
			"their creation is not in the capture)\n", (unsigned long long)s->unnamed);
	if (pl->cls.learned_refused || pl->cls.learned_admitted)
		fprintf(stderr, "learned servers' flows: %llu admitted (opened like CA), "
			"%llu refused (not CA: an announcement named a port that is not CA's)\n",
			(unsigned long long)pl->cls.learned_admitted,
			(unsigned long long)pl->cls.learned_refused);
	if (s->bad_packets || s->bad_headers)
		fprintf(stderr, "broken packets: %llu to or from CA ports (UDP/TCP header), "
			"%llu with a broken Ethernet/VLAN/IPv4 header\n",
			(unsigned long long)s->bad_packets, (unsigned long long)s->bad_headers);
	print_not_decoded("", s->ip_len_short, s->ca_fragments, s->ca_reassembled,
			  pl->flows.stats.bad_checksum);
}

void print_not_decoded(const char *prefix, uint64_t ip_len_short, uint64_t ca_fragments,
		       uint64_t reassembled, uint64_t bad_checksum)
{
	/* A datagram whose first fragment never came is not known as CA's:
	 * what the first fragments promised and did not deliver is lost. */
	uint64_t never_whole = ca_fragments > reassembled ? ca_fragments - reassembled : 0;

	if (reassembled)
		fprintf(stderr, "%s%llu fragmented CA datagrams put back together and decoded\n",
			prefix, (unsigned long long)reassembled);
	if (ip_len_short || never_whole)
		fprintf(stderr, "%snot decoded: %llu CA packets whose IPv4 length runs past the "
			"frame (receivers drop them), %llu fragmented CA datagrams never whole "
			"(fragments missing, overlapping or cut by the capture)\n", prefix,
			(unsigned long long)ip_len_short, (unsigned long long)never_whole);
	if (bad_checksum)
		fprintf(stderr, "%snot decoded: %llu TCP segments of CA circuits with a wrong "
			"checksum (receivers drop them)\n", prefix,
			(unsigned long long)bad_checksum);
}

/* Flush standard output; on failure remember why and end the run (the
 * loops stop at pl->done). */
void flush_stdout(struct pipeline *pl)
{
	if (fflush(stdout) != 0 && !pl->out_errno) {
		pl->out_errno = errno ? errno : EIO;
		pl->done = true;
	}
}

/* At the end: did writing the output fail?  A reader that went away
 * (catrace ... | head) is a clean end, not a failure. */
bool stdout_failed(struct pipeline *pl)
{
	flush_stdout(pl);
	if (!pl->out_errno && ferror(stdout))
		pl->out_errno = EIO;
	if (!pl->out_errno || pl->out_errno == EPIPE)
		return false;
	fprintf(stderr, "catrace: writing standard output: %s\n", strerror(pl->out_errno));
	return true;
}

/* ---- reports (census) ---- */

volatile sig_atomic_t stop_requested, summary_requested, flush_requested;

/* SIGINT, SIGTERM, SIGHUP: stop cleanly, every buffered byte written. */
void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* SIGUSR1: a status line (and the search summary with --summary). */
void on_summary_signal(int sig)
{
	(void)sig;
	summary_requested = 1;
}

void on_flush_signal(int sig)
{
	(void)sig;
	flush_requested = 1;
}

static void print_event(void *ctx, const struct census_event *ev)
{
	struct pipeline *pl = ctx;
	static struct sbuf sb;

	sbuf_reset(&sb);
	report_event(&sb, ev, pl->out.style == OUT_JSON);
	sbuf_putc(&sb, '\n');
	if (!sb.oom)
		fwrite(sbuf_str(&sb), 1, sb.len, pl->fp);
}

static void print_search_summary(const struct pipeline *pl, const struct opts *o)
{
	struct sbuf sb;

	fflush(pl->fp);
	sbuf_init(&sb);
	report_summary(&sb, pl->census, &o->sum);
	if (!sb.oom)
		fwrite(sbuf_str(&sb), 1, sb.len, stderr);
	sbuf_free(&sb);
}

bool lines_wanted(const struct opts *o)
{
	if (o->top || o->no_print)
		return false;
	return o->print || !o->wr.path;
}

/* Start the census when metrics or reports want one. */
bool reports_setup(struct pipeline *pl, const struct opts *o)
{
	unsigned cap = 0;

	if (!metrics_wanted(&o->met) && !o->summary && !o->events && !o->top)
		return true;
	if (metrics_wanted(&o->met))
		cap = o->met.pv_limit;
	if ((o->summary || o->top) && cap < CENSUS_PV_CAPACITY_REPORTS)
		cap = CENSUS_PV_CAPACITY_REPORTS;
	if (!pipeline_census_start(pl, cap, o->summary || o->top)) {
		fprintf(stderr, "catrace: out of memory\n");
		return false;
	}
	if (o->events) {
		pl->census->on_event = print_event;
		pl->census->event_ctx = pl;
	}
	return true;
}

/* Between packets or polls: what SIGUSR1 asked for. */
void reports_poll(const struct pipeline *pl, const struct opts *o)
{
	if (summary_requested) {
		summary_requested = 0;
		if (!o->live.n_ifaces)
			fprintf(stderr, "catrace: %llu packets read, %llu CA messages so far\n",
				(unsigned long long)pl->st.packets,
				(unsigned long long)pl->st.messages);
		if (o->summary)
			print_search_summary(pl, o);
	}
}

void reports_finish(const struct pipeline *pl, const struct opts *o)
{
	if (pl->census)
		census_finish(pl->census);
	if (o->summary)
		print_search_summary(pl, o);
}

void top_view_init(struct top_view *v, const struct pipeline *pl,
		   const struct opts *o, const char *source)
{
	memset(v, 0, sizeof(*v));
	v->census = pl->census;
	v->messages = pl->st.messages;
	v->sort = o->top_sort;
	v->rows = o->top_rows;
	v->since_start = o->top_since_start;
	v->source = source;
}

void top_print_once(const struct top_view *v)
{
	struct sbuf sb;

	sbuf_init(&sb);
	top_render(&sb, v);
	if (!sb.oom)
		fwrite(sbuf_str(&sb), 1, sb.len, stdout);
	sbuf_free(&sb);
}

/* The capture is read: show the final state until `q` (or a signal). */
bool top_offline_screen(struct top_view *v)
{
	if (!top_screen_start())
		return false;
	top_screen_tick(v, true);
	while (!stop_requested && top_screen_tick(v, false))
		usleep(100000);
	top_screen_stop();
	return true;
}

