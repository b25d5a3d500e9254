#!/usr/bin/env bash
# Disk-format benchmark: 4 KiB sequential and random reads and writes through Vessel's disk
# backend (`vessel disk bench`, synchronous, queue depth 1) on a raw file and a qcow2 image,
# against QEMU's qcow2 driver on the same kind of image (`qemu-img bench -d 1` for sequential
# patterns; random offsets through one `qemu-io` process, since qemu-img bench has no random
# mode). Images are fully allocated first ("once clusters are allocated"); a separate line
# measures first writes into a fresh, empty qcow2 image (allocation). All I/O goes through the
# host page cache (qemu: cache=writeback). Prints ops/s, MB/s and ratios; asserts nothing.
#
# Usage: bench/disk_formats.sh [--size MiB] [--count N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mb=256
count=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --size) size_mb=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    *) echo "usage: $0 [--size MiB] [--count N]" >&2; exit 1 ;;
    esac
done
V=${VESSEL_BIN:-build/vessel}
[[ -x $V ]] || { echo "bench: $V not built (make)" >&2; exit 1; }
command -v qemu-img >/dev/null || { echo "bench: qemu-img missing (apt-get install qemu-utils)" >&2; exit 1; }
size=$((size_mb << 20))
ops=$count
[[ $ops -gt 0 ]] || ops=$((size / 4096))
tmp=$(mktemp -d /tmp/vessel-bench-disk-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# vessel_ops FILE FORMAT RW PATTERN -> ops/s, the best of 3 runs (the host is shared and noisy)
vessel_ops() {
    local best=0 v
    for _ in 1 2 3; do
        v=$("$V" disk bench "$1" --format "$2" --rw "$3" --pattern "$4" --bs 4K --count "$ops" |
            sed -n 's/.* ops\/s=\([0-9.]*\).*/\1/p')
        best=$(awk -v a="$best" -v b="$v" 'BEGIN { print (b > a) ? b : a }')
    done
    echo "$best"
}

# qemu_seq FILE RW -> ops/s  (qemu-img bench, one request in flight)
qemu_seq() {
    local w=() t
    [[ $2 == write ]] && w=(-w)
    t=$(qemu-img bench -f qcow2 -t writeback -i threads -d 1 -c "$ops" -s 4096 -S 4096 "${w[@]}" "$1" |
        sed -n 's/Run completed in \([0-9.]*\) seconds.*/\1/p')
    awk -v n="$ops" -v t="$t" 'BEGIN { printf "%.0f", n / t }'
}

# qemu_rand FILE RW -> ops/s  (qemu-io with one command per request, timed as a whole)
qemu_rand() {
    local cmd=read args=() t0 t1 i
    [[ $2 == write ]] && cmd="write -P 0xa5"
    python3 - "$ops" "$size" >"$tmp/offsets" <<'EOF'
import random, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(1)
for _ in range(n):
    print(r.randrange(size // 4096) * 4096)
EOF
    while read -r i; do args+=(-c "$cmd -q $i 4k"); done <"$tmp/offsets"
    t0=$(date +%s.%N)
    qemu-io -f qcow2 -t writeback "${args[@]}" "$1" >/dev/null
    t1=$(date +%s.%N)
    awk -v n="$ops" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mbs() { awk -v o="$1" 'BEGIN { printf "%.1f", o * 4096 / 1e6 }'; }

echo "disk_formats: ${size_mb} MiB images, $ops x 4 KiB requests per test, queue depth 1"
# raw: fully written; vessel qcow2 and qemu qcow2: fully allocated by a first sequential pass
truncate -s "$size" "$tmp/disk.raw"
"$V" disk bench "$tmp/disk.raw" --format raw --rw write --pattern seq --bs 1M >/dev/null
"$V" disk create "$tmp/vessel.qcow2" "${size_mb}M"
first_v=$("$V" disk bench "$tmp/vessel.qcow2" --rw write --pattern seq --bs 4K --count "$((size / 4096))" |
    sed -n 's/.* ops\/s=\([0-9.]*\).*/\1/p')
qemu-img create -q -f qcow2 "$tmp/qemu.qcow2" "$size"
first_q=$(ops=$((size / 4096)) qemu_seq "$tmp/qemu.qcow2" write)

printf '\n%-22s %12s %12s %12s %14s %16s\n' test "raw ops/s" "qcow2 ops/s" "qemu ops/s" "qcow2/raw" "qcow2/qemu"
for t in "seq read" "seq write" "rand read" "rand write"; do
    set -- $t
    r=$(vessel_ops "$tmp/disk.raw" raw "$2" "$1")
    q=$(vessel_ops "$tmp/vessel.qcow2" qcow2 "$2" "$1")
    if [[ $1 == seq ]]; then
        m=$(qemu_seq "$tmp/qemu.qcow2" "$2")
    else
        m=$(qemu_rand "$tmp/qemu.qcow2" "$2")
    fi
    printf '%-22s %12s %12s %12s %14s %16s\n' "$t 4K" "$r" "$q" "$m" "$(ratio "$q" "$r")" "$(ratio "$q" "$m")"
    printf '%-22s %12s %12s %12s\n' "  (MB/s)" "$(mbs "$r")" "$(mbs "$q")" "$(mbs "$m")"
done
printf '%-22s %12s %12s %12s %14s %16s\n' "first write (alloc)" "-" "$first_v" "$first_q" "-" "$(ratio "$first_v" "$first_q")"
echo
echo "qcow2/raw: Vessel's qcow2 over Vessel's raw backend (goal: >= 0.90 for sequential I/O once"
echo "allocated). qcow2/qemu: Vessel's qcow2 over QEMU's; QEMU's random numbers include qemu-io's"
echo "per-command parsing, so they understate QEMU. Benchmarks measure; they never assert times."
