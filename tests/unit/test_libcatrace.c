/* libcatrace's API (include/catrace.h), through the shared library as a
 * user links it: every capture decoded through the library must equal
 * `catrace -r FILE --json`, message for message (the program is run, its
 * output is the reference); the filters likewise; the error paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catrace.h"

static const char *catrace_bin(void)
{
	const char *c = getenv("CATRACE");

	return c && *c ? c : ".output/catrace";
}

static const char *captures_dir(void)
{
	const char *c = getenv("CAPTURES");

	return c && *c ? c : "tests/captures";
}

/* The program's JSON lines for a capture (extra options as given). */
struct lines {
	char **l;
	size_t n, cap;
};

static void lines_free(struct lines *ls)
{
	while (ls->n)
		free(ls->l[--ls->n]);
	free(ls->l);
	memset(ls, 0, sizeof(*ls));
}

static void reference(struct lines *ls, const char *path, const char *extra)
{
	char cmd[2048], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *p;

	memset(ls, 0, sizeof(*ls));
	snprintf(cmd, sizeof(cmd), "'%s' -q -r '%s' --json %s 2>/dev/null", catrace_bin(), path,
		 extra);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = getline(&line, &cap, p)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (ls->n == ls->cap) {
			ls->cap = ls->cap ? ls->cap * 2 : 256;
			ls->l = realloc(ls->l, ls->cap * sizeof(*ls->l));
			assert_non_null(ls->l);
		}
		ls->l[ls->n++] = strdup(line);
	}
	free(line);
	assert_int_equal(pclose(p), 0);
}

/* The structured fields say what the JSON says. */
static void check_fields(const struct catrace_msg *m)
{
	char want[128];

	snprintf(want, sizeof(want), "\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u",
		 m->src, m->sport, m->dst, m->dport);
	if (!strstr(m->json, want))
		fail_msg("%s not in %s", want, m->json);
	snprintf(want, sizeof(want), "\"cmd\":%u,\"command\":\"%s\",\"dir\":\"%s\"", m->cmd,
		 m->command, m->dir == CATRACE_DIR_REQUEST ? "request" : "response");
	if (!strstr(m->json, want))
		fail_msg("%s not in %s", want, m->json);
	assert_true(m->raw_len >= m->hdr_len);
	/* The header bytes re-encode the fields. */
	assert_int_equal((m->raw[0] << 8) | m->raw[1], m->cmd);
	assert_int_equal((m->raw[4] << 8) | m->raw[5], m->dtype);
	assert_int_equal(strlen(m->json), m->json_len);
}

/* Decode through the library with the setters `setup` applies; compare
 * with the program run with `extra`.  Returns messages compared. */
static size_t compare(const char *path, const char *extra, void (*setup)(catrace_t *))
{
	char err[CATRACE_ERRBUF_SIZE];
	const struct catrace_msg *m;
	struct lines ref;
	catrace_t *h;
	size_t i = 0;
	int r;

	reference(&ref, path, extra);
	h = catrace_open_offline(path, err);
	if (!h)
		fail_msg("%s: %s", path, err);
	if (setup)
		setup(h);
	while ((r = catrace_next(h, &m)) == 1) {
		if (i >= ref.n)
			fail_msg("%s %s: the library gives more than the %zu messages catrace prints",
				 path, extra, ref.n);
		if (strcmp(m->json, ref.l[i]))
			fail_msg("%s %s: message %zu differs:\n lib: %s\n cli: %s", path, extra,
				 i + 1, m->json, ref.l[i]);
		check_fields(m);
		i++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(i, ref.n);
	catrace_free(h);
	lines_free(&ref);
	return i;
}

static bool is_capture(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && !strcmp(name + n - 5, ".pcap")) ||
	       (n > 7 && !strcmp(name + n - 7, ".pcapng"));
}

/* Every capture in dir (missing: none); counts into *files, *msgs. */
static void compare_dir(const char *dir_path, size_t *files, size_t *msgs)
{
	struct dirent *d;
	char path[2048];
	DIR *dir = opendir(dir_path);

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (!is_capture(d->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, d->d_name);
		*msgs += compare(path, "", NULL);
		(*files)++;
	}
	closedir(dir);
}

/* The project's captures, and the shared reference ones (with their
 * external pcapng files) when tests/run.sh found them beside the tree. */
static void test_every_capture(void **state)
{
	const char *shared = getenv("SHARED_CAPTURES");
	size_t files = 0, msgs = 0, own;
	char ext[1024];

	(void)state;
	compare_dir(captures_dir(), &files, &msgs);
	own = files;
	assert_true(own > 0);
	if (shared && *shared) {
		compare_dir(shared, &files, &msgs);
		snprintf(ext, sizeof(ext), "%s/external", shared);
		compare_dir(ext, &files, &msgs);
	}
	print_message("%zu captures (%zu shared), %zu messages equal to catrace --json\n", files,
		      files - own, msgs);
	assert_true(msgs > 0);
}

static char cap_path[1024];

static const char *capture(const char *name)
{
	snprintf(cap_path, sizeof(cap_path), "%s/%s", captures_dir(), name);
	return cap_path;
}

static void pv_and_cmd(catrace_t *h)
{
	assert_int_equal(catrace_set_pv(h, "*:ai"), CATRACE_OK);
	assert_int_equal(catrace_set_pv(h, "T:long*"), CATRACE_OK);
	assert_int_equal(catrace_set_cmd(h, "ReadNotify,EventAdd"), CATRACE_OK);
}

static void udp_only(catrace_t *h)
{
	assert_int_equal(catrace_set_filter(h, "udp"), CATRACE_OK);
}

static void all_elements(catrace_t *h)
{
	assert_int_equal(catrace_set_max_elements(h, 0), CATRACE_OK);
}

static void port_5070(catrace_t *h)
{
	assert_int_equal(catrace_add_port(h, 5070), CATRACE_OK);
	assert_int_equal(catrace_add_port(h, 0), CATRACE_ERROR);
}

static void test_ports(void **state)
{
	(void)state;
	assert_true(compare(capture("s16_server_port.pcap"), "--port 5070", port_5070) > 0);
	/* The environment names the server's port for both (popen passes
	 * it on): the same messages as with --port, whatever they are. */
	setenv("EPICS_CA_SERVER_PORT", "5070", 1);
	assert_true(compare(capture("s16_server_port.pcap"), "", NULL) > 0);
	unsetenv("EPICS_CA_SERVER_PORT");
}

static void test_filters(void **state)
{
	(void)state;
	assert_true(compare(capture("s01_caget_types.pcap"),
			    "--pv '*:ai' --pv 'T:long*' --cmd ReadNotify,EventAdd", pv_and_cmd) > 0);
	assert_true(compare(capture("s04_camonitor.pcap"), "udp", udp_only) > 0);
	assert_true(compare(capture("s15_large_and_errors.pcap"), "--max-elements 0",
			    all_elements) > 0);
}

static void count_msg(void *user, const struct catrace_msg *m)
{
	(void)m;
	(*(int *)user)++;
}

static void test_loop_count(void **state)
{
	char err[CATRACE_ERRBUF_SIZE];
	catrace_t *h = catrace_open_offline(capture("s04_camonitor.pcap"), err);
	int seen = 0, r;

	(void)state;
	assert_non_null(h);
	assert_int_equal(catrace_loop(h, 7, count_msg, &seen), 7);
	assert_int_equal(seen, 7);
	/* The rest, then the end. */
	r = catrace_loop(h, -1, count_msg, &seen);
	assert_true(r > 0);
	assert_int_equal(seen, 7 + r);
	assert_int_equal(catrace_loop(h, 5, count_msg, &seen), 0);
	catrace_free(h);
}

struct breaker {
	catrace_t *h;
	int seen;
};

static void break_at_3(void *user, const struct catrace_msg *m)
{
	struct breaker *b = user;

	(void)m;
	if (++b->seen == 3)
		catrace_breakloop(b->h);
}

static void test_breakloop(void **state)
{
	char err[CATRACE_ERRBUF_SIZE];
	struct breaker b = { catrace_open_offline(capture("s04_camonitor.pcap"), err), 0 };
	const struct catrace_msg *m;

	(void)state;
	assert_non_null(b.h);
	assert_int_equal(catrace_loop(b.h, -1, break_at_3, &b), CATRACE_BREAK);
	assert_int_equal(b.seen, 3);
	/* The handle goes on from there: the fourth message. */
	assert_int_equal(catrace_next(b.h, &m), 1);
	assert_non_null(strstr(m->json, "\"frame\":"));
	catrace_free(b.h);
}

static void test_stream(void **state)
{
	char err[CATRACE_ERRBUF_SIZE];
	const struct catrace_msg *m;
	FILE *fp = fopen(capture("s03_caput.pcap"), "rb");
	struct lines ref;
	catrace_t *h;
	size_t i = 0;

	(void)state;
	assert_non_null(fp);
	reference(&ref, capture("s03_caput.pcap"), "");
	h = catrace_fopen_offline(fp, err);
	assert_non_null(h);
	while (catrace_next(h, &m) == 1) {
		assert_true(i < ref.n);
		assert_string_equal(m->json, ref.l[i]);
		i++;
	}
	assert_int_equal(i, ref.n);
	catrace_free(h);
	lines_free(&ref);
}

/* The packed form (for bindings) says what catrace_next says. */
static void test_packed(void **state)
{
	char err[CATRACE_ERRBUF_SIZE], *pv;
	const struct catrace_packed *hd;
	const struct catrace_msg *m;
	const char *path = capture("s04_camonitor.pcap");
	catrace_t *a = catrace_open_offline(path, err), *b = catrace_open_offline(path, err);
	const uint8_t *data;
	const void *d;
	size_t len, total = 0;
	int n, i, batches = 0;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	while ((n = catrace_next_packed(a, &hd, &d, &len, 7)) > 0) {
		assert_true(n <= 7);
		data = d;
		batches++;
		for (i = 0; i < n; i++, total++) {
			const struct catrace_packed *p = &hd[i];
			const uint8_t *j = data + p->data_off;

			assert_int_equal(catrace_next(b, &m), 1);
			assert_true(p->data_off + p->json_len + p->raw_len < len + 1);
			assert_int_equal(p->json_len, m->json_len);
			assert_memory_equal(j, m->json, m->json_len);
			assert_int_equal(p->raw_len, m->raw_len);
			assert_memory_equal(j + p->json_len, m->raw, m->raw_len);
			assert_int_equal(p->ts_ns, m->ts_ns);
			assert_int_equal(p->sport, m->sport);
			assert_int_equal(p->cmd, m->cmd);
			pv = (char *)j + p->json_len + p->raw_len;
			if (m->pv) {
				assert_int_equal(p->pv_len, strlen(m->pv));
				assert_memory_equal(pv, m->pv, p->pv_len);
				pv += p->pv_len;
			} else {
				assert_int_equal(p->pv_len, CATRACE_PACKED_NO_PV);
			}
			assert_int_equal(p->command_len, strlen(m->command));
			assert_memory_equal(pv, m->command, p->command_len);
		}
	}
	assert_int_equal(n, 0);
	assert_int_equal(catrace_next(b, &m), 0);
	assert_true(total > 7 && batches > 1);
	catrace_free(a);
	catrace_free(b);
}

static void test_missing_file(void **state)
{
	char err[CATRACE_ERRBUF_SIZE] = "";

	(void)state;
	assert_null(catrace_open_offline("/nonexistent/x.pcap", err));
	assert_non_null(strstr(err, "/nonexistent/x.pcap"));
	assert_non_null(strstr(err, "No such file"));
}

static void test_not_a_capture(void **state)
{
	char err[CATRACE_ERRBUF_SIZE] = "";

	(void)state;
	assert_null(catrace_open_offline("include/catrace.h", err));
	assert_true(strlen(err) > strlen("include/catrace.h: "));
}

static void test_bad_settings(void **state)
{
	char err[CATRACE_ERRBUF_SIZE];
	const struct catrace_msg *m;
	catrace_t *h = catrace_open_offline(capture("s01_caget_types.pcap"), err);

	(void)state;
	assert_non_null(h);
	assert_int_equal(catrace_set_filter(h, "port port"), CATRACE_ERROR);
	assert_non_null(strstr(catrace_geterr(h), "port port"));
	assert_int_equal(catrace_set_cmd(h, "ReadNotify,NoSuchThing"), CATRACE_ERROR);
	assert_non_null(strstr(catrace_geterr(h), "NoSuchThing"));
	assert_int_equal(catrace_set_pv(h, ""), CATRACE_ERROR);
	assert_int_equal(catrace_next(h, &m), 1);
	/* Filters after the first message would make a half-filtered run. */
	assert_int_equal(catrace_set_pv(h, "X"), CATRACE_ERROR);
	catrace_free(h);
}

static void test_closed_handle(void **state)
{
	char err[CATRACE_ERRBUF_SIZE];
	const struct catrace_msg *m = NULL;
	catrace_t *h = catrace_open_offline(capture("s01_caget_types.pcap"), err);
	uint64_t packets = 1;
	int seen = 0;

	(void)state;
	assert_non_null(h);
	assert_int_equal(catrace_next(h, &m), 1);
	catrace_close(h);
	catrace_close(h);
	assert_int_equal(catrace_next(h, &m), CATRACE_ERROR_CLOSED);
	assert_non_null(strstr(catrace_geterr(h), "closed"));
	assert_int_equal(catrace_loop(h, 3, count_msg, &seen), CATRACE_ERROR_CLOSED);
	assert_int_equal(seen, 0);
	assert_int_equal(catrace_set_pv(h, "X"), CATRACE_ERROR_CLOSED);
	catrace_stats(h, &packets, NULL, NULL);
	assert_int_equal(packets, 0);
	catrace_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_capture),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_loop_count),
		cmocka_unit_test(test_breakloop),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_packed),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_not_a_capture),
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_closed_handle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
