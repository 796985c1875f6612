#!/usr/bin/env bash
# diff_noise.sh - the false alarm rate of `csampler diff --fail-above` with one recording
# per side, on real recordings of one unchanged program, and its detection rate on a
# real regression (tests/targets/abver.c: version B spends 50% more in grow() and adds
# added()).
#
# usage: bench/diff_noise.sh [BUILD_DIR]     (default: build; csampler and the test
#                                             targets must be built there)
#
# Records 2 x PAIRS runs of abver A (PAIRS=20 by default, ROUNDS=150 rounds each, about
# 0.4 s of CPU) and PAIRS runs of abver B, then diffs disjoint pairs A against A (each
# pair once) and A against B, with --fail-above PCT (default 10). Prints per pair the
# NEW/BASE ratio of the totals, the estimated common scale and the gate's verdict, then
# the alarm count (the issue's goal: at most 1 in 20), the count a gate on the totals'
# ratio alone would give, and the detection count.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exe=$build/cli/csampler
ta=$build/tests/targets/cs_t_abver_a
tb=$build/tests/targets/cs_t_abver_b
for f in "$exe" "$ta" "$tb"; do
	[ -x "$f" ] || { echo "diff_noise.sh: no $f: build first" >&2; exit 1; }
done
pairs=${PAIRS:-20}
rounds=${ROUNDS:-150}
pct=${PCT:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rec() { "$exe" record -q -F 999 -o "$2" -- "$1" "$rounds"; }
# field NAME: a number from the JSON on stdin
field() { grep -o "\"$1\": [0-9.e+-]*" | head -1 | awk '{ print $2 }'; }

echo "# $pairs pairs of single recordings, $rounds rounds each, gate --fail-above $pct"
for ((i = 0; i < pairs; i++)); do
	# interleaved, as a CI job would meet the machine: A, A, B
	rec "$ta" "$work/a$((2 * i)).data"
	rec "$ta" "$work/a$((2 * i + 1)).data"
	rec "$tb" "$work/b$i.data"
done

alarms=0
naive=0
any_sig=0
printf '\n%-10s %8s %8s %6s %s\n' "A vs A" "ratio" "scale" "gate" "sig rows"
for ((i = 0; i < pairs; i++)); do
	a=$work/a$((2 * i)).data
	b=$work/a$((2 * i + 1)).data
	st=0
	"$exe" diff --fail-above "$pct" --format json "$a" "$b" >"$work/out.json" 2>"$work/err.txt" || st=$?
	[ "$st" = 0 ] || [ "$st" = 3 ] || { cat "$work/err.txt" >&2; exit 1; }
	ratio=$(field ratio <"$work/out.json")
	scale=$(field scale <"$work/out.json")
	sig=$(grep -c '"significant": true' "$work/out.json" || true)
	[ "$st" = 3 ] && alarms=$((alarms + 1))
	[ "$sig" -gt 0 ] && any_sig=$((any_sig + 1))
	naive=$((naive + $(awk -v r="$ratio" -v p="$pct" 'BEGIN { print (r > 1 + p / 100) }')))
	printf '%-10s %8.3f %8.3f %6s %s\n' "pair $((i + 1))" "$ratio" "$scale" \
		"$([ "$st" = 3 ] && echo TRIP || echo ok)" "$sig"
done

found=0
grow=0
printf '\n%-10s %8s %8s %6s %s\n' "A vs B" "ratio" "scale" "gate" "named"
for ((i = 0; i < pairs; i++)); do
	st=0
	"$exe" diff --fail-above "$pct" --format json "$work/a$((2 * i)).data" "$work/b$i.data" \
		>"$work/out.json" 2>"$work/err.txt" || st=$?
	[ "$st" = 0 ] || [ "$st" = 3 ] || { cat "$work/err.txt" >&2; exit 1; }
	[ "$st" = 3 ] && found=$((found + 1))
	named=$(grep -o 'regression: [a-z_]* ' "$work/err.txt" | awk '{ print $2 }' | tr '\n' ' ')
	case "$named" in *grow*) grow=$((grow + 1)) ;; esac
	printf '%-10s %8.3f %8.3f %6s %s\n' "pair $((i + 1))" "$(field ratio <"$work/out.json")" \
		"$(field scale <"$work/out.json")" "$([ "$st" = 3 ] && echo TRIP || echo ok)" "$named"
done

echo
echo "same program: gate tripped in $alarms of $pairs pairs (goal: <= $((pairs / 20)));" \
	"pairs with a '*' row: $any_sig; a gate on the totals' ratio > 1+$pct% would trip $naive"
echo "regression:   gate tripped in $found of $pairs pairs, naming grow in $grow"
