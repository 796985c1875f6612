/* agent.h - what the agent's files share: the hook table (hooks.c), GOT rewriting
 * (got.c) and the session state (agent.c). Internal to libcsampler_agent.so. */
#ifndef CS_AGENT_AGENT_H
#define CS_AGENT_AGENT_H

#include <link.h>
#include <stddef.h>
#include <stdint.h>

struct cs_tables;

/* One hooked function. Phase 1 holds everything that can release a block (free,
 * operator delete, realloc): it is installed in every module before phase 2 (pure
 * allocators) so that no tracked block can be freed through an unhooked path. */
struct cs_hook {
	const char *name;
	void *hook;   /* the agent's replacement */
	void **real;  /* where the real function's address is kept */
	int phase;    /* 1 or 2 */
};

/* The table, sorted by name (got.c searches it by bisection). */
extern struct cs_hook cs_hooks[];
extern const size_t cs_nhooks;

/* Session state read by every hook. */
struct cs_agent_state {
	int active;	       /* hooks record; 0: forward only (relaxed atomic) */
	int sampled;	       /* CS_AGENT_SAMPLED */
	uint32_t max_depth;
	uint64_t sample_bytes;
	struct cs_tables *tables;
	const uint8_t *filter;	/* sampled mode: cs_tables_filter(tables) */
	uint64_t start_ns;
	int inexact; /* a slot could not be hooked: every snapshot is marked inexact */
	int exe_allocator; /* the main executable defines malloc (CS_READY_EXE_ALLOCATOR) */
	int abandoned;	   /* the set-up watchdog fired: install nothing more (atomic) */
	uintptr_t self_lo, self_hi; /* the agent's own mapped range: frames dropped */
};
extern struct cs_agent_state cs_state;

/* hooks.c */
/* Resolve every real function with cs_find_definition; run before any hook is
 * installed. Names not defined anywhere (no libstdc++ yet) stay NULL and are resolved
 * again when a later dlopen brings them. Sets cs_state.exe_allocator. */
void cs_hooks_resolve(void);
/* Enter / leave the per-thread reentrancy guard (the service thread and the set-up
 * code hold it so that nothing they allocate is tracked). */
void cs_guard_enter(void);
void cs_guard_leave(void);
/* Warm up the unwinder on the calling thread. */
void cs_unwind_init(void);

/* got.c */
struct cs_got_stats {
	uint32_t modules; /* modules with at least one slot rewritten */
	uint32_t slots;	  /* slots rewritten by this call */
	uint32_t failed;  /* slots that could not be rewritten (mprotect refused) */
};
/* Rewrite, in every module of the base namespace (the agent, the dynamic loader,
 * libunwind and the vDSO excepted), the GOT slots of hooked names of the given phase
 * that do not already point at the hook. Serialized by an internal mutex. */
void cs_got_install(int phase, struct cs_got_stats *st);
/* Put every slot that points at a hook back to its original value. */
void cs_got_restore(void);
/* In a child after fork: the lock anew (a thread of the parent may have held it). */
void cs_got_after_fork(void);
/* The watchdog's restore: from the table of remembered slots alone, without the
 * loader's lock (whoever is stuck may hold it) and without the allocator. Waits at most
 * about wait_ms for a running install to step aside; returns the slots put back. */
uint32_t cs_got_emergency_restore(int wait_ms);
/* Slots that point into another copy of the agent (an active session of another
 * csampler agent library in this process). */
uint32_t cs_got_foreign(void);

/* resolve.c */
/* The tables of a module's dynamic section (d_ptr values made absolute). */
struct cs_module_tables {
	const ElfW(Sym) *symtab;
	const char *strtab;
	const uint32_t *gnu_hash, *sysv_hash;
	const uint16_t *versym;
	const ElfW(Rela) *jmprel, *rela;
	size_t pltrelsz, relasz;
	int pltrel_is_rela;
};
/* The module's PT_DYNAMIC if it belongs to the base namespace, else NULL. */
const ElfW(Dyn) *cs_module_dynamic(const struct dl_phdr_info *info);
void cs_module_tables(const struct dl_phdr_info *info, const ElfW(Dyn) *dyn,
		      struct cs_module_tables *t);
/* 1 if the module path names a copy of the agent (libcsampler_agent*). */
int cs_is_agent_module(const char *name);
/* The address name resolves to for the program: its definition in the first module,
 * in load order, of the base namespace that defines it, skipping the agent, other
 * copies of it, the dynamic loader and the vDSO. A canonical PLT entry (an undefined
 * symbol with an address) is not a definition; an IFUNC definition gives NULL. Takes
 * no lock but dl_iterate_phdr's and never allocates. *in_exe (if not NULL): the
 * definition is the main executable's. */
void *cs_find_definition(const char *name, int *in_exe);

/* agent.c */
uint64_t cs_now_ns(void);
/* The process is about to end without its exit handlers (_exit): the final snapshot,
 * as at exit(), if this process has a session; then the agent is inert. */
void cs_agent_ending(void);

/* wire.c */
struct cs_msg;
/* Send one whole message (header and payload); 0 or -1. */
int cs_send_msg(int fd, uint32_t type, const void *payload, size_t len);
/* Read one message header and up to cap payload bytes into buf (the rest is
 * discarded). 0, or -1 on EOF, error or a bad magic. */
int cs_recv_msg(int fd, struct cs_msg *m, void *buf, size_t cap);
/* Wait up to ms for fd to become readable: 1, 0 on timeout, -1 on error. */
int cs_wait_readable(int fd, int ms);
/* In a child after fork: the send lock anew. */
void cs_wire_after_fork(void);

/* watchdog.c */
/* Watch the set-up: unless cs_watchdog_stop comes within CS_AGENT_SETUP_MS, set
 * cs_state.abandoned, stop recording, put the slots back (cs_got_emergency_restore)
 * and shut fd down. 0 or an errno (then nothing watches). One at a time. */
int cs_watchdog_start(int fd);
void cs_watchdog_stop(void);
/* In a child after fork: no watchdog runs there; its lock anew. */
void cs_watchdog_after_fork(void);
/* The test hook CS_AGENT_STALL_ENV of protocol.h: sleep that long, if set. */
void cs_test_stall(void);

#endif
