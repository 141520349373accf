/* metrics: Prometheus text exposition; see metrics.h. */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "output.h"
#include "version.h"

/* Codes above the last command are counted together in the last slot
 * group (the kernel keeps 28..31 apart: they are summed here). */
#define OTHER_FIRST (CA_PROTO_LAST_CMD + 1)

static const char *const req_names[CENSUS_REQ_KINDS] = {
	[CENSUS_REQ_SEARCH] = "search",
	[CENSUS_REQ_CREATE_CHAN] = "create_chan",
	[CENSUS_REQ_READ_NOTIFY] = "read_notify",
	[CENSUS_REQ_WRITE_NOTIFY] = "write_notify",
};

void metrics_put_label_value(struct sbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\\' || ch == '"') {
			sbuf_putc(sb, '\\');
			sbuf_putc(sb, (char)ch);
		} else if (ch == '\n') {
			sbuf_put(sb, "\\n", 2);
		} else if (ch < 0x20 || ch >= 0x7f) {
			char esc[5] = { '\\', '\\', 'x', hex[ch >> 4], hex[ch & 15] };

			sbuf_put(sb, esc, sizeof(esc));
		} else {
			sbuf_putc(sb, (char)ch);
		}
	}
}

static void family(struct sbuf *sb, const char *name, const char *type,
		   const char *help)
{
	sbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_u64(struct sbuf *sb, uint64_t v)
{
	sbuf_printf(sb, " %" PRIu64 "\n", v);
}

static void put_double(struct sbuf *sb, double v)
{
	sbuf_printf(sb, " %.9g\n", v);
}

static void server_label(struct sbuf *sb, const struct census_server *s)
{
	char ip[16];

	format_ip(ip, sizeof(ip), s->ip);
	sbuf_printf(sb, "server=\"%s:%u\"", ip, s->port);
}

static void iface_label(struct sbuf *sb, const struct metrics_input *in)
{
	sbuf_puts(sb, "iface=\"");
	metrics_put_label_value(sb, in->iface, strlen(in->iface));
	sbuf_putc(sb, '"');
}

/* One series of the interface's families: NAME{iface="..."} V, or with
 * one more label, NAME{iface="...",KEY="VAL"} V. */
static void iface_series(struct sbuf *sb, const struct metrics_input *in, const char *name,
			 const char *key, const char *val, uint64_t v)
{
	sbuf_printf(sb, "%s{", name);
	iface_label(sb, in);
	if (key)
		sbuf_printf(sb, ",%s=\"%s\"", key, val);
	sbuf_putc(sb, '}');
	put_u64(sb, v);
}

static const char *cmd_label(unsigned cmd, char *buf, size_t n)
{
	const char *name;

	if (cmd >= OTHER_FIRST)
		return "other";
	name = ca_cmd_const_name(cmd);
	if (name)
		return name;
	snprintf(buf, n, "cmd%u", cmd);
	return buf;
}

/* Messages and bytes by command and direction: from the kernel live, from
 * the decoder offline. */
static void render_messages(struct sbuf *sb, const struct metrics_input *in,
			    bool bytes)
{
	static const char *const dirs[2] = { "request", "response" };
	unsigned cmd, dir, i;
	char buf[16];

	if (bytes)
		family(sb, "catrace_message_bytes_total", "counter",
		       "Bytes of CA messages (header and payload) by command and direction.");
	else
		family(sb, "catrace_messages_total", "counter",
		       "CA messages by command and direction.");
	for (cmd = 0; cmd <= OTHER_FIRST; cmd++) {
		for (dir = 0; dir < 2; dir++) {
			uint64_t v = 0;
			unsigned last = cmd == OTHER_FIRST ? CNT_CMDS - 1 : cmd;

			for (i = cmd; i <= last; i++) {
				if (in->kernel)
					v += bytes ? in->kernel->bytes[i][dir] : in->kernel->msgs[i][dir];
				else if (in->census)
					v += bytes ? in->census->bytes[i][dir] : in->census->msgs[i][dir];
			}
			sbuf_printf(sb, "%s{command=\"%s\",direction=\"%s\",",
				    bytes ? "catrace_message_bytes_total" : "catrace_messages_total",
				    cmd_label(cmd, buf, sizeof(buf)), dirs[dir]);
			iface_label(sb, in);
			sbuf_putc(sb, '}');
			put_u64(sb, v);
		}
	}
}

/* Learned servers (issue 14): announcements can be forged, so a learned
 * server is pending until confirmed, and only its flows that open like CA
 * are CA; what that refused is how a forged announcement shows. */
static void render_learned(struct sbuf *sb, const struct metrics_input *in,
			   const struct ca_counters *k)
{
	static const char *const verdicts[2] = { "admitted", "refused" };
	uint64_t flows[2] = { k->learned_admitted, k->learned_refused };
	unsigned i;

	family(sb, "catrace_learned_servers", "gauge",
	       "TCP servers learned from announcements, pending (only flows opening like CA are CA) or confirmed (a local CA server process).");
	iface_series(sb, in, "catrace_learned_servers", "state", "pending",
		     in->learned_servers - in->learned_confirmed);
	iface_series(sb, in, "catrace_learned_servers", "state", "confirmed", in->learned_confirmed);
	family(sb, "catrace_learned_flows_total", "counter",
	       "TCP flows to pending learned servers: admitted (opened with VERSION) or refused (not CA, nothing traced).");
	for (i = 0; i < 2; i++) {
		iface_series(sb, in, "catrace_learned_flows_total", "verdict", verdicts[i], flows[i]);
	}
	family(sb, "catrace_learned_expired_total", "counter",
	       "Pending learned servers forgotten after a minute with no announcement and no admitted flow.");
	iface_series(sb, in, "catrace_learned_expired_total", NULL, NULL,
		     k->learned_expired + in->learned_expired_user);
}

static void render_packets(struct sbuf *sb, const struct metrics_input *in)
{
	const struct ca_counters *k = in->kernel;
	static const char *const results[6] = {
		"seen", "ca", "parse_error", "ip_length_short", "fragment", "bad_checksum",
	};
	uint64_t v[6];
	unsigned i;

	v[0] = k ? k->pkts_seen : in->packets_seen;
	v[1] = k ? k->pkts_ca : in->packets_ca;
	v[2] = k ? k->parse_errors : in->packet_errors;
	v[3] = k ? k->ip_len_short : in->packets_not_decoded[0];
	v[4] = k ? k->ca_fragments : in->packets_not_decoded[1];
	v[5] = k ? k->bad_checksum : in->packets_not_decoded[2];
	family(sb, "catrace_packets_total", "counter",
	       "Packets looked at (seen), carrying CA (ca), with broken headers (parse_error), and "
	       "on CA ports but not decoded: an IPv4 length past the frame, which receivers drop "
	       "(ip_length_short), or a TCP segment with a wrong checksum (bad_checksum; receivers "
	       "drop it); and the first fragments of CA datagrams (fragment).");
	for (i = 0; i < 6; i++) {
		iface_series(sb, in, "catrace_packets_total", "result", results[i], v[i]);
	}
	family(sb, "catrace_ip_reassembled_total", "counter",
	       "Fragmented CA datagrams put back together and decoded (the rest of "
	       "catrace_packets_total{result=\"fragment\"} never came whole).");
	iface_series(sb, in, "catrace_ip_reassembled_total", NULL, NULL, in->reassembled);
	if (in->live) {
		family(sb, "catrace_ringbuf_dropped_total", "counter",
		       "Records the kernel could not hand over: the ring buffer was full.");
		iface_series(sb, in, "catrace_ringbuf_dropped_total", NULL, NULL,
			     k ? k->ringbuf_drops : 0);
		family(sb, "catrace_tcp_stream_events_total", "counter",
		       "TCP stream events in the kernel: retransmissions skipped, gaps, resynchronisations, "
		       "stream states evicted from its full table (flow_evicted).");
		if (k) {
			const char *names[4] = { "retransmit", "gap", "resync", "flow_evicted" };
			uint64_t ev[4] = { k->retransmits, k->gaps, k->resyncs, in->flows_evicted };

			for (i = 0; i < 4; i++) {
				iface_series(sb, in, "catrace_tcp_stream_events_total", "event",
					     names[i], ev[i]);
			}
		}
	}
	family(sb, "catrace_learned_endpoints", "gauge",
	       "CA servers and repeater clients learned from the traffic (search replies, beacons).");
	iface_series(sb, in, "catrace_learned_endpoints", NULL, NULL, in->learned_endpoints);
	if (in->live && k)
		render_learned(sb, in, k);
	if (in->live && in->census) {
		family(sb, "catrace_records_total", "counter",
		       "Message records read from the ring buffer (bad: failed validation).");
		iface_series(sb, in, "catrace_records_total", "result", "ok", in->records);
		iface_series(sb, in, "catrace_records_total", "result", "bad", in->records_bad);
	}
}

static void render_build_info(struct sbuf *sb)
{
	struct utsname u;

	if (uname(&u) != 0)
		strcpy(u.release, "unknown");
	family(sb, "catrace_build_info", "gauge",
	       "Always 1: the catrace version and the running kernel.");
	sbuf_printf(sb, "catrace_build_info{version=\"%s\",kernel=\"", CATRACE_VERSION);
	metrics_put_label_value(sb, u.release, strlen(u.release));
	sbuf_puts(sb, "\"} 1\n");
}

/* Most searched first; names break ties, so the output is stable. */
static int by_searches(const void *a, const void *b)
{
	const struct census_pv *x = *(const struct census_pv *const *)a;
	const struct census_pv *y = *(const struct census_pv *const *)b;

	if (x->searches != y->searches)
		return x->searches < y->searches ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void render_searches(struct sbuf *sb, const struct census *c, unsigned limit)
{
	size_t n, i;
	const struct census_pv **pvs = census_pvs_sorted(c, &n, by_searches);

	/* The table may follow more PVs than the labels allowed (reports). */
	for (i = 0; i < n && i < limit && pvs[i]->searches; i++)
		;
	n = i;

	family(sb, "catrace_search_requests_total", "counter",
	       "Search requests for any PV (all of them, not only the top PVs).");
	sbuf_puts(sb, "catrace_search_requests_total");
	put_u64(sb, c->searches);
	family(sb, "catrace_search_requests_unanswered_total", "counter",
	       "Search requests with no reply within 5 s (all PVs).");
	sbuf_puts(sb, "catrace_search_requests_unanswered_total");
	put_u64(sb, c->searches_unanswered);
	family(sb, "catrace_searches_total", "counter",
	       "Search requests per PV, for the most searched PVs only (--pv-metrics-limit).");
	for (i = 0; i < n; i++) {
		sbuf_puts(sb, "catrace_searches_total{pv=\"");
		metrics_put_label_value(sb, pvs[i]->name, pvs[i]->len);
		sbuf_puts(sb, "\"}");
		put_u64(sb, pvs[i]->searches);
	}
	family(sb, "catrace_searches_unanswered_total", "counter",
	       "Search requests per PV with no reply within 5 s, for the most searched PVs only.");
	for (i = 0; i < n; i++) {
		sbuf_puts(sb, "catrace_searches_unanswered_total{pv=\"");
		metrics_put_label_value(sb, pvs[i]->name, pvs[i]->len);
		sbuf_puts(sb, "\"}");
		put_u64(sb, pvs[i]->unanswered);
	}
	family(sb, "catrace_search_pv_evictions_total", "counter",
	       "PVs that left the per-PV search table to make room for more searched ones.");
	sbuf_puts(sb, "catrace_search_pv_evictions_total");
	put_u64(sb, c->pv_evictions);
	free(pvs);
}

/* One per-server family; `get` picks the value. */
static void render_server_family(struct sbuf *sb, const struct census *c,
				 const char *name, const char *type, const char *help,
				 double (*get)(const struct census_server *),
				 bool integer)
{
	size_t it;
	const void *k;
	void *v;

	family(sb, name, type, help);
	for (it = 0; hmap_next(&c->servers, &it, &k, &v);) {
		const struct census_server *s = v;

		sbuf_printf(sb, "%s{", name);
		server_label(sb, s);
		sbuf_putc(sb, '}');
		if (integer)
			put_u64(sb, (uint64_t)get(s));
		else
			put_double(sb, get(s));
	}
}

static double get_circuits(const struct census_server *s) { return (double)s->circuits; }
static double get_channels(const struct census_server *s) { return (double)s->channels; }
static double get_updates(const struct census_server *s) { return (double)s->monitor_updates; }
static double get_rate(const struct census_server *s) { return s->monitor_rate; }
static double get_beacons(const struct census_server *s) { return (double)s->beacons; }
static double get_restarts(const struct census_server *s) { return (double)s->restarts; }

static void render_beacon_anomalies(struct sbuf *sb, const struct census *c)
{
	size_t it;
	const void *k;
	void *v;
	unsigned e;

	family(sb, "catrace_beacon_anomalies_total", "counter",
	       "Beacon events per server: appeared, restarted (sequence began again), resumed "
	       "(after a gap >= 3.25x the period), missed (>= 1.25x), early (<= 0.80x).");
	for (it = 0; hmap_next(&c->servers, &it, &k, &v);) {
		const struct census_server *s = v;

		if (!s->beacons)
			continue;
		for (e = 0; e < CENSUS_EV_KINDS; e++) {
			sbuf_puts(sb, "catrace_beacon_anomalies_total{");
			server_label(sb, s);
			sbuf_printf(sb, ",kind=\"%s\"}", census_event_name(e));
			put_u64(sb, s->events[e]);
		}
	}
}

static void render_latency(struct sbuf *sb, const struct census *c)
{
	static const char *const name = "catrace_request_duration_seconds";
	size_t it;
	const void *k;
	void *v;
	unsigned r, b;

	family(sb, name, "histogram",
	       "Time from a request to its reply, per server: search, create_chan, read_notify, "
	       "write_notify (matched by channel id or ioid).");
	for (it = 0; hmap_next(&c->servers, &it, &k, &v);) {
		const struct census_server *s = v;

		for (r = 0; r < CENSUS_REQ_KINDS; r++) {
			const struct census_hist *h = &s->latency[r];
			uint64_t cum = 0;

			if (!h->count)
				continue;
			for (b = 0; b <= CENSUS_BUCKETS; b++) {
				cum += h->buckets[b];
				sbuf_printf(sb, "%s_bucket{command=\"%s\",", name, req_names[r]);
				server_label(sb, s);
				if (b < CENSUS_BUCKETS)
					sbuf_printf(sb, ",le=\"%g\"}", census_bucket_le[b]);
				else
					sbuf_puts(sb, ",le=\"+Inf\"}");
				put_u64(sb, cum);
			}
			sbuf_printf(sb, "%s_sum{command=\"%s\",", name, req_names[r]);
			server_label(sb, s);
			sbuf_putc(sb, '}');
			put_double(sb, h->sum);
			sbuf_printf(sb, "%s_count{command=\"%s\",", name, req_names[r]);
			server_label(sb, s);
			sbuf_putc(sb, '}');
			put_u64(sb, h->count);
		}
	}
}

static void render_census(struct sbuf *sb, const struct census *c, unsigned pv_limit)
{
	render_searches(sb, c, pv_limit);
	render_server_family(sb, c, "catrace_clients", "gauge",
			     "Open client circuits (TCP connections) per server.",
			     get_circuits, true);
	render_server_family(sb, c, "catrace_channels", "gauge",
			     "Open channels per server.", get_channels, true);
	render_server_family(sb, c, "catrace_monitor_updates_total", "counter",
			     "Monitor updates (EVENT_ADD responses) per server.", get_updates, true);
	render_server_family(sb, c, "catrace_monitor_update_rate", "gauge",
			     "Monitor updates per second per server, over the last second.",
			     get_rate, false);
	render_server_family(sb, c, "catrace_beacons_total", "counter",
			     "Beacons per server.", get_beacons, true);
	render_server_family(sb, c, "catrace_server_restarts_total", "counter",
			     "Server restarts seen in beacons: the sequence began again, or "
			     "beacons resumed after a gap.", get_restarts, true);
	render_beacon_anomalies(sb, c);
	render_latency(sb, c);
	family(sb, "catrace_untracked_total", "counter",
	       "Things not tracked because a table was full (servers, circuits, requests).");
	sbuf_printf(sb, "catrace_untracked_total{table=\"servers\"} %" PRIu64 "\n",
		    c->servers_untracked);
	sbuf_printf(sb, "catrace_untracked_total{table=\"circuits\"} %" PRIu64 "\n",
		    c->circuits_untracked);
	sbuf_printf(sb, "catrace_untracked_total{table=\"requests\"} %" PRIu64 "\n",
		    c->pending_dropped);
	family(sb, "catrace_messages_unnamed_total", "counter",
	       "Messages about a channel whose PV name is unknown (created before catrace "
	       "started and not in the channel table).");
	sbuf_printf(sb, "catrace_messages_unnamed_total %" PRIu64 "\n", c->unnamed);
	family(sb, "catrace_servers_forgotten_total", "counter",
	       "Servers forgotten: no open circuit and silent for 5 minutes, or the "
	       "least recently heard from when the server table was full.");
	sbuf_printf(sb, "catrace_servers_forgotten_total %" PRIu64 "\n", c->servers_forgotten);
}

/* Process attribution (live): what waits, what it gave up on, its cost.
 * Without these a burst that outran it went unnoticed (issue 14). */
static void render_proc(struct sbuf *sb, const struct procattr *pa)
{
	family(sb, "catrace_proc_pending", "gauge",
	       "Circuits waiting for process attribution (a round of /proc reads).");
	sbuf_printf(sb, "catrace_proc_pending %u\n", pa->n_pending);
	family(sb, "catrace_proc_named_total", "counter",
	       "Circuit ends whose local process was found: in the kernel's records "
	       "of who connected or sent (kernel), or through /proc (proc).");
	sbuf_printf(sb, "catrace_proc_named_total{source=\"kernel\"} %" PRIu64 "\n",
		    pa->st.from_kernel);
	sbuf_printf(sb, "catrace_proc_named_total{source=\"proc\"} %" PRIu64 "\n",
		    pa->st.found - pa->st.from_kernel);
	family(sb, "catrace_proc_given_up_total", "counter",
	       "Circuits whose process was not found: closed before attribution could "
	       "look (its time budget was spent), or not found after every retry.");
	sbuf_printf(sb, "catrace_proc_given_up_total %" PRIu64 "\n", pa->st.given_up);
	family(sb, "catrace_proc_rounds_total", "counter",
	       "Rounds of process attribution (socket tables read, then processes).");
	sbuf_printf(sb, "catrace_proc_rounds_total %" PRIu64 "\n", pa->st.table_reads);
	family(sb, "catrace_proc_round_seconds_total", "counter",
	       "Time the rounds of process attribution took.");
	sbuf_printf(sb, "catrace_proc_round_seconds_total %.9g\n", (double)pa->st.round_ns / 1e9);
}

void metrics_render(struct sbuf *sb, const struct metrics_input *in)
{
	render_build_info(sb);
	if (in->kernel || in->census) {
		render_messages(sb, in, false);
		render_messages(sb, in, true);
	}
	render_packets(sb, in);
	if (in->census)
		render_census(sb, in->census, in->pv_limit);
	if (in->proc)
		render_proc(sb, in->proc);
}
