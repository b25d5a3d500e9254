#!/usr/bin/env python3
"""Snapshot and restore of a running x86-64 guest on the kvm engine (issue 5).

The project's x86 test guest (tests/guest/x86, command-line word "count") counts PIT ticks
through the in-kernel IOAPIC and LAPIC, halting in between, and prints "CNT n" every 0.2 s; the
counter lives in guest RAM. So a restored guest that continues the count has its RAM, vCPU
(registers, LAPIC, halted state), IOAPIC, PIT and COM1 back.

  seam     {"snapshot": {"then": "stop"}} over --api-socket ends the VMM with status 0;
           `vessel run --restore` (no --arch: the file says x86_64) continues the count:
           across the seam the numbers go up by exactly 1
  resume   a snapshot with then=resume of a restored VM (with a virtio-rng device): the
           guest keeps counting without gaps, and that file restores too
  refused  a byte flipped in a vCPU section and in the PIT section, a truncated file, a
           device list that differs, --mem with --restore, --arch riscv64 for an x86 file:
           exit status 1 and one `vessel:` line, nothing run
  timing   restore-to-first-instruction time (vessel's "restored ... in N ms"), as INFO

Without a usable /dev/kvm prints one SKIP line and "0 passed, 0 failed".
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import ROOT, Guest, GuestError, guest_run, Results, timeout_scale  # noqa: E402
from test_snapshot import api, consecutive, counts, refused, sections, vessel_lines_removed, wait_socket  # noqa: E402

VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
GUEST_DIR = os.path.join(ROOT, "build", "guest", "x86")
KERNEL = os.path.join(GUEST_DIR, "kvmtest.elf")
MEM = "64M"


def skip_reason():
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is missing or not accessible"
    if os.environ.get("NESTED_L1"):  # no compiler in L1: the host built the guests
        return None if os.path.isfile(KERNEL) else "%s missing in L1" % KERNEL
    p = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "guest", "x86"), "O=" + GUEST_DIR],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        return "the x86 test guests do not build: %s" % p.stdout.decode(errors="replace")[-300:]
    return None


def wait_count(g, above, timeout=30):
    end = time.monotonic() + timeout * timeout_scale()
    while time.monotonic() < end:
        c = counts(g.log())
        if c and c[-1] > above:
            return c[-1]
        if g.proc.poll() is not None:
            raise GuestError("%s exited with status %s" % (g.name, g.proc.returncode))
        time.sleep(0.05)
    raise GuestError("%s: the count did not pass %d" % (g.name, above))


def boot_argv(extra):
    return [VESSEL, "run", "--arch", "x86_64", "--kernel", KERNEL, "--mem", MEM,
            "--append", "vessel-test cpus=1 count"] + extra


def flip(src, dst, offset):
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x40]))


def main():
    why = skip_reason()
    if why:
        print("SKIP x86-snapshot: %s" % why)
        print("0 passed, 0 failed")
        return 0
    r = Results()
    tmp = tempfile.mkdtemp(prefix="vessel-x86snap-")
    snap = os.path.join(tmp, "vm.snap")
    sock = os.path.join(tmp, "api.sock")
    disk = os.path.join(tmp, "data.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    devices = ["--rng", "--disk", disk + ",format=raw"]
    guests = []
    with guest_run(r, tmp, guests):
        # --- boot, count, snapshot with then=stop ---
        a = Guest(boot_argv(devices + ["--api-socket", sock]), name="x86snap-original")
        guests.append(a)
        a.start()
        wait_count(a, 5)
        wait_socket(sock)
        rep = api(sock, {"snapshot": {"path": snap, "then": "stop"}})
        r.check("snapshot (then=stop) answers ok with ms", rep.get("ok") is True and "ms" in rep, repr(rep))
        rc = a.wait_exit(30)
        r.check("the VMM exits with status 0 after then=stop", rc == 0, "status %s" % rc)
        r.check("the file is complete under its name (no .tmp left)",
                os.path.exists(snap) and not os.path.exists(snap + ".tmp"))
        before = counts(a.log())
        names = [(s[0], s[1], s[2]) for s in sections(snap)]
        want = [(1, 0, "config"), (2, 0, "pic"), (2, 1, "pic"), (2, 0, "ioapic"), (2, 0, "pit"),
                (2, 0, "kvmclock"), (3, 0, "vcpu"), (4, 0, "uart"), (4, 0, "cmos"), (4, 0, "acpi-pm"),
                (4, 0, "pci"), (4, 0, "virtio-blk"), (4, 1, "virtio-rng"), (5, 0, "ram")]
        r.check("the file has config, machine, vcpu, device and memory sections",
                all(x in names for x in want), repr(names))

        # --- restore: the count continues across the seam ---
        b = Guest([VESSEL, "run", "--restore", snap] + devices + ["--api-socket", sock], name="x86snap-restore")
        guests.append(b)
        b.start()
        m = b.expect(r"vessel: restored \S+ in ([0-9.]+) ms", 30)
        print("INFO restore of a %s x86 guest: %s ms to the first instruction, %.0f ms from exec"
              % (MEM, m.group(1).decode(), b.elapsed() * 1000))
        last = wait_count(b, before[-1] + 5)
        seam = counts(a.log() + vessel_lines_removed(b.log()))
        r.check("the count goes on by exactly 1 across the seam (%d .. %d)" % (before[-1], last),
                len(seam) > len(before) and consecutive(seam), repr(seam[-20:]))

        # --- then=resume on the restored VM ---
        wait_socket(sock)
        snap2 = os.path.join(tmp, "vm2.snap")
        now = counts(b.log())[-1]
        rep = api(sock, {"snapshot": {"path": snap2, "then": "resume"}})
        r.check("snapshot of a restored VM (then=resume) answers ok", rep.get("ok") is True, repr(rep))
        moved = (rep.get("disks") or [{}])[0]
        overlay = os.path.join(tmp, "data-vm2.snap.qcow2")
        r.check("then=resume freezes the writable disk: the VM continues on %s" % os.path.basename(overlay),
                moved.get("snapshot") == os.path.realpath(disk) and moved.get("now") == overlay
                and os.path.isfile(overlay), repr(rep))
        after = wait_count(b, now + 5)
        seq = counts(vessel_lines_removed(b.log()))
        r.check("after then=resume the guest keeps counting (%d -> %d) without gaps" % (now, after),
                consecutive(seq), repr(seq[-20:]))
        b.kill()
        c = Guest([VESSEL, "run", "--restore", snap2] + devices, name="x86snap-restore2")
        guests.append(c)
        c.start()
        c.expect(r"vessel: restored", 30)
        last = wait_count(c, now + 4)
        seq = counts(vessel_lines_removed(c.log()))
        r.check("the then=resume file restores and counts on from %d (%s .. %d)" % (now, seq[:1], last),
                len(seq) >= 3 and consecutive(seq) and now <= seq[0] <= now + 2, repr(seq[-20:]))
        c.kill()

        # --- refused files and configurations ---
        secs = sections(snap)
        cpu = [s for s in secs if s[0] == 3][0]
        pit = [s for s in secs if s[2] == "pit"][0]
        bad = os.path.join(tmp, "cpu-flipped.snap")
        flip(snap, bad, cpu[3] + 64)
        refused(r, "a byte flipped in the vCPU section", [VESSEL, "run", "--restore", bad] + devices,
                "damaged section vcpu")
        flip(snap, bad, pit[3] + 20)
        refused(r, "a byte flipped in the PIT section", [VESSEL, "run", "--restore", bad] + devices,
                "damaged section pit")
        trunc = os.path.join(tmp, "truncated.snap")
        with open(snap, "rb") as src, open(trunc, "wb") as dst:
            dst.write(src.read(os.path.getsize(snap) // 2))
        refused(r, "a truncated file", [VESSEL, "run", "--restore", trunc] + devices, "truncated")
        refused(r, "a device list that differs (no --rng)", [VESSEL, "run", "--restore", snap], "differs")
        refused(r, "--restore with --mem", [VESSEL, "run", "--restore", snap, "--mem", "128M"] + devices,
                "--restore")
        refused(r, "--arch riscv64 for an x86 snapshot",
                [VESSEL, "run", "--arch", "riscv64", "--restore", snap] + devices, "not for --arch riscv64")
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
