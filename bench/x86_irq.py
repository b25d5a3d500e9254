#!/usr/bin/env python3
"""x86-64 interrupt-path benchmark: virtio-blk completions with MSI-X against INTx, under Vessel
and under QEMU (-M q35 -enable-kvm, virtio-blk-pci) on the same KVM, in the same run.

Each VMM boots Debian's x86-64 cloud kernel with the test initramfs (scripts/fetch-guest.sh
--x86), 1 vCPU, 256M and a 64 MiB raw disk, twice, side by side: as is (the virtio-pci driver enables MSI-X:
one vector per queue) and with `pci=nomsi` (INTx through the IOAPIC, level-triggered, the ISR
read by the driver at every interrupt). In the guest:

    dd if=/dev/vda of=/dev/null bs=4096 count=N iflag=direct

one request and one completion interrupt per 4 KiB read (the disk is in the host's page cache,
so the device side is a memcpy and the interrupt path dominates). Reported per VMM and mode: the
time per request from the guest's clock (/proc/uptime around dd, median of --runs), the
interrupts the disk's lines took per request (from /proc/interrupts), the kind of those lines
(PCI-MSI or IO-APIC) and, where the host's KVM statistics are in debugfs (inside L1 the bench
mounts it), the VM exits per request: all of them, and those to the VMM for MMIO and port I/O -
the part of the interrupt path that does not depend on the machine's load. The two modes of a
VMM run side by side and are measured in turns, so that both see the same load. Then the
ratios INTx / MSI-X and Vessel / QEMU.

Where the host has no vmx/svm (this project's machines) it runs inside L1 under QEMU TCG with
emulated AMD SVM (tests/nested/nested.py, the image with qemu-system-x86_64 in it): every L2
exit is then an emulated #VMEXIT into an emulated L1 KVM, so the absolute figures carry TCG's
cost and only the ratios within one run say something.

    bench/x86_irq.py [--runs N] [--requests N] [--direct|--nested]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "nested"))
from guest import Guest, GuestError, cache_dir  # noqa: E402
import nested  # noqa: E402

ART = os.path.join(cache_dir(), "x86_64")
KERNEL, INITRD = os.path.join(ART, "bzImage"), os.path.join(ART, "initramfs.cpio.gz")
APPEND = "console=ttyS0 panic=-1 quiet"
VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
DISK_MIB = 64


def argv(vmm, mode, disk):
    append = APPEND + (" pci=nomsi" if mode == "intx" else "")
    if vmm == "vessel":
        return [VESSEL, "run", "--arch", "x86_64", "--kernel", KERNEL, "--initrd", INITRD, "--mem", "256M",
                "--cpus", "1", "--append", append, "--disk", disk]
    return [nested.qemu_bin() or "qemu-system-x86_64", "-M", "q35", "-enable-kvm", "-cpu", "host", "-m", "256M",
            "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", KERNEL, "-initrd", INITRD, "-append", append,
            "-drive", "if=none,id=d0,format=raw,file=" + disk, "-device", "virtio-blk-pci,drive=d0"]


def sh(g, cmd, timeout=600):
    out, st = g.run(cmd, timeout)
    if st != 0:
        raise GuestError("`%s` exited %d: %r" % (cmd, st, out[-300:]))
    return out


def disk_irqs(g):
    """(interrupt count, the kinds of the lines) of the disk's virtio function (/dev/vda's)."""
    dev = sh(g, "basename $(readlink /sys/block/vda/device)").strip()  # e.g. virtio0
    total, kinds = 0, set()
    for line in sh(g, "cat /proc/interrupts").splitlines():
        m = re.match(r"\s*\d+:\s+((?:\d+\s+)+)(\S+)\s+\S+\s+(.*)$", line)
        if m and re.search(r"\b%s\b" % re.escape(dev), m.group(3)):
            if "-config" in m.group(3):
                continue
            total += sum(int(x) for x in m.group(1).split())
            kinds.add("PCI-MSI" if m.group(2).startswith("PCI-MSI") else m.group(2))
    return total, kinds


KVM_DEBUGFS = "/sys/kernel/debug/kvm"
COUNTERS = ("exits", "mmio_exits", "io_exits", "irq_injections")


def kvm_counters(pid):
    """The host KVM's statistics of the VM of VMM process pid (debugfs: PID-FD/...), or None."""
    try:
        dirs = [d for d in os.listdir(KVM_DEBUGFS) if d.startswith("%d-" % pid)]
    except OSError:
        return None
    if len(dirs) != 1:
        return None
    out = {}
    for c in COUNTERS:
        try:
            with open(os.path.join(KVM_DEBUGFS, dirs[0], c)) as f:
                out[c] = int(f.read())
        except (OSError, ValueError):
            return None
    return out


def mount_debugfs():
    if not os.path.isdir(KVM_DEBUGFS) and os.geteuid() == 0:
        subprocess.run(["mount", "-t", "debugfs", "debugfs", "/sys/kernel/debug"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return os.path.isdir(KVM_DEBUGFS)


def boot(vmm, mode, disk):
    g = Guest(argv(vmm, mode, disk), name="x86irq-%s-%s" % (vmm, mode))
    g.start()
    return g


def one_run(g, requests):
    """(us per request, interrupts per request, line kinds, KVM counters per request or None)."""
    n0, _kinds = disk_irqs(g)
    k0 = kvm_counters(g.proc.pid)
    # one command: the guest's clock right around dd
    t0, t1 = (float(x) for x in sh(
        g, "a=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/vda of=/dev/null bs=4096 count=%d "
           "iflag=direct 2>/dev/null; b=$(cut -d' ' -f1 /proc/uptime); echo $a $b" % requests).split())
    k1 = kvm_counters(g.proc.pid)
    n1, kinds = disk_irqs(g)
    kc = {c: (k1[c] - k0[c]) / requests for c in COUNTERS} if k0 and k1 else None
    return (t1 - t0) / requests * 1e6, (n1 - n0) / requests, kinds, kc


def measure(vmm, disk, runs, requests):
    """Both modes of one VMM booted side by side and measured in turns (so that both see the
    same load): {mode: (median us/request, irqs/request, kinds, median KVM counters/request)}."""
    gs = {}
    res = {}
    try:
        for mode in ("msix", "intx"):
            gs[mode] = boot(vmm, mode, "%s.%s" % (disk, mode))  # one disk each: no shared image
        for mode, g in gs.items():
            g.expect_ready(600)
            sh(g, "dd if=/dev/vda of=/dev/null bs=4096 count=64 iflag=direct 2>/dev/null")  # warm-up
        samples = {m: [] for m in gs}
        for i in range(runs):
            for mode, g in gs.items():
                r = one_run(g, requests)
                samples[mode].append(r)
                print("%-6s %-5s run %d: %.1f us per request, %.2f interrupts per request (%s)%s"
                      % (vmm, mode, i + 1, r[0], r[1], ",".join(sorted(r[2])),
                         "; per request: " + ", ".join("%s %.2f" % (c, v) for c, v in r[3].items())
                         if r[3] else ""), flush=True)
        for mode, ss in samples.items():
            kcs = [s[3] for s in ss if s[3]]
            kc = {c: statistics.median(k[c] for k in kcs) for c in COUNTERS} if kcs else None
            res[mode] = (statistics.median(s[0] for s in ss), statistics.median(s[1] for s in ss), ss[-1][2], kc)
        for mode, g in gs.items():
            st = g.poweroff(120)
            if st != 0:
                raise GuestError("%s: exit status %s after poweroff" % (mode, st))
    except GuestError as e:
        logs = ", ".join(g.save_log() for g in gs.values())
        print("%-6s FAILED: %s (console logs %s)" % (vmm, e, logs), flush=True)
        return {}
    finally:
        for g in gs.values():
            g.kill()
    return res


def direct(a):
    with tempfile.TemporaryDirectory(prefix="vessel-x86irq-") as tmp:
        disk = os.path.join(tmp, "disk.raw")
        data = os.urandom(DISK_MIB << 20)
        for mode in ("msix", "intx"):
            with open("%s.%s" % (disk, mode), "wb") as f:
                f.write(data)
        print("x86 interrupt bench: virtio-blk 4 KiB direct reads, %d per run, %d run(s); %s"
              % (a.requests, a.runs, "inside L1 (QEMU TCG, emulated AMD SVM)" if os.environ.get("NESTED_L1")
                 else "on this host"), flush=True)
        counters = mount_debugfs()
        res = {}
        for vmm in ("vessel", "qemu"):
            m = measure(vmm, disk, a.runs, a.requests) if vmm == "vessel" or nested.qemu_bin() else {}
            for mode in ("msix", "intx"):
                res[vmm, mode] = m.get(mode)
    print("\n%-8s %-6s %12s %12s %10s %10s %10s  %s" % ("vmm", "mode", "us/request", "irqs/req", "exits/req",
                                                      "mmio/req", "pio/req", "disk's lines"))
    for (vmm, mode), r in res.items():
        if r:
            k = r[3] or {}
            print("%-8s %-6s %12.1f %12.2f %10s %10s %10s  %s" % (
                vmm, mode, r[0], r[1], *("%.2f" % k[c] if c in k else "n/a"
                                         for c in ("exits", "mmio_exits", "io_exits")), ",".join(sorted(r[2]))))
        else:
            print("%-8s %-6s %12s" % (vmm, mode, "n/a"))
    if not counters:
        print("(no KVM debugfs statistics here: exits per request not counted)")
    for vmm in ("vessel", "qemu"):
        if res.get((vmm, "msix")) and res.get((vmm, "intx")):
            print("ratio %-6s INTx / MSI-X time per request: %.2fx" % (vmm, res[vmm, "intx"][0] / res[vmm, "msix"][0]))
    for mode in ("msix", "intx"):
        if res.get(("vessel", mode)) and res.get(("qemu", mode)):
            print("ratio vessel / qemu (%s) time per request: %.2fx" % (mode, res["vessel", mode][0] / res["qemu", mode][0]))
    if os.environ.get("NESTED_L1"):
        print("caveat: L1 runs under QEMU TCG; the absolute figures include TCG's emulation of L1 and of its SVM "
              "exits, so compare ratios only")
    return 0 if res.get(("vessel", "msix")) and res.get(("vessel", "intx")) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per VMM and mode; medians are reported")
    ap.add_argument("--requests", type=int, default=2000, help="4 KiB reads per run")
    ap.add_argument("--direct", action="store_true", help="run here (needs vmx/svm and /dev/kvm)")
    ap.add_argument("--nested", action="store_true", help="run inside L1 even where vmx/svm exist")
    a = ap.parse_args()
    if a.runs < 1 or a.requests < 1:
        ap.error("--runs and --requests must be positive")
    if a.direct or (not a.nested and nested.host_has_hw_virt()):
        return direct(a)
    cmd = ["python3", "bench/x86_irq.py", "--direct", "--runs", str(a.runs), "--requests", str(a.requests)]
    try:
        res = nested.run(cmd, timeout=4000, bench=True, out_dir=os.path.join(nested.WORK, "out-x86_irq"),
                         on_line=lambda line: print(line, flush=True))
    except nested.NestedError as e:
        print("x86_irq: %s" % e)
        return 1
    print("x86_irq: L1 up in %s, whole nested run %.1fs" % (
        "%.1fs" % res.boot_seconds if res.boot_seconds else "?", res.seconds))
    if res.error:
        print("x86_irq: %s" % res.error)
        return 1
    return res.rc


if __name__ == "__main__":
    sys.exit(main())
