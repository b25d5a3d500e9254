#!/usr/bin/env python3
"""Snapshot and restore against guest RAM size (issue 5, item 6).

For each RAM size: boot the cached riscv64 guest under `vessel run` (cold boot-to-ready is the
peer: what a restore saves), fill a quarter of the guest's free memory in /dev/shm (guest
pages in use, as in a working guest), snapshot it over --api-socket with then=stop, and restore it with
`vessel run --restore`. Prints per size: boot-to-ready, snapshot pause time ({"ms"} of the
reply), file size, restore-to-first-instruction (vessel's "restored ... in N ms" line),
restore-to-first-answer (a shell command answered by the restored guest, host time from exec),
the restored VMM's RSS at that point (lazy copy-on-write RAM keeps it small), and the ratio
restore-to-answer / cold boot. Restore should stay flat as RAM grows. Measures only: never
asserts a time. Exit status 1 only when a run failed outright. (64 MiB is too small for the
Debian kernel and initramfs to reach the shell, so the default sizes start at 128 MiB.)

Clone density (--clones N, default 8; 0 skips it): one --clone-mib guest (default 256) is
snapshotted and N `vessel run --restore --clone` VMs are started from the file; once each
answers a shell command, every clone's Pss and private memory (smaps_rollup) is read. Clones
per GiB of host RAM = 1024 / mean Pss. The peer, in the same run: qemu-system-riscv64 booting
the same guest with the same RAM, measured (RSS and Pss) at its shell prompt; each QEMU VM costs
that much, so the ratio is Vessel clones per GiB over QEMU VMs per GiB.

    bench/snapshot.py [--sizes 128,256,512,1024] [--clones 8] [--clone-mib 256] [--keep DIR]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from guest import Guest, GuestError, api, vmm_command  # noqa: E402

VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")




def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rollup_kib(pid):
    """{field: KiB} of /proc/PID/smaps_rollup (Rss, Pss, Private_Dirty, ...)."""
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        pass
    return out


def clone_density(n, mib, tmp):
    sock = os.path.join(tmp, "api-clones.sock")
    snap = os.path.join(tmp, "clones.snap")
    g = Guest(vmm_command(mem="%dM" % mib) + ["--rng", "--api-socket", sock], name="bench-clone-src")
    with g:
        g.expect_ready(timeout=300)
        src = rollup_kib(g.proc.pid)
        rep = api(sock, {"snapshot": {"path": snap, "then": "stop"}}, timeout=600)
        if not rep.get("ok"):
            raise GuestError("snapshot failed: %r" % rep)
        g.wait_exit(60)
    clones, rows = [], []
    try:
        for i in range(n):
            c = Guest([VESSEL, "run", "--restore", snap, "--clone", "--rng"], name="bench-clone-%d" % i)
            clones.append(c)
            c.start()
            c.expect(r"vessel: clone", 60)
            c.sendline("")
            c.run("echo answered", timeout=120)
        for c in clones:  # every clone is at its prompt: measure them all at the same moment
            rows.append(rollup_kib(c.proc.pid))
    finally:
        for c in clones:
            c.kill()
    os.unlink(snap)
    q = Guest(vmm_command(mem="%dM" % mib, vmm="qemu"), name="bench-clone-qemu")
    with q:
        q.expect_ready(timeout=600)
        q.run("echo answered", timeout=120)
        qemu = rollup_kib(q.proc.pid)
    return {"n": n, "mib": mib, "src": src, "clones": rows, "qemu": qemu}


def print_density(d):
    mean = lambda key: sum(r.get(key, 0) for r in d["clones"]) / max(len(d["clones"]), 1) / 1024  # noqa: E731
    private = [(r.get("Private_Dirty", 0) + r.get("Private_Clean", 0)) / 1024 for r in d["clones"]]
    pss = mean("Pss")
    q_rss, q_pss = d["qemu"].get("Rss", 0) / 1024, d["qemu"].get("Pss", 0) / 1024
    print()
    print("clone density: %d clones of one %d MiB guest (vessel run --restore --clone), each at its prompt"
          % (d["n"], d["mib"]))
    print("  the snapshotted VM before the snapshot: RSS %.1f MiB" % (d["src"].get("Rss", 0) / 1024))
    print("  per clone: Pss %s MiB" % " ".join("%.1f" % (r.get("Pss", 0) / 1024) for r in d["clones"]))
    print("  per clone: private (dirty+clean) %s MiB" % " ".join("%.1f" % x for x in private))
    print("  mean per clone: Pss %.1f MiB, private %.1f MiB, RSS %.1f MiB (shared pages counted in full)"
          % (pss, sum(private) / max(len(private), 1), mean("Rss")))
    print("  qemu-system-riscv64, the same guest booted: RSS %.1f MiB, Pss %.1f MiB" % (q_rss, q_pss))
    per_gib_v = 1024 / pss if pss else 0
    per_gib_q = 1024 / q_pss if q_pss else 0
    print("  VMs per GiB of host RAM: vessel clones %.1f, qemu %.1f, ratio %.1fx"
          % (per_gib_v, per_gib_q, per_gib_v / per_gib_q if per_gib_q else 0))


def one_size(mib, tmp):
    sock = os.path.join(tmp, "api-%d.sock" % mib)
    snap = os.path.join(tmp, "vm-%d.snap" % mib)
    res = {"mib": mib}
    g = Guest(vmm_command(mem="%dM" % mib) + ["--api-socket", sock], name="bench-snap-%d" % mib)
    with g:
        g.expect_ready(timeout=300)
        res["boot_s"] = g.t_ready
        # Use a quarter of the free memory (/dev/zero: the emulated guest's urandom is slow).
        out, _ = g.run("awk '/MemFree/ {print int($2/4096)}' /proc/meminfo")
        fill = max(int(out.strip() or "0"), 1)
        g.run("dd if=/dev/zero of=/dev/shm/fill bs=1M count=%d 2>/dev/null; echo filled" % fill,
              timeout=600)
        res["dirty_mib"] = fill
        rep = api(sock, {"snapshot": {"path": snap, "then": "stop"}}, timeout=600)
        if not rep.get("ok"):
            raise GuestError("snapshot failed: %r" % rep)
        res["snap_ms"] = rep["ms"]
        g.wait_exit(60)
    res["file_mib"] = os.path.getsize(snap) / 2**20
    r = Guest([VESSEL, "run", "--restore", snap], name="bench-restore-%d" % mib)
    with r:
        m = r.expect(r"vessel: restored \S+ in ([0-9.]+) ms", 60)
        res["restore_ms"] = float(m.group(1))
        t0 = time.monotonic()
        r.run("echo restored", timeout=60)
        res["answer_ms"] = (r.elapsed()) * 1000
        res["answer_rtt_ms"] = (time.monotonic() - t0) * 1000
        res["rss_mib"] = rss_kib(r.proc.pid) / 1024
        r.kill()
    os.unlink(snap)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="128,256,512,1024", help="guest RAM sizes in MiB")
    ap.add_argument("--clones", type=int, default=8, help="clones for the density run (0: skip it)")
    ap.add_argument("--clone-mib", type=int, default=256, help="RAM of the cloned guest in MiB")
    ap.add_argument("--keep", help="directory for the state files (default: a temporary one)")
    args = ap.parse_args()
    density = None
    tmp = args.keep or tempfile.mkdtemp(prefix="vessel-bench-snap-")
    os.makedirs(tmp, exist_ok=True)
    rows, failed = [], False
    try:
        for mib in [int(x) for x in args.sizes.split(",") if x]:
            try:
                rows.append(one_size(mib, tmp))
                print("done %d MiB: %r" % (mib, rows[-1]), flush=True)
            except GuestError as e:
                print("FAILED %d MiB: %s" % (mib, e), flush=True)
                failed = True
        if args.clones > 0:
            try:
                density = clone_density(args.clones, args.clone_mib, tmp)
            except GuestError as e:
                print("FAILED clone density: %s" % e, flush=True)
                failed = True
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("%8s %9s %9s %11s %9s %12s %12s %9s %14s" % ("RAM MiB", "boot s", "used MiB", "snapshot ms",
                                                        "file MiB", "restore ms", "answer ms", "RSS MiB",
                                                        "answer/boot"))
    for x in rows:
        print("%8d %9.2f %9d %11.0f %9.0f %12.2f %12.0f %9.0f %14.4f"
              % (x["mib"], x["boot_s"], x["dirty_mib"], x["snap_ms"], x["file_mib"], x["restore_ms"],
                 x["answer_ms"], x["rss_mib"], x["answer_ms"] / 1000 / x["boot_s"]))
    print("restore ms: vessel run --restore to just before the first guest instruction; answer ms: from exec to "
          "the restored guest's shell answering a command (includes its console round trip)")
    if density:
        print_density(density)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
