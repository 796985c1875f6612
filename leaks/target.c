/* target.c - facts about the tracked process from /proc (see target.h). */
#include "target.h"
#include "util/proc.h"
#include "util/util.h"

#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cs_target_is_static(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ret = -1;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t n;
	if (e && elf_kind(e) == ELF_K_ELF && elf_getphdrnum(e, &n) == 0) {
		ret = 1;
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_INTERP)
				ret = 0;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return ret;
}

long cs_target_euid(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long ruid, euid = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %ld %ld", &ruid, &euid) == 2)
			break;
	fclose(f);
	return euid;
}

/* Every directory on the way can be searched, and the file read, by anyone. */
static int world_readable(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	struct stat st;
	if (stat(buf, &st) || !(st.st_mode & S_IROTH))
		return 0;
	for (char *slash = strrchr(buf, '/'); slash && slash > buf; slash = strrchr(buf, '/')) {
		*slash = 0;
		if (stat(buf, &st) || !(st.st_mode & S_IXOTH))
			return 0;
	}
	return 1;
}

int cs_target_sees_file(pid_t pid, const char *path)
{
	struct stat mine, theirs;
	char *there = cs_xasprintf("/proc/%d/root%s", (int)pid, path);
	int ok = stat(path, &mine) == 0 && stat(there, &theirs) == 0;
	free(there);
	if (!ok || mine.st_dev != theirs.st_dev || mine.st_ino != theirs.st_ino)
		return 0;
	long uid = cs_target_euid(pid);
	if (uid < 0)
		return -1;
	/* root reads anything; the owner reads what it may; others need every step */
	if (uid == 0 || ((uid_t)uid == mine.st_uid && (mine.st_mode & S_IRUSR)))
		return 1;
	return world_readable(path);
}

struct maps_find {
	const char *path;
	int found;
};

static void maps_find_cb(void *ctx, const struct cs_proc_map *m)
{
	struct maps_find *f = ctx;
	if (!strcmp(m->path, f->path))
		f->found = 1;
}

int cs_target_maps_file(pid_t pid, const char *path)
{
	struct maps_find f = {path, 0};
	cs_proc_maps(pid, maps_find_cb, &f);
	return f.found;
}

int cs_target_other_netns(pid_t pid)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat("/proc/self/ns/net", &a) || stat(path, &b))
		return 0;
	return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

uint64_t cs_target_rss_anon(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	unsigned long long kb = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %llu", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

pid_t cs_target_ppid(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	long ppid = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PPid: %ld", &ppid) == 1)
			break;
	fclose(f);
	return ppid > 0 ? (pid_t)ppid : 0;
}

/* A defined function named malloc in one symbol table of e. */
static int defines_malloc(Elf *e, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = d ? d->d_size / sh.sh_entsize : 0;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    GELF_ST_BIND(s.st_info) == STB_LOCAL)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, s.st_name);
			if (name && !strcmp(name, "malloc"))
				return 1;
		}
	}
	return 0;
}

int cs_target_own_allocator(pid_t pid, char *exe, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, len - 1);
	exe[n > 0 ? n : 0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	int own = e && elf_kind(e) == ELF_K_ELF &&
		  (defines_malloc(e, SHT_SYMTAB) || defines_malloc(e, SHT_DYNSYM));
	if (e)
		elf_end(e);
	close(fd);
	return own;
}
