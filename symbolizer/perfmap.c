/* perfmap.c - JIT function names from perf maps and jitdump files (see perfmap.h). */
#include "perfmap.h"
#include "util/hash.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounds on what a file may make us read and keep. */
#define MAX_LINE      4096	     /* a longer perf map line is skipped */
#define MAX_SYMS      (2u << 20)     /* functions per process */
#define MAX_MAP_BYTES (256ull << 20) /* perf map bytes read per file */
#define MAX_RECORD    (1u << 30)     /* a jitdump record larger than this is corruption */
#define CHUNK	      65536

#define JITDUMP_MAGIC  0x4A695444u /* "JiTD" as written by the runtime, native order */
#define JITDUMP_HEADER 40	   /* magic, version, total_size, elf_mach, pad, pid, time, flags */
#define JIT_CODE_LOAD  0
#define JIT_CODE_MOVE  1

struct jsym {
	uint64_t start, end;
	uint64_t seq;	/* later descriptions of an address win */
	uint64_t index; /* jitdump code_index, or UINT64_MAX */
	char *name;
	const char *file; /* the path of the jfile */
};

struct jfile {
	char *path;
	int fd;	      /* -1 until it exists */
	int dump;     /* a jitdump file, else a perf map */
	int dead;     /* refused or broken: not read again */
	int skipping; /* perf map: inside an overlong line */
	uint64_t off; /* bytes consumed */
};

struct jproc {
	pid_t pid;
	uid_t uids[3]; /* real, effective, filesystem */
	int uid_known;
	CS_VEC(struct jfile) files;
	CS_VEC(struct jsym) syms;
	int sorted;
	uint64_t *maxend;	  /* after sorting: the largest end among syms[0..i] */
	struct cs_map64 by_index; /* jitdump code_index -> index in syms */
	int full;		  /* MAX_SYMS reached (warned) */
};

struct cs_jitsyms {
	CS_VEC(struct jproc *) procs;
	struct cs_map64 ix; /* pid -> index in procs */
	uint64_t seq;
};

struct cs_jitsyms *cs_jitsyms_new(void)
{
	struct cs_jitsyms *j = cs_xcalloc(1, sizeof(*j));
	cs_map64_init(&j->ix);
	return j;
}

void cs_jitsyms_free(struct cs_jitsyms *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->procs.n; i++) {
		struct jproc *p = j->procs.v[i];
		for (size_t k = 0; k < p->files.n; k++) {
			if (p->files.v[k].fd >= 0)
				close(p->files.v[k].fd);
			free(p->files.v[k].path);
		}
		for (size_t k = 0; k < p->syms.n; k++)
			free(p->syms.v[k].name);
		CS_VEC_FREE(p->files);
		CS_VEC_FREE(p->syms);
		free(p->maxend);
		cs_map64_release(&p->by_index);
		free(p);
	}
	CS_VEC_FREE(j->procs);
	cs_map64_release(&j->ix);
	free(j);
}

static struct jproc *proc_get(struct cs_jitsyms *j, pid_t pid, int create)
{
	uint64_t *slot = cs_map64_get(&j->ix, (uint64_t)pid);
	if (slot)
		return j->procs.v[*slot];
	if (!create)
		return NULL;
	struct jproc *p = cs_xcalloc(1, sizeof(*p));
	p->pid = pid;
	cs_map64_init(&p->by_index);
	*cs_map64_put(&j->ix, (uint64_t)pid, j->procs.n, NULL) = j->procs.n;
	CS_VEC_PUSH(j->procs, p);
	return p;
}

/* The process's users, from /proc/PID/status, while it lives. */
static void learn_uids(struct jproc *p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	char *st = cs_read_file(path, 1 << 16, NULL);
	const char *u = st ? strstr(st, "\nUid:") : NULL;
	unsigned r, e, s, f;
	if (u && sscanf(u + 5, "%u %u %u %u", &r, &e, &s, &f) == 4) {
		p->uids[0] = r;
		p->uids[1] = e;
		p->uids[2] = f;
		p->uid_known = 1;
	}
	free(st);
}

static struct jfile *file_add(struct jproc *p, const char *path, int dump)
{
	for (size_t i = 0; i < p->files.n; i++)
		if (!strcmp(p->files.v[i].path, path))
			return &p->files.v[i];
	struct jfile f = {cs_xstrdup(path), -1, dump, 0, 0, 0};
	CS_VEC_PUSH(p->files, f);
	return &p->files.v[p->files.n - 1];
}

static void refuse(struct jfile *f, const char *why)
{
	cs_warn("ignoring JIT symbols in '%s': %s", f->path, why);
	f->dead = 1;
}

/* Open f if it exists and may be trusted. 1 open, 0 not (yet). */
static int file_open(struct jproc *p, struct jfile *f)
{
	if (f->fd >= 0)
		return 1;
	if (f->dead)
		return 0;
	/* No symbolic link, no blocking on a FIFO someone put there. */
	int fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			refuse(f, "it is a symbolic link");
		else if (errno != ENOENT)
			refuse(f, strerror(errno));
		return 0;
	}
	struct stat st;
	char why[160];
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		refuse(f, "not a regular file");
		return 0;
	}
	int trusted = st.st_uid == 0;
	for (int i = 0; i < 3 && p->uid_known; i++)
		trusted |= st.st_uid == p->uids[i];
	if (!trusted) {
		close(fd);
		if (p->uid_known)
			snprintf(
			    why, sizeof(why),
			    "owned by uid %u, neither the user of process %d (uid %u) nor root",
			    (unsigned)st.st_uid, (int)p->pid, (unsigned)p->uids[1]);
		else
			snprintf(why, sizeof(why),
				 "owned by uid %u, and process %d is gone, so its user is unknown",
				 (unsigned)st.st_uid, (int)p->pid);
		refuse(f, why);
		return 0;
	}
	f->fd = fd;
	return 1;
}

static void add_sym(struct cs_jitsyms *j, struct jproc *p, const struct jfile *f, uint64_t start,
		    uint64_t size, const char *name, size_t len, uint64_t *index)
{
	if (size == 0 || start + size < start || len == 0)
		return;
	if (p->syms.n >= MAX_SYMS) {
		if (!p->full)
			cs_warn("process %d describes more than %u JIT functions: the rest are not "
				"named",
				(int)p->pid, MAX_SYMS);
		p->full = 1;
		return;
	}
	struct jsym s = {
	    start,  start + size, ++j->seq, index ? *index : UINT64_MAX, cs_xstrndup(name, len),
	    f->path};
	if (index)
		*cs_map64_put(&p->by_index, *index, 0, NULL) = p->syms.n;
	CS_VEC_PUSH(p->syms, s);
	p->sorted = 0;
}

static int hex(const char **s, const char *end, uint64_t *v)
{
	const char *p = *s;
	if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	uint64_t x = 0;
	int digits = 0;
	for (; p < end && digits <= 16; p++, digits++) {
		int c = *p, d = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10
						       : -1;
		if (d < 0)
			break;
		x = x << 4 | (uint64_t)d;
	}
	if (!digits || digits > 16)
		return 0;
	*s = p;
	*v = x;
	return 1;
}

/* "START SIZE NAME" in hex; the name is the rest of the line and may hold spaces. */
static void map_line(struct cs_jitsyms *j, struct jproc *p, const struct jfile *f, const char *s,
		     size_t n)
{
	const char *end = s + n;
	uint64_t start, size;
	if (n && end[-1] == '\r')
		end--;
	if (memchr(s, 0, (size_t)(end - s)) || !hex(&s, end, &start) || s == end || *s++ != ' ' ||
	    !hex(&s, end, &size) || s == end || *s++ != ' ')
		return;
	add_sym(j, p, f, start, size, s, (size_t)(end - s), NULL);
}

static void read_map(struct cs_jitsyms *j, struct jproc *p, struct jfile *f)
{
	char *buf = cs_xmalloc(CHUNK);
	while (f->off < MAX_MAP_BYTES) {
		ssize_t got = pread(f->fd, buf, CHUNK, (off_t)f->off);
		if (got <= 0)
			break;
		size_t at = 0;
		for (;;) {
			char *nl = memchr(buf + at, '\n', (size_t)got - at);
			if (!nl)
				break;
			size_t len = (size_t)(nl - (buf + at));
			if (!f->skipping && len <= MAX_LINE)
				map_line(j, p, f, buf + at, len);
			f->skipping = 0;
			at += len + 1;
		}
		if (at == 0 && (got == CHUNK || f->skipping)) {
			f->skipping = 1; /* no end in sight: skip the rest of this line */
			at = (size_t)got;
		}
		f->off += at; /* an unfinished last line is read again next time */
		if (got < CHUNK || at == 0)
			break;
	}
	if (f->off >= MAX_MAP_BYTES)
		refuse(f, "larger than 256 MiB");
	free(buf);
}

static uint32_t u32_at(const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}

static uint64_t u64_at(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

/* perf's jitdump (tools/perf/util/jitdump.h): a header, then records, each a prefix
 * {u32 id, u32 total_size, u64 timestamp} and a body. Only whole records are read:
 * the runtime may be writing the next one. */
static void read_dump(struct cs_jitsyms *j, struct jproc *p, struct jfile *f)
{
	uint8_t b[16 + 48 + 1024];
	struct stat st;
	if (fstat(f->fd, &st) < 0)
		return;
	uint64_t size = (uint64_t)st.st_size;
	if (f->off == 0) {
		if (size < JITDUMP_HEADER || pread(f->fd, b, JITDUMP_HEADER, 0) != JITDUMP_HEADER)
			return;
		uint32_t hsize = u32_at(b + 8);
		if (u32_at(b) != JITDUMP_MAGIC) {
			refuse(f, u32_at(b) == __builtin_bswap32(JITDUMP_MAGIC)
				      ? "written in the other byte order"
				      : "not a jitdump file");
			return;
		}
		if (hsize < JITDUMP_HEADER || hsize > 4096) {
			refuse(f, "bad jitdump header");
			return;
		}
		f->off = hsize;
	}
	while (f->off + 16 <= size) {
		if (pread(f->fd, b, 16, (off_t)f->off) != 16)
			return;
		uint32_t id = u32_at(b), total = u32_at(b + 4);
		if (total < 16 || total > MAX_RECORD) {
			refuse(f, "damaged jitdump record");
			return;
		}
		if (f->off + total > size)
			return; /* not written yet */
		size_t want = CS_MIN((size_t)total, sizeof(b) - 1);
		if (id == JIT_CODE_LOAD || id == JIT_CODE_MOVE) {
			if (pread(f->fd, b, want, (off_t)f->off) != (ssize_t)want)
				return;
			b[want] = 0;
		}
		if (id == JIT_CODE_LOAD && want > 56) {
			/* pid, tid, vma, code_addr, code_size, code_index, name\0, code */
			uint64_t addr = u64_at(b + 32), len = u64_at(b + 40),
				 index = u64_at(b + 48);
			const char *name = (const char *)b + 56;
			add_sym(j, p, f, addr, len, name, strlen(name), &index);
		} else if (id == JIT_CODE_MOVE && want >= 64) {
			/* pid, tid, vma, old_code_addr, new_code_addr, code_size, code_index */
			uint64_t addr = u64_at(b + 40), len = u64_at(b + 48),
				 index = u64_at(b + 56);
			uint64_t *k = cs_map64_get(&p->by_index, index);
			if (k) {
				char *name = cs_xstrdup(p->syms.v[*k].name);
				add_sym(j, p, f, addr, len, name, strlen(name), &index);
				free(name);
			}
		}
		f->off += total;
	}
}

void cs_jitsyms_poll(struct cs_jitsyms *j, pid_t pid)
{
	struct jproc *p = proc_get(j, pid, 1);
	if (!p->uid_known)
		learn_uids(p);
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	file_add(p, path, 0);
	for (size_t i = 0; i < p->files.n; i++) {
		struct jfile *f = &p->files.v[i];
		if (f->dead || !file_open(p, f))
			continue;
		if (f->dump)
			read_dump(j, p, f);
		else
			read_map(j, p, f);
	}
}

void cs_jitsyms_mapped(struct cs_jitsyms *j, pid_t pid, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base), digits = strspn(base + (n > 4 ? 4 : n), "0123456789");
	if (n < 10 || strncmp(base, "jit-", 4) || digits == 0 || strcmp(base + 4 + digits, ".dump"))
		return;
	struct jproc *p = proc_get(j, pid, 1);
	if (!p->uid_known)
		learn_uids(p);
	struct jfile *f = file_add(p, path, 1);
	if (file_open(p, f))
		read_dump(j, p, f);
}

static int sym_cmp(const void *a, const void *b)
{
	const struct jsym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void sort_syms(struct jproc *p)
{
	qsort(p->syms.v, p->syms.n, sizeof(*p->syms.v), sym_cmp);
	free(p->maxend);
	p->maxend = cs_xmalloc((p->syms.n ? p->syms.n : 1) * sizeof(uint64_t));
	uint64_t m = 0;
	for (size_t i = 0; i < p->syms.n; i++) {
		m = CS_MAX(m, p->syms.v[i].end);
		p->maxend[i] = m;
	}
	/* code_index -> the latest function with it, in the new order */
	cs_map64_release(&p->by_index);
	cs_map64_init(&p->by_index);
	for (size_t i = 0; i < p->syms.n; i++) {
		if (p->syms.v[i].index == UINT64_MAX)
			continue;
		int added;
		uint64_t *k = cs_map64_put(&p->by_index, p->syms.v[i].index, i, &added);
		if (!added && p->syms.v[*k].seq < p->syms.v[i].seq)
			*k = i;
	}
	p->sorted = 1;
}

const char *cs_jitsyms_find(struct cs_jitsyms *j, pid_t pid, uint64_t addr, const char **file)
{
	struct jproc *p = proc_get(j, pid, 0);
	if (!p || !p->syms.n)
		return NULL;
	if (!p->sorted)
		sort_syms(p);
	size_t lo = 0, hi = p->syms.n;
	while (lo < hi) { /* the first sym starting after addr */
		size_t mid = (lo + hi) / 2;
		if (p->syms.v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct jsym *best = NULL;
	for (size_t i = lo; i-- > 0 && p->maxend[i] > addr;) {
		const struct jsym *s = &p->syms.v[i];
		if (s->end > addr && (!best || s->seq > best->seq))
			best = s;
	}
	if (best && file)
		*file = best->file;
	return best ? best->name : NULL;
}

size_t cs_jitsyms_count(const struct cs_jitsyms *j, pid_t pid)
{
	uint64_t *slot = cs_map64_get(&j->ix, (uint64_t)pid);
	return slot ? j->procs.v[*slot]->syms.n : 0;
}
