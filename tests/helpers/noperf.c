/* noperf.c - run csampler where perf events are refused, as under Docker's default
 * seccomp profile: install a seccomp filter that fails perf_event_open with EACCES
 * (ENOSYS with CS_NOPERF_ERRNO=ENOSYS), then exec the real csampler with our
 * arguments. Built with CS_REAL_EXE; the tests use it in place of csampler, and
 * CS_NOPERF_REAL names another csampler (a copy another user can run). */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	(void)argc;
	const char *e = getenv("CS_NOPERF_ERRNO");
	unsigned err = e && !strcmp(e, "ENOSYS") ? ENOSYS : EACCES;
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_perf_event_open, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		fprintf(stderr, "noperf: cannot install a seccomp filter: %s\n", strerror(errno));
		return 77;
	}
	const char *real = getenv("CS_NOPERF_REAL");
	if (!real || !*real)
		real = CS_REAL_EXE;
	argv[0] = (char *)real;
	execv(real, argv);
	fprintf(stderr, "noperf: cannot run %s: %s\n", real, strerror(errno));
	return 127;
}
