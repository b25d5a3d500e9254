#!/usr/bin/env python3
"""The cost of the sandbox (docs/sandbox.md) on one riscv64 guest, with QEMU as the peer.

Configurations, in one run, each booted RUNS times in turn (interleaved, so that a busy host
hurts them alike): `vessel run` plain, `vessel run --seccomp`, `vessel run --jail` (root only),
and qemu-system-riscv64 -M virt. Each guest has one virtio-blk disk (SIZE MiB of random data,
raw) and 256 MiB of RAM. Measured:

  first byte   process start to the first console byte (the set-up before the guest runs:
               for the jail, namespaces, mounts, the uid drop and building the filters), in
               START_RUNS starts of its own (each VM killed at its first byte)
  ready        process start to the initramfs ready marker (boot)
  sha256       in the guest, `dd if=/dev/zero bs=1M count=32 | sha256sum` (vCPU work with
               timer and UART exits), host time between markers
  disk read    dd of the whole disk, 1 MiB blocks, iflag=direct (virtio-blk round trips through
               the device thread's allowed calls)
  disk write   the same, oflag=direct conv=fsync

Prints the median of each, the ratio to plain Vessel, and Vessel's to QEMU's. Measures only;
never asserts times.

Usage: bench/sandbox.py [--runs N] [--start-runs N] [--size MIB] [--no-qemu]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from guest import Guest, GuestError, vmm_command  # noqa: E402


def argv_for(conf, disk, jdir):
    if conf == "qemu":
        return vmm_command(vmm="qemu") + ["-drive", "file=%s,format=raw,if=none,id=d0,cache=none" % disk,
                                          "-device", "virtio-blk-device,drive=d0"]
    extra = ["--disk", "%s,format=raw" % disk]
    if conf == "seccomp":
        extra.append("--seccomp")
    if conf == "jail":
        extra += ["--jail", "--jail-dir", jdir]
    return vmm_command(vmm="vessel") + extra


def one(conf, disk, mib, jdir):
    g = Guest(argv_for(conf, disk, jdir), name="bench-sandbox-" + conf)
    r = {}
    try:
        g.start()
        g.expect(r"\S", 120)
        r["first byte"] = g.elapsed() * 1000
        g.expect_ready(300)
        r["ready"] = g.t_ready * 1000
        cmds = {"sha256": "dd if=/dev/zero bs=1M count=32 2>/dev/null | sha256sum",
                "disk read": "dd if=/dev/vda of=/dev/null bs=1M count=%d iflag=direct 2>/dev/null" % mib,
                "disk write": "dd if=/dev/zero of=/dev/vda bs=1M count=%d oflag=direct conv=fsync 2>/dev/null"
                              % mib}
        for what, cmd in cmds.items():
            out, st = g.run(cmd, 600)
            if st:
                raise GuestError("%r failed (%d): %s" % (cmd, st, out))
            r[what] = g.last_run_seconds * 1000 if what == "sha256" else mib * 1.048576 / g.last_run_seconds
        g.poweroff()
    except GuestError as e:
        print("bench: %s: %s (log: %s)" % (conf, e, g.save_log()), file=sys.stderr)
        g.kill()
        return None
    return r


def first_byte(conf, disk, jdir):
    """ms from process start to its first console byte (then the VM is killed)."""
    g = Guest(argv_for(conf, disk, jdir), name="bench-sandbox-start-" + conf)
    try:
        g.start()
        g.expect(r"[^\s]", 120)
        return g.elapsed() * 1000
    except GuestError:
        return None
    finally:
        g.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--start-runs", type=int, default=10)
    ap.add_argument("--size", type=int, default=64, help="disk size in MiB")
    ap.add_argument("--no-qemu", action="store_true")
    a = ap.parse_args()
    confs = ["plain", "seccomp"] + (["jail"] if os.geteuid() == 0 else [])
    if not a.no_qemu and shutil.which("qemu-system-riscv64"):
        confs.append("qemu")
    tmp = tempfile.mkdtemp(prefix="vessel-bench-sandbox-")
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.write(os.urandom(a.size << 20))
    res = {c: [] for c in confs}
    starts = {c: [] for c in confs}
    try:
        for i in range(a.start_runs):
            for c in confs:
                t = first_byte(c, disk, os.path.join(tmp, "jail"))
                if t is not None:
                    starts[c].append(t)
        for i in range(a.runs):
            for c in confs:
                r = one(c, disk, a.size, os.path.join(tmp, "jail"))
                if r:
                    res[c].append(r)
                time.sleep(1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    keys = [("first byte", "ms"), ("ready", "ms"), ("sha256", "ms"), ("disk read", "MB/s"), ("disk write", "MB/s")]
    med = {c: {k: statistics.median(x[k] for x in res[c]) for k, _ in keys} for c in confs if res[c]}
    for c in med:
        if starts[c]:
            med[c]["first byte"] = statistics.median(starts[c])
    print("%-12s %-5s" % ("", "") + "".join("%14s" % c for c in med) + "   vs plain (seccomp, jail)   vessel/qemu")
    for k, unit in keys:
        row = "%-12s %-5s" % (k, unit) + "".join("%14.1f" % med[c][k] for c in med)
        p = med.get("plain", {}).get(k)
        ratios = ["%.3f" % (med[c][k] / p) for c in ("seccomp", "jail") if c in med and p]
        row += "   %-26s" % ", ".join(ratios)
        if "qemu" in med and p:
            row += "   %.2f" % (p / med["qemu"][k])
        print(row)
    print("runs: %s; first byte: %s starts each, min %s ms (medians; times lower is better, "
          "MB/s higher)" % (", ".join("%s %d" % (c, len(res[c])) for c in confs), a.start_runs,
                            ", ".join("%s %.0f" % (c, min(starts[c])) for c in confs if starts[c])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
