#!/bin/sh
# perf_oracle.sh CSAMPLER TARGET - perf itself as the oracle: record TARGET (cpu3: a
# fixed period) and dd (page-faults: a period that varies from sample to sample) with
# `perf record -g`, then check that `csampler report` of `perf script` text gives the
# event count and the per-symbol shares that `perf report --stdio` gives, with and
# without the period printed (-F). Exits 77 (skipped) when perf is missing or may not
# record here.
set -u
exe=$1
target=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

if ! command -v perf >/dev/null 2>&1; then
	echo "SKIP: perf is not installed (Debian package linux-perf)"
	exit 77
fi
if ! perf record -q -e cpu-clock -o "$tmp/probe.data" -- true >/dev/null 2>&1; then
	echo "SKIP: perf record is not permitted here (kernel.perf_event_paranoid?)"
	exit 77
fi

ok() { pass=$((pass + 1)); }
bad() {
	echo "FAIL $*"
	fail=$((fail + 1))
}

# compare NAME DATA: csampler's view of perf script text against perf report
compare() {
	name=$1
	data=$2
	perf report -i "$data" --stdio --no-children --sort sym -g none 2>/dev/null >"$tmp/$name.report"
	want_total=$(sed -n 's/^# Event count (approx\.): *\([0-9]*\).*/\1/p' "$tmp/$name.report")
	# "    49.18%  [.] burn_a": share and symbol of the three largest
	sed -n 's/^ *\([0-9.]*\)%  \[.\] \(.*[^ ]\) *$/\2 \1/p; s/^ *\([0-9.]*\)%  \[k\] \(.*[^ ]\) *$/\2 \1/p' \
		"$tmp/$name.report" | head -3 >"$tmp/$name.want"
	for fields in default period; do
		if [ $fields = default ]; then
			perf script -i "$data" 2>/dev/null >"$tmp/$name.txt"
		else
			perf script -i "$data" -F comm,pid,tid,time,period,event,ip,sym,dso \
				2>/dev/null >"$tmp/$name.txt"
		fi
		if ! "$exe" report -i "$tmp/$name.txt" --format csv --top 0 >"$tmp/$name.csv" \
			2>"$tmp/err"; then
			bad "$name/$fields: report failed: $(cat "$tmp/err")"
			continue
		fi
		"$exe" report -i "$tmp/$name.txt" --format json --top 1 >"$tmp/$name.json"
		total=$(sed -n 's/^{"total_samples": \([0-9]*\),.*/\1/p' "$tmp/$name.json")
		if [ "$total" = "$want_total" ]; then ok; else
			bad "$name/$fields: weight $total, perf report's event count $want_total"
		fi
		# each of perf report's top symbols: the same self share, to rounding
		while read -r sym share; do
			got=$(awk -F, -v s="$sym" '$1 == s { print $7; exit }' "$tmp/$name.csv")
			if [ -n "$got" ] && awk -v a="$got" -v b="$share" \
				'BEGIN { d = a - b; exit !(d <= 0.011 && d >= -0.011) }'; then ok; else
				bad "$name/$fields: $sym self ${got:-missing}%, perf report $share%"
			fi
		done <"$tmp/$name.want"
		# fold weighs by period too: its counts add up to the event count
		sum=$("$exe" fold -i "$tmp/$name.txt" | awk '{ s += $NF } END { printf "%d", s }')
		if [ "$sum" = "$want_total" ]; then ok; else
			bad "$name/$fields: fold adds up to $sum, perf report $want_total"
		fi
	done
}

perf record -q -g -e cpu-clock -F 999 -o "$tmp/cpu.data" -- "$target" 1 >/dev/null 2>&1
compare cpu "$tmp/cpu.data"
perf record -q -g -e page-faults -F 20000 -o "$tmp/pf.data" -- \
	dd if=/dev/zero of=/dev/null bs=16M count=2 >/dev/null 2>&1
# the periods must really vary, or this checks nothing more than the first
if [ "$(perf script -i "$tmp/pf.data" -F period 2>/dev/null | sort -u | wc -l)" -gt 1 ]; then
	ok
else
	bad "page-faults: perf recorded one period only"
fi
compare pf "$tmp/pf.data"

echo "perf oracle: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
