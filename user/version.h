#ifndef CATRACE_VERSION_H
#define CATRACE_VERSION_H
/* The Makefile compiles the version in (-DCATRACE_VERSION=...): VERSION
 * and, in a git tree, git describe. */
#ifndef CATRACE_VERSION
#define CATRACE_VERSION "unknown"
#endif
#endif
