/* Unit tests for user/ca_server_proc.c: a learned server is confirmed
 * only when one process listens on its TCP port and holds a UDP socket
 * on a CA port (a fake /proc tree). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca_server_proc.h"

#define IOC 0x0A090001u   /* 10.9.0.1 */

static char root[64];

static void put_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Process `pid` holding the sockets with these inodes. */
static void process(int pid, const unsigned long *inos, int n)
{
	char path[256], target[64];
	int i;

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	mkdir(path, 0700);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%d/fd/%d", root, pid, i + 3);
		snprintf(target, sizeof(target), "socket:[%lu]", inos[i]);
		assert_int_equal(symlink(target, path), 0);
	}
}

/* softIoc -S: the main thread has exited, the fds show under a thread. */
static void thread_only_process(int pid, int tid, const unsigned long *inos, int n)
{
	char path[256], target[64];
	int i;

	process(pid, NULL, 0);
	snprintf(path, sizeof(path), "%s/%d/task", root, pid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/task/%d", root, pid, pid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/task/%d/fd", root, pid, pid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/task/%d", root, pid, tid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/task/%d/fd", root, pid, tid);
	mkdir(path, 0700);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%d/task/%d/fd/%d", root, pid, tid, i + 3);
		snprintf(target, sizeof(target), "socket:[%lu]", inos[i]);
		assert_int_equal(symlink(target, path), 0);
	}
}

#define HDR "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
#define SOCK(n, addr, port, st, ino) \
	"   " #n ": " addr ":" port " 00000000:0000 " st " 00000000:00000000 00:00000000 00000000     0        0 " #ino " 1 0000000000000000 100 0 0 10 0\n"

static int setup(void **state)
{
	char path[128];

	(void)state;
	strcpy(root, "/tmp/catrace-csp-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/net", root);
	mkdir(path, 0700);
	/* sshd on 22 (any address); an IOC listening on 10.9.0.1:5070, a
	 * second IOC on an ephemeral port 40123; a socket established on 5070. */
	put_file("net/tcp", HDR
		 SOCK(0, "00000000", "0016", "0A", 100)
		 SOCK(1, "0100090A", "13CE", "0A", 200)
		 SOCK(2, "00000000", "9CBB", "0A", 300)
		 SOCK(3, "0100090A", "13CE", "01", 201)
		 SOCK(4, "00000000", "13CF", "0A", 400));
	put_file("net/tcp6", HDR);
	/* The IOCs' UDP: 5070, and 5064 for the second. */
	put_file("net/udp", HDR
		 SOCK(0, "00000000", "13CE", "07", 210)
		 SOCK(1, "00000000", "13C8", "07", 310)
		 SOCK(2, "00000000", "13CF", "07", 410));
	put_file("net/udp6", HDR);
	process(10, (const unsigned long[]){ 100 }, 1);          /* sshd */
	process(20, (const unsigned long[]){ 200, 201, 210 }, 3); /* IOC on 5070 */
	process(30, (const unsigned long[]){ 300, 310 }, 2);      /* IOC on 40123 */
	thread_only_process(40, 41, (const unsigned long[]){ 400, 410 }, 2); /* on 5071 */
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_sshd_is_not_a_ca_server(void **state)
{
	(void)state;
	assert_false(ca_server_proc_listens(root, IOC, 22, 5064));
}

static void test_ioc_on_its_own_port(void **state)
{
	(void)state;
	assert_true(ca_server_proc_listens(root, IOC, 5070, 5064));
	/* Not listening at another address. */
	assert_false(ca_server_proc_listens(root, IOC + 1, 5070, 5064));
}

static void test_ioc_on_an_ephemeral_port(void **state)
{
	(void)state;
	assert_true(ca_server_proc_listens(root, IOC, 40123, 5064));
	/* With another CA server port configured, its UDP 5064 says nothing. */
	assert_false(ca_server_proc_listens(root, IOC, 40123, 5099));
}

static void test_main_thread_gone(void **state)
{
	(void)state;
	assert_true(ca_server_proc_listens(root, IOC, 5071, 5064));
}

static void test_nobody_listens(void **state)
{
	(void)state;
	assert_false(ca_server_proc_listens(root, IOC, 2222, 5064));
	assert_false(ca_server_proc_listens("/nonexistent", IOC, 5070, 5064));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sshd_is_not_a_ca_server),
		cmocka_unit_test(test_ioc_on_its_own_port),
		cmocka_unit_test(test_ioc_on_an_ephemeral_port),
		cmocka_unit_test(test_main_thread_gone),
		cmocka_unit_test(test_nobody_listens),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
