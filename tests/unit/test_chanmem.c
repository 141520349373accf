/* The channel table kept across runs (chanmem): what one run saves the
 * next names with (the messages that find a channel by sid or by
 * subscription id get its name), odd names survive the file, circuits no
 * longer established on this host are left out, and a damaged or hostile
 * file is refused line by line, never trusted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chanmem.h"
#include "track.h"

/* A scratch directory per test: the file, and a fake /proc. */
struct scratch {
	char dir[64];
	char file[128];
	char proc[128];
};

static void scratch_make(struct scratch *s)
{
	char net[160];

	strcpy(s->dir, "/tmp/test_chanmem.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->file, sizeof(s->file), "%s/run/channels", s->dir);
	snprintf(s->proc, sizeof(s->proc), "%s/proc", s->dir);
	assert_int_equal(mkdir(s->proc, 0700), 0);
	snprintf(net, sizeof(net), "%s/net", s->proc);
	assert_int_equal(mkdir(net, 0700), 0);
}

static void scratch_remove(struct scratch *s)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* <proc>/net/tcp with the lines given (after the kernel's header). */
static void write_proc_tcp(const struct scratch *s, const char *lines)
{
	char path[200], text[4096];

	snprintf(path, sizeof(path), "%s/net/tcp", s->proc);
	snprintf(text, sizeof(text),
		 "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
		 "retrnsmt   uid  timeout inode\n%s", lines);
	write_file(path, text);
}

/* A message through the tracker: the name it gets (NULL: none). */
static char got[CA_MAX_NAME_LEN + 1];
static const char *name_of(struct track *t, const struct flow_key *k, enum ca_dir dir,
			   unsigned cmd, uint32_t p1, uint32_t p2)
{
	struct track_name n;
	struct ca_msg m;

	memset(&m, 0, sizeof(m));
	m.h.cmd = (uint16_t)cmd;
	m.h.dtype = 6;
	m.h.count = 1;
	m.h.p1 = p1;
	m.h.p2 = p2;
	m.h.hdr_len = CA_HDR_LEN;
	m.dir = dir;
	m.tcp = true;
	n = track_msg(t, k, &m);
	if (!n.name)
		return NULL;
	memcpy(got, n.name, n.len);
	got[n.len] = '\0';
	return got;
}

static const struct flow_key K1 = { 0x0AC90702, 0x0AC90701, 40001, 5064 };
static const struct flow_key K2 = { 0x0AC90702, 0x0AC90701, 40002, 5064 };
static const struct flow_key FAR = { 0x0A000002, 0x0A000001, 50000, 5064 };

static void import(struct track *t, const struct flow_key *k, uint32_t cid,
		   uint32_t sid, const char *name)
{
	struct track_saved_chan c = { .key = *k, .cid = cid, .sid = sid, .has_sid = true,
				      .name = name, .len = strlen(name) };

	assert_true(track_import_chan(t, &c));
}

/* Saved by one tracker, loaded by another: reads by sid and monitor
 * updates by subscription id are named; names with spaces, '%', bytes
 * above 0x7f come back byte for byte. */
static void test_round_trip_names_later_messages(void **state)
{
	static const char odd[] = "A B%C\x80\xff:x";
	struct track_saved_sub sub = { .key = K1, .subid = 77, .cid = 1 };
	struct chanmem_stats st;
	struct track a, b;
	struct scratch s;
	char err[256];

	(void)state;
	scratch_make(&s);
	write_proc_tcp(&s, "");  /* readable, and these hosts are not local */
	track_init(&a);
	import(&a, &K1, 1, 501, "T:calc");
	import(&a, &K1, 2, 502, odd);
	assert_true(track_import_sub(&a, &sub));
	assert_int_equal(chanmem_save(&a, s.file, err, sizeof(err)), 0);

	track_init(&b);
	assert_int_equal(chanmem_load(&b, s.file, s.proc, &st, err, sizeof(err)), 0);
	assert_int_equal(st.channels, 2);
	assert_int_equal(st.subs, 1);
	assert_int_equal(st.bad_lines + st.stale + st.refused, 0);
	/* An update of subscription 77 (EVENT_ADD response: p2 = subid). */
	assert_string_equal(name_of(&b, &K1, CA_DIR_RESPONSE, CA_PROTO_EVENT_ADD, 1, 77), "T:calc");
	/* A READ_NOTIFY request names its channel by sid (p1). */
	assert_string_equal(name_of(&b, &K1, CA_DIR_REQUEST, CA_PROTO_READ_NOTIFY, 502, 9), odd);
	/* Another circuit's ids are not these. */
	assert_null(name_of(&b, &K2, CA_DIR_RESPONSE, CA_PROTO_EVENT_ADD, 1, 77));
	track_free(&a);
	track_free(&b);
	scratch_remove(&s);
}

/* On this host (its addresses in the socket table), only circuits still
 * established are loaded; a circuit between two other hosts is kept. */
static void test_closed_circuits_left_out(void **state)
{
	struct chanmem_stats st;
	struct track a, b;
	struct scratch s;
	char err[256];

	(void)state;
	scratch_make(&s);
	/* The IOC 10.201.7.1:5064 (0x0107C90A raw, port 0x13C8) has K1's
	 * circuit established (st 01) and listens (st 0A); K2's is gone. */
	write_proc_tcp(&s,
		"   0: 0107C90A:13C8 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n"
		"   1: 0107C90A:13C8 0207C90A:9C41 01 00000000:00000000 00:00000000 00000000 0 0 2\n");
	track_init(&a);
	import(&a, &K1, 1, 501, "T:kept");
	import(&a, &K2, 1, 601, "T:closed");
	import(&a, &FAR, 1, 701, "T:far");
	assert_int_equal(chanmem_save(&a, s.file, err, sizeof(err)), 0);
	track_init(&b);
	assert_int_equal(chanmem_load(&b, s.file, s.proc, &st, err, sizeof(err)), 0);
	assert_int_equal(st.channels, 2);
	assert_int_equal(st.stale, 1);
	assert_string_equal(name_of(&b, &K1, CA_DIR_REQUEST, CA_PROTO_READ_NOTIFY, 501, 1), "T:kept");
	assert_null(name_of(&b, &K2, CA_DIR_REQUEST, CA_PROTO_READ_NOTIFY, 601, 1));
	assert_string_equal(name_of(&b, &FAR, CA_DIR_REQUEST, CA_PROTO_READ_NOTIFY, 701, 1), "T:far");
	track_free(&a);
	track_free(&b);
	scratch_remove(&s);
}

/* Every kind of bad line is counted and skipped; the good ones around
 * them still load. */
static void test_hostile_lines_skipped(void **state)
{
	char *text, *p, err[256];
	struct chanmem_stats st;
	struct track t;
	struct scratch s;
	size_t i;

	(void)state;
	scratch_make(&s);
	write_proc_tcp(&s, "");
	text = malloc(64 * 1024);
	assert_non_null(text);
	p = text + sprintf(text, "catrace-channels 1\n"
		"C 10.0.0.2:50000 10.0.0.1:5064 1 701 = T:good\n"
		"C 10.0.0.2:50000 10.0.0.1:5064 2 702 =\n"              /* no name */
		"C 10.0.0.2:50000 10.0.0.1:5064 3 703 = a b\n"          /* a field too many */
		"C 10.0.0.2:0 10.0.0.1:5064 4 704 = T:port0\n"
		"C 10.0.0.256:1 10.0.0.1:5064 5 705 = T:badip\n"
		"C 10.0.0.2:50000 10.0.0.1:5064 4294967296 706 = T:big\n"
		"C 10.0.0.2:50000 10.0.0.1:5064 -1 707 = T:neg\n"
		"C 10.0.0.2:50000 10.0.0.1:5064 8 708 = T:%%ZZ\n"
		"C 10.0.0.2:50000 10.0.0.1:5064 9 709 = T:%%00nul\n"
		"C 10.0.0.2:50000 10.0.0.1:5064 10 710 + T:noeq\n"
		"S 10.0.0.2:50000 10.0.0.1:5064 5\n"
		"X what\n"
		"\n"
		"C 10.0.0.2:50000 10.0.0.1:5064 11 711 = ");
	/* A name longer than CA allows, then a line longer than any written. */
	for (i = 0; i < CA_MAX_NAME_LEN + 1; i++)
		*p++ = 'n';
	*p++ = '\n';
	p += sprintf(p, "C 10.0.0.2:50000 10.0.0.1:5064 12 712 = ");
	for (i = 0; i < 3 * CHANMEM_LINE_MAX; i++)
		*p++ = 'm';
	p += sprintf(p, "\nS 10.0.0.2:50000 10.0.0.1:5064 5 1\n");
	*p = '\0';
	{
		char dir[160];

		snprintf(dir, sizeof(dir), "%s/run", s.dir);
		assert_int_equal(mkdir(dir, 0700), 0);
	}
	write_file(s.file, text);
	track_init(&t);
	assert_int_equal(chanmem_load(&t, s.file, s.proc, &st, err, sizeof(err)), 0);
	assert_int_equal(st.channels, 1);
	assert_int_equal(st.subs, 1);
	assert_int_equal(st.bad_lines, 14);
	assert_string_equal(name_of(&t, &FAR, CA_DIR_RESPONSE, CA_PROTO_EVENT_ADD, 1, 5), "T:good");
	track_free(&t);
	free(text);
	scratch_remove(&s);
}

/* A missing file is -ENOENT (nothing to load); a file of another kind is
 * refused whole; a path that cannot be written is an error, said. */
static void test_missing_foreign_unwritable(void **state)
{
	struct chanmem_stats st;
	struct track t;
	struct scratch s;
	char err[256], path[200];

	(void)state;
	scratch_make(&s);
	track_init(&t);
	assert_int_equal(chanmem_load(&t, s.file, s.proc, &st, err, sizeof(err)), -ENOENT);
	snprintf(path, sizeof(path), "%s/foreign", s.dir);
	write_file(path, "C 10.0.0.2:50000 10.0.0.1:5064 1 701 = T:good\n");
	assert_int_equal(chanmem_load(&t, path, s.proc, &st, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a catrace channel file"));
	assert_true(chanmem_save(&t, "/proc/catrace-no/such", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/proc/catrace-no/such"));
	track_free(&t);
	scratch_remove(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_names_later_messages),
		cmocka_unit_test(test_closed_circuits_left_out),
		cmocka_unit_test(test_hostile_lines_skipped),
		cmocka_unit_test(test_missing_foreign_unwritable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
