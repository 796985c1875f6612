#!/usr/bin/env bash
# resolve.sh - benchmark the end-of-recording resolution of csampler record (symbols,
# inline chains, lines of every distinct address) next to `perf report` on the same
# workloads, in one run:
#   - sqlite3 built -g from Debian's source (the amalgamation: one 250k-line unit)
#   - Debian's python3.11 with its debug symbols (python3.11-dbg; an LTO build)
# csampler's resolution CPU comes from CSAMPLER_RESOLVE_STATS=1 (thread CPU from the
# first address resolved to the caches saved); cold = empty csampler cache, warm = a
# cache filled by an earlier run of the same workload. perf's is the user+system CPU
# of `perf report --stdio` on a recording of the same workload with call chains (-g).
# Medians of REPS runs; ratios below 1 mean csampler spent less.
#
# usage: bench/resolve.sh [BUILD_DIR]     (default: build; csampler must be built there)
#
# Environment:
#   REPS      runs of each measurement (default 5)
#   SECONDS_  seconds of each workload (default 4)
#   KEEP=1    keep the work directory and print its path
#
# Needs: perf (linux-perf), GNU time, python3.11 + python3.11-dbg, and for sqlite3 a
# C compiler, tclsh (tcl) and Debian's sqlite3 source package, fetched with apt-get
# from the deb mirror this machine already uses (scripts/deps.sh bench). The sqlite3
# build is kept in ${XDG_CACHE_HOME:-~/.cache}/csampler-bench.
set -Eeuo pipefail
trap 'echo "resolve.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exe=$build/cli/csampler
REPS=${REPS:-5}
SECS=${SECONDS_:-4}

die() {
	echo "resolve.sh: $*" >&2
	exit 1
}
[ -x "$exe" ] || die "no csampler at $exe: build first"
[ -x /usr/bin/time ] || die "GNU time is needed (apt-get install time)"
command -v perf >/dev/null || die "perf is needed (scripts/deps.sh bench)"

work=$(mktemp -d)
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then echo "resolve.sh: work directory kept: $work" >&2
	else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"

median() { sort -g | awk '{v[NR]=$1} END {if (NR) print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2); else print "nan"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a/b; else print "n/a"}'; }

# ---- sqlite3 built -g from Debian's source ----
bench_cache=${XDG_CACHE_HOME:-$HOME/.cache}/csampler-bench
sqlite=$bench_cache/sqlite3-g
build_sqlite() {
	[ -x "$sqlite" ] && return 0
	command -v tclsh >/dev/null || { echo "resolve.sh: no tclsh (tcl): sqlite3 skipped" >&2; return 1; }
	# a deb-src entry for the mirror and suite the system's own sources name
	local uri suite
	uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	suite=$(sed -n 's/^Suites: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	if [ -z "$uri" ]; then
		read -r uri suite < <(awk '$1 == "deb" && $2 !~ /^\[/ {print $2, $3; exit}' \
			/etc/apt/sources.list 2>/dev/null) || true
	fi
	[ -n "$uri" ] && [ -n "$suite" ] || { echo "resolve.sh: no Debian mirror in the apt sources: sqlite3 skipped" >&2; return 1; }
	mkdir -p src/lists/partial src/archives/partial
	local key=/usr/share/keyrings/debian-archive-keyring.gpg signed=""
	[ -r "$key" ] && signed="[signed-by=$key] "
	echo "deb-src $signed$uri $suite main" > src/sources.list
	local opts=(-o Dir::Etc::SourceList="$work/src/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$work/src/lists" -o Dir::Cache::Archives="$work/src/archives")
	apt-get "${opts[@]}" -qq update >/dev/null 2>&1 || { echo "resolve.sh: apt-get update of deb-src failed: sqlite3 skipped" >&2; return 1; }
	(cd src && apt-get "${opts[@]}" -qq --download-only source sqlite3 >/dev/null 2>&1) ||
		{ echo "resolve.sh: apt-get source sqlite3 failed: sqlite3 skipped" >&2; return 1; }
	local orig
	orig=$(ls src/sqlite3_*.orig.tar.* 2>/dev/null | grep -v www | head -1)
	[ -n "$orig" ] || { echo "resolve.sh: no sqlite3 source tarball: sqlite3 skipped" >&2; return 1; }
	tar xf "$orig" -C src
	local dir
	dir=$(find src -maxdepth 1 -type d -name 'sqlite3-*' | head -1)
	echo "resolve.sh: building the sqlite3 amalgamation with -g (a few minutes)" >&2
	(cd "$dir" && ./configure --disable-tcl >/dev/null 2>&1 && make sqlite3.c shell.c >/dev/null 2>&1) ||
		{ echo "resolve.sh: cannot make sqlite3.c: sqlite3 skipped" >&2; return 1; }
	mkdir -p "$bench_cache"
	cc -O2 -g -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -o "$sqlite.tmp" \
		"$dir/shell.c" "$dir/sqlite3.c" -lm
	mv "$sqlite.tmp" "$sqlite"
}

# ---- workloads: each runs about SECS seconds ----
cat > work.sql <<'EOF'
CREATE TABLE t(a INTEGER, b TEXT, c BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<200000)
  INSERT INTO t SELECT x, hex(randomblob(12)), randomblob(40) FROM c;
CREATE INDEX tb ON t(b);
CREATE INDEX tc ON t(c);
EOF
for _ in 1 2 3 4 5; do cat >> work.sql <<'EOF'
SELECT count(*) FROM t t1 JOIN t t2 ON t1.c = t2.c;
SELECT sum(length(b)) FROM (SELECT b FROM t ORDER BY c, b);
SELECT count(DISTINCT substr(b, 1, 6)) FROM t;
SELECT count(*) FROM t WHERE b LIKE '%AB%';
EOF
done
cat > work.py <<EOF
import time
end = time.time() + $SECS
while time.time() < end:
    s = 0
    for i in range(20000):
        s += len(str(i * 12345678901234567))
    d = {str(i): i for i in range(2000)}
    l = sorted(d.items(), key=lambda kv: -kv[1])
EOF

# resolution CPU (s) of one csampler record of "$@"; cache dir $1
cs_resolve() {
	local cache=$1
	shift
	XDG_CACHE_HOME=$cache CSAMPLER_RESOLVE_STATS=1 "$exe" record -q -F 999 -o cs.data -- "$@" \
		2> cs.err >/dev/null || die "csampler record failed: $(cat cs.err)"
	sed -n 's/.*resolution: \([0-9]*\) addresses, \([0-9.]*\) s CPU.*/\2 \1/p' cs.err | tail -1
}
# CPU (s) of perf report on a recording of "$@"
perf_report() {
	perf record -q -e cpu-clock -F 999 -g -o perf.data -- "$@" >/dev/null 2>perf.err ||
		die "perf record failed: $(cat perf.err)"
	/usr/bin/time -f "%U %S" -o perf.time perf report -i perf.data --stdio >/dev/null 2>&1
	awk '{print $1 + $2}' perf.time
}

bench() {
	local name=$1
	shift
	local cold=() warm=() pr=() addrs=()
	local warmcache=$work/warm-$name
	rm -rf "$warmcache" && mkdir -p "$warmcache"
	cs_resolve "$warmcache" "$@" >/dev/null # fills the warm cache
	for ((i = 0; i < REPS; i++)); do
		local c
		c=$(mktemp -d "$work/cold.XXXX")
		read -r t n < <(cs_resolve "$c" "$@")
		cold+=("$t")
		addrs+=("$n")
		rm -rf "$c"
		read -r t n < <(cs_resolve "$warmcache" "$@")
		warm+=("$t")
		pr+=("$(perf_report "$@")")
	done
	local mc mw mp ma
	mc=$(printf '%s\n' "${cold[@]}" | median)
	mw=$(printf '%s\n' "${warm[@]}" | median)
	mp=$(printf '%s\n' "${pr[@]}" | median)
	ma=$(printf '%s\n' "${addrs[@]}" | median)
	printf '%-22s %9s %12s %12s %14s %12s %12s\n' "$name" "$ma" "$mc" "$mw" "$mp" \
		"$(ratio "$mc" "$mp")" "$(ratio "$mw" "$mp")"
}

echo "resolution CPU in seconds, medians of $REPS runs (workloads of about $SECS s at 999 Hz)"
printf '%-22s %9s %12s %12s %14s %12s %12s\n' workload addresses "cs cold" "cs warm" \
	"perf report" "cold/perf" "warm/perf"
if build_sqlite; then
	bench "sqlite3 -g" sh -c "exec '$sqlite' :memory: < '$work/work.sql'"
fi
if [ -x /usr/bin/python3.11 ]; then
	bench "python3.11 + dbg" /usr/bin/python3.11 "$work/work.py"
else
	echo "resolve.sh: no /usr/bin/python3.11: skipped" >&2
fi
