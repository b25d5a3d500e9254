#!/usr/bin/env python3
"""Live migration of a running x86-64 guest on the kvm engine over loopback (issue 5).

The project's x86 test guest (tests/guest/x86, command-line word "count") counts PIT ticks and
prints "CNT n" every 0.2 s; the counter lives in guest RAM. A destination that continues the
count has the guest's RAM, vCPU, IOAPIC, PIT, COM1 and devices.

  refused  a destination started with other devices (no --rng) refuses the VM: `vessel
           migrate` exits 2 naming the difference, the destination exits non-zero, and the
           source keeps counting without a gap
  moved    `vessel migrate` to `vessel run --arch x86_64 --incoming 127.0.0.1:PORT --rng`
           completes (exit 0, "migrated to ... downtime"); the source exits 0 with "the VM
           migrated to"; across the seam the count goes up by exactly 1
  again    the migrated VM (on a 5 GiB guest: RAM in two KVM slots around the MMIO gap) moves
           on twice more, each hop continuing the count; total time and downtime as INFO

Without a usable /dev/kvm prints one SKIP line and "0 passed, 0 failed".
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import Guest, guest_run, Results, timeout_scale, free_port  # noqa: E402
from test_snapshot import consecutive, counts, vessel_lines_removed, wait_socket  # noqa: E402
from test_x86_snapshot import KERNEL, VESSEL, skip_reason, wait_count  # noqa: E402

DONE_RE = re.compile(rb"migrated to \S+ in ([0-9.]+) ms: downtime ([0-9.]+) ms")



def source_argv(mem, cpus, devices, sock):
    return [VESSEL, "run", "--arch", "x86_64", "--kernel", KERNEL, "--mem", mem,
            "--append", "vessel-test cpus=%d count" % cpus] + devices + ["--api-socket", sock]


def secret_file():
    """The migration's secret for both ends, in a 0600 file made once per run."""
    if not SECRET[0]:
        fd, path = tempfile.mkstemp(prefix="vessel-x86-mig-secret-")
        os.write(fd, secrets.token_hex(32).encode())
        os.close(fd)
        SECRET[0] = path
    return SECRET[0]


SECRET = [None]


def destination(devices, port, name, sock=None):
    argv = [VESSEL, "run", "--arch", "x86_64", "--incoming", "127.0.0.1:%d" % port,
            "--migration-secret-file", secret_file()] + devices
    if sock:
        argv += ["--api-socket", sock]
    g = Guest(argv, name=name)
    g.start()
    g.expect(r"vessel: waiting for a migration on", 30)
    return g


def migrate(sock, port):
    return subprocess.run([VESSEL, "migrate", "--api-socket", sock, "--to", "127.0.0.1:%d" % port,
                           "--secret-file", secret_file()],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=60 * timeout_scale())


def hop(r, src, sock, devices, name, tmp, seen):
    """Migrates the VM of src (control socket sock) to a new destination; returns it and its
    control socket. seen: the console output of the VM so far (every earlier host)."""
    port = free_port()
    nsock = os.path.join(tmp, name + ".sock")
    d = destination(devices, port, name, nsock)
    before = counts(vessel_lines_removed(src.log()))[-1]
    p = migrate(sock, port)
    m = DONE_RE.search(p.stdout)
    r.check("%s: `vessel migrate` completes (exit 0, total time and downtime)" % name,
            p.returncode == 0 and m, p.stdout.decode(errors="replace"))
    if m:
        print("INFO %s: migrated in %s ms, downtime %s ms" % (name, m.group(1).decode(), m.group(2).decode()))
    rc = src.wait_exit(30)
    r.check("%s: the source exits 0 saying where the VM went" % name,
            rc == 0 and b"vessel: the VM migrated to 127.0.0.1:%d" % port in src.log(), "status %s" % rc)
    d.expect(r"vessel: incoming migration complete", 30)
    last = wait_count(d, before + 5)
    seam = counts(seen + vessel_lines_removed(src.log()) + vessel_lines_removed(d.log()))
    r.check("%s: the count goes on by exactly 1 across the seam (%d .. %d)" % (name, before, last),
            consecutive(seam), repr(seam[-20:]))
    wait_socket(nsock)
    return d, nsock


def main():
    why = skip_reason()
    if why:
        print("SKIP x86-migrate: %s" % why)
        print("0 passed, 0 failed")
        return 0
    r = Results("x86-migrate: ")
    tmp = tempfile.mkdtemp(prefix="vessel-x86mig-")
    devices = ["--rng"]
    guests = []
    with guest_run(r, tmp, guests):
        sock = os.path.join(tmp, "a.sock")
        a = Guest(source_argv("64M", 1, devices, sock), name="x86mig-source")
        guests.append(a)
        a.start()
        wait_count(a, 5)
        wait_socket(sock)

        # --- refused: other devices on the destination ---
        port = free_port()
        d = destination([], port, "x86mig-refusing")
        guests.append(d)
        now = counts(a.log())[-1]
        p = migrate(sock, port)
        r.check("a destination with other devices refuses (exit 2, reason shown)",
                p.returncode == 2 and b"virtio device" in p.stdout, p.stdout.decode(errors="replace"))
        rc = d.wait_exit(30)
        r.check("the refusing destination exits non-zero", rc not in (0, None), "status %s" % rc)
        after = wait_count(a, now + 5)
        seq = counts(a.log())
        r.check("the source keeps counting without a gap (%d -> %d)" % (now, after),
                a.proc.poll() is None and consecutive(seq), repr(seq[-20:]))

        # --- moved: same devices ---
        b, bsock = hop(r, a, sock, devices, "x86mig-dest", tmp, b"")
        guests.append(b)
        b.kill()

        # --- again: a VM with RAM above 4 GiB and 2 vCPUs, hop after hop ---
        sock = os.path.join(tmp, "big.sock")
        g = Guest(source_argv("5G", 2, devices, sock), name="x86mig-big")
        guests.append(g)
        g.start()
        wait_count(g, 3)
        wait_socket(sock)
        seen = b""
        for i in range(3):
            # above 4 GiB a destination takes the VM only with its --mem (or --incoming-max-mem)
            n, sock = hop(r, g, sock, devices + ["--mem", "5G"], "x86mig-hop%d" % (i + 1), tmp, seen)
            guests.append(n)
            seen += vessel_lines_removed(g.log())
            g = n
        g.kill()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
