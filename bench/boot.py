#!/usr/bin/env python3
"""Boot benchmark: the same riscv64 kernel, initramfs and OpenSBI under Vessel and QEMU.

VMMs: vessel-jit and vessel-interp (Vessel's rv64 engine on each tier, chosen with
VESSEL_RV64_TIER) and qemu (qemu-system-riscv64 -M virt, TCG). Each round boots every
VMM once, in turn, so that a change in the host's load hits all of them alike; the report
gives the median of the rounds and the spread (min-max).

Per boot: boot-to-init (host time from starting the VMM until the initramfs ready
marker), an in-guest CPU workload (sha256 of 32 MiB of zeros, host time between the
shell's begin and end markers; the digest is checked so a wrong result is reported),
300 forks (a shell loop running /bin/true 300 times: fork, exec, exit, wait), the
VMM process's CPU time (user + system) in each phase (less sensitive than wall time
to other work on the host), the VMM's peak RSS (ru_maxrss after exit), and its memory
overhead just before poweroff: its total Rss minus the resident part of the guest RAM
mapping, from /proc/PID/smaps (Vessel's RAM is the memfd mapping "memfd:vessel-ram";
QEMU's is the anonymous mapping of the guest RAM size). Vessel's JIT code cache is one
memfd mapped twice (writable and executable views of the same pages): it is counted once.
Ratios are against qemu. Measures only: never asserts a time. Exit status 1 only when a
run failed outright.
"""

import argparse
import hashlib
import os
import statistics
import sys

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from guest import Guest, GuestError, vmm_command  # noqa: E402

WORK_MIB = 32
WORK = "dd if=/dev/zero bs=1M count=%d 2>/dev/null | sha256sum" % WORK_MIB
WORK_SHA = hashlib.sha256(bytes(WORK_MIB << 20)).hexdigest()
FORKS = 300
FORK_LOOP = "i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done; echo forked $i" % FORKS
GUEST_MIB = 256  # guest.py's default --mem
VMMS = ["vessel-jit", "vessel-interp", "qemu"]


def vmm_overhead_kib(pid, vmm):
    """Total Rss of the process minus the Rss of its guest RAM mapping (KiB), or None."""
    total, ram, cur, skip, found = 0, 0, None, False, False
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                fields = line.split()
                if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
                    lo, hi = (int(x, 16) for x in fields[0].split("-"))
                    name = fields[5] if len(fields) > 5 else ""
                    size_mib = (hi - lo) >> 20
                    # the JIT's writable view: the same pages as its executable view
                    skip = "memfd:vessel-jit" in name and "x" not in fields[1]
                    if vmm == "vessel":
                        cur = "memfd:vessel-ram" in name
                    else:  # QEMU: an anonymous mapping of the RAM size (plus alignment slack)
                        cur = name == "" and GUEST_MIB <= size_mib <= GUEST_MIB + 4
                elif fields[0] == "Rss:" and not skip:
                    total += int(fields[1])
                    if cur:
                        ram += int(fields[1])
                        found = True
    except OSError:
        return None
    return total - ram if found else None


def cpu_seconds(pid):
    """User + system CPU time of a live process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_once(name, cpus, firmware, i):
    vmm = "vessel" if name.startswith("vessel") else name
    if name.startswith("vessel-"):
        os.environ["VESSEL_RV64_TIER"] = name.split("-", 1)[1]
    g = Guest(vmm_command(cpus=cpus, firmware=firmware, vmm=vmm), name="bench-%s-%d" % (name, i))
    try:
        with g:
            g.expect_ready(600)
            c0 = cpu_seconds(g.proc.pid)
            out, st = g.run(WORK, 1800)
            work = g.last_run_seconds
            if st != 0 or out.split()[:1] != [WORK_SHA]:
                raise GuestError("workload gave %r (status %d), want %s" % (out.strip(), st, WORK_SHA))
            c1 = cpu_seconds(g.proc.pid)
            out, st = g.run(FORK_LOOP, 1800)
            forks = g.last_run_seconds
            if st != 0 or ("forked %d" % FORKS) not in out:
                raise GuestError("fork loop gave %r (status %d)" % (out.strip(), st))
            c2 = cpu_seconds(g.proc.pid)
            hwm = g.peak_rss_kib()
            overhead = vmm_overhead_kib(g.proc.pid, vmm)
            rc = g.poweroff(120)
            if rc != 0:
                raise GuestError("VMM exit status %s after poweroff" % rc)
        r = {"boot": g.t_ready, "work": work, "forks": forks, "boot_cpu": c0, "work_cpu": c1 - c0,
             "forks_cpu": c2 - c1, "rss": g.peak_rss_kib() or hwm}
        if overhead is not None:
            r["overhead"] = overhead
    except GuestError as e:
        print("%-13s run %d FAILED: %s (console log: %s)" % (name, i + 1, e, g.save_log()), flush=True)
        return None
    finally:
        os.environ.pop("VESSEL_RV64_TIER", None)
    print("%-13s run %d: boot-to-init %.2fs (cpu %.2fs), sha256 %d MiB %.2fs (cpu %.2fs), %d forks %.2fs "
          "(cpu %.2fs), peak RSS %.1f MiB, VMM overhead %s"
          % (name, i + 1, r["boot"], r["boot_cpu"], WORK_MIB, r["work"], r["work_cpu"], FORKS, r["forks"],
             r["forks_cpu"], r["rss"] / 1024,
             "%.1f MiB" % (r["overhead"] / 1024) if "overhead" in r else "n/a"), flush=True)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--firmware", default="fw_dynamic.bin")
    ap.add_argument("--runs", type=int, default=1, help="rounds (every VMM boots once per round)")
    ap.add_argument("--vmm", action="append", choices=VMMS + ["vessel"],
                    help="default: vessel-jit, vessel-interp and qemu; vessel: the default tier")
    a = ap.parse_args()
    vmms = a.vmm or VMMS
    print("bench: riscv64 guest, %d hart(s), 256M, %s, %d round(s)" % (a.cpus, a.firmware, a.runs), flush=True)
    res = {v: [] for v in vmms}
    failed = set()
    for i in range(a.runs):
        for v in vmms:
            if v in failed:
                continue
            r = measure_once(v, a.cpus, a.firmware, i)
            if r is None:
                failed.add(v)
            else:
                res[v].append(r)

    def med(v, k):
        vals = [r[k] for r in res.get(v, []) if k in r]
        return statistics.median(vals) if vals else None

    def spread(v, k):
        vals = [r[k] for r in res.get(v, []) if k in r]
        return (min(vals), max(vals)) if vals else None

    metrics = (("boot", "boot-to-init", "s", 1.0), ("boot_cpu", "  cpu time", "s", 1.0),
               ("work", "sha256 %d MiB" % WORK_MIB, "s", 1.0), ("work_cpu", "  cpu time", "s", 1.0),
               ("forks", "%d forks" % FORKS, "s", 1.0), ("forks_cpu", "  cpu time", "s", 1.0),
               ("rss", "peak RSS", "MiB", 1024.0), ("overhead", "VMM overhead", "MiB", 1024.0))
    print("\nmedians of %d round(s), [min-max]; ratios against qemu" % a.runs)
    print("%-16s" % "metric" + "".join("%34s" % v for v in vmms))
    for k, label, unit, scale in metrics:
        line = "%-16s" % label
        for v in vmms:
            m, s, q = med(v, k), spread(v, k), med("qemu", k)
            if m is None:
                line += "%34s" % "n/a"
                continue
            cell = "%.2f %s [%.2f-%.2f]" % (m / scale, unit, s[0] / scale, s[1] / scale)
            if v != "qemu" and q:
                cell += " %.2fx" % (m / q)
            line += "%34s" % cell
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
