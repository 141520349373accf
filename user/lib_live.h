/* lib_live: the live source of libcatrace.  The programs loaded and
 * attached, the kernel's segment records read from the ring buffer, put
 * in time order and fed to a pipeline, as catrace -i does (run_live.c),
 * without what only the program has (-w, metrics, top, the channel
 * table, process names, signals). */
#ifndef CATRACE_LIB_LIVE_H
#define CATRACE_LIB_LIVE_H

#include <stddef.h>
#include <stdint.h>

struct pipeline;
struct lib_live;

/* Load and attach on these interfaces, feeding pl; NULL and err on
 * failure (nothing stays attached). */
struct lib_live *lib_live_open(struct pipeline *pl, const char *const *ifaces,
			       unsigned n_ifaces, char *err, size_t errlen);
/* A tcpdump filter expression on the records (live_filter.h); -1 and err
 * when it does not compile or live filtering cannot take it. */
int lib_live_set_filter(struct lib_live *l, const char *expr, char *err, size_t errlen);
/* Wait up to timeout_ms (negative: no limit) for records and feed the
 * ones due to the pipeline.  0, or -1 and err when the ring buffer fails;
 * an interrupted wait (a signal) is 0. */
int lib_live_poll(struct lib_live *l, int timeout_ms, char *err, size_t errlen);
/* Records read so far (the packets the pipeline counted, for stats). */
uint64_t lib_live_records(const struct lib_live *l);
/* Feed what is still held, detach and free. */
void lib_live_close(struct lib_live *l);

#endif
