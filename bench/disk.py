#!/usr/bin/env python3
"""Guest sequential disk throughput: Vessel against qemu-system-riscv64 -M virt.

Boots the cached riscv64 guest once per VMM with one virtio-blk disk (made here, SIZE MiB of
random data; raw, or with --format qcow2 a fully allocated qcow2 image converted from it by
qemu-img, so both VMMs read and write allocated clusters), then inside the guest: sequential read of the whole disk and
sequential write of the whole disk with dd, 1 MiB blocks, iflag/oflag=direct (page cache
bypassed). Time is the host time between the command's markers. Prints MB/s for each VMM and
the ratio vessel/qemu. Measures only; never asserts times.

Usage: bench/disk.py [--size MIB] [--runs N] [--vmm vessel|qemu|both] [--format raw|qcow2]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from guest import Guest, GuestError, vmm_command  # noqa: E402


def disk_args(vmm, path, fmt):
    if vmm == "qemu":
        return ["-drive", "file=%s,format=%s,if=none,id=d0,cache=none" % (path, fmt),
                "-device", "virtio-blk-device,drive=d0"]
    return ["--disk", "%s,format=%s" % (path, fmt)]


def measure(vmm, path, fmt, mib, runs):
    g = Guest(vmm_command(vmm=vmm, mem="512M") + disk_args(vmm, path, fmt),
              name="bench-disk-" + vmm)
    res = {"read": [], "write": []}
    try:
        g.start()
        g.expect_ready(180)
        cmds = {
            "read": "dd if=/dev/vda of=/dev/null bs=1M count=%d iflag=direct 2>/dev/null" % mib,
            "write": "dd if=/dev/zero of=/dev/vda bs=1M count=%d oflag=direct conv=fsync 2>/dev/null"
                     % mib,
        }
        for _ in range(runs):
            for what, cmd in cmds.items():
                out, st = g.run(cmd, 600)
                if st != 0:
                    raise GuestError("%s: %r failed (%d): %s" % (vmm, cmd, st, out))
                res[what].append(mib * 1.048576 / g.last_run_seconds)
        g.poweroff()
    except GuestError as e:
        print("bench: %s: %s (log: %s)" % (vmm, e, g.save_log()), file=sys.stderr)
        g.kill()
        return None
    return {k: max(v) for k, v in res.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64, help="disk size in MiB (default 64)")
    ap.add_argument("--runs", type=int, default=2, help="runs per direction; the best counts")
    ap.add_argument("--vmm", default="both", choices=["vessel", "qemu", "both"])
    ap.add_argument("--format", default="raw", choices=["raw", "qcow2"])
    a = ap.parse_args()
    vmms = ["vessel", "qemu"] if a.vmm == "both" else [a.vmm]
    tmp = tempfile.mkdtemp(prefix="vessel-bench-disk-")
    results = {}
    try:
        path = os.path.join(tmp, "disk.img")
        with open(path, "wb") as f:
            for _ in range(a.size):
                f.write(os.urandom(1 << 20))
        if a.format == "qcow2":
            raw, path = path, os.path.join(tmp, "disk.qcow2")
            subprocess.run(["qemu-img", "convert", "-O", "qcow2", raw, path], check=True)
            os.unlink(raw)
        for v in vmms:
            results[v] = measure(v, path, a.format, a.size, a.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("guest sequential disk throughput, %s, %d MiB, dd bs=1M direct (MB/s, best of %d)"
          % (a.format, a.size, a.runs))
    print("%-8s %10s %10s" % ("vmm", "read", "write"))
    for v in vmms:
        r = results[v]
        print("%-8s %10s %10s" % (v, "%.1f" % r["read"] if r else "error", "%.1f" % r["write"] if r else "error"))
    if results.get("vessel") and results.get("qemu"):
        print("%-8s %10.2f %10.2f" % ("ratio", results["vessel"]["read"] / results["qemu"]["read"],
                                     results["vessel"]["write"] / results["qemu"]["write"]))
        print("(ratio = vessel / qemu; above 1 means vessel is faster)")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
