#!/usr/bin/env python3
"""Benchmark of Debian disk images (issue 16): numbers, never assertions.

    bench/image.py [--image IMG --key KEY] [--runs N] [--build]

  - boot to SSH: a qcow2 overlay of the image booted from the disk alone, 2 vCPUs, 1 GiB,
    user networking with a port forward to the guest's port 22, the time from starting the
    VMM until `ssh root@127.0.0.1 true` succeeds, under `vessel run --arch riscv64 --disk`
    and under `qemu-system-riscv64 -M virt` with the same OpenSBI (fw_dynamic.bin) and U-Boot
    (u-boot.bin as OpenSBI's payload, QEMU's -kernel) - then `systemctl poweroff` over SSH;
  - with --build, the image build time: `vessel image build debian --arch riscv64` with its
    second stage in a Vessel VM and, the peer, in a QEMU VM (VESSEL_IMAGE_VMM=qemu), from the
    same cached packages; each step's time is shown too.
Default image: the one tests/integration/test_image.py built and cached (with its key).
Prints each run and the ratios vessel/qemu.
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import guest  # noqa: E402
import test_image  # noqa: E402

VESSEL = test_image.VESSEL


def vmm_argv(vmm, disk, port):
    fwd = "tcp:127.0.0.1:%d-:22" % port
    if vmm == "vessel":
        return [VESSEL, "run", "--arch", "riscv64", "--disk", disk, "--cpus", "2", "--mem", "1G",
                "--net", "user,hostfwd=" + fwd]
    return ["qemu-system-riscv64", "-M", "virt", "-m", "1G", "-smp", "2", "-nographic",
            "-bios", guest.artifact("fw_dynamic.bin"), "-kernel", guest.artifact("u-boot/u-boot.bin"),
            "-drive", "file=%s,format=qcow2,if=none,id=d0" % disk, "-device", "virtio-blk-device,drive=d0",
            "-netdev", "user,id=n0,hostfwd=" + fwd, "-device", "virtio-net-device,netdev=n0"]


def boot_to_ssh(vmm, img, key, tmp, n):
    disk = test_image.overlay(tmp, img, "%s-%d.qcow2" % (vmm, n))
    port = test_image.free_port()
    log = open(os.path.join(tmp, "%s-%d.log" % (vmm, n)), "wb")
    t0 = time.monotonic()
    p = subprocess.Popen(vmm_argv(vmm, disk, port), stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        secs = test_image.wait_ssh(port, key, lambda: p.poll() is None, test_image.BOOT_TIMEOUT)
        if secs is None:
            return None
        secs = time.monotonic() - t0
        try:
            test_image.ssh(port, key, "systemctl poweroff")
        except subprocess.TimeoutExpired:
            pass
        p.wait(timeout=600 * guest.timeout_scale())
        return secs
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.unlink(disk)


def build(vmm, tmp, key):
    out = os.path.join(tmp, "build-%s.qcow2" % vmm)
    env = dict(os.environ)
    if vmm == "qemu":
        env["VESSEL_IMAGE_VMM"] = "qemu"
    t0 = time.monotonic()
    p = subprocess.run([VESSEL, "image", "build", "debian", "-o", out, "--ssh-key", key + ".pub"]
                       + test_image.BUILD_OPTS, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    secs = time.monotonic() - t0
    # each step's time, from the build's log (the progress shows them only on a terminal)
    steps = []
    try:
        with open(os.path.join(guest.cache_dir(), "image", "last-build.log")) as f:
            steps = [ln.strip() for ln in f if ln.startswith("step ")]
    except OSError:
        pass
    if p.returncode != 0:
        steps.append(p.stdout.strip()[-400:])
    if os.path.exists(out):
        os.unlink(out)
    return (secs if p.returncode == 0 else None), steps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image")
    ap.add_argument("--key")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--build", action="store_true", help="also time image builds (long)")
    a = ap.parse_args()
    img, key = a.image, a.key
    if not img:
        found = sorted(glob.glob(os.path.join(guest.cache_dir(), "image", "test-riscv64", "*", "debian.qcow2")))
        if not found:
            sys.exit("no image: run tests/integration/test_image.py first, or give --image and --key")
        img, key = found[-1], os.path.join(os.path.dirname(found[-1]), "id_ed25519")
    print("image %s" % img)
    res = {"vessel": [], "qemu": []}
    with tempfile.TemporaryDirectory(prefix="vessel-bench-image-", dir=os.path.dirname(img)) as tmp:
        for n in range(a.runs):
            for vmm in ("vessel", "qemu"):
                s = boot_to_ssh(vmm, img, key, tmp, n)
                res[vmm].append(s)
                print("boot to SSH, %-6s run %d: %s" % (vmm, n + 1, "%.1f s" % s if s else "FAILED"), flush=True)
        builds = {}
        if a.build:
            for vmm in ("qemu", "vessel"):
                secs, steps = build(vmm, tmp, key)
                builds[vmm] = secs
                print("image build, second stage in %-6s: %s" % (vmm, "%.0f s" % secs if secs else "FAILED"),
                      flush=True)
                for s in steps:
                    print("    " + s, flush=True)
    v = [x for x in res["vessel"] if x]
    q = [x for x in res["qemu"] if x]
    if v and q:
        print("boot to SSH: vessel %.1f s, qemu %.1f s (best of %d), vessel/qemu %.2f"
              % (min(v), min(q), a.runs, min(v) / min(q)))
    if builds.get("vessel") and builds.get("qemu"):
        print("image build: vessel %.0f s, qemu %.0f s, vessel/qemu %.2f"
              % (builds["vessel"], builds["qemu"], builds["vessel"] / builds["qemu"]))


if __name__ == "__main__":
    main()
