/* Unit tests for user/pcap_writer.c: pcap files with nanosecond time
 * stamps, -U, -C, -G, -W, and errors (unwritable paths, full disks).
 *
 * Every file written is read back with libpcap at nanosecond precision and
 * compared record by record (time stamp, caplen, len, every byte) with what
 * was sent; the magic number is checked to be the nanosecond one, the file
 * size to be exactly header + records, and, where capinfos is installed, it
 * must accept the file.  Packet i always has the same bytes and time stamp,
 * so a file's contents can be checked from the list of packets it should
 * hold.  The full-disk tests mount a small tmpfs (root only) and skip with
 * a message where that is not possible.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pcap_writer.h"

#define NSEC 1000000000ull
#define MAXPKT 262144u

/* 2024-01-02 03:04:05 UTC */
#define T0 1704164645ull

/* ---- packets ---------------------------------------------------------------- */

struct sent {
	uint32_t i, len, wire;
};

static uint8_t pktbuf[MAXPKT + 1024];

static uint64_t ts_of(uint32_t i)
{
	/* Nanoseconds that would not survive a trip through microseconds. */
	return T0 * NSEC + (uint64_t)i * 1000003u + i % 7;
}

static const uint8_t *bytes_of(uint32_t i, uint32_t len)
{
	uint32_t j;

	for (j = 0; j < len; j++)
		pktbuf[j] = (uint8_t)(i * 131u + j * 7u + (j >> 8));
	return pktbuf;
}

/* ---- fixture: a scratch directory, and maybe a tmpfs in it ------------------ */

struct fx {
	char dir[64];
	char mnt[96];
	bool mounted;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/catrace-pw-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[256];

	if (f->mounted) {
		/* A failed assertion leaves the writer's file open, and a
		 * plain umount then fails (busy): detach lazily instead; the
		 * tmpfs goes when the process exits. */
		snprintf(cmd, sizeof(cmd),
			 "umount '%s' 2>/dev/null || umount -l '%s'", f->mnt, f->mnt);
		if (system(cmd) != 0)
			fprintf(stderr, "could not unmount %s\n", f->mnt);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

static void path_in(char *buf, size_t n, const char *dir, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* ---- writing and reading back ----------------------------------------------- */

static struct pcap_writer *open_ok(const struct pcap_writer_opts *o)
{
	char err[512] = "";
	struct pcap_writer *w = pcap_writer_open(o, err, sizeof(err));

	if (!w)
		fail_msg("pcap_writer_open(%s): %s", o->path, err);
	return w;
}

/* Write packet i (len bytes captured, wire on the wire); returns what
 * pcap_writer_write returned. */
static int put(struct pcap_writer *w, uint32_t i, uint32_t len, uint32_t wire,
	       char *err, size_t errlen)
{
	return pcap_writer_write(w, ts_of(i), bytes_of(i, len), len, wire, err,
				 errlen);
}

static void put_ok(struct pcap_writer *w, uint32_t i, uint32_t len,
		   uint32_t wire)
{
	char err[512] = "";
	int rc = put(w, i, len, wire, err, sizeof(err));

	if (rc != 0)
		fail_msg("write of packet %u failed (%d): %s", i, rc, err);
}

static void close_ok(struct pcap_writer *w)
{
	char err[512] = "";

	if (pcap_writer_close(w, err, sizeof(err)) != 0)
		fail_msg("pcap_writer_close: %s", err);
}

static bool have_capinfos(void)
{
	return system("command -v capinfos >/dev/null 2>&1") == 0;
}

static void capinfos_accepts(const char *path)
{
	char cmd[PATH_MAX + 64];
	int rc;

	if (!have_capinfos())
		return;
	snprintf(cmd, sizeof(cmd), "capinfos '%s' >/dev/null 2>&1", path);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("capinfos rejects %s (status %d)", path, rc);
}

/* The file holds exactly the n packets in s, in order, cut to snaplen, and
 * nothing else; returns n for convenience. */
static uint32_t expect_file(const char *path, uint32_t snaplen,
			    const struct sent *s, uint32_t n)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t want_size = 24;
	uint8_t magic[4];
	uint32_t k;
	FILE *fp;
	pcap_t *p;
	int rc;

	fp = fopen(path, "rb");
	if (!fp)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fread(magic, 1, 4, fp), 4);
	fclose(fp);
	/* 0xa1b23c4d in host (little-endian) order: nanosecond pcap. */
	assert_int_equal(magic[0], 0x4d);
	assert_int_equal(magic[1], 0x3c);
	assert_int_equal(magic[2], 0xb2);
	assert_int_equal(magic[3], 0xa1);

	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
						    ebuf);
	if (!p)
		fail_msg("%s: %s", path, ebuf);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	assert_int_equal(pcap_snapshot(p), (int)snaplen);
	for (k = 0; k < n; k++) {
		uint32_t cap = s[k].len < snaplen ? s[k].len : snaplen;
		uint64_t ts;

		rc = pcap_next_ex(p, &h, &data);
		if (rc != 1)
			fail_msg("%s: record %u of %u: %d %s", path, k, n, rc,
				 rc == -1 ? pcap_geterr(p) : "");
		ts = (uint64_t)h->ts.tv_sec * NSEC + (uint64_t)h->ts.tv_usec;
		assert_int_equal(ts, ts_of(s[k].i));
		assert_int_equal(h->caplen, cap);
		assert_int_equal(h->len, s[k].wire);
		assert_memory_equal(data, bytes_of(s[k].i, cap), cap);
		want_size += 16 + cap;
	}
	/* A clean end: no further record and no truncated one. */
	rc = pcap_next_ex(p, &h, &data);
	if (rc != PCAP_ERROR_BREAK)
		fail_msg("%s: after %u records: %d %s", path, n, rc,
			 rc == -1 ? pcap_geterr(p) : "extra record");
	pcap_close(p);
	assert_int_equal(file_size(path), want_size);
	capinfos_accepts(path);
	return n;
}

/* Read a file back without knowing what it should hold: check it is clean
 * and that packets appear in index order starting at *next. */
static uint32_t expect_sequence(const char *path, uint32_t *next,
				uint32_t len)
{
	struct sent s[4096];
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	uint32_t n = 0;
	pcap_t *p;

	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
						    ebuf);
	if (!p)
		fail_msg("%s: %s", path, ebuf);
	while (pcap_next_ex(p, &h, &data) == 1) {
		assert_true(n < 4096);
		s[n].i = *next + n;
		s[n].len = s[n].wire = len;
		n++;
	}
	pcap_close(p);
	expect_file(path, PCAP_WRITER_DEFAULT_SNAPLEN, s, n);
	*next += n;
	return n;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_roundtrip(void **state)
{
	struct fx *f = *state;
	static const uint32_t lens[][2] = {
		{ 60, 60 }, { 1514, 1514 }, { 1, 1 }, { 0, 60 }, { 33, 1000 },
		{ 9000, 9000 }, { 70000, 70000 }, { MAXPKT, MAXPKT },
		{ 61, 61 }, { 65535, 65535 }, { 1515, 2000 }, { 64, 64 },
	};
	struct sent s[64];
	struct pcap_writer_opts o = { 0 };
	struct pcap_writer *w;
	char path[128];
	uint32_t k, n = 0;

	path_in(path, sizeof(path), f->dir, "trace.pcap");
	o.path = path;
	w = open_ok(&o);
	assert_string_equal(pcap_writer_filename(w), path);
	for (k = 0; k < 48; k++) {
		const uint32_t *l = lens[k % (sizeof(lens) / sizeof(lens[0]))];

		s[n] = (struct sent){ k, l[0], l[1] };
		put_ok(w, k, l[0], l[1]);
		n++;
	}
	assert_int_equal(pcap_writer_packets(w), 48);
	close_ok(w);
	expect_file(path, PCAP_WRITER_DEFAULT_SNAPLEN, s, n);
}

static void test_snaplen(void **state)
{
	struct fx *f = *state;
	static const uint32_t lens[] = { 50, 100, 101, 1500, MAXPKT, 99 };
	struct pcap_writer_opts o = { .snaplen = 100 };
	struct pcap_writer *w;
	struct sent s[6];
	char path[128], err[256];
	uint32_t k;

	path_in(path, sizeof(path), f->dir, "snap.pcap");
	o.path = path;
	w = open_ok(&o);
	for (k = 0; k < 6; k++) {
		s[k] = (struct sent){ k, lens[k], lens[k] };
		put_ok(w, k, lens[k], lens[k]);
	}
	close_ok(w);
	expect_file(path, 100, s, 6);

	/* A wire length below the captured one is raised to it, since a
	 * reader would reject caplen > len. */
	w = open_ok(&o);
	put_ok(w, 0, 80, 10);
	close_ok(w);
	s[0] = (struct sent){ 0, 80, 80 };
	expect_file(path, 100, s, 1);

	o.snaplen = MAXPKT + 1;
	assert_null(pcap_writer_open(&o, err, sizeof(err)));
	assert_string_equal(err, "snap length 262145 is larger than the maximum 262144");
}

static void test_flush_each(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .flush_each = true };
	struct pcap_writer *w;
	char path[128], err[256];
	uint64_t want = 24;
	uint32_t k;

	path_in(path, sizeof(path), f->dir, "u.pcap");
	o.path = path;
	w = open_ok(&o);
	assert_int_equal(file_size(path), 24);
	for (k = 0; k < 20; k++) {
		put_ok(w, k, 100 + k, 100 + k);
		want += 16 + 100 + k;
		/* On disk at once, without closing. */
		assert_int_equal(file_size(path), want);
	}
	close_ok(w);

	/* Without -U: the header is written at open, packets are buffered
	 * until a flush. */
	o.flush_each = false;
	w = open_ok(&o);
	assert_int_equal(file_size(path), 24);
	put_ok(w, 0, 100, 100);
	put_ok(w, 1, 100, 100);
	assert_int_equal(file_size(path), 24);
	assert_int_equal(pcap_writer_flush(w, err, sizeof(err)), 0);
	assert_int_equal(file_size(path), 24 + 2 * 116);
	close_ok(w);
}

/* 1000-byte files and 116-byte records (100 bytes of packet): 24 + 8 * 116
 * = 952 fits, a ninth record would make 1068. */
#define RB 1000
#define PL 100

static void test_rotate_size(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .rotate_bytes = RB };
	struct pcap_writer *w;
	struct sent s[20];
	char base[128], name[160];
	uint32_t k;

	path_in(base, sizeof(base), f->dir, "c.pcap");
	o.path = base;
	w = open_ok(&o);
	for (k = 0; k < 20; k++) {
		s[k] = (struct sent){ k, PL, PL };
		put_ok(w, k, PL, PL);
	}
	snprintf(name, sizeof(name), "%s2", base);
	assert_string_equal(pcap_writer_filename(w), name);
	assert_int_equal(pcap_writer_packets(w), 20);
	close_ok(w);

	/* tcpdump's names: FILE, FILE1, FILE2. */
	expect_file(base, PCAP_WRITER_DEFAULT_SNAPLEN, s, 8);
	snprintf(name, sizeof(name), "%s1", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 8, 8);
	assert_true(file_size(name) <= RB);
	snprintf(name, sizeof(name), "%s2", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 16, 4);
	snprintf(name, sizeof(name), "%s3", base);
	assert_false(exists(name));
	snprintf(name, sizeof(name), "%s0", base);
	assert_false(exists(name));
}

static void test_rotate_size_big_packet(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .rotate_bytes = RB };
	struct pcap_writer *w;
	struct sent s[5] = {
		{ 0, PL, PL }, { 1, 5000, 5000 }, { 2, 6000, 6000 },
		{ 3, PL, PL }, { 4, PL, PL },
	};
	char base[128], name[160];
	uint32_t k;

	path_in(base, sizeof(base), f->dir, "big.pcap");
	o.path = base;
	w = open_ok(&o);
	for (k = 0; k < 5; k++)
		put_ok(w, s[k].i, s[k].len, s[k].wire);
	close_ok(w);
	/* A record larger than -C gets a file to itself, never an empty
	 * file before it. */
	expect_file(base, PCAP_WRITER_DEFAULT_SNAPLEN, s, 1);
	snprintf(name, sizeof(name), "%s1", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 1, 1);
	snprintf(name, sizeof(name), "%s2", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 2, 1);
	snprintf(name, sizeof(name), "%s3", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 3, 2);
}

static void test_ring(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .rotate_bytes = RB, .max_files = 3 };
	struct pcap_writer *w;
	struct sent s[50], big[96];
	char base[128], name[160];
	uint32_t k;

	path_in(base, sizeof(base), f->dir, "ring.pcap");
	o.path = base;
	w = open_ok(&o);
	for (k = 0; k < 50; k++) {
		s[k] = (struct sent){ k, PL, PL };
		put_ok(w, k, PL, PL);
	}
	close_ok(w);
	/* Seven files' worth went round FILE0, FILE1, FILE2 twice and a bit:
	 * FILE0 holds the last two packets, FILE1 and FILE2 the round
	 * before. */
	snprintf(name, sizeof(name), "%s0", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 48, 2);
	snprintf(name, sizeof(name), "%s1", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 32, 8);
	snprintf(name, sizeof(name), "%s2", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 40, 8);
	assert_false(exists(base));
	snprintf(name, sizeof(name), "%s3", base);
	assert_false(exists(name));

	/* -W 11: numbers padded to two digits, 00..10; twelve files' worth
	 * wraps round to 00 once. */
	path_in(base, sizeof(base), f->dir, "r11-");
	o.max_files = 11;
	w = open_ok(&o);
	snprintf(name, sizeof(name), "%s00", base);
	assert_string_equal(pcap_writer_filename(w), name);
	for (k = 0; k < 8 * 12; k++) {
		big[k] = (struct sent){ k, PL, PL };
		put_ok(w, k, PL, PL);
	}
	close_ok(w);
	snprintf(name, sizeof(name), "%s00", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, big + 88, 8);
	snprintf(name, sizeof(name), "%s01", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, big + 8, 8);
	snprintf(name, sizeof(name), "%s10", base);
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, big + 80, 8);
	snprintf(name, sizeof(name), "%s11", base);
	assert_false(exists(name));
	assert_false(exists(base));

	/* -W 1: one file, no number, reused. */
	path_in(base, sizeof(base), f->dir, "one.pcap");
	o.max_files = 1;
	w = open_ok(&o);
	for (k = 0; k < 20; k++)
		put_ok(w, k, PL, PL);
	close_ok(w);
	expect_file(base, PCAP_WRITER_DEFAULT_SNAPLEN, s + 16, 4);
	snprintf(name, sizeof(name), "%s0", base);
	assert_false(exists(name));
}

static void test_rotate_time(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .rotate_seconds = 60, .utc = true };
	struct pcap_writer *w;
	char tmpl[128], name[160];
	char err[256];

	path_in(tmpl, sizeof(tmpl), f->dir, "t-%Y%m%d-%H%M%S.pcap");
	o.path = tmpl;
	o.start_ns = T0 * NSEC;
	w = open_ok(&o);
	path_in(name, sizeof(name), f->dir, "t-20240102-030405.pcap");
	assert_string_equal(pcap_writer_filename(w), name);

	/* Time stamps of our own choosing, not ts_of(): seconds after T0. */
	{
		static const uint64_t at[] = { 1, 30, 59, 60, 61, 50, 200, 201 };
		uint32_t k;

		for (k = 0; k < 8; k++) {
			uint64_t ts = (T0 + at[k]) * NSEC + 123456789u + k;

			assert_int_equal(pcap_writer_write(w, ts, bytes_of(k, PL),
							   PL, PL, err, sizeof(err)),
					 0);
		}
	}
	close_ok(w);
	/* Read back by hand: these time stamps are not ts_of(). */
	{
		static const struct { const char *name; uint32_t first, n; } want[] = {
			{ "t-20240102-030405.pcap", 0, 3 },
			/* 60 s after the file opened: new file, named from the
			 * packet; 50 s is older than that period: stays. */
			{ "t-20240102-030505.pcap", 3, 3 },
			{ "t-20240102-030725.pcap", 6, 2 },
		};
		static const uint64_t at[] = { 1, 30, 59, 60, 61, 50, 200, 201 };
		uint32_t j;

		for (j = 0; j < 3; j++) {
			char ebuf[PCAP_ERRBUF_SIZE];
			struct pcap_pkthdr *h;
			const u_char *data;
			pcap_t *p;
			uint32_t k;

			path_in(name, sizeof(name), f->dir, want[j].name);
			p = pcap_open_offline_with_tstamp_precision(name,
					PCAP_TSTAMP_PRECISION_NANO, ebuf);
			if (!p)
				fail_msg("%s: %s", name, ebuf);
			for (k = want[j].first; k < want[j].first + want[j].n; k++) {
				assert_int_equal(pcap_next_ex(p, &h, &data), 1);
				assert_int_equal(h->ts.tv_sec, T0 + at[k]);
				assert_int_equal(h->ts.tv_usec, 123456789u + k);
				assert_int_equal(h->caplen, PL);
				assert_memory_equal(data, bytes_of(k, PL), PL);
			}
			assert_int_equal(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
			pcap_close(p);
			capinfos_accepts(name);
		}
	}
}

static void test_rotate_time_local(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .rotate_seconds = 3600 };
	struct pcap_writer *w;
	char tmpl[128], name[160], *old = getenv("TZ");
	char saved[64] = "";

	if (old)
		snprintf(saved, sizeof(saved), "%s", old);
	/* POSIX TZ "XYZ-2": two hours east of UTC, no DST. */
	setenv("TZ", "XYZ-2", 1);
	path_in(tmpl, sizeof(tmpl), f->dir, "l-%Y%m%d-%H%M%S-%Z.pcap");
	o.path = tmpl;
	o.start_ns = T0 * NSEC;
	w = open_ok(&o);
	path_in(name, sizeof(name), f->dir, "l-20240102-050405-XYZ.pcap");
	assert_string_equal(pcap_writer_filename(w), name);
	put_ok(w, 0, PL, PL);
	/* An hour later (packet time): the next file, local time again. */
	assert_int_equal(pcap_writer_write(w, (T0 + 3600) * NSEC, bytes_of(1, PL),
					   PL, PL, NULL, 0), 0);
	path_in(name, sizeof(name), f->dir, "l-20240102-060405-XYZ.pcap");
	assert_string_equal(pcap_writer_filename(w), name);
	close_ok(w);
	assert_true(exists(name));

	/* The same with utc: names in UTC whatever TZ says. */
	o.utc = true;
	w = open_ok(&o);
	path_in(name, sizeof(name), f->dir, "l-20240102-030405-GMT.pcap");
	assert_string_equal(pcap_writer_filename(w), name);
	close_ok(w);

	if (old)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
}

static void test_rotate_time_limit(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .rotate_seconds = 10, .max_files = 2,
				      .utc = true };
	struct pcap_writer *w;
	char tmpl[128], name[160], err[256] = "";
	struct sent s[4];

	path_in(tmpl, sizeof(tmpl), f->dir, "g-%H%M%S.pcap");
	o.path = tmpl;
	o.start_ns = ts_of(0);
	w = open_ok(&o);
	/* ts_of(i) advances ~1 ms per i: 10 s is i = 9998. */
	put_ok(w, 0, PL, PL);
	put_ok(w, 5000, PL, PL);
	put_ok(w, 10000, PL, PL);	/* second file */
	put_ok(w, 15000, PL, PL);
	assert_int_equal(put(w, 20000, PL, PL, err, sizeof(err)), PCAP_WRITER_LIMIT);
	assert_string_equal(err, "Maximum file limit reached: 2");
	err[0] = 0;
	assert_int_equal(put(w, 20001, PL, PL, err, sizeof(err)), PCAP_WRITER_LIMIT);
	assert_string_equal(err, "Maximum file limit reached: 2");
	assert_int_equal(pcap_writer_packets(w), 4);
	close_ok(w);

	s[0] = (struct sent){ 0, PL, PL };
	s[1] = (struct sent){ 5000, PL, PL };
	s[2] = (struct sent){ 10000, PL, PL };
	s[3] = (struct sent){ 15000, PL, PL };
	/* No number appended with -G alone, even with -W (tcpdump 4.99). */
	path_in(name, sizeof(name), f->dir, "g-030405.pcap");
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s, 2);
	path_in(name, sizeof(name), f->dir, "g-030415.pcap");
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 2, 2);
	path_in(name, sizeof(name), f->dir, "g-030425.pcap");
	assert_false(exists(name));
}

static void test_rotate_time_and_size(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .rotate_seconds = 10, .rotate_bytes = RB,
				      .utc = true };
	struct pcap_writer *w;
	char tmpl[128], name[160];
	struct sent s[32];
	uint32_t k, n = 0;

	path_in(tmpl, sizeof(tmpl), f->dir, "gc-%H%M%S-");
	o.path = tmpl;
	o.start_ns = ts_of(0);
	w = open_ok(&o);
	/* 20 packets in the first period (3 files by size), then 5 in the
	 * next. */
	for (k = 0; k < 20; k++, n++) {
		s[n] = (struct sent){ k, PL, PL };
		put_ok(w, k, PL, PL);
	}
	for (k = 10000; k < 10005; k++, n++) {
		s[n] = (struct sent){ k, PL, PL };
		put_ok(w, k, PL, PL);
	}
	close_ok(w);
	path_in(name, sizeof(name), f->dir, "gc-030405-");
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s, 8);
	path_in(name, sizeof(name), f->dir, "gc-030405-1");
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 8, 8);
	path_in(name, sizeof(name), f->dir, "gc-030405-2");
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 16, 4);
	/* A new period restarts the count, without a number. */
	path_in(name, sizeof(name), f->dir, "gc-030415-");
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 20, 5);

	/* With -W 2 as well: ring numbers inside each period, no stop. */
	path_in(tmpl, sizeof(tmpl), f->dir, "gcw-%H%M%S-");
	o.max_files = 2;
	w = open_ok(&o);
	for (k = 0; k < 20; k++)
		put_ok(w, k, PL, PL);
	for (k = 10000; k < 10005; k++)
		put_ok(w, k, PL, PL);
	for (k = 20000; k < 20001; k++)
		put_ok(w, k, PL, PL);
	close_ok(w);
	path_in(name, sizeof(name), f->dir, "gcw-030405-0");
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 16, 4);
	path_in(name, sizeof(name), f->dir, "gcw-030405-1");
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 8, 8);
	path_in(name, sizeof(name), f->dir, "gcw-030415-0");
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s + 20, 5);
	path_in(name, sizeof(name), f->dir, "gcw-030425-0");
	s[0] = (struct sent){ 20000, PL, PL };
	expect_file(name, PCAP_WRITER_DEFAULT_SNAPLEN, s, 1);
	path_in(name, sizeof(name), f->dir, "gcw-030405-2");
	assert_false(exists(name));
}

static void test_stdout(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .path = "-", .flush_each = true };
	struct pcap_writer *w;
	struct sent s[10];
	char path[128], err[256];
	int fd, saved;
	uint32_t k;

	path_in(path, sizeof(path), f->dir, "stdout.pcap");
	fflush(stdout);
	saved = dup(1);
	assert_true(saved >= 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 1), 1);
	close(fd);

	w = pcap_writer_open(&o, err, sizeof(err));
	if (w) {
		assert_string_equal(pcap_writer_filename(w), "-");
		for (k = 0; k < 10; k++) {
			s[k] = (struct sent){ k, 200 * k, 200 * k + 4 };
			if (put(w, k, 200 * k, 200 * k + 4, err, sizeof(err)) != 0)
				break;
		}
		if (pcap_writer_close(w, err, sizeof(err)) != 0)
			k = 0;
	}
	/* stdout is left open: restore it before asserting anything. */
	fflush(stdout);
	assert_int_equal(dup2(saved, 1), 1);
	close(saved);
	if (!w)
		fail_msg("open stdout: %s", err);
	assert_int_equal(k, 10);
	expect_file(path, PCAP_WRITER_DEFAULT_SNAPLEN, s, 10);

	/* Rotation needs file names. */
	o.rotate_bytes = 1000000;
	assert_null(pcap_writer_open(&o, err, sizeof(err)));
	assert_string_equal(err, "standard output cannot be rotated (-C/-G need a file name)");
}

static void test_unwritable(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { 0 };
	char path[256], want[300], err[2048];
	struct stat st;

	o.path = "/nonexistent-catrace-dir/trace.pcap";
	assert_null(pcap_writer_open(&o, err, sizeof(err)));
	assert_string_equal(err, "/nonexistent-catrace-dir/trace.pcap: No such file or directory");

	o.path = f->dir;
	assert_null(pcap_writer_open(&o, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: Is a directory", f->dir);
	assert_string_equal(err, want);

	o.path = "";
	assert_null(pcap_writer_open(&o, err, sizeof(err)));
	assert_string_equal(err, "an empty string is not a valid file name");

	/* A -G template that expands past PATH_MAX. */
	memset(path, 'x', sizeof(path));
	path[0] = '/';
	strcpy(path + 200, "%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c");
	{
		/* 240 + 20 * 20 * 2 = 1040 characters, expanding to about
		 * 240 + 420 * 24 > PATH_MAX. */
		char big[1100];
		int i;

		snprintf(big, sizeof(big), "%s", path);
		for (i = 0; i < 19; i++)
			strcat(big, "%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c");
		o.path = big;
		o.rotate_seconds = 60;
		assert_null(pcap_writer_open(&o, err, sizeof(err)));
		snprintf(want, sizeof(want), "%.40s", big);
		assert_memory_equal(err, want, 40);
		assert_non_null(strstr(err, ": file name too long once expanded"));
	}
	o.rotate_seconds = 0;

	/* A full device at open: the header cannot be written. */
	if (stat("/dev/full", &st) == 0) {
		o.path = "/dev/full";
		assert_null(pcap_writer_open(&o, err, sizeof(err)));
		assert_string_equal(err, "/dev/full: No space left on device");
		/* Not a regular file: left alone. */
		assert_int_equal(stat("/dev/full", &st), 0);
		assert_true(S_ISCHR(st.st_mode));

		/* And on a packet, with -U. */
		o.path = "-";
		o.flush_each = true;
		{
			int fd = open("/dev/full", O_WRONLY), saved;
			struct pcap_writer *w;

			assert_true(fd >= 0);
			fflush(stdout);
			saved = dup(1);
			dup2(fd, 1);
			close(fd);
			w = pcap_writer_open(&o, err, sizeof(err));
			/* stdout keeps its error flag: clear it for cmocka. */
			clearerr(stdout);
			dup2(saved, 1);
			close(saved);
			assert_null(w);
			assert_string_equal(err, "standard output: No space left on device");
		}
	}
}

/* Mount a tmpfs of `size` in the fixture; false (with a SKIP line) where
 * that is not possible.  The caller then returns: cmocka's own skip() shows
 * as "not ok ... # SKIP" in TAP, which tests/run.sh would count as a
 * failure, while a SKIP: line is counted as a skip. */
static bool mount_tmpfs(struct fx *f, const char *size)
{
	char cmd[256];

	snprintf(f->mnt, sizeof(f->mnt), "%s/mnt", f->dir);
	if (mkdir(f->mnt, 0755) < 0)
		return false;
	snprintf(cmd, sizeof(cmd),
		 "mount -t tmpfs -o size=%s tmpfs '%s' 2>/dev/null", size, f->mnt);
	if (system(cmd) != 0) {
		printf("SKIP: full-disk test: cannot mount a tmpfs (needs root)\n");
		return false;
	}
	f->mounted = true;
	return true;
}

#define FULL_PL 1000

static void fill_disk(struct fx *f, bool flush_each)
{
	struct pcap_writer_opts o = { .flush_each = flush_each };
	struct pcap_writer *w;
	char path[160], want[256], err[512] = "";
	uint32_t k, next = 0;
	int rc = 0;

	path_in(path, sizeof(path), f->mnt, flush_each ? "u.pcap" : "b.pcap");
	o.path = path;
	w = open_ok(&o);
	for (k = 0; k < 100000; k++) {
		rc = put(w, k, FULL_PL, FULL_PL, err, sizeof(err));
		if (rc)
			break;
	}
	assert_int_equal(rc, -1);
	snprintf(want, sizeof(want), "%s: No space left on device", path);
	assert_string_equal(err, want);
	/* The writer stays failed. */
	err[0] = 0;
	assert_int_equal(put(w, k + 1, FULL_PL, FULL_PL, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_int_equal(pcap_writer_flush(w, err, sizeof(err)), -1);

	/* The file holds complete records only, exactly as many as counted,
	 * and is a clean pcap for libpcap and capinfos. */
	assert_int_equal(expect_sequence(path, &next, FULL_PL),
			 pcap_writer_packets(w));
	assert_true(next > 0);
	if (flush_each)
		assert_int_equal(next, k);	/* only the failing one lost */
	else
		assert_true(k - next <= 64 * 1024 / (16 + FULL_PL) + 1);
	/* Already reported: close is quiet. */
	assert_int_equal(pcap_writer_close(w, err, sizeof(err)), 0);
	assert_int_equal(unlink(path), 0);
}

static void test_disk_full(void **state)
{
	struct fx *f = *state;

	if (!mount_tmpfs(f, "256k"))
		return;
	fill_disk(f, false);
	fill_disk(f, true);
}

static void test_disk_full_rotating(void **state)
{
	struct fx *f = *state;
	struct pcap_writer_opts o = { .rotate_bytes = 50000 };
	struct pcap_writer *w;
	char base[160], name[200], err[512] = "";
	uint32_t k, next = 0, files = 0;
	int rc = 0;

	if (!mount_tmpfs(f, "256k"))
		return;
	path_in(base, sizeof(base), f->mnt, "rot.pcap");
	o.path = base;
	w = open_ok(&o);
	for (k = 0; k < 100000; k++) {
		rc = put(w, k, FULL_PL, FULL_PL, err, sizeof(err));
		if (rc)
			break;
	}
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, ": No space left on device"));
	assert_non_null(strstr(err, base));
	/* Every file left is a clean pcap, together holding packets 0..n-1
	 * in order, n being what the writer counted. */
	for (k = 0; k < 100; k++) {
		if (k == 0)
			snprintf(name, sizeof(name), "%s", base);
		else
			snprintf(name, sizeof(name), "%s%u", base, k);
		if (!exists(name))
			break;
		expect_sequence(name, &next, FULL_PL);
		files++;
	}
	assert_true(files >= 2);
	assert_int_equal(next, pcap_writer_packets(w));
	assert_int_equal(pcap_writer_close(w, err, sizeof(err)), 0);
}

/* ---- pcapng ----------------------------------------------------------------- */

/* Walk a pcapng file's blocks: it starts with a Section Header, then
 * n_if interface blocks (with the names given), then packet blocks, each
 * on interface (i % n_if) with the comment "msg i" when i is even.
 * Returns the packets, and checks the file ends with a whole block. */
static uint32_t expect_ng_blocks(const char *path, uint32_t n_if, const char *const *names,
				 uint32_t first)
{
	static char buf[1 << 20];
	uint32_t off = 0, ifs = 0, pkts = 0;
	size_t len;
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	while (off < len) {
		uint32_t type, blen, i;

		assert_true(off + 12 <= len);
		memcpy(&type, buf + off, 4);
		memcpy(&blen, buf + off + 4, 4);
		assert_true(off + blen <= len);
		if (off == 0)
			assert_int_equal(type, 0x0A0D0D0A);
		else
			assert_int_not_equal(type, 0x0A0D0D0A);
		if (type == 1) {
			assert_int_equal(pkts, 0);
			assert_true(ifs < n_if);
			/* if_name is the first option. */
			assert_memory_equal(buf + off + 20, names[ifs], strlen(names[ifs]));
			ifs++;
		} else if (type == 6) {
			char want[32];
			uint32_t id, cap;

			i = first + pkts;
			memcpy(&id, buf + off + 8, 4);
			memcpy(&cap, buf + off + 20, 4);
			assert_int_equal(ifs, n_if);
			assert_int_equal(id, i % n_if);
			snprintf(want, sizeof(want), "msg %u", i);
			if (i % 2 == 0) {
				uint32_t at = off + 28 + ((cap + 3) & ~3u);
				uint16_t code, clen;

				memcpy(&code, buf + at, 2);
				memcpy(&clen, buf + at + 2, 2);
				assert_int_equal(code, 1);
				assert_int_equal(clen, strlen(want));
				assert_memory_equal(buf + at + 4, want, clen);
			} else {
				assert_int_equal(blen, 32 + ((cap + 3) & ~3u));
			}
			pkts++;
		}
		off += blen;
	}
	assert_int_equal(off, len);
	capinfos_accepts(path);
	return pkts;
}

static void test_pcapng_rotating(void **state)
{
	static const char *const names[] = { "eth0", "veth-ca1" };
	const struct pcap_writer_iface ifs[] = {
		{ names[0], "catrace: CA on eth0" }, { names[1], "catrace: CA on veth-ca1" },
	};
	struct fx *f = *state;
	struct pcap_writer_opts o = { .rotate_bytes = 4000, .pcapng = true,
				      .ifaces = ifs, .n_ifaces = 2 };
	struct pcap_writer *w;
	char base[128], name[160], err[256];
	uint32_t k, got = 0, nfile;

	path_in(base, sizeof(base), f->dir, "n.pcapng");
	o.path = base;
	w = open_ok(&o);
	for (k = 0; k < 20; k++) {
		char c[32];

		snprintf(c, sizeof(c), "msg %u", k);
		if (pcap_writer_write_note(w, k % 2, ts_of(k), bytes_of(k, 700), 700, 700,
					   k % 2 ? NULL : c, err, sizeof(err)))
			fail_msg("write %u: %s", k, err);
	}
	close_ok(w);
	for (nfile = 0; got < 20; nfile++) {
		pcap_t *p;
		char ebuf[PCAP_ERRBUF_SIZE];
		struct pcap_pkthdr *h;
		const u_char *d;
		uint32_t n, j;

		if (nfile)
			snprintf(name, sizeof(name), "%s%u", base, nfile);
		else
			snprintf(name, sizeof(name), "%s", base);
		assert_true(file_size(name) <= 4000);
		n = expect_ng_blocks(name, 2, names, got);
		assert_true(n > 0);
		/* And libpcap reads the same packets, at ns precision. */
		p = pcap_open_offline_with_tstamp_precision(name, PCAP_TSTAMP_PRECISION_NANO, ebuf);
		assert_non_null(p);
		for (j = 0; j < n; j++) {
			assert_int_equal(pcap_next_ex(p, &h, &d), 1);
			assert_int_equal((uint64_t)h->ts.tv_sec * NSEC + (uint64_t)h->ts.tv_usec,
					 ts_of(got + j));
			assert_memory_equal(d, bytes_of(got + j, 700), 700);
		}
		assert_int_equal(pcap_next_ex(p, &h, &d), PCAP_ERROR_BREAK);
		pcap_close(p);
		got += n;
	}
	assert_int_equal(got, 20);
	assert_true(nfile >= 4);
	assert_true(pcap_writer_name_is_pcapng("x.pcapng"));
	assert_false(pcap_writer_name_is_pcapng("x.pcap"));
	assert_false(pcap_writer_name_is_pcapng("pcapng"));
}

/* A full disk under pcapng: cut back to whole blocks, as for pcap. */
static void test_disk_full_pcapng(void **state)
{
	static const char *const names[] = { "eth0" };
	const struct pcap_writer_iface ifs[] = { { names[0], "catrace: CA on eth0" } };
	struct fx *f = *state;
	struct pcap_writer_opts o = { .pcapng = true, .ifaces = ifs, .n_ifaces = 1 };
	struct pcap_writer *w;
	char path[160], err[512] = "";
	uint32_t k;
	int rc = 0;

	if (!mount_tmpfs(f, "256k"))
		return;
	path_in(path, sizeof(path), f->mnt, "full.pcapng");
	o.path = path;
	w = open_ok(&o);
	for (k = 0; k < 100000 && !rc; k++) {
		char c[32];

		snprintf(c, sizeof(c), "msg %u", k);
		rc = pcap_writer_write_note(w, 0, ts_of(k), bytes_of(k, FULL_PL), FULL_PL,
					    FULL_PL, k % 2 ? NULL : c, err, sizeof(err));
	}
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "No space left on device"));
	assert_int_equal(expect_ng_blocks(path, 1, names, 0), pcap_writer_packets(w));
	assert_true(pcap_writer_packets(w) > 0);
	assert_int_equal(pcap_writer_close(w, err, sizeof(err)), 0);
	assert_int_equal(unlink(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snaplen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_size_big_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_time_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_time_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_time_and_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_rotating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcapng_rotating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_pcapng, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
