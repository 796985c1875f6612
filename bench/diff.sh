#!/usr/bin/env bash
# diff.sh - benchmark csampler diff next to FlameGraph's difffolded.pl + flamegraph.pl on
# the same two folded files, in one run: time, peak memory and the ratio.
#
# usage: bench/diff.sh [BUILD_DIR]      (default: build; csampler must be built there)
#
# BASE is 200,000 synthetic stacks (bench/gen_folded.c); NEW is the same stacks with
# every count changed by up to +-30%, a tenth of them gone and 20,000 new ones. Every
# figure is the median of DIFF_RUNS runs (default 3). difffolded.pl and flamegraph.pl
# are used when found in PATH or in $FLAMEGRAPH_DIR (Debian does not package them; the
# scripts are in https://github.com/brendangregg/FlameGraph). Needs cc, GNU time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exe=$build/cli/csampler
[ -x "$exe" ] || { echo "diff.sh: no csampler at $exe: build first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "diff.sh: GNU time is needed (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

runs=${DIFF_RUNS:-3}
# measure LABEL CMD...: median wall and CPU time, largest peak RSS of $runs runs
measure() {
	local label=$1 i
	shift
	: >times.txt
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f "%e %M %U %S" -o time.txt "$@" >/dev/null 2>err.txt || {
			echo "diff.sh: $label failed: $(cat err.txt)" >&2
			exit 1
		}
		cat time.txt >>times.txt
	done
	SECS=$(sort -n times.txt | awk '{ s[NR] = $1 } END { print s[int((NR + 1) / 2)] }')
	KB=$(awk '$2 > kb { kb = $2 } END { print kb }' times.txt)
	CPU=$(awk '{ print $3 + $4 }' times.txt | sort -n | awk '{ s[NR] = $1 } END { print s[int((NR + 1) / 2)] }')
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
find_tool() {
	if [ -n "${FLAMEGRAPH_DIR:-}" ] && [ -x "$FLAMEGRAPH_DIR/$1" ]; then echo "$FLAMEGRAPH_DIR/$1"
	else command -v "$1" || true; fi
}

cc -O2 -o gen_folded "$here/gen_folded.c"
./gen_folded 200000 10 60 >base.folded
./gen_folded 20000 10 60 500 7 >extra.folded
awk 'BEGIN { srand(3) } {
	n = $NF; sub(/ [0-9]+$/, "")
	if (rand() < 0.1) next
	c = int(n * (0.7 + 0.6 * rand())); if (c < 1) c = 1
	print $0, c }' base.folded >new.folded
cat extra.folded >>new.folded
echo "== diff of two folded files: BASE $(wc -l <base.folded) stacks," \
	"NEW $(wc -l <new.folded) stacks ($(du -k base.folded | cut -f1) KiB and $(du -k new.folded | cut -f1) KiB)"

measure "csampler diff" "$exe" diff --top 20 base.folded new.folded
echo "csampler diff (table):          $SECS s (cpu $CPU s), peak $((KB / 1024)) MiB"
measure "csampler diff -o" "$exe" diff --top 20 -o d.svg base.folded new.folded
cs=$SECS
echo "csampler diff -o d.svg (+graph): $SECS s (cpu $CPU s), peak $((KB / 1024)) MiB," \
	"SVG $(du -k d.svg | cut -f1) KiB"

dff=$(find_tool difffolded.pl)
fg=$(find_tool flamegraph.pl)
if [ -n "$dff" ] && [ -n "$fg" ]; then
	measure "difffolded.pl | flamegraph.pl" sh -c "'$dff' base.folded new.folded | '$fg' >fg.svg"
	echo "difffolded.pl | flamegraph.pl: $SECS s (cpu $CPU s), peak $((KB / 1024)) MiB" \
		"(the larger of the two processes), SVG $(du -k fg.svg | cut -f1) KiB;" \
		"csampler is $(ratio "$SECS" "$cs")x faster"
else
	echo "  (difffolded.pl / flamegraph.pl not found: Debian has no package; set FLAMEGRAPH_DIR" \
		"to a checkout of https://github.com/brendangregg/FlameGraph to compare)"
fi
