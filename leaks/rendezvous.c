/* rendezvous.c - where csampler and the agent meet (see rendezvous.h). */
#include "rendezvous.h"
#include "target.h"
#include "util/util.h"

#include <errno.h>
#include <gelf.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

void cs_rendezvous_init(struct cs_rendezvous *r)
{
	memset(r, 0, sizeof(*r));
	r->listen_fd = r->child_fd = r->pidfd = -1;
}

void cs_rendezvous_drop_copy(struct cs_rendezvous *r)
{
	if (r->copy)
		unlink(r->copy);
	for (size_t i = 0; i < r->ndeps; i++) {
		unlink(r->deps[i]);
		free(r->deps[i]);
	}
	r->ndeps = 0;
	if (r->copy_dir)
		rmdir(r->copy_dir);
	free(r->copy);
	free(r->copy_dir);
	r->copy = r->copy_dir = NULL;
}

void cs_rendezvous_release(struct cs_rendezvous *r)
{
	cs_rendezvous_drop_copy(r);
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	if (r->child_fd >= 0)
		close(r->child_fd);
	if (r->pidfd >= 0)
		close(r->pidfd);
	free(r->load_path);
	/* the keys are single-use, but need not linger */
	memset(&r->rv, 0, sizeof(r->rv));
	r->listen_fd = r->child_fd = r->pidfd = -1;
	r->load_path = NULL;
}

int cs_rendezvous_launch(struct cs_rendezvous *r, int *ours)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cs_error("cannot create a socket pair: %s", strerror(errno));
	/* The command's end survives its exec; ours does not. */
	if (fcntl(sv[1], F_SETFD, 0) < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return cs_error("cannot prepare the agent's socket: %s", strerror(e));
	}
	*ours = sv[0];
	r->child_fd = sv[1];
	return 0;
}

/* The socket fd is a connected Unix stream socket: its maker, or 0. */
static pid_t stream_maker(int fd)
{
	int type = 0, domain = 0;
	struct ucred cred;
	socklen_t l1 = sizeof(type), l2 = sizeof(domain), l3 = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) || type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l2) || domain != AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l3) || cred.pid <= 0)
		return 0;
	return cred.pid;
}

int cs_rendezvous_take(int ctl, int *fd, pid_t *pid)
{
	for (;;) {
		struct cs_ctl_hello h;
		struct iovec iov = {&h, sizeof(h)};
		union {
			char buf[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		ssize_t n = recvmsg(ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1; /* every process of the command closed its end */
		/* Every descriptor that came along is ours now: keep one stream socket. */
		int got = -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (got < 0)
					got = f;
				else
					close(f);
			}
		}
		pid_t maker = got >= 0 ? stream_maker(got) : 0;
		if (n != (ssize_t)sizeof(h) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
		    h.magic != CS_AGENT_MAGIC || !maker) {
			if (got >= 0)
				close(got);
			continue; /* not an agent's request: drop it */
		}
		*fd = got;
		*pid = maker;
		return 1;
	}
}

/* The directories where a program's loader finds libraries without a path of its
 * own, on Debian and most other distributions. */
static const char *const lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib",
	"/usr/lib", "/usr/local/lib",
};

/* A library (soname) under one of lib_dirs below root ("" for ours), as a regular
 * file: its path, or NULL. */
static char *find_lib(const char *root, const char *soname)
{
	for (size_t i = 0; i < CS_ARRAY_SIZE(lib_dirs); i++) {
		char *p = cs_xasprintf("%s%s/%s", root, lib_dirs[i], soname);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
			return p;
		free(p);
	}
	return NULL;
}

/* Next to the copy of the agent, a copy of each library the agent needs (DT_NEEDED)
 * that pid's mount namespace lacks: a container image rarely holds libunwind. The
 * agent finds them there through its DT_RUNPATH $ORIGIN. The C library and the
 * loader are never copied: the agent runs on the target's. Best effort: a library
 * that cannot be copied leaves dlopen to fail, and csampler then says which. */
static void copy_needed(struct cs_rendezvous *r, pid_t pid, const char *agent)
{
	int fd = cs_open_regular(agent);
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	char *root = cs_xasprintf("/proc/%d/root", (int)pid);
	for (Elf_Scn *scn = NULL; e && (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 1); i++) {
			GElf_Dyn dyn;
			if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag != DT_NEEDED)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
			if (!name || strchr(name, '/') || !strncmp(name, "libc.so", 7) ||
			    !strncmp(name, "ld-linux", 8) || !strncmp(name, "libm.so", 7) ||
			    !strncmp(name, "libpthread.so", 13) || !strncmp(name, "libdl.so", 8))
				continue;
			char *there = find_lib(root, name);
			char *here = there ? NULL : find_lib("", name);
			if (here && r->ndeps < CS_ARRAY_SIZE(r->deps)) {
				char *dst = cs_xasprintf("%s/%s", r->copy_dir, name);
				int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
					       0644);
				int ok = out >= 0 && cs_copy_file_to(here, out) == 0;
				if (out >= 0 && close(out) < 0)
					ok = 0;
				if (ok) {
					r->deps[r->ndeps++] = dst; /* removed with the copy */
				} else {
					if (out >= 0)
						unlink(dst);
					free(dst);
				}
			}
			free(there);
			free(here);
		}
	}
	free(root);
	if (e)
		elf_end(e);
	close(fd);
}

/* Put a copy of the agent where pid can load it: a fresh directory in its /tmp,
 * reached through /proc/PID/root (its mount namespace may differ from ours). */
static int copy_into_target(struct cs_rendezvous *r, pid_t pid, const char *agent)
{
	char *tmpl = cs_xasprintf("/proc/%d/root/tmp/csampler-XXXXXX", (int)pid);
	if (!mkdtemp(tmpl)) {
		int e = errno;
		free(tmpl);
		return -e;
	}
	r->copy_dir = tmpl;
	/* Its user may search it and read the library; nobody else may write here. */
	chmod(r->copy_dir, 0711);
	r->copy = cs_xasprintf("%s/libcsampler_agent.so", r->copy_dir);
	int fd = open(r->copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int ret = fd < 0 ? -1 : cs_copy_file_to(agent, fd);
	int e = errno;
	if (fd >= 0 && close(fd) < 0 && !ret) {
		ret = -1;
		e = errno;
	}
	if (ret < 0)
		return -(e ? e : EIO);
	copy_needed(r, pid, agent);
	const char *in_target = strstr(r->copy, "/root/tmp/") + 5;
	r->load_path = cs_xstrdup(in_target);
	return 0;
}

/* Listen on the rendezvous name, in pid's network namespace (abstract socket names
 * belong to one). */
static int listen_there(struct cs_rendezvous *r, pid_t pid)
{
	int there = -1, back = -1, ret = -1;
	if (cs_target_other_netns(pid)) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		there = open(path, O_RDONLY | O_CLOEXEC);
		back = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (there < 0 || back < 0 || setns(there, CLONE_NEWNET) < 0) {
			cs_error("PID %d is in another network namespace and csampler cannot enter "
				 "it to meet the agent: %s (run csampler as root)",
				 (int)pid, strerror(errno));
			goto out;
		}
	}
	r->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	size_t n = strlen(r->rv.name);
	memcpy(a.sun_path + 1, r->rv.name, n);
	if (r->listen_fd < 0 ||
	    bind(r->listen_fd, (struct sockaddr *)&a,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0 ||
	    listen(r->listen_fd, 16) < 0)
		cs_error("cannot create the agent's socket: %s", strerror(errno));
	else
		ret = 0;
	if (back >= 0 && setns(back, CLONE_NEWNET) < 0)
		ret = cs_error("cannot return to csampler's network namespace: %s",
			       strerror(errno));
out:
	if (there >= 0)
		close(there);
	if (back >= 0)
		close(back);
	return ret;
}

int cs_rendezvous_attach(struct cs_rendezvous *r, pid_t pid, const char *agent)
{
	r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (r->pidfd < 0 && errno == ESRCH)
		return cs_error("no process with PID %d", (int)pid);
	int sees = cs_target_sees_file(pid, agent);
	if (sees == 1) {
		r->load_path = cs_xstrdup(agent);
	} else {
		int e = -copy_into_target(r, pid, agent);
		if (e > 0)
			return cs_error("the allocation agent '%s' is not visible to PID %d (it "
					"lives in another mount namespace, or its user cannot read "
					"the file), and csampler cannot copy it into that "
					"process's /tmp: %s",
					agent, (int)pid, strerror(e));
	}
	uint8_t rnd[16 + 2 * CS_AGENT_KEY_BYTES];
	size_t got = 0;
	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return cs_error("cannot draw random bytes: %s", strerror(errno));
		got += (size_t)n;
	}
	r->rv.magic = CS_AGENT_MAGIC;
	r->rv.version = CS_AGENT_VERSION;
	int len = snprintf(r->rv.name, sizeof(r->rv.name), "csampler-");
	for (int i = 0; i < 16; i++)
		len += snprintf(r->rv.name + len, sizeof(r->rv.name) - (size_t)len, "%02x", rnd[i]);
	memcpy(r->rv.agent_key, rnd + 16, CS_AGENT_KEY_BYTES);
	memcpy(r->rv.csampler_key, rnd + 16 + CS_AGENT_KEY_BYTES, CS_AGENT_KEY_BYTES);
	return listen_there(r, pid);
}

int cs_rendezvous_peer_ok(const struct cs_rendezvous *r, int fd, pid_t pid)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.pid != pid)
		return 0;
	/* The PID was the target's when we attached; the pidfd says it still is. */
	if (r->pidfd >= 0) {
		struct pollfd pf = {r->pidfd, POLLIN, 0};
		if (poll(&pf, 1, 0) != 0)
			return 0;
	}
	return 1;
}
