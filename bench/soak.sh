#!/usr/bin/env bash
# soak.sh - continuous mode over a long run: csampler record --push at 99 Hz against a
# target that keeps starting threads and loading and unloading a library
# (tests/targets/spawner.c), pushing every interval to a loopback receiver, without -o.
# Every step it prints csampler's CPU (share of one core over the step) and RSS, the
# windows the receiver got, and at the end the RSS growth after the warm-up: the issue
# asks that RSS not grow after the first minutes of a run that lasts days.
#
# usage: bench/soak.sh [BUILD_DIR]     (default: build; csampler and its test targets
#                                       must be built there)
#
# Environment:
#   SOAK_SECONDS   length of the run (default 600)
#   SOAK_STEP      seconds between two reports (default 60)
#   SOAK_WARMUP    seconds after which RSS must stay flat (default: half the run, at
#                  least 60). One-time loads show as a step, not a slope: the kernel's
#                  symbol table or a library's debug info at the first sample needing it
#   SOAK_INTERVAL  --push-interval (default 10)
#   SOAK_FORMAT    --push-format: pyroscope or otlp (default pyroscope)
#   SOAK_HZ        sampling rate (default 99)
#
# Needs: python3 (the receiver); root or perf_event_paranoid low enough to attach.
# Prints "RSS flat" or "RSS GREW" (more than 2% and 512 KiB after the warm-up); exits 0
# either way, non-zero when a tool fails to run.
set -Eeuo pipefail
trap 'echo "soak.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exe=$build/cli/csampler
target=$build/tests/targets/cs_t_spawner
plugin=$build/tests/targets/libcs_t_plugin.so
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_STEP=${SOAK_STEP:-60}
SOAK_INTERVAL=${SOAK_INTERVAL:-10}
SOAK_FORMAT=${SOAK_FORMAT:-pyroscope}
SOAK_HZ=${SOAK_HZ:-99}
warm=$((SOAK_SECONDS / 2))
[ "$warm" -ge 60 ] || warm=60
SOAK_WARMUP=${SOAK_WARMUP:-$warm}

die() {
	echo "soak.sh: $*" >&2
	exit 1
}
[ -x "$exe" ] || die "no csampler at $exe: build first"
[ -x "$target" ] && [ -f "$plugin" ] || die "no $target or $plugin: build the test targets"
command -v python3 >/dev/null || die "python3 is needed for the loopback receiver"

work=$(mktemp -d "${TMPDIR:-/tmp}/cs-soak.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The receiver: answers 200 to every POST and counts requests and bytes in a file.
cat >"$work/recv.py" <<'EOF'
import http.server, sys
n = [0, 0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        n[0] += 1
        n[1] += len(body)
        with open(sys.argv[2], "w") as f:
            f.write("%d %d\n" % (n[0], n[1]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % s.server_address[1])
s.serve_forever()
EOF
python3 "$work/recv.py" "$work/port" "$work/count" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || die "the receiver did not start"
port=$(cat "$work/port")
echo "0 0" >"$work/count"

"$target" "$plugin" >"$work/target.out" &
tpid=$!
pids+=($tpid)
for _ in $(seq 50); do grep -q ready "$work/target.out" 2>/dev/null && break; sleep 0.1; done

"$exe" record -p "$tpid" -F "$SOAK_HZ" --push "http://127.0.0.1:$port" \
	--push-interval "$SOAK_INTERVAL" --push-format "$SOAK_FORMAT" --app soak \
	2>"$work/csampler.err" &
cpid=$!
pids+=($cpid)

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

echo "soak: csampler record -F $SOAK_HZ --push-interval $SOAK_INTERVAL --push-format" \
	"$SOAK_FORMAT, no -o, target cs_t_spawner (threads + dlopen/dlclose), $SOAK_SECONDS s"
printf '%8s %12s %10s %9s %12s\n' "time_s" "csampler_cpu" "rss_kib" "windows" "bytes_pushed"
start=$(date +%s)
last_cpu=$(cpu_ticks "$cpid")
last_t=$start
rss_warm=
rss_max=0
rss_end=0
while :; do
	now=$(date +%s)
	el=$((now - start))
	[ "$el" -ge "$SOAK_SECONDS" ] && break
	left=$((SOAK_SECONDS - el))
	sleep $((left < SOAK_STEP ? left : SOAK_STEP))
	kill -0 "$cpid" 2>/dev/null || die "csampler ended early: $(cat "$work/csampler.err")"
	kill -0 "$tpid" 2>/dev/null || die "the target ended early"
	now=$(date +%s)
	cpu=$(cpu_ticks "$cpid")
	rss=$(rss_kib "$cpid")
	read -r nreq nbytes <"$work/count"
	pct=$(awk -v c=$((cpu - last_cpu)) -v t="$ticks" -v w=$((now - last_t)) \
		'BEGIN { printf "%.1f%%", w ? 100 * c / t / w : 0 }')
	printf '%8d %12s %10d %9d %12d\n' $((now - start)) "$pct" "$rss" "$nreq" "$nbytes"
	last_cpu=$cpu
	last_t=$now
	[ "$rss" -gt "$rss_max" ] && rss_max=$rss
	if [ -z "$rss_warm" ] && [ $((now - start)) -ge "$SOAK_WARMUP" ]; then rss_warm=$rss; fi
	rss_end=$rss
done
total_cpu=$(awk -v c="$(cpu_ticks "$cpid")" -v t="$ticks" 'BEGIN { printf "%.1f", c / t }')
kill -INT "$cpid"
wait "$cpid" || true
kill -TERM "$tpid" 2>/dev/null || true
summary=$(grep -E "pushed|profiler CPU" "$work/csampler.err" || true)
echo "csampler CPU: $total_cpu s in $SOAK_SECONDS s; peak RSS seen $rss_max KiB"
[ -n "$summary" ] && echo "$summary"
if [ -n "$rss_warm" ]; then
	grow=$((rss_end - rss_warm))
	span=$((SOAK_SECONDS - SOAK_WARMUP))
	verdict="RSS flat"
	if [ "$grow" -gt 512 ] && [ $((grow * 50)) -gt "$rss_warm" ]; then verdict="RSS GREW"; fi
	echo "$verdict: $rss_warm KiB after the warm-up (${SOAK_WARMUP} s), $rss_end KiB at the" \
		"end: $grow KiB in $span s ($(awk -v g="$grow" -v s="$span" \
		'BEGIN { printf "%.0f", s ? g * 3600 / s : 0 }') KiB per hour)"
else
	echo "run too short for a verdict (SOAK_WARMUP $SOAK_WARMUP s)"
fi
