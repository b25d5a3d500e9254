#!/usr/bin/env bash
# Builds the bare-metal rv64 test programs and runs each one under a VMM with a timeout.
# A program passes when its console output has the line "ALL PASSED" (and the VMM exits 0).
# Every console log is kept in build/guest/rv64/logs/NAME.log; a failure's tail is printed.
#
# Usage: tests/guest/rv64/run.sh [NAME...]        (default: every program)
#   VESSEL_VMM=qemu     run under qemu-system-riscv64 (the reference) instead of build/vessel
#   VESSEL_CMD=...      override the vessel command line template below
#   TEST_TIMEOUT=SECS   per-program timeout (default 60)
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$root/build/guest/rv64

# The command lines, with {BIN} (flat image for 0x80000000), {ELF}, {CPUS} and {IMAGE} (an
# empty Linux Image header, since vessel requires --kernel; the tests never jump to it)
# substituted. vessel loads the firmware at 0x80000000 and starts every hart there in M-mode.
VESSEL_CMD=${VESSEL_CMD:-"$root/build/vessel run --arch riscv64 --firmware {BIN} --kernel {IMAGE} --mem 128M --cpus {CPUS}"}
QEMU_CMD="qemu-system-riscv64 -M virt -bios none -nographic -monitor none -serial stdio -m 128M -smp {CPUS} -kernel {ELF}"

vmm=${VESSEL_VMM:-vessel}
timeout_s=${TEST_TIMEOUT:-60}

# Harts each program needs (default 1)
cpus_for() {
    case $1 in
    isa_amo) echo 2 ;;
    *) echo 1 ;;
    esac
}

case $vmm in
qemu) template=$QEMU_CMD ;;
vessel) template=$VESSEL_CMD ;;
*)
    echo "run.sh: VESSEL_VMM=$vmm: expected qemu or vessel" >&2
    exit 2
    ;;
esac

progs=("$@")
if [ ${#progs[@]} -eq 0 ]; then
    progs=(isa_int priv mmu isa_rvc isa_amo isa_fp)
fi

mkdir -p "$out"
if ! make -s -C "$here" O="$out" >"$out.build.log" 2>&1; then
    cat "$out.build.log" >&2
    echo "run.sh: build failed" >&2
    exit 2
fi
mkdir -p "$out/logs"

pass=0
fail=0
set -f
for p in "${progs[@]}"; do
    log=$out/logs/$p.log
    if [ ! -f "$out/$p.elf" ]; then
        echo "FAIL $p (no such program)"
        fail=$((fail + 1))
        continue
    fi
    cmd=${template//\{BIN\}/$out/$p.bin}
    cmd=${cmd//\{ELF\}/$out/$p.elf}
    cmd=${cmd//\{CPUS\}/$(cpus_for "$p")}
    cmd=${cmd//\{IMAGE\}/$out/placeholder.Image}
    read -r -a argv <<<"$cmd"
    echo "\$ $cmd" >"$log"
    timeout -k 5 "$timeout_s" "${argv[@]}" </dev/null >>"$log" 2>&1
    rc=$?
    if grep -qx 'ALL PASSED' <(tr -d '\r' <"$log") && [ $rc -eq 0 ]; then
        echo "PASS $p"
        pass=$((pass + 1))
        continue
    fi
    case $rc in
    124 | 137) why="timeout after ${timeout_s}s" ;;
    0) why="no ALL PASSED line" ;;
    *) why="exit status $rc" ;;
    esac
    echo "FAIL $p ($why; log: $log)"
    tail -n 15 "$log" | sed 's/^/    /'
    fail=$((fail + 1))
done
set +f

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
