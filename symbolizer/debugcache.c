/* debugcache.c - uncompressed copies of compressed separate debug info.
 *
 * Debian's debug packages (libc6-dbg, ...) compress their DWARF sections; libdw
 * inflates all of them whenever it opens the file: ~50 ms for libc, on every run that
 * needs a source line from libc. Before a module's DWARF is first used, if its debug
 * file (found by build-id) has compressed sections, csampler writes an uncompressed
 * copy under CACHE/debug/.build-id/xx/yyyy.debug, and that directory comes first in
 * the debuginfo path, so libdw maps the copy instead (~0.5 ms). The copy carries the
 * same build-id, which libdwfl checks. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_COPY (1ull << 30) /* uncompressed bytes we are willing to keep */

static int has_compressed(Elf *e, uint64_t *raw)
{
	int n = 0;
	*raw = 0;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_flags & SHF_COMPRESSED) {
			GElf_Chdr ch;
			if (gelf_getchdr(scn, &ch))
				*raw += ch.ch_size;
			n++;
		} else if (sh.sh_type != SHT_NOBITS) {
			*raw += sh.sh_size;
		}
	}
	return n;
}

static void make_copy(const char *src, const char *dst)
{
	char *tmp = cs_xasprintf("%s.tmp.%d", dst, (int)getpid());
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(tmp);
		return;
	}
	int ok = cs_copy_file_to(src, fd) == 0;
	Elf *e = ok ? elf_begin(fd, ELF_C_RDWR, NULL) : NULL;
	if (e) {
		for (Elf_Scn *scn = NULL; ok && (scn = elf_nextscn(e, scn));) {
			GElf_Shdr sh;
			if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_COMPRESSED))
				ok = elf_compress(scn, 0, 0) >= 0;
		}
		ok = ok && elf_update(e, ELF_C_WRITE) >= 0;
		elf_end(e);
	} else {
		ok = 0;
	}
	if (close(fd) < 0)
		ok = 0;
	if (ok)
		rename(tmp, dst);
	unlink(tmp);
	free(tmp);
}

void cs_debugcache_prepare(struct cs_symbolizer *s, struct symmod *m)
{
	if (!s->debug_cache || !m->build_id_len)
		return;
	char hex[2 * sizeof(m->build_id) + 1];
	cs_symmod_build_id_hex(m, hex);
	char *dst = cs_xasprintf("%s/.build-id/%.2s/%s.debug", s->debug_cache, hex, hex + 2);
	struct stat st;
	if (stat(dst, &st) == 0) {
		free(dst);
		return;
	}
	/* The debug file libdwfl would find by build-id, outside the cache. */
	char *dirs = cs_xstrdup(s->debuginfo_path);
	char *src = NULL;
	for (char *tok = strtok(dirs, ":"); tok && !src; tok = strtok(NULL, ":")) {
		if (tok[0] != '/' || !strcmp(tok, s->debug_cache))
			continue;
		char *p = cs_xasprintf("%s/.build-id/%.2s/%s.debug", tok, hex, hex + 2);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			src = p;
		else
			free(p);
	}
	free(dirs);
	if (src) {
		int fd = open(src, O_RDONLY | O_CLOEXEC);
		Elf *e = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
		uint64_t raw = 0;
		int compressed = e && elf_kind(e) == ELF_K_ELF && has_compressed(e, &raw);
		if (e)
			elf_end(e);
		if (fd >= 0)
			close(fd);
		if (compressed && raw <= MAX_COPY) {
			char *dir = cs_xasprintf("%s/.build-id", s->debug_cache);
			mkdir(dir, 0700);
			free(dir);
			dir = cs_xasprintf("%s/.build-id/%.2s", s->debug_cache, hex);
			mkdir(dir, 0700);
			free(dir);
			make_copy(src, dst);
		}
	}
	free(src);
	free(dst);
}
