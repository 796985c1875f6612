/* sampler.h - CPU sampling through perf_event_open.
 *
 * Topology (see DESIGN.md): one cpu-clock event per (thread x CPU) with inherit=1, all
 * events of a CPU redirected into one ring with PERF_EVENT_IOC_SET_OUTPUT. The kernel
 * then follows threads and processes created later and reports them with FORK, COMM
 * and MMAP2 records, without a race. Each sample carries the user registers and a copy
 * of the top of the user stack, which the caller unwinds and then forgets.
 *
 * Records are delivered in timestamp order across CPUs, one poll round at a time.
 */
#ifndef CS_SAMPLER_H
#define CS_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* perf's x86-64 user register order, as selected by CS_REGS_MASK. */
enum {
	CS_PREG_AX, CS_PREG_BX, CS_PREG_CX, CS_PREG_DX, CS_PREG_SI, CS_PREG_DI, CS_PREG_BP,
	CS_PREG_SP, CS_PREG_IP, CS_PREG_FLAGS, CS_PREG_CS, CS_PREG_SS, CS_PREG_R8, CS_PREG_R9,
	CS_PREG_R10, CS_PREG_R11, CS_PREG_R12, CS_PREG_R13, CS_PREG_R14, CS_PREG_R15,
	CS_PREG_COUNT
};
#define CS_REGS_MASK 0xff0fffULL /* all general registers; segment registers give EINVAL */

#define CS_STACK_SIZE_DEFAULT 16384
#define CS_STACK_SIZE_MAX 65528

struct cs_sampler_opts {
	unsigned hz;		/* samples per second of CPU time per thread */
	unsigned stack_size;	/* bytes of user stack copied per sample (multiple of 8) */
	int kernel;		/* also sample in kernel mode and record kernel call chains */
	int enable_on_exec;	/* launch mode: start counting when the target execs */
	size_t ring_bytes;	/* data bytes per CPU ring (power of two); 0 = automatic */
	/* Off-CPU (record --wall): also a context-switch event per (thread x CPU) into the
	 * same rings. It samples every switch-out like cpu-clock does (user registers,
	 * stack copy, kernel chain: cs_sample_rec.offcpu = 1) and adds the switch records
	 * (ops.ctxsw) that say when the thread came back and whether it was preempted. */
	int wall;
};

struct cs_sample_rec {
	uint32_t pid, tid, cpu;
	uint64_t time;		 /* CLOCK_MONOTONIC ns */
	uint64_t ip;		 /* may be a kernel address */
	int user_regs;		 /* 1 if regs[] hold the user registers */
	uint64_t regs[CS_PREG_COUNT];
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
 * later. Returns NULL after printing one error line that says what to do. */
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

/* 1 if the kernel lets this process sample kernel code (root or perf_event_paranoid
 * <= 1). */
int cs_kernel_sampling_allowed(void);

#endif
