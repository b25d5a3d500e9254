#!/usr/bin/env python3
"""Integration tests: Debian's riscv64 Linux + OpenSBI booting the Vessel test initramfs.

Each boot serves several checks (boots are expensive under emulation). Every check
compares output computed inside the guest with a value known on the host. Prints
one PASS/FAIL line per check and ends with "N passed, N failed"; exits 1 on any
failure. On a failing boot the whole console log is saved under build/test-logs/.

Usage: tests/integration/test_riscv.py [-k SUBSTRING] [--list]
VMM selection and timeouts: see guest.py (VESSEL_VMM=qemu for the reference peer).
"""

import argparse
import hashlib
import os
import sys

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import Guest, GuestError, ScopedResults, artifact, vmm_command, vmm_name  # noqa: E402

BOOT_TIMEOUT = 120  # per boot, until the ready marker (scaled by VESSEL_TIMEOUT_SCALE)
CMD_TIMEOUT = 60


def seq_sha256(n):
    return hashlib.sha256("".join("%d\n" % i for i in range(1, n + 1)).encode()).hexdigest()




def expected_kernel_release():
    try:
        with open(artifact("kernel-version")) as f:
            return f.read().strip()
    except OSError:
        return None


def check_basics(g, r, name, cpus):
    out, st = g.run("echo $((6*7))", CMD_TIMEOUT)
    r.check(name, "arithmetic echo $((6*7))", st == 0 and out.strip() == "42", "got %r status %d" % (out, st))

    want = expected_kernel_release()
    out, st = g.run("uname -r", CMD_TIMEOUT)
    r.check(name, "uname -r is the fetched kernel", st == 0 and out.strip() == want,
            "got %r, want %r" % (out.strip(), want))

    want = seq_sha256(100000)
    out, st = g.run("seq 1 100000 | sha256sum", CMD_TIMEOUT)
    got = out.split()[0] if out.split() else ""
    r.check(name, "sha256sum of seq 1 100000 matches the host", st == 0 and got == want,
            "got %r, want %s" % (out.strip(), want))

    out, st = g.run("nproc; grep -c ^processor /proc/cpuinfo", CMD_TIMEOUT)
    r.check(name, "nproc and /proc/cpuinfo show %d hart(s)" % cpus,
            st == 0 and out.split() == [str(cpus), str(cpus)], "got %r" % out)

    out, st = g.run("lsmod | grep -c '^virtio_\\(mmio\\|blk\\|net\\|rng\\|balloon\\) '", CMD_TIMEOUT)
    r.check(name, "the 5 default virtio modules are loaded", out.strip() == "5", "got %r" % out)


def cpu_ticks(stat_text, cpu):
    for line in stat_text.splitlines():
        f = line.split()
        if f and f[0] == "cpu%d" % cpu:
            return int(f[1]) + int(f[2]) + int(f[3])  # user + nice + system
    return None


def check_smp(g, r, name, cpus):
    """One pinned worker per hart, all at once: each hashes different data and reports the
    hart it ran on; every hart's busy ticks in /proc/stat must grow."""
    n = 60000
    cmd = ("grep '^cpu[0-9]' /proc/stat >/tmp/s0; "
           "for c in $(seq 0 %d); do taskset -c $c sh -c "
           "'echo $(seq 1 $((%d+$1)) | sha256sum) cpu=$(cut -d\" \" -f39 /proc/self/stat) >/tmp/w$1' sh $c & done; "
           "wait; grep '^cpu[0-9]' /proc/stat >/tmp/s1; cat /tmp/w*; echo ==; cat /tmp/s0; echo ==; cat /tmp/s1"
           % (cpus - 1, n))
    out, st = g.run(cmd, CMD_TIMEOUT * 3)
    parts = out.split("==\n")
    if not r.check(name, "parallel pinned workers ran", st == 0 and len(parts) == 3, "got %r status %d" % (out, st)):
        return
    workers, s0, s1 = parts
    lines = sorted(workers.strip().splitlines(), key=lambda s: s.split("cpu=")[-1])
    want = ["%s - cpu=%d" % (seq_sha256(n + c), c) for c in range(cpus)]
    r.check(name, "each of %d workers hashed its data on its own hart" % cpus, lines == want,
            "got %r, want %r" % (lines, want))
    deltas = [(cpu_ticks(s1, c) or 0) - (cpu_ticks(s0, c) or 0) for c in range(cpus)]
    r.check(name, "every hart's busy ticks grew (%s)" % deltas, all(d > 0 for d in deltas), "")


def check_jobs(g, r, name):
    """Two background busy shells under job control; `jobs` sees them, `wait` collects both."""
    out, st = g.run("(i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; echo a$i) & "
                    "(i=0; while [ $i -lt 4000 ]; do i=$((i+1)); done; echo b$i) & "
                    "jobs | wc -l; wait; echo done", CMD_TIMEOUT * 2)
    toks = out.split()
    r.check(name, "two background shells under job control", st == 0 and len(toks) == 4 and toks[0] == "2"
            and sorted(toks[1:3]) == ["a3000", "b4000"] and toks[3] == "done", "got %r" % out)


def check_reboot(g, r, name, cpus):
    """`reboot -f` restarts the guest in the same VMM process: firmware banner, ready marker, shell."""
    if vmm_name() != "vessel":  # guest.py runs QEMU with -no-reboot
        return
    t_reboot = g.elapsed()
    g.sendline("reboot -f")
    g.expect(r"OpenSBI v\d", BOOT_TIMEOUT)
    kver, ncpu = g.expect_ready(BOOT_TIMEOUT)
    r.check(name, "reboot -f: firmware banner and ready marker again (%d hart(s))" % cpus,
            ncpu == cpus and kver == expected_kernel_release() and g.proc.poll() is None,
            "marker says %s, %d cpus" % (kver, ncpu))
    out, st = g.run("echo $((7*6)); cat /proc/uptime", CMD_TIMEOUT)
    since = g.elapsed() - t_reboot
    toks = out.split()
    r.check(name, "after reboot: the shell works and the guest's uptime counts from the reboot (< %.1fs)" % since,
            st == 0 and len(toks) >= 2 and toks[0] == "42" and float(toks[1]) < since,
            "got %r status %d" % (out, st))


def boot(r, name, cpus, firmware, smp=False, reboot=False):
    try:
        argv = vmm_command(cpus=cpus, firmware=firmware)
    except GuestError as e:
        r.check(name, "boot", False, str(e))
        return
    g = Guest(argv, name="%s-%s" % (vmm_name(), name))
    failed_before = r.failed
    try:
        with g:
            kver, ncpu = g.expect_ready(BOOT_TIMEOUT)
            print("INFO %s: ready marker after %.2fs (%s)" % (name, g.t_ready, vmm_name()), flush=True)
            r.check(name, "boot to the ready marker with %d hart(s) (%s)" % (cpus, firmware),
                    ncpu == cpus and kver == expected_kernel_release(), "marker says %s, %d cpus" % (kver, ncpu))
            check_basics(g, r, name, cpus)
            if smp:
                check_smp(g, r, name, cpus)
                check_jobs(g, r, name)
            if reboot:
                check_reboot(g, r, name, cpus)
            rc = g.poweroff(CMD_TIMEOUT)
            r.check(name, "poweroff -f: VMM exit status 0", rc == 0, "exit status %s" % rc)
    except GuestError as e:
        r.check(name, "guest session", False, str(e))
    if r.failed > failed_before:
        print("     console log: %s" % g.save_log(), flush=True)


BOOTS = [
    ("rv64-1hart-fw_dynamic", dict(cpus=1, firmware="fw_dynamic.bin", reboot=True)),
    ("rv64-2harts-fw_dynamic", dict(cpus=2, firmware="fw_dynamic.bin", smp=True)),
    ("rv64-2harts-fw_jump", dict(cpus=2, firmware="fw_jump.bin")),
]


def main():
    ap = argparse.ArgumentParser(description="riscv64 Linux integration tests")
    ap.add_argument("-k", default="", help="run only boots whose name contains this")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    r = ScopedResults()
    for name, kw in BOOTS:
        if a.k in name:
            if a.list:
                print(name)
            else:
                boot(r, name, **kw)
    if a.list:
        return 0
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
