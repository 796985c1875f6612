#!/usr/bin/env bash
# ptrace.sh - what the ptrace sampler costs the target, next to the perf sampler and to
# perf record --call-graph dwarf, in one run on the same fixed-work target
# (record_workload: 2 threads, DWARF-only stacks). For each rate it prints the target's
# wall time under each profiler as a ratio to its wall time alone (its slowdown), and
# the ptrace sampler's per-sample stop time (median, max) from csampler's summary.
#
# usage: bench/ptrace.sh [BUILD_DIR]     (default: build; csampler must be built there)
#
# Environment:
#   ITERS  call trees per thread (default 80000, about 1-2 s of wall time here)
#   REPS   runs of each configuration, interleaved; medians are reported (default 3)
#   RATES  sampling rates in Hz (default "99 999")
#   KEEP=1 keep the work directory and print its path
#
# Needs: cc; perf (linux-perf) for its column (skipped when missing); perf events and
# ptrace permitted. Exits 0 whatever the figures; non-zero when a tool fails to run.
set -Eeuo pipefail
trap 'echo "ptrace.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exe=$build/cli/csampler
ITERS=${ITERS:-80000}
REPS=${REPS:-3}
RATES=${RATES:-"99 999"}

die() {
	echo "ptrace.sh: $*" >&2
	exit 1
}
[ -x "$exe" ] || die "no csampler at $exe: build first"
command -v cc >/dev/null || die "a C compiler is needed"
have_perf=1
command -v perf >/dev/null || have_perf=0

work=$(mktemp -d)
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then echo "ptrace.sh: work directory kept: $work" >&2
	else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"
cc -O2 -g -fomit-frame-pointer -pthread -o record_workload "$here/record_workload.c" ||
	die "cannot build the workload"

median() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# run CFG HZ: the workload's own wall seconds under configuration CFG
run() {
	local cfg=$1 hz=$2 out=out.$1.$2
	case $cfg in
	none) ./record_workload "$ITERS" 2 >"$out" ;;
	perf | ptrace)
		"$exe" record -q --sampler "$cfg" -F "$hz" -o "$cfg.data" -- ./record_workload "$ITERS" 2 \
			>"$out" 2>/dev/null
		# the summary, for the stop times (not -q)
		;;
	perfdwarf)
		perf record -q -F "$hz" --call-graph dwarf -o perf.data -- ./record_workload "$ITERS" 2 \
			>"$out" 2>/dev/null ;;
	esac
	awk '/^wall_s/ { print $2 }' "$out"
}

cfgs="none perf ptrace"
[ "$have_perf" = 1 ] && cfgs="$cfgs perfdwarf"
echo "# target: record_workload $ITERS call trees x 2 threads; $REPS runs each, medians"
for hz in $RATES; do
	for rep in $(seq "$REPS"); do
		for cfg in $cfgs; do
			echo "$cfg $(run "$cfg" "$hz")" >>"walls.$hz"
		done
	done
	# one more ptrace run with the summary, for its stop times
	"$exe" record --sampler ptrace -F "$hz" -o stop.data -- ./record_workload "$ITERS" 2 \
		>/dev/null 2>"summary.$hz"
	base=$(awk '$1 == "none" { print $2 }' "walls.$hz" | median)
	printf "%5s Hz  alone %.3f s" "$hz" "$base"
	for cfg in $cfgs; do
		[ "$cfg" = none ] && continue
		m=$(awk -v c="$cfg" '$1 == c { print $2 }' "walls.$hz" | median)
		awk -v c="$cfg" -v m="$m" -v b="$base" 'BEGIN { printf "  %s %.3fx", c, m / b }'
	done
	echo
	grep -o "ptrace sampler at .*" "summary.$hz" | sed 's/^/         /' || true
done
echo "# ratios: the target's wall time under each profiler / alone (1.00x = no slowdown);"
echo "# perfdwarf = perf record --call-graph dwarf. Noisy on a shared machine."
