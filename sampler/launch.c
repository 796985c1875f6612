#include "launch.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int cs_launch_prepare(char *const argv[], char *const env[], struct cs_launch *l)
{
	int go[2], err[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return cs_error("cannot create a pipe: %s", strerror(errno));
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return cs_error("cannot create a pipe: %s", strerror(errno));
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		close(err[0]);
		close(err[1]);
		return cs_error("cannot fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		/* The command gets the signal dispositions a shell would give it. */
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &sa, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char c;
		ssize_t r;
		do
			r = read(go[0], &c, 1);
		while (r < 0 && errno == EINTR);
		if (r != 0)
			_exit(127); /* the profiler gave up */
		close(go[0]);
		if (env)
			execvpe(argv[0], argv, env);
		else
			execvp(argv[0], argv);
		int e = errno;
		ssize_t w = write(err[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	l->pid = pid;
	l->go_fd = go[1];
	l->err_fd = err[0];
	return 0;
}

int cs_launch_go(struct cs_launch *l, const char *name)
{
	close(l->go_fd);
	l->go_fd = -1;
	int e = 0;
	ssize_t r;
	do
		r = read(l->err_fd, &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	close(l->err_fd);
	l->err_fd = -1;
	if (r == (ssize_t)sizeof(e)) {
		waitpid(l->pid, NULL, 0);
		return cs_error("cannot run '%s': %s", name, strerror(e));
	}
	return 0;
}

void cs_launch_abort(struct cs_launch *l)
{
	if (l->go_fd >= 0) {
		ssize_t w = write(l->go_fd, "x", 1);
		(void)w;
		close(l->go_fd);
	}
	if (l->err_fd >= 0)
		close(l->err_fd);
	waitpid(l->pid, NULL, 0);
	l->go_fd = l->err_fd = -1;
}
