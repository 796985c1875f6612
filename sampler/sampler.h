/* sampler.h - CPU sampling of a process and everything it creates: the sample sources.
 *
 * One interface, several backends (sampler/backend.h), each delivering the same
 * records: samples (thread, time, weight, user registers in DWARF order, a copy of the
 * top of the user stack), mappings, thread names, forks and exits.
 *
 * - perf (perf.c): one cpu-clock event per (thread x CPU) with inherit=1, all events of
 *   a CPU redirected into one ring with PERF_EVENT_IOC_SET_OUTPUT. The kernel follows
 *   threads and processes created later (FORK, COMM, MMAP2 records) without a race.
 *   Records are delivered in timestamp order across CPUs, one poll round at a time.
 * - ptrace (ptrace.c): where perf events are refused (seccomp, no CAP_PERFMON,
 *   perf_event_paranoid 3). Every thread is seized; a thread that used a period of CPU
 *   is interrupted, its registers and stack read, and resumed. No kernel frames.
 *
 * The caller unwinds each sample's stack copy and then forgets it.
 */
#ifndef CS_SAMPLER_H
#define CS_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Registers of a sample, in DWARF x86-64 numbering: rax rdx rcx rbx rsi rdi rbp rsp
 * r8..r15, then the return address column (rip). */
#define CS_SAMPLE_NREGS 17
enum { CS_DREG_SP = 7, CS_DREG_IP = 16 };

enum cs_sampler_kind {
	CS_SAMPLER_AUTO,   /* perf; ptrace when perf events are refused */
	CS_SAMPLER_PERF,
	CS_SAMPLER_PTRACE,
};

/* Under the ptrace sampler chosen by fallback, rates above this are lowered (with a
 * notice): each sample stops the thread for tens of microseconds. */
#define CS_PTRACE_HZ_CAP 250

#define CS_STACK_SIZE_DEFAULT 16384
#define CS_STACK_SIZE_MAX 65528

struct cs_sampler_opts {
	unsigned hz;		/* samples per second of CPU time per thread */
	unsigned stack_size;	/* bytes of user stack copied per sample (multiple of 8) */
	int kernel;		/* also sample in kernel mode and record kernel call chains */
	int enable_on_exec;	/* launch mode (held by cs_launch_prepare): start at its exec */
	size_t ring_bytes;	/* data bytes per CPU ring (power of two); 0 = automatic */
	/* Off-CPU (record --wall): also a context-switch event per (thread x CPU) into the
	 * same rings. It samples every switch-out like cpu-clock does (user registers,
	 * stack copy, kernel chain: cs_sample_rec.offcpu = 1) and adds the switch records
	 * (ops.ctxsw) that say when the thread came back and whether it was preempted. */
	int wall;
	int kind;		/* enum cs_sampler_kind */
};

struct cs_sample_rec {
	uint32_t pid, tid, cpu;
	uint64_t time;		 /* CLOCK_MONOTONIC ns */
	uint64_t ip;		 /* may be a kernel address */
	uint64_t weight;	 /* periods of CPU time this sample stands for (>= 1) */
	int user_regs;		 /* 1 if regs[] hold the user registers */
	uint64_t regs[CS_SAMPLE_NREGS]; /* DWARF order (CS_DREG_*) */
	const uint8_t *stack;	 /* copy of the user stack starting at regs[SP] */
	size_t stack_len;	 /* valid bytes in stack */
	const uint64_t *kchain;	 /* kernel call chain, leaf first (no context markers) */
	size_t kchain_len;
	int in_kernel;		 /* the sample interrupted kernel code */
	int offcpu;		 /* taken as the thread left the CPU (opts.wall) */
};

struct cs_mmap_rec {
	uint32_t pid, tid;
	uint64_t start, len, pgoff;
	uint32_t maj, min;
	uint64_t ino;
	uint32_t prot, flags;
	const char *filename;
	uint64_t time;
};

/* What the sampler delivers; any callback may be NULL. */
struct cs_sampler_ops {
	void (*sample)(void *ctx, const struct cs_sample_rec *s);
	void (*mmap)(void *ctx, const struct cs_mmap_rec *m);
	void (*comm)(void *ctx, uint32_t pid, uint32_t tid, const char *comm, int exec,
		     uint64_t time);
	void (*fork)(void *ctx, uint32_t pid, uint32_t ppid, uint32_t tid, uint32_t ptid,
		     uint64_t time);
	void (*exit)(void *ctx, uint32_t pid, uint32_t ppid, uint32_t tid, uint32_t ptid,
		     uint64_t time);
	void (*lost)(void *ctx, uint64_t count);
	/* opts.wall: thread tid left the CPU (out; preempt: it was still runnable) or
	 * came back to it (!out), at time. A switch-out's sample comes first. */
	void (*ctxsw)(void *ctx, uint32_t pid, uint32_t tid, uint64_t time, int out, int preempt);
};

struct cs_sampler;

/* Open sampling of every thread of process pid (attach) and of everything it creates
 * later, with the backend o->kind names. CS_SAMPLER_AUTO tries perf, and when perf
 * events are refused (EACCES, EPERM, ENOSYS) prints one line saying why and samples
 * with ptrace. Returns NULL after printing one error line that says what to do. */
struct cs_sampler *cs_sampler_open(pid_t pid, const struct cs_sampler_opts *o);
void cs_sampler_close(struct cs_sampler *s);

/* Number of threads the sampler attached to when it opened. */
size_t cs_sampler_threads(const struct cs_sampler *s);

/* Wait up to timeout_ms for data, then deliver everything available in time order.
 * Returns the number of records delivered, 0 on timeout, -1 on error (printed). An
 * interrupting signal returns 0. */
int cs_sampler_poll(struct cs_sampler *s, int timeout_ms, const struct cs_sampler_ops *ops,
		    void *ctx);
/* opts.wall: 1 if switch-outs come with their stacks; 0 if the kernel allowed only the
 * switch records (kernel.perf_event_paranoid >= 2 without CAP_PERFMON): off-CPU time
 * is then known per thread but not per stack. */
int cs_sampler_offcpu_stacks(const struct cs_sampler *s);

/* Stop sampling (disable every event); remaining data can still be read with poll. */
void cs_sampler_disable(struct cs_sampler *s);

/* What a sampler is and what it cost the target. */
struct cs_sampler_info {
	const char *name;	/* "perf" or "ptrace" */
	int kernel;		/* kernel frames are recorded */
	unsigned hz;		/* the rate in use (ptrace may cap it) */
	int fallback;		/* ptrace was chosen because perf events were refused */
	uint64_t stops;		/* ptrace: samples that stopped a thread */
	double stop_median_us;	/* ptrace: how long a thread was held stopped per sample */
	double stop_max_us;
	double trip_median_us;	/* ptrace: from interrupt to resume, with the time the */
	double trip_max_us;	/* thread took to reach its stop (scheduling delays) */
	int offcpu_stacks;	/* perf with opts.wall: switch-outs come with their stacks */
};
void cs_sampler_info(const struct cs_sampler *s, struct cs_sampler_info *info);

/* waitpid(pid, status, WNOHANG) for a launched child, which the ptrace backend reaps
 * itself as its tracer: then its status is kept and given here. */
pid_t cs_sampler_waitpid(struct cs_sampler *s, pid_t pid, int *status);

/* The backend named by "perf" / "ptrace" / "auto", or -1. */
int cs_sampler_kind_parse(const char *name);

/* 1 if the kernel lets this process sample kernel code (root or perf_event_paranoid
 * <= 1). */
int cs_kernel_sampling_allowed(void);

#endif
