/* Shared by the libFuzzer harnesses: a pipeline set up from two
 * configuration bytes, a hook that formats every message a second time in
 * the other style (so text and JSON both run on every message), and a few
 * cheap invariant checks ("oracles") on what comes out.
 *
 * Each input gets a freshly initialised pipeline that is fully freed at the
 * end, so LeakSanitizer sees every allocation of one input.
 *
 * Oracles (abort() with a message, so libFuzzer keeps the input):
 *   - a decoded message never has payload_len > h.size (ca_decode.h);
 *   - a formatted line (text, JSON or --format template) is printable
 *     ASCII only (0x20..0x7e): one line per message, whatever the bytes on
 *     the wire, and no terminal escapes;
 *   - a JSON line is one valid JSON object (RFC 8259: strict numbers,
 *     escapes and UTF-8, no duplicate keys), as `catrace --json | jq`
 *     needs.
 * Set FUZZ_NO_ORACLES=1 in the environment to turn them off (memory
 * safety, leaks, UB and hangs are still caught). */
#ifndef CATRACE_FUZZ_COMMON_H
#define CATRACE_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "pipeline.h"
#include "sbuf.h"

struct fuzz_ctx {
	struct pipeline pl;
	struct output alt;          /* the other style, formatted by the hook */
	struct sbuf alt_line;
	struct output fields;       /* --json=fields --all-layers, by the hook */
	bool do_fields;             /* ... for this input */
	uint64_t checked_printed;   /* pl.st.printed when pl.line was last checked */
	int strict_payload;         /* check payload_len <= h.size */
};

static FILE *fuzz_devnull;
static int fuzz_oracles = 1;
/* FUZZ_SKIP_TEMPLATE_ORACLE=1: do not check lines printed with --format
 * (a known bug: {pv} is printed raw; see regressions/pipeline-template-pv-crlf). */
static int fuzz_skip_template_oracle;

static void fuzz_global_init(void)
{
	const char *e = getenv("FUZZ_NO_ORACLES");

	if (!fuzz_devnull) {
		fuzz_devnull = fopen("/dev/null", "w");
		if (!fuzz_devnull) {
			perror("fuzz: /dev/null");
			abort();
		}
	}
	if (e && *e && strcmp(e, "0"))
		fuzz_oracles = 0;
	e = getenv("FUZZ_SKIP_TEMPLATE_ORACLE");
	if (e && *e && strcmp(e, "0"))
		fuzz_skip_template_oracle = 1;
}

static void fuzz_fail(const char *what, const char *line, size_t len)
{
	size_t i;

	fprintf(stderr, "\n==FUZZ ORACLE== %s\nline (%zu bytes): ", what, len);
	for (i = 0; i < len && i < 400; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch >= 0x20 && ch < 0x7f)
			fputc(ch, stderr);
		else
			fprintf(stderr, "\\x%02x", ch);
	}
	fputc('\n', stderr);
	abort();
}

/* Not instrumented for coverage: the harness's own loops must not steer
 * the fuzzer. */
#if defined(__clang__) && __clang_major__ >= 13
#define FUZZ_NO_COV __attribute__((no_sanitize("coverage")))
#else
#define FUZZ_NO_COV
#endif

/* Every output line is printable ASCII: text output escapes everything
 * else (sbuf_put_pyquoted), JSON escapes control and non-ASCII bytes
 * (sbuf_put_jsonstr), templates escape names.  So no byte from the wire
 * can end a line early, forge another one or reach a terminal as an
 * escape sequence. */
static FUZZ_NO_COV void fuzz_check_line(const char *what, const char *s, size_t len)
{
	size_t i;

	if (!fuzz_oracles)
		return;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e)
			fuzz_fail(what, s, len);
	}
}

/* ---- a strict JSON checker (RFC 8259), for the --json lines ---------- */

struct jp {
	const unsigned char *p, *end;
	const char *err;
	int depth;
};

static FUZZ_NO_COV void jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static FUZZ_NO_COV int jp_fail(struct jp *j, const char *why)
{
	if (!j->err)
		j->err = why;
	return 0;
}

static FUZZ_NO_COV int jp_value(struct jp *j);

static FUZZ_NO_COV int jp_string(struct jp *j, const unsigned char **start, size_t *len)
{
	const unsigned char *s;

	if (j->p >= j->end || *j->p != '"')
		return jp_fail(j, "expected a string");
	s = ++j->p;
	while (j->p < j->end && *j->p != '"') {
		unsigned c = *j->p;

		if (c < 0x20)
			return jp_fail(j, "raw control character in a string");
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return jp_fail(j, "string ends in an escape");
			if (*j->p == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (j->p + i >= j->end || !strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
						return jp_fail(j, "bad \\u escape");
				j->p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *j->p) || !*j->p)
				return jp_fail(j, "bad escape");
			j->p++;
			continue;
		}
		if (c >= 0x80) {
			/* well-formed UTF-8 only */
			int n = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 && c < 0xe0 ? 1 : -1;
			int i;

			if (n < 0 || c > 0xf4)
				return jp_fail(j, "invalid UTF-8 in a string");
			for (i = 1; i <= n; i++)
				if (j->p + i >= j->end || (j->p[i] & 0xc0) != 0x80)
					return jp_fail(j, "invalid UTF-8 in a string");
			j->p += n + 1;
			continue;
		}
		j->p++;
	}
	if (j->p >= j->end)
		return jp_fail(j, "unterminated string");
	if (start) {
		*start = s;
		*len = (size_t)(j->p - s);
	}
	j->p++;
	return 1;
}

static FUZZ_NO_COV int jp_digits(struct jp *j)
{
	const unsigned char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static FUZZ_NO_COV int jp_number(struct jp *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!jp_digits(j))
		return jp_fail(j, "bad number");
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!jp_digits(j))
			return jp_fail(j, "bad number fraction");
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!jp_digits(j))
			return jp_fail(j, "bad number exponent");
	}
	return 1;
}

static FUZZ_NO_COV int jp_lit(struct jp *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return jp_fail(j, "bad literal");
	j->p += n;
	return 1;
}

#define JP_MAX_KEYS 128

static FUZZ_NO_COV int jp_object(struct jp *j)
{
	const unsigned char *keys[JP_MAX_KEYS];
	size_t lens[JP_MAX_KEYS], nk = 0, i;

	j->p++;
	jp_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 1;
	}
	for (;;) {
		const unsigned char *k;
		size_t kl;

		jp_ws(j);
		if (!jp_string(j, &k, &kl))
			return 0;
		for (i = 0; i < nk; i++)
			if (lens[i] == kl && !memcmp(keys[i], k, kl))
				return jp_fail(j, "duplicate key in an object");
		if (nk < JP_MAX_KEYS) {
			keys[nk] = k;
			lens[nk++] = kl;
		}
		jp_ws(j);
		if (j->p >= j->end || *j->p != ':')
			return jp_fail(j, "expected ':'");
		j->p++;
		if (!jp_value(j))
			return 0;
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return 1;
		}
		return jp_fail(j, "expected ',' or '}'");
	}
}

static FUZZ_NO_COV int jp_array(struct jp *j)
{
	j->p++;
	jp_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 1;
	}
	for (;;) {
		if (!jp_value(j))
			return 0;
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 1;
		}
		return jp_fail(j, "expected ',' or ']'");
	}
}

static FUZZ_NO_COV int jp_value(struct jp *j)
{
	int ok;

	jp_ws(j);
	if (j->p >= j->end)
		return jp_fail(j, "expected a value");
	if (++j->depth > 64)
		return jp_fail(j, "nesting too deep");
	switch (*j->p) {
	case '{': ok = jp_object(j); break;
	case '[': ok = jp_array(j); break;
	case '"': ok = jp_string(j, NULL, NULL); break;
	case 't': ok = jp_lit(j, "true"); break;
	case 'f': ok = jp_lit(j, "false"); break;
	case 'n': ok = jp_lit(j, "null"); break;
	default: ok = jp_number(j); break;
	}
	j->depth--;
	return ok;
}

/* One JSON object per line, nothing else. */
static FUZZ_NO_COV void fuzz_check_json(const char *s, size_t len)
{
	struct jp j = { (const unsigned char *)s, (const unsigned char *)s + len, NULL, 0 };
	char what[160];

	if (!fuzz_oracles)
		return;
	jp_ws(&j);
	if (j.p >= j.end || *j.p != '{')
		j.err = "line is not a JSON object";
	else if (jp_value(&j)) {
		jp_ws(&j);
		if (j.p != j.end)
			j.err = "text after the JSON object";
	}
	if (j.err) {
		snprintf(what, sizeof(what), "invalid JSON line: %s at byte %zu", j.err,
			 (size_t)((const char *)j.p - s));
		fuzz_fail(what, s, len);
	}
}

/* The line the pipeline itself formatted for the previous message, if it
 * printed one (pl.line holds it until the next message). */
static void fuzz_check_pipeline_line(struct fuzz_ctx *fc)
{
	if (fc->pl.st.printed == fc->checked_printed)
		return;
	fc->checked_printed = fc->pl.st.printed;
	if (fc->pl.out.tmpl && fuzz_skip_template_oracle)
		return;
	/* pipeline appended the '\n' that ends the line */
	if (fc->pl.line.len && fc->pl.out.tree) {
		/* -V -X: the line, then the tree's and the dump's lines. */
		const char *p = fc->pl.line.buf, *end = p + fc->pl.line.len, *nl;

		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				nl = end;
			fuzz_check_line("-V line has a byte outside printable ASCII", p,
					(size_t)(nl - p));
		}
	} else if (fc->pl.line.len) {
		fuzz_check_line("pipeline output line has a byte outside printable ASCII",
				fc->pl.line.buf, fc->pl.line.len - 1);
		if (fc->pl.out.style == OUT_JSON && !fc->pl.out.tmpl)
			fuzz_check_json(fc->pl.line.buf, fc->pl.line.len - 1);
	}
}

static void fuzz_hook(void *ctx, const struct flow_key *k, const struct msg_ctx *c,
		      const struct ca_msg *m)
{
	struct fuzz_ctx *fc = ctx;

	(void)k;
	fuzz_check_pipeline_line(fc);
	if (fuzz_oracles && fc->strict_payload && m->payload_len > m->h.size) {
		char buf[160];

		snprintf(buf, sizeof(buf), "cmd %u: payload_len %zu > h.size %u",
			 m->h.cmd, m->payload_len, m->h.size);
		fuzz_fail("message with payload_len > h.size", buf, strlen(buf));
	}
	if (m->payload_len && !m->payload) {
		fuzz_fail("message with payload_len but no payload", "", 0);
	}
	sbuf_reset(&fc->alt_line);
	output_format(&fc->alt, &fc->alt_line, c, m);
	fuzz_check_line(fc->alt.style == OUT_JSON ? "JSON line has a byte outside printable ASCII"
						  : "text line has a byte outside printable ASCII",
			sbuf_str(&fc->alt_line), fc->alt_line.len);
	if (fc->alt.style == OUT_JSON)
		fuzz_check_json(sbuf_str(&fc->alt_line), fc->alt_line.len);
	/* The messages' fields too: valid JSON, whatever the bytes.  For an
	 * eighth of the inputs (not the seeds, whose captures are big): a
	 * field list is ten times a line's bytes, and checking it on every
	 * input slows the fuzzer sixfold. */
	if (!fc->do_fields)
		return;
	sbuf_reset(&fc->alt_line);
	output_format(&fc->fields, &fc->alt_line, c, m);
	fuzz_check_line("--json=fields line has a byte outside printable ASCII",
			sbuf_str(&fc->alt_line), fc->alt_line.len);
	fuzz_check_json(sbuf_str(&fc->alt_line), fc->alt_line.len);
}

/* Everything --format accepts, plus an unknown token and a stray brace. */
static const char fuzz_template[] =
	"{timestamp} {src}:{sport}>{dst}:{dport} {proto} #{frame} {command}/{cmd} "
	"pv={pv} size={size}/{payload_size} dtype={dtype}/{data_type} "
	"count={count}/{data_count} p1={p1}/{parameter1} p2={p2}/{parameter2} "
	"value={value} alarm={status}/{severity} who={user}@{host} proc={proc} {x} {";

static const char *const fuzz_cmd_lists[4][3] = {
	{ "ReadNotify", "CREATE_CHAN", NULL },
	{ "Search", "1", "EventAdd" },
	{ "WriteNotify", "Write", "EventCancelResponse" },
	{ "UnknownCommand", "ObsoleteCommand", "Beacon" },
};

static const char *const fuzz_globs[4] = { "*", "*:*", "[A-Z]*", "?*a[!b]*" };

/* Two configuration bytes:
 *   c0 bits 0-1: pipeline style (0 text, with -V -X --all-layers when bit
 *                5 is set; 1 JSON, 2 --format template,
 *                3 --writes: the audit, in JSON when bit 5 is set)
 *      bits 2-4: time stamps (tcpdump -t..-ttttt; 5-7 wrap); 1 (-t) also
 *                have the hook format --json=fields --all-layers
 *      bit  5:   --nano
 *      bits 6-7: --max-elements 10 (default), 0 (no limit), 1, 1000
 *   c1 bit  0:   --no-detect
 *      bit  1:   --cmd filter (list chosen by bits 4-5)
 *      bit  2:   --pv filter (glob chosen by bits 6-7)
 *      bit  3:   --port 5066 and --port 1
 *   (c1 bits 4-7 only pick the filter lists.)
 * The hook formats every message again in JSON, or in text when the
 * pipeline prints JSON, and as --json=fields --all-layers. */
static void fuzz_setup(struct fuzz_ctx *fc, uint8_t c0, uint8_t c1)
{
	struct pipeline *pl = &fc->pl;
	static const size_t maxel[4] = { 10, 0, 1, 1000 };
	static const enum ts_format ts[8] = {
		TS_EPOCH, TS_NONE, TS_DELTA, TS_DATE, TS_SINCE_FIRST,
		TS_EPOCH, TS_DELTA, TS_DATE,
	};
	unsigned i;

	memset(fc, 0, sizeof(*fc));
	fc->strict_payload = 1;
	pipeline_init(pl, fuzz_devnull);
	output_init(&fc->alt);
	output_init(&fc->fields);
	fc->fields.style = OUT_JSON;
	fc->fields.json_fields = true;
	fc->fields.all_layers = true;
	fc->do_fields = ((c0 >> 2) & 7) == 1;
	sbuf_init(&fc->alt_line);

	switch (c0 & 3) {
	case 1:
		pl->out.style = OUT_JSON;
		break;
	case 2:
		pl->out.tmpl = fuzz_template;
		break;
	case 3:
		pl->writes = true;
		if ((c0 >> 5) & 1)
			pl->out.style = OUT_JSON;
		break;
	default:
		if ((c0 >> 5) & 1)
			pl->out.tree = pl->out.hexdump = pl->out.all_layers = true;
		break;
	}
	fc->alt.style = pl->out.style == OUT_JSON && !pl->out.tmpl ? OUT_TEXT : OUT_JSON;
	pl->out.ts = ts[(c0 >> 2) & 7];
	pl->out.nano = (c0 >> 5) & 1;
	pl->out.max_elements = maxel[(c0 >> 6) & 3];
	fc->alt.ts = pl->out.ts;
	fc->alt.nano = pl->out.nano;
	fc->alt.max_elements = pl->out.max_elements;
	/* Elements are fields alike: a few are enough, and thousands per
	 * message would slow the fuzzer down for nothing. */
	fc->fields.max_elements = pl->out.max_elements && pl->out.max_elements < 16 ?
				  pl->out.max_elements : 16;

	if (c1 & 1)
		pl->detect_circuits = false;
	if (c1 & 2) {
		const char *const *l = fuzz_cmd_lists[(c1 >> 4) & 3];

		for (i = 0; i < 3 && l[i]; i++)
			pl->cmds[pl->n_cmds++] = l[i];
	}
	if (c1 & 4)
		pl->pv_globs[pl->n_pv_globs++] = fuzz_globs[(c1 >> 6) & 3];
	if (c1 & 8) {
		classify_add_port(&pl->cls, 5066);
		classify_add_port(&pl->cls, 1);
	}
	pl->hook = fuzz_hook;
	pl->hook_ctx = fc;
}

static void fuzz_teardown(struct fuzz_ctx *fc)
{
	pipeline_finish(&fc->pl);
	fuzz_check_pipeline_line(fc);
	(void)pipeline_resyncs(&fc->pl);
	pipeline_free(&fc->pl);
	sbuf_free(&fc->alt_line);
}

#endif
