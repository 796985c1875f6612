#!/bin/sh
# Make the three stripped variants of the 'symbols' target used by the tests:
#   OUT/symbols-buildid   stripped; debug info in OUT/buildid-root/.build-id/xx/yyyy.debug
#   OUT/debuglink/symbols-debuglink  stripped, no build-id; .gnu_debuglink to the debug
#                         file next to it
#   OUT/symbols-nodebug   stripped, no debug info anywhere
set -eu
bin=$1
out=$2
rm -rf "$out"
mkdir -p "$out/debuglink"

id=$(readelf -n "$bin" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
[ -n "$id" ] || { echo "no build-id in $bin" >&2; exit 1; }
dir=$(printf %s "$id" | cut -c1-2)
rest=$(printf %s "$id" | cut -c3-)
mkdir -p "$out/buildid-root/.build-id/$dir"
objcopy --only-keep-debug "$bin" "$out/buildid-root/.build-id/$dir/$rest.debug"
strip --strip-all -o "$out/symbols-buildid" "$bin"

objcopy --remove-section .note.gnu.build-id "$bin" "$out/debuglink/full"
objcopy --only-keep-debug "$out/debuglink/full" "$out/debuglink/symbols-debuglink.debug"
strip --strip-all -o "$out/debuglink/stripped" "$out/debuglink/full"
(cd "$out/debuglink" &&
	objcopy --add-gnu-debuglink=symbols-debuglink.debug stripped symbols-debuglink &&
	rm -f full stripped)

strip --strip-all -o "$out/symbols-nodebug" "$bin"
chmod +x "$out/symbols-buildid" "$out/debuglink/symbols-debuglink" "$out/symbols-nodebug"
