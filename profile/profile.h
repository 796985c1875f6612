/* profile.h - the in-memory profile model shared by every command.
 *
 * Everything is interned: strings -> frames -> stack nodes {frame, parent}, so a stack
 * is one index and renderers are walks over the same arrays. Samples are aggregated
 * per (stack, thread). The recorder fills a model and writes it; every reader loads a
 * recording, folded text or `perf script` text into the same model.
 *
 * Ownership: a cs_profile owns all its arrays; strings returned by cs_str() live as
 * long as the profile. Indices are stable: nothing is ever removed.
 */
#ifndef CS_PROFILE_H
#define CS_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/hash.h"
#include "util/util.h"

#define CS_NONE UINT32_MAX

enum cs_frame_flags {
	CS_FRAME_INLINE = 1u << 0,  /* inlined into the next frame toward the root */
	CS_FRAME_KERNEL = 1u << 1,  /* kernel code */
	CS_FRAME_UNKNOWN = 1u << 2, /* no symbol: func reads "module+0xOFFSET" or "[unknown]" */
	CS_FRAME_JIT = 1u << 3,	    /* JIT-compiled code (perf map / perf script "[JIT]") */
	CS_FRAME_OFFCPU = 1u << 4,  /* marker of off-CPU time: "[off-CPU: blocked]" etc. */
	CS_FRAME_PYTHON = 1u << 5,  /* a Python function (func = qualified name, file:line) */
};

struct cs_frame {
	uint32_t func;	 /* string id of the (demangled) function name */
	uint32_t file;	 /* string id of the source file; 0 = unknown */
	uint32_t line;	 /* source line; 0 = unknown */
	uint32_t module; /* index into modules, CS_NONE = unknown */
	uint32_t flags;	 /* enum cs_frame_flags */
	uint64_t addr;	 /* module-relative address (return addresses minus one); 0 = unknown */
};

enum cs_module_flags {
	CS_MODULE_KERNEL = 1u << 0,
	CS_MODULE_VDSO = 1u << 1,
	CS_MODULE_MAIN = 1u << 2, /* the main executable of a process */
};

struct cs_module {
	uint32_t path;	/* string id: the path mapped in the target */
	uint32_t name;	/* string id: what users see (basename) */
	uint32_t flags; /* enum cs_module_flags */
	uint32_t build_id_len;
	uint8_t build_id[40];
};

/* Stack node 0 is the empty stack (the root): frame = CS_NONE, parent = 0, depth = 0. */
struct cs_node {
	uint32_t frame;
	uint32_t parent;
	uint32_t depth; /* number of frames from the root to this node, inclusive */
};

struct cs_thread {
	uint32_t pid, tid;
	uint32_t name;	  /* string id: thread name (comm) */
	uint32_t process; /* string id: process name */
};

/* What a sample's weight measures (time kinds; see the time selection below). */
enum cs_time_kind {
	CS_TIME_CPU = 0,       /* on-CPU: count is a number of CPU samples (or periods) */
	CS_TIME_BLOCKED = 1,   /* off-CPU, waiting (sleep, I/O, lock): count is nanoseconds */
	CS_TIME_PREEMPTED = 2, /* off-CPU, runnable but another task ran: nanoseconds */
	CS_TIME_KINDS
};

struct cs_sample {
	uint32_t stack;	 /* stack node of the leaf frame */
	uint32_t thread; /* index into threads */
	uint64_t count;	 /* in the unit of kind; after cs_profile_select_time, the selection's */
	uint32_t kind;	 /* enum cs_time_kind */
};

/* One point of the once-a-second process timeline. */
struct cs_tick {
	uint64_t t_ms;	/* since the start of recording */
	uint64_t rss;	/* bytes */
	uint32_t threads;
	uint32_t fds;
	double cpu_pct; /* 100 = one core busy */
	uint64_t samples; /* samples taken during this second */
};

/* Allocations of one call stack at one leak snapshot. */
struct cs_leak_site {
	uint32_t stack;	 /* stack node of the allocation's caller */
	uint64_t bytes;	 /* outstanding at the snapshot */
	uint64_t blocks;
	uint64_t oldest_age_ns; /* age of the oldest outstanding block at the snapshot */
	/* Since the process's tracking began; 0 unless the snapshot has CS_LEAK_TOTALS: */
	uint64_t allocs;      /* allocations made here */
	uint64_t alloc_bytes; /* the bytes they asked for */
	uint64_t temporary;   /* of them, freed before their thread allocated or freed
				 anything else (heaptrack's "temporary") */
	uint64_t peak_bytes;  /* outstanding here when the process's tracked heap peaked */
	uint32_t stacks;      /* views: call stacks merged into this site (0 in a recording) */
};

enum cs_leak_snapshot_flags {
	CS_LEAK_TOTALS = 1u << 0, /* allocation totals and the heap's peak are known */
	CS_LEAK_FINAL = 1u << 1,  /* taken as the process ended */
};

struct cs_leak_snapshot {
	double time_s; /* since the start of recording */
	int exact;     /* 0 if any event may have been lost or figures are sampled estimates */
	int sampled;   /* figures are estimates from byte-sampling */
	uint64_t sample_bytes; /* mean sampling period in bytes when sampled */
	uint64_t pre_attach_frees; /* frees of blocks allocated before attach (ignored) */
	uint32_t process; /* index into leak_procs (0 when a recording has none) */
	uint32_t flags;	  /* enum cs_leak_snapshot_flags */
	/* The process's totals since its tracking began (with CS_LEAK_TOTALS): */
	uint64_t allocs, frees, temporary, alloc_bytes;
	uint64_t peak_bytes; /* the most tracked bytes ever outstanding at once */
	double peak_time_s;  /* when, since the start of recording */
	CS_VEC(struct cs_leak_site) sites; /* sites with outstanding blocks or allocations */
};

enum cs_leak_process_flags {
	CS_LPROC_EXITED = 1u << 0,   /* ended normally, with a final snapshot */
	CS_LPROC_SIGNALED = 1u << 1, /* killed by a signal, with a final snapshot */
	CS_LPROC_VANISHED = 1u << 2, /* its session ended without a final snapshot: it
					exec'd another program, called _exit or was
					killed by SIGKILL */
};

/* A process whose allocations were tracked, in a session of its own: the one
 * csampler launched or attached to, and in launch mode every process it started
 * (children after fork, programs after exec: a program exec'd is a new entry with the
 * same pid). Recordings from before processes were kept have none: their snapshots
 * belong to the process of meta. */
struct cs_leak_process {
	uint32_t pid, ppid; /* as csampler sees them (ppid 0: unknown) */
	uint32_t command;   /* string id: its command line */
	uint32_t flags;	    /* enum cs_leak_process_flags */
	double start_s;	    /* tracking began, since the start of recording */
	double end_s;	    /* its session ended (0: it ran on after the recording) */
};

/* The tracked heap of one process at one tick of the timeline (the RSS timeline's
 * ticks: the same t_ms). */
struct cs_heap_point {
	uint64_t t_ms;
	uint32_t process; /* index into leak_procs */
	uint64_t bytes;	  /* tracked outstanding */
	uint64_t allocs;  /* allocations so far */
};

enum cs_source {
	CS_SOURCE_RECORDING = 0, /* written by csampler record */
	CS_SOURCE_FOLDED = 1,	 /* folded stacks text */
	CS_SOURCE_PERF_SCRIPT = 2,
};

struct cs_meta {
	uint32_t source;  /* enum cs_source */
	uint32_t command; /* string id: command line of the target */
	uint32_t hostname, kernel, event; /* string ids */
	uint32_t arch;	  /* string id */
	int64_t pid;	  /* target pid; 0 if launched/imported */
	uint64_t start_unix_ns;
	uint32_t hz;
	uint32_t stack_size;
};

struct cs_stats {
	uint64_t samples;	/* samples kept in the profile */
	uint64_t lost;		/* samples the kernel dropped (ring full) */
	uint64_t complete;	/* user stacks unwound to the thread's root frame */
	uint64_t truncated;	/* user stacks the unwinder could not finish */
	uint64_t kernel_only;	/* samples without user registers (kernel threads) */
	uint64_t unresolved;	/* distinct addresses without any symbol */
	uint64_t threads;	/* threads seen */
	uint64_t processes;	/* processes seen */
	uint64_t duration_ns;	/* wall time of recording */
	uint64_t profiler_cpu_ns; /* CPU time csampler spent */
	uint64_t target_cpu_ns; /* CPU time of the target during recording, when known */
	/* how stacks ended (record): completed, and why the truncated ones stopped */
	uint64_t live_completed; /* complete thanks to live memory read past the stack copy */
	uint64_t cut_copy;	 /* the stack copy ran out (live memory could not go on) */
	uint64_t cut_nofile;	 /* at code of a file csampler could not open */
	uint64_t cut_jit;	 /* in JIT code whose frame-pointer chain ended */
	uint64_t cut_depth;	 /* deeper than the frames kept */
	uint64_t jit_samples;	 /* samples with JIT frames */
	uint64_t jit_unnamed;	 /* ... of which some JIT frame no perf map or jitdump names */
	/* record --wall: */
	uint64_t offcpu_events;	 /* off-CPU intervals kept (a switch-out and its return) */
	uint64_t offcpu_lost;	 /* off-CPU intervals whose switch-out stack was lost (the
				  * time is kept, under an "[off-CPU stack lost]" frame) */
	uint64_t offcpu_unmatched; /* switch-outs whose return was lost: time not counted */
	uint64_t offcpu_complete;  /* off-CPU user stacks unwound to the thread root */
	uint64_t offcpu_truncated; /* ... and not */
	/* Python frames (record): samples with interpreter frames in a CPython process,
	 * those merged, those kept native because the Python frames did not match the
	 * interpreter frames or could not be read, and the summed read delay (ns). */
	uint64_t py_samples, py_merged, py_mismatch, py_unreadable, py_lag_ns;
	uint64_t py_late;  /* ... kept native because they were read too late */
	uint64_t py_moved; /* ... because the sample showed other code running */
	uint64_t py_gil;   /* merged samples whose thread held the GIL when read */
};

/* Per-thread times of a wall-clock recording (record --wall), by thread index. */
struct cs_thread_time {
	uint64_t span_ns;  /* wall time the thread existed while it was recorded */
	uint64_t oncpu_ns; /* its on-CPU time, measured from its context switches */
	/* Filled by cs_profile_select_time from the stacks (after the thread filters):
	 * its time per kind in ns, CPU time as samples x cpu_period_ns. */
	uint64_t ns[CS_TIME_KINDS];
};

/* Time kinds of the profile. A recording without off-CPU time (every CPU recording,
 * folded and perf script text) has wall = 0 and only CS_TIME_CPU samples. */
struct cs_times {
	int wall;		/* off-CPU time was recorded: every time kind is known */
	uint64_t cpu_period_ns; /* CPU time one CPU sample stands for (wall recordings) */
	unsigned shown;		/* the selection the counts hold (cs_profile_select_time);
				 * 0: the raw counts of each kind */
	CS_VEC(struct cs_thread_time) threads; /* by thread index; may be shorter */
};

struct cs_strtab {
	char *arena;
	size_t arena_n, arena_cap;
	uint64_t *off; /* offset into arena; strings are NUL-terminated there */
	uint32_t *len;
	size_t n, cap;
	struct cs_index ix;
};

struct cs_profile {
	struct cs_strtab strs;
	CS_VEC(struct cs_frame) frames;
	struct cs_index frame_ix;
	CS_VEC(struct cs_node) nodes;
	struct cs_index node_ix; /* the nodes not numbered right after their parent */
	CS_VEC(struct cs_module) modules;
	struct cs_index module_ix;
	CS_VEC(struct cs_thread) threads;
	struct cs_index thread_ix;
	CS_VEC(struct cs_sample) samples;
	struct cs_map64 sample_ix; /* (stack << 32 | thread) -> index into samples */
	CS_VEC(struct cs_tick) timeline;
	CS_VEC(struct cs_leak_snapshot) leaks;
	CS_VEC(struct cs_leak_process) leak_procs;
	CS_VEC(struct cs_heap_point) heap;
	struct cs_meta meta;
	struct cs_stats stats;
	struct cs_times times;
};

void cs_profile_init(struct cs_profile *p);
void cs_profile_release(struct cs_profile *p);

/* Intern a string (any bytes but NUL); id 0 is always "". */
uint32_t cs_profile_str(struct cs_profile *p, const char *s, size_t len);
uint32_t cs_profile_cstr(struct cs_profile *p, const char *s);
static inline const char *cs_str(const struct cs_profile *p, uint32_t id)
{
	return p->strs.arena + p->strs.off[id];
}
static inline uint32_t cs_strlen(const struct cs_profile *p, uint32_t id)
{
	return p->strs.len[id];
}

/* Intern a frame / module / thread; returns its index. */
uint32_t cs_profile_frame(struct cs_profile *p, const struct cs_frame *f);
uint32_t cs_profile_module(struct cs_profile *p, const struct cs_module *m);
uint32_t cs_profile_thread(struct cs_profile *p, uint32_t pid, uint32_t tid, uint32_t name,
			   uint32_t process);
/* The node for `frame` called from node `parent` (0 = root). */
uint32_t cs_profile_node(struct cs_profile *p, uint32_t parent, uint32_t frame);
/* Append the chain frames[0..n) under parent, each node the child of the one before,
 * when the caller knows parent has no child with frames[0] yet (it was just created,
 * say): no lookups, and at most one index entry (nodes numbered right after their
 * parent need none). The new nodes are numbered from p->nodes.n on; returns the last
 * (parent if n is 0). */
uint32_t cs_profile_chain(struct cs_profile *p, uint32_t parent, const uint32_t *frames, size_t n);
/* The node of a whole stack given root first. */
uint32_t cs_profile_stack(struct cs_profile *p, const uint32_t *frames, size_t n);
/* Add count samples of stack in thread (thread may be CS_NONE: uses thread 0, created
 * as "all" on demand). A count that would pass UINT64_MAX stays at UINT64_MAX. */
void cs_profile_add(struct cs_profile *p, uint32_t stack, uint32_t thread, uint64_t count);
/* Add value (samples for CS_TIME_CPU, nanoseconds otherwise) of time kind kind to
 * stack in thread; cs_profile_add is cs_profile_add_time(..., CS_TIME_CPU, count). A
 * (stack, thread) pair holds one row per kind. */
void cs_profile_add_time(struct cs_profile *p, uint32_t stack, uint32_t thread, uint32_t kind,
			 uint64_t value);
/* The sum of all counts, UINT64_MAX if it does not fit (cs_profile_load refuses such
 * a profile, so for a loaded one every sum of counts fits). */
uint64_t cs_profile_total(const struct cs_profile *p);

/* ---- time selection: which time the views show (profile/timesel.c) ----
 *
 * A selection is a set of time kinds. `--time cpu` shows CPU samples as they are
 * (counts stay sample counts, so CPU recordings read as always); `off` (blocked +
 * preempted), `wall` (all three), `blocked` and `preempted` show microseconds: a CPU
 * sample then weighs cpu_period_ns. Every view does the same two steps after loading:
 *
 *     unsigned sel = asked ? asked : cs_time_default(p);
 *     if (cs_profile_select_time(p, sel) < 0) fail;      // counts now hold sel's weight
 *
 * after which it renders p as it renders any profile; rows keep their kind, so a view
 * can still split a total into CPU and off-CPU (the flamegraph's tooltip does). */
enum cs_time_sel {
	CS_SEL_CPU = 1u << CS_TIME_CPU,
	CS_SEL_BLOCKED = 1u << CS_TIME_BLOCKED,
	CS_SEL_PREEMPTED = 1u << CS_TIME_PREEMPTED,
	CS_SEL_OFF = CS_SEL_BLOCKED | CS_SEL_PREEMPTED,
	CS_SEL_WALL = CS_SEL_CPU | CS_SEL_OFF,
};
/* "cpu", "off", "wall", "blocked", "preempted" -> selection; 0 if none of them. */
unsigned cs_time_parse(const char *s);
/* The name of a selection ("cpu", "off", "wall", ...). */
const char *cs_time_name(unsigned sel);
/* What a view shows when not told: wall for a wall recording, else cpu. */
unsigned cs_time_default(const struct cs_profile *p);
/* 1 if the selection's counts are microseconds (every selection but cpu). */
static inline int cs_time_in_us(unsigned sel)
{
	return sel && sel != CS_SEL_CPU;
}
/* The weight of one sample row under sel: samples for CS_SEL_CPU, else microseconds
 * (rounded), 0 if its kind is not selected. Reads the raw counts (before
 * cs_profile_select_time). */
uint64_t cs_sample_weight(const struct cs_profile *p, const struct cs_sample *s, unsigned sel);
/* Make every count its weight under sel, in place, and drop the rows of other kinds.
 * 0, or -1 after one error line (sel asks for off-CPU time of a recording that has
 * none, or the weights add up past 64 bits). Once per profile. */
int cs_profile_select_time(struct cs_profile *p, unsigned sel);

/* Keep only some threads' samples (in place; threads stay in the table). */
struct cs_thread_filter {
	const uint32_t *tids; /* keep threads with one of these tids (ntids 0: any) */
	size_t ntids;
	const char *comm;     /* keep threads with this name, or of a process of this name */
	int exclude_idle;     /* drop threads without any CPU sample */
};
/* 0, or -1 after one error line when nothing is left. Call before
 * cs_profile_select_time (exclude_idle reads the CPU rows). */
int cs_profile_filter_threads(struct cs_profile *p, const struct cs_thread_filter *f);

/* Frames of node leaf, root first, into out (capacity cap); returns the depth (which
 * may exceed cap: then only the first cap frames root-first were stored). */
size_t cs_profile_frames(const struct cs_profile *p, uint32_t leaf, uint32_t *out, size_t cap);

/* The function name of a frame, for display. */
static inline const char *cs_frame_name(const struct cs_profile *p, const struct cs_frame *f)
{
	return cs_str(p, f->func);
}
const char *cs_module_name(const struct cs_profile *p, uint32_t module);

/* Recording file. cs_profile_write writes path as util/outfile.h says (a regular file
 * atomically, so a partial file never carries the final name; "-" is standard output).
 * cs_profile_write_to writes to f; write errors then show in ferror(f). All return 0
 * or -1 after printing one error line. */
int cs_profile_write(const struct cs_profile *p, const char *path);
int cs_profile_write_to(const struct cs_profile *p, FILE *f);
int cs_profile_decode(struct cs_profile *p, const void *data, size_t n, const char *name);
/* Does this buffer start like a recording? */
int cs_profile_is_recording(const void *data, size_t n);

/* Options that change how text profiles (perf script) are imported. */
struct cs_import_opts {
	int pid;    /* prefix stacks with "comm-pid" (stackcollapse-perf --pid) */
	int tid;    /* prefix stacks with "comm-pid/tid" (--tid) */
	int kernel; /* annotate kernel frames with _[k] (--kernel) */
	int jit;    /* annotate JIT frames with _[j] (--jit) */
	int addrs;  /* name unknown frames by their address (--addrs) */
	int inline_frames; /* expand inlined frames if present in the input */
	int compat; /* perf script: stackcollapse-perf.pl's rules exactly, quirks included
		     * (fold's default); kernel and jit then suffix the names themselves */
};

/* Load any supported profile: a recording, folded stacks or perf script text,
 * detected from the content. path "-" reads stdin. */
int cs_profile_load(struct cs_profile *p, const char *path, const struct cs_import_opts *o);

#endif
