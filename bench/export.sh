#!/usr/bin/env bash
# export.sh - time csampler export of a 200,000-stack profile to each format, next to
# csampler fold of the same input (load + the simplest walk) and, for pprof, the time
# go tool pprof takes to read the result, all in one run. Prints seconds, peak memory,
# output size and ratios.
#
# usage: bench/export.sh [BUILD_DIR] [STACKS]   (default: build, 200000)
#
# Every figure is the median of EXPORT_RUNS runs (default 3). Needs cc and GNU time
# (/usr/bin/time); go tool pprof (golang-go) is used when installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
stacks=${2:-200000}
exe=$build/cli/csampler
[ -x "$exe" ] || { echo "export.sh: no csampler at $exe: build first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "export.sh: GNU time is needed (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

runs=${EXPORT_RUNS:-3}
# measure LABEL CMD...: SECS = median wall time, CPU = median user+system, KB = peak RSS
measure() {
	local label=$1 i
	shift
	: >times.txt
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f "%e %M %U %S" -o time.txt "$@" >/dev/null 2>err.txt || {
			echo "export.sh: $label failed: $(cat err.txt)" >&2
			exit 1
		}
		cat time.txt >>times.txt
	done
	SECS=$(sort -n times.txt | awk '{ s[NR] = $1 } END { print s[int((NR + 1) / 2)] }')
	KB=$(awk '$2 > kb { kb = $2 } END { print kb }' times.txt)
	CPU=$(awk '{ print $3 + $4 }' times.txt | sort -n | awk '{ s[NR] = $1 } END { print s[int((NR + 1) / 2)] }')
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

cc -O2 -o gen_folded "$here/gen_folded.c"
./gen_folded "$stacks" 10 60 >in.folded
echo "== export: $stacks unique stacks, 10-60 frames deep ($(mb "$(stat -c %s in.folded)") MB folded)"
measure "csampler fold" "$exe" fold -i in.folded -o out.folded
base=$CPU
echo "csampler fold (reference walk): $SECS s (cpu $CPU s), peak $((KB / 1024)) MiB"
for f in pprof speedscope gecko callgrind; do
	measure "export $f" "$exe" export -f "$f" -i in.folded -o "out.$f"
	echo "export -f $f: $SECS s (cpu $CPU s), peak $((KB / 1024)) MiB," \
		"$(mb "$(stat -c %s "out.$f")") MB; $(ratio "$CPU" "$base")x the CPU of fold"
	if [ "$f" = pprof ] && command -v go >/dev/null; then
		export GOCACHE=$work/gocache GOFLAGS=-mod=mod GOPROXY=off HOME=$work
		measure "go tool pprof" go tool pprof -top -nodecount=10 out.pprof
		echo "  go tool pprof -top reading it: $SECS s (cpu $CPU s), peak $((KB / 1024)) MiB"
	fi
done
