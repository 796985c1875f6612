#!/usr/bin/env bash
# Install the Debian packages csampler needs, only those missing: apt-get update once,
# then apt-get install -y. Usage: scripts/deps.sh [build|test|bench]
set -euo pipefail
mode=${1:-build}

pkgs=(cmake make gcc g++ pkg-config binutils libdw-dev libelf-dev zlib1g-dev libunwind-dev)
case "$mode" in
build) ;;
# test_real compares with perf and addr2line on Debian's node, sqlite3, xz and
# python3.11 with its debug symbols (python3.11-dbg holds /usr/lib/debug/.build-id for
# /usr/bin/python3.11, and pulls the python3.11 of the same build). clang and its
# runtimes (libFuzzer, sanitizers) for the fuzz harnesses; without them scripts/test
# skips fuzzing and says why. golang-go (go tool pprof) and valgrind
# (callgrind_annotate) open csampler's exports in test_export.
test) pkgs+=(libcriterion-dev libxml2-dev elfutils chromium nodejs npm librsvg2-bin python3
	linux-perf sqlite3 xz-utils python3.11 python3.11-dbg clang libclang-rt-dev heaptrack golang-go valgrind) ;;
# bench/resolve.sh builds the sqlite amalgamation from Debian's source (tcl makes it).
bench) pkgs+=(libcriterion-dev linux-perf heaptrack valgrind time tcl xz-utils
	python3.11 python3.11-dbg sqlite3) ;;
*) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# node/npm may come from outside Debian; accept any working installation.
if command -v node >/dev/null && command -v npm >/dev/null; then
	missing=("${missing[@]/nodejs/}")
	missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]:-}"
if ((${#missing[@]})); then
	if [ "$(id -u)" != 0 ]; then
		echo "csampler: missing packages: ${missing[*]} (run as root, or apt-get install them)" >&2
		exit 1
	fi
	echo "csampler: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
