#include "proc.h"
#include "util/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

int cs_proc_tasks(pid_t pid, pid_t **tids, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	CS_VEC(pid_t) v = {0};
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t t = (pid_t)atoi(e->d_name);
		CS_VEC_PUSH(v, t);
	}
	closedir(d);
	qsort(v.v, v.n, sizeof(pid_t), cmp_pid);
	*tids = v.v;
	*n = v.n;
	return 0;
}

int cs_proc_comm(pid_t pid, pid_t tid, char *buf, size_t n)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	size_t len;
	char *s = cs_read_file(path, 256, &len);
	if (!s)
		return -1;
	while (len && s[len - 1] == '\n')
		s[--len] = 0;
	snprintf(buf, n, "%s", s);
	free(s);
	return 0;
}

int cs_proc_cmdline(pid_t pid, char *buf, size_t n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	size_t len;
	char *s = cs_read_file(path, 65536, &len);
	if (!s)
		return -1;
	while (len && s[len - 1] == 0)
		len--;
	for (size_t i = 0; i < len; i++)
		if (s[i] == 0)
			s[i] = ' ';
	s[len] = 0;
	snprintf(buf, n, "%s", s);
	free(s);
	return 0;
}

/* The state letter of /proc/pid/stat, after the last ')' of the comm field. */
static char proc_state(const char *stat)
{
	const char *p = strrchr(stat, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

int cs_proc_alive(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *s = cs_read_file(path, 4096, NULL);
	if (!s)
		return 0;
	char st = proc_state(s);
	free(s);
	return st && st != 'Z' && st != 'X';
}

static uint32_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	uint32_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int cs_proc_usage(pid_t pid, struct cs_proc_usage *u)
{
	char path[64];
	memset(u, 0, sizeof(*u));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *s = cs_read_file(path, 4096, NULL);
	if (!s)
		return -1;
	const char *p = strrchr(s, ')');
	/* Fields after comm: state(3) ... utime(14) stime(15) ... num_threads(20) ...
	 * rss(24), counted from 1 with pid as field 1. */
	unsigned long long f[64] = {0};
	int nf = 0;
	if (p) {
		p += 2;
		while (*p && nf < 64) {
			while (*p == ' ')
				p++;
			f[nf++] = strtoull(p, (char **)&p, 10);
			while (*p && *p != ' ')
				p++;
		}
	}
	free(s);
	if (nf < 22)
		return -1;
	/* f[0] is field 3 (state, parsed as 0). */
	long hz = sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	u->cpu_ns = (f[14 - 3] + f[15 - 3]) * (1000000000ULL / (unsigned long long)hz);
	u->threads = (uint32_t)f[20 - 3];
	u->rss = f[24 - 3] * (uint64_t)page;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	u->fds = count_dir(path);
	return 0;
}

int cs_proc_maps(pid_t pid, void (*fn)(void *ctx, const struct cs_proc_map *m), void *ctx)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		struct cs_proc_map m;
		char perms[8];
		unsigned long long start, end, off, ino;
		unsigned maj, min;
		int consumed = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj,
			   &min, &ino, &consumed) < 7)
			continue;
		m.start = start;
		m.end = end;
		m.pgoff = off;
		m.maj = maj;
		m.min = min;
		m.ino = ino;
		m.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			 (perms[2] == 'x' ? PROT_EXEC : 0);
		m.path = consumed ? line + consumed : "";
		fn(ctx, &m);
	}
	free(line);
	fclose(f);
	return 0;
}
