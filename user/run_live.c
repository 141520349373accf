/* The live run: the programs loaded and attached, the kernel's records
 * read from the ring buffer, put in time order and fed to the pipeline
 * (and -w's packets to the file), until a signal or -c/-W ends it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>

#include "ca_server_proc.h"
#include "capture_writer.h"
#include "chanmem.h"
#include "gso_split.h"
#include "learned_live.h"
#include "live_filter.h"
#include "procattr.h"
#include "record.h"
#include "reorder.h"
#include "ringbuf_source.h"
#include "runtime.h"


/* A change of the wall clock against the monotonic one smaller than this
 * is the jitter of reading the two, not a step. */
#define MONO_TO_WALL_STEP_NS 1000000

struct live_ctx {
	struct pipeline *pl;
	int64_t mono_to_wall_ns;
	uint64_t records, bad_records;
	struct pcap_writer *w;       /* -w, classic pcap: packets written at once */
	/* -w, pcapng: packets wait for their messages (capture_writer.h) */
	struct capture_writer *cw;
	unsigned ifindex[LOADER_MAX_IFACES];   /* pcapng interface id -> ifindex */
	unsigned n_ifindex;
	uint32_t pkt_ifindex;        /* interface of the packet being split */
	bool write_failed;           /* (or its reader went away: -w -) */
	bool files_done;             /* -W files written: a normal end */
	uint64_t pkt_ts_ns;          /* time stamp of the packet being split */
	struct reorder ro;           /* segment records, put in time order */
	struct live_filter filter;   /* the filter expression, if any */
	uint8_t fixbuf[REC_PKT_MAX]; /* an egress packet being finished */
};

/* The pcapng interface a packet came on (the first when unknown). */
static uint32_t pcapng_if_id(const struct live_ctx *lc, uint32_t ifindex)
{
	unsigned i;

	for (i = 0; i < lc->n_ifindex; i++)
		if (lc->ifindex[i] == ifindex)
			return i;
	return 0;
}

/* pcapng: let go the packets whose records have all been decoded (the
 * reorder buffer released everything up to `horizon_mono`, and holds
 * nothing older) and whose messages the pipeline no longer holds. */
static void pcapng_release(struct live_ctx *lc, uint64_t horizon_mono)
{
	uint64_t oldest = reorder_oldest(&lc->ro);

	if (!lc->cw)
		return;
	if (oldest < horizon_mono)
		horizon_mono = oldest;
	capture_writer_release(lc->cw, horizon_mono == UINT64_MAX ? UINT64_MAX :
				       horizon_mono + (uint64_t)lc->mono_to_wall_ns);
	if (capture_writer_stopped(lc->cw)) {
		lc->write_failed = lc->cw->failed;
		lc->files_done = lc->cw->files_done;
		stop_requested = 1;
	}
}

static void write_packet(struct live_ctx *lc, const uint8_t *d, uint32_t caplen,
			 uint32_t wirelen)
{
	char err[512];

	int r;

	if (lc->write_failed || lc->files_done)
		return;
	if (lc->cw) {
		capture_writer_frame(lc->cw, lc->pkt_ts_ns, lc->pkt_ts_ns,
				     pcapng_if_id(lc, lc->pkt_ifindex), d, caplen, wirelen);
		return;
	}
	r = pcap_writer_write(lc->w, lc->pkt_ts_ns, d, caplen, wirelen, err, sizeof(err));
	if (r == PCAP_WRITER_LIMIT) {
		/* -W files written: the normal end, as in tcpdump. */
		fprintf(stderr, "catrace: %s\n", err);
		lc->files_done = true;
		stop_requested = 1;
	} else if (r) {
		/* `-w - | head -c N`: the reader went away, a clean stop. */
		if (!pcap_writer_reader_gone(lc->w))
			fprintf(stderr, "catrace: %s\n", err);
		lc->write_failed = true;
		stop_requested = 1;
	}
}

static void write_segment(void *ctx, const uint8_t *seg, uint32_t len)
{
	write_packet(ctx, seg, len, len);
}

static void decode_record(void *ctx, const void *data, size_t size)
{
	struct live_ctx *lc = ctx;
	static struct rec_info ri;
	enum rec_result r = record_parse(data, size, &ri);

	if (r != REC_OK) {
		if (lc->bad_records++ == 0)
			fprintf(stderr, "catrace: ignoring a bad record: %s\n", record_result_str(r));
		return;
	}
	/* Unsigned arithmetic: a record's time stamp is not trusted to be
	 * small enough for a signed sum.  Fragments are filtered one by one,
	 * as -r filters a capture's frames. */
	if (!ri.packet || ri.fragment) {   /* what the decoder takes */
		lc->records += !ri.packet;
		if (live_filter_match_any(&lc->filter, &ri))
			pipeline_record(lc->pl, &ri,
					ri.ts_mono_ns + (uint64_t)lc->mono_to_wall_ns);
	}
	if (ri.packet) {
		if (!lc->w && !lc->cw)
			return;
		lc->pkt_ts_ns = ri.ts_mono_ns + (uint64_t)lc->mono_to_wall_ns;
		lc->pkt_ifindex = ri.ifindex;
		/* tc egress may see a GSO packet that the stack cuts into
		 * segments after it: write what goes on the wire. */
		if (ri.gso_size && ri.pkt_caplen == ri.pkt_wirelen &&
		    gso_split(ri.pkt, ri.pkt_caplen, ri.gso_size, write_segment, lc) > 0)
			return;
		if (ri.egress && ri.pkt_caplen == ri.pkt_wirelen &&
		    ri.pkt_caplen <= sizeof(lc->fixbuf)) {
			/* Its transport checksum may still be partial. */
			memcpy(lc->fixbuf, ri.pkt, ri.pkt_caplen);
			l4_csum_finalize(lc->fixbuf, ri.pkt_caplen);
			write_packet(lc, lc->fixbuf, ri.pkt_caplen, ri.pkt_wirelen);
			return;
		}
		write_packet(lc, ri.pkt, ri.pkt_caplen, ri.pkt_wirelen);
	}
}

/* From the ring buffer: -w packets are written at once, segment records
 * wait a moment to come out in time order. */
static void on_live_record(void *ctx, const void *data, size_t size)
{
	struct live_ctx *lc = ctx;
	uint64_t ts_ns;

	if (record_in_time_order(data, size, &ts_ns))
		reorder_push(&lc->ro, ts_ns, data, size, decode_record, lc);
	else
		decode_record(ctx, data, size);
}

static uint64_t mono_ns(void)
{
	struct timespec m;

	clock_gettime(CLOCK_MONOTONIC, &m);
	return (uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec;
}

static uint64_t kernel_drops(const struct ca_counters *c)
{
	return c->ringbuf_drops + c->pkt_drops;
}

/* CA packets the kernel saw and did not decode: they hide what they
 * carry. */
static uint64_t undecoded(const struct ca_counters *c, uint64_t frag_failed)
{
	return frag_failed + c->ip_len_short + c->bad_checksum;
}

/* Fragmented datagrams given up (all CA's: the kernel sends no others),
 * as they are given up: one still waiting for its rest is not lost yet. */
static uint64_t frag_failed(const struct pipeline *pl)
{
	const struct ipfrag_stats *s = &pl->frags.st;

	return s->given_up + s->overlapping + s->bad;
}

/* Records the kernel could not hand over, reported as they happen: at
 * most one line a second, whatever the rate of drops. */
struct drop_report {
	uint64_t reported;   /* records dropped already told about */
	uint64_t msgs;       /* and the messages they held */
	uint64_t undecoded;  /* CA packets not decoded (fragments, short) told about */
	uint64_t at_ns;      /* when last looked */
};

static void report_drops(struct loader *l, struct drop_report *d, bool force,
			 uint64_t failed)
{
	uint64_t now = mono_ns(), n;
	struct ca_counters cnt;

	if (!force && now - d->at_ns < 1000000000u)
		return;
	if (loader_counters(l, &cnt) != 0)
		return;
	n = kernel_drops(&cnt);
	if (n > d->reported)
		fprintf(stderr, "catrace: %llu records (%llu CA messages) dropped by the kernel "
			"(ring buffer full) in the last %.1f s\n",
			(unsigned long long)(n - d->reported),
			(unsigned long long)(cnt.msgs_dropped - d->msgs),
			(double)(now - d->at_ns) / 1e9);
	/* CA packets the kernel saw but cannot decode hide what they carry
	 * (a WRITE sent in IPv4 fragments): said as they come, like drops. */
	if (undecoded(&cnt, failed) > d->undecoded)
		fprintf(stderr, "catrace: %llu CA packets not decoded in the last %.1f s "
			"(IPv4 fragments never whole, an IPv4 length past the frame, a wrong TCP "
			"checksum): "
			"what they carry is not shown\n",
			(unsigned long long)(undecoded(&cnt, failed) - d->undecoded),
			(double)(now - d->at_ns) / 1e9);
	d->reported = n;
	d->msgs = cnt.msgs_dropped;
	d->undecoded = undecoded(&cnt, failed);
	d->at_ns = now;
}

/* The kernel wakes us only for a batch of records: look every 100 ms for
 * the few that came since, or sooner when a held record is due. */
static int poll_timeout_ms(const struct reorder *ro)
{
	uint64_t oldest = reorder_oldest(ro), now = mono_ns(), due;

	if (oldest == UINT64_MAX)
		return 100;
	due = oldest + REORDER_WINDOW_NS;
	if (due <= now)
		return 0;
	return (int)((due - now) / 1000000u) + 1 < 100 ? (int)((due - now) / 1000000u) + 1 : 100;
}

static int64_t mono_to_wall(void)
{
	struct timespec w, m;

	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)w.tv_sec - m.tv_sec) * 1000000000 + (w.tv_nsec - m.tv_nsec);
}

/* The iface label: the interfaces, comma-separated. */
static const char *ifaces_label(const struct loader_opts *lo, char *buf, size_t n)
{
	size_t used = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < lo->n_ifaces && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "," : "", lo->ifaces[i]);
	return buf;
}

/* -Z: every descriptor catrace needs is open; give up root.  Not when
 * detaching would need it (netlink tc filters, kernels without tcx). */
static bool drop_live_privileges(struct loader *l, const struct privs_user *u)
{
	char err[256];

	if (loader_detach_needs_privileges(l)) {
		fprintf(stderr, "catrace: -Z %s: this kernel has no tcx, and the tc filters "
			"attached instead need root to be removed; not dropping privileges\n",
			u->name);
		return false;
	}
	if (!privs_drop(u, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		return false;
	}
	return true;
}

/* The kernel's counters in one line: SIGUSR1's status and the exit
 * summary say the same things the same way. */
static void print_live_counts(const char *prefix, const struct pipeline *pl,
			      const struct ca_counters *c, const char *tail)
{
	fprintf(stderr, "%s%llu CA messages captured, %llu dropped by kernel, "
		"%llu packets matched (%llu seen), %s\n", prefix,
		(unsigned long long)pl->st.messages, (unsigned long long)c->msgs_dropped,
		(unsigned long long)c->pkts_ca, (unsigned long long)c->pkts_seen, tail);
}

/* Learned servers, when there is anything to say: a forged announcement
 * shows as refused flows. */
static void print_learned_summary(struct loader *l, const struct ca_counters *c,
				  uint64_t user_expired)
{
	struct learned_count n;
	uint64_t expired;

	if (learned_live_count(loader_map_fd(l, "servers"), &n))
		memset(&n, 0, sizeof(n));
	expired = c->learned_expired + user_expired;
	if (!n.known && !c->learned_admitted && !c->learned_refused && !expired)
		return;
	fprintf(stderr, "learned servers: %llu known (%llu confirmed as local CA servers), "
		"%llu flows admitted (opened like CA), %llu refused (not CA), %llu expired\n",
		(unsigned long long)n.known, (unsigned long long)n.confirmed,
		(unsigned long long)c->learned_admitted, (unsigned long long)c->learned_refused,
		(unsigned long long)expired);
}

/* At the end of a run (not -q, not top): what was captured, dropped and
 * skipped, from one reading of the counters. */
static void print_live_summary(struct loader *l, const struct pipeline *pl,
			       struct drop_report *drops, uint64_t learned_expired)
{
	struct ca_counters cnt;
	char tail[160];
	long long evicted;
	int n;

	report_drops(l, drops, true, frag_failed(pl));
	if (loader_counters(l, &cnt) == 0) {
		n = snprintf(tail, sizeof(tail), "%llu printed", (unsigned long long)pl->st.printed);
		/* What attribution could not name is said, not left to guess. */
		if (pl->proc && n > 0 && (size_t)n < sizeof(tail))
			snprintf(tail + n, sizeof(tail) - (size_t)n,
				 ", process attribution: %llu named, %llu given up",
				 (unsigned long long)pl->proc->st.found,
				 (unsigned long long)pl->proc->st.given_up);
		print_live_counts("", pl, &cnt, tail);
		if (cnt.retransmits || cnt.gaps || cnt.resyncs || cnt.parse_errors)
			fprintf(stderr, "kernel: %llu retransmitted segments skipped, %llu gaps, "
				"%llu resynchronisations, %llu parse errors\n",
				(unsigned long long)cnt.retransmits, (unsigned long long)cnt.gaps,
				(unsigned long long)cnt.resyncs, (unsigned long long)cnt.parse_errors);
		if (cnt.pkt_drops)
			fprintf(stderr, "kernel: also dropped %llu packet records (-w)\n",
				(unsigned long long)cnt.pkt_drops);
		print_not_decoded("kernel: ", cnt.ip_len_short, cnt.ca_fragments,
				  pl->st.ca_reassembled, cnt.bad_checksum);
		evicted = loader_flows_evicted(l, &cnt);
		if (evicted > 0)
			fprintf(stderr, "kernel: %lld TCP stream states evicted from its table (full): "
				"those circuits went on unsynchronised\n", evicted);
		print_learned_summary(l, &cnt, learned_expired);
	}
	pipeline_print_limits(pl, stderr, false);
}

/* SIGINT, SIGTERM and SIGHUP stop; SIGUSR2 flushes -w. Installed before
 * attaching: a SIGINT that comes while we attach must stop us, not be
 * lost (a script's background job starts with SIGINT ignored; found by
 * tests/netns/test_attach.sh hanging). Restarted system calls keep
 * attaching; the poll still wakes. */
static void live_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A dropped SSH session: a clean stop, every buffered byte written. */
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_flush_signal;
	sigaction(SIGUSR2, &sa, NULL);
}

/* The state of one live run, for its loop. */
struct live_run {
	struct pipeline *pl;
	struct opts *o;
	struct live_ctx *lc;
	struct loader *l;
	struct ringbuf_source *rs;
	struct metrics_service *ms;    /* NULL without metrics */
	struct top_view top;
	struct ca_counters top_cnt;    /* top.kernel points here: lives as long */
	uint64_t top_until_ns, started_ns;
	uint64_t chan_saved_ns;        /* when the channel table was last saved */
	bool chan_save_failed;         /* said once */
	uint64_t confirm_ns;           /* last round confirming learned servers */
	uint64_t expire_ns;            /* ... and forgetting stale ones */
	uint64_t learned_expired;      /* pending servers forgotten here */
	struct drop_report drops;
};

/* A pending learned server that a local CA server process listens on is
 * confirmed: all its flows CA (ca_server_proc.h says why both sockets). */
static bool local_ca_server(void *ctx, uint32_t ip, uint16_t port)
{
	const uint16_t *ca_port = ctx;

	return ca_server_proc_listens("/proc", ip, port, *ca_port);
}

static void confirm_learned_servers(struct live_run *run)
{
	uint64_t now = mono_ns();
	uint16_t ca_port = run->pl->cls.server_port;

	/* --no-proc: nothing of /proc is read; pending servers still admit
	 * their flows that open like CA. */
	if (run->o->no_proc || now - run->confirm_ns < LEARNED_CONFIRM_INTERVAL_NS)
		return;
	run->confirm_ns = now;
	learned_live_confirm(loader_map_fd(run->l, "servers"), local_ca_server, &ca_port);
}

/* Pending learned servers nothing refreshed for the TTL: forgotten here
 * too, not only when a packet of theirs comes (learned_live.h). */
static void expire_learned_servers(struct live_run *run)
{
	uint64_t now = mono_ns();

	if (now - run->expire_ns < LEARNED_CONFIRM_INTERVAL_NS)
		return;
	run->expire_ns = now;
	run->learned_expired += learned_live_expire(loader_map_fd(run->l, "servers"),
						    LEARNED_TTL_NS_DEFAULT, now);
}

/* Load the channel table earlier runs saved: channels created before
 * this run started get their names. */
static void chan_table_load(struct pipeline *pl, const struct opts *o)
{
	struct chanmem_stats st;
	char err[600];
	int r;

	if (!o->chan_file)
		return;
	r = chanmem_load(&pl->track, o->chan_file, "/proc", &st, err, sizeof(err));
	if (r == -ENOENT)
		return;
	if (r < 0) {
		fprintf(stderr, "catrace: channel table not loaded: %s\n", err);
		return;
	}
	if (!o->quiet && (st.channels || st.stale))
		/* Information, like "tracing on": no "catrace:" (an error). */
		fprintf(stderr, "names from %s: %llu channels and %llu subscriptions"
			" (%llu of closed circuits left out)\n", o->chan_file,
			(unsigned long long)st.channels, (unsigned long long)st.subs,
			(unsigned long long)st.stale);
	if (st.bad_lines)
		fprintf(stderr, "catrace: %s: %llu lines not understood, skipped\n",
			o->chan_file, (unsigned long long)st.bad_lines);
}

/* Save it for the next run: at exit, and every few seconds so that a
 * run killed with SIGKILL leaves a recent one. */
static void chan_table_save(struct live_run *run, bool force)
{
	char err[700];
	uint64_t now = mono_ns();

	/* After -Z the file's directory (root's) is not writable: the table
	 * is loaded (before the drop) but not saved. */
	if (!run->o->chan_file || run->o->drop_to)
		return;
	if (!force && now - run->chan_saved_ns < CHANMEM_SAVE_INTERVAL_S * 1000000000ull)
		return;
	run->chan_saved_ns = now;
	if (chanmem_save(&run->pl->track, run->o->chan_file, err, sizeof(err)) < 0 &&
	    !run->chan_save_failed) {
		run->chan_save_failed = true;
		fprintf(stderr, "catrace: channel table not saved: %s\n", err);
	}
}

/* SIGUSR2: write out what -w holds, and go on. */
static void live_flush(struct live_run *run)
{
	char err[512];

	flush_stdout(run->pl);
	if (run->lc->cw) {
		pcapng_release(run->lc, mono_ns() - REORDER_WINDOW_NS);
		if (!run->lc->write_failed && capture_writer_flush(run->lc->cw)) {
			run->lc->write_failed = true;
			stop_requested = 1;
		}
		return;
	}
	if (run->lc->w && !run->lc->write_failed &&
	    pcap_writer_flush(run->lc->w, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		run->lc->write_failed = true;
		stop_requested = 1;
	}
}

/* Records until a signal, -c, -W, a failed write or top's `q`. Returns
 * the exit status so far. */
static int live_loop(struct live_run *run)
{
	struct live_ctx *lc = run->lc;
	struct pipeline *pl = run->pl;
	const struct opts *o = run->o;
	struct ca_counters cnt;
	int r, rc = 0;

	while (!stop_requested && !pl->done) {
		/* Follow clock adjustments (NTP steps) as we go, but not the
		 * microseconds between the two clock reads: a -w packet and
		 * its decoded record, read in different rounds, must get the
		 * same time (pcapng finds a packet's messages by it). */
		{
			int64_t off = mono_to_wall();

			if (off - lc->mono_to_wall_ns > MONO_TO_WALL_STEP_NS ||
			    lc->mono_to_wall_ns - off > MONO_TO_WALL_STEP_NS)
				lc->mono_to_wall_ns = off;
		}
		/* Signals end the wait at once. */
		r = ringbuf_source_poll_with(run->rs, run->ms ? metrics_service_fd(run->ms) : -1,
					     poll_timeout_ms(&lc->ro));
		if (r >= 0)
			r = ringbuf_source_drain(run->rs);
		{
			uint64_t horizon = mono_ns() - REORDER_WINDOW_NS;

			reorder_release(&lc->ro, horizon, decode_record, lc);
			pcapng_release(lc, horizon);
		}
		flush_stdout(pl);
		if (run->ms && metrics_service_run(run->ms, (uint64_t)mono_to_wall() + mono_ns()))
			rc = 1;
		else if (!run->ms && pl->census)
			census_tick(pl->census, (uint64_t)mono_to_wall() + mono_ns());
		if (summary_requested && loader_counters(run->l, &cnt) == 0) {
			char tail[32];

			snprintf(tail, sizeof(tail), "%.1f s",
				 (double)(mono_ns() - run->started_ns) / 1e9);
			print_live_counts("catrace: ", pl, &cnt, tail);
		}
		reports_poll(pl, o);
		if (flush_requested) {
			flush_requested = 0;
			live_flush(run);
		}
		if (o->top) {
			run->top.messages = pl->st.messages;
			if (loader_counters(run->l, &run->top_cnt) == 0)
				run->top.kernel = &run->top_cnt;
			if (o->top_once ? mono_ns() >= run->top_until_ns :
					  !top_screen_tick(&run->top, false))
				break;
		}
		/* Lost data is said even with -q: a quiet service must not
		 * lose messages without a word. */
		report_drops(run->l, &run->drops, false, frag_failed(run->pl));
		chan_table_save(run, false);
		confirm_learned_servers(run);
		expire_learned_servers(run);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "catrace: reading the ring buffer: %s\n", strerror(-r));
			rc = 1;
			break;
		}
	}
	return rc;
}

/* -w FILE: open it (before attaching, like tcpdump); writing is quiet
 * unless asked to print. */
static bool live_writer_open(struct live_ctx *lc, struct pipeline *pl, struct opts *o)
{
	static struct capture_writer cw;
	static char desc[LOADER_MAX_IFACES][IF_NAMESIZE + 32];
	struct pcap_writer_iface ifs[LOADER_MAX_IFACES];
	struct pcap_writer_opts wo;
	char err[512];
	unsigned i;

	if (!o->wr.snaplen)
		o->wr.snaplen = 262144;
	o->live.snaplen = o->wr.snaplen;
	if (o->wr.pcapng) {
		/* One interface block per traced interface, in -i's order. */
		wo = o->wr;
		for (i = 0; i < o->live.n_ifaces && i < LOADER_MAX_IFACES; i++) {
			snprintf(desc[i], sizeof(desc[i]), "catrace: CA on %s", o->live.ifaces[i]);
			ifs[i].name = o->live.ifaces[i];
			ifs[i].description = desc[i];
			lc->ifindex[i] = if_nametoindex(o->live.ifaces[i]);
		}
		lc->n_ifindex = i;
		wo.ifaces = ifs;
		wo.n_ifaces = i;
		if (!capture_writer_open(&cw, pl, &wo, true,
					 pl->n_pv_globs || pl->n_cmds || pl->writes, err,
					 sizeof(err))) {
			fprintf(stderr, "catrace: %s\n", err);
			return false;
		}
		lc->cw = &cw;
		return true;
	}
	lc->w = pcap_writer_open(&o->wr, err, sizeof(err));
	if (!lc->w) {
		fprintf(stderr, "catrace: %s\n", err);
		return false;
	}
	return true;
}

/* Close -w's file; its final error, if any, fails the run. */
static int live_writer_close(struct live_ctx *lc, bool quiet)
{
	uint64_t n;
	char err[512];

	if (lc->cw)
		return capture_writer_close(lc->cw, quiet);
	n = pcap_writer_packets(lc->w);
	if (pcap_writer_close(lc->w, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		return 1;
	}
	if (!quiet)
		fprintf(stderr, "%llu packets written\n", (unsigned long long)n);
	return 0;
}

/* Set up in this order, and undone in the reverse one by the single
 * ladder at the end, whichever step fails: the filter, -w's file, the
 * programs (loaded, attached), the reports, the metrics service (and
 * --pin's pins), the ring buffer reader, top's screen, the process
 * names (freed after the metrics service: the summary and the final
 * metrics file read its counters). */
int run_live(struct pipeline *pl, struct opts *o)
{
	static struct live_ctx lc;
	static struct metrics_service ms;
	static struct procattr proc;
	static struct live_run run;
	bool metrics = metrics_wanted(&o->met) || o->met.pin_dir;
	bool traced = false, proc_wanted, proc_from_kernel = false;
	char ifaces[128], err[512];
	unsigned i;
	int rc = 0;

	lc.pl = pl;
	reorder_init(&lc.ro, REORDER_MAX_BYTES);
	run.pl = pl;
	run.o = o;
	run.lc = &lc;
	if (o->filter && live_filter_compile(&lc.filter, o->filter, err, sizeof(err)) < 0) {
		fprintf(stderr, "catrace: filter expression '%s': %s\n", o->filter, err);
		rc = EXIT_USAGE;
		goto out_reorder;
	}
	if (o->wr.path && !live_writer_open(&lc, pl, o)) {
		rc = EXIT_USAGE;
		goto out_filter;
	}
	o->live.server_port = pl->cls.server_port;
	o->live.repeater_port = pl->cls.repeater_port;
	for (i = 0; i < pl->cls.n_user_ports && i < CATRACE_MAX_USER_PORTS; i++)
		o->live.user_ports[o->live.n_user_ports++] = pl->cls.user_ports[i];
	live_signals_install();

	run.l = loader_load(&o->live, err, sizeof(err));
	if (!run.l) {
		fprintf(stderr, "catrace: %s\n", err);
		rc = EXIT_USAGE;
		goto out_writer;
	}
	if (loader_attach(run.l, err, sizeof(err))) {
		fprintf(stderr, "catrace: %s\n", err);
		rc = EXIT_USAGE;
		goto out_loader;
	}
	pl->hook_only = !lines_wanted(o);
	if (!reports_setup(pl, o)) {
		rc = 1;
		goto out_loader;
	}
	chan_table_load(pl, o);
	if (metrics) {
		ifaces_label(&o->live, ifaces, sizeof(ifaces));
		ms.records = &lc.records;
		ms.records_bad = &lc.bad_records;
		ms.learned_expired = &run.learned_expired;
		if (metrics_service_start(&ms, &o->met, pl, run.l, ifaces, err, sizeof(err))) {
			fprintf(stderr, "catrace: %s\n", err);
			rc = EXIT_USAGE;
			goto out_loader;
		}
		run.ms = &ms;
	}
	/* A terminal gets each line at once; a pipe or file gets full
	 * buffers, flushed after every round of records (at most 100 ms
	 * late): one write() per message would cost more than the rest. */
	if (isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	else if (!o->wr.path || strcmp(o->wr.path, "-"))
		stdout_buffer_big();
	lc.mono_to_wall_ns = mono_to_wall();
	run.rs = ringbuf_source_new(loader_ringbuf_fd(run.l), on_live_record, &lc);
	if (!run.rs) {
		fprintf(stderr, "catrace: ring buffer: %s\n", strerror(errno));
		rc = 1;
		goto out_metrics;
	}
	/* The traced host is one end of the circuits it serves or opens:
	 * name the process behind each socket, for the lines and for top's
	 * clients; not when nothing would show it.  The kernel's records first, attached before "tracing on" (a caget
	 * started after it is named) and while we have the privileges;
	 * /proc else. */
	proc_wanted = !o->no_proc && (!pl->hook_only || o->top);
	if (proc_wanted) {
		if (loader_attach_sock_owners(run.l, err, sizeof(err)) == 0)
			proc_from_kernel = true;
		else
			fprintf(stderr, "catrace: %s; naming processes from /proc only "
				"(short-lived ones may go unnamed)\n", err);
	}
	/* Like tcpdump's "listening on": from here on, nothing is missed. */
	if (!o->quiet && !(o->top && !o->top_once)) {
		char where[512];

		fprintf(stderr, "tracing on %s\n", loader_describe(run.l, where, sizeof(where)));
	}
	if (o->top) {
		top_view_init(&run.top, pl, o, ifaces_label(&o->live, ifaces, sizeof(ifaces)));
		run.top_until_ns = mono_ns() +
			(uint64_t)(o->met.interval_s ? o->met.interval_s : 1) * 1000000000ull;
		if (!o->top_once && !top_screen_start()) {
			rc = EXIT_USAGE;
			goto out_ringbuf;
		}
	}
	if (o->drop_to && !drop_live_privileges(run.l, o->drop_to)) {
		rc = 1;
		goto out_top;
	}
	run.drops.at_ns = mono_ns();
	run.started_ns = run.drops.at_ns;
	run.chan_saved_ns = run.drops.at_ns;
	if (proc_wanted) {
		procattr_init(&proc, "/proc", stderr);
		if (proc_from_kernel) {
			proc.kernel_owner = loader_sock_owner;
			proc.kernel_owner_ctx = run.l;
		}
		pl->proc = &proc;
	}

	rc = live_loop(&run);
	traced = true;
	/* What the kernel already handed over still gets printed. */
	if (!pl->done && !lc.write_failed)
		ringbuf_source_drain(run.rs);
	reorder_release(&lc.ro, UINT64_MAX, decode_record, &lc);
	/* Before pipeline_finish, which ends the circuits it holds: the
	 * table, and top's snapshot (its open circuits are open now). */
	chan_table_save(&run, true);
	if (lc.write_failed && lc.w && !pcap_writer_reader_gone(lc.w))
		rc = 1;
	if (o->top && o->top_once && rc == 0) {
		run.top.messages = pl->st.messages;
		top_print_once(&run.top);
	}
	pipeline_finish(pl);
	/* With -w -, standard output is the writer's, and so are its errors. */
	if (!(o->wr.path && !strcmp(o->wr.path, "-")) && stdout_failed(pl))
		rc = 1;
	reports_finish(pl, o);
out_top:
	if (o->top) {
		top_screen_stop();
	} else if (traced && !o->quiet) {
		print_live_summary(run.l, pl, &run.drops, run.learned_expired);
	}
out_ringbuf:
	ringbuf_source_free(run.rs);
out_metrics:
	if (run.ms && metrics_service_stop(run.ms))
		rc = rc ? rc : 1;
	/* Set up last, freed after the summary and the final metrics file,
	 * which both say what it named and gave up on. */
	if (pl->proc) {
		procattr_free(pl->proc);
		pl->proc = NULL;
	}
out_loader:
	loader_close(run.l);
out_writer:
	if ((lc.w || lc.cw) && live_writer_close(&lc, o->quiet || !traced))
		rc = rc ? rc : 1;
out_filter:
	live_filter_free(&lc.filter);
out_reorder:
	reorder_free(&lc.ro);
	return rc;
}
