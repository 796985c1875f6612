#!/usr/bin/env bash
# wall.sh - benchmark csampler record --wall next to Linux perf, in one run, on the same
# fixed-work targets: (a) two CPU-bound threads, (b) two threads ping-ponging a byte
# through pipes (tens of thousands of context switches a second). Prints, per target:
#   - the target's slowdown (its own elapsed time / unprofiled) under
#       csampler record --wall -F 99 and -F 999
#       perf record -e context-switches -c 1 --call-graph dwarf
#       perf record -e cpu-clock -F 999 --call-graph dwarf
#   - csampler's recording size per CPU sample or off-CPU interval, and what it lost
#   - ratios: csampler's slowdown / perf's (goal: <= 1), bytes per event (goal: <= 300)
#
# usage: bench/wall.sh [BUILD_DIR]      (default: build; csampler must be built there)
#
# Environment: REPS runs of each configuration, interleaved, medians reported (default
# 3); CPU_N and PINGPONG_N the work of each target (default 1500 and 60000).
#
# Needs: cc, perf (linux-perf), root or kernel.perf_event_paranoid <= 1 (the off-CPU
# stacks sample kernel mode). Exits 0 whatever the verdicts; non-zero if a tool fails.
set -Eeuo pipefail
trap 'echo "wall.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exe=$build/cli/csampler
REPS=${REPS:-3}
CPU_N=${CPU_N:-1500}
PINGPONG_N=${PINGPONG_N:-60000}

die() {
	echo "wall.sh: $*" >&2
	exit 1
}
[ -x "$exe" ] || die "no csampler at $exe: build first"
command -v perf >/dev/null || die "perf is needed (scripts/deps.sh bench)"
command -v cc >/dev/null || die "a C compiler is needed"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cc -O2 -g -fomit-frame-pointer -pthread -o wall_workload "$here/wall_workload.c" ||
	die "cannot build the workload"

median() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
json_num() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" "$2" | head -n 1; }

# run CFG TARGET N: one run; appends "target cfg elapsed bytes events lost" to results.txt
run() {
	local cfg=$1 target=$2 n=$3 out bytes=0 events=0 lost=0
	case $cfg in
	none) out=$(./wall_workload "$target" "$n") ;;
	cs99 | cs999)
		out=$("$exe" record -q --wall -F "${cfg#cs}" -o cs.data -- ./wall_workload "$target" "$n")
		"$exe" report -i cs.data --format json --top 1 >rep.json
		bytes=$(stat -c %s cs.data)
		events=$(calc "%d" "$(json_num samples rep.json) + $(json_num offcpu_intervals rep.json)")
		lost=$(calc "%d" "$(json_num lost rep.json) + $(json_num offcpu_stack_lost rep.json)")
		;;
	perf_cs)
		out=$(perf record -q -e context-switches -c 1 --call-graph dwarf -o perf.data \
			-- ./wall_workload "$target" "$n" 2>perf.err)
		bytes=$(stat -c %s perf.data)
		;;
	perf_cpu)
		out=$(perf record -q -e cpu-clock -F 999 --call-graph dwarf -o perf.data \
			-- ./wall_workload "$target" "$n" 2>perf.err)
		bytes=$(stat -c %s perf.data)
		;;
	esac
	local el
	el=$(echo "$out" | awk '/^elapsed_s/ { print $2 }')
	[ -n "$el" ] || die "$cfg on $target printed no elapsed time: $out"
	echo "$target $cfg $el $bytes $events $lost" >>results.txt
}

cfgs="none cs99 cs999 perf_cs perf_cpu"
: >results.txt
for ((r = 0; r < REPS; r++)); do
	for cfg in $cfgs; do
		run "$cfg" cpu "$CPU_N"
		run "$cfg" pingpong "$PINGPONG_N"
	done
done
rate=$(./wall_workload pingpong "$PINGPONG_N" | awk '{ print $4 }')

med() { awk -v t="$1" -v c="$2" -v k="$3" '$1 == t && $2 == c { print $k }' results.txt | median; }
echo "== csampler record --wall vs perf, $REPS runs each, medians (ping-pong: $rate switches/s unprofiled)"
printf "%-9s %-10s %10s %9s %12s %14s %8s\n" target profiler elapsed_s slowdown bytes events/lost bytes/event
for t in cpu pingpong; do
	base=$(med "$t" none 3)
	for cfg in $cfgs; do
		el=$(med "$t" "$cfg" 3)
		b=$(med "$t" "$cfg" 4)
		ev=$(med "$t" "$cfg" 5)
		lo=$(med "$t" "$cfg" 6)
		bpe="-"
		[ "$ev" != 0 ] && bpe=$(calc "%.0f" "$b / $ev")
		printf "%-9s %-10s %10.3f %9s %12s %14s %8s\n" "$t" "$cfg" "$el" \
			"$(calc "%.2f" "$el / $base")" "$b" "$([ "$ev" != 0 ] && echo "$ev/$lo" || echo -)" "$bpe"
	done
done
echo
echo "== ratios (csampler / perf slowdown; goal <= 1)"
for t in cpu pingpong; do
	base=$(med "$t" none 3)
	for hz in 99 999; do
		cs=$(med "$t" "cs$hz" 3)
		printf "%-9s --wall -F %-4s vs perf -e context-switches --call-graph dwarf: %s   vs perf -e cpu-clock -F 999 --call-graph dwarf: %s\n" \
			"$t" "$hz" "$(calc "%.2f" "($cs / $base) / ($(med "$t" perf_cs 3) / $base)")" \
			"$(calc "%.2f" "($cs / $base) / ($(med "$t" perf_cpu 3) / $base)")"
	done
done
