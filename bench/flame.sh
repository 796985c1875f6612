#!/usr/bin/env bash
# flame.sh - benchmark csampler flame and perf script folding, next to the reference
# tools, in one run. Prints throughput, peak memory, SVG size, first paint in Chromium,
# and ratios.
#
# usage: bench/flame.sh [BUILD_DIR]      (default: build; csampler must be built there)
#
# Every figure is the median of FLAME_RUNS runs (default 5) of the same command.
#
# Needs: cc, perf (linux-perf), GNU time (/usr/bin/time), and for first paint
# /usr/bin/chromium with tests/browser/node_modules (npm ci in tests/browser); the
# static drawing is timed with rsvg-convert (librsvg2-bin) when present.
# FlameGraph's flamegraph.pl and stackcollapse-perf.pl are used when found in PATH or
# in $FLAMEGRAPH_DIR; Debian does not package them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exe=$build/cli/csampler
[ -x "$exe" ] || { echo "flame.sh: no csampler at $exe: build first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "flame.sh: GNU time is needed (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# measure LABEL CMD...: run $runs times, set SECS (the median wall time), CPU (the median
# user + system time: what to compare on a busy machine) and KB (the largest peak RSS);
# one run on a shared machine says more about its neighbours than about the tool
runs=${FLAME_RUNS:-5}
measure() {
	local label=$1 i
	shift
	: >times.txt
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f "%e %M %U %S" -o time.txt "$@" >/dev/null 2>err.txt || {
			echo "flame.sh: $label failed: $(cat err.txt)" >&2
			exit 1
		}
		cat time.txt >>times.txt
	done
	SECS=$(sort -n times.txt | awk '{ s[NR] = $1 } END { print s[int((NR + 1) / 2)] }')
	KB=$(awk '$2 > kb { kb = $2 } END { print kb }' times.txt)
	CPU=$(awk '{ print $3 + $4 }' times.txt | sort -n | awk '{ s[NR] = $1 } END { print s[int((NR + 1) / 2)] }')
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? b / 1e6 / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
find_tool() {
	if [ -n "${FLAMEGRAPH_DIR:-}" ] && [ -x "$FLAMEGRAPH_DIR/$1" ]; then echo "$FLAMEGRAPH_DIR/$1"
	else command -v "$1" || true; fi
}

cc -O2 -o gen_folded "$here/gen_folded.c"
cc -O1 -fno-omit-frame-pointer -o workload "$here/workload.c"
paint_files=()

echo "== render: synthetic folded stacks, 10-60 frames deep, sorted as stackcollapse writes them"
for n in 20000 200000; do
	./gen_folded "$n" 10 60 | LC_ALL=C sort >"s$n.folded"
	bytes=$(stat -c %s "s$n.folded")
	# unique frames (tree nodes): in sorted input, the frames after the common prefix
	nodes=$(awk '{ sub(/ [0-9]+$/, ""); n = split($0, f, ";"); k = 0;
		while (k < n && k < pn && f[k+1] == p[k+1]) k++;
		u += n - k; for (i = 1; i <= n; i++) p[i] = f[i]; pn = n } END { print u }' "s$n.folded")
	measure "csampler flame" "$exe" flame -i "s$n.folded" "s$n.svg"
	svg=$(stat -c %s "s$n.svg")
	echo "$n stacks: $(mb "$bytes") MB folded, $nodes unique frames:" \
		"csampler flame $SECS s (cpu $CPU s) = $(mbps "$bytes" "$SECS") MB/s, peak $((KB / 1024)) MiB" \
		"($(awk -v k="$KB" -v n="$nodes" 'BEGIN { printf "%.0f", k * 1024 / n }') B/frame)," \
		"SVG $(mb "$svg") MB"
	paint_files+=("s$n.svg")
	fg=$(find_tool flamegraph.pl)
	if [ -n "$fg" ]; then
		fsecs=$SECS
		measure flamegraph.pl "$fg" "s$n.folded"
		"$fg" "s$n.folded" >fg.svg 2>/dev/null
		echo "  flamegraph.pl: $SECS s = $(mbps "$bytes" "$SECS") MB/s, peak $((KB / 1024)) MiB," \
			"SVG $(mb "$(stat -c %s fg.svg)") MB; csampler is $(ratio "$SECS" "$fsecs")x faster"
	fi
done
./gen_folded 200000 10 60 >u.folded
measure "csampler flame (unsorted)" "$exe" flame -i u.folded u.svg
echo "200000 stacks in random order: $SECS s (cpu $CPU s) = $(mbps "$(stat -c %s u.folded)" "$SECS") MB/s," \
	"peak $((KB / 1024)) MiB"
[ -n "$(find_tool flamegraph.pl)" ] || echo "  (flamegraph.pl not found: Debian has no package; set FLAMEGRAPH_DIR to compare)"

# The picture without script: what an image viewer (librsvg) makes of the file.
if command -v rsvg-convert >/dev/null; then
	measure rsvg-convert rsvg-convert -o s20000.png s20000.svg
	echo "rsvg-convert of the 20000-stack SVG (the static drawing, no script): $SECS s" \
		"(cpu $CPU s), $(awk '/<g id="cs-frames">/,/<text id="cs-details"/' s20000.svg | grep -c '<rect') frames drawn"
else
	echo "  (rsvg-convert not found: apt-get install librsvg2-bin to time the static drawing)"
fi

echo "== perf script folding: a recording of >= 100,000 samples"
perf record -q -F 25000 -g -o perf.data ./workload 5 >/dev/null 2>&1
measure "perf script" perf script -i perf.data
perf script -i perf.data >perf.txt 2>/dev/null
script_secs=$SECS
bytes=$(stat -c %s perf.txt)
nsamples=$(grep -c 'cpu-clock' perf.txt || true)
echo "recording: $nsamples samples; perf script wrote $(mb "$bytes") MB of text in $script_secs s"
measure "csampler fold" "$exe" fold -i perf.txt
fold_secs=$SECS
echo "csampler fold (perf script text): $fold_secs s = $(mbps "$bytes" "$fold_secs") MB/s, peak $((KB / 1024)) MiB"
measure "csampler flame" "$exe" flame -i perf.txt perf.svg
echo "csampler flame (perf script text): $SECS s = $(mbps "$bytes" "$SECS") MB/s, peak $((KB / 1024)) MiB, SVG $(mb "$(stat -c %s perf.svg)") MB"
paint_files+=(perf.svg)
measure "perf report" perf report --stdio -i perf.data
echo "perf report --stdio (same recording): $SECS s, peak $((KB / 1024)) MiB;" \
	"csampler fold of its perf script text is $(ratio "$SECS" "$fold_secs")x faster"
sc=$(find_tool stackcollapse-perf.pl)
if [ -n "$sc" ]; then
	measure stackcollapse-perf.pl "$sc" perf.txt
	"$sc" perf.txt >sc.folded 2>/dev/null
	"$exe" fold -i perf.txt >cs.folded
	same=$(cmp -s sc.folded cs.folded && echo identical || echo DIFFERENT)
	echo "stackcollapse-perf.pl: $SECS s = $(mbps "$bytes" "$SECS") MB/s;" \
		"csampler is $(ratio "$SECS" "$fold_secs")x faster; outputs $same"
else
	echo "  (stackcollapse-perf.pl not found: Debian has no package; set FLAMEGRAPH_DIR to compare)"
fi

echo "== first paint in headless Chromium"
if [ -x /usr/bin/chromium ] && [ -d "$root/tests/browser/node_modules/playwright-core" ]; then
	node "$here/firstpaint.mjs" "${paint_files[@]}"
else
	echo "  skipped: needs /usr/bin/chromium and 'npm ci' in tests/browser"
fi
