/* modules.c - the registry of mapped files. Each file is opened once, at first sight,
 * through /proc/PID/map_files/ when possible (which reaches deleted and replaced
 * binaries), and kept open until the end so the recording can be resolved even after
 * the target exits. The vDSO, which has no file, is copied out of the target into a
 * memfd so that it can be handled like any other module. */
#include "internal.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static uint64_t mod_key(const struct cs_mapping *m, int *by_path)
{
	*by_path = !(m->ino && (m->maj || m->min)) || m->path[0] == '[';
	if (*by_path)
		return cs_hash_bytes(m->path, strlen(m->path), 0x11);
	return cs_hash_u64(((uint64_t)m->maj << 44) ^ ((uint64_t)m->min << 24) ^
			   cs_hash_u64(m->ino));
}

static int mod_matches(const struct symmod *mod, const struct cs_mapping *m, int by_path)
{
	if (by_path)
		return !(mod->ino && (mod->maj || mod->min)) && !strcmp(mod->path, m->path);
	return mod->ino == m->ino && mod->maj == m->maj && mod->min == m->min;
}

static int vdso_fd(pid_t pid, const struct cs_mapping *m)
{
	if (m->len == 0 || m->len > (1u << 20))
		return -1;
	char *buf = cs_xmalloc(m->len);
	struct iovec local = {buf, m->len}, remote = {(void *)(uintptr_t)m->start, m->len};
	ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	int fd = -1;
	if (got == (ssize_t)m->len) {
		fd = memfd_create("csampler-vdso", MFD_CLOEXEC);
		if (fd >= 0 && cs_write_all(fd, buf, m->len) < 0) {
			close(fd);
			fd = -1;
		}
	}
	free(buf);
	return fd;
}

static char *strip_deleted(const char *path)
{
	size_t n = strlen(path);
	static const char suffix[] = " (deleted)";
	if (n > sizeof(suffix) - 1 && !strcmp(path + n - (sizeof(suffix) - 1), suffix))
		n -= sizeof(suffix) - 1;
	return cs_xstrndup(path, n);
}

static void open_module(struct symmod *mod, pid_t pid, const struct cs_mapping *m)
{
	mod->fd = -1;
	if (mod->vdso) {
		mod->fd = vdso_fd(pid, m);
	} else {
		char mf[96];
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", (int)pid,
			 (unsigned long long)m->start, (unsigned long long)(m->start + m->len));
		mod->fd = open(mf, O_RDONLY | O_CLOEXEC);
		if (mod->fd < 0)
			mod->open_errno = errno;
		if (mod->fd < 0 && mod->file_name[0] == '/') { /* a FIFO there must not block */
			mod->fd = cs_open_regular(mod->file_name);
			if (mod->fd < 0)
				mod->open_errno = errno;
		}
	}
	if (mod->fd < 0)
		return;
	mod->elf = elf_begin(mod->fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!mod->elf || elf_kind(mod->elf) != ELF_K_ELF || !gelf_getehdr(mod->elf, &eh)) {
		if (mod->elf)
			elf_end(mod->elf);
		mod->elf = NULL;
		close(mod->fd);
		mod->fd = -1;
		return;
	}
	mod->e_type = eh.e_type;
	const void *bid;
	ssize_t n = dwelf_elf_gnu_build_id(mod->elf, &bid);
	if (n > 0 && (size_t)n <= sizeof(mod->build_id)) {
		memcpy(mod->build_id, bid, (size_t)n);
		mod->build_id_len = (size_t)n;
	}
}

/* The name libdwfl searches debug info by for file_name of process pid: through the
 * root of pid's mount namespace when it is not ours (a container seen from the
 * host: its /usr/lib/debug and the files next to its binaries are its own). */
static char *dwfl_name(struct cs_symbolizer *s, pid_t pid, const char *file_name)
{
	struct stat self, there;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	if (file_name[0] != '/' || pid <= 0 || stat("/proc/self/ns/mnt", &self) < 0 ||
	    stat(path, &there) < 0 || (self.st_ino == there.st_ino && self.st_dev == there.st_dev))
		return cs_xstrdup(file_name);
	int fd = -1;
	for (size_t i = 0; i < s->roots.n && fd < 0; i++)
		if (s->roots.v[i].ino == (uint64_t)there.st_ino)
			fd = s->roots.v[i].fd;
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
		fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return cs_xstrdup(file_name);
		struct nsroot r = {(uint64_t)there.st_ino, fd};
		CS_VEC_PUSH(s->roots, r);
	}
	return cs_xasprintf(CS_ROOT_PREFIX "%d%s", fd, file_name);
}

uint32_t cs_symmod_get(struct cs_symbolizer *s, pid_t pid, const struct cs_mapping *m)
{
	int by_path;
	uint64_t key = mod_key(m, &by_path);
	uint64_t *slot = cs_map64_get(&s->mod_ix, key);
	if (slot && mod_matches(s->mods.v[*slot], m, by_path))
		return (uint32_t)*slot;
	if (slot) { /* hash collision: look everywhere */
		for (size_t i = 0; i < s->mods.n; i++)
			if (mod_matches(s->mods.v[i], m, by_path))
				return (uint32_t)i;
	}
	struct symmod *mod = cs_xcalloc(1, sizeof(*mod));
	mod->path = cs_xstrdup(m->path);
	mod->file_name = strip_deleted(m->path);
	mod->dwfl_name = dwfl_name(s, pid, mod->file_name);
	mod->maj = by_path ? 0 : m->maj;
	mod->min = by_path ? 0 : m->min;
	mod->ino = by_path ? 0 : m->ino;
	mod->vdso = !strcmp(m->path, "[vdso]");
	mod->profile_module = CS_NONE;
	open_module(mod, pid, m);
	uint32_t idx = (uint32_t)s->mods.n;
	CS_VEC_PUSH(s->mods, mod);
	if (!slot)
		*cs_map64_put(&s->mod_ix, key, idx, NULL) = idx;
	return idx;
}

/* How well segment ph explains mapping m: 0 not at all; more is better. The kernel
 * maps a segment from its first page, so a segment starting on m's first page is the
 * best answer (two segments may share that page: the later one starts there). A
 * program may also map part of its own text a second time from the middle of a
 * segment (node does, for its embedded builtins): then the segment containing the
 * page answers. An executable mapping prefers an executable segment. */
static int segment_fit(const GElf_Phdr *ph, const struct cs_mapping *m)
{
	uint64_t first = ph->p_offset & ~(uint64_t)0xfff;
	if (m->pgoff < first || m->pgoff >= ph->p_offset + ph->p_filesz)
		return 0;
	int fit = 1;
	if (first == m->pgoff)
		fit += 2;
	if (!(m->prot & PROT_EXEC) || (ph->p_flags & PF_X))
		fit += 4;
	return fit;
}

uint64_t cs_symmod_bias(const struct symmod *mod, const struct cs_mapping *m)
{
	/* Every byte o of a segment is at vaddr p_vaddr + (o - p_offset), so for the
	 * segment holding the mapping's first page, address = vaddr + bias with
	 * bias = start - pgoff + p_offset - p_vaddr. */
	size_t phnum;
	if (mod->elf && elf_getphdrnum(mod->elf, &phnum) == 0) {
		int best_fit = 0;
		GElf_Phdr best;
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(mod->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			int fit = segment_fit(&ph, m);
			if (fit > best_fit) {
				best_fit = fit;
				best = ph;
			}
		}
		if (best_fit)
			return m->start - m->pgoff + best.p_offset - best.p_vaddr;
	}
	return m->start - m->pgoff;
}

void cs_symmod_build_id_hex(const struct symmod *m, char *hex)
{
	hex[0] = 0;
	for (size_t i = 0; i < m->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", m->build_id[i]);
}

void cs_symmod_free(struct symmod *m)
{
	cs_symcache_close(m);
	cs_inline_free(m);
	for (size_t i = 0; i < m->owned_names.n; i++)
		free(m->owned_names.v[i]);
	CS_VEC_FREE(m->owned_names);
	if (m->sdwfl)
		dwfl_end(m->sdwfl);
	if (m->elf)
		elf_end(m->elf);
	if (m->fd >= 0)
		close(m->fd);
	free(m->syms);
	free(m->path);
	free(m->file_name);
	free(m->dwfl_name);
	free(m);
}

void cs_symmods_free(struct cs_symbolizer *s)
{
	uint64_t t0 = s->res_stats > 0 ? cs_resolve_thread_ns() : 0;
	for (size_t i = 0; i < s->mods.n; i++)
		cs_symmod_free(s->mods.v[i]);
	CS_VEC_FREE(s->mods);
	if (s->res_stats > 0 && s->res_calls) {
		/* from the first resolution to the last, and saving the caches */
		uint64_t ns = s->res_last_ns - s->res_first_ns + cs_resolve_thread_ns() - t0;
		fprintf(stderr, "csampler: resolution: %llu addresses, %.3f s CPU\n",
			(unsigned long long)s->res_calls, (double)ns / 1e9);
	}
}

uint64_t cs_sym_module_unopened(const struct cs_symbolizer *s, uint32_t module, int *err)
{
	if (module >= s->mods.n) {
		*err = 0;
		return 0;
	}
	*err = s->mods.v[module]->open_errno;
	return s->mods.v[module]->unopened;
}

size_t cs_sym_module_count(const struct cs_symbolizer *s)
{
	return s->mods.n;
}

const char *cs_sym_module_path(const struct cs_symbolizer *s, uint32_t module)
{
	return module < s->mods.n ? s->mods.v[module]->path : "";
}
