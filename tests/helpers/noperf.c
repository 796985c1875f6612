/* noperf.c - run csampler where perf events are refused, as under Docker's default
 * seccomp profile: install a seccomp filter that fails perf_event_open with EACCES
 * (ENOSYS with CS_NOPERF_ERRNO=ENOSYS), then exec the real csampler with our
 * arguments. Built with CS_REAL_EXE; the tests use it in place of csampler, and
 * CS_NOPERF_REAL names another csampler (a copy another user can run).
 * CS_NOPERF_CAPS=container also drops every capability a container runtime does not
 * grant by default (Docker's list) except CAP_SYS_PTRACE, the one a user adds to
 * profile: root in such a container. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Docker's default capabilities, and CAP_SYS_PTRACE. */
static const int container_caps[] = {
    CAP_CHOWN,	 CAP_DAC_OVERRIDE, CAP_FSETID,	   CAP_FOWNER,		 CAP_MKNOD,
    CAP_NET_RAW, CAP_SETGID,	   CAP_SETUID,	   CAP_SETFCAP,		 CAP_SETPCAP,
    CAP_KILL,	 CAP_SYS_CHROOT,   CAP_AUDIT_WRITE, CAP_NET_BIND_SERVICE, CAP_SYS_PTRACE,
};

/* Leave only container_caps in the bounding set: what root's next exec gets. */
static int drop_caps(void)
{
	for (int c = 0; c <= CAP_LAST_CAP; c++) {
		int keep = 0;
		for (size_t i = 0; i < sizeof(container_caps) / sizeof(container_caps[0]); i++)
			keep |= container_caps[i] == c;
		if (!keep && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	}
	return 0;
}

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
	const char *caps = getenv("CS_NOPERF_CAPS");
	if (caps && !strcmp(caps, "container") && drop_caps() < 0) {
		fprintf(stderr, "noperf: cannot drop capabilities: %s\n", strerror(errno));
		return 77;
	}
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
