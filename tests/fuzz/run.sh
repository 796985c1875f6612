#!/bin/sh
# run.sh HARNESS WORKDIR SEEDS REGRESS - fuzz one libFuzzer harness for a bounded time.
#
# CSAMPLER_FUZZ_SECONDS (default 30; 0 skips, exit 77) bounds the run,
# CSAMPLER_FUZZ_TIMEOUT (default 20) the seconds one input may take. The corpus grows in
# WORKDIR/corpus across runs, starting from SEEDS and REGRESS (the committed reproducers
# of past findings). A finding fails the test: its log is printed with the path of the
# input that reproduces it, which stays in WORKDIR/findings-*/.
set -u
exe=$1
work=$2
seeds=$3
regress=$4
secs=${CSAMPLER_FUZZ_SECONDS:-30}
per_input=${CSAMPLER_FUZZ_TIMEOUT:-20}
name=$(basename "$exe")

case $secs in
'' | *[!0-9]*)
	echo "$name: CSAMPLER_FUZZ_SECONDS='$secs' is not a whole number of seconds"
	exit 1
	;;
esac
if [ "$secs" -eq 0 ]; then
	echo "$name: skipped: CSAMPLER_FUZZ_SECONDS=0"
	exit 77
fi

mkdir -p "$work/corpus" || exit 1
# say LINE: print LINE, and keep it in WORKDIR/summary for scripts/test's summary.
: >"$work/summary"
say() {
	echo "$*"
	echo "$*" >>"$work/summary"
}
found=$work/findings-$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$found" || exit 1
dirs="$work/corpus $seeds"
[ -d "$regress" ] && dirs="$dirs $regress"

# New inputs go to the first directory; the others are read only.
# shellcheck disable=SC2086
"$exe" -max_total_time="$secs" -timeout="$per_input" -rss_limit_mb=2048 \
	-use_value_profile=1 -print_final_stats=1 -artifact_prefix="$found/" \
	$dirs >"$work/log" 2>&1
rc=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
# Slow inputs (over 10 s) are worth a look but are no finding: the timeout is one.
repro=$(find "$found" -type f ! -name 'slow-unit-*' | head -n 5)
slow=$(find "$found" -type f -name 'slow-unit-*' | wc -l)
if [ "$rc" -eq 0 ] && [ -z "$repro" ]; then
	say "$name: ${runs:-?} inputs in ${secs} s, corpus of $(find "$work/corpus" -type f | wc -l), no finding"
	if [ "$slow" -gt 0 ]; then
		say "$name: $slow inputs took over 10 s; they are in $found"
	else
		rmdir "$found"
	fi
	exit 0
fi

echo "$name: FINDING (libFuzzer exit status $rc); the end of its log ($work/log):"
tail -n 80 "$work/log"
if [ -n "$repro" ]; then
	for f in $repro; do
		say "$name: FINDING, reproducer: $f"
	done
	echo "$name: replay with: $exe $(echo "$repro" | head -n 1)"
	echo "$name: once fixed, add the reproducer to $regress/"
else
	rmdir "$found" 2>/dev/null
	say "$name: FINDING: libFuzzer failed (status $rc) without writing a reproducer"
fi
exit 1
