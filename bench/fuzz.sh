#!/usr/bin/env bash
# fuzz.sh - a long fuzzing run of the harnesses in tests/fuzz: what scripts/test does for
# 30 s each, for FUZZ_SECONDS each (default 300), on the corpus earlier runs grew.
#
# usage: bench/fuzz.sh [HARNESS...]    (default: recording folded perf_script leaks agent)
#
# FUZZ_JOBS harnesses run at once (default 1: on a shared machine, parallel runs only
# split the same cores). Builds build-fuzz/ with clang (-DCSAMPLER_FUZZ=ON) first.
# Prints, per harness: inputs run, inputs per second, coverage (libFuzzer's cov and ft
# counters), corpus size, and findings with the path of each reproducer. Exits 1 if any
# harness found something.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
secs=${FUZZ_SECONDS:-300}
jobs=${FUZZ_JOBS:-1}
if [ $# -gt 0 ]; then
	harnesses=("$@")
else
	harnesses=(recording folded perf_script leaks agent)
fi
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (apt-get install clang libclang-rt-dev)" >&2; exit 1; }

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	-DCMAKE_CXX_COMPILER=clang++ -DCSAMPLER_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target cs_fuzzers >/dev/null
fz=$build/tests/fuzz
rm -rf "$fz/seeds"
mkdir -p "$fz/seeds"
"$fz/cs_fuzz_seeds" "$fz/seeds" "$root" >/dev/null 2>&1

echo "fuzz.sh: ${#harnesses[@]} harnesses, $secs s each, $jobs at a time"
rm -f "$fz"/work-*.out
status=0
running=0
for h in "${harnesses[@]}"; do
	[ -x "$fz/fuzz_$h" ] || { echo "fuzz.sh: no harness fuzz_$h" >&2; exit 2; }
	CSAMPLER_FUZZ_SECONDS=$secs sh "$root/tests/fuzz/run.sh" "$fz/fuzz_$h" "$fz/work/$h" \
		"$fz/seeds/$h" "$root/tests/fuzz/regress/$h" >"$fz/work-$h.out" 2>&1 &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || status=1
		running=$((running - 1))
	fi
done
while [ "$running" -gt 0 ]; do
	wait -n || status=1
	running=$((running - 1))
done

printf '%-12s %10s %8s %6s %7s %7s  %s\n' harness inputs exec/s cov ft corpus result
for h in "${harnesses[@]}"; do
	log=$fz/work/$h/log
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corpus=$(find "$fz/work/$h/corpus" -type f | wc -l)
	if grep -q FINDING "$fz/work-$h.out"; then
		result="FINDING (see $fz/work-$h.out)"
	else
		result="no finding"
	fi
	printf '%-12s %10s %8s %6s %7s %7s  %s\n' "$h" "${runs:-?}" "${rate:-?}" "${cov:-?}" \
		"${ft:-?}" "$corpus" "$result"
done
for h in "${harnesses[@]}"; do
	grep -h "FINDING, reproducer" "$fz/work-$h.out" || true
done
exit "$status"
