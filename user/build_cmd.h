/* build_cmd: `catrace build`: JSON lines in, a pcap out (build_cmd.c). */
#ifndef CATRACE_BUILD_CMD_H
#define CATRACE_BUILD_CMD_H

int build_main(int argc, char **argv);

#endif
