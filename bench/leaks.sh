#!/usr/bin/env bash
# leaks.sh - slowdown of a malloc-heavy program under csampler's allocation-tracking
# agent (exact and sampled) next to heaptrack and valgrind memcheck, in one run.
#
# The workload (bench/leaks_workload.c) makes PAIRS malloc/free pairs ~10 frames deep
# from four call sites, keeps a small working set, and leaks 1010 known blocks. Every
# configuration is run REPS times, interleaved; the median wall time of each is
# compared with the program alone:
#   alone       the program by itself
#   exact       csampler's agent, every allocation tracked
#   sampled     csampler's agent, Poisson sampling by bytes (SAMPLE_BYTES mean)
#   heaptrack   heaptrack (writes its trace to the work directory)
#   memcheck    valgrind --leak-check=full
# Then a real program: Debian's sqlite3 CLI on an in-memory database, SQLITE_ROWS
# INSERT statements in one transaction (each statement is parsed and prepared: many
# small allocations), under the same tools; whole-command wall times, medians.
# Then the attach cost: csampler leaks --pid on the running workload, REPS times: time
# until tracking is ready, and the longest single stop of the target's thread.
#
# usage: bench/leaks.sh [BUILD_DIR]   (default: build; the agent must be built there)
#
# Environment:
#   PAIRS         malloc/free pairs per run (default 5000000)
#   REPS          runs of each configuration (default 5)
#   SAMPLE_BYTES  mean bytes between samples in sampled mode (default 524288)
#   TOOLS         configurations to run (default "alone exact sampled heaptrack memcheck")
#   SQLITE_ROWS   rows inserted into sqlite3 :memory: (default 60000)
#   SQLITE_TOOLS  configurations for sqlite3 (default "alone exact sampled heaptrack")
#   KEEP=1        keep the work directory and print its path
#
# Needs: cc; heaptrack, valgrind and sqlite3 for their rows (scripts/deps.sh bench),
# skipped with a note when missing. Exits non-zero only when a configuration fails to run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
agent=$build/agent/libcsampler_agent.so
csampler=$build/cli/csampler
PAIRS=${PAIRS:-5000000}
REPS=${REPS:-5}
SAMPLE_BYTES=${SAMPLE_BYTES:-524288}
TOOLS=${TOOLS:-"alone exact sampled heaptrack memcheck"}
SQLITE_ROWS=${SQLITE_ROWS:-60000}
SQLITE_TOOLS=${SQLITE_TOOLS:-"alone exact sampled heaptrack"}

die() {
	echo "leaks.sh: $*" >&2
	exit 1
}
[ -f "$agent" ] || die "no agent at $agent: build first (make -C $build csampler_agent)"
[ -x "$csampler" ] || die "no csampler at $csampler: build first"
command -v cc >/dev/null || die "a C compiler is needed"

work=$(mktemp -d)
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then echo "leaks.sh: work directory kept: $work" >&2
	else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"

cc -O2 -g -fomit-frame-pointer -o leaks_workload "$here/leaks_workload.c" ||
	die "cannot build the workload"

# A command under csampler's agent: `leaks_cmd [--sample-bytes N] -- CMD...`.
leaks_cmd() { CSAMPLER_AGENT=$agent "$csampler" leaks -o "$work/leaks.data" "$@"; }

run_one() { # TOOL -> runs it once; its stderr goes to $work/TOOL.log
	local w=./leaks_workload
	case "$1" in
	alone) $w "$PAIRS" ;;
	exact) leaks_cmd -- $w "$PAIRS" ;;
	sampled) leaks_cmd --sample-bytes "$SAMPLE_BYTES" -- $w "$PAIRS" ;;
	heaptrack) heaptrack -o "$work/ht.$RANDOM" $w "$PAIRS" >/dev/null ;;
	memcheck) valgrind -q --leak-check=full --error-exitcode=0 $w "$PAIRS" ;;
	esac 2>>"$work/$1.log"
}

available() {
	case "$1" in
	heaptrack) command -v heaptrack >/dev/null ;;
	memcheck) command -v valgrind >/dev/null ;;
	*) true ;;
	esac
}

tools=()
for t in $TOOLS; do
	if available "$t"; then tools+=("$t"); else echo "leaks.sh: $t not installed: skipped" >&2; fi
done

# Two figures per run: the program's own run time (it prints "workload_us N": the
# slowdown it suffers) and the wall time of the whole command (adds each tool's own
# start-up and end-of-run work: loading, writing reports).
declare -A times walls
for ((rep = 1; rep <= REPS; rep++)); do
	for t in "${tools[@]}"; do
		start=$(date +%s%N)
		run_one "$t" || die "$t failed (see $work/$t.log; KEEP=1 keeps it)"
		end=$(date +%s%N)
		us=$(grep -o 'workload_us [0-9]*' "$work/$t.log" | tail -n 1 | cut -d' ' -f2)
		[ -n "$us" ] || die "$t: the workload did not report its time (see $work/$t.log)"
		times[$t]+="$us "
		walls[$t]+="$(((end - start) / 1000)) "
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "workload: $PAIRS malloc/free pairs ~10 frames deep, 1010 leaked blocks; $REPS runs each, medians"
base=$(echo "${times[alone]:-}" | median)
wbase=$(echo "${walls[alone]:-}" | median)
printf '%-10s %14s %10s   %16s %10s\n' config "program ms" slowdown "whole command ms" ratio
for t in "${tools[@]}"; do
	m=$(echo "${times[$t]}" | median)
	w=$(echo "${walls[$t]}" | median)
	printf '%-10s %14.1f %9.2fx   %16.1f %9.2fx\n' "$t" "$(echo "$m / 1000" | bc -l)" \
		"$(echo "$m / ${base:-$m}" | bc -l)" "$(echo "$w / 1000" | bc -l)" \
		"$(echo "$w / ${wbase:-$w}" | bc -l)"
done
for t in exact sampled; do
	[ -s "$work/$t.log" ] && echo "$t: $(grep 'leak snapshot' "$work/$t.log" | tail -n 1)"
done
if [ -n "${times[exact]:-}" ] && [ -n "${times[heaptrack]:-}" ]; then
	e=$(echo "${times[exact]}" | median)
	h=$(echo "${times[heaptrack]}" | median)
	printf 'exact mode is %.1fx faster than heaptrack' "$(echo "$h / $e" | bc -l)"
	if [ -n "${times[memcheck]:-}" ]; then
		v=$(echo "${times[memcheck]}" | median)
		printf ', %.1fx faster than valgrind memcheck' "$(echo "$v / $e" | bc -l)"
	fi
	echo
fi

# sqlite3 :memory: with SQLITE_ROWS inserts: a real program's allocation pattern.
if command -v sqlite3 >/dev/null; then
	{
		echo "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);"
		echo "BEGIN;"
		awk -v n="$SQLITE_ROWS" 'BEGIN { for (i = 1; i <= n; i++)
			printf "INSERT INTO t VALUES(%d, %cname-%d%c, %d.5);\n", i, 39, i, 39, i }'
		echo "COMMIT;"
		echo "SELECT count(*), sum(v) FROM t;"
	} >"$work/inserts.sql"
	sq=$(command -v sqlite3)
	sqlite_one() { # TOOL
		case "$1" in
		alone) "$sq" :memory: ;;
		exact) leaks_cmd -- "$sq" :memory: ;;
		sampled) leaks_cmd --sample-bytes "$SAMPLE_BYTES" -- "$sq" :memory: ;;
		heaptrack) heaptrack -o "$work/hts.$RANDOM" "$sq" :memory: ;;
		memcheck) valgrind -q --leak-check=full --error-exitcode=0 "$sq" :memory: ;;
		esac <"$work/inserts.sql" >"$work/sqlite.out" 2>>"$work/sqlite-$1.log"
	}
	stools=()
	for t in $SQLITE_TOOLS; do
		if available "$t"; then stools+=("$t"); else echo "leaks.sh: $t not installed: skipped" >&2; fi
	done
	declare -A swalls
	for ((rep = 1; rep <= REPS; rep++)); do
		for t in "${stools[@]}"; do
			start=$(date +%s%N)
			sqlite_one "$t" || die "sqlite3 under $t failed (see $work/sqlite-$t.log)"
			end=$(date +%s%N)
			grep -q "^$SQLITE_ROWS|" "$work/sqlite.out" ||
				die "sqlite3 under $t did not insert $SQLITE_ROWS rows: $(cat "$work/sqlite.out")"
			swalls[$t]+="$(((end - start) / 1000)) "
		done
	done
	echo
	echo "sqlite3 :memory:, $SQLITE_ROWS inserts in one transaction; $REPS runs each, medians"
	sbase=$(echo "${swalls[alone]:-}" | median)
	printf '%-10s %16s %10s\n' config "whole command ms" ratio
	for t in "${stools[@]}"; do
		w=$(echo "${swalls[$t]}" | median)
		printf '%-10s %16.1f %9.2fx\n' "$t" "$(echo "$w / 1000" | bc -l)" \
			"$(echo "$w / ${sbase:-$w}" | bc -l)"
	done
	[ -s "$work/sqlite-exact.log" ] && echo "exact: $(grep 'heap:' "$work/sqlite-exact.log" | tail -n 1)"
else
	echo "leaks.sh: sqlite3 not installed: its workload skipped" >&2
fi

# Attach: the workload runs long enough; csampler attaches, tracks for a second, detaches.
echo
echo "attach to the running workload (csampler leaks --pid, $REPS times):"
ready=() stops=()
for ((rep = 1; rep <= REPS; rep++)); do
	./leaks_workload 2000000000 >/dev/null &
	wpid=$!
	sleep 0.3
	CSAMPLER_AGENT=$agent "$csampler" leaks --pid "$wpid" -d 1 -o "$work/attach.data" \
		2>"$work/attach.log" || die "attach failed: $(cat "$work/attach.log")"
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null || true
	line=$(grep 'agent loaded in' "$work/attach.log") || die "no attach figures: $(cat "$work/attach.log")"
	ready+=("$(echo "$line" | sed 's/.*agent loaded in \([0-9.]*\) ms.*/\1/')")
	stops+=("$(echo "$line" | sed 's/.*the longest for \([0-9.]*\) ms.*/\1/')")
done
printf '  ready after:  median %s ms, max %s ms   (target <= 100 ms)\n' \
	"$(printf '%s\n' "${ready[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
	"$(printf '%s\n' "${ready[@]}" | sort -g | tail -n 1)"
printf '  longest stop: median %s ms, max %s ms   (target <= 5 ms)\n' \
	"$(printf '%s\n' "${stops[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
	"$(printf '%s\n' "${stops[@]}" | sort -g | tail -n 1)"
