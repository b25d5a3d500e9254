#!/usr/bin/env python3
"""Boot benchmark: the same riscv64 kernel, initramfs and OpenSBI under Vessel and QEMU.

Per VMM: boot-to-init (host time from starting the VMM until the initramfs ready
marker), an in-guest CPU workload (sha256 of 32 MiB of zeros, host time between the
shell's begin and end markers; the digest is checked so a wrong result is reported),
the VMM's peak RSS (ru_maxrss after exit), and the VMM's memory overhead just before
poweroff: its total Rss minus the resident part of the guest RAM mapping, from
/proc/PID/smaps (Vessel's RAM is the memfd mapping "memfd:vessel-ram"; QEMU's is the
anonymous mapping of the guest RAM size). Prints both and the ratios vessel/qemu.
Measures only: never asserts a time. Exit status 1 only when a run failed outright.
"""

import argparse
import hashlib
import os
import sys

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from guest import Guest, GuestError, vmm_command  # noqa: E402

WORK_MIB = 32
WORK = "dd if=/dev/zero bs=1M count=%d 2>/dev/null | sha256sum" % WORK_MIB
WORK_SHA = hashlib.sha256(bytes(WORK_MIB << 20)).hexdigest()
GUEST_MIB = 256  # guest.py's default --mem


def vmm_overhead_kib(pid, vmm):
    """Total Rss of the process minus the Rss of its guest RAM mapping (KiB), or None."""
    total, ram, cur, found = 0, 0, None, False
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                fields = line.split()
                if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
                    lo, hi = (int(x, 16) for x in fields[0].split("-"))
                    name = fields[5] if len(fields) > 5 else ""
                    size_mib = (hi - lo) >> 20
                    if vmm == "vessel":
                        cur = "memfd:vessel-ram" in name
                    else:  # QEMU: an anonymous mapping of the RAM size (plus alignment slack)
                        cur = name == "" and GUEST_MIB <= size_mib <= GUEST_MIB + 4
                elif fields[0] == "Rss:":
                    total += int(fields[1])
                    if cur:
                        ram += int(fields[1])
                        found = True
    except OSError:
        return None
    return total - ram if found else None


def measure(vmm, cpus, firmware, runs):
    best = {}
    for i in range(runs):
        g = Guest(vmm_command(cpus=cpus, firmware=firmware, vmm=vmm), name="bench-%s-%d" % (vmm, i))
        try:
            with g:
                g.expect_ready(600)
                out, st = g.run(WORK, 1800)
                work = g.last_run_seconds
                if st != 0 or out.split()[:1] != [WORK_SHA]:
                    raise GuestError("workload gave %r (status %d), want %s" % (out.strip(), st, WORK_SHA))
                hwm = g.peak_rss_kib()
                overhead = vmm_overhead_kib(g.proc.pid, vmm)
                rc = g.poweroff(120)
                if rc != 0:
                    raise GuestError("VMM exit status %s after poweroff" % rc)
            r = {"boot": g.t_ready, "work": work, "rss": g.peak_rss_kib() or hwm}
            if overhead is not None:
                r["overhead"] = overhead
        except GuestError as e:
            print("%-7s run %d FAILED: %s (console log: %s)" % (vmm, i + 1, e, g.save_log()), flush=True)
            return None
        print("%-7s run %d: boot-to-init %.2fs, sha256 %d MiB %.2fs, peak RSS %.1f MiB, VMM overhead %s"
              % (vmm, i + 1, r["boot"], WORK_MIB, r["work"], r["rss"] / 1024,
                 "%.1f MiB" % (r["overhead"] / 1024) if "overhead" in r else "n/a"), flush=True)
        for k, v in r.items():  # best of the runs: least noise from the host
            best[k] = min(best.get(k, v), v)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--firmware", default="fw_dynamic.bin")
    ap.add_argument("--runs", type=int, default=1, help="boots per VMM; the best is reported")
    ap.add_argument("--vmm", action="append", choices=["vessel", "qemu"], help="default: both")
    a = ap.parse_args()
    vmms = a.vmm or ["vessel", "qemu"]
    print("bench: riscv64 guest, %d hart(s), 256M, %s, %d run(s) each" % (a.cpus, a.firmware, a.runs), flush=True)
    res = {}
    for v in vmms:
        try:
            res[v] = measure(v, a.cpus, a.firmware, a.runs)
        except GuestError as e:
            print("%-7s FAILED: %s" % (v, e), flush=True)
            res[v] = None

    def fmt(r, k, unit, scale=1.0):
        return "%10s" % ("%.2f %s" % (r[k] / scale, unit) if r and k in r else "n/a")

    print("\n%-22s %10s %10s %14s" % ("metric", "vessel", "qemu", "vessel/qemu"))
    for k, label, unit, scale in (("boot", "boot-to-init", "s", 1.0),
                                  ("work", "sha256 %d MiB" % WORK_MIB, "s", 1.0),
                                  ("rss", "peak RSS", "MiB", 1024.0),
                                  ("overhead", "VMM overhead", "MiB", 1024.0)):
        rv, rq = res.get("vessel"), res.get("qemu")
        ratio = "%.2fx" % (rv[k] / rq[k]) if rv and rq and rq.get(k) and k in rv else "n/a"
        print("%-22s %s %s %14s" % (label, fmt(rv, k, unit, scale), fmt(rq, k, unit, scale), ratio))
    return 0 if all(res.get(v) for v in vmms) else 1


if __name__ == "__main__":
    sys.exit(main())
