/* pcap_source: see pcap_source.h. */
#include "pcap_source.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcap_source {
	pcap_t *p;
	uint64_t count;
	int linktype;
	struct bpf_program filter;
	int have_filter;
};

/* Either opener's pcap_t (NULL: ebuf says why) into a source. */
static struct pcap_source *source_from(pcap_t *p, const char *ebuf, char *err,
				       size_t errlen)
{
	struct pcap_source *s;

	if (!p) {
		snprintf(err, errlen, "%s", ebuf);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		pcap_close(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->p = p;
	s->linktype = pcap_datalink(p);
	return s;
}

/* Both ask for nanoseconds: libpcap scales microsecond files up, so one
 * code path serves both. */
struct pcap_source *pcap_source_open(const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
							    ebuf);

	return source_from(p, ebuf, err, errlen);
}

struct pcap_source *pcap_source_fopen(FILE *fp, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO,
							     ebuf);

	return source_from(p, ebuf, err, errlen);
}

int pcap_source_set_filter(struct pcap_source *s, const char *expr, char *err,
			   size_t errlen)
{
	struct bpf_program prog;

	if (pcap_compile(s->p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s", pcap_geterr(s->p));
		return -1;
	}
	/* Filtered here, not by pcap_setfilter, so that frame numbers stay
	 * those of the file (what Wireshark and tshark show). */
	if (s->have_filter)
		pcap_freecode(&s->filter);
	s->filter = prog;
	s->have_filter = 1;
	return 0;
}

const char *pcap_source_linktype_name(int linktype)
{
	const char *n = pcap_datalink_val_to_name(linktype);

	return n ? n : "unknown";
}

int pcap_source_linktype(const struct pcap_source *s)
{
	return s->linktype;
}

int pcap_source_next(struct pcap_source *s, struct frame *f, char *err,
		     size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int r;

	for (;;) {
		r = pcap_next_ex(s->p, &h, &data);
		if (r == PCAP_ERROR_BREAK)
			return 0;
		if (r < 0) {
			snprintf(err, errlen, "%s", pcap_geterr(s->p));
			return -1;
		}
		s->count++;
		if (!s->have_filter || pcap_offline_filter(&s->filter, h, data))
			break;
	}
	f->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
	f->data = data;
	f->caplen = h->caplen;
	f->len = h->len;
	f->number = s->count;
	return 1;
}

void pcap_source_close(struct pcap_source *s)
{
	if (!s)
		return;
	if (s->have_filter)
		pcap_freecode(&s->filter);
	pcap_close(s->p);
	free(s);
}
