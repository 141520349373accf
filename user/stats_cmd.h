/* stats_cmd: `catrace stats [--pin DIR]`: the exposition of a running
 * catrace's kernel counters, read from the maps it pinned. */
#ifndef CATRACE_STATS_CMD_H
#define CATRACE_STATS_CMD_H

int stats_main(int argc, char **argv);

#endif
