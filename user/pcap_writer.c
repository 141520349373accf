/* pcap_writer: see pcap_writer.h. */
#include "pcap_writer.h"

#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pcapng.h"
#include "version.h"

#define FILE_HDR_LEN	24u	/* struct pcap_file_header */
#define REC_HDR_LEN	16u	/* struct pcap_sf_pkthdr */
#define WBUF_SIZE	(64u * 1024)
#define NSEC		1000000000ull

struct pcap_writer {
	/* Options, copied. */
	char *tmpl;
	uint32_t snaplen;
	bool flush_each, utc, to_stdout;
	uint64_t rotate_bytes;
	uint32_t rotate_seconds, max_files;
	int wchars;		/* digits of the -W ring numbers */

	pcap_t *dead;		/* pcap_dump needs a pcap_t for the header */
	pcap_dumper_t *d;	/* classic pcap: NULL when no file is open */
	bool pcapng;
	struct sbuf ng_head;	/* pcapng: the header blocks of every file */
	struct sbuf ng_block;	/* pcapng: the packet block being written */
	unsigned n_ifaces;
	FILE *fp;
	char *buf;		/* fp's stdio buffer, sized so we know it */
	bool regular;		/* a regular file: can be cut back */
	char name[PATH_MAX];

	uint64_t size;		/* bytes handed to stdio for this file */
	uint64_t good;		/* bytes of this file known to be written */
	uint64_t file_pkts;	/* packets in this file */
	uint64_t packets;	/* packets written, all files */
	uint64_t unflushed;	/* of which still only in the buffer */

	int64_t period_start;	/* -G: time (s) that opened this file */
	uint32_t c_count;	/* -C: number of this file in its period */
	uint32_t g_count;	/* -G: files closed by time rotation */

	bool failed, done;
	int err_no;               /* errno of the write that failed */
	char errmsg[PATH_MAX + 128];
};

static void seterr(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* Record a failure that ends the writer; every later call repeats it. */
static int fail(struct pcap_writer *w, char *err, size_t errlen)
{
	w->failed = true;
	seterr(err, errlen, w->errmsg);
	return -1;
}

/* Digits needed for ring numbers 0..max-1, as tcpdump's getWflagChars:
 * -W 1 gives no number at all. */
static int ring_chars(uint32_t max)
{
	int c = 0;

	for (max = max ? max - 1 : 0; max; max /= 10)
		c++;
	return c;
}

/* The name for file `count` of the period that started at t. */
static int make_name(struct pcap_writer *w, int64_t t, uint32_t count,
		     int chars)
{
	char base[PATH_MAX];
	int n;

	if (w->rotate_seconds) {
		time_t tt = (time_t)t;
		struct tm tm;

		if (!(w->utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm))) {
			snprintf(w->errmsg, sizeof(w->errmsg),
				 "%s: time %lld cannot be expanded", w->tmpl,
				 (long long)t);
			return -1;
		}
		/* The template is non-empty (checked at open), so 0 means
		 * the expansion did not fit. */
		/* The user's -w template is the format, by design (tcpdump -G). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		n = (int)strftime(base, sizeof(base), w->tmpl, &tm);
#pragma GCC diagnostic pop
		if (n == 0) {
			snprintf(w->errmsg, sizeof(w->errmsg),
				 "%s: file name too long once expanded", w->tmpl);
			return -1;
		}
	} else {
		snprintf(base, sizeof(base), "%s", w->tmpl);
	}
	if (count == 0 && chars == 0)
		n = snprintf(w->name, sizeof(w->name), "%s", base);
	else
		n = snprintf(w->name, sizeof(w->name), "%s%0*u", base, chars,
			     count);
	if (n < 0 || (size_t)n >= sizeof(w->name)) {
		snprintf(w->errmsg, sizeof(w->errmsg), "%s: file name too long",
			 base);
		return -1;
	}
	return 0;
}

/* Close the file (pcap: through its dumper); standard output stays open. */
static void close_stream(struct pcap_writer *w)
{
	if (!w->to_stdout) {
		if (w->pcapng)
			fclose(w->fp);
		else
			pcap_dump_close(w->d);
	}
	w->d = NULL;
	w->fp = NULL;
}

/* A write to the current file failed with errno e: throw away what stdio
 * still holds (fclose would write it after the cut), cut the file back to
 * its last record known to be complete, and close it. */
static void abandon_file(struct pcap_writer *w, int e)
{
	const char *extra = "";
	int cut_errno = 0;

	snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s",
		 w->to_stdout ? "standard output" : w->name, strerror(e));
	w->err_no = e;
	__fpurge(w->fp);
	if (w->regular) {
		if (w->good == 0) {
			/* Not even the file header: leave no file that no
			 * reader would accept. */
			if (unlink(w->name) < 0) {
				cut_errno = errno;
				extra = "; could not remove it";
			}
		} else if (ftruncate(fileno(w->fp), (off_t)w->good) < 0) {
			cut_errno = errno;
			extra = "; could not cut it back to its last complete packet";
		}
	}
	if (cut_errno) {
		size_t l = strlen(w->errmsg);

		snprintf(w->errmsg + l, sizeof(w->errmsg) - l, "%s: %s", extra,
			 strerror(cut_errno));
	}
	close_stream(w);
	w->packets -= w->unflushed;
	w->unflushed = 0;
}

static int flush_file(struct pcap_writer *w)
{
	if (fflush(w->fp) != 0 || ferror(w->fp)) {
		abandon_file(w, errno ? errno : EIO);
		return -1;
	}
	w->good = w->size;
	w->unflushed = 0;
	return 0;
}

static int open_file(struct pcap_writer *w)
{
	struct stat st;
	FILE *fp;

	if (w->to_stdout) {
		/* stdout keeps its own buffering; it is never cut back. */
		fp = stdout;
	} else {
		fp = fopen(w->name, "we");
		if (!fp) {
			snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s", w->name,
				 strerror(errno));
			return -1;
		}
		/* Our own buffer of known size: flush_file runs before it
		 * would fill, so stdio never writes part of a record on its
		 * own (see pcap_writer_write). */
		if (setvbuf(fp, w->buf, _IOFBF, WBUF_SIZE) != 0) {
			snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s", w->name,
				 "cannot set up buffering");
			fclose(fp);
			return -1;
		}
	}
	w->regular = !w->to_stdout && fstat(fileno(fp), &st) == 0 &&
		     S_ISREG(st.st_mode);
	if (w->pcapng) {
		w->fp = fp;
		w->good = 0;
		w->file_pkts = 0;
		w->size = w->ng_head.len;
		/* On its way now, as for pcap below; a failure cuts the file
		 * (to nothing: removed). */
		if (fwrite(w->ng_head.buf, 1, w->ng_head.len, fp) != w->ng_head.len) {
			abandon_file(w, errno ? errno : EIO);
			return -1;
		}
		return flush_file(w);
	}
	errno = 0;
	w->d = pcap_dump_fopen(w->dead, fp);
	if (!w->d) {
		/* libpcap has closed fp (unless stdout). */
		snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s",
			 w->to_stdout ? "standard output" : w->name,
			 errno ? strerror(errno) : pcap_geterr(w->dead));
		if (w->regular)
			unlink(w->name);
		return -1;
	}
	w->fp = fp;
	w->size = FILE_HDR_LEN;
	w->good = 0;
	w->file_pkts = 0;
	/* Write the header now: an unwritable device or a full disk shows
	 * at open instead of a buffer's worth of packets later. */
	return flush_file(w);
}

static int close_file(struct pcap_writer *w)
{
	if (!w->fp)
		return 0;
	if (flush_file(w) < 0)
		return -1;
	close_stream(w);
	return 0;
}

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* The blocks every pcapng file starts with: the section, then one
 * interface per opts.ifaces (at least one), in the file's link type. */
/* A file's link type is the LINKTYPE_ value, which equals the DLT_ one for
 * all catrace reads but raw IP, whose DLT_ differs between systems. */
static uint16_t file_linktype(int dlt)
{
	return dlt == DLT_RAW ? 101 : (uint16_t)dlt;
}

static bool ng_header(struct pcap_writer *w, const struct pcap_writer_opts *o)
{
	uint16_t lt = file_linktype(pcap_datalink(w->dead));
	unsigned i;

	if (!pcapng_put_shb(&w->ng_head, "catrace " CATRACE_VERSION))
		return false;
	w->n_ifaces = o->n_ifaces ? o->n_ifaces : 1;
	for (i = 0; i < w->n_ifaces; i++) {
		const struct pcap_writer_iface *f = o->n_ifaces ? &o->ifaces[i] : NULL;

		if (!pcapng_put_idb(&w->ng_head, lt, w->snaplen, f ? f->name : NULL,
				    f ? f->description : NULL))
			return false;
	}
	return true;
}

bool pcap_writer_name_is_pcapng(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	return n >= 7 && strcmp(path + n - 7, ".pcapng") == 0;
}

struct pcap_writer *pcap_writer_open(const struct pcap_writer_opts *o,
				     char *err, size_t errlen)
{
	struct pcap_writer *w;
	uint32_t snaplen = o->snaplen ? o->snaplen : PCAP_WRITER_DEFAULT_SNAPLEN;
	bool to_stdout = o->path && strcmp(o->path, "-") == 0;

	if (!o->path || !o->path[0]) {
		seterr(err, errlen, "an empty string is not a valid file name");
		return NULL;
	}
	if (snaplen > PCAP_WRITER_DEFAULT_SNAPLEN) {
		if (err && errlen)
			snprintf(err, errlen,
				 "snap length %u is larger than the maximum %u",
				 snaplen, PCAP_WRITER_DEFAULT_SNAPLEN);
		return NULL;
	}
	if (to_stdout && (o->rotate_bytes || o->rotate_seconds)) {
		seterr(err, errlen,
		       "standard output cannot be rotated (-C/-G need a file name)");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w) {
		sbuf_init(&w->ng_head);
		sbuf_init(&w->ng_block);
	}
	if (!w || !(w->tmpl = strdup(o->path)) ||
	    (!to_stdout && !(w->buf = malloc(WBUF_SIZE)))) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	w->snaplen = snaplen;
	w->flush_each = o->flush_each;
	w->utc = o->utc;
	w->to_stdout = to_stdout;
	w->rotate_bytes = o->rotate_bytes;
	w->rotate_seconds = o->rotate_seconds;
	/* -W alone means nothing to tcpdump; keep it only with -C or -G. */
	w->max_files = (o->rotate_bytes || o->rotate_seconds) ? o->max_files : 0;
	/* Ring numbers only when -C numbers files at all. */
	w->wchars = o->rotate_bytes ? ring_chars(w->max_files) : 0;
	w->period_start = o->start_ns ? (int64_t)(o->start_ns / NSEC) : now_s();

	w->dead = pcap_open_dead_with_tstamp_precision(o->linktype_set ? o->linktype : DLT_EN10MB,
						       (int)snaplen, PCAP_TSTAMP_PRECISION_NANO);
	if (!w->dead) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	w->pcapng = o->pcapng;
	if (w->pcapng && !ng_header(w, o)) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	/* localtime_r need not read TZ by itself. */
	tzset();
	if (to_stdout)
		snprintf(w->name, sizeof(w->name), "-");
	else if (make_name(w, w->period_start, 0, w->wchars) < 0)
		goto fail_msg;
	if (open_file(w) < 0)
		goto fail_msg;
	return w;

fail_msg:
	seterr(err, errlen, w->errmsg);
fail:
	if (w) {
		if (w->dead)
			pcap_close(w->dead);
		sbuf_free(&w->ng_head);
		sbuf_free(&w->ng_block);
		free(w->buf);
		free(w->tmpl);
		free(w);
	}
	return NULL;
}

/* Close the current file and open the next one; count and chars as for
 * make_name. */
static int rotate(struct pcap_writer *w, int64_t t, uint32_t count, int chars)
{
	if (close_file(w) < 0)
		return -1;
	if (make_name(w, t, count, chars) < 0 || open_file(w) < 0)
		return -1;
	return 0;
}

int pcap_writer_write(struct pcap_writer *w, uint64_t ts_ns,
		      const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		      char *err, size_t errlen)
{
	return pcap_writer_write_note(w, 0, ts_ns, data, caplen, wirelen, NULL, err,
				      errlen);
}

/* Hand one record to stdio: pcap_dump, or the pcapng block built. */
static void put_record(struct pcap_writer *w, uint64_t ts_ns, const uint8_t *data,
		       uint32_t caplen, uint32_t wirelen)
{
	struct pcap_pkthdr h;

	if (w->pcapng) {
		fwrite(w->ng_block.buf, 1, w->ng_block.len, w->fp);
		return;
	}
	h.ts.tv_sec = (time_t)(ts_ns / NSEC);
	h.ts.tv_usec = (suseconds_t)(ts_ns % NSEC);	/* ns: nano dumper */
	h.caplen = caplen;
	h.len = wirelen;
	pcap_dump((u_char *)w->d, &h, data);
}

int pcap_writer_write_note(struct pcap_writer *w, uint32_t if_id, uint64_t ts_ns,
			   const uint8_t *data, uint32_t caplen, uint32_t wirelen,
			   const char *comment, char *err, size_t errlen)
{
	int64_t sec = (int64_t)(ts_ns / NSEC);
	uint64_t rec;

	if (w->done) {
		seterr(err, errlen, w->errmsg);
		return PCAP_WRITER_LIMIT;
	}
	if (w->failed || !w->fp)
		return fail(w, err, errlen);

	if (caplen > w->snaplen)
		caplen = w->snaplen;
	if (wirelen < caplen)
		wirelen = caplen;
	rec = REC_HDR_LEN + caplen;
	if (w->pcapng) {
		/* Built first: its size decides the -C rotation. */
		sbuf_reset(&w->ng_block);
		if (!pcapng_put_epb(&w->ng_block, if_id < w->n_ifaces ? if_id : 0, ts_ns,
				    data, caplen, wirelen, comment)) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		rec = w->ng_block.len;
	}

	/* -G first, as tcpdump: a new period starts a new file, which makes
	 * a size rotation for this packet moot. */
	if (w->rotate_seconds && sec - w->period_start >= w->rotate_seconds) {
		w->g_count++;
		if (!w->rotate_bytes && w->max_files &&
		    w->g_count >= w->max_files) {
			if (close_file(w) < 0)
				return fail(w, err, errlen);
			w->done = true;
			snprintf(w->errmsg, sizeof(w->errmsg),
				 "Maximum file limit reached: %u", w->max_files);
			seterr(err, errlen, w->errmsg);
			return PCAP_WRITER_LIMIT;
		}
		w->period_start = sec;
		w->c_count = 0;
		if (rotate(w, sec, 0, w->wchars) < 0)
			return fail(w, err, errlen);
	}
	if (w->rotate_bytes && w->file_pkts > 0 &&
	    w->size + rec > w->rotate_bytes) {
		w->c_count++;
		if (w->max_files && w->c_count >= w->max_files)
			w->c_count = 0;
		if (rotate(w, w->period_start, w->c_count, w->wchars) < 0)
			return fail(w, err, errlen);
	}

	/* Keep stdio from flushing on its own in the middle of a record:
	 * flush whole records first whenever this one would not fit. */
	if (w->size > w->good && w->size - w->good + rec > WBUF_SIZE &&
	    flush_file(w) < 0)
		return fail(w, err, errlen);

	errno = 0;
	put_record(w, ts_ns, data, caplen, wirelen);
	w->size += rec;
	w->file_pkts++;
	w->packets++;
	w->unflushed++;
	if (ferror(w->fp)) {
		abandon_file(w, errno ? errno : EIO);
		return fail(w, err, errlen);
	}
	if (w->flush_each && flush_file(w) < 0)
		return fail(w, err, errlen);
	return 0;
}

int pcap_writer_flush(struct pcap_writer *w, char *err, size_t errlen)
{
	if (w->failed)
		return fail(w, err, errlen);
	if (w->fp && flush_file(w) < 0)
		return fail(w, err, errlen);
	return 0;
}

int pcap_writer_close(struct pcap_writer *w, char *err, size_t errlen)
{
	int rc = 0;

	if (!w)
		return 0;
	if (!w->failed && close_file(w) < 0) {
		seterr(err, errlen, w->errmsg);
		rc = -1;
	}
	pcap_close(w->dead);
	sbuf_free(&w->ng_head);
	sbuf_free(&w->ng_block);
	free(w->buf);
	free(w->tmpl);
	free(w);
	return rc;
}

bool pcap_writer_reader_gone(const struct pcap_writer *w)
{
	return w && w->to_stdout && w->err_no == EPIPE;
}

uint64_t pcap_writer_packets(const struct pcap_writer *w)
{
	return w ? w->packets : 0;
}

const char *pcap_writer_filename(const struct pcap_writer *w)
{
	return w->name;
}
