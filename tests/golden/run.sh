#!/bin/sh
# run.sh CSAMPLER [--update] - golden tests of the read side: run csampler fold, report
# and flame on the inputs here and compare with the expected outputs (for flame, the
# data table embedded in the SVG). --update rewrites the expected files instead.
set -u
exe=$1
update=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$here" || exit 1
pass=0
fail=0

# flame_data SVG: the JSON table between the CDATA markers of #cs-data
flame_data() {
	sed -n '/<script type="application\/json" id="cs-data"><!\[CDATA\[/,/\]\]><\/script>/p' "$1" |
		sed '1d;$d'
}

# check EXPECTED COMMAND...: the output of COMMAND must equal the file EXPECTED
check() {
	want=$1
	shift
	if ! "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "FAIL $want: '$*' exited with an error: $(cat "$tmp/err")"
		fail=$((fail + 1))
		return
	fi
	if [ "$update" = --update ]; then
		cp "$tmp/out" "expected/$want"
	fi
	if cmp -s "$tmp/out" "expected/$want"; then
		pass=$((pass + 1))
	else
		echo "FAIL $want: '$*' differs from expected/$want:"
		diff -u "expected/$want" "$tmp/out" | head -40
		fail=$((fail + 1))
	fi
}

flame() {
	"$exe" flame "$@" "$tmp/f.svg" && flame_data "$tmp/f.svg"
}

# perf script text, as stackcollapse-perf.pl folds it, with each of its options: our own
# inputs, one per rule of the script (perf-rules.txt), and real perf output (perf-dwarf*:
# `perf record --call-graph dwarf` of tests/targets/cpu3, `perf script` with its default
# fields and with -F comm,tid,time,event,ip,sym,dso, which prints no period)
for opt in "" pid tid kernel jit all addrs; do
	for input in perf-rules perf-dwarf perf-dwarf-noperiod; do
		check "$input${opt:+.$opt}.fold" "$exe" fold -i "$input.txt" ${opt:+--$opt}
	done
done
check perf-basic.fold "$exe" fold -i perf-basic.txt
check perf-basic.pid.fold "$exe" fold -i perf-basic.txt --pid
check perf-basic.tid.fold "$exe" fold -i perf-basic.txt --tid
check perf-basic.kernel.fold "$exe" fold -i perf-basic.txt --kernel
check perf-basic.jit.fold "$exe" fold -i perf-basic.txt --jit
check perf-basic.all-addrs.fold "$exe" fold -i perf-basic.txt --all --addrs
check perf-basic.per-thread.fold "$exe" fold -i perf-basic.txt --per-thread
check perf-flat.fold "$exe" fold -i perf-flat.txt --kernel
# fold --robust: what report and flame read
check perf-rules.robust.fold "$exe" fold -i perf-rules.txt --robust --all
check perf-basic.robust.fold "$exe" fold -i perf-basic.txt --robust --all
check perf-flat.robust.fold "$exe" fold -i perf-flat.txt --robust --kernel
# reports of perf script input
check perf-basic.report.txt "$exe" report -i perf-basic.txt --top 12
check perf-basic.by-module.csv "$exe" report -i perf-basic.txt --by module --format csv
check perf-basic.by-thread.json "$exe" report -i perf-basic.txt --by thread --format json
check perf-basic.by-line.csv "$exe" report -i perf-basic.txt --by line --format csv --top 5
check perf-basic.callers.txt "$exe" report -i perf-basic.txt --callers do_syscall_64
check perf-basic.callees.json "$exe" report -i perf-basic.txt --callees do_syscall_64 --format json
check perf-basic.by-module.txt "$exe" report -i perf-basic.txt --by module
check perf-basic.by-thread.txt "$exe" report -i perf-basic.txt --by thread
check perf-basic.by-thread.csv "$exe" report -i perf-basic.txt --by thread --format csv
check perf-dwarf.report.txt "$exe" report -i perf-dwarf.txt
check perf-dwarf-noperiod.report.txt "$exe" report -i perf-dwarf-noperiod.txt
check perf-dwarf.flame.json flame -i perf-dwarf.txt
# flamegraph tables: kernel, JIT, inlined frames and modules
check perf-basic.flame.json flame -i perf-basic.txt
check perf-basic.flame-per-thread.json flame -i perf-basic.txt --per-thread --colors hot
check folded-kj.fold "$exe" fold -i folded-kj.folded
check folded-kj.flame.json flame -i folded-kj.folded
check folded-kj.flame-reverse.json flame -i folded-kj.folded --reverse --inverted --minwidth 5%

# the same input gives the same bytes
"$exe" flame -i perf-basic.txt "$tmp/a.svg" && "$exe" flame -i perf-basic.txt "$tmp/b.svg"
if cmp -s "$tmp/a.svg" "$tmp/b.svg"; then pass=$((pass + 1)); else
	echo "FAIL: two runs of flame gave different files"
	fail=$((fail + 1))
fi
# bad input: one line on stderr, non-zero exit
printf 'this is not a profile\n' >"$tmp/bad.txt"
if "$exe" flame -i "$tmp/bad.txt" "$tmp/bad.svg" 2>"$tmp/err"; then
	echo "FAIL: flame accepted a file that is not a profile"
	fail=$((fail + 1))
elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || [ -e "$tmp/bad.svg" ]; then
	echo "FAIL: flame on bad input: want one error line and no output file, got:"
	cat "$tmp/err"
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi

echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
