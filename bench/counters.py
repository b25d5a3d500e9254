#!/usr/bin/env python3
"""The cost of the metrics counters on the hot paths: two vessel binaries (built without and
with the counters) and QEMU in the same run.

Alternates BEFORE and AFTER (and QEMU once per round) over ROUNDS rounds of bench/disk.py (guest
sequential read and write of a raw virtio-blk disk, dd 1 MiB direct: the virtio-blk counters)
bench/boot.py (boot-to-init and an in-guest sha256 of 32 MiB: the rv64 instruction counter
per batch, the trap counters) and bench/cpu.sh (a bare-metal integer workload: guest MIPS,
where a per-batch counter would show first). Prints the best of each and the ratios after/before (1.00: no
cost) and vessel/qemu. Measures only; never asserts times.

Usage: bench/counters.py BEFORE_BIN AFTER_BIN [--rounds N] [--size MIB]
  e.g. git worktree add /tmp/v0 <commit before the counters> && make -C /tmp/v0 -j2
       bench/counters.py /tmp/v0/build/vessel build/vessel
"""

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script, binary, args):
    env = dict(os.environ, VESSEL_BIN=binary)
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", script)] + args, env=env,
                         capture_output=True, text=True, timeout=1800)
    return out.stdout + out.stderr


def run_sh(script, binary):
    env = dict(os.environ, VESSEL_BIN=binary)
    out = subprocess.run(["bash", os.path.join(ROOT, "bench", script)], env=env, capture_output=True,
                         text=True, timeout=1800)
    return out.stdout + out.stderr


def disk(text, vmm):
    m = re.search(r"^%s\s+([\d.]+)\s+([\d.]+)\s*$" % vmm, text, re.M)
    return (float(m.group(1)), float(m.group(2))) if m else None


def boot(text, vmm):
    col = {"vessel": 1, "qemu": 2}[vmm]
    res = {}
    for key, label in (("boot", "boot-to-init"), ("sha", "sha256 32 MiB")):
        m = re.search(r"^%s\s+(\S+) s\s+(\S+)" % re.escape(label), text, re.M)
        if m:
            try:
                res[key] = float(m.group(col).rstrip("s"))
            except ValueError:
                pass
    return res or None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    a = ap.parse_args()
    best = {}

    def keep(name, key, val, higher_better):
        cur = best.setdefault(name, {}).get(key)
        if val is not None and (cur is None or (val > cur if higher_better else val < cur)):
            best[name][key] = val

    for i in range(a.rounds):
        for name, binary, vmm in (("before", a.before, "both"), ("after", a.after, "vessel")):
            t = run("disk.py", binary, ["--vmm", vmm, "--size", str(a.size), "--runs", "2"])
            for who in (("vessel", name), ("qemu", "qemu")) if vmm == "both" else (("vessel", name),):
                d = disk(t, who[0])
                if d:
                    keep(who[1], "read MB/s", d[0], True)
                    keep(who[1], "write MB/s", d[1], True)
                else:
                    print("round %d %s disk: no result\n%s" % (i + 1, who[1], t[-600:]), flush=True)
            args = [] if vmm == "both" else ["--vmm", "vessel"]
            t = run("boot.py", binary, args)
            for who in (("vessel", name), ("qemu", "qemu")) if vmm == "both" else (("vessel", name),):
                b = boot(t, who[0])
                for k, label in (("boot", "boot-to-init s"), ("sha", "sha256 32 MiB s")):
                    keep(who[1], label, (b or {}).get(k), False)
            t = run_sh("cpu.sh", binary)
            for who in (("vessel", name), ("qemu", "qemu")) if vmm == "both" else (("vessel", name),):
                m = re.search(r"^%s\s+run 1:.*?([\d.]+) MIPS" % who[0], t, re.M)
                keep(who[1], "cpu MIPS", float(m.group(1)) if m else None, True)
        print("round %d: %s" % (i + 1, best), flush=True)
    print("\n%-18s %10s %10s %10s %13s %12s" % ("metric (best)", "before", "after", "qemu",
                                              "after/before", "after/qemu"))
    for k in ("read MB/s", "write MB/s", "boot-to-init s", "sha256 32 MiB s", "cpu MIPS"):
        b, f, q = (best.get(n, {}).get(k) for n in ("before", "after", "qemu"))
        ratio = "%.2f" % (f / b) if b and f else "-"
        rq = "%.2f" % (f / q) if q and f else "-"
        print("%-18s %10s %10s %10s %13s %12s" % (k, b or "-", f or "-", q or "-", ratio, rq))
    print("(MB/s, MIPS: higher is better; s: lower is better; after/before near 1.00: the counters cost "
          "nothing measurable)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
