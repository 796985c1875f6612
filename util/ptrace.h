/* ptrace.h - stopping a thread with ptrace, reading it, letting it go: the steps the
 * ptrace sampler (sampler/ptrace.c) and the agent injection (leaks/inject.c) share.
 *
 * Threads are always taken with PTRACE_SEIZE (never PTRACE_ATTACH: no SIGSTOP is
 * sent, and a group-stop stays visible as one) and stopped with PTRACE_INTERRUPT.
 * Without PTRACE_O_EXITKILL: if csampler dies, even by SIGKILL, the kernel detaches
 * every tracee and it runs on. x86-64 only. Functions return 0 or -errno and print
 * nothing; the callers turn errors into advice. */
#ifndef CS_PTRACE_H
#define CS_PTRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* Registers in DWARF order (rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15, rip). */
#define CS_PT_NREGS 17

/* What one wait status of a seized tracee reports. */
enum cs_pt_stop {
	CS_PT_GONE,	  /* it exited or was killed */
	CS_PT_INTERRUPT,  /* a PTRACE_EVENT_STOP that is not a group-stop: our interrupt */
	CS_PT_GROUP_STOP, /* SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: keep it with PTRACE_LISTEN */
	CS_PT_SIGNAL,	  /* signal-delivery-stop: the signal must be given back on resume */
	CS_PT_EVENT,	  /* PTRACE_EVENT_CLONE, _FORK, _VFORK, _EXEC, ... */
	CS_PT_NONE,	  /* not a stop (continued) */
};

/* Decode status; *sig receives the stop signal and *event the PTRACE_EVENT_* (0 if
 * none). Either may be NULL. */
enum cs_pt_stop cs_pt_decode(int status, int *sig, int *event);

/* PTRACE_SEIZE tid with the PTRACE_O_* options; it keeps running. 0 or -errno
 * (-EPERM: refused, or traced already; -ESRCH: gone). */
int cs_pt_seize(pid_t tid, unsigned long options);
/* Ask a seized thread to stop; the stop is reported to waitpid (CS_PT_INTERRUPT,
 * unless a signal or an event comes first and uses it up). 0 or -errno. */
int cs_pt_interrupt(pid_t tid);
/* Wait for tid's next status; with nohang, 0 if none is waiting yet. The pid on a
 * status, 0, or -errno (-ECHILD: not our tracee any more). EINTR is retried. */
pid_t cs_pt_wait(pid_t tid, int *status, int nohang);

/* Registers of a stopped thread (PTRACE_GETREGSET). -EINVAL for a 32-bit thread. */
int cs_pt_get_regs(pid_t tid, struct user_regs_struct *r);
int cs_pt_set_regs(pid_t tid, const struct user_regs_struct *r);
/* r in DWARF order (CS_PT_NREGS values). */
void cs_pt_regs_dwarf(const struct user_regs_struct *r, uint64_t *dw);
/* Copy up to len bytes from address addr of tid's process (process_vm_readv), as far
 * as the memory is mapped: where a single read fails, page by page. Bytes read. */
size_t cs_pt_read(pid_t tid, uint64_t addr, void *buf, size_t len);
/* A stopped thread's registers and the top len bytes of its stack (from rsp).
 * *got receives the stack bytes read (0 is possible). 0 or -errno (registers). */
int cs_pt_snapshot(pid_t tid, struct user_regs_struct *r, void *stack, size_t len, size_t *got);

/* Resume a stopped thread, delivering sig (0: none). 0 or -errno. */
int cs_pt_resume(pid_t tid, int sig);
/* Detach a stopped thread, delivering sig (0: none). 0 or -errno. */
int cs_pt_detach(pid_t tid, int sig);
/* The signal a stop reported by status must be resumed or detached with so that the
 * thread sees what it would have seen untraced: its own signal at a
 * signal-delivery-stop, none at any other stop. */
int cs_pt_signal_to_give(int status);

#endif
