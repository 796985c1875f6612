#!/usr/bin/env bash
# python.sh - the cost of Python frames (issue 9), in one run: a fixed amount of
# CPU-bound Python work (pure-Python loops and zlib calls) timed by the script itself
# (time.perf_counter around the work, so start-up is left out) under
#   - nothing (the reference),
#   - csampler record --no-python, csampler record (Python frames merged),
#   - perf record --call-graph dwarf,
# at each rate. Prints the target's slowdown against the unprofiled run, and the
# profiler CPU per sample with and without Python frames (the cost of the reads).
#
# usage: bench/python.sh [BUILD_DIR]     (default: build)
# Environment: REPS (runs of each configuration, interleaved, median; default 3),
#   RATES (default "99 999"), WORK (loop iterations, default 4000000), KEEP=1.
# Needs: Debian's /usr/bin/python3 (3.11), perf (linux-perf). Exits 0 whatever the
# figures; non-zero when a tool fails to run.
set -Eeuo pipefail
trap 'echo "python.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exe=$build/cli/csampler
REPS=${REPS:-3}
RATES=${RATES:-"99 999"}
WORK=${WORK:-4000000}
py=/usr/bin/python3
die() {
	echo "python.sh: $*" >&2
	exit 1
}
[ -x "$exe" ] || die "no csampler at $exe: build first"
[ -x "$py" ] || die "no $py"
command -v perf >/dev/null || die "perf is needed (scripts/deps.sh bench)"
work=$(mktemp -d)
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then echo "python.sh: work directory kept: $work" >&2
	else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"
cat > prog.py <<'PY'
import sys, time, zlib
DATA = bytes(range(256)) * 1024
class Worker:
    def alpha(self):
        zlib.compress(DATA, 6)
    def beta(self, n):
        t = 0
        for i in range(n):
            t += i * i
        return t
def run(n):
    w = Worker()
    for _ in range(n // 20000):
        w.alpha()
        w.beta(20000)
t0 = time.perf_counter()
run(int(sys.argv[1]))
print("%.6f" % (time.perf_counter() - t0))
PY

# one run: prints "SECONDS PROFILER_CPU_S SAMPLES" (the last two 0 without csampler)
one() {
	local kind=$1 rate=$2 out
	case $kind in
	none) out=$("$py" prog.py "$WORK"); echo "$out 0 0" ;;
	perf)
		out=$(perf record -q -F "$rate" --call-graph dwarf -o perf.data -- "$py" prog.py "$WORK" 2>/dev/null)
		echo "$out 0 0" ;;
	*)
		local opt=""
		[ "$kind" = native ] && opt=--no-python
		# shellcheck disable=SC2086
		out=$("$exe" record $opt -F "$rate" -o cs.data -- "$py" prog.py "$WORK" 2>err.txt)
		local cpu samples
		cpu=$(sed -n 's/.*profiler CPU \([0-9.]*\) s.*/\1/p' err.txt)
		samples=$(sed -n 's/.*s: \([0-9]*\) samples.*/\1/p' err.txt)
		echo "$out ${cpu:-0} ${samples:-0}" ;;
	esac
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "python.sh: $REPS runs of each, work $WORK, python $($py -c 'import sys; print(sys.version.split()[0])')"
printf '%-6s %-8s %10s %9s %16s\n' rate config seconds slowdown "profiler-us/smp"
for rate in $RATES; do
	declare -A t=() c=()
	for r in $(seq "$REPS"); do
		for k in none native python perf; do
			read -r s cpu n < <(one "$k" "$rate")
			t[$k]+="$s "
			if [ "$n" -gt 0 ]; then
				c[$k]+="$(awk -v a="$cpu" -v b="$n" 'BEGIN {printf "%.2f", a * 1e6 / b}') "
			fi
		done
	done
	base=$(echo "${t[none]}" | tr ' ' '\n' | grep . | median)
	for k in none native python perf; do
		m=$(echo "${t[$k]}" | tr ' ' '\n' | grep . | median)
		per="-"
		[ -n "${c[$k]:-}" ] && per=$(echo "${c[$k]}" | tr ' ' '\n' | grep . | median)
		printf '%-6s %-8s %10.3f %8.3fx %16s\n' "$rate" "$k" "$m" \
			"$(awk -v a="$m" -v b="$base" 'BEGIN {print a / b}')" "$per"
	done
	unset t c
done
echo "(native = csampler --no-python; profiler-us/smp = csampler's whole CPU / samples,"
echo " start-up and symbolization included: the difference python - native is the reads)"
