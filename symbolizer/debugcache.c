/* debugcache.c - uncompressed copies of compressed separate debug info.
 *
 * Debian's debug packages (libc6-dbg, ...) compress their DWARF sections; libdw
 * inflates all of them whenever it opens the file: ~50 ms for libc, on every run that
 * needs a source line from libc. Before a module's DWARF is first used, if its debug
 * file (found by build-id) has compressed sections, csampler writes an uncompressed
 * copy under CACHE/debug/.build-id/xx/yyyy.debug, and that directory comes first in
 * the debuginfo path, so libdw maps the copy instead (~0.5 ms). The copy carries the
 * same build-id, which libdwfl checks, and a checksum after its end (util/cache.h): a
 * copy that does not match it is removed and made again before libdw can open it. */
#include "internal.h"
#include "util/cache.h"
#include "util/outfile.h"

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

/* Write the uncompressed copy of src at dst, with a checksum after its end (libelf
 * ignores bytes past the section headers). */
static void make_copy(const char *src, const char *dst)
{
	struct cs_outfile o;
	if (cs_outfile_open(&o, dst, CS_OUT_PRIVATE | CS_OUT_REPLACE | CS_OUT_QUIET) < 0)
		return;
	int ok = cs_copy_file_to(src, o.fd) == 0;
	Elf *e = ok ? elf_begin(o.fd, ELF_C_RDWR, NULL) : NULL;
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
	if (ok && cs_cache_entry_seal(o.fd) == 0)
		cs_outfile_commit(&o);
	else
		cs_outfile_abort(&o);
}

void cs_debugcache_prepare(struct cs_symbolizer *s, struct symmod *m)
{
	if (!s->debug_cache || !m->build_id_len)
		return;
	char hex[2 * sizeof(m->build_id) + 1];
	cs_symmod_build_id_hex(m, hex);
	char *dst = cs_xasprintf("%s/.build-id/%.2s/%s.debug", s->debug_cache, hex, hex + 2);
	/* A copy whose checksum fails (damaged, edited) is removed here and made again. */
	if (cs_cache_entry_check(dst) == 0) {
		free(dst);
		return;
	}
	/* The debug file libdwfl would find by build-id, outside the cache. */
	char *dirs = cs_xstrdup(s->debuginfo_path);
	char *src = NULL;
	struct stat st;
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
		int fd = cs_open_regular(src);
		Elf *e = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
		uint64_t raw = 0;
		int compressed = e && elf_kind(e) == ELF_K_ELF && has_compressed(e, &raw);
		if (e)
			elf_end(e);
		if (fd >= 0)
			close(fd);
		char sub[16];
		snprintf(sub, sizeof(sub), ".build-id/%.2s", hex);
		if (compressed && raw <= MAX_COPY && cs_cache_mkdirs(s->debug_cache, sub) == 0)
			make_copy(src, dst);
	}
	free(src);
	free(dst);
}
