/* inject.c - dlopen() a library inside a running process (see inject.h).
 *
 * 1. Before stopping anything: find dlopen in the target's libc, find unused
 *    executable bytes (a code cave), build the symbol tables used by the safety check.
 * 2. PTRACE_SEIZE + PTRACE_INTERRUPT one thread. Unwind its stack; if any frame is in
 *    the allocator, the dynamic loader, fork, exit or a signal handler, let it go and
 *    try again a moment later (possibly another thread).
 * 3. At a safe point: write the trampoline (trampoline.S) with the thread's registers
 *    into the cave through /proc/PID/mem, set rip to it and rsp below the red zone,
 *    and PTRACE_DETACH. The thread loads the library and restores itself; csampler may
 *    die at any moment after this without harming it.
 * A thread stopped inside a system call gets it re-issued exactly as the kernel's
 * restart logic would have done.
 */
#include "inject.h"
#include "profile/profile.h"
#include "util/proc.h"
#include "util/ptrace.h"
#include "util/util.h"

#include <cpuid.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>
#include <syscall.h>
#include <time.h>
#include <unistd.h>

extern const char cs_tramp_begin[], cs_tramp_data[], cs_tramp_end[];

/* Same order as the data block in trampoline.S. */
struct tramp_data {
	uint64_t fn_dlopen, use_xsave, fn_dlsym;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t flags, rip, rsp;
};

#define MAX_ATTEMPTS 400
#define STACK_READ (32 * 1024)
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* Functions on the stack that make a thread unsafe to borrow: it may hold the
 * allocator's or the loader's locks, or run in a signal handler. */
static const char *const unsafe_names[] = {
	"malloc", "free", "calloc", "realloc", "memalign", "aligned_alloc", "valloc", "_int_",
	"tcache", "arena", "sysmalloc", "morecore", "_dl_", "dl_open", "dl_close", "dlopen",
	"dlclose", "dlsym", "dlmopen", "dl_iterate_phdr", "fork", "_Fork", "__restore_rt",
	"pthread_create", "exit", "_Unwind", "__cxa_", "_Znw", "_Zna", "_Zdl", "_Zda", "_IO_",
	"csampler",
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int have_xsave(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c & (1u << 26)) && (c & (1u << 27)); /* XSAVE and OSXSAVE */
}

/* Wait for tid's ptrace stop. Returns 1 for our interrupt stop, 0 if it stopped for
 * something else (handled: the thread was let go), -1 if it is gone. */
static int wait_interrupt_stop(pid_t tid)
{
	for (;;) {
		int status;
		if (cs_pt_wait(tid, &status, 0) < 0)
			return -1;
		switch (cs_pt_decode(status, NULL, NULL)) {
		case CS_PT_GONE:
			return -1;
		case CS_PT_NONE:
			continue;
		case CS_PT_INTERRUPT:
			return 1;
		default:
			/* A signal is being delivered, or the process is in a group stop: give
			 * the signal back and let the thread go; we try again later. */
			cs_pt_detach(tid, cs_pt_signal_to_give(status));
			return 0;
		}
	}
}

_Static_assert(CS_DWARF_NREGS == CS_PT_NREGS, "one register order");

/* Is the stopped thread at a point where it may call dlopen? */
static int safe_point(struct cs_symbolizer *sym, pid_t pid, pid_t tid,
		      const struct user_regs_struct *r, const uint8_t *stack, size_t got,
		      char *why, size_t whylen)
{
	uint64_t regs[CS_DWARF_NREGS];
	cs_pt_regs_dwarf(r, regs);
	struct cs_uframe fr[256];
	size_t n;
	int complete = cs_sym_unwind(sym, pid, tid, regs, stack, got, fr, 256, &n);
	if (complete != CS_UNWIND_COMPLETE) {
		snprintf(why, whylen, "its stack could not be unwound");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = cs_sym_func_name(sym, fr[i]);
		if (!name) {
			if (fr[i].module == CS_SYM_NOMOD) {
				snprintf(why, whylen, "it runs code outside any file");
				return 0;
			}
			continue;
		}
		for (size_t k = 0; k < CS_ARRAY_SIZE(unsafe_names); k++)
			if (strstr(name, unsafe_names[k])) {
				snprintf(why, whylen, "it is inside %s", name);
				return 0;
			}
	}
	return 1;
}

/* The stack read at each stop (one injection at a time). */
static uint8_t stack[STACK_READ];

static int write_mem(int fd, uint64_t addr, const void *buf, size_t n)
{
	return pwrite(fd, buf, n, (off_t)addr) == (ssize_t)n ? 0 : -1;
}

int cs_inject_dlopen(struct cs_symbolizer *sym, pid_t pid, const char *path,
		     const struct cs_inject_call *call, struct cs_inject_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (cs_sym_proc_load(sym, pid) < 0)
		return cs_error("no process with PID %d", (int)pid);
	uint64_t fn = 0;
	if (cs_sym_find_symbol(sym, pid, "libc.so", "dlopen", &fn) < 0 &&
	    cs_sym_find_symbol(sym, pid, "libc.so", "__libc_dlopen_mode", &fn) < 0)
		return cs_error("cannot load the agent into PID %d: no dlopen in its C library "
				"(a static or non-glibc program?)",
				(int)pid);
	uint64_t fn_sym = 0;
	/* With libc's debug symbols the public names may hide behind internal aliases;
	 * glibc's private __libc_dlsym takes the same (handle, name). */
	if (call && cs_sym_find_symbol(sym, pid, "libc.so", "dlsym", &fn_sym) < 0 &&
	    cs_sym_find_symbol(sym, pid, "libc.so", "__libc_dlsym", &fn_sym) < 0 &&
	    cs_sym_find_symbol(sym, pid, "libdl.so", "dlsym", &fn_sym) < 0)
		return cs_error("cannot load the agent into PID %d: no dlsym in its C library",
				(int)pid);
	if (call && (strlen(call->entry) >= CS_INJECT_ENTRY_MAX || call->arg_len > CS_INJECT_ARG_MAX))
		return cs_error("internal error: injected call too large");
	size_t code = (size_t)(cs_tramp_data - cs_tramp_begin);
	size_t fixed = (size_t)(cs_tramp_end - cs_tramp_begin);
	size_t size = fixed + strlen(path) + 1;
	if (fixed != code + sizeof(struct tramp_data) + CS_INJECT_ENTRY_MAX + CS_INJECT_ARG_MAX)
		return cs_error("internal error: trampoline.S and inject.c disagree on the layout");
	uint64_t cave;
	if (cs_sym_code_cave(sym, pid, size, &cave) < 0)
		return cs_error("cannot load the agent into PID %d: found no %zu unused bytes of "
				"executable memory",
				(int)pid, size);
	cs_sym_prepare(sym, pid);
	uint8_t *blob = cs_xmalloc(size);
	memcpy(blob, cs_tramp_begin, fixed);
	if (call) {
		/* entry and arg follow the register block (trampoline.S) */
		uint8_t *e = blob + code + sizeof(struct tramp_data);
		memset(e, 0, CS_INJECT_ENTRY_MAX + CS_INJECT_ARG_MAX);
		strcpy((char *)e, call->entry);
		memcpy(e + CS_INJECT_ENTRY_MAX, call->arg, call->arg_len);
	}
	strcpy((char *)blob + fixed, path);

	pid_t *tids = NULL;
	size_t ntids = 0;
	char why[256] = "";
	int ret = -1, memfd = -1;
	/* Write the code now, while no thread is stopped: nothing executes the cave.
	 * During the stop only the register block is written, to a page already made
	 * private by this first write. */
	char mempath[64];
	snprintf(mempath, sizeof(mempath), "/proc/%d/mem", (int)pid);
	memfd = open(mempath, O_RDWR | O_CLOEXEC);
	if (memfd < 0 || write_mem(memfd, cave, blob, size) < 0) {
		cs_error("cannot write into the memory of PID %d: %s", (int)pid, strerror(errno));
		goto out;
	}
	struct timespec first;
	clock_gettime(CLOCK_MONOTONIC, &first);
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		if (attempt % 20 == 0) {
			free(tids);
			tids = NULL;
			if (cs_proc_tasks(pid, &tids, &ntids) < 0 || !ntids) {
				cs_error("PID %d exited while csampler attached", (int)pid);
				goto out;
			}
		}
		/* Mostly the main thread (tids[0] is the lowest id), others now and then. */
		pid_t tid = tids[(attempt % 4 == 3) ? (size_t)attempt / 4 % ntids : 0];
		int e = cs_pt_seize(tid, 0);
		if (e < 0) {
			if (e == -ESRCH)
				continue;
			if (e == -EPERM)
				cs_error("cannot attach to PID %d with ptrace: permission denied (is a "
					 "debugger attached? otherwise run as root, or set sysctl "
					 "kernel.yama.ptrace_scope to 0)",
					 (int)pid);
			else
				cs_error("cannot attach to PID %d with ptrace: %s", (int)pid,
					 strerror(-e));
			goto out;
		}
		/* While the thread is stopped, run at real-time priority (when permitted) so
		 * that other work on a busy machine cannot stretch the stop. */
		struct sched_param rt = {1}, normal = {0};
		int boosted = sched_setscheduler(0, SCHED_FIFO, &rt) == 0;
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (cs_pt_interrupt(tid) < 0) {
			if (boosted)
				sched_setscheduler(0, SCHED_OTHER, &normal);
			cs_pt_detach(tid, 0);
			continue;
		}
		int w = wait_interrupt_stop(tid);
		if (w <= 0) {
			if (boosted)
				sched_setscheduler(0, SCHED_OTHER, &normal);
			st->stops++;
			continue; /* gone, or let go after a signal */
		}
		st->stops++;
		struct user_regs_struct r;
		size_t got;
		int ok = cs_pt_snapshot(tid, &r, stack, sizeof(stack), &got) == 0 &&
			 safe_point(sym, pid, tid, &r, stack, got, why, sizeof(why));
		if (ok) {
			struct tramp_data d;
			memset(&d, 0, sizeof(d));
			d.fn_dlopen = fn;
			d.use_xsave = (uint64_t)have_xsave();
			d.fn_dlsym = fn_sym;
			d.rax = r.rax;
			d.rbx = r.rbx;
			d.rcx = r.rcx;
			d.rdx = r.rdx;
			d.rsi = r.rsi;
			d.rdi = r.rdi;
			d.rbp = r.rbp;
			d.r8 = r.r8;
			d.r9 = r.r9;
			d.r10 = r.r10;
			d.r11 = r.r11;
			d.r12 = r.r12;
			d.r13 = r.r13;
			d.r14 = r.r14;
			d.r15 = r.r15;
			d.flags = r.eflags;
			d.rip = r.rip;
			d.rsp = r.rsp;
			/* Interrupted inside a system call: re-issue it on return, as the
			 * kernel would have (our register change suppresses its restart). */
			if ((int64_t)r.orig_rax >= 0) {
				int64_t err = -(int64_t)r.rax;
				if (err == ERESTARTSYS || err == ERESTARTNOINTR || err == ERESTARTNOHAND) {
					d.rax = r.orig_rax;
					d.rip = r.rip - 2;
				} else if (err == ERESTART_RESTARTBLOCK) {
					d.rax = SYS_restart_syscall;
					d.rip = r.rip - 2;
				}
			}
			struct user_regs_struct nr = r;
			nr.rip = cave;
			nr.rsp = (r.rsp - 256) & ~15ull;
			nr.orig_rax = (unsigned long long)-1; /* no syscall restart for this */
			e = write_mem(memfd, cave + code, &d, sizeof(d)) < 0 ? -errno
									       : cs_pt_set_regs(tid, &nr);
			if (e < 0) {
				cs_pt_set_regs(tid, &r);
				cs_pt_detach(tid, 0);
				if (boosted)
					sched_setscheduler(0, SCHED_OTHER, &normal);
				cs_error("cannot load the agent into PID %d: %s", (int)pid, strerror(-e));
				goto out;
			}
		}
		cs_pt_detach(tid, 0);
		double stop = ms_since(&t0);
		if (boosted)
			sched_setscheduler(0, SCHED_OTHER, &normal);
		if (stop > st->max_stop_ms)
			st->max_stop_ms = stop;
		if (ok) {
			st->tid = tid;
			st->total_ms = ms_since(&first);
			ret = 0;
			goto out;
		}
		/* Not now: let it run a little. */
		struct timespec pause = {0, 2000000};
		nanosleep(&pause, NULL);
	}
	cs_error("cannot load the agent into PID %d: no thread reached a safe point in %d tries "
		 "(last: %s)",
		 (int)pid, MAX_ATTEMPTS, why);
out:
	if (memfd >= 0)
		close(memfd);
	free(tids);
	free(blob);
	return ret;
}
