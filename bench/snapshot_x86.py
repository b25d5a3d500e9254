#!/usr/bin/env python3
"""Restore-to-running time of an x86 guest on the kvm engine against QEMU, at several RAM sizes
(issue 5, item 6).

The guest is the project's x86 test guest in PVH form (build/guest/x86/kvmtest-pvh.elf,
command-line word "countonly": it counts PIT ticks and prints "CNT n"), which QEMU boots too.
Per RAM size, for each VMM: boot it, wait for its count, save its state with the guest running
(Vessel: {"snapshot": {"then": "stop"}} over --api-socket; QEMU: QMP migrate to
"exec:cat > FILE"), then restore it (Vessel: `vessel run --restore`; QEMU: -incoming
"exec:cat FILE") and time from exec until the VM runs (Vessel: its "restored ... in N ms"
line, printed as the vCPUs start; QEMU: QMP query-status says "running"). Also prints Vessel's
own restore-to-first-instruction time and the ratio QEMU / Vessel. Measures only: never asserts
a time. Without /dev/kvm prints SKIP; without qemu-system-x86_64 only Vessel's column.

    bench/snapshot_x86.py [--sizes 64,512,2048] [--runs 3]
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
QEMU = shutil.which("qemu-system-x86_64")
GUEST_DIR = os.path.join(ROOT, "build", "guest", "x86")
KERNEL = os.path.join(GUEST_DIR, "kvmtest-pvh.elf")
APPEND = "vessel-test countonly"
CNT = re.compile(rb"CNT (\d+)")


def wait_file(path, pattern, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path, "rb") as f:
                m = re.search(pattern, f.read())
                if m:
                    return m
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    raise RuntimeError("%s: no %r within %ds" % (path, pattern, timeout))


def wait_socket(path, timeout=30):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise RuntimeError("no socket %s" % path)
        time.sleep(0.002)


def vessel_api(path, cmd):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(600)
        s.connect(path)
        s.sendall((json.dumps(cmd) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


class Qmp:
    def __init__(self, path, timeout=30):
        end = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > end:
                    raise
                time.sleep(0.001)
        self.f = self.s.makefile("rb")
        self.f.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.s.sendall((json.dumps({"execute": name, "arguments": args}) + "\n").encode())
        while True:
            m = json.loads(self.f.readline())
            if "return" in m or "error" in m:
                return m

    def close(self):
        self.s.close()


def vessel_run(tmp, mib):
    snap, sock, log = (os.path.join(tmp, n) for n in ("v.snap", "v.sock", "v1.log"))
    for p in (snap, sock):
        if os.path.exists(p):
            os.unlink(p)
    with open(log, "wb") as out:
        p = subprocess.Popen([VESSEL, "run", "--arch", "x86_64", "--kernel", KERNEL, "--mem", "%dM" % mib,
                              "--append", APPEND, "--api-socket", sock],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    wait_file(log, rb"CNT 3\b")
    wait_socket(sock)
    rep = vessel_api(sock, {"snapshot": {"path": snap, "then": "stop"}})
    p.wait(60)
    if not rep.get("ok"):
        raise RuntimeError("vessel snapshot: %r" % rep)
    log2 = os.path.join(tmp, "v2.log")
    with open(log2, "wb") as out:
        t0 = time.monotonic()
        p = subprocess.Popen([VESSEL, "run", "--restore", snap], stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT)
        m = wait_file(log2, rb"restored \S+ in ([0-9.]+) ms")
        wall = (time.monotonic() - t0) * 1000
    wait_file(log2, CNT)
    p.kill()
    p.wait()
    return wall, float(m.group(1)), os.stat(snap).st_blocks * 512  # allocated: RAM never touched is a hole


def qemu_argv(mib, qmp, log):
    return [QEMU, "-accel", "kvm", "-M", "pc", "-m", "%dM" % mib, "-kernel", KERNEL, "-append", APPEND,
            "-display", "none", "-monitor", "none", "-serial", "file:" + log, "-qmp", "unix:%s,server=on,wait=off" % qmp]


def qemu_run(tmp, mib):
    state, qmp, log = (os.path.join(tmp, n) for n in ("q.state", "q.qmp", "q1.log"))
    for p in (state, qmp):
        if os.path.exists(p):
            os.unlink(p)
    p = subprocess.Popen(qemu_argv(mib, qmp, log), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    q = Qmp(qmp)
    wait_file(log, rb"CNT 3\b")
    q.cmd("migrate", uri="exec:cat > " + state)
    while q.cmd("query-migrate")["return"].get("status") not in ("completed", "failed"):
        time.sleep(0.01)
    q.cmd("quit")
    q.close()
    p.wait(60)
    if os.path.exists(qmp):
        os.unlink(qmp)
    log2 = os.path.join(tmp, "q2.log")
    t0 = time.monotonic()
    p = subprocess.Popen(qemu_argv(mib, qmp, log2) + ["-incoming", "exec:cat " + state], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    q = Qmp(qmp)
    while q.cmd("query-status")["return"].get("status") != "running":
        time.sleep(0.001)
    wall = (time.monotonic() - t0) * 1000
    q.close()
    p.kill()
    p.wait()
    return wall, os.path.getsize(state)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="64,512,2048")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP snapshot_x86: /dev/kvm is missing or not accessible")
        return 0
    subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "guest", "x86"), "O=" + GUEST_DIR], check=True)
    tmp = tempfile.mkdtemp(prefix="vessel-bench-x86snap-")
    print("%-8s %16s %16s %12s %16s %12s %8s" % ("RAM", "vessel exec->run", "vessel restore", "vessel file",
                                                 "qemu exec->run", "qemu file", "qemu/vessel"))
    try:
        for mib in (int(x) for x in a.sizes.split(",")):
            vs = [vessel_run(tmp, mib) for _ in range(a.runs)]
            v_wall = sorted(x[0] for x in vs)[len(vs) // 2]
            v_int = sorted(x[1] for x in vs)[len(vs) // 2]
            q_wall, q_size = None, 0
            if QEMU:
                try:
                    qs = [qemu_run(tmp, mib) for _ in range(a.runs)]
                    q_wall = sorted(x[0] for x in qs)[len(qs) // 2]
                    q_size = qs[0][1]
                except (RuntimeError, OSError, KeyError) as e:
                    print("# qemu at %d MiB: %s" % (mib, e))
            print("%-8s %13.1f ms %13.2f ms %9.1f MiB %13s ms %9.1f MiB %8s" % (
                "%d MiB" % mib, v_wall, v_int, vs[0][2] / 2**20,
                "%.1f" % q_wall if q_wall is not None else "-", q_size / 2**20,
                "%.1fx" % (q_wall / v_wall) if q_wall else "-"))
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# median of %d runs; exec->run: from exec of the restoring process until the VM runs" % a.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
