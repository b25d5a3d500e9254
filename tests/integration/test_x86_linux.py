#!/usr/bin/env python3
"""Integration test: Debian's x86-64 cloud kernel (linux-image-cloud-amd64, a bzImage) on the
kvm engine, with the busybox initramfs carrying the virtio-pci modules
(scripts/fetch-guest.sh --x86), and one virtio-blk disk made here.

ONE boot with 2 vCPUs, then checks computed inside the guest against the host: arithmetic,
the kernel release, the CPU count, the virtio-blk device found on PCI (vendor 1af4, device
1042), the sha256 of the whole disk, a write the guest syncs found in the host file, and
`poweroff -f` giving VMM exit status 0 (ACPI S5).

It needs hardware virtualization: where /proc/cpuinfo shows neither vmx nor svm (a PVM host:
a stock kernel's supervisor code would be emulated instruction by instruction) or /dev/kvm
is missing, it prints one SKIP line with the reason and "0 passed, 0 failed", so that the
suite counts it neither as a pass nor as a failure.

Prints one PASS/FAIL line per check and ends with "N passed, N failed"; exits 1 on any
failure. On failure the console log is saved under build/test-logs/.
"""

import hashlib
import os
import sys
import tempfile

sys.dont_write_bytecode = True

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import ROOT, Guest, GuestError, Results, cache_dir  # noqa: E402

BOOT_TIMEOUT = 120
CMD_TIMEOUT = 60
DISK_SIZE = 16 << 20
MARK = b"vessel-x86-write-check\n"


def skip_reason():
    try:
        with open("/proc/cpuinfo") as f:
            flags = set()
            for line in f:
                if line.startswith("flags"):
                    flags.update(line.split(":", 1)[1].split())
    except OSError as e:
        return "cannot read /proc/cpuinfo: %s" % e
    if not flags & {"vmx", "svm"}:
        return "/proc/cpuinfo shows neither vmx nor svm (no hardware virtualization, e.g. a PVM host)"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is missing or not accessible"
    return None




def command(disk):
    art = os.path.join(cache_dir(), "x86_64")
    kernel, initrd = os.path.join(art, "bzImage"), os.path.join(art, "initramfs.cpio.gz")
    for f in (kernel, initrd):
        if not os.path.isfile(f):
            raise GuestError("%s missing (run scripts/fetch-guest.sh --x86)" % f)
    vessel = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
    append = ("console=ttyS0 panic=-1 " + os.environ.get("VESSEL_APPEND", "")).strip()
    return [vessel, "run", "--arch", "x86_64", "--kernel", kernel, "--initrd", initrd,
            "--mem", "512M", "--cpus", "2", "--append", append, "--disk", disk]


def kernel_release():
    try:
        with open(os.path.join(cache_dir(), "x86_64", "kernel-version")) as f:
            return f.read().strip()
    except OSError:
        return None


def boot(r, disk):
    with Guest(command(disk), name="x86-linux") as g:
        try:
            rel, cpus = g.expect_ready(BOOT_TIMEOUT)
            r.check("boots to the initramfs shell", True)
            r.check("kernel release is the fetched one", rel == kernel_release(),
                    "got %r" % rel)
            r.check("2 CPUs online", cpus == 2, "got %d" % cpus)
            out, st = g.run("echo $((6*7))", CMD_TIMEOUT)
            r.check("arithmetic echo $((6*7))", st == 0 and out.strip() == "42", "got %r" % out)
            out, st = g.run("cat /sys/bus/pci/devices/*/vendor /sys/bus/pci/devices/*/device "
                            "| tr '\\n' ' '", CMD_TIMEOUT)
            r.check("virtio-blk (1af4:1042) on PCI", "0x1af4" in out and "0x1042" in out,
                    "got %r" % out)
            want = hashlib.sha256(open(disk, "rb").read()).hexdigest()
            out, st = g.run("sha256sum /dev/vda", CMD_TIMEOUT)
            got = out.split()[0] if out.split() else ""
            r.check("sha256 of /dev/vda matches the host file", st == 0 and got == want,
                    "got %r, want %s" % (out.strip(), want))
            out, st = g.run("printf '%s' | dd of=/dev/vda bs=512 seek=1 conv=fsync 2>/dev/null"
                            % MARK.decode().replace("\n", "\\n"), CMD_TIMEOUT)
            r.check("guest writes sector 1 with fsync", st == 0, "status %d %r" % (st, out))
            status = g.poweroff(CMD_TIMEOUT)
            r.check("poweroff -f: VMM exit status 0", status == 0, "got %r" % status)
        except GuestError as e:
            r.check("boot and commands", False, "%s (console log: %s)" % (e, g.save_log()))
            return
        if r.failed:
            print("console log: %s" % g.save_log())
    with open(disk, "rb") as f:
        f.seek(512)
        got = f.read(len(MARK))
    r.check("the guest's write is in the host file", got == MARK, "got %r" % got)


def main():
    why = skip_reason()
    if why:
        print("SKIP x86-linux: %s" % why)
        print("0 passed, 0 failed")
        return 0
    r = Results('x86-linux: ')
    with tempfile.TemporaryDirectory(prefix="vessel-x86-") as tmp:
        disk = os.path.join(tmp, "test.raw")
        with open(disk, "wb") as f:
            f.write(os.urandom(DISK_SIZE))
        try:
            boot(r, disk)
        except GuestError as e:
            r.check("start", False, str(e))
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
