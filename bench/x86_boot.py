#!/usr/bin/env python3
"""x86-64 boot and exit-cost benchmark: Vessel against QEMU on the same KVM, in the same run.

  boot-to-userspace  host time from starting the VMM until the initramfs prints its ready
                     marker (VESSEL-GUEST-READY), for Debian's x86-64 cloud kernel and the
                     test initramfs (scripts/fetch-guest.sh --x86), 1 vCPU, 256M, under
                     `vessel run --arch x86_64`, `qemu-system-x86_64 -M microvm -enable-kvm`
                     and `qemu-system-x86_64 -M q35 -enable-kvm` (SeaBIOS and its Linux loader)
  per-exit cost      port-I/O exit round trip of bench/kvm_exit/guest.S (LOOPS x `out` to port
                     0x80) under a raw KVM_RUN loop (bench/kvm_exit/raw.c), Vessel and QEMU -M
                     pc: (time(N=big) - time(N=small)) / (big - small), whole-process runs so
                     that start-up cancels out

Where the host has no vmx/svm (this project's machines) everything runs inside L1 under QEMU
TCG with emulated AMD SVM (tests/nested/nested.py, the image with qemu-system-x86_64 in it):
absolute figures then carry TCG's slowdown of L1 (every L2 exit is an emulated #VMEXIT into
an emulated L1 KVM), so only the ratios between VMMs of the same run say something.

Prints every run, the medians, and the ratios; never asserts a time. Exit status 1 only when
a VMM failed outright.

    bench/x86_boot.py [--runs N] [--timeout S] [--exits SMALL,BIG] [--direct|--nested]

A boot that does not reach userspace within --timeout seconds (default 300) counts as hung: its
console log is kept, its last console line printed, and the median is over the runs that
finished (QEMU microvm hung in early boot once inside L1; see docs/nested.md).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "nested"))
from guest import Guest, GuestError, cache_dir  # noqa: E402
import nested  # noqa: E402

ART = os.path.join(cache_dir(), "x86_64")
KERNEL, INITRD = os.path.join(ART, "bzImage"), os.path.join(ART, "initramfs.cpio.gz")
APPEND = "console=ttyS0 panic=-1"
VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
EXIT_DIR = os.path.join(ROOT, "build", "bench", "kvm_exit")
QEMU_COMMON = ["-enable-kvm", "-cpu", "host", "-m", "256M", "-smp", "1", "-nodefaults", "-no-user-config",
               "-display", "none", "-serial", "stdio", "-no-reboot"]


def boot_argv(vmm):
    q = nested.qemu_bin() or "qemu-system-x86_64"
    if vmm == "vessel":
        return [VESSEL, "run", "--arch", "x86_64", "--kernel", KERNEL, "--initrd", INITRD, "--mem", "256M",
                "--cpus", "1", "--append", APPEND]
    if vmm == "microvm":
        return [q, "-M", "microvm"] + QEMU_COMMON + ["-kernel", KERNEL, "-initrd", INITRD, "-append", APPEND]
    return [q, "-M", "q35"] + QEMU_COMMON + ["-kernel", KERNEL, "-initrd", INITRD, "-append", APPEND]


def exit_argv(vmm, guest):
    if vmm == "raw":
        return [os.path.join(EXIT_DIR, "raw"), guest]
    if vmm == "vessel":
        return [VESSEL, "run", "--arch", "x86_64", "--kernel", guest, "--mem", "16M"]
    return [nested.qemu_bin() or "qemu-system-x86_64", "-accel", "kvm", "-M", "pc", "-m", "16M", "-display", "none",
            "-nodefaults", "-serial", "stdio", "-no-reboot", "-kernel", guest]


def build_exit_bench(small, big):
    """bench/kvm_exit's guests (one per loop count) and the raw KVM_RUN loop, as kvm_exit.sh builds them."""
    os.makedirs(EXIT_DIR, exist_ok=True)
    for n in (small, big):
        out = os.path.join(EXIT_DIR, "guest%d.elf" % n)
        subprocess.run(["gcc", "-m64", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
                        "-Wl,--no-warn-rwx-segments", "-T", os.path.join(HERE, "kvm_exit", "link.ld"),
                        "-Wa,--defsym,LOOPS=%d" % n, "-o", out, os.path.join(HERE, "kvm_exit", "guest.S")],
                       check=True)
    raw = os.path.join(EXIT_DIR, "raw")
    src = os.path.join(HERE, "kvm_exit", "raw.c")
    if not os.path.exists(raw) or os.path.getmtime(raw) < os.path.getmtime(src):
        subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", raw, src], check=True)


def last_line(log):
    lines = [x for x in log.decode(errors="replace").replace("\r", "").split("\n") if x.strip()]
    return lines[-1][-120:] if lines else "(no console output)"


def measure_boot(vmm, runs, timeout):
    """Median boot-to-userspace of the runs that finished; a run that does not reach userspace
    within timeout seconds counts as hung (its console log is kept) and the next one starts."""
    times, hung = [], 0
    for i in range(runs):
        g = Guest(boot_argv(vmm), name="x86boot-%s-%d" % (vmm, i))
        try:
            with g:
                g.expect_ready(timeout)
                t = g.t_ready
                st = g.poweroff(120)
            if st != 0:
                raise GuestError("exit status %s after poweroff" % st)
        except GuestError as e:
            hung += 1
            print("%-8s boot run %d: no userspace within %ds (%s); last console line %r; log %s"
                  % (vmm, i + 1, timeout, str(e)[:80], last_line(g.log()), g.save_log()), flush=True)
            continue
        times.append(t)
        print("%-8s boot run %d: boot-to-userspace %.2fs" % (vmm, i + 1, t), flush=True)
    print("%-8s %d of %d boots reached userspace%s" % (vmm, len(times), runs,
                                                      ", %d hung" % hung if hung else ""), flush=True)
    return statistics.median(times) if times else None


def timed(argv, timeout=600):
    t0 = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    dt = time.monotonic() - t0
    if not p.stdout.startswith(b"R"):
        raise RuntimeError("%s: no start marker, status %d: %r" % (argv[0], p.returncode, p.stdout[-300:]))
    return dt


def measure_exit(vmm, small, big, runs):
    try:
        ts = [timed(exit_argv(vmm, os.path.join(EXIT_DIR, "guest%d.elf" % small))) for _ in range(runs)]
        tb = [timed(exit_argv(vmm, os.path.join(EXIT_DIR, "guest%d.elf" % big))) for _ in range(runs)]
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print("%-8s exit FAILED: %s" % (vmm, e), flush=True)
        return None
    us = (statistics.median(tb) - statistics.median(ts)) / (big - small) * 1e6
    print("%-8s per-exit %.3f us (N=%d: %.3fs, N=%d: %.3fs, medians of %d)"
          % (vmm, us, small, statistics.median(ts), big, statistics.median(tb), runs), flush=True)
    return us


def direct(a):
    small, big = a.exits
    q = nested.qemu_bin()
    print("x86 boot bench: %s, 1 vCPU, 256M, %d run(s) each; exits N=%d/%d; %s"
          % (os.path.basename(KERNEL), a.runs, small, big,
             "inside L1 (QEMU TCG, emulated AMD SVM)" if os.environ.get("NESTED_L1") else "on this host"),
          flush=True)
    boot = {"vessel": measure_boot("vessel", a.runs, a.timeout)}
    for v in ("microvm", "q35"):
        boot[v] = measure_boot(v, a.runs, a.timeout) if q else None
    if not os.path.exists(os.path.join(EXIT_DIR, "guest%d.elf" % big)):
        build_exit_bench(small, big)
    ex = {v: measure_exit(v, small, big, a.runs) for v in ("raw", "vessel", "qemu")}

    def f(x, fmt):
        return fmt % x if x is not None else "n/a"

    print("\n%-28s %10s %10s %10s" % ("boot-to-userspace (median)", "vessel", "microvm", "q35"))
    print("%-28s %10s %10s %10s" % ("seconds", f(boot["vessel"], "%.2f"), f(boot["microvm"], "%.2f"),
                                    f(boot["q35"], "%.2f")))
    for v in ("microvm", "q35"):
        if boot["vessel"] and boot[v]:
            print("ratio vessel / qemu %-8s %.2fx (target <= 1.00x against microvm)" % (v, boot["vessel"] / boot[v]))
    print("\n%-28s %10s %10s %10s" % ("per-exit cost (us)", "raw", "vessel", "qemu -M pc"))
    print("%-28s %10s %10s %10s" % ("", f(ex["raw"], "%.3f"), f(ex["vessel"], "%.3f"), f(ex["qemu"], "%.3f")))
    for v in ("vessel", "qemu"):
        if ex["raw"] and ex[v]:
            print("ratio %-6s / raw KVM_RUN   %.3fx%s" % (v, ex[v] / ex["raw"],
                                                    " (target <= 1.02x)" if v == "vessel" else ""))
    if os.environ.get("NESTED_L1"):
        print("caveat: L1 runs under QEMU TCG; the absolute figures include TCG's emulation of L1 and of "
              "its SVM exits, so compare ratios only")
    return 0 if boot["vessel"] is not None and ex["vessel"] is not None else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per VMM and measure; medians are reported")
    ap.add_argument("--timeout", type=int, default=300,
                    help="seconds a boot may take to reach userspace before it counts as hung")
    ap.add_argument("--exits", default="2000,50000", help="the two loop counts of the exit guest")
    ap.add_argument("--direct", action="store_true", help="run here (needs vmx/svm and /dev/kvm)")
    ap.add_argument("--nested", action="store_true", help="run inside L1 even where vmx/svm exist")
    a = ap.parse_args()
    a.exits = [int(x) for x in a.exits.split(",")]
    if len(a.exits) != 2 or not 0 < a.exits[0] < a.exits[1]:
        ap.error("--exits SMALL,BIG with 0 < SMALL < BIG")
    if a.direct or (not a.nested and nested.host_has_hw_virt()):
        return direct(a)
    build_exit_bench(*a.exits)  # gcc is on this host, not in L1
    argv = ["python3", "bench/x86_boot.py", "--direct", "--runs", str(a.runs), "--exits", "%d,%d" % tuple(a.exits),
            "--timeout", str(a.timeout)]
    try:
        res = nested.run(argv, timeout=3 * a.runs * (a.timeout + 150) + 1200, bench=True, out_dir=os.path.join(nested.WORK, "out-x86_boot"),
                         on_line=lambda line: print(line, flush=True))
    except nested.NestedError as e:
        print("x86_boot: %s" % e)
        return 1
    print("x86_boot: L1 up in %s, whole nested run %.1fs" % (
        "%.1fs" % res.boot_seconds if res.boot_seconds else "?", res.seconds))
    if res.error:
        print("x86_boot: %s" % res.error)
        return 1
    return res.rc


if __name__ == "__main__":
    sys.exit(main())
