/* metrics_service: runs catrace's metrics while it traces or reads: the
 * census fed by the pipeline, /metrics over HTTP (--metrics), the
 * exposition written to a file now and then (--metrics-file, --interval),
 * and the pinned maps `catrace stats` reads (--pin). */
#ifndef CATRACE_METRICS_SERVICE_H
#define CATRACE_METRICS_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "census.h"
#include "metrics_http.h"
#include "pipeline.h"
#include "sbuf.h"

struct loader;

#define METRICS_INTERVAL_DEFAULT 15

struct metrics_opts {
	const char *listen;     /* --metrics ADDR:PORT */
	const char *file;       /* --metrics-file PATH */
	unsigned interval_s;    /* --interval */
	const char *pin_dir;    /* --pin DIR */
	unsigned pv_limit;      /* --pv-metrics-limit */
};

struct metrics_service {
	struct metrics_opts o;
	struct metrics_http *http;
	struct pipeline *pl;
	struct loader *l;            /* NULL when reading a file */
	char iface[128];
	const uint64_t *records, *records_bad;
	const uint64_t *learned_expired;  /* pending servers user space forgot */
	uint64_t next_file_ns;       /* CLOCK_MONOTONIC */
	struct sbuf sb;
	bool pinned;
};

/* Anything asked of us? */
bool metrics_wanted(const struct metrics_opts *o);

/* Start what the options ask for; the pipeline's census (started by the
 * caller: pipeline_census_start) feeds the decoder's families.
 * `l` is the live loader (NULL offline); `iface` the label.  0, or -1 and
 * a one-line reason. */
int metrics_service_start(struct metrics_service *ms, const struct metrics_opts *o,
			  struct pipeline *pl, struct loader *l, const char *iface,
			  char *err, size_t errlen);
/* What to wait on besides the ring buffer (-1: nothing). */
int metrics_service_fd(const struct metrics_service *ms);
/* Serve requests, let time pass in the census, write the file when due.
 * (The caller runs census_finish before the final file, at stop.)
 * -1 when the file cannot be written (the reason is printed). */
int metrics_service_run(struct metrics_service *ms, uint64_t wall_ns);
/* Final file, unpin, free.  -1 when the final file failed. */
int metrics_service_stop(struct metrics_service *ms);

/* The exposition as it stands. */
void metrics_service_render(void *ms, struct sbuf *sb);

/* Write sb to path through a temporary file and a rename, so a reader
 * (node_exporter's textfile collector) never sees half of it. */
int metrics_write_file(const char *path, const struct sbuf *sb, char *err, size_t errlen);

#endif
