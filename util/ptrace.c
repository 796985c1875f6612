/* ptrace.c - stop, read, resume a thread with ptrace (see ptrace.h). */
#include "ptrace.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

static int is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

enum cs_pt_stop cs_pt_decode(int status, int *sig, int *event)
{
	int s = 0, e = 0;
	enum cs_pt_stop kind = CS_PT_NONE;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		kind = CS_PT_GONE;
	} else if (WIFSTOPPED(status)) {
		s = WSTOPSIG(status);
		e = (status >> 16) & 0xff;
		if (!e)
			kind = CS_PT_SIGNAL;
		else if (e == PTRACE_EVENT_STOP)
			kind = is_stop_signal(s) ? CS_PT_GROUP_STOP : CS_PT_INTERRUPT;
		else
			kind = CS_PT_EVENT;
	}
	if (sig)
		*sig = s;
	if (event)
		*event = e;
	return kind;
}

int cs_pt_signal_to_give(int status)
{
	int sig;
	return cs_pt_decode(status, &sig, NULL) == CS_PT_SIGNAL ? sig : 0;
}

int cs_pt_seize(pid_t tid, unsigned long options)
{
	return ptrace(PTRACE_SEIZE, tid, 0, (void *)(uintptr_t)options) == 0 ? 0 : -errno;
}

int cs_pt_interrupt(pid_t tid)
{
	return ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0 ? 0 : -errno;
}

pid_t cs_pt_wait(pid_t tid, int *status, int nohang)
{
	for (;;) {
		pid_t w = waitpid(tid, status, __WALL | (nohang ? WNOHANG : 0));
		if (w >= 0)
			return w;
		if (errno != EINTR)
			return -errno;
	}
}

int cs_pt_get_regs(pid_t tid, struct user_regs_struct *r)
{
	struct iovec iov = {r, sizeof(*r)};
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	/* A 32-bit thread's set is shorter, in another layout. */
	return iov.iov_len == sizeof(*r) ? 0 : -EINVAL;
}

int cs_pt_set_regs(pid_t tid, const struct user_regs_struct *r)
{
	struct iovec iov = {(void *)r, sizeof(*r)};
	return ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) == 0 ? 0 : -errno;
}

void cs_pt_regs_dwarf(const struct user_regs_struct *r, uint64_t *dw)
{
	const uint64_t v[CS_PT_NREGS] = {r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi,
					 r->rbp, r->rsp, r->r8,	 r->r9,	 r->r10, r->r11,
					 r->r12, r->r13, r->r14, r->r15, r->rip};
	memcpy(dw, v, sizeof(v));
}

size_t cs_pt_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	ssize_t got = process_vm_readv(tid, &local, 1, &remote, 1, 0);
	if (got > 0)
		return (size_t)got;
	/* Nothing at all: the range may end in unmapped memory before len (the top of a
	 * stack); read what there is page by page. */
	size_t n = 0;
	while (n < len) {
		size_t chunk = 4096 - ((addr + n) & 4095);
		if (chunk > len - n)
			chunk = len - n;
		struct iovec l = {(uint8_t *)buf + n, chunk};
		struct iovec rm = {(void *)(uintptr_t)(addr + n), chunk};
		if (process_vm_readv(tid, &l, 1, &rm, 1, 0) != (ssize_t)chunk)
			break;
		n += chunk;
	}
	return n;
}

int cs_pt_snapshot(pid_t tid, struct user_regs_struct *r, void *stack, size_t len, size_t *got)
{
	*got = 0;
	int e = cs_pt_get_regs(tid, r);
	if (e < 0)
		return e;
	*got = cs_pt_read(tid, r->rsp, stack, len);
	return 0;
}

int cs_pt_resume(pid_t tid, int sig)
{
	return ptrace(PTRACE_CONT, tid, 0, (void *)(uintptr_t)sig) == 0 ? 0 : -errno;
}

int cs_pt_detach(pid_t tid, int sig)
{
	return ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)sig) == 0 ? 0 : -errno;
}
