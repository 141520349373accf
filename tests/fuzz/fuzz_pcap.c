/* libFuzzer harness: the input is a whole capture file (pcap or pcapng),
 * read by pcap_source and decoded by one pipeline, as `catrace -r FILE`
 * does.  The file lives in a memfd, opened by its /proc/self/fd path.
 *
 * The pipeline prints text (to /dev/null) and the hook formats every
 * message as JSON too (fuzz_common.h).  The configuration is fixed, to the
 * command-line defaults: the input is only the file. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "pcap_source.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_global_init();
	memfd = memfd_create("fuzz_pcap", 0);
	if (memfd < 0) {
		perror("fuzz_pcap: memfd_create");
		abort();
	}
	return 0;
}

static void write_all(int fd, const uint8_t *d, size_t n)
{
	while (n) {
		ssize_t w = write(fd, d, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("fuzz_pcap: write memfd");
			abort();
		}
		d += w;
		n -= (size_t)w;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_ctx fc;
	struct pcap_source *src;
	char path[64], err[512];
	struct frame f;
	int lt, r;

	if (ftruncate(memfd, 0) < 0 || lseek(memfd, 0, SEEK_SET) < 0) {
		perror("fuzz_pcap: reset memfd");
		abort();
	}
	write_all(memfd, data, size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);

	src = pcap_source_open(path, err, sizeof(err));
	if (!src)
		return 0;
	lt = pcap_source_linktype(src);
	(void)pcap_source_linktype_name(lt);
	fuzz_setup(&fc, 0, 0);
	/* Like catrace -r: unsupported link types are refused up front, but
	 * feed them anyway: pkt_parse must refuse them on its own. */
	while ((r = pcap_source_next(src, &f, err, sizeof(err))) == 1)
		pipeline_frame(&fc.pl, lt, &f);
	fuzz_teardown(&fc);
	pcap_source_close(src);
	return 0;
}
