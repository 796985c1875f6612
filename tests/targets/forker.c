/* forker: forks a child that execs the program given as arguments, and spins in
 * parent_work meanwhile; exits when the child has exited. */
#include "common.h"
#include <sys/wait.h>

__attribute__((noinline)) unsigned long parent_work(void) { return burn(100) + 1; }

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	pid_t child = fork();
	if (child == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	unsigned long acc = 0;
	int status;
	while (waitpid(child, &status, WNOHANG) == 0)
		acc += parent_work();
	target_sink = acc;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
