/* cmd_record.c - csampler record: sample a running process or a command. */
#include "cli.h"
#include "python/pyframes.h"
#include "recorder/recorder.h"
#include "sampler/sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CS_STR_(x) #x
#define CS_STR(x) CS_STR_(x)

static const char usage_text[] =
	"usage: csampler record --pid PID [options]\n"
	"       csampler record [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Sample where every thread of a process spends its CPU time: attach to a running\n"
	"process (all its threads, threads and processes it creates later, libraries it\n"
	"loads later), or launch COMMAND and profile it from its first instruction, with\n"
	"the processes it forks. Stacks are unwound by DWARF CFI, so binaries built without\n"
	"frame pointers come out complete; names, inline frames and file:line are resolved\n"
	"at the end and stored in the recording, which needs nothing else to be read.\n"
	"JIT code is followed by its frame pointers and named from the perf map or jitdump\n"
	"file its runtime writes (node --perf-basic-prof, python3.12 -X perf).\n"
	"In CPython 3.11 processes each interpreter frame (_PyEval_EvalFrameDefault) is\n"
	"replaced by the Python functions it was running, with file:line, read from the\n"
	"process's memory after each sample; samples where they cannot be matched keep\n"
	"their native frames and are counted in the summary.\n"
	"\n"
	"Recording ends on Ctrl-C or SIGTERM, after -d, or when the target exits. A\n"
	"launched COMMAND's exit status becomes csampler's (128 + N when signal N ended it).\n"
	"csampler never ends a program it profiles: after -d a launched COMMAND runs on\n"
	"(Ctrl-C in a terminal reaches it too; 'timeout' bounds the command itself).\n"
	"\n"
	"  -p, --pid PID          attach to this running process\n"
	"  -F, --freq HZ          samples per second of CPU time per thread (default 99)\n"
	"  -d, --duration SECS    stop after this many seconds\n"
	"  -o, --output FILE      recording to write (default csampler.data)\n"
	"      --stack-size BYTES user stack copied per sample (default 16384, max 65528);\n"
	"                         a deeper stack is read on from the live process as long\n"
	"                         as it is unchanged; raise it when the summary says so\n"
	"      --no-kernel        leave kernel frames out (default: in, when permitted)\n"
	"      --sampler KIND     perf: perf events only; ptrace: the ptrace sampler;\n"
	"                         auto (default): perf, and ptrace where perf events are\n"
	"                         refused (seccomp, no CAP_PERFMON, perf_event_paranoid)\n"
	"      --debug-dir DIR    also look for separate debug info under DIR (by build-id\n"
	"                         in DIR/.build-id/, or by path); may be repeated\n"
	"      --wall             also record off-CPU time: every time a thread leaves the\n"
	"                         CPU, its stack (user and, when permitted, kernel) and how\n"
	"                         long it stays off, as blocked (sleep, I/O, locks) or\n"
	"                         preempted (runnable, another task had the CPU); views\n"
	"                         then show wall time (--time cpu|off|wall). Cost: at\n"
	"                         every context switch the kernel copies 4 KiB of stack\n"
	"                         and csampler unwinds it (a few µs of csampler CPU; at\n"
	"                         10k switches/s about a tenth of a core); the rings hold\n"
	"                         ~2000 switches per CPU, and switches lost past that are\n"
	"                         counted and reported, never dropped silently\n"
	"      --no-python        keep CPython's interpreter frames as they are\n"
	"      --leaks            also track allocations, as 'csampler leaks' does, with\n"
	"                         --interval SECS and --sample-bytes N\n"
	"  -q, --quiet            no status line and no summary\n"
	"\n"
	"Continuous mode (a Grafana Pyroscope server, or anything speaking its ingest API):\n"
	"      --push URL         every interval, send the profile of the samples since the\n"
	"                         last one to URL/ingest (Pyroscope's ingest API, pprof as\n"
	"                         the multipart field 'profile'); plain http:// only (https\n"
	"                         needs a TLS library, which csampler does not link). The\n"
	"                         windows are contiguous and add up to the whole recording,\n"
	"                         which is written only when -o is given. A slow or dead\n"
	"                         server never holds up sampling: up to 6 windows wait,\n"
	"                         failures are retried with growing pauses, the oldest are\n"
	"                         dropped and counted (status line and summary)\n"
	"      --push-format F    pyroscope (the default) or otlp: send each window to an\n"
	"                         OpenTelemetry Collector instead, as an OTLP/HTTP profiles\n"
	"                         export request (POST URL/v1development/profiles, protobuf;\n"
	"                         the profiles signal is Alpha: the Collector needs it\n"
	"                         enabled) with service.name = --app and the labels as\n"
	"                         resource attributes\n"
	"      --push-interval S  seconds per window (default 10)\n"
	"      --app NAME         the application name on the server (default csampler)\n"
	"      --labels K=V,...   labels of every window (e.g. env=prod,host=web1)\n"
	"\n"
	"The ptrace sampler needs only ptrace (CAP_SYS_PTRACE for another user's process)\n"
	"and costs the target more: each sample stops the thread for the time csampler\n"
	"takes to read its registers and stack (tens of microseconds; the summary gives\n"
	"the median and maximum), and it records no kernel frames. When it is chosen by\n"
	"fallback, rates above " CS_STR(CS_PTRACE_HZ_CAP) " Hz are lowered to that. If csampler dies, even by\n"
	"SIGKILL, the kernel detaches it and the target runs on; its signals and stops\n"
	"(SIGSTOP, SIGCONT) reach it as without csampler.\n"
	"\n"
	"examples:\n"
	"  csampler record --pid 4242 -F 999 -d 30\n"
	"  csampler record --sampler ptrace --pid 4242 -d 10\n"
	"  csampler record -o server.data -- ./server --port 8080\n"
	"  csampler record --wall -p $(pidof server) -d 10 && csampler report --by thread\n"
	"  csampler record --stack-size 65528 -p $(pidof mytool) && csampler report\n"
	"  csampler record -p $(pidof server) --push http://pyroscope:4040 --app server \\\n"
	"      --labels env=prod\n"
	"  csampler record -p $(pidof server) --push http://otel-collector:4318 \\\n"
	"      --push-format otlp --app server\n";

static const char leaks_usage_text[] =
	"usage: csampler leaks --pid PID [--interval S] [-d S] [-o FILE] [--sample-bytes N]\n"
	"       csampler leaks [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Find memory that is never freed, in a running process or a command, without\n"
	"restarting it: an agent inside the target tracks every allocation (malloc, calloc,\n"
	"realloc, free, posix_memalign, aligned_alloc, memalign, valloc, C++ new/delete) in\n"
	"every thread and library, and every --interval seconds, and at the end, csampler\n"
	"takes a snapshot of the outstanding allocations grouped by call stack: bytes,\n"
	"blocks, age of the oldest block, and since tracking began: allocations, temporary\n"
	"allocations (freed before the thread allocated anything else) and bytes held when\n"
	"the heap peaked; the heap's peak and when; once a second, the tracked bytes next\n"
	"to RSS. 'csampler report --leaks' lists them and the stacks that keep growing;\n"
	"'csampler flame --leaks [--cost allocations|temporary|peak]' draws them.\n"
	"\n"
	"Attaching loads the agent with ptrace: the target is stopped once, for well under a\n"
	"millisecond, at a point where it holds no allocator or loader lock; no gdb, no\n"
	"restart. When csampler ends (or is killed) the agent unhooks itself and the target\n"
	"runs on. Allocations made before attaching are unknown and never reported.\n"
	"Only one csampler at a time tracks a process: a second one is refused.\n"
	"\n"
	"A launched COMMAND is tracked to its end, also when a fatal signal (SIGSEGV,\n"
	"SIGABRT, SIGTERM, ...) ends it, and csampler exits with its status (128 + N when\n"
	"signal N ended it). Every process it starts is tracked too, each on its own: a\n"
	"child after fork (from the fork on), a program after exec.\n"
	"\n"
	"  -p, --pid PID          attach to this running process\n"
	"      --interval SECS    seconds between snapshots (default 10)\n"
	"  -d, --duration SECS    stop after this many seconds\n"
	"  -o, --output FILE      recording to write (default csampler.data)\n"
	"      --sample-bytes N   track a Poisson sample of about one allocation per N bytes\n"
	"                         instead of every one: figures become estimates, overhead\n"
	"                         becomes small (for busy production processes)\n"
	"      --debug-dir DIR    also look for separate debug info under DIR\n"
	"      --agent PATH       the allocation agent library (default: the one installed\n"
	"                         with csampler; or set CSAMPLER_AGENT)\n"
	"  -q, --quiet            no status line and no summary\n"
	"\n"
	"To record CPU samples and leak snapshots together: csampler record --leaks.\n"
	"\n"
	"examples:\n"
	"  csampler leaks --pid 4242 --interval 10 -d 120 && csampler report --leaks\n"
	"  csampler leaks -- ./myprogram --input big.txt\n"
	"  csampler leaks --sample-bytes 524288 -p $(pidof server) -d 600\n";

static volatile sig_atomic_t stop_flag;

/* Counts signals: the recorder ends on the first; a wait for the agent that began
 * after it (the last snapshot) gives up on the next one. */
static void on_signal(int sig)
{
	(void)sig;
	stop_flag++;
}

static void leak_summary(const struct cs_profile *p, const struct cs_record_result *res)
{
	if (res->inject.stops)
		fprintf(stderr,
			"[csampler] agent loaded in %.1f ms; the target's thread %d was stopped "
			"%u time%s, the longest for %.3f ms\n",
			res->agent_ready_ms, (int)res->inject.tid, res->inject.stops,
			res->inject.stops == 1 ? "" : "s", res->inject.max_stop_ms);
	if (!p->leaks.n) {
		fprintf(stderr, "[csampler] no leak snapshot was taken\n");
		return;
	}
	/* The first process's last snapshot: the one csampler launched or attached to. */
	const struct cs_leak_snapshot *s = NULL;
	for (size_t i = 0; i < p->leaks.n; i++)
		if (p->leaks.v[i].process == 0)
			s = &p->leaks.v[i];
	if (!s) {
		fprintf(stderr,
			"[csampler] the command's own process sent no snapshot (killed by SIGKILL, "
			"or it exec'd before one was taken); %zu snapshots of the processes it "
			"started: see 'csampler report --leaks'\n",
			p->leaks.n);
		return;
	}
	uint64_t bytes = 0, blocks = 0;
	size_t stacks = 0;
	for (size_t i = 0; i < s->sites.n; i++) {
		bytes += s->sites.v[i].bytes;
		blocks += s->sites.v[i].blocks;
		stacks += s->sites.v[i].blocks != 0;
	}
	const struct cs_leak_notes *n = &res->leak_notes;
	fprintf(stderr,
		"[csampler] %zu leak snapshot%s; the last, at %.1f s%s: %llu bytes outstanding in "
		"%llu blocks from %zu call stacks (%s)\n",
		p->leaks.n, p->leaks.n == 1 ? "" : "s", s->time_s,
		n->died_of_signal ? " as the command died of a signal" : "",
		(unsigned long long)bytes, (unsigned long long)blocks, stacks,
		s->sampled ? "sampled: estimates"
		: s->exact ? "exact"
		: n->own_allocator[0] ? "INCOMPLETE: see the warning above"
				      : "INEXACT: events were lost");
	if (s->flags & CS_LEAK_TOTALS)
		fprintf(stderr,
			"[csampler] heap: peak %llu bytes at %.1f s; %llu allocations, %llu of them "
			"temporary\n",
			(unsigned long long)s->peak_bytes, s->peak_time_s,
			(unsigned long long)s->allocs, (unsigned long long)s->temporary);
	size_t others = 0;
	for (size_t i = 1; i < p->leak_procs.n; i++) {
		int has = 0;
		for (size_t k = 0; k < p->leaks.n && !has; k++)
			has = p->leaks.v[k].process == i;
		others += has;
	}
	if (others)
		fprintf(stderr,
			"[csampler] and %zu more process%s the command started (children, programs "
			"they exec'd): see 'csampler report --leaks'\n",
			others, others == 1 ? "" : "es");
	/* Memory that grew where the agent cannot see: mmap'ed arenas (Python's
	 * pymalloc), a custom allocator, or freed memory the allocator keeps. */
	uint64_t grew = n->rss_growth, tracked = n->tracked_then;
	if (grew > tracked + (16u << 20) && grew > 2 * tracked)
		fprintf(stderr,
			"[csampler] note: at one snapshot the process's resident anonymous "
			"memory had grown by %.1f MiB since tracking began, while tracked "
			"allocations held %.1f MiB: about %.1f MiB is memory the agent does not "
			"see (mmap'ed arenas such as Python's, a custom allocator, or freed memory "
			"the allocator keeps)\n",
			(double)grew / 1048576.0, (double)tracked / 1048576.0,
			(double)(grew - tracked) / 1048576.0);
}

/* Before the figures: what makes them incomplete. */
static void leak_warnings(const struct cs_record_result *res)
{
	if (res->leak_notes.own_allocator[0])
		fprintf(stderr,
			"[csampler] warning: '%s' has its own malloc (a statically linked "
			"allocator): the allocations its own code makes never pass through the "
			"agent, so the figures below are incomplete\n",
			res->leak_notes.own_allocator);
}

/* "1 stack ends", "2 stacks end" */
static const char *stacks_end(uint64_t n)
{
	return n == 1 ? "stack ends" : "stacks end";
}

/* How many stacks are complete, and for each cause of the others what to do about it.
 * --stack-size is suggested only for stacks the copy was too small for. */
static void unwind_summary(const struct cs_profile *p, const struct cs_record_result *res)
{
	const struct cs_stats *st = &p->stats;
	unsigned long long cut = st->truncated, live = st->live_completed;
	fprintf(stderr, "[csampler] stacks unwound to the thread root: %.1f%%",
		100.0 * (double)st->complete / (double)(st->complete + st->truncated));
	if (live)
		fprintf(stderr, " (%llu completed from live memory past the %u-byte stack copy)",
			live, p->meta.stack_size);
	fputc('\n', stderr);
	if (st->cut_copy) {
		fprintf(stderr, "[csampler]   %llu %s where the %u-byte stack copy ran out",
			(unsigned long long)st->cut_copy, stacks_end(st->cut_copy),
			p->meta.stack_size);
		fprintf(stderr, " and the rest could not be read unchanged from the process");
		if (p->meta.stack_size < CS_STACK_SIZE_MAX)
			fprintf(stderr, ": try --stack-size %d", CS_STACK_SIZE_MAX);
		fputc('\n', stderr);
	}
	if (st->cut_nofile && res->nofile[0]) {
		fprintf(stderr,
			"[csampler]   %llu %s in code of '%s', which csampler could not open "
			"(%s)",
			(unsigned long long)st->cut_nofile, stacks_end(st->cut_nofile), res->nofile,
			res->nofile_why);
		if (res->nofile_count > 1)
			fprintf(stderr, " or in %u other such files", res->nofile_count - 1);
		fprintf(stderr, ": let this user read it, or record as its owner or root\n");
	}
	if (st->cut_jit)
		fprintf(stderr,
			"[csampler]   %llu %s in JIT code whose frame-pointer chain could not be "
			"followed\n",
			(unsigned long long)st->cut_jit, stacks_end(st->cut_jit));
	if (st->cut_depth)
		fprintf(stderr, "[csampler]   %llu %s deeper than %d frames, cut there\n",
			(unsigned long long)st->cut_depth,
			st->cut_depth == 1 ? "stack is" : "stacks are", CS_RECORD_MAX_FRAMES);
	uint64_t other = cut - st->cut_copy - st->cut_nofile - st->cut_jit - st->cut_depth;
	if (other && other <= cut)
		fprintf(stderr,
			"[csampler]   %llu %s at code without unwind information (or a damaged "
			"stack)\n",
			(unsigned long long)other, stacks_end(other));
	if (st->jit_unnamed)
		fprintf(stderr,
			"[csampler] %llu samples ran JIT code that no perf map or jitdump file "
			"names (process %d): start node with --perf-basic-prof, python 3.12+ with "
			"-X perf, java with a perf-map agent, to see its functions\n",
			(unsigned long long)st->jit_unnamed, res->jit_unnamed_pid);
	if (st->jit_samples > st->jit_unnamed && res->jit_file[0])
		fprintf(stderr, "[csampler] JIT functions named from '%s' (%zu functions)\n",
			res->jit_file, res->jit_names);
}

/* record --wall: off-CPU intervals, what was lost, the time per kind. */
static void offcpu_summary(const struct cs_profile *p, const struct cs_record_result *res)
{
	const struct cs_stats *st = &p->stats;
	uint64_t ns[CS_TIME_KINDS] = {0};
	for (size_t i = 0; i < p->samples.n; i++)
		if (p->samples.v[i].kind < CS_TIME_KINDS)
			ns[p->samples.v[i].kind] += p->samples.v[i].kind == CS_TIME_CPU
							    ? p->samples.v[i].count * p->times.cpu_period_ns
							    : p->samples.v[i].count;
	fprintf(stderr,
		"[csampler] off-CPU: %llu intervals, %.2f s blocked, %.2f s preempted (CPU %.2f s "
		"from samples)\n",
		(unsigned long long)st->offcpu_events, (double)ns[CS_TIME_BLOCKED] / 1e9,
		(double)ns[CS_TIME_PREEMPTED] / 1e9, (double)ns[CS_TIME_CPU] / 1e9);
	uint64_t unw = st->offcpu_complete + st->offcpu_truncated;
	if (unw)
		fprintf(stderr, "[csampler] off-CPU stacks unwound to the thread root: %.1f%%\n",
			100.0 * (double)st->offcpu_complete / (double)unw);
	if (res->offcpu_nostack)
		fprintf(stderr, "[csampler] off-CPU stacks not recorded: the kernel allows only "
				"the switch times (run as root, or set kernel.perf_event_paranoid <= 1)\n");
	else if (st->offcpu_lost || st->offcpu_unmatched || st->lost)
		fprintf(stderr,
			"[csampler] warning: %llu perf records lost (ring full); %llu off-CPU "
			"intervals lost their stack (kept as [off-CPU: stack unknown]) and %llu lost "
			"their end (not counted): the target switched faster than csampler read\n",
			(unsigned long long)st->lost, (unsigned long long)st->offcpu_lost,
			(unsigned long long)st->offcpu_unmatched);
}

/* Python frames: how many samples of CPython processes got them, and why not the rest. */
static void python_summary(const struct cs_profile *p, const struct cs_record_result *res)
{
	const struct cs_stats *st = &p->stats;
	if (res->python_note[0])
		fprintf(stderr, "[csampler] %s\n", res->python_note);
	if (!st->py_samples)
		return;
	fprintf(stderr, "[csampler] Python frames merged in %.1f%% of %llu samples of CPython code",
		100.0 * (double)st->py_merged / (double)st->py_samples,
		(unsigned long long)st->py_samples);
	if (st->py_merged)
		fprintf(stderr, " (read %.2f ms after the sample on average)",
			(double)st->py_lag_ns / (double)st->py_merged / 1e6);
	fputc('\n', stderr);
	if (st->py_merged)
		fprintf(stderr, "[csampler]   the thread held the GIL in %.1f%% of them (when read)\n",
			100.0 * (double)st->py_gil / (double)st->py_merged);
	if (st->py_mismatch)
		fprintf(stderr,
			"[csampler]   %llu kept their interpreter frames: the Python frames read "
			"did not match them (the thread had moved on, or was entering or leaving "
			"the interpreter)\n",
			(unsigned long long)st->py_mismatch);
	if (st->py_moved)
		fprintf(stderr,
			"[csampler]   %llu kept their interpreter frames: the sampled registers and "
			"stack point into other code than the Python function read (it had moved "
			"on)\n",
			(unsigned long long)st->py_moved);
	if (st->py_late)
		fprintf(stderr,
			"[csampler]   %llu kept their interpreter frames: csampler read them more "
			"than %llu ms after the sample (it was busy)\n",
			(unsigned long long)st->py_late,
			(unsigned long long)(CS_PY_MAX_LAG_NS / 1000000));
	if (st->py_unreadable)
		fprintf(stderr,
			"[csampler]   %llu kept their interpreter frames: the interpreter's state "
			"could not be read (thread state not found, or changing)\n",
			(unsigned long long)st->py_unreadable);
}

static void summary(const struct cs_profile *p, const struct cs_record_result *res,
		    const char *output, long long bytes, int cpu)
{
	const struct cs_stats *st = &p->stats;
	double dur = (double)st->duration_ns / 1e9;
	uint64_t unwound = st->complete + st->truncated;
	fprintf(stderr, "[csampler] %.1f s", dur);
	if (cpu)
		fprintf(stderr, ": %llu samples, %llu lost, %llu threads in %llu process%s",
			(unsigned long long)st->samples, (unsigned long long)st->lost,
			(unsigned long long)st->threads, (unsigned long long)st->processes,
			st->processes == 1 ? "" : "es");
	if (res->exited)
		fprintf(stderr, " (target exited)");
	fputc('\n', stderr);
	if (res->leaks || !cpu) {
		leak_warnings(res);
		leak_summary(p, res);
	}
	if (unwound)
		unwind_summary(p, res);
	if (p->times.wall)
		offcpu_summary(p, res);
	python_summary(p, res);
	const struct cs_sampler_info *si = &res->sampler;
	if (cpu && si->name && !strcmp(si->name, "ptrace")) {
		fprintf(stderr, "[csampler] ptrace sampler at %u Hz%s: no kernel frames",
			si->hz, si->fallback ? " (perf events were refused)" : "");
		if (si->stops)
			fprintf(stderr, "; each sample stopped its thread for %.0f us median, %.0f us "
					"max (%.0f us median, %.0f max from interrupt to resume; %llu "
					"stops)",
				si->stop_median_us, si->stop_max_us, si->trip_median_us,
				si->trip_max_us, (unsigned long long)si->stops);
		fputc('\n', stderr);
	} else if (cpu && !res->kernel)
		fprintf(stderr, "[csampler] kernel frames not recorded (run as root or set "
				"kernel.perf_event_paranoid <= 1 to see time spent in the kernel)\n");
	fprintf(stderr, "[csampler] profiler CPU %.2f s", (double)st->profiler_cpu_ns / 1e9);
	if (dur >= 1)
		fprintf(stderr, " (%.1f%% of one core)", 100.0 * (double)st->profiler_cpu_ns / 1e9 / dur);
	if (output)
		fprintf(stderr, "; wrote '%s'", output);
	if (output && bytes >= 0) {
		fprintf(stderr, " (%lld bytes", bytes);
		if (p->times.wall && st->samples + st->offcpu_events)
			fprintf(stderr, ", %.1f bytes per sample or off-CPU interval",
				(double)bytes / (double)(st->samples + st->offcpu_events));
		else if (st->samples)
			fprintf(stderr, ", %.1f bytes/sample", (double)bytes / (double)st->samples);
		fprintf(stderr, ")");
	}
	fputc('\n', stderr);
	if (res->pushed) {
		const struct cs_push_stats *ps = &res->push;
		fprintf(stderr, "[csampler] pushed %llu of %llu windows; %llu retried, %llu dropped",
			(unsigned long long)ps->sent, (unsigned long long)ps->windows,
			(unsigned long long)ps->retried, (unsigned long long)ps->dropped);
		if (ps->last_error[0] && ps->sent < ps->windows)
			fprintf(stderr, " (last error: %s)", ps->last_error);
		fputc('\n', stderr);
	}
	if (cpu && !st->samples)
		fprintf(stderr, "[csampler] no samples: the target used no CPU while it was "
				"recorded\n");
	if (res->launched && res->exited) {
		int s = res->exit_status;
		if (WIFEXITED(s) && WEXITSTATUS(s))
			fprintf(stderr, "[csampler] command exited with status %d\n", WEXITSTATUS(s));
		else if (WIFSIGNALED(s))
			fprintf(stderr, "[csampler] command killed by signal %d (%s)\n", WTERMSIG(s),
				strsignal(WTERMSIG(s)));
	}
}

static int run(int argc, char **argv, int leaks_cmd)
{
	enum { O_STACK = 256, O_NO_KERNEL, O_DEBUG_DIR, O_LEAKS, O_SAMPLE_BYTES, O_AGENT, O_INTERVAL,
	       O_WALL, O_SAMPLER, O_NO_PYTHON, O_PUSH, O_PUSH_INTERVAL, O_APP, O_LABELS, O_PUSH_FORMAT };
	const char *cmd = leaks_cmd ? "leaks" : "record";
	static const struct option longopts[] = {
		{"pid", required_argument, 0, 'p'},
		{"freq", required_argument, 0, 'F'},
		{"duration", required_argument, 0, 'd'},
		{"output", required_argument, 0, 'o'},
		{"stack-size", required_argument, 0, O_STACK},
		{"no-kernel", no_argument, 0, O_NO_KERNEL},
		{"sampler", required_argument, 0, O_SAMPLER},
		{"debug-dir", required_argument, 0, O_DEBUG_DIR},
		{"quiet", no_argument, 0, 'q'},
		{"leaks", no_argument, 0, O_LEAKS},
		{"wall", no_argument, 0, O_WALL},
		{"interval", required_argument, 0, O_INTERVAL},
		{"sample-bytes", required_argument, 0, O_SAMPLE_BYTES},
		{"agent", required_argument, 0, O_AGENT},
		{"no-python", no_argument, 0, O_NO_PYTHON},
		{"push", required_argument, 0, O_PUSH},
		{"push-interval", required_argument, 0, O_PUSH_INTERVAL},
		{"push-format", required_argument, 0, O_PUSH_FORMAT},
		{"app", required_argument, 0, O_APP},
		{"labels", required_argument, 0, O_LABELS},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct cs_record_opts o;
	const char *output = NULL; /* default csampler.data; none with --push */
	struct cs_push_opts push = {NULL, CS_PUSH_PYROSCOPE, NULL, NULL, 10};
	int push_set = 0;
	CS_VEC(const char *) dirs = {0};
	int quiet = 0, c, ret = 1;
	uint64_t v;
	double d;

	memset(&o, 0, sizeof(o));
	o.hz = 99;
	o.stack_size = CS_STACK_SIZE_DEFAULT;
	o.kernel = -1;
	o.leak_interval_s = 10;
	if (leaks_cmd) {
		o.leaks = 1;
		o.no_cpu = 1;
	}
	optind = 1;
	opterr = 0;
	/* '+': stop at the first non-option so the command's own options stay its own. */
	while ((c = getopt_long(argc, argv, leaks_cmd ? "+p:d:o:qh" : "+p:F:d:o:qh", longopts,
				NULL)) != -1) {
		if (leaks_cmd && (c == O_STACK || c == O_NO_KERNEL || c == O_LEAKS || c == O_WALL ||
				  c == O_SAMPLER || c == O_NO_PYTHON || c == O_PUSH ||
				  c == O_PUSH_INTERVAL || c == O_APP || c == O_LABELS ||
				  c == O_PUSH_FORMAT))
			return cs_usage_error(cmd, "'%s' is an option of 'csampler record'",
					      argv[optind - 1]);
		switch (c) {
		case 'p':
			if (cs_parse_u64(optarg, &v) < 0 || v == 0 || v > 0x7fffffff)
				return cs_usage_error(cmd, "--pid needs a process id, not '%s'",
						      optarg);
			o.pid = (pid_t)v;
			break;
		case 'F':
			if (cs_parse_u64(optarg, &v) < 0 || v == 0 || v > 100000)
				return cs_usage_error(cmd,
						      "--freq needs a rate in Hz from 1 to 100000, not '%s'",
						      optarg);
			o.hz = (unsigned)v;
			break;
		case 'd':
			if (cs_parse_double(optarg, &d) < 0 || d <= 0 || d > 1e7)
				return cs_usage_error(cmd,
						      "--duration needs a positive number of seconds, "
						      "not '%s'",
						      optarg);
			o.duration_s = d;
			break;
		case 'o': output = optarg; break;
		case O_STACK:
			if (cs_parse_u64(optarg, &v) < 0 || v < 64 || v > CS_STACK_SIZE_MAX)
				return cs_usage_error(cmd,
						      "--stack-size needs bytes from 64 to %d, not '%s'",
						      CS_STACK_SIZE_MAX, optarg);
			o.stack_size = (unsigned)((v + 7) & ~7ull);
			if (o.stack_size > CS_STACK_SIZE_MAX)
				o.stack_size = CS_STACK_SIZE_MAX;
			break;
		case O_NO_KERNEL: o.kernel = 0; break;
		case O_SAMPLER:
			if ((o.sampler = cs_sampler_kind_parse(optarg)) < 0)
				return cs_usage_error(cmd, "--sampler needs perf, ptrace or auto, not '%s'",
						      optarg);
			break;
		case O_DEBUG_DIR: CS_VEC_PUSH(dirs, optarg); break;
		case 'q': quiet = 1; break;
		case O_LEAKS: o.leaks = 1; break;
		case O_WALL: o.wall = 1; break;
		case O_INTERVAL:
			if (cs_parse_double(optarg, &d) < 0 || d < 0.05 || d > 1e7)
				return cs_usage_error(cmd,
						      "--interval needs a number of seconds (at least "
						      "0.05), not '%s'",
						      optarg);
			o.leak_interval_s = d;
			break;
		case O_SAMPLE_BYTES:
			if (cs_parse_u64(optarg, &v) < 0 || v == 0 || v > (1ull << 40))
				return cs_usage_error(cmd, "--sample-bytes needs a positive number of "
							   "bytes, not '%s'",
						      optarg);
			o.sample_bytes = v;
			break;
		case O_AGENT: o.agent = optarg; break;
		case O_NO_PYTHON: o.no_python = 1; break;
		case O_PUSH: push.url = optarg; break;
		case O_PUSH_INTERVAL:
			if (cs_parse_double(optarg, &d) < 0 || d < 0.1 || d > 86400)
				return cs_usage_error(cmd,
						      "--push-interval needs seconds from 0.1 to 86400, "
						      "not '%s'",
						      optarg);
			push.interval_s = d;
			push_set = 1;
			break;
		case O_PUSH_FORMAT:
			if ((push.format = cs_push_format_parse(optarg)) < 0)
				return cs_usage_error(cmd, "--push-format needs pyroscope or otlp, not '%s'",
						      optarg);
			push_set = 1;
			break;
		case O_APP: push.app = optarg; push_set = 1; break;
		case O_LABELS: push.labels = optarg; push_set = 1; break;
		case 'h': fputs(leaks_cmd ? leaks_usage_text : usage_text, stdout); return 0;
		default:
			return cs_usage_error(cmd, "unknown option or missing value: '%s'",
					      argv[optind - 1]);
		}
	}
	if (optind < argc)
		o.argv = argv + optind;
	if (!o.pid && !o.argv)
		return cs_usage_error(cmd, "say what to profile: --pid PID or -- COMMAND");
	if (o.pid && o.argv)
		return cs_usage_error(cmd, "give either --pid or a command, not both");
	if ((o.sample_bytes || o.leak_interval_s != 10) && !o.leaks)
		return cs_usage_error(cmd, "--interval and --sample-bytes go with --leaks");
	if (push_set && !push.url)
		return cs_usage_error(cmd, "--push-interval, --push-format, --app and --labels go "
					   "with --push");
	if (push.url) {
		char why[256];
		if (o.wall || o.leaks)
			return cs_usage_error(cmd, "--push sends CPU samples only: not with %s",
					      o.wall ? "--wall" : "--leaks");
		if (cs_push_check(&push, why, sizeof(why)) < 0)
			return cs_usage_error(cmd, "%s", why);
		o.push = &push;
		o.window_only = !output; /* nothing keeps the whole recording */
	} else if (!output) {
		output = "csampler.data";
	}
	o.debug_dirs = dirs.v;
	o.n_debug_dirs = dirs.n;
	o.status_line = !quiet && isatty(STDERR_FILENO);
	o.stop = &stop_flag;

	struct cs_profile p;
	cs_profile_init(&p);
	struct cs_record_result res;
	/* Open the output now, so that a recording never ends in an unwritable name. */
	struct cs_out out;
	memset(&out, 0, sizeof(out));
	out.file.dirfd = -1;
	if (output && cs_out_open(&out, output) < 0)
		goto out;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cs_record(&o, &p, &res) < 0)
		goto out;
	/* Ignore further Ctrl-C while the recording is written to a file: it must be
	 * complete, and writing a file ends. A FIFO or a device written in place may
	 * block forever (a reader that stopped reading): there the handlers stay, so a
	 * further signal interrupts the write and csampler ends with an error. */
	if (output && out.file.dirfd >= 0) { /* a file replaced on commit */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
	}
	if (output && (cs_profile_write_to(&p, out.f) < 0 || cs_out_commit(&out) < 0))
		goto out;
	if (!quiet) {
		struct stat st;
		/* the size of a file; a FIFO, device or standard output has none to tell */
		long long bytes = output && strcmp(output, "-") && stat(output, &st) == 0 &&
						  S_ISREG(st.st_mode)
					  ? (long long)st.st_size
					  : -1;
		summary(&p, &res, output, bytes, !o.no_cpu);
	}
	ret = 0;
	/* A launched command's status is ours, as a shell gives it: 128 + signal. */
	if (res.launched && res.exited) {
		if (WIFEXITED(res.exit_status))
			ret = WEXITSTATUS(res.exit_status);
		else if (WIFSIGNALED(res.exit_status))
			ret = 128 + WTERMSIG(res.exit_status);
	}
out:
	if (output)
		cs_out_abort(&out);
	CS_VEC_FREE(dirs);
	cs_profile_release(&p);
	return ret;
}

int cmd_record(int argc, char **argv)
{
	return run(argc, argv, 0);
}

int cmd_leaks(int argc, char **argv)
{
	return run(argc, argv, 1);
}
