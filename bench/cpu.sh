#!/usr/bin/env bash
# CPU benchmark of the rv64 engine: one bare-metal guest (bench/guest/cpu.c, built here with
# Debian's riscv64 cross compiler) under build/vessel on each rv64 tier (VESSEL_RV64_TIER=jit
# and interp) and under qemu-system-riscv64 -M virt (TCG), same binary, same run, the VMMs in
# turn in every run. Prints wall times, guest MIPS and the ratios to QEMU; asserts nothing.
# Usage: bench/cpu.sh [--runs N]      (VESSEL_BIN selects the vessel binary)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=1
[ "${1:-}" = "--runs" ] && runs=$2

out=build/bench/guest
mkdir -p "$out"
arch="-march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax"
rt=tests/guest/rv64/rt
riscv64-linux-gnu-gcc $arch -std=gnu11 -O2 -ffreestanding -nostdlib -fno-pic \
    -fno-stack-protector -fno-builtin -I$rt -Isrc/board/riscv -static -no-pie \
    -Wl,-T,tests/guest/rv64/link.ld -Wl,--no-relax -Wl,--build-id=none \
    -Wl,--no-warn-rwx-segments -o "$out/cpu.elf" $rt/start.S $rt/rt.c bench/guest/cpu.c -lgcc
riscv64-linux-gnu-objcopy -O binary "$out/cpu.elf" "$out/cpu.bin"
make -s -C tests/guest/rv64 >/dev/null # placeholder.Image

now() { date +%s.%N; }
run() { # name cmd...
    local name=$1 t0 t1 log
    shift
    case $name in
    jit | interp) export VESSEL_RV64_TIER=$name ;;
    *) unset VESSEL_RV64_TIER ;;
    esac
    log=$(mktemp)
    t0=$(now)
    timeout 600 "$@" </dev/null >"$log" 2>&1 || true
    t1=$(now)
    if ! grep -q "ALL PASSED" "$log"; then
        echo "$name: the guest did not finish; output:" >&2
        tail -5 "$log" >&2
        rm -f "$log"
        return 1
    fi
    insns=$(grep -o 'instructions [0-9]*' "$log" | awk '{print $2}')
    sum=$(grep -o 'checksum [0-9a-fx]*' "$log" | awk '{print $2}')
    rm -f "$log"
    echo "$name $(echo "$t1 - $t0" | bc -l) $insns $sum"
}

declare -A total
for i in $(seq "$runs"); do
    while read -r name secs insns sum; do
        printf '%-7s run %d: %6.2f s, %s instructions, %6.0f MIPS, checksum %s\n' \
            "$name" "$i" "$secs" "$insns" "$(echo "$insns / $secs / 1000000" | bc -l)" "$sum"
        total[$name]=$(echo "${total[$name]:-0} + $secs" | bc -l)
    done < <(
        run jit "${VESSEL_BIN:-build/vessel}" run --arch riscv64 --firmware "$out/cpu.bin" \
            --kernel build/guest/rv64/placeholder.Image --mem 128M
        run interp "${VESSEL_BIN:-build/vessel}" run --arch riscv64 --firmware "$out/cpu.bin" \
            --kernel build/guest/rv64/placeholder.Image --mem 128M
        run qemu qemu-system-riscv64 -M virt -bios none -nographic -monitor none -serial stdio \
            -m 128M -kernel "$out/cpu.elf"
    )
done
for t in jit interp; do
    printf 'vessel-%s/qemu wall time: %.2fx\n' "$t" "$(echo "${total[$t]} / ${total[qemu]}" | bc -l)"
done
