#include "harness.h"
#include "util/proc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void h_require_perf(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.exclude_kernel = 1;
	int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd < 0)
		cr_skip_test("perf_event_open(cpu-clock) refused here (%s): run as root or lower "
			     "kernel.perf_event_paranoid",
			     strerror(errno));
	close(fd);
}

int h_perf_allowed(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.exclude_kernel = 1;
	int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

void h_require_ptrace(void)
{
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		pause();
		_exit(0);
	}
	int ok = ptrace(PTRACE_SEIZE, c, 0, 0) == 0;
	int e = errno;
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	if (!ok)
		cr_skip_test("ptrace refused here (%s): the ptrace sampler cannot be tested",
			     strerror(e));
}

void h_start(struct h_proc *p, char *const argv[])
{
	int fds[2];
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* A test that crashes or times out must not leave its target burning CPU. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	p->pid = pid;
	p->out_fd = fds[0];
	char buf[256];
	size_t n = 0;
	uint64_t deadline = now_ms() + 10000;
	while (n < sizeof(buf) - 1 && !memchr(buf, '\n', n)) {
		struct pollfd pf = {fds[0], POLLIN, 0};
		int left = (int)(deadline - now_ms());
		cr_assert_gt(left, 0, "%s did not say ready", argv[0]);
		if (poll(&pf, 1, left) <= 0)
			continue;
		ssize_t r = read(fds[0], buf + n, sizeof(buf) - 1 - n);
		cr_assert_gt(r, 0, "%s exited before it was ready", argv[0]);
		n += (size_t)r;
	}
	buf[n] = 0;
	cr_assert(strstr(buf, "ready"), "unexpected output from %s: %s", argv[0], buf);
}

static int wait_timeout(pid_t pid, int timeout_ms, int *status)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0)
			return -1;
		if (now_ms() >= deadline)
			return -1;
		usleep(10000);
	}
}

int h_stop(struct h_proc *p, int sig, int timeout_ms)
{
	int status = 0;
	kill(p->pid, sig);
	if (wait_timeout(p->pid, timeout_ms, &status) < 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		status = -1;
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->out_fd = -1;
	return status;
}

int h_wait_agent(pid_t pid, int timeout_ms, int settle_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		pid_t *tids = NULL;
		size_t n = 0;
		int found = 0;
		if (cs_proc_tasks(pid, &tids, &n) == 0)
			for (size_t i = 0; i < n && !found; i++) {
				char name[32];
				found = cs_proc_comm(pid, tids[i], name, sizeof(name)) == 0 &&
					!strcmp(name, "csampler-agent");
			}
		free(tids);
		if (found) {
			usleep((useconds_t)settle_ms * 1000);
			return 1;
		}
		if (now_ms() >= deadline)
			return 0;
		usleep(20 * 1000);
	}
}

int h_alive(pid_t pid)
{
	return cs_proc_alive(pid);
}

uint64_t h_cpu_ns(pid_t pid)
{
	struct cs_proc_usage u;
	return cs_proc_usage(pid, &u) == 0 ? u.cpu_ns : 0;
}

static char *slurp_fd(int fd, uint64_t deadline)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		int left = (int)(deadline - now_ms());
		if (left <= 0 || poll(&pf, 1, left) <= 0)
			break;
		if (n + 1024 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	return buf;
}

pid_t h_spawn(char *const argv[], int *err_fd)
{
	int e[2];
	cr_assert_eq(pipe2(e, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(e[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(e[1]);
	*err_fd = e[0];
	return pid;
}

int h_collect(pid_t pid, int err_fd, int timeout_s, char **err)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;
	char *e = slurp_fd(err_fd, deadline);
	close(err_fd);
	int status;
	int left = (int)(deadline - now_ms());
	if (wait_timeout(pid, left > 0 ? left : 1, &status) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		status = -1;
	}
	if (err)
		*err = e;
	else
		free(e);
	return status;
}

int h_run(char *const argv[], int timeout_s, char **out, char **err)
{
	int o[2], e[2];
	cr_assert_eq(pipe2(o, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(e, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;
	/* Read both pipes without deadlocking on either. */
	size_t cap[2] = {4096, 4096}, n[2] = {0, 0};
	char *buf[2] = {malloc(4096), malloc(4096)};
	int fds[2] = {o[0], e[0]}, open_n = 2;
	while (open_n) {
		struct pollfd pf[2];
		int k = 0, map[2];
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0) {
				pf[k].fd = fds[i];
				pf[k].events = POLLIN;
				map[k++] = i;
			}
		int left = (int)(deadline - now_ms());
		if (left <= 0 || poll(pf, (nfds_t)k, left) <= 0)
			break;
		for (int j = 0; j < k; j++) {
			if (!pf[j].revents)
				continue;
			int i = map[j];
			if (n[i] + 4096 > cap[i])
				buf[i] = realloc(buf[i], cap[i] *= 2);
			ssize_t r = read(fds[i], buf[i] + n[i], cap[i] - n[i] - 1);
			if (r <= 0) {
				close(fds[i]);
				fds[i] = -1;
				open_n--;
			} else {
				n[i] += (size_t)r;
			}
		}
	}
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		buf[i][n[i]] = 0;
	}
	int status;
	int left = (int)(deadline - now_ms());
	if (wait_timeout(pid, left > 0 ? left : 1, &status) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		status = -1;
	}
	if (out)
		*out = buf[0];
	else
		free(buf[0]);
	if (err)
		*err = buf[1];
	else
		free(buf[1]);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

char *h_copy_exe(const char *src, const char *dir, const char *name)
{
	char *dst = h_path(dir, name);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	cr_assert(in >= 0 && out >= 0, "cannot copy %s to %s: %s", src, dst, strerror(errno));
	char buf[1 << 16];
	ssize_t r;
	while ((r = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)r), r);
	cr_assert_eq(r, 0);
	close(in);
	cr_assert_eq(close(out), 0);
	cr_assert_eq(chmod(dst, 0755), 0); /* whatever the umask */
	return dst;
}

char *h_tmpdir(void)
{
	char *d = strdup("/tmp/cs-e2e-XXXXXX");
	cr_assert(mkdtemp(d));
	return d;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void h_tmpdir_free(char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

char *h_path(const char *dir, const char *name)
{
	char *p;
	cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

void h_fold(const char *data, const char *extra, struct h_folded *f)
{
	char *argv[] = {CS_EXE, "fold", "-i", (char *)data, (char *)extra, NULL};
	char *out, *err;
	int st = h_run(argv, 60, &out, &err);
	cr_assert_eq(st, 0, "csampler fold failed: %s", err);
	memset(f, 0, sizeof(*f));
	size_t cap = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char *sp = strrchr(line, ' ');
		cr_assert(sp, "bad folded line: %s", line);
		*sp = 0;
		if (f->n == cap) {
			cap = cap ? cap * 2 : 64;
			f->stack = realloc(f->stack, cap * sizeof(char *));
			f->count = realloc(f->count, cap * sizeof(uint64_t));
		}
		f->stack[f->n] = strdup(line);
		f->count[f->n] = strtoull(sp + 1, NULL, 10);
		f->total += f->count[f->n];
		f->n++;
	}
	free(out);
	free(err);
}

void h_folded_free(struct h_folded *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->stack[i]);
	free(f->stack);
	free(f->count);
	memset(f, 0, sizeof(*f));
}

/* Does stack s contain the frame sequence seq as whole frames? */
static int has_seq(const char *s, const char *seq)
{
	size_t n = strlen(seq);
	for (const char *p = s; (p = strstr(p, seq)); p++) {
		int start_ok = p == s || p[-1] == ';';
		int end_ok = p[n] == 0 || p[n] == ';';
		if (start_ok && end_ok)
			return 1;
	}
	return 0;
}

uint64_t h_with_frame(const struct h_folded *f, const char *frame)
{
	return h_with_seq(f, frame);
}

uint64_t h_with_seq(const struct h_folded *f, const char *seq)
{
	uint64_t c = 0;
	for (size_t i = 0; i < f->n; i++)
		if (has_seq(f->stack[i], seq))
			c += f->count[i];
	return c;
}

static const char *user_leaf(const char *s, size_t *len)
{
	/* the last frame that is not a kernel frame */
	const char *end = s + strlen(s);
	for (;;) {
		const char *semi = end;
		while (semi > s && semi[-1] != ';')
			semi--;
		size_t l = (size_t)(end - semi);
		if (!(l > 4 && !memcmp(end - 4, "_[k]", 4)) || semi == s) {
			*len = l;
			return semi;
		}
		end = semi - 1;
	}
}

uint64_t h_with_leaf(const struct h_folded *f, const char *frame)
{
	uint64_t c = 0;
	size_t n = strlen(frame);
	for (size_t i = 0; i < f->n; i++) {
		size_t l;
		const char *leaf = user_leaf(f->stack[i], &l);
		if (l == n && !memcmp(leaf, frame, n))
			c += f->count[i];
	}
	return c;
}

uint64_t h_with_prefix(const struct h_folded *f, const char *prefix)
{
	uint64_t c = 0;
	size_t n = strlen(prefix);
	for (size_t i = 0; i < f->n; i++)
		if (!strncmp(f->stack[i], prefix, n))
			c += f->count[i];
	return c;
}

size_t h_max_repeat(const struct h_folded *f, const char *frame)
{
	size_t best = 0, n = strlen(frame);
	for (size_t i = 0; i < f->n; i++) {
		size_t k = 0;
		for (const char *p = f->stack[i]; (p = strstr(p, frame)); p += n)
			if ((p == f->stack[i] || p[-1] == ';') && (p[n] == 0 || p[n] == ';'))
				k++;
		if (k > best)
			best = k;
	}
	return best;
}

void h_folded_dump(const struct h_folded *f, size_t max)
{
	for (size_t i = 0; i < f->n && i < max; i++)
		fprintf(stderr, "  %s %llu\n", f->stack[i], (unsigned long long)f->count[i]);
}

char *h_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	size_t r;
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, (cap *= 2) + 1);
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}
