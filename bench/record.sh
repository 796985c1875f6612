#!/usr/bin/env bash
# record.sh - benchmark csampler record next to Linux perf, in one run, on the same
# fixed-work target, rates and duration. Prints the measurements and a table of ratios:
#   - CPU overhead on the target at each rate, vs perf record --call-graph dwarf
#   - bytes per sample in the recording, vs perf.data
#   - profiler CPU for recording + folding, vs perf record + perf script
#   - share of stacks that reach the thread's root frame (_start, clone3), vs perf's
#     frame-pointer and DWARF modes
#
# usage: bench/record.sh [BUILD_DIR]     (default: build; csampler must be built there)
#
# Environment:
#   DURATION  seconds of CPU work per thread in each run (default 2)
#   REPS      runs of each configuration, interleaved; medians are reported (default 5)
#   RATES     sampling rates in Hz (default "99 999")
#   THREADS   threads of the target, main thread included (default 2)
#   CSAMPLER_OPTS, PERF_OPTS  extra options for csampler record / perf record (dwarf)
#   KEEP=1    keep the work directory (recordings, perf.data, logs) and print its path
#
# Needs: cc, perf (linux-perf), GNU time (/usr/bin/time); root or perf_event_paranoid
# low enough to attach to a process. Exits 0 whatever the verdicts; non-zero when a
# tool fails to run.
set -Eeuo pipefail
trap 'echo "record.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exe=$build/cli/csampler
DURATION=${DURATION:-2}
REPS=${REPS:-5}
RATES=${RATES:-"99 999"}
THREADS=${THREADS:-2}

die() {
	echo "record.sh: $*" >&2
	exit 1
}
[ -x "$exe" ] || die "no csampler at $exe: build first"
[ -x /usr/bin/time ] || die "GNU time is needed (apt-get install time)"
command -v perf >/dev/null || die "perf is needed (scripts/deps.sh bench)"
command -v cc >/dev/null || die "a C compiler is needed"

work=$(mktemp -d)
# PIDs of the processes this script started that are still running: target, time, profiler
TPID="" TIMEPID="" PPID_REAL=""
cleanup() {
	for p in $PPID_REAL $TIMEPID $TPID; do
		kill "$p" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "record.sh: work directory kept: $work" >&2
	else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"

ncpu=$(getconf _NPROCESSORS_ONLN)
cflags="-O2 -g -fomit-frame-pointer -pthread"
# shellcheck disable=SC2086
cc $cflags -o record_workload "$here/record_workload.c" || die "cannot build the workload"

# ---- helpers ----

# cpu_of TIMEFILE: user+sys seconds from /usr/bin/time -f "%U %S %e" (last line; time
# writes a status line before it when the command failed)
cpu_of() { tail -n 1 "$1" | awk '{ printf "%.3f", $1 + $2 }'; }
wall_of() { tail -n 1 "$1" | awk '{ print $3 }'; }
# cpu_mark, cpu_since: this shell's children's user+sys CPU so far (from the times builtin,
# ms resolution), to time a command run in the foreground: mark, run, mark again
# (no command substitution around these: a subshell has children of its own)
cpu_mark() { times >cpu0.txt; }
cpu_since() { # sets CPU_SINCE
	times >cpu1.txt
	CPU_SINCE=$(awk 'FNR == 2 { split($1, a, "m"); split($2, b, "m"); t = a[1] * 60 + a[2] + b[1] * 60 + b[2]
		if (FILENAME == "cpu0.txt") t0 = t; else t1 = t } END { printf "%.3f", t1 - t0 }' cpu0.txt cpu1.txt)
}
# median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# results.tsv columns: cfg hz rep target_wall target_cpu rec_cpu post_cpu bytes samples
#                      lost rooted checked complete unwound rec_wall
# (complete and unwound: csampler's own count of stacks unwound to the root, of all)
col() { case $1 in wall) echo 4 ;; cpu) echo 5 ;; rec) echo 6 ;; post) echo 7 ;;
	bytes) echo 8 ;; samples) echo 9 ;; lost) echo 10 ;; rooted) echo 11 ;;
	checked) echo 12 ;; complete) echo 13 ;; unwound) echo 14 ;; recwall) echo 15 ;; esac; }
# med CFG HZ COLUMN: median over the runs of CFG at HZ ("*" = all rates)
med() {
	awk -v c="$1" -v h="$2" -v k="$(col "$3")" '$1 == c && (h == "*" || $2 == h) { print $k }' results.tsv | median
}
# sum CFG HZ COLUMN
sum() {
	awk -v c="$1" -v h="$2" -v k="$(col "$3")" '$1 == c && (h == "*" || $2 == h) { s += $k } END { print s + 0 }' results.tsv
}
# paired A B HZ COLUMN: median over reps of A's value / B's value in the same rep
paired() {
	awk -v a="$1" -v b="$2" -v h="$3" -v k="$(col "$4")" '
		$2 == h && $1 == a { x[$3] = $k } $2 == h && $1 == b { y[$3] = $k }
		END { for (r in x) if ((r in y) && y[r] > 0) print x[r] / y[r] }' results.tsv | median
}
# lower A B HZ COLUMN: "k n": in k of the n reps with both, A's value was below B's
lower() {
	awk -v a="$1" -v b="$2" -v h="$3" -v k="$(col "$4")" '
		$2 == h && $1 == a { x[$3] = $k } $2 == h && $1 == b { y[$3] = $k }
		END { for (r in x) if (r in y) { n++; if (x[r] < y[r]) l++ } print l + 0, n + 0 }' results.tsv
}
# spread CFG HZ COLUMN: (max - min) / median, in percent
spread() {
	awk -v c="$1" -v h="$2" -v k="$(col "$3")" '$1 == c && (h == "*" || $2 == h) {
		if (!n || $k < lo) lo = $k; if (!n || $k > hi) hi = $k; n++ } END { print lo, hi }' results.tsv |
		{ read -r lo hi; m=$(med "$1" "$2" "$3"); calc "%.1f" "($hi - $lo) / $m * 100"; }
}

# Root-frame check on `perf script -F pid,tid,ip,sym` text: a sample reaches the thread
# root when its outermost frame is _start (main thread) or clone3/clone (other threads).
# Prints "samples rooted", then "miss COUNT WHERE" for the outermost frames of the rest.
perf_roots() {
	awk '
	function flush() {
		if (!have) return
		n++
		if (tid == pid ? last == "_start" : last ~ /^(__)?clone3?$/) r++
		else miss[(tid == pid ? "main thread" : "other thread") " ends in " last]++
		have = 0
	}
	/^\t/ { if (have) { s = $0; sub(/^[ \t]*[0-9a-f]+ /, "", s); sub(/ \(inlined\)$/, "", s); last = s }; next }
	/^[ \t]*$/ { flush(); next }
	{ flush(); split($1, a, "/"); pid = a[1]; tid = a[2]; have = 1; last = "(no frames)" }
	END { flush(); print n + 0, r + 0; for (k in miss) print "miss", miss[k], k }'
}
# The same check on `csampler fold --per-thread` text (first frame NAME-TID). $1 = PID.
fold_roots() {
	awk -v pid="$1" '
	{
		c = $NF; s = $0; sub(/ [0-9]+$/, "", s); split(s, f, ";")
		tid = f[1]; sub(/.*-/, "", tid); last = f[2]
		n += c
		if (tid == pid ? last == "_start" : last ~ /^(__)?clone3?$/) r += c
		else miss[(tid == pid ? "main thread" : "other thread") " ends in " last] += c
	}
	END { print n + 0, r + 0; for (k in miss) print "miss", miss[k], k }'
}

# start_target: launch the workload, waiting for SIGUSR1; sets TPID
start_target() {
	./record_workload -w "$ITERS" "$THREADS" >target.out 2>target.err &
	TPID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q '^ready' target.out 2>/dev/null && return 0
		kill -0 "$TPID" 2>/dev/null || die "the workload failed: $(cat target.err)"
		sleep 0.05
	done
	die "the workload did not get ready"
}

# wait_attached TIMEPID: wait until the profiler under /usr/bin/time holds one perf
# event per (target thread x CPU), then give it a moment to enable them
wait_attached() {
	local tp=$1 pp="" i n need=$((THREADS * ncpu))
	for ((i = 0; i < 400; i++)); do
		kill -0 "$tp" 2>/dev/null || die "the profiler exited early: $(tail -n 5 rec.err)"
		[ -n "$pp" ] || read -r pp _ <"/proc/$tp/task/$tp/children" 2>/dev/null || true
		if [ -n "$pp" ]; then
			PPID_REAL=$pp
			# (find fails when one of the profiler's fds closes while it looks)
			n=$(find "/proc/$pp/fd" -lname 'anon_inode:*perf_event*' 2>/dev/null | wc -l || true)
			if [ "$n" -ge "$need" ]; then
				sleep 0.5
				return 0
			fi
		fi
		sleep 0.05
	done
	die "the profiler did not attach within 20 s: $(tail -n 5 rec.err)"
}

# finish TIMEPID: the target has exited; wait for the profiler to write its output
finish() {
	local tp=$1 i
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$tp" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$tp" 2>/dev/null; then
		die "the profiler did not stop 120 s after the target exited: $(tail -n 5 rec.err)"
	fi
	local rc=0
	wait "$tp" || rc=$?
	TIMEPID="" PPID_REAL=""
	[ "$rc" = 0 ] || die "the profiler failed: $(tail -n 5 rec.err)"
}

# run_one CFG HZ REP: one run of the target alone (none), under csampler (cs) or under
# perf record in dwarf or fp mode; appends a line to results.tsv
run_one() {
	local cfg=$1 hz=$2 rep=$3 tp="" rec=0 post=0 bytes=0 samples=0 lost=0 rooted=0 checked=0
	local complete=0 unwound=0 recwall=0
	rm -f cs.data perf.data
	start_target
	case $cfg in
	none) ;;
	cs)
		# shellcheck disable=SC2086
		/usr/bin/time -f "%U %S %e" -o rec.time "$exe" record --pid "$TPID" -F "$hz" \
			-d "$SAFETY" -o cs.data ${CSAMPLER_OPTS:-} 2>rec.err &
		tp=$! ;;
	dwarf | fp)
		local extra=""
		[ "$cfg" = fp ] || extra=${PERF_OPTS:-}
		# shellcheck disable=SC2086
		/usr/bin/time -f "%U %S %e" -o rec.time perf record -e cpu-clock -F "$hz" \
			--call-graph "$cfg" -p "$TPID" -o perf.data $extra 2>rec.err >/dev/null &
		tp=$! ;;
	esac
	if [ -n "$tp" ]; then
		TIMEPID=$tp
		wait_attached "$tp"
	fi
	kill -USR1 "$TPID"
	local rc=0
	wait "$TPID" || rc=$?
	local pid=$TPID
	TPID=""
	[ "$rc" = 0 ] || die "the workload failed: $(cat target.err)"
	local twall tcpu
	read -r _ twall _ tcpu _ <<<"$(grep '^wall_s' target.out)"
	if [ -n "$tp" ]; then finish "$tp"; fi
	case $cfg in
	cs)
		rec=$(cpu_of rec.time)
		recwall=$(wall_of rec.time)
		bytes=$(stat -c %s cs.data)
		cpu_mark
		"$exe" fold -i cs.data -o /dev/null 2>post.err || die "csampler fold failed: $(cat post.err)"
		cpu_since
		post=$CPU_SINCE
		local st
		st=$("$exe" report -i cs.data --format json -n 1 | grep -o '"stats": {[^}]*}') ||
			die "csampler report gave no stats"
		samples=$(sed 's/.*"samples": \([0-9]*\).*/\1/' <<<"$st")
		lost=$(sed 's/.*"lost": \([0-9]*\).*/\1/' <<<"$st")
		complete=$(sed 's/.*"complete": \([0-9]*\).*/\1/' <<<"$st")
		unwound=$(($(sed 's/.*"truncated": \([0-9]*\).*/\1/' <<<"$st") + complete))
		"$exe" fold --per-thread -i cs.data -o cs.folded || die "csampler fold --per-thread failed"
		fold_roots "$pid" <cs.folded >roots.txt
		read -r checked rooted < <(head -n 1 roots.txt)
		tail -n +2 roots.txt | sed "s/^/cs $hz /" >>misses.txt
		cp rec.err "cs-$hz-$rep.log" ;;
	dwarf | fp)
		rec=$(cpu_of rec.time)
		recwall=$(wall_of rec.time)
		bytes=$(stat -c %s perf.data)
		local stats
		stats=$(perf report --stats -i perf.data 2>/dev/null) || die "perf report --stats failed"
		samples=$(awk '/SAMPLE events:/ { print $3; exit }' <<<"$stats")
		lost=$(awk '/LOST(_SAMPLES)? events:/ { s += $3 } END { print s + 0 }' <<<"$stats")
		if [ "$cfg" = dwarf ]; then
			cpu_mark
			perf script -i perf.data >/dev/null 2>post.err || die "perf script failed: $(tail -n 5 post.err)"
			cpu_since
			post=$CPU_SINCE
		fi
		perf script -i perf.data -F pid,tid,ip,sym 2>/dev/null | perf_roots >roots.txt ||
			die "perf script -F pid,tid,ip,sym failed"
		read -r checked rooted < <(head -n 1 roots.txt)
		tail -n +2 roots.txt | sed "s/^/$cfg $hz /" >>misses.txt
		cp rec.err "$cfg-$hz-$rep.log" ;;
	esac
	printf '%s\t' "$cfg" "$hz" "$rep" "$twall" "$tcpu" "$rec" "$post" "$bytes" "$samples" "$lost" \
		"$rooted" "$checked" "$complete" "$unwound" >>results.tsv
	printf '%s\n' "$recwall" >>results.tsv
	local line
	line=$(printf '  rep %d %4s Hz %-10s target cpu %6.2f s wall %6.2f s' "$rep" "$hz" \
		"$(case $cfg in none) echo alone ;; cs) echo csampler ;; *) echo "perf-$cfg" ;; esac)" "$tcpu" "$twall")
	if [ "$cfg" != none ]; then
		line+=$(printf ' | %6d samples %d lost, %5.1f B/sample, profiler cpu %.2f + %.2f s' \
			"$samples" "$lost" "$(calc %.1f "$bytes / ($samples ? $samples : 1)")" "$rec" "$post")
	fi
	echo "$line"
}

# ---- calibrate: ITERS such that each thread works about DURATION seconds of CPU ----
# (the least CPU of three short runs: interference only ever adds time)
ccpu=$(for i in 1 2 3; do ./record_workload 200000 1 | awk '{ print $4 }'; done | sort -g | head -n 1)
ITERS=$(calc %.0f "200000 * $DURATION / $ccpu")
[ "$ITERS" -gt 0 ] || die "calibration failed"
SAFETY=$(calc %.0f "$DURATION * 40 + 120") # csampler's -d: only a safety net, the target ends first

echo "== csampler record vs perf record: $(uname -r), $ncpu CPUs, $(perf --version)"
echo "target:   bench/record_workload.c built 'cc $cflags'; record_workload -w $ITERS $THREADS"
echo "          ($THREADS threads x $ITERS call trees 10-30 frames deep, ~$DURATION s CPU each;"
echo "          it waits for SIGUSR1 after the profiler attached and reports its own"
echo "          getrusage CPU and wall time for the work only)"
echo "csampler: csampler record --pid PID -F HZ -d $SAFETY -o cs.data ${CSAMPLER_OPTS:-}"
echo "          csampler fold -i cs.data -o /dev/null            (timed)"
echo "          csampler fold --per-thread -i cs.data            (root-frame check)"
echo "          csampler report -i cs.data --format json          (samples, lost, complete)"
echo "perf:     perf record -e cpu-clock -F HZ --call-graph dwarf -p PID -o perf.data ${PERF_OPTS:-}"
echo "          perf script -i perf.data >/dev/null               (timed)"
echo "          perf record -e cpu-clock -F HZ --call-graph fp -p PID -o perf.data (once per rate)"
echo "          perf script -i perf.data -F pid,tid,ip,sym        (root-frame check)"
echo "          perf report --stats -i perf.data                  (samples, lost)"
echo "profiler CPU = user+sys from /usr/bin/time; both profilers end when the target exits."
echo "REPS=$REPS runs per configuration, order rotated each rep; medians reported."
echo

: >results.tsv
: >misses.txt
cfgs=(none cs dwarf)
for ((rep = 1; rep <= REPS; rep++)); do
	for hz in $RATES; do
		for ((k = 0; k < 3; k++)); do
			run_one "${cfgs[$(((k + rep) % 3))]}" "$hz" "$rep"
		done
	done
done
for hz in $RATES; do
	run_one fp "$hz" 1
done

# ---- report ----
echo
echo "== details (medians over the runs; overheads are medians of the ratio to the run alone"
echo "   in the same rep, and in brackets min under the profiler / min alone)"
name() { case $1 in cs) echo csampler ;; *) echo "perf $1" ;; esac; }
pct() { calc %+.1f%% "($1 - 1) * 100"; }
f2() { calc %.2f "$1"; }
mn() { awk -v c="$1" -v h="$2" -v k="$(col "$3")" '$1 == c && $2 == h { print $k }' results.tsv | sort -g | head -n 1; }
for hz in $RATES; do
	echo "$hz Hz: alone: target cpu $(f2 "$(med none "$hz" cpu)") s (runs vary by $(spread none "$hz" cpu)%)," \
		"wall $(f2 "$(med none "$hz" wall)") s (by $(spread none "$hz" wall)%)"
	for c in cs dwarf fp; do
		n=$(awk -v c=$c -v h="$hz" '$1 == c && $2 == h' results.tsv | wc -l)
		[ "$n" -gt 0 ] || continue
		s=$(sum $c "$hz" samples)
		echo "  $(name $c), $n run(s): target cpu $(f2 "$(med $c "$hz" cpu)") s, $(pct "$(paired $c none "$hz" cpu)")" \
			"[$(pct "$(calc %.6f "$(mn $c "$hz" cpu) / $(mn none "$hz" cpu)")")]," \
			"wall $(f2 "$(med $c "$hz" wall)") s, $(pct "$(paired $c none "$hz" wall)")" \
			"[$(pct "$(calc %.6f "$(mn $c "$hz" wall) / $(mn none "$hz" wall)")")]"
		echo "    $(calc %.0f "$(med $c "$hz" samples)") samples/run ($(calc %.3f "$s / ($(sum $c "$hz" cpu) * $hz)") x target CPU s x Hz)," \
			"$(sum $c "$hz" lost) lost in all; $(calc %.1f "$(sum $c "$hz" bytes) / $s") B/sample;" \
			"profiler CPU: record $(f2 "$(med $c "$hz" rec)") s (over $(f2 "$(med $c "$hz" recwall)") s)$([ $c = fp ] || echo ", $([ $c = cs ] && echo fold || echo script) $(calc %.3f "$(med $c "$hz" post)") s")"
	done
done
read -r lo hi < <(tr -s ' ' '\n' <<<"$RATES" | grep . | sort -g | awk 'NR == 1 { l = $1 } { h = $1 } END { print l, h }')
if [ "$lo" != "$hi" ]; then
	# marginal CPU per sample of one column: (median at hi - median at lo) / extra samples
	per_sample() {
		local l h
		l=$(med "$1" "$lo" "$2")
		h=$(med "$1" "$hi" "$2")
		calc %.1f "($h - $l) / ($(med "$1" "$hi" samples) - $(med "$1" "$lo" samples)) * 1e6"
	}
	echo "profiler CPU per extra sample, from the medians at $lo and $hi Hz (rough: noisy):" \
		"record: csampler $(per_sample cs rec) us, perf $(per_sample dwarf rec) us;" \
		"csampler fold $(per_sample cs post) us, perf script $(per_sample dwarf post) us"
fi
echo "stacks not reaching the thread root (all runs; outermost frame):"
if [ -s misses.txt ]; then
	awk '{ k = $1 " " $2 " Hz"; $1 = ""; $2 = ""; c = $4; $3 = ""; $4 = ""; sub(/^ +/, ""); m[k ": " $0] += c }
		END { for (x in m) print m[x], x }' misses.txt | sort -k2,2 -k1,1nr |
		awk '{ n[$2 $3]++; if (n[$2 $3] <= 4) { c = $1; $1 = ""; printf "  %-6s %s\n", c, substr($0, 2) } }'
else
	echo "  none"
fi
cs_sum_pct=$(calc %.2f "$(sum cs '*' complete) / $(sum cs '*' unwound) * 100")
echo "csampler's own count (complete / unwound, all runs): $cs_sum_pct%" \
	"($(sum cs '*' complete) of $(sum cs '*' unwound));" \
	"from its folded stacks: $(calc %.2f "$(sum cs '*' rooted) / $(sum cs '*' checked) * 100")%" \
	"($(sum cs '*' checked) samples)"

echo
echo "== summary: csampler vs perf, same target, rates and duration"
fmt='%-44s | %10s | %10s | %7s | %-7s | %s\n'
# shellcheck disable=SC2059
printf "$fmt" metric csampler perf ratio target verdict
echo "---------------------------------------------+------------+------------+---------+---------+--------"
verdict() { awk "BEGIN { print ($1) ? \"PASS\" : \"FAIL\" }"; }
for hz in $RATES; do
	for m in cpu wall; do
		c=$(paired cs none "$hz" $m)
		d=$(paired dwarf none "$hz" $m)
		r=$(paired cs dwarf "$hz" $m)
		r=$(calc %.3f "$r")
		if [ $m = cpu ]; then label="target CPU overhead @$hz Hz" goal="<= 1" v=$(verdict "$r <= 1")
		else label="  target wall-time overhead @$hz Hz" goal="info" v=""; fi
		# A sign test: csampler below perf in k of n paired reps. With no difference
		# k is binomial(n, 1/2); k <= 1 or k >= n - 1 is unlikely by chance for n >= 5.
		read -r k n < <(lower cs dwarf "$hz" $m)
		if [ "$n" -ge 5 ] && { [ "$k" -le 1 ] || [ "$k" -ge $((n - 1)) ]; }; then sig=""
		else sig=", not significant"; fi
		# shellcheck disable=SC2059
		printf "$fmt" "$label" "$(calc %+.1f%% "($c - 1) * 100")" "$(calc %+.1f%% "($d - 1) * 100")" \
			"$(calc %.3f "$r")" "$goal" "$v${v:+ }(lower in $k/$n reps$sig; alone varies $(spread none "$hz" $m)%)"
	done
done
for hz in $RATES; do
	cb=$(calc %.1f "$(sum cs "$hz" bytes) / $(sum cs "$hz" samples)")
	db=$(calc %.1f "$(sum dwarf "$hz" bytes) / $(sum dwarf "$hz" samples)")
	# shellcheck disable=SC2059
	printf "$fmt" "bytes per sample @$hz Hz" "$cb" "$db" "$(calc %.4f "$cb / $db")" "<= 300" \
		"$(verdict "$cb <= 300")"
done
for hz in $RATES; do
	c=$(awk -v h="$hz" '$1 == "cs" && $2 == h { print $6 + $7 }' results.tsv | median)
	d=$(awk -v h="$hz" '$1 == "dwarf" && $2 == h { print $6 + $7 }' results.tsv | median)
	# shellcheck disable=SC2059
	printf "$fmt" "profiler CPU s @$hz Hz (record + post-proc.)" "$(calc %.3f "$c")" "$(calc %.3f "$d")" \
		"$(calc %.3f "$c / $d")" "<= 0.1" "$(verdict "$c <= 0.1 * $d")"
done
cr=$(sum cs '*' rooted)
cn=$(sum cs '*' checked)
for m in fp dwarf; do
	pr=$(sum $m '*' rooted)
	pn=$(sum $m '*' checked)
	# shellcheck disable=SC2059
	printf "$fmt" "stacks reaching the thread root (perf $m)" "$(calc %.2f%% "$cr / $cn * 100")" \
		"$(calc %.2f%% "$pr / ($pn ? $pn : 1) * 100")" "-" ">= 99%" "$(verdict "$cr >= 0.99 * $cn")"
done
# shellcheck disable=SC2059
printf "$fmt" "  same, csampler's own count" "$cs_sum_pct%" "-" "-" ">= 99%" \
	"$(verdict "$cs_sum_pct >= 99")"
echo "Overhead: median over reps of (target CPU or wall time under the profiler / alone in"
echo "the same rep) - 1; ratio: median over reps of csampler / perf dwarf in the same rep."
echo "Profiler CPU: csampler record + csampler fold vs perf record + perf script (dwarf),"
echo "user+sys, medians. Root frame: the outermost frame of a sample is _start in the main"
echo "thread, clone3 in the others (perf script -F pid,tid,ip,sym; csampler fold --per-thread)."
