#!/usr/bin/env bash
# Image conversion benchmark: `vessel disk convert` against `qemu-img convert` on the same
# images in the same run. The source is a raw image (default 1 GiB) filled like a used disk:
# 35% random data (incompressible), 25% text-like data (compressible), 15% written zeroes and
# 25% holes. Measured, each the best of --runs alternating runs (the host is shared and noisy):
#   raw -> qcow2        convert -O qcow2
#   qcow2 -> raw        convert -O raw, from a qcow2 image qemu-img made of the same source
#   raw -> qcow2 -c     compressed (zlib; both tools use every CPU for compression)
# Both tools end with the output durable: qemu-img runs with -t writeback, since its convert
# default (-t unsafe) skips the final flush that `vessel disk convert` always does. Each output
# is checked with `qemu-img compare` against the source (a wrong result is reported, not timed
# as a success). Prints seconds, MB/s of virtual size and the ratio
# vessel/qemu of the speeds (> 1: Vessel faster). Asserts nothing.
#
# Usage: bench/disk_convert.sh [--size MiB] [--runs N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mb=1024
runs=3
while [[ $# -gt 0 ]]; do
    case $1 in
    --size) size_mb=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--size MiB] [--runs N]" >&2; exit 1 ;;
    esac
done
V=${VESSEL_BIN:-build/vessel}
[[ -x $V ]] || { echo "bench: $V not built (make)" >&2; exit 1; }
command -v qemu-img >/dev/null || { echo "bench: qemu-img missing (apt-get install qemu-utils)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/vessel-bench-convert-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "disk_convert: ${size_mb} MiB source image, best of $runs runs each"
python3 - "$tmp/src.raw" "$size_mb" <<'EOF'
import os, random, sys
path, mib = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
words = [b"vessel", b"qcow2", b"cluster", b"refcount", b"guest", b"kernel", b"disk", b"the ",
         b"and ", b"0x1f2e", b"\n", b"    ", b"return 0;", b"struct", b"{", b"}"]
text = b" ".join(rnd.choice(words) for _ in range(300000))
with open(path, "wb") as f:
    f.truncate(mib << 20)
    for mb in range(mib):
        kind = rnd.random()
        f.seek(mb << 20)
        if kind < 0.35:
            f.write(os.urandom(1 << 20))
        elif kind < 0.60:
            start = rnd.randrange(0, len(text) - (1 << 20))
            f.write(text[start:start + (1 << 20)])
        elif kind < 0.75:
            f.write(bytes(1 << 20))
        # else: a hole
EOF
qemu-img convert -O qcow2 "$tmp/src.raw" "$tmp/src.qcow2"

# best TOOL NAME CMD... -> seconds (best of $runs), output checked against the source
best() {
    local name=$1 out=$2 t0 t1 b=""
    shift 2
    for ((i = 0; i < runs; i++)); do
        rm -f "$out"
        t0=$(date +%s.%N)
        "$@" >/dev/null
        t1=$(date +%s.%N)
        b=$(awk -v a="$t0" -v c="$t1" -v b="$b" 'BEGIN { t = c - a; if (b == "" || t < b) print t; else print b }')
    done
    if ! qemu-img compare -q "$tmp/src.raw" "$out" 2>/dev/null; then
        echo "bench: $name produced an image that differs from the source" >&2
        b="wrong"
    fi
    echo "$b"
}

mbs() { awk -v s="$1" -v m="$size_mb" 'BEGIN { if (s == "wrong") print "-"; else printf "%.0f", m * 1.048576 / s }'; }
ratio() { awk -v v="$1" -v q="$2" 'BEGIN { if (v == "wrong" || q == "wrong") print "n/a"; else printf "%.2f", q / v }'; }

printf '\n%-18s %10s %10s %12s %12s %14s\n' test "vessel s" "qemu s" "vessel MB/s" "qemu MB/s" "vessel/qemu"
row() {
    local name=$1 v=$2 q=$3
    printf '%-18s %10s %10s %12s %12s %14s\n' "$name" "$v" "$q" "$(mbs "$v")" "$(mbs "$q")" "$(ratio "$v" "$q")"
}
v=$(best "vessel raw->qcow2" "$tmp/v.qcow2" "$V" disk convert -f raw -O qcow2 "$tmp/src.raw" "$tmp/v.qcow2")
q=$(best "qemu raw->qcow2" "$tmp/q.qcow2" qemu-img convert -t writeback -f raw -O qcow2 "$tmp/src.raw" "$tmp/q.qcow2")
row "raw -> qcow2" "$v" "$q"
vs=$(stat -c %s "$tmp/v.qcow2")
qs=$(stat -c %s "$tmp/q.qcow2")
v=$(best "vessel qcow2->raw" "$tmp/v.raw" "$V" disk convert -f qcow2 -O raw "$tmp/src.qcow2" "$tmp/v.raw")
q=$(best "qemu qcow2->raw" "$tmp/q.raw" qemu-img convert -t writeback -f qcow2 -O raw "$tmp/src.qcow2" "$tmp/q.raw")
row "qcow2 -> raw" "$v" "$q"
rm -f "$tmp/v.raw" "$tmp/q.raw"
v=$(best "vessel -c" "$tmp/vc.qcow2" "$V" disk convert -c -f raw -O qcow2 "$tmp/src.raw" "$tmp/vc.qcow2")
q=$(best "qemu -c" "$tmp/qc.qcow2" qemu-img convert -t writeback -c -f raw -O qcow2 "$tmp/src.raw" "$tmp/qc.qcow2")
row "raw -> qcow2 -c" "$v" "$q"
echo
echo "output sizes: qcow2 vessel $((vs >> 20)) MiB, qemu $((qs >> 20)) MiB;" \
    "compressed vessel $(($(stat -c %s "$tmp/vc.qcow2") >> 20)) MiB, qemu $(($(stat -c %s "$tmp/qc.qcow2") >> 20)) MiB"
echo "vessel/qemu: Vessel's speed over qemu-img's (> 1: Vessel faster). Benchmarks measure; they never assert times."
