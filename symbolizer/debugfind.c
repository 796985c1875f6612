/* debugfind.c - finding a module's separate debug info without ever blocking.
 *
 * libdwfl's standard search opens every candidate with a plain blocking open(): a FIFO
 * planted at a binary's .gnu_debuglink name (next to a binary in a directory its owner
 * controls) stops the recording inside open(), deaf to SIGTERM, and a link to a device
 * would open that device. This is the same search, with every candidate opened by
 * cs_open_regular (regular files only, never waiting, never opening a device):
 *
 * 1. by build-id: DIR/.build-id/xx/rest.debug under each absolute directory of the
 *    debuginfo path;
 * 2. by name (the .gnu_debuglink name, else FILE.debug): next to the file for an empty
 *    entry, in FILEDIR/ENTRY for a relative entry, and for an absolute entry in
 *    ENTRY/FILEDIR, then ENTRY/ each shorter suffix of FILEDIR, then ENTRY itself; then
 *    the same from the file's canonical name;
 *
 * accepting a file as libdwfl does: its build-id must match the module's when the module
 * has one, else its CRC the .gnu_debuglink CRC (unless the path says '-'). The dwz
 * "alt" file of a Dwarf is looked up the same way, by the build-id and name in the
 * .gnu_debugaltlink of the file the Dwarf came from (also in a .dwz subdirectory).
 *
 * A module of a process in another mount namespace (a container seen from the host)
 * comes named under an open root of that namespace (CS_ROOT_PREFIX "N/usr/bin/x",
 * modules.c): its absolute debug directories are searched under that root (the
 * container's own /usr/lib/debug), then by build-id in ours.
 */
#include "internal.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define DEFAULT_PATH ":.debug:/usr/lib/debug"

/* The debuginfo path of the symbolizer made last (all of a run's are the same). */
static char *g_path;

void cs_debugfind_use_path(const char *path)
{
	char *old = g_path;
	g_path = cs_xstrdup(path);
	free(old);
}

/* What the file must be. */
struct want {
	const uint8_t *id; /* build-id it must carry, or NULL */
	size_t id_len;
	GElf_Word crc; /* else the CRC of its contents, when check is set */
	int can_check;
	struct stat main; /* never the module's own file under another name */
};

static uint32_t file_crc(int fd)
{
	uLong crc = crc32(0, NULL, 0);
	unsigned char buf[1 << 16];
	off_t off = 0;
	for (;;) {
		ssize_t r = pread(fd, buf, sizeof(buf), off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		crc = crc32(crc, buf, (uInt)r);
		off += r;
	}
	return (uint32_t)crc;
}

static int acceptable(int fd, const struct want *w, int check)
{
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_dev == w->main.st_dev && st.st_ino == w->main.st_ino)
		return 0;
	if (w->id) {
		Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		const void *id = NULL;
		ssize_t n = e ? dwelf_elf_gnu_build_id(e, &id) : -1;
		int ok = n == (ssize_t)w->id_len && !memcmp(id, w->id, w->id_len);
		if (e)
			elf_end(e);
		return ok;
	}
	return !check || file_crc(fd) == w->crc;
}

static int try_file(const char *path, const struct want *w, int check, char **found)
{
	int fd = cs_open_regular(path);
	if (fd < 0)
		return -1;
	if (!acceptable(fd, w, check)) {
		close(fd);
		return -1;
	}
	*found = cs_xstrdup(path);
	return fd;
}

/* Try DIR/SUB/NAME (dir and sub may be NULL). */
static int try_in(const char *dir, const char *sub, const char *name, const struct want *w,
		  int check, char **found)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s%s%s%s%s", dir ? dir : "", dir ? "/" : "",
			 sub ? sub : "", sub ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	return try_file(path, w, check, found);
}

/* With a root (another mount namespace's), absolute directories are under it. */
static int by_build_id(const char *path, const char *root, const struct want *w, char **found)
{
	char hex[2 * 64 + 1];
	if (!w->id || w->id_len < 2 || w->id_len > 64)
		return -1;
	for (size_t i = 0; i < w->id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", w->id[i]);
	char *dirs = cs_xstrdup(path), *save = NULL;
	int fd = -1;
	for (char *p = strtok_r(dirs, ":", &save); p && fd < 0; p = strtok_r(NULL, ":", &save)) {
		p += *p == '+' || *p == '-';
		if (*p != '/')
			continue;
		char name[2 * 64 + 32];
		snprintf(name, sizeof(name), ".build-id/%.2s/%s.debug", hex, hex + 2);
		fd = try_in(root, p + !!root, name, w, 0, found);
	}
	free(dirs);
	return fd;
}

/* Search the path by name for the file of file_name whose link name is link
 * (invented: FILE.debug was made up, so FILE itself is tried too). With a root (the
 * first rootlen bytes of file_name: another mount namespace's), absolute entries are
 * under it, as is the file's directory they are joined with. */
static int by_name(const char *path, const char *file_name, size_t rootlen, const char *link,
		   int invented, int alt, const struct want *w, char **found)
{
	const char *slash = strrchr(file_name, '/');
	const char *base = slash ? slash + 1 : file_name;
	const char *lbase = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	char *dir =
	    slash ? cs_xstrndup(file_name, slash == file_name ? 1 : (size_t)(slash - file_name))
		  : NULL;
	/* the directory as the namespace names it: past the root */
	const char *ndir = dir && strlen(dir) > rootlen ? dir + rootlen : dir ? "/" : NULL;
	char *root = rootlen ? cs_xstrndup(file_name, rootlen) : NULL;
	char *entries = cs_xstrdup(path), *e = entries;
	int defcheck = 1, fd = -1;
	if (*e == '-' || *e == '+')
		defcheck = *e++ == '+';
	for (char *p; fd < 0 && (p = strsep(&e, ":"));) {
		int check = defcheck;
		if (*p == '+' || *p == '-')
			check = *p++ == '+';
		check = check && w->can_check;
		if (!*p) { /* the file's own directory */
			fd = try_in(dir, NULL, link, w, check, found);
			if (fd < 0 && alt)
				fd = try_in(dir, ".dwz", lbase, w, check, found);
		} else if (*p == '/') {
			char *entry = root ? cs_xasprintf("%s%s", root, p) : cs_xstrdup(p);
			if (alt) {
				fd = try_in(entry, NULL, lbase, w, check, found);
				if (fd < 0)
					fd = try_in(entry, ".dwz", lbase, w, check, found);
				free(entry);
				continue;
			}
			if (!ndir || ndir[0] != '/') {
				free(entry);
				continue;
			}
			/* ENTRY/a/b/c/NAME, then ENTRY/b/c/NAME, ENTRY/c/NAME, ENTRY/NAME */
			const char *sub = ndir + 1;
			while (fd < 0) {
				fd = try_in(entry, *sub ? sub : NULL, link, w, check, found);
				if (fd < 0 && invented)
					fd =
					    try_in(entry, *sub ? sub : NULL, base, w, check, found);
				if (!*sub)
					break;
				const char *next = strchr(sub, '/');
				sub = next ? next + 1 : "";
			}
			free(entry);
		} else {
			fd = try_in(dir, p, link, w, check, found);
			if (fd < 0 && invented)
				fd = try_in(dir, p, base, w, check, found);
		}
	}
	free(entries);
	free(dir);
	free(root);
	return fd;
}

size_t cs_root_len(const char *file_name)
{
	size_t n = sizeof(CS_ROOT_PREFIX) - 1;
	if (!file_name || strncmp(file_name, CS_ROOT_PREFIX, n))
		return 0;
	size_t d = strspn(file_name + n, "0123456789");
	return d && file_name[n + d] == '/' ? n + d : 0;
}

/* The build-id in the .gnu_debugaltlink of file (a Dwarf's dwz alt file), copied into
 * id (up to 64 bytes); its length, or 0. */
static size_t altlink_build_id(const char *file, uint8_t *id)
{
	int fd = cs_open_regular(file);
	Elf *e = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
	size_t shstrndx, n = 0;
	if (e && elf_getshdrstrndx(e, &shstrndx) == 0) {
		for (Elf_Scn *scn = NULL; !n && (scn = elf_nextscn(e, scn));) {
			GElf_Shdr sh;
			const char *name;
			if (!gelf_getshdr(scn, &sh) ||
			    !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
			    strcmp(name, ".gnu_debugaltlink"))
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			const char *nul = d && d->d_size ? memchr(d->d_buf, 0, d->d_size) : NULL;
			if (!nul)
				break;
			size_t off = (size_t)(nul + 1 - (const char *)d->d_buf);
			n = CS_MIN(d->d_size - off, (size_t)64);
			memcpy(id, (const char *)d->d_buf + off, n);
		}
	}
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
	return n;
}

int cs_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
		      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		      char **debuginfo_file_name)
{
	const char *path = g_path ? g_path : DEFAULT_PATH;
	struct want w;
	uint8_t altid[64];
	memset(&w, 0, sizeof(w));
	if (file_name)
		stat(file_name, &w.main);
	/* libdwfl asks for the alt file with its .gnu_debugaltlink name; for the debug
	 * file, with the main file's own .gnu_debuglink (or none). */
	GElf_Addr bias;
	GElf_Word main_crc = 0;
	Elf *main = dwfl_module_getelf(mod, &bias);
	const char *main_link = main ? dwelf_elf_gnu_debuglink(main, &main_crc) : NULL;
	int alt = debuglink_file &&
		  !(main_link && !strcmp(main_link, debuglink_file) && main_crc == debuglink_crc);
	if (alt) {
		w.id_len = file_name ? altlink_build_id(file_name, altid) : 0;
		w.id = w.id_len ? altid : NULL;
		if (!w.id) { /* an alt file is only ever accepted by its build-id */
			errno = 0;
			return -1;
		}
	} else {
		const unsigned char *bits;
		GElf_Addr vaddr;
		int n = dwfl_module_build_id(mod, &bits, &vaddr);
		w.id = n > 0 ? bits : NULL;
		w.id_len = n > 0 ? (size_t)n : 0;
		w.crc = debuglink_crc;
		w.can_check = debuglink_crc != 0;
	}
	size_t rootlen = cs_root_len(file_name);
	char *root = rootlen ? cs_xstrndup(file_name, rootlen) : NULL;
	int fd = root ? by_build_id(path, root, &w, debuginfo_file_name) : -1;
	free(root);
	if (fd < 0)
		fd = by_build_id(path, NULL, &w, debuginfo_file_name);
	if (fd >= 0 || !file_name)
		return fd;
	char *invented = NULL;
	const char *link = debuglink_file;
	if (!link) {
		const char *slash = strrchr(file_name, '/');
		link = invented = cs_xasprintf("%s.debug", slash ? slash + 1 : file_name);
		w.can_check = 0;
	}
	fd =
	    by_name(path, file_name, rootlen, link, invented != NULL, alt, &w, debuginfo_file_name);
	if (fd < 0 && !rootlen) { /* (a canonical name would be ours, not the root's) */
		char *canon = realpath(file_name, NULL); /* reads links, opens nothing */
		if (canon && strcmp(canon, file_name))
			fd = by_name(path, canon, 0, link, invented != NULL, alt, &w,
				     debuginfo_file_name);
		free(canon);
	}
	free(invented);
	if (fd < 0)
		errno = 0; /* nothing found is not an error */
	return fd;
}
