/* Unit tests for user/procattr.c: the local process behind a CA socket.
 *
 * Each test builds a small proc tree in a temporary directory, as the
 * kernel lays it out: net/tcp and net/udp (addresses as the kernel prints
 * them), PID/comm, PID/fd/N links to "socket:[inode]", and PID/task/TID/fd
 * for a process whose main thread has exited.  The clock is the test's,
 * so retries and the time budget are tested without sleeping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procattr.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static char root[256];
static uint64_t fake_now, fake_step;

/* Time moves by fake_step at every look: a round then "takes" a step. */
static uint64_t test_now(void)
{
	uint64_t t = fake_now;

	fake_now += fake_step;
	return t;
}

static void path_mkdir(const char *rel)
{
	char p[512], *s;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void write_file(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A process: comm, and its fds pointing at the given socket inodes (0
 * ends the list).  `zombie_leader`: the fds show only under a thread. */
static void add_process(int pid, const char *comm, bool zombie_leader, ...)
{
	char rel[256], link[512], target[64];
	unsigned long ino;
	va_list ap;
	int fd = 3;

	snprintf(rel, sizeof(rel), "%d", pid);
	path_mkdir(rel);
	snprintf(rel, sizeof(rel), "%d/comm", pid);
	snprintf(target, sizeof(target), "%s\n", comm);
	write_file(rel, target);
	snprintf(rel, sizeof(rel), "%d/fd", pid);
	path_mkdir(rel);
	if (zombie_leader) {
		snprintf(rel, sizeof(rel), "%d/task/%d/fd", pid, pid);
		path_mkdir(rel);
		snprintf(rel, sizeof(rel), "%d/task/%d/fd", pid, pid + 1);
		path_mkdir(rel);
	}
	/* Something that is not a socket, first (where fds show). */
	snprintf(link, sizeof(link), zombie_leader ? "%s/%d/task/%d/fd/0" : "%s/%d/fd/0",
		 root, pid, pid + 1);
	assert_int_equal(symlink("/dev/null", link), 0);
	va_start(ap, zombie_leader);
	while ((ino = va_arg(ap, unsigned long)) != 0) {
		snprintf(target, sizeof(target), "socket:[%lu]", ino);
		if (zombie_leader)
			snprintf(link, sizeof(link), "%s/%d/task/%d/fd/%d", root, pid, pid + 1, fd++);
		else
			snprintf(link, sizeof(link), "%s/%d/fd/%d", root, pid, fd++);
		assert_int_equal(symlink(target, link), 0);
	}
	va_end(ap);
}

/* A socket table line as the kernel prints it (host-order words of the
 * network-order address). */
static void sock_line(char *buf, size_t n, int sl, uint32_t lip, uint16_t lport,
		      uint32_t rip, uint16_t rport, unsigned long ino, unsigned st)
{
	snprintf(buf, n, "%4d: %08X:%04X %08X:%04X %02X 00000000:00000000 00:00000000 "
		 "00000000     0        0 %lu 1 0000000000000000 20 4 30 10 -1\n",
		 sl, htonl(lip), lport, htonl(rip), rport, st ? st : 1, ino);
}

static const char TABLE_TITLE[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
	"   uid  timeout inode\n";

/* st: the TCP state (0: ESTABLISHED, 0x0A: LISTEN); most lines leave it
 * out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
struct line { uint32_t lip; uint16_t lport; uint32_t rip; uint16_t rport; unsigned long ino; unsigned st; };

static void write_table(const char *name, const struct line *l, size_t n)
{
	char text[8192], one[256], rel[64];
	size_t i;

	snprintf(text, sizeof(text), "%s", TABLE_TITLE);
	for (i = 0; i < n; i++) {
		sock_line(one, sizeof(one), (int)i, l[i].lip, l[i].lport, l[i].rip,
			  l[i].rport, l[i].ino, l[i].st);
		strncat(text, one, sizeof(text) - strlen(text) - 1);
	}
	snprintf(rel, sizeof(rel), "net/%s", name);
	write_file(rel, text);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/catrace-procattr.XXXXXX");
	assert_non_null(mkdtemp(root));
	path_mkdir("net");
	write_table("tcp", NULL, 0);
	write_table("udp", NULL, 0);
	fake_now = 1000000000ull;
	fake_step = 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void pa_start(struct procattr *pa, FILE *warn)
{
	procattr_init(pa, root, warn);
	pa->now = test_now;
}

static const struct flow_key CIRC = { IP(10, 0, 0, 2), IP(10, 0, 0, 1), 40000, 5064 };

/* The IOC's end of a circuit: the accepted socket of the server. */
static void test_tcp_server_end(void **state)
{
	struct line t[] = {
		{ 0, 5064, 0, 0, 500, 0x0A },                             /* listener */
		{ IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 501 },   /* accepted */
	};
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	write_table("tcp", t, 2);
	add_process(100, "bash", false, 7ul, 0ul);
	add_process(4242, "softIoc", false, 500ul, 501ul, 0ul);
	pa_start(&pa, NULL);
	/* The request comes from the client, which is not local: the
	 * server's process is named for both directions. */
	o = procattr_owner(&pa, &CIRC, true, true);
	assert_non_null(o);
	assert_int_equal(o->pid, 4242);
	assert_string_equal(o->comm, "softIoc");
	o = procattr_owner(&pa, &CIRC, true, false);
	assert_non_null(o);
	assert_int_equal(o->pid, 4242);
	/* Cached: one round of table reads, one process scan. */
	assert_int_equal(pa.st.table_reads, 1);
	assert_int_equal(pa.st.scans, 1);
	procattr_free(&pa);
}

/* A caget's circuit is over before catrace looks: the server end is gone
 * (or in TIME_WAIT, inode 0), and whoever listens on the server's port
 * owned it.  A wildcard listener counts only for our own addresses. */
static void test_listener_when_circuit_gone(void **state)
{
	struct flow_key lo = { IP(127, 0, 0, 2), IP(127, 0, 0, 1), 40000, 5064 };
	struct flow_key far = { IP(192, 0, 2, 2), IP(192, 0, 2, 1), 40000, 5064 };
	struct line t[] = {
		{ IP(10, 0, 0, 1), 5064, 0, 0, 2501, 0x0A },
		{ 0, 5064, 0, 0, 2502, 0x0A },
		{ IP(127, 0, 0, 1), 5064, IP(127, 0, 0, 2), 40000, 0, 0x06 },  /* TIME_WAIT */
	};
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	write_table("tcp", t, 3);
	add_process(2500, "softIoc", false, 2501ul, 0ul);
	add_process(2600, "otherIoc", false, 2502ul, 0ul);
	pa_start(&pa, NULL);
	o = procattr_owner(&pa, &CIRC, true, true);  /* exact listener */
	assert_non_null(o);
	assert_int_equal(o->pid, 2500);
	o = procattr_owner(&pa, &lo, true, true);    /* wildcard, our address */
	assert_non_null(o);
	assert_int_equal(o->pid, 2600);
	assert_null(procattr_owner(&pa, &far, true, true));  /* passing by */
	procattr_free(&pa);
}

/* On loopback both ends are local: the sender's process is named. */
static void test_tcp_both_ends_local(void **state)
{
	struct flow_key k = { IP(127, 0, 0, 1), IP(127, 0, 0, 1), 41000, 5064 };
	struct line t[] = {
		{ IP(127, 0, 0, 1), 41000, IP(127, 0, 0, 1), 5064, 601 },
		{ IP(127, 0, 0, 1), 5064, IP(127, 0, 0, 1), 41000, 602 },
	};
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	write_table("tcp", t, 2);
	add_process(300, "caget", false, 601ul, 0ul);
	add_process(301, "softIoc", false, 602ul, 0ul);
	pa_start(&pa, NULL);
	o = procattr_owner(&pa, &k, true, true);
	assert_non_null(o);
	assert_string_equal(o->comm, "caget");
	o = procattr_owner(&pa, &k, true, false);
	assert_non_null(o);
	assert_string_equal(o->comm, "softIoc");
	procattr_free(&pa);
}

/* softIoc -S: the main thread has exited, /proc/PID/fd is empty, the
 * sockets show under another thread; pid and comm are the process's. */
static void test_zombie_leader(void **state)
{
	struct line t[] = { { IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 701 } };
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	write_table("tcp", t, 1);
	add_process(5000, "softIoc", true, 701ul, 0ul);
	pa_start(&pa, NULL);
	o = procattr_owner(&pa, &CIRC, true, true);
	assert_non_null(o);
	assert_int_equal(o->pid, 5000);
	assert_string_equal(o->comm, "softIoc");
	procattr_free(&pa);
}

/* Neither end in the socket tables (traffic passing by): no process scan,
 * and no second round for that circuit. */
static void test_not_local_costs_no_scan(void **state)
{
	struct line t[] = { { IP(10, 0, 0, 9), 5064, IP(10, 0, 0, 8), 40000, 801 } };
	struct procattr pa;

	(void)state;
	write_table("tcp", t, 1);
	add_process(100, "softIoc", false, 801ul, 0ul);
	pa_start(&pa, NULL);
	assert_null(procattr_owner(&pa, &CIRC, true, true));
	assert_int_equal(pa.st.scans, 0);
	fake_now += 10 * PROCATTR_RETRY_NS;
	assert_null(procattr_owner(&pa, &CIRC, true, true));
	assert_int_equal(pa.st.table_reads, 1);
	procattr_free(&pa);
}

/* A socket not yet accepted has inode 0: retried after PROCATTR_RETRY_NS,
 * not before, found once accepted; given up after PROCATTR_TRIES. */
static void test_retry_backoff(void **state)
{
	struct line pending[] = { { IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 0 } };
	struct line accepted[] = { { IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 901 } };
	struct flow_key other = CIRC;
	struct procattr pa;
	const struct proc_owner *o;
	int i;

	(void)state;
	write_table("tcp", pending, 1);
	add_process(900, "softIoc", false, 901ul, 0ul);
	pa_start(&pa, NULL);
	assert_null(procattr_owner(&pa, &CIRC, true, true));
	assert_int_equal(pa.st.table_reads, 1);
	write_table("tcp", accepted, 1);
	/* Before the retry time: no new round, still unknown. */
	fake_now += PROCATTR_RETRY_NS / 2;
	assert_null(procattr_owner(&pa, &CIRC, true, true));
	assert_int_equal(pa.st.table_reads, 1);
	fake_now += PROCATTR_RETRY_NS;
	o = procattr_owner(&pa, &CIRC, true, true);
	assert_non_null(o);
	assert_int_equal(o->pid, 900);
	assert_int_equal(pa.st.table_reads, 2);

	/* Another circuit that never gets accepted: PROCATTR_TRIES rounds. */
	other.cli_port = 40001;
	{
		struct line t[] = {
			accepted[0],
			{ IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40001, 0 },
		};

		write_table("tcp", t, 2);
	}
	for (i = 0; i < 3 * PROCATTR_TRIES; i++) {
		fake_now += 10 * 1000000000ull;
		assert_null(procattr_owner(&pa, &other, true, true));
	}
	assert_int_equal(pa.st.table_reads, 2 + PROCATTR_TRIES);
	assert_int_equal(pa.st.given_up, 1);
	procattr_free(&pa);
}

/* Rounds may take a share of the time only: when each takes 3/5 of the
 * burst allowance, the third circuit in a burst waits until the budget is
 * back. */
static void test_time_budget(void **state)
{
	struct line t[3];
	struct flow_key k[3];
	struct procattr pa;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		k[i] = CIRC;
		k[i].cli_port = (uint16_t)(40000 + i);
		t[i] = (struct line){ IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), k[i].cli_port,
				      2000ul + (unsigned long)i };
	}
	write_table("tcp", t, 3);
	add_process(2000, "softIoc", false, 2000ul, 2001ul, 2002ul, 0ul);
	pa_start(&pa, NULL);
	/* every look at the clock: that much later */
	fake_step = (uint64_t)PROCATTR_BUDGET_BURST_NS * 3 / 5;
	assert_non_null(procattr_owner(&pa, &k[0], true, true));
	assert_non_null(procattr_owner(&pa, &k[1], true, true));
	assert_null(procattr_owner(&pa, &k[2], true, true));
	assert_int_equal(pa.st.table_reads, 2);
	fake_step = 0;
	fake_now += 20ull * PROCATTR_BUDGET_BURST_NS;
	assert_non_null(procattr_owner(&pa, &k[2], true, true));
	assert_int_equal(pa.st.table_reads, 3);
	procattr_free(&pa);
}

/* No budget left now: rounds wait until it is paid back. */
static void budget_spent(struct procattr *pa)
{
	pa->budget_ns = 0;
	pa->budget_at_ns = fake_now;
}

/* Issue 14: a burst of short circuits outruns the budget; each queues and
 * closes before a round looks.  They leave the queue as they close and
 * count as given up, so once the burst is over the next circuit is named
 * (the queue once stayed full of closed circuits, and nothing was named
 * again). */
static void test_burst_of_closed_circuits(void **state)
{
	struct line t[] = { { IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 3101 } };
	struct flow_key k = CIRC;
	struct procattr pa;
	const struct proc_owner *o;
	unsigned i, n = PROCATTR_PENDING_MAX + 100;

	(void)state;
	write_table("tcp", t, 1);
	add_process(3100, "softIoc", false, 3101ul, 0ul);
	pa_start(&pa, NULL);
	budget_spent(&pa);
	for (i = 0; i < n; i++) {
		k.cli_port = (uint16_t)(20000 + i);
		assert_null(procattr_owner(&pa, &k, true, false));
		procattr_forget(&pa, &k, true);
	}
	assert_int_equal(pa.st.table_reads, 0);
	assert_int_equal(pa.n_pending, 0);
	assert_int_equal(pa.st.given_up, n);
	fake_now += 20ull * PROCATTR_BUDGET_BURST_NS;
	o = procattr_owner(&pa, &CIRC, true, false);
	assert_non_null(o);
	assert_int_equal(o->pid, 3100);
	assert_int_equal(pa.st.table_reads, 1);
	assert_int_equal(pa.st.given_up, n);
	procattr_free(&pa);
}

/* A circuit that waits for a round is resolved by the next round whoever
 * starts it: it may never send another message (an idle circuit), while
 * others (a camonitor's) keep coming; and a newcomer finds room. */
static void test_waiting_circuit_resolved_by_others(void **state)
{
	struct flow_key idle = CIRC;
	struct line t[] = {
		{ IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 3201 },
		{ IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40001, 3202 },
	};
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	idle.cli_port = 40001;
	write_table("tcp", t, 2);
	add_process(3200, "softIoc", false, 3201ul, 3202ul, 0ul);
	pa_start(&pa, NULL);
	assert_non_null(procattr_owner(&pa, &CIRC, true, false));
	assert_int_equal(pa.st.table_reads, 1);
	budget_spent(&pa);
	assert_null(procattr_owner(&pa, &idle, true, false));
	assert_int_equal(pa.n_pending, 1);
	fake_now += 20ull * PROCATTR_BUDGET_BURST_NS;
	/* Only the busy circuit speaks: its message starts the round. */
	assert_non_null(procattr_owner(&pa, &CIRC, true, false));
	assert_int_equal(pa.st.table_reads, 2);
	assert_int_equal(pa.n_pending, 0);
	o = procattr_owner(&pa, &idle, true, false);
	assert_non_null(o);
	assert_int_equal(o->pid, 3200);
	assert_int_equal(pa.st.table_reads, 2);
	procattr_free(&pa);
}

/* A round that took far longer than the burst allowance (a host with huge
 * socket tables) is paid back at the budget's share of the time, not at
 * most a burst allowance per call: after 20 times its length, one call is
 * enough; before, not even many. */
static void test_budget_paid_back_after_long_round(void **state)
{
	const uint64_t round_ns = 10ull * 1000000000;
	struct flow_key k2 = CIRC;
	struct line t[] = {
		{ IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 3301 },
		{ IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40001, 3302 },
	};
	struct procattr pa;
	int i;

	(void)state;
	k2.cli_port = 40001;
	write_table("tcp", t, 2);
	add_process(3300, "softIoc", false, 3301ul, 3302ul, 0ul);
	pa_start(&pa, NULL);
	fake_step = round_ns;  /* the round "takes" 10 s */
	assert_non_null(procattr_owner(&pa, &CIRC, true, false));
	fake_step = 0;
	assert_int_equal(pa.st.round_ns, round_ns);
	/* Halfway paid back, in many calls: still no round. */
	for (i = 0; i < 10; i++) {
		fake_now += round_ns * PROCATTR_BUDGET_SHARE / 20;
		assert_null(procattr_owner(&pa, &k2, true, false));
	}
	assert_int_equal(pa.st.table_reads, 1);
	fake_now += round_ns * PROCATTR_BUDGET_SHARE / 2;
	assert_non_null(procattr_owner(&pa, &k2, true, false));
	assert_int_equal(pa.st.table_reads, 2);
	procattr_free(&pa);
}

/* ---- the kernel's records (bpf/sockowner.bpf.c), faked ---- */

struct fake_record {
	struct sock_owner_key k;
	struct sock_owner o;
};

static struct fake_record records[4];
static unsigned n_records, kernel_lookups;

static bool fake_kernel_owner(void *ctx, const struct sock_owner_key *k,
			      struct sock_owner *o)
{
	unsigned i;

	(void)ctx;
	kernel_lookups++;
	for (i = 0; i < n_records; i++)
		if (!memcmp(&records[i].k, k, sizeof(*k))) {
			*o = records[i].o;
			return true;
		}
	return false;
}

static void fake_record(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport,
			uint8_t proto, uint32_t tgid, const char *comm)
{
	struct fake_record *r = &records[n_records++];

	memset(r, 0, sizeof(*r));
	r->k.local_ip = lip;
	r->k.local_port = lport;
	r->k.remote_ip = rip;
	r->k.remote_port = rport;
	r->k.proto = proto;
	r->o.tgid = tgid;
	snprintf(r->o.comm, sizeof(r->o.comm), "%s", comm);
}

/* The kernel's records on, and this host's address (as if looked up now). */
static void pa_start_kernel(struct procattr *pa, uint32_t local_ip)
{
	pa_start(pa, NULL);
	pa->kernel_owner = fake_kernel_owner;
	n_records = kernel_lookups = 0;
	pa->local.ips = calloc(1, sizeof(uint32_t));
	assert_non_null(pa->local.ips);
	pa->local.ips[0] = local_ip;
	pa->local.n = pa->local.cap = 1;
	pa->local.at_ns = fake_now;
}

/* Issue 15: a caget's circuit and search are over, and its sockets gone,
 * before any look through /proc: the kernel recorded it as it connected
 * and sent.  The server is not on this host: no round at all. */
static void test_kernel_names_short_client(void **state)
{
	struct flow_key search = { IP(10, 0, 0, 2), IP(10, 0, 0, 1), 50000, 5064 };
	const struct proc_owner *cli, *srv;
	struct procattr pa;

	(void)state;
	pa_start_kernel(&pa, IP(10, 0, 0, 2));
	fake_record(IP(10, 0, 0, 2), 40000, IP(10, 0, 0, 1), 5064, IPPROTO_TCP, 4321, "caget");
	fake_record(0, 50000, 0, 0, IPPROTO_UDP, 4321, "caget");  /* wildcard-bound */
	procattr_owners(&pa, &CIRC, true, &cli, &srv);
	assert_non_null(cli);
	assert_int_equal(cli->pid, 4321);
	assert_string_equal(cli->comm, "caget");
	assert_null(srv);
	procattr_owners(&pa, &search, false, &cli, &srv);
	assert_non_null(cli);
	assert_int_equal(cli->pid, 4321);
	assert_null(srv);
	assert_int_equal(pa.st.table_reads, 0);
	assert_int_equal(pa.st.from_kernel, 2);
	assert_int_equal(pa.st.found, 2);
	procattr_free(&pa);
}

/* A remote client that happens to use the port of one of our wildcard
 * sockets is not ours: remote ends are never looked up in the records. */
static void test_kernel_records_only_our_addresses(void **state)
{
	struct flow_key remote = { IP(10, 0, 0, 9), IP(10, 0, 0, 2), 50000, 5064 };
	const struct proc_owner *cli, *srv;
	struct procattr pa;

	(void)state;
	pa_start_kernel(&pa, IP(10, 0, 0, 2));
	fake_record(0, 50000, 0, 0, IPPROTO_UDP, 4321, "caget");
	procattr_owners(&pa, &remote, false, &cli, &srv);
	assert_null(cli);
	/* Only the server end (ours) was asked, exact then wildcard. */
	assert_int_equal(kernel_lookups, 2);
	procattr_free(&pa);
}

/* Another network namespace (a container, a test side by side) may have
 * the same addresses and ports: its sockets are not ours. */
static void test_kernel_records_of_other_namespaces(void **state)
{
	const struct proc_owner *cli, *srv;
	struct procattr pa;

	(void)state;
	pa_start_kernel(&pa, IP(10, 0, 0, 2));
	pa.netns = 4026531840u;
	fake_record(IP(10, 0, 0, 2), 40000, IP(10, 0, 0, 1), 5064, IPPROTO_TCP, 4321, "caget");
	records[0].k.netns = 4026531841u;
	procattr_owners(&pa, &CIRC, true, &cli, &srv);
	assert_null(cli);
	assert_int_equal(kernel_lookups, 1);
	assert_int_equal(pa.st.from_kernel, 0);
	procattr_free(&pa);
}

/* Both ends on this host: the kernel names the client, a round through
 * /proc the server (the IOC, which the kernel does not record). */
static void test_kernel_and_proc_both_ends_local(void **state)
{
	struct flow_key k = { IP(127, 0, 0, 1), IP(127, 0, 0, 1), 41000, 5064 };
	struct line t[] = { { IP(127, 0, 0, 1), 5064, IP(127, 0, 0, 1), 41000, 3402 } };
	const struct proc_owner *cli, *srv;
	struct procattr pa;

	(void)state;
	write_table("tcp", t, 1);
	add_process(3400, "softIoc", false, 3402ul, 0ul);
	pa_start_kernel(&pa, IP(10, 0, 0, 2));
	fake_record(IP(127, 0, 0, 1), 41000, IP(127, 0, 0, 1), 5064, IPPROTO_TCP, 3300, "caget");
	procattr_owners(&pa, &k, true, &cli, &srv);
	assert_non_null(cli);
	assert_string_equal(cli->comm, "caget");
	assert_non_null(srv);
	assert_int_equal(srv->pid, 3400);
	assert_int_equal(pa.st.table_reads, 1);
	assert_int_equal(pa.st.from_kernel, 1);
	assert_int_equal(pa.st.found, 2);
	procattr_free(&pa);
}

/* The IOC's next circuit is found among the processes that owned sockets
 * before, without looking at every process again. */
static void test_known_owner_first(void **state)
{
	struct flow_key k2 = CIRC;
	struct line t[] = {
		{ IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 2101 },
		{ IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40001, 2102 },
	};
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	k2.cli_port = 40001;
	write_table("tcp", t, 2);
	add_process(2100, "softIoc", false, 2101ul, 2102ul, 0ul);
	add_process(2200, "bash", false, 9ul, 0ul);
	pa_start(&pa, NULL);
	assert_non_null(procattr_owner(&pa, &CIRC, true, true));
	assert_int_equal(pa.st.scans, 1);
	o = procattr_owner(&pa, &k2, true, true);
	assert_non_null(o);
	assert_int_equal(o->pid, 2100);
	assert_int_equal(pa.st.scans, 1);
	assert_int_equal(pa.st.hint_scans, 1);
	procattr_free(&pa);
}

/* Search traffic: the IOC's UDP socket is bound to the wildcard address
 * and unconnected; an exact binding wins over it. */
static void test_udp_wildcard_and_exact(void **state)
{
	struct flow_key k = { IP(127, 0, 0, 2), IP(127, 0, 0, 1), 50000, 5064 };
	struct line u[] = { { 0, 5064, 0, 0, 1001 } };
	struct line u2[] = { { 0, 5064, 0, 0, 1001 }, { IP(127, 0, 0, 1), 5064, 0, 0, 1002 } };
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	write_table("udp", u, 1);
	add_process(1000, "softIoc", false, 1001ul, 0ul);
	add_process(1100, "other", false, 1002ul, 0ul);
	pa_start(&pa, NULL);
	o = procattr_owner(&pa, &k, false, true);
	assert_non_null(o);
	assert_int_equal(o->pid, 1000);
	procattr_forget(&pa, &k, false);
	write_table("udp", u2, 2);
	fake_now += PROCATTR_ENDPOINT_TTL_NS;  /* the endpoint found is stale */
	o = procattr_owner(&pa, &k, false, true);
	assert_non_null(o);
	assert_int_equal(o->pid, 1100);
	procattr_free(&pa);
}

/* Every client searching an IOC is a new UDP peer of the same local
 * socket: known for a while, without a round; looked for again later. */
static void test_udp_endpoint_reuse(void **state)
{
	struct flow_key a = { IP(127, 0, 0, 2), IP(127, 0, 0, 1), 50000, 5064 };
	struct flow_key b = { IP(127, 0, 0, 3), IP(127, 0, 0, 1), 50001, 5064 };
	struct flow_key c = { IP(127, 0, 0, 4), IP(127, 0, 0, 1), 50002, 5064 };
	struct line u[] = { { 0, 5064, 0, 0, 3001 } };
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	write_table("udp", u, 1);
	add_process(3000, "softIoc", false, 3001ul, 0ul);
	pa_start(&pa, NULL);
	assert_non_null(procattr_owner(&pa, &a, false, true));
	assert_int_equal(pa.st.table_reads, 1);
	o = procattr_owner(&pa, &b, false, false);
	assert_non_null(o);
	assert_int_equal(o->pid, 3000);
	assert_int_equal(pa.st.table_reads, 1);
	fake_now += PROCATTR_ENDPOINT_TTL_NS;
	o = procattr_owner(&pa, &c, false, true);
	assert_non_null(o);
	assert_int_equal(pa.st.table_reads, 2);
	procattr_free(&pa);
}

/* Two IOCs share UDP 5064: which one got the datagram cannot be told, so
 * nobody is named; two sockets of one process are fine. */
static void test_udp_shared_port(void **state)
{
	struct flow_key k = { IP(127, 0, 0, 2), IP(127, 0, 0, 1), 50000, 5064 };
	struct line u[] = { { 0, 5064, 0, 0, 1201 }, { 0, 5064, 0, 0, 1202 } };
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	write_table("udp", u, 2);
	add_process(1200, "softIoc", false, 1201ul, 0ul);
	add_process(1300, "softIoc", false, 1202ul, 0ul);
	pa_start(&pa, NULL);
	assert_null(procattr_owner(&pa, &k, false, true));
	procattr_free(&pa);

	teardown(NULL);
	setup(NULL);
	write_table("udp", u, 2);
	add_process(1200, "softIoc", false, 1201ul, 1202ul, 0ul);
	pa_start(&pa, NULL);
	o = procattr_owner(&pa, &k, false, true);
	assert_non_null(o);
	assert_int_equal(o->pid, 1200);
	procattr_free(&pa);
}

/* A remote datagram to a port a local process happens to bind on the
 * wildcard: the address is not ours, so not that process. */
static void test_udp_not_our_address(void **state)
{
	struct flow_key k = { IP(192, 0, 2, 7), IP(192, 0, 2, 8), 50000, 5064 };
	struct line u[] = { { 0, 5064, 0, 0, 1401 } };
	struct procattr pa;

	(void)state;
	write_table("udp", u, 1);
	add_process(1400, "softIoc", false, 1401ul, 0ul);
	pa_start(&pa, NULL);
	assert_null(procattr_owner(&pa, &k, false, true));
	assert_int_equal(pa.st.scans, 0);
	procattr_free(&pa);
}

/* A dual-stack server: its sockets are in tcp6 with v4-mapped addresses. */
static void test_tcp6_v4_mapped(void **state)
{
	char text[1024], mapped[9];
	struct procattr pa;
	const struct proc_owner *o;


	(void)state;
	/* ::ffff:0:0's third word, host order, as the kernel prints it. */
	snprintf(mapped, sizeof(mapped), "%08X", htonl(0x0000FFFFu));
	snprintf(text, sizeof(text),
		 "%s   0: 0000000000000000%s%08X:13C8 0000000000000000%s%08X:9C40 "
		 "01 00000000:00000000 00:00000000 00000000     0        0 1501 1 0 20 4 30 10 -1\n",
		 TABLE_TITLE, mapped, htonl(IP(10, 0, 0, 1)), mapped, htonl(IP(10, 0, 0, 2)));
	write_file("net/tcp6", text);
	add_process(1500, "pyioc", false, 1501ul, 0ul);
	pa_start(&pa, NULL);
	o = procattr_owner(&pa, &CIRC, true, true);
	assert_non_null(o);
	assert_int_equal(o->pid, 1500);
	assert_string_equal(o->comm, "pyioc");
	procattr_free(&pa);
}

/* No usable /proc: said once, on the warning stream, then quiet. */
static void test_proc_unusable_warns_once(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *w = open_memstream(&buf, &len);
	struct procattr pa;
	char p[300];

	(void)state;
	snprintf(p, sizeof(p), "%s/net/tcp", root);
	unlink(p);
	pa_start(&pa, w);
	assert_null(procattr_owner(&pa, &CIRC, true, true));
	fake_now += PROCATTR_RETRY_NS;
	assert_null(procattr_owner(&pa, &CIRC, true, false));
	assert_true(pa.disabled);
	fclose(w);
	assert_non_null(strstr(buf, "catrace: process attribution off: "));
	assert_non_null(strstr(buf, "/net/tcp: No such file or directory\n"));
	assert_ptr_equal(strchr(buf, '\n'), buf + len - 1);  /* one line */
	free(buf);
	procattr_free(&pa);
}

/* A closed circuit is forgotten: the same ports later may be another
 * process. */
static void test_forget(void **state)
{
	struct line t[] = { { IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 1601 } };
	struct line t2[] = { { IP(10, 0, 0, 1), 5064, IP(10, 0, 0, 2), 40000, 1701 } };
	struct procattr pa;
	const struct proc_owner *o;

	(void)state;
	write_table("tcp", t, 1);
	add_process(1600, "first", false, 1601ul, 0ul);
	add_process(1700, "second", false, 1701ul, 0ul);
	pa_start(&pa, NULL);
	o = procattr_owner(&pa, &CIRC, true, true);
	assert_non_null(o);
	assert_string_equal(o->comm, "first");
	write_table("tcp", t2, 1);
	procattr_forget(&pa, &CIRC, true);
	fake_now += PROCATTR_RETRY_NS;
	o = procattr_owner(&pa, &CIRC, true, true);
	assert_non_null(o);
	assert_string_equal(o->comm, "second");
	procattr_free(&pa);
}

/* The cache stays bounded however many circuits come. */
static void test_cache_bounded(void **state)
{
	struct procattr pa;
	struct flow_key k = CIRC;
	unsigned i;

	(void)state;
	pa_start(&pa, NULL);
	for (i = 0; i < PROCATTR_CACHE_MAX + 100; i++) {
		k.cli_port = (uint16_t)i;
		k.cli_ip = IP(10, 1, 0, 0) + (i >> 16);
		procattr_owner(&pa, &k, true, true);
		assert_true(hmap_count(&pa.cache) <= PROCATTR_CACHE_MAX);
	}
	procattr_free(&pa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp_server_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_both_ends_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zombie_leader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener_when_circuit_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_local_costs_no_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_of_closed_circuits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiting_circuit_resolved_by_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_paid_back_after_long_round, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_names_short_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_records_only_our_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_records_of_other_namespaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_and_proc_both_ends_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_owner_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_wildcard_and_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_endpoint_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_shared_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_not_our_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp6_v4_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc_unusable_warns_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
