/* blocker: a thread blocked in system calls when csampler borrows it. Mode "sleep":
 * nanosleep in a loop (restarted with the remaining time); mode "read": read() from
 * stdin, which must return the byte the test writes later, not fail with EINTR.
 * Exits 0 if every call behaved, 4 otherwise. */
#include "common.h"
#include <errno.h>
#include <time.h>

int main(int argc, char **argv)
{
	int do_read = argc > 1 && !strcmp(argv[1], "read");
	target_ready();
	if (do_read) {
		char c;
		ssize_t r;
		do
			r = read(0, &c, 1);
		while (r < 0 && errno == EINTR && !target_stop);
		if (r != 1) {
			printf("read returned %zd (%s)\n", r, strerror(errno));
			return 4;
		}
		printf("read %c\n", c);
		fflush(stdout);
		return c == 'x' ? 0 : 4;
	}
	while (!target_stop) {
		struct timespec d = {0, 20000000};
		if (nanosleep(&d, NULL) != 0 && !target_stop) {
			printf("nanosleep failed: %s\n", strerror(errno));
			return 4;
		}
	}
	return 0;
}
