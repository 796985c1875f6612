/* internal.h - shared state of the symbolizer's files (not a public interface). */
#ifndef CS_SYMBOLIZER_INTERNAL_H
#define CS_SYMBOLIZER_INTERNAL_H

#include <elfutils/libdwfl.h>
#include <gelf.h>

#include "symbolizer.h"
#include "util/hash.h"
#include "util/util.h"

struct sym {
	uint64_t start, end; /* in the resolution Dwfl's address space */
	const char *name;    /* owned by libelf, or by the module's owned_names */
	int rank;	     /* lower is preferred among aliases */
	int sized;	     /* st_size was known; else end is its section's end */
};

/* Rank of symbols made up by csampler (PLT stubs): any real symbol is preferred. */
#define CS_SYM_RANK_SYNTHETIC 256

/* One distinct mapped file (or the vDSO image). */
struct symmod {
	char *path;	 /* as the target mapped it */
	char *file_name; /* path as the target names it, without " (deleted)" */
	/* The path given to libdwfl to find separate debug info: file_name, or for a
	 * process in another mount namespace, file_name under an open root of it,
	 * CS_ROOT_PREFIX "N" file_name (see debugfind.c). */
	char *dwfl_name;
	int fd;		 /* kept open for the whole recording; -1 if unreadable */
	int open_errno;	 /* why fd is -1 (0: not ELF, or no file) */
	uint64_t unopened; /* addresses resolved here while fd < 0 */
	uint32_t maj, min;
	uint64_t ino;
	int vdso;
	int is_main;
	Elf *elf; /* for program headers; NULL if fd < 0 or not ELF */
	GElf_Half e_type;
	uint8_t build_id[40];
	size_t build_id_len;

	/* resolution state, built on first use */
	int res_init;
	Dwfl *sdwfl;
	Dwfl_Module *smod;
	GElf_Addr sbias;
	struct sym *syms;
	size_t nsyms;
	CS_VEC(char *) owned_names; /* names of synthesized symbols (plt.c) */
	struct inl_units *inl;	    /* per-unit tables (inline.c) */
	uint32_t profile_module; /* CS_NONE until added to a profile */
	int cache_state;	 /* resolution cache: 0 not loaded, 1 loaded, -1 none */
	struct symcache *cache;
};

/* One executable mapping in one process. */
struct amap {
	uint64_t start, end, pgoff;
	uint32_t mod;
	uint64_t bias; /* absolute address = vaddr + bias */
	int reported;  /* considered for the process's Dwfl */
	int in_dwfl;   /* its file is in the Dwfl at this mapping's bias */
};

/* Anonymous executable memory of one process (JIT code, trampolines). */
struct jit_range {
	uint64_t start, end;
};

struct aspace {
	pid_t pid;
	Dwfl *dwfl;
	int attached;
	int dirty;   /* mappings not yet reported to the Dwfl */
	int rebuild; /* a reported mapping was replaced: start a new Dwfl */
	int exe_pending; /* after exec: the next executable mapping is the program */
	CS_VEC(struct amap) maps; /* sorted by start, non-overlapping */
	CS_VEC(Dwfl *) retired;	  /* old Dwfls, freed at the end (their Elf may be shared) */
	struct cs_map64 rules;	  /* lookup pc -> packed unwind rule (see unwind.c) */
	/* the sample being unwound */
	const uint64_t *regs;
	const uint8_t *stack;
	size_t stack_len;
	uint64_t sp;
	/* unwind.c: JIT code, checked return addresses, the unwind in progress */
	CS_VEC(struct jit_range) jit; /* anonymous executable memory, sorted by start */
	struct cs_map64 callsites;    /* return address -> 1 follows a call, 2 does not */
	struct unwind_pass *pass;
};

struct nsroot {
	uint64_t ino;
	int fd;
};

/* A module path under the root of another mount namespace, open as descriptor N:
 * CS_ROOT_PREFIX "N/usr/lib/x.so". */
#define CS_ROOT_PREFIX "/proc/self/fd/"

struct cs_symbolizer {
	struct cs_symbolizer_opts o;
	int check_unwind;     /* CSAMPLER_UNWIND_CHECK: compare the fast path with libdw */
	uint64_t fast, slow;  /* stacks unwound by each path */
	uint64_t mismatches;  /* check mode: stacks on which the two disagreed */
	char *debuginfo_path;
	char *debug_cache; /* CACHE/debug: uncompressed debug info copies, or NULL */
	Dwfl_Callbacks unwind_cb;
	Dwfl_Callbacks offline_cb;
	CS_VEC(struct symmod *) mods;
	struct cs_map64 mod_ix; /* key hash -> index; collisions resolved by scanning */
	/* The root directory of each mount namespace other than ours that a module came
	 * from, kept open (O_PATH) so its debug files stay reachable after the process
	 * ends: {namespace inode, fd}. */
	CS_VEC(struct nsroot) roots;
	CS_VEC(struct aspace *) spaces;
	struct cs_map64 space_ix; /* pid -> index into spaces */
	/* kernel symbols, loaded on first use */
	int kinit;
	void *ktable; /* sorted kernel text symbols (kallsyms.c) */
	size_t ktable_size;
	uint32_t kmodule; /* profile module of the kernel */
	uint8_t *live;	  /* unwind.c: a stack copy extended from live memory */
	size_t live_cap;
	/* CSAMPLER_RESOLVE_STATS: thread CPU time spent resolving, printed at the end */
	int res_stats; /* asked for (read at the first resolution) */
	uint64_t res_calls, res_first_ns, res_last_ns;
};

/* modules.c */
/* The build-id of m as lowercase hex into hex (2 * sizeof(m->build_id) + 1 bytes). */
void cs_symmod_build_id_hex(const struct symmod *m, char *hex);
uint32_t cs_symmod_get(struct cs_symbolizer *s, pid_t pid, const struct cs_mapping *m);
/* The load bias of module mod mapped by m (absolute = vaddr + bias). */
uint64_t cs_symmod_bias(const struct symmod *mod, const struct cs_mapping *m);
void cs_symmod_free(struct symmod *m);
/* Free every module (saving their resolution caches) and print the resolution
 * statistics if they were asked for. */
void cs_symmods_free(struct cs_symbolizer *s);

/* resolve.c */
uint32_t cs_symmod_profile_module(struct cs_symbolizer *s, struct cs_profile *p, uint32_t mod);

/* inline.c: per compilation unit, functions, inline chains and lines. */
struct cs_unit;
/* The unit covering module address a (in the resolution Dwfl), or NULL; *x receives a
 * in the unit's DWARF terms, which the calls below take. */
struct cs_unit *cs_unit_at(struct symmod *m, Dwarf_Addr a, Dwarf_Addr *x);
/* The DIEs of the function and the inlined calls covering x, innermost first, at most
 * cap of them (the outermost is the function unless cap ran out); 0 if none. */
size_t cs_unit_chain(struct cs_unit *u, Dwarf_Addr x, Dwarf_Die *out, size_t cap);
/* File and line of x from the line table (NULL, *line 0 if none). */
const char *cs_unit_line(struct cs_unit *u, Dwarf_Addr x, int *line);
/* The path of the unit's file number file (as DW_AT_call_file gives it), or NULL. */
const char *cs_unit_file(struct cs_unit *u, uint64_t file);
void cs_inline_free(struct symmod *m);

/* lines.c: a unit's line table decoded from .debug_line (DWARF 2-5), rows sorted by
 * address; files indexed by DWARF file number (DW_AT_call_file's numbering). */
struct cs_line {
	uint64_t addr; /* DWARF address (before the module's bias) */
	uint32_t line, file;
	uint32_t order; /* position in the line program */
	uint32_t end_seq;
};
struct cs_linetab {
	struct cs_line *rows;
	size_t nrows;
	char **files;
	size_t nfiles;
};
/* 0, or -1 (nothing allocated) if the unit has no line table or it cannot be read. */
int cs_linetab_read(Dwarf_Die *cudie, struct cs_linetab *t);
/* The row covering DWARF address a, or NULL. */
const struct cs_line *cs_linetab_find(const struct cs_linetab *t, Dwarf_Addr a);
/* The path of file number file, or NULL. */
const char *cs_linetab_file(const struct cs_linetab *t, uint64_t file);
void cs_linetab_release(struct cs_linetab *t);

/* plt.c: append NAME@plt symbols for the PLT stubs of elf (addresses + bias) to the
 * array *v of *n entries (capacity *cap); their names go to m->owned_names. */
void cs_plt_symbols(struct symmod *m, Elf *elf, uint64_t bias, struct sym **v, size_t *n,
		    size_t *cap);

/* resolve.c: thread CPU time now, for the statistics. */
uint64_t cs_resolve_thread_ns(void);

/* symcache.c: frames resolved in earlier runs (see there). lookup returns how many
 * frames it wrote (0: not cached); add records a fresh resolution; close saves. */
size_t cs_symcache_lookup(struct cs_symbolizer *s, struct symmod *m, struct cs_profile *p,
			  uint32_t module, uint64_t vaddr, uint32_t *out, size_t cap, int *resolved);
void cs_symcache_add(struct cs_symbolizer *s, struct symmod *m, const struct cs_profile *p,
		     uint64_t vaddr, const uint32_t *ids, size_t n, int resolved);
void cs_symcache_close(struct symmod *m);

/* debugcache.c: make an uncompressed copy of m's compressed debug file if needed,
 * before libdw first opens it. */
void cs_debugcache_prepare(struct cs_symbolizer *s, struct symmod *m);

/* debugfind.c: libdwfl's find_debuginfo callback, searching as
 * dwfl_standard_find_debuginfo does but never blocking on a FIFO nor opening a device
 * (see there), in the debuginfo path last given to cs_debugfind_use_path. */
/* The length of the root prefix of a module named under another mount namespace's
 * root (CS_ROOT_PREFIX "N/..."), or 0. */
size_t cs_root_len(const char *name);
int cs_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
		      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		      char **debuginfo_file_name);
void cs_debugfind_use_path(const char *path);

/* kallsyms.c */
size_t cs_kernel_resolve(struct cs_symbolizer *s, struct cs_profile *p, uint64_t addr,
			 uint32_t *out, int *resolved);
void cs_kernel_free(struct cs_symbolizer *s);

#endif
