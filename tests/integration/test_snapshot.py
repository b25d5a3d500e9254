#!/usr/bin/env python3
"""Snapshot and restore of a running rv64 guest (issue 5, item 2).

  seam     a guest counts on its console every 0.2 s; {"snapshot": {"then": "stop"}} over
           --api-socket writes the state file and ends the VMM (status 0); `vessel run
           --restore` continues the count: across the seam the numbers go up by exactly 1
  clones   the same file restored twice at once: each guest writes its own file in /tmp and
           sees only its own, both keep counting; then=resume keeps the original running
  refused  a byte flipped in a CPU section, a truncated file, another format version and a
           device list that differs from the snapshot's: exit status 1 and one `vessel:` line
  timing   snapshot write time ({"ms"} of the reply) and restore-to-first-instruction time
           (vessel's "restored ... in N ms" line) for a 256 MiB guest, printed as INFO

Ends with "N passed, N failed"; console logs of failed guests go to build/test-logs/.
"""

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import ROOT, Guest, GuestError, Results, timeout_scale, vmm_command, vmm_name  # noqa: E402

VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
COUNT_RE = re.compile(rb"CNT (\d+)\r?\n")
MEM = "256M"




def api(path, cmd, timeout=120):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout * timeout_scale())
        s.connect(path)
        s.sendall((json.dumps(cmd) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def wait_socket(path, timeout=10):
    end = time.monotonic() + timeout
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.05)


def counts(data):
    return [int(m.group(1)) for m in COUNT_RE.finditer(data)]


def vessel_lines_removed(data):
    """The console bytes without vessel's own log lines (stderr shares the pipe)."""
    return re.sub(rb"vessel: [^\n]*\n", b"", data)


def consecutive(seq):
    return all(b == a + 1 for a, b in zip(seq, seq[1:]))


def wait_count(g, above, timeout=30):
    """Wait until the guest printed a count above `above`; returns the last count."""
    end = time.monotonic() + timeout * timeout_scale()
    while time.monotonic() < end:
        c = counts(g.log())
        if c and c[-1] > above:
            return c[-1]
        time.sleep(0.1)
    raise GuestError("the count did not pass %d" % above)


def sections(path):
    """[(type, instance, name, payload offset, length)] of a state file."""
    out = []
    with open(path, "rb") as f:
        pos = 64
        while True:
            f.seek(pos)
            h = f.read(48)
            if len(h) < 48:
                return out
            typ, inst = struct.unpack_from("<II", h, 0)
            name = h[8:24].rstrip(b"\0").decode()
            length, off = struct.unpack_from("<QQ", h, 24)
            out.append((typ, inst, name, off, length))
            if typ == 0x454E44:
                return out
            pos = off + length


def restore_argv(snap, extra):
    return [VESSEL, "run", "--restore", snap] + extra


def refused(r, what, argv, must_say):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60 * timeout_scale())
    err = p.stderr.decode(errors="replace").strip()
    lines = [line for line in err.splitlines() if line.strip()]
    r.check("%s: exit status 1" % what, p.returncode == 1, "status %s, stderr %r" % (p.returncode, err))
    r.check("%s: one `vessel:` line saying %r" % (what, must_say),
            len(lines) == 1 and lines[0].startswith("vessel: ") and must_say in lines[0], repr(err))
    r.check("%s: no console output (nothing ran)" % what, p.stdout == b"", repr(p.stdout[:200]))


def main():
    r = Results()
    if vmm_name() != "vessel":
        print("SKIP snapshots are Vessel's (VESSEL_VMM=%s)" % vmm_name())
        print("0 passed, 0 failed")
        return 0
    tmp = tempfile.mkdtemp(prefix="vessel-snap-")
    disk = os.path.join(tmp, "ref.img")
    with open(disk, "wb") as f:
        f.write(os.urandom(1 << 20))
    devices = ["--rng", "--disk", disk + ",ro"]
    snap = os.path.join(tmp, "vm.snap")
    sock = os.path.join(tmp, "api.sock")
    guests = []
    try:
        # --- boot, count, snapshot with then=stop ---
        a = Guest(vmm_command(mem=MEM) + devices + ["--api-socket", sock], name="snap-original")
        guests.append(a)
        a.start()
        a.expect_ready()
        a.sendline("i=0; while true; do i=$((i+1)); echo \"CNT $i\"; usleep 200000; done &")
        wait_count(a, 8)
        wait_socket(sock)
        t0 = time.monotonic()
        rep = api(sock, {"snapshot": {"path": snap, "then": "stop"}})
        wall = (time.monotonic() - t0) * 1000
        r.check("snapshot (then=stop) answers ok with ms", rep.get("ok") is True and "ms" in rep, repr(rep))
        print("INFO snapshot of a %s guest: %s ms paused (reply after %.0f ms), file %.1f MiB"
              % (MEM, rep.get("ms"), wall, os.path.getsize(snap) / 2**20 if os.path.exists(snap) else -1))
        rc = a.wait_exit(30)
        r.check("the VMM exits with status 0 after then=stop", rc == 0, "status %s" % rc)
        r.check("the file is complete under its name (no .tmp left)",
                os.path.exists(snap) and not os.path.exists(snap + ".tmp"))
        before = counts(a.log())
        names = [(s[0], s[2]) for s in sections(snap)]
        r.check("the file has config, machine, hart, device and memory sections",
                all(x in names for x in [(1, "config"), (2, "mtime"), (3, "hart"), (4, "plic"), (4, "clint"),
                                         (4, "uart"), (4, "rtc"), (4, "virtio-rng"), (4, "virtio-blk"), (5, "ram")]),
                repr(names))

        # --- restore: the count continues across the seam ---
        b = Guest(restore_argv(snap, devices), name="snap-restore-b")
        guests.append(b)
        b.start()
        m = b.expect(r"vessel: restored \S+ in ([0-9.]+) ms", 30)
        print("INFO restore of a %s guest: %s ms to the first instruction, %.0f ms from exec"
              % (MEM, m.group(1).decode(), b.elapsed() * 1000))
        last_b = wait_count(b, before[-1] + 5)
        seam = counts(a.log() + vessel_lines_removed(b.log()))
        r.check("the count goes on by exactly 1 across the seam (%d .. %d)" % (before[-1], last_b),
                len(seam) > len(before) and consecutive(seam), repr(seam[-20:]))

        # --- a second restore of the same file, at the same time: independent guests ---
        c = Guest(restore_argv(snap, devices), name="snap-restore-c")
        guests.append(c)
        c.start()
        c.expect(r"vessel: restored", 30)
        wait_count(c, before[-1] + 2)
        b.sendline("")
        c.sendline("")
        out_b, st_b = b.run("echo guest-b > /tmp/mine; ls /tmp; cat /tmp/mine")
        out_c, st_c = c.run("echo guest-c > /tmp/mine; ls /tmp; cat /tmp/mine")
        out_b2, _ = b.run("cat /tmp/mine")
        r.check("clone b sees only its own file", st_b == 0 and "guest-b" in out_b and "guest-c" not in out_b
                and "guest-c" not in out_b2, repr(out_b + out_b2))
        r.check("clone c sees only its own file", st_c == 0 and "guest-c" in out_c and "guest-b" not in out_c,
                repr(out_c))
        for g, name in ((b, "b"), (c, "c")):
            now = counts(g.log())[-1]
            after = wait_count(g, now + 3)
            seq = counts(vessel_lines_removed(g.log()))
            r.check("clone %s keeps counting (%d -> %d) without gaps" % (name, now, after), consecutive(seq),
                    repr(seq[-20:]))
        for g in (b, c):
            g.sendline("kill %1")
            rc = g.poweroff()
            r.check("%s powers off with status 0" % g.name, rc == 0, "status %s" % rc)

        # --- then=resume: the original keeps running; a VM snapshotted twice ---
        d = Guest(restore_argv(snap, devices + ["--api-socket", sock]), name="snap-resume")
        guests.append(d)
        d.start()
        d.expect(r"vessel: restored", 30)
        wait_socket(sock)
        now = wait_count(d, before[-1] + 1)
        snap2 = os.path.join(tmp, "vm2.snap")
        rep = api(sock, {"snapshot": {"path": snap2, "then": "resume"}})
        r.check("snapshot of a restored VM (then=resume) answers ok", rep.get("ok") is True, repr(rep))
        after = wait_count(d, now + 3)
        seq = counts(vessel_lines_removed(d.log()))
        r.check("after then=resume the guest keeps counting (%d -> %d)" % (now, after), consecutive(seq),
                repr(seq[-20:]))
        rep = api(sock, {"snapshot": {"path": snap2}, "x": 1})
        r.check("a malformed snapshot command is refused", rep.get("ok") is False, repr(rep))
        d.sendline("kill %1")
        r.check("the resumed guest powers off with status 0", d.poweroff() == 0)

        # --- refused files and configurations ---
        secs = sections(snap)
        cpu = [s for s in secs if s[0] == 3][0]
        bad = os.path.join(tmp, "cpu-flipped.snap")
        shutil.copyfile(snap, bad)
        with open(bad, "r+b") as f:
            f.seek(cpu[3] + 8 * 5)
            byte = f.read(1)
            f.seek(cpu[3] + 8 * 5)
            f.write(bytes([byte[0] ^ 0x40]))
        refused(r, "a byte flipped in a CPU section", restore_argv(bad, devices), "damaged section hart")
        trunc = os.path.join(tmp, "truncated.snap")
        with open(snap, "rb") as src, open(trunc, "wb") as dst:
            dst.write(src.read(os.path.getsize(snap) // 2))
        refused(r, "a truncated file", restore_argv(trunc, devices), "truncated")
        other = os.path.join(tmp, "version.snap")
        shutil.copyfile(snap, other)
        with open(other, "r+b") as f:
            h = bytearray(f.read(64))
            struct.pack_into("<I", h, 8, 99)
            struct.pack_into("<I", h, 60, zlib.crc32(bytes(h[:60])))
            f.seek(0)
            f.write(h)
        refused(r, "another format version", restore_argv(other, devices), "version 99")
        refused(r, "a device list that differs (no --rng)", restore_argv(snap, ["--disk", disk + ",ro"]),
                "differs")
        refused(r, "--restore with --kernel", restore_argv(snap, devices + ["--kernel", disk]), "--restore")
    except GuestError as e:
        r.check("guest run", False, str(e))
        for g in guests:
            print("console log of %s: %s" % (g.name, g.save_log()))
    finally:
        for g in guests:
            g.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
