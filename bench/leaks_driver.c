/* leaks_driver.c - a minimal stand-in for `csampler leaks -- CMD` used by
 * bench/leaks.sh until that command exists: launches CMD with the agent preloaded,
 * speaks the protocol of agent/protocol.h (CONFIG, then waits), and prints a summary
 * of the final snapshot the agent sends as the program exits.
 *
 * usage: leaks_driver -a AGENT.so [--sample-bytes N] [-d DEPTH] [-v] -- CMD ARGS...
 * (--sample-bytes as in `csampler leaks`, so bench/leaks.sh can switch with one line)
 * Exits with CMD's exit status; 125 on a driver error.
 */
#define _GNU_SOURCE
#include "agent/protocol.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_msg(int fd, uint32_t type, const void *payload, size_t len)
{
	struct cs_msg m = {CS_AGENT_MAGIC, type, len};
	if (write(fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		return -1;
	return len && write(fd, payload, len) != (ssize_t)len ? -1 : 0;
}

/* One message; *payload is malloc'ed (free it). */
static int recv_msg(int fd, struct cs_msg *m, char **payload)
{
	*payload = NULL;
	if (read_all(fd, m, sizeof(*m)) || m->magic != CS_AGENT_MAGIC || m->len > (1ull << 32))
		return -1;
	*payload = malloc(m->len + 1);
	if (!*payload || read_all(fd, *payload, m->len))
		return -1;
	(*payload)[m->len] = 0;
	return 0;
}

static int die(const char *what)
{
	fprintf(stderr, "leaks_driver: %s: %s\n", what, strerror(errno));
	return 125;
}

int main(int argc, char **argv)
{
	const char *agent = NULL;
	struct cs_msg_config cfg = {CS_AGENT_EXACT, 64, 0};
	int verbose = 0, opt;
	static const struct option longopts[] = {{"sample-bytes", required_argument, NULL, 's'},
						 {NULL, 0, NULL, 0}};
	while ((opt = getopt_long(argc, argv, "+a:s:d:v", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a': agent = optarg; break;
		case 's': cfg.mode = CS_AGENT_SAMPLED; cfg.sample_bytes = strtoull(optarg, NULL, 0); break;
		case 'd': cfg.max_depth = (uint32_t)atoi(optarg); break;
		case 'v': verbose = 1; break;
		default: return 125;
		}
	}
	if (!agent || optind >= argc || strcmp(argv[optind - 1], "--")) {
		fprintf(stderr, "usage: leaks_driver -a AGENT.so [--sample-bytes N] [-d DEPTH] [-v] -- CMD ARGS...\n");
		return 125;
	}
	char dir[] = "/tmp/leaks_driver.XXXXXX";
	if (!mkdtemp(dir))
		return die("mkdtemp");
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/sock", dir);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4))
		return die("socket");
	pid_t pid = fork();
	if (pid == 0) {
		setenv(CS_AGENT_SOCKET_ENV, a.sun_path, 1);
		setenv("LD_PRELOAD", agent, 1);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	struct pollfd pf = {ls, POLLIN, 0};
	int fd = -1;
	if (poll(&pf, 1, 10000) == 1)
		fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	unlink(a.sun_path);
	rmdir(dir);
	if (fd < 0) {
		fprintf(stderr, "leaks_driver: the agent did not connect\n");
		kill(pid, SIGKILL);
		return 125;
	}
	struct cs_msg m;
	char *p;
	if (recv_msg(fd, &m, &p) || m.type != CS_MSG_HELLO)
		return die("HELLO");
	free(p);
	send_msg(fd, CS_MSG_CONFIG, &cfg, sizeof(cfg));
	if (recv_msg(fd, &m, &p) || m.type != CS_MSG_READY) {
		fprintf(stderr, "leaks_driver: no READY (%s)\n", m.type == CS_MSG_ERROR ? p : "?");
		return 125;
	}
	struct cs_msg_ready ready;
	memcpy(&ready, p, sizeof(ready));
	free(p);
	if (verbose)
		fprintf(stderr, "leaks_driver: READY modules %u slots %u\n", ready.modules, ready.slots);
	char *last = NULL;
	while (recv_msg(fd, &m, &p) == 0) {
		if (m.type == CS_MSG_SNAPSHOT) {
			free(last);
			last = p;
		} else {
			free(p);
		}
	}
	int status;
	waitpid(pid, &status, 0);
	if (last) {
		struct cs_snap_header h;
		memcpy(&h, last, sizeof(h));
		uint64_t bytes = 0, blocks = 0;
		const char *q = last + sizeof(h);
		for (uint32_t i = 0; i < h.nsites; i++) {
			struct cs_snap_site s;
			memcpy(&s, q, sizeof(s));
			bytes += s.bytes;
			blocks += s.blocks;
			q += sizeof(s) + s.depth * sizeof(uint64_t);
		}
		fprintf(stderr,
			"leaks_driver: %s%s%s snapshot: %u sites, %llu bytes in %llu blocks; "
			"allocs %llu frees %llu untracked_frees %llu lost %llu\n",
			h.flags & CS_SNAP_FINAL ? "final" : "last",
			h.flags & CS_SNAP_SAMPLED ? " sampled" : "",
			h.flags & CS_SNAP_INEXACT ? " inexact" : "", h.nsites,
			(unsigned long long)bytes, (unsigned long long)blocks,
			(unsigned long long)h.allocs, (unsigned long long)h.frees,
			(unsigned long long)h.untracked_frees, (unsigned long long)h.lost);
	} else {
		fprintf(stderr, "leaks_driver: no snapshot received\n");
	}
	free(last);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
