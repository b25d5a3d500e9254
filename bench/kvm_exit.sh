#!/usr/bin/env bash
# Port-I/O exit round trip, start-up and peak RSS of the kvm engine: `vessel run --arch x86_64`
# against a raw KVM_RUN loop (bench/kvm_exit/raw.c, built here) and
# `qemu-system-x86_64 -accel kvm` (-M pc; skipped when not installed), all running the same
# guest (bench/kvm_exit/guest.S: PVH 32-bit entry, ring 0, LOOPS x `out` to port 0x80).
#
# Per-exit cost = (time(N=200000) - time(N=2000)) / 198000, from whole-process runs, so that
# start-up cancels out. Start-up = process start to the guest's first console byte. Peak RSS
# from /usr/bin/time. Prints each VMM's numbers and the ratios to raw; never asserts times.
#
# Usage: bench/kvm_exit.sh [--runs N]      (default 3; the median of N runs is reported)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out=$root/build/bench/kvm_exit
runs=3
[[ ${1:-} == --runs ]] && runs=$2
small=2000
big=200000

if [[ ! -w /dev/kvm ]]; then
    echo "kvm_exit: /dev/kvm is not usable here; nothing to measure"
    exit 0
fi
mkdir -p "$out"
for n in $small $big; do
    gcc -m64 -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
        -T "$here/kvm_exit/link.ld" -Wa,--defsym,LOOPS=$n -o "$out/guest$n.elf" \
        "$here/kvm_exit/guest.S"
done
gcc -O2 -Wall -Wextra -Werror -o "$out/raw" "$here/kvm_exit/raw.c"
[[ -x $root/build/vessel ]] || make -s -C "$root" build/vessel

declare -A cmd
cmd[raw]="$out/raw {G}"
cmd[vessel]="$root/build/vessel run --arch x86_64 --kernel {G} --mem 16M"
vmms=(raw vessel)
if command -v qemu-system-x86_64 >/dev/null; then
    cmd[qemu]="qemu-system-x86_64 -accel kvm -M pc -m 16M -display none -nodefaults -serial stdio -no-reboot -kernel {G}"
    vmms+=(qemu)
else
    echo "kvm_exit: qemu-system-x86_64 not installed (apt-get install qemu-system-x86); skipped"
fi

# median of the runs of one field: median FIELD LINES...
median() {
    local f=$1
    shift
    printf '%s\n' "$@" | awk -v f="$f" '{print $f}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

declare -A per_exit startup rss
for v in "${vmms[@]}"; do
    s_lines=() b_lines=()
    for ((i = 0; i < runs; i++)); do
        c=${cmd[$v]//\{G\}/$out/guest$small.elf}
        s_lines+=("$(python3 "$here/kvm_exit/measure.py" $c)")
        c=${cmd[$v]//\{G\}/$out/guest$big.elf}
        b_lines+=("$(python3 "$here/kvm_exit/measure.py" $c)")
    done
    ts=$(median 1 "${s_lines[@]}")
    tb=$(median 1 "${b_lines[@]}")
    per_exit[$v]=$(awk -v a="$tb" -v b="$ts" -v n=$((big - small)) 'BEGIN {printf "%.3f", (a - b) / n * 1e6}')
    startup[$v]=$(awk -v a="$(median 2 "${s_lines[@]}")" 'BEGIN {printf "%.1f", a * 1000}')
    rss[$v]=$(awk -v a="$(median 3 "${s_lines[@]}")" 'BEGIN {printf "%.2f", a / 1024}')
    printf '%-7s per-exit %8s us   start-up %8s ms   peak RSS %7s MiB   (N=%d: %ss, N=%d: %ss)\n' \
        "$v" "${per_exit[$v]}" "${startup[$v]}" "${rss[$v]}" $small "$ts" $big "$tb"
done
echo "ratios to raw KVM_RUN:"
for v in "${vmms[@]}"; do
    [[ $v == raw ]] && continue
    awk -v n="$v" -v pe="${per_exit[$v]}" -v pr="${per_exit[raw]}" -v su="${startup[$v]}" \
        -v sr="${startup[raw]}" -v ru="${rss[$v]}" -v rr="${rss[raw]}" \
        'BEGIN {printf "  %-7s per-exit %.3fx   start-up %.2fx   peak RSS %.2fx\n", n, pe / pr, su / sr, ru / rr}'
done
