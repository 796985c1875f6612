/* End-to-end tests of `csampler leaks` against things outside its control: another
 * local user at the rendezvous, SIGKILL, an agent that floods or says nothing, a
 * target in its own PID, network and mount namespaces, and an installed copy. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/protocol.h"
#include "harness.h"

#define LEAKY TARGET("cs_t_leaky")
#define FAKE TARGET("libcs_t_agent_fake.so")
#define UNSHARE "/usr/bin/unshare"
#define NOBODY 65534

static char *dir;

static void setup(void)
{
	dir = h_tmpdir();
}

static void teardown(void)
{
	if (dir)
		h_tmpdir_free(dir);
	dir = NULL;
}

TestSuite(leaks_hostile, .init = setup, .fini = teardown, .timeout = 180);

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void require_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (another user's process, namespaces)");
}

/* The last snapshot of a recording has the three sites of leaky's leak_all (among
 * blocks at least min_age old: a running target's churn is outstanding for a moment). */
static void expect_leaky_sites(const char *data, const char *min_age)
{
	char *argv[] = {CS_EXE, "report", "--leaks", "-i", (char *)data, "--format", "json",
			"--top", "0", (char *)min_age, NULL};
	char *out, *err;
	cr_assert_eq(h_run(argv, 60, &out, &err), 0, "report failed: %s", err);
	char *snap = out;
	for (char *p = out; (p = strstr(p, "{\"index\": ")); p++)
		snap = p;
	cr_expect(strstr(snap, "\"exact\": true"), "%s", snap);
	cr_expect(strstr(snap, "\"leak_all\", \"leak_malloc\"], \"bytes\": 6400, \"blocks\": 100,"),
		  "%s", snap);
	cr_expect(strstr(snap, "\"leak_all\", \"leak_calloc\"], \"bytes\": 40960, \"blocks\": 10,"),
		  "%s", snap);
	free(out);
	free(err);
}

/* ---- another user at the rendezvous ---- */

struct attack {
	int old_name_bound; /* the name older csamplers used, taken in advance */
	int connected;	    /* connections made to csampler's listener */
	int got_config;	    /* CONFIG messages received while posing as the agent */
	int agent_reached;  /* agents that connected to a socket the attacker bound */
	int agent_came;	    /* ... and sent anything there */
};

static int bind_abstract(const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	memcpy(a.sun_path + 1, name, n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (bind(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
							1 + n)) ||
	    listen(fd, 8)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Pose as the agent on a connection to csampler: HELLO without the key, then see
 * whether CONFIG comes. */
static int poses_as_agent(const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	memcpy(a.sun_path + 1, name, n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&a,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n))) {
		close(fd);
		return -1;
	}
	struct {
		struct cs_msg m;
		struct cs_msg_hello h;
	} hello;
	memset(&hello, 0, sizeof(hello));
	hello.m = (struct cs_msg){CS_AGENT_MAGIC, CS_MSG_HELLO, sizeof(hello.h)};
	hello.h.version = CS_AGENT_VERSION;
	hello.h.pid = (uint32_t)getpid();
	ssize_t w = write(fd, &hello, sizeof(hello));
	(void)w;
	struct pollfd pf = {fd, POLLIN, 0};
	struct cs_msg m;
	int config = poll(&pf, 1, 500) == 1 && read(fd, &m, sizeof(m)) == (ssize_t)sizeof(m) &&
		     m.type == CS_MSG_CONFIG;
	close(fd);
	return config;
}

/* For about ms: every csampler socket that shows up in /proc/net/unix is connected to
 * and its name bound when free; every socket bound is watched for agents. */
static void attacker(pid_t target, int ms, struct attack *at)
{
	char old[64];
	snprintf(old, sizeof(old), "csampler-agent-%d", (int)target);
	int held[64], nheld = 0;
	char seen[64][100];
	int nseen = 0;
	if ((held[nheld] = bind_abstract(old)) >= 0) {
		nheld++;
		at->old_name_bound = 1;
	}
	for (uint64_t end = now_ms() + (uint64_t)ms; now_ms() < end;) {
		FILE *f = fopen("/proc/net/unix", "r");
		char line[512];
		while (f && fgets(line, sizeof(line), f)) {
			char *at_sign = strstr(line, " @csampler-");
			if (!at_sign)
				continue;
			char name[100];
			if (sscanf(at_sign + 2, "%99s", name) != 1 || !strcmp(name, old))
				continue;
			int known = 0;
			for (int i = 0; i < nseen; i++)
				known |= !strcmp(seen[i], name);
			if (known || nseen == 64)
				continue;
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
			int r = poses_as_agent(name);
			at->connected += r >= 0;
			at->got_config += r == 1;
		}
		if (f)
			fclose(f);
		/* names csampler let go of: take them, and see whether an agent comes */
		for (int i = 0; i < nseen && nheld < 64; i++)
			if ((held[nheld] = bind_abstract(seen[i])) >= 0)
				nheld++;
		/* An agent that reaches a socket we hold must hang up without a word: it
		 * checks the listener's user (SO_PEERCRED) once connected. Any csampler
		 * session on this machine counts (other suites may run beside this one). */
		for (int i = 0; i < nheld; i++) {
			int c = accept(held[i], NULL, NULL);
			if (c >= 0) {
				at->agent_reached++;
				struct pollfd pc = {c, POLLIN, 0};
				char b;
				if (poll(&pc, 1, 300) == 1 && recv(c, &b, 1, MSG_DONTWAIT) == 1)
					at->agent_came++;
				close(c);
			}
		}
		usleep(10 * 1000);
	}
}

Test(leaks_hostile, another_user_cannot_take_the_rendezvous)
{
	require_root();
	struct h_proc t;
	char *targ[] = {LEAKY, "busy", NULL};
	/* The agent dawdles in its set-up, so the rendezvous stays open long enough for
	 * the attacker to find it. */
	setenv(CS_AGENT_STALL_ENV, "1500", 1);
	h_start(&t, targ);
	unsetenv(CS_AGENT_STALL_ENV);
	int rep[2];
	cr_assert_eq(pipe(rep), 0);
	pid_t a = fork();
	cr_assert_geq(a, 0);
	if (a == 0) {
		close(rep[0]);
		gid_t g = NOBODY;
		if (setgroups(1, &g) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(90);
		struct attack at;
		memset(&at, 0, sizeof(at));
		attacker(t.pid, 9000, &at);
		ssize_t w = write(rep[1], &at, sizeof(at));
		_exit(w == (ssize_t)sizeof(at) ? 0 : 91);
	}
	close(rep[1]);
	usleep(300 * 1000); /* the old-style name is taken by now */
	char *data = h_path(dir, "r.data"), pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	char *rec[] = {CS_EXE, "leaks", "-q", "-p", pid, "--interval", "0.5", "-d", "7",
		       "-o", data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	cr_assert(h_wait_agent(t.pid, 20000, 1500 + 300), "the agent never started");
	kill(t.pid, SIGUSR1);
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	cr_expect(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "csampler failed: %s", err);
	free(err);
	struct attack at;
	memset(&at, 0, sizeof(at));
	cr_assert_eq(read(rep[0], &at, sizeof(at)), (ssize_t)sizeof(at), "the attacker failed");
	close(rep[0]);
	waitpid(a, NULL, 0);
	cr_log_info("attacker: old name bound %d, connected %d, config %d, agents that hung up "
		    "at once %d, agents that talked %d",
		    at.old_name_bound, at.connected, at.got_config, at.agent_reached, at.agent_came);
	cr_expect(at.old_name_bound, "the attacker could not even take the old name");
	cr_expect_geq(at.connected, 1, "the attacker never reached csampler's socket");
	cr_expect_eq(at.got_config, 0, "csampler configured another user's process");
	cr_expect_eq(at.agent_came, 0, "an agent talked to another user's socket");
	cr_expect_eq(h_stop(&t, SIGTERM, 5000), 0);
	expect_leaky_sites(data, "--min-age=0.2");
	free(data);
}

/* ---- SIGKILL leaves nothing behind ---- */

Test(leaks_hostile, sigkill_leaves_nothing_in_tmp)
{
	require_root();
	if (access(UNSHARE, X_OK))
		cr_skip_test(UNSHARE " is missing");
	/* In a mount namespace of its own with an empty /tmp: whatever is left there
	 * is csampler's. */
	static const char script[] =
		"mount -t tmpfs cs-test /tmp || exit 77\n"
		"mkdir /tmp/out\n"
		"\"$1\" leaks -q -o /tmp/out/l.data -- \"$2\" busy >/dev/null 2>&1 &\n"
		"c=$!; sleep 1\n"
		"kids=$(cat /proc/$c/task/$c/children)\n"
		"kill -9 $c; wait $c\n"
		"kill $kids\n"
		"\"$2\" busy >/dev/null &\n"
		"t=$!; sleep 0.3\n"
		"\"$1\" leaks -q -p $t -o /tmp/out/a.data >/dev/null 2>&1 &\n"
		"c=$!; sleep 0.15\n"
		"kill -9 $c; wait $c\n"
		"sleep 0.5; kill $t; wait $t\n"
		"ls -A /tmp\n";
	char *argv[] = {UNSHARE, "--mount", "/bin/sh", "-c", (char *)script, "sh", CS_EXE, LEAKY,
			NULL};
	char *out, *err;
	int st = h_run(argv, 60, &out, &err);
	if (st == 77)
		cr_skip_test("cannot mount a tmpfs here: %s", err);
	cr_expect_eq(st, 0, "%s", err);
	cr_expect_str_eq(out, "out\n", "left in /tmp: %s", out);
	free(out);
	free(err);
}

/* ---- agents that misbehave ---- */

Test(leaks_hostile, flooding_agent_does_not_keep_csampler_looping)
{
	setenv("CS_FAKE_AGENT", "flood", 1);
	char *data = h_path(dir, "f.data");
	char *argv[] = {CS_EXE, "leaks", "--agent", FAKE, "--interval", "0.2", "-o", data, "--",
			"/bin/sleep", "2", NULL};
	char *err;
	uint64_t t0 = now_ms();
	int st = h_run(argv, 30, NULL, &err);
	uint64_t took = now_ms() - t0;
	cr_expect_eq(st, 0, "%s", err);
	cr_expect_lt(took, 15000, "took %llu ms", (unsigned long long)took);
	cr_expect(strstr(err, "were not snapshots"), "%s", err);
	struct stat sb;
	cr_expect_eq(stat(data, &sb), 0, "the recording was written");
	free(err);
	free(data);
}

Test(leaks_hostile, silent_agent_and_sigterm_end_csampler_promptly)
{
	setenv("CS_FAKE_AGENT", "silent", 1);
	char *data = h_path(dir, "q.data");
	char *argv[] = {CS_EXE, "leaks", "--agent", FAKE, "--interval", "0.2", "-o", data, "--",
			"/bin/sleep", "4", NULL};
	int err_fd;
	pid_t r = h_spawn(argv, &err_fd);
	usleep(1000 * 1000); /* waiting for an answer that never comes */
	kill(r, SIGTERM);
	uint64_t t0 = now_ms();
	int st = -1;
	while (now_ms() - t0 < 5000 && waitpid(r, &st, WNOHANG) == 0)
		usleep(20 * 1000);
	uint64_t took = now_ms() - t0;
	cr_expect_lt(took, 3000, "csampler took %llu ms after SIGTERM",
		     (unsigned long long)took);
	if (took >= 5000) {
		kill(r, SIGKILL);
		waitpid(r, NULL, 0);
	}
	char *err;
	h_collect(r, err_fd, 10, &err); /* the command keeps stderr open a while */
	cr_expect(strstr(err, "interrupted"), "%s", err);
	struct stat sb;
	cr_expect_eq(stat(data, &sb), 0, "the recording was written: %s", err);
	free(err);
	free(data);
}

/* -d is kept too: a snapshot request may overrun it by a few seconds at most. */
Test(leaks_hostile, silent_agent_does_not_outlast_the_duration_much)
{
	setenv("CS_FAKE_AGENT", "silent", 1);
	char *data = h_path(dir, "d.data");
	char *argv[] = {CS_EXE, "leaks", "--agent", FAKE, "--interval", "0.2", "-d", "1", "-o",
			data, "--", "/bin/sleep", "12", NULL};
	int err_fd;
	uint64_t t0 = now_ms();
	pid_t r = h_spawn(argv, &err_fd);
	int st = -1;
	while (now_ms() - t0 < 20000 && waitpid(r, &st, WNOHANG) == 0)
		usleep(20 * 1000);
	uint64_t took = now_ms() - t0;
	cr_expect_lt(took, 9000, "csampler took %llu ms with -d 1", (unsigned long long)took);
	if (took >= 20000) {
		kill(r, SIGKILL);
		waitpid(r, NULL, 0);
	}
	close(err_fd);
	struct stat sb;
	cr_expect_eq(stat(data, &sb), 0, "the recording was written");
	free(data);
}

/* ---- containers ---- */

/* The single child of pid. */
static pid_t child_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *f = fopen(path, "r");
	int c = -1;
	if (f) {
		if (fscanf(f, "%d", &c) != 1)
			c = -1;
		fclose(f);
	}
	return (pid_t)c;
}

Test(leaks_hostile, target_in_its_own_pid_net_and_mount_namespaces)
{
	require_root();
	if (access(UNSHARE, X_OK))
		cr_skip_test(UNSHARE " is missing");
	/* The agent's directory is hidden in the target's mount namespace, so csampler
	 * must hand it a copy; its PID there is 1; its abstract sockets are its own. */
	char script[1024];
	snprintf(script, sizeof(script),
		 "mount -t tmpfs cs-test '%s/agent' || exit 77\n"
		 "exec '%s' busy\n",
		 CS_BINARY_DIR, LEAKY);
	char *argv[] = {UNSHARE, "--pid", "--net", "--mount", "--fork", "--kill-child", "/bin/sh",
			"-c", script, NULL};
	struct h_proc u;
	h_start(&u, argv);
	pid_t t = child_of(u.pid);
	cr_assert_gt(t, 0);
	char *data = h_path(dir, "c.data"), pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t);
	char *rec[] = {CS_EXE, "leaks", "-q", "-p", pid, "--interval", "0.5", "-d", "5", "-o",
		       data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	cr_assert(h_wait_agent(t, 20000, 300), "the agent never started");
	kill(t, SIGUSR1);
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	cr_expect(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "csampler failed: %s", err);
	free(err);
	kill(t, SIGTERM);
	cr_expect_eq(h_stop(&u, 0, 5000), 0, "the target ended normally");
	expect_leaky_sites(data, "--min-age=0.2");
	free(data);
}

/* A container seen from the host: the target is PID 1 of its own PID namespace (with
 * its own /proc), runs a binary that exists only in its mount namespace, has a /tmp of
 * its own, cannot see the agent's directory and has no libunwind (the agent needs it).
 * csampler copies the agent and libunwind into that /tmp, meets the agent across the
 * PID namespace, names the functions and file:line from the host, and leaves nothing
 * behind in the container. */
Test(leaks_hostile, container_binary_and_tmp_only_inside)
{
	require_root();
	if (access(UNSHARE, X_OK))
		cr_skip_test(UNSHARE " is missing");
	char *check[] = {UNSHARE, "--mount", "--pid", "--fork", "--mount-proc", "true", NULL};
	if (h_run(check, 10, NULL, NULL) != 0)
		cr_skip_test("cannot create mount and PID namespaces here (unshare refused)");
	char *unwind = realpath("/usr/lib/x86_64-linux-gnu/libunwind.so.8", NULL);
	if (!unwind)
		unwind = realpath("/lib/x86_64-linux-gnu/libunwind.so.8", NULL);
	cr_assert(unwind, "where is the agent's libunwind.so.8?");
	char script[1024];
	snprintf(script, sizeof(script),
		 "mount -t tmpfs cs-test /mnt && mkdir /mnt/priv && "
		 "cp '%s' /mnt/priv/leakyns && mount -t tmpfs cs-test /tmp && "
		 "mount -t tmpfs cs-test '%s/agent' && mount --bind /dev/null '%s' || exit 77\n"
		 "exec /mnt/priv/leakyns busy\n",
		 LEAKY, CS_BINARY_DIR, unwind);
	free(unwind);
	char *argv[] = {UNSHARE, "--mount", "--pid", "--fork", "--mount-proc", "--kill-child",
			"/bin/sh", "-c", script, NULL};
	struct h_proc u;
	h_start(&u, argv);
	pid_t t = -1;
	char exe[256] = "";
	for (int i = 0; i < 200; i++) {
		/* the child of unshare, once it exec'd the copy */
		t = child_of(u.pid);
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/exe", (int)t);
		ssize_t n = t > 0 ? readlink(link, exe, sizeof(exe) - 1) : -1;
		exe[n > 0 ? n : 0] = 0;
		if (!strcmp(exe, "/mnt/priv/leakyns"))
			break;
		usleep(20000);
	}
	cr_assert_str_eq(exe, "/mnt/priv/leakyns", "the target never ran its private copy");
	cr_assert_neq(access("/mnt/priv/leakyns", F_OK), 0, "the path exists on the host too");
	char *data = h_path(dir, "ns.data"), pid[16], path[96];
	snprintf(pid, sizeof(pid), "%d", (int)t);
	char *rec[] = {CS_EXE, "leaks", "-q", "-p", pid, "--interval", "0.5", "-d", "4", "-o",
		       data, NULL};
	int err_fd;
	pid_t r = h_spawn(rec, &err_fd);
	cr_assert(h_wait_agent(t, 20000, 300), "the agent never started");
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t);
	char *maps = h_read_file(path, NULL);
	cr_expect(maps && strstr(maps, "/tmp/csampler-") &&
		      strstr(maps, "/libcsampler_agent.so") && strstr(maps, "/libunwind.so.8"),
		  "the agent and libunwind were loaded from copies in the container's /tmp: %s",
		  maps);
	if (maps) {
		const char *u = strstr(maps, "/libunwind.so.8");
		while (u > maps && u[-1] != ' ')
			u--;
		cr_expect(!strncmp(u, "/tmp/csampler-", 14), "libunwind from the copy: %.80s", u);
	}
	free(maps);
	kill(t, SIGUSR1);
	char *err;
	int st = h_collect(r, err_fd, 60, &err);
	cr_expect(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "csampler failed: %s", err);
	free(err);
	/* Nothing left in the container's /tmp. */
	snprintf(path, sizeof(path), "/proc/%d/root/tmp", (int)t);
	char *ls[] = {"/bin/ls", "-A", path, NULL}, *out;
	cr_expect_eq(h_run(ls, 10, &out, NULL), 0);
	cr_expect_str_empty(out, "left in the container's /tmp: %s", out);
	free(out);
	kill(t, SIGTERM);
	cr_expect_eq(h_stop(&u, 0, 5000), 0, "the target ended normally");
	expect_leaky_sites(data, "--min-age=0.2");
	char *rep[] = {CS_EXE, "report", "--leaks", "-i", data, "--top", "3", NULL};
	cr_assert_eq(h_run(rep, 30, &out, &err), 0, "report failed: %s", err);
	cr_expect(strstr(out, "/mnt/priv/leakyns busy"), "the command line: %s", out);
	cr_expect(strstr(out, "leak_calloc  ") && strstr(out, "tests/targets/leaky.c:"),
		  "functions and file:line from the host: %s", out);
	free(out);
	free(err);
	free(data);
}

/* ---- installing ---- */

Test(leaks_hostile, installed_csampler_finds_its_agent)
{
	char *prefix = h_path(dir, "prefix");
	char *inst[] = {CS_CMAKE, "--install", CS_BINARY_DIR, "--prefix", prefix, NULL};
	char *out, *err;
	cr_assert_eq(h_run(inst, 120, &out, &err), 0, "cmake --install failed: %s%s", out, err);
	free(out);
	free(err);
	char *exe = h_path(prefix, "bin/csampler"), *data = h_path(dir, "i.data");
	unsetenv("CSAMPLER_AGENT");
	char *argv[] = {exe, "leaks", "-q", "-o", data, "--", LEAKY, "basic", NULL};
	cr_assert_eq(h_run(argv, 60, NULL, &err), 0, "the installed csampler failed: %s", err);
	free(err);
	expect_leaky_sites(data, "--min-age=0");
	free(exe);
	free(data);
	free(prefix);
}
