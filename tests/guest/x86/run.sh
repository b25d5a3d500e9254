#!/usr/bin/env bash
# Builds the x86-64 test guests (system gcc, freestanding) and runs each case under
# `vessel run --arch x86_64` with a timeout. A case passes when the console shows "ALL PASSED"
# (and the case's extra line, if it names one) and vessel exits with the case's status: 0 when
# the guest powered off through ACPI S5 (a reset through the i8042 reboots the VM in place
# first), 3 when it crashed on purpose with a triple fault.
# Console logs are kept in build/guest/x86/logs/NAME.log; a failure's tail is printed.
# Without a usable /dev/kvm every case is reported as skipped (not failed).
#
# Usage: tests/guest/x86/run.sh [NAME...]     (default: every case)
#   TEST_TIMEOUT=SECS   per-case timeout (default 60)
#   VESSEL_BIN=PATH     the vessel binary (default build/vessel)
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$root/build/guest/x86
vessel=${VESSEL_BIN:-$root/build/vessel}
timeout_s=${TEST_TIMEOUT:-60}

# name | kernel file | vessel options | kernel command line [| exit status | a line the log must have]
reboot_line="second boot: the VM rebooted in place after the reset"
cases=(
    "elf64|kvmtest.elf|--mem 64M|vessel-test cpus=1"
    "elf64-smp|kvmtest.elf|--mem 64M --cpus 2|vessel-test cpus=2"
    "pvh|kvmtest-pvh.elf|--mem 64M|vessel-test cpus=1"
    "pvh-smp|kvmtest-pvh.elf|--mem 128M --cpus 2|vessel-test cpus=2"
    "bzimage|kvmtest.bzImage|--mem 32M|vessel-test cpus=1"
    "bzimage-reset|kvmtest.bzImage|--mem 32M|vessel-test cpus=1 reset|0|$reboot_line"
    "smp-reset|kvmtest.elf|--mem 64M --cpus 2|vessel-test cpus=2 reset|0|$reboot_line"
    "triple-fault|kvmtest.elf|--mem 64M|vessel-test cpus=1 crash|3|triple fault"
    "highmem|kvmtest.elf|--mem 3200M|vessel-test cpus=1"
    "virtio-blk|kvmtest.elf|--mem 64M --disk @DISK@|vessel-test cpus=1 virtio"
)

# The virtio-blk case's disk: 1 MiB, byte i of sector 0 is (i * 7 + 1) & 0xff (the guest
# compares); afterwards sector 1 must hold (i * 3 + 5) & 0xff (the guest wrote it).
disk=$out/virtio-blk.raw
make_disk() {
    python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes((i * 7 + 1) & 0xff for i in range(512)) + bytes(1024 * 1024 - 512))' "$disk"
}
check_disk() {
    python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(0 if d[512:1024] == bytes((i * 3 + 5) & 0xff for i in range(512)) and len(d) == 1 << 20 else 1)' "$disk"
}

want=("$@")
pass=0
fail=0
skip=0

mkdir -p "$out/logs"
if [ -n "${NESTED_L1:-}" ]; then
    # inside the nested harness's L1 (no compiler): the host built them into the payload
    for f in kvmtest.elf kvmtest-pvh.elf kvmtest.bzImage; do
        if [ ! -f "$out/$f" ]; then
            echo "run.sh: $out/$f missing in L1 (build the guests on the host first)" >&2
            echo "0 passed, 1 failed"
            exit 1
        fi
    done
elif ! make -s -C "$here" O="$out" >"$out/build.log" 2>&1; then
    cat "$out/build.log" >&2
    echo "run.sh: building the x86 test guests failed" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

kvm_why=""
if [ ! -e /dev/kvm ]; then
    kvm_why="no /dev/kvm on this host"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    kvm_why="/dev/kvm is not accessible to $(id -un)"
fi

for c in "${cases[@]}"; do
    IFS='|' read -r name kernel opts cmdline status must <<<"$c"
    status=${status:-0}
    if [ ${#want[@]} -gt 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then
        continue
    fi
    if [ -n "$kvm_why" ]; then
        echo "SKIP $name ($kvm_why)"
        skip=$((skip + 1))
        continue
    fi
    log=$out/logs/$name.log
    opts=${opts//@DISK@/$disk}
    [[ $name == virtio-blk ]] && make_disk
    read -r -a argv <<<"$opts"
    echo "\$ $vessel run --arch x86_64 --kernel $out/$kernel ${argv[*]} --append \"$cmdline\"" >"$log"
    timeout -k 5 "$timeout_s" "$vessel" run --arch x86_64 --kernel "$out/$kernel" "${argv[@]}" \
        --append "$cmdline" </dev/null >>"$log" 2>&1
    rc=$?
    if [[ $name == virtio-blk ]] && [ $rc -eq 0 ] && ! check_disk; then
        echo "FAIL $name (sector 1 of $disk does not hold what the guest wrote)"
        fail=$((fail + 1))
        continue
    fi
    if grep -qx 'ALL PASSED' <(tr -d '\r' <"$log") && [ $rc -eq "$status" ] &&
        { [ -z "$must" ] || grep -qF "$must" "$log"; }; then
        echo "PASS $name"
        pass=$((pass + 1))
        continue
    fi
    case $rc in
    124 | 137) why="timeout after ${timeout_s}s" ;;
    "$status") why="no ALL PASSED line${must:+ or no \"$must\"}" ;;
    *) why="vessel exit status $rc, expected $status" ;;
    esac
    echo "FAIL $name ($why; log: $log)"
    tr -d '\r' <"$log" | grep -E 'FAIL|vessel|kvm' | head -n 10 | sed 's/^/    /'
    tail -n 5 "$log" | sed 's/^/    | /'
    fail=$((fail + 1))
done

# Error paths of the command: one clear line and exit status 1.
check_error() { # name expected-substring args...
    local name=$1 expect=$2 msg rc
    shift 2
    if [ ${#want[@]} -gt 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then
        return
    fi
    msg=$("$vessel" run --arch x86_64 "$@" </dev/null 2>&1)
    rc=$?
    if [ $rc -eq 1 ] && [ "$(printf '%s\n' "$msg" | wc -l)" -eq 1 ] && [[ $msg == *"$expect"* ]]; then
        echo "PASS $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name (exit $rc, expected one line with \"$expect\"): $msg"
        fail=$((fail + 1))
    fi
}
check_error err-not-x86 "not an x86 kernel" --kernel "$here/guest.c"
check_error err-mem-range "out of range" --kernel "$out/kvmtest.elf" --mem 4M

if [ $skip -gt 0 ]; then
    echo "$skip skipped"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
