#!/usr/bin/env python3
"""Live migration on loopback: total time and downtime, Vessel against QEMU (issue 5, item 6).

For each VMM (vessel, qemu-system-riscv64 7.2 from Debian) and each load (idle: the guest's
shell waits; busy: the guest rewrites a MEM-sized buffer in a loop with `dd if=/dev/zero
of=/dev/null bs=16M`), boot the cached riscv64 guest (--mem, default 256M, 1 hart), start a
destination waiting for it on 127.0.0.1, migrate with a downtime target of 50 ms on both, and
report what each VMM reports: total time, downtime, passes/iterations and bytes sent. Then one
shell command must be answered by the guest on the destination (so a broken migration cannot
report a time). Prints a table and the ratios QEMU / Vessel. Measures only: never asserts a
time. Exit status 1 only when a run failed outright.

Vessel: `vessel run --api-socket` + `vessel run --incoming`, `vessel migrate --downtime 50`
(its "migrated to ... in T ms: downtime D ms" line). QEMU: `-qmp` + `-incoming tcp:...`,
`migrate-set-parameters {"downtime-limit": 50}`, `migrate`, then `query-migrate`'s total-time
and downtime.

    bench/migrate.py [--mem 256M] [--loads idle,busy] [--vmms vessel,qemu]
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from guest import Guest, GuestError, vmm_command  # noqa: E402

VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
BUSY = "(while true; do dd if=/dev/zero of=/dev/null bs=16M count=8 2>/dev/null; done) & true"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_path(path, timeout=20):
    end = time.monotonic() + timeout
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.05)


class Qmp:
    def __init__(self, path):
        wait_path(path)
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(60)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self.f.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write((json.dumps(msg) + "\n").encode())
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r or "error" in r:
                return r

    def close(self):
        self.s.close()


def secret_args(tmp):
    """The migration's secret for both ends (a Vessel that authenticates migrations needs one;
    an older binary, e.g. to measure before and after, takes none)."""
    helptext = subprocess.run([VESSEL, "migrate", "--help"], stdout=subprocess.PIPE).stdout.decode()
    if "--secret-file" not in helptext:
        return [], []
    path = os.path.join(tmp, "migration.secret")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32).hex().encode())
        os.close(fd)
    return ["--migration-secret-file", path], ["--secret-file", path]


def run_vessel(mem, load, tmp):
    sock = os.path.join(tmp, "v.sock")
    port = free_port()
    dst_secret, src_secret = secret_args(tmp)
    src = Guest(vmm_command(mem=mem, vmm="vessel") + ["--api-socket", sock], name="bench-mig-vessel-src")
    dst = Guest([VESSEL, "run", "--incoming", "127.0.0.1:%d" % port] + dst_secret, name="bench-mig-vessel-dst")
    try:
        src.start()
        src.expect_ready()
        wait_path(sock)
        if load == "busy":
            src.run(BUSY)
            time.sleep(2)
        dst.start()
        time.sleep(0.5)
        p = subprocess.run([VESSEL, "migrate", "--api-socket", sock, "--to", "127.0.0.1:%d" % port,
                            "--downtime", "50"] + src_secret, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        text = p.stdout.decode(errors="replace")
        m = re.search(r"in (\d+) ms: downtime ([\d.]+) ms .*?, (\d+) passes, ([\d.]+) MiB sent", text)
        if p.returncode != 0 or not m:
            raise GuestError("vessel migrate failed: " + text.strip()[-300:])
        out, st = dst.run("echo answered")
        if st != 0 or "answered" not in out:
            raise GuestError("the migrated vessel guest does not answer")
        b = re.search(r"downtime: (.*)", text)
        if b:
            print("       vessel %s: %s" % (load, b.group(1).strip()), flush=True)
        return {"total_ms": float(m.group(1)), "downtime_ms": float(m.group(2)),
                "passes": int(m.group(3)), "mib": float(m.group(4))}
    except GuestError:
        src.save_log()
        dst.save_log()
        raise
    finally:
        src.kill()
        dst.kill()


def run_qemu(mem, load, tmp):
    qs, qd = os.path.join(tmp, "qs.sock"), os.path.join(tmp, "qd.sock")
    port = free_port()
    base = vmm_command(mem=mem, vmm="qemu")
    src = Guest(base + ["-qmp", "unix:%s,server=on,wait=off" % qs], name="bench-mig-qemu-src")
    dst = Guest(base + ["-qmp", "unix:%s,server=on,wait=off" % qd, "-incoming", "tcp:127.0.0.1:%d" % port],
                name="bench-mig-qemu-dst")
    q = None
    try:
        src.start()
        src.expect_ready()
        if load == "busy":
            src.run(BUSY)
            time.sleep(2)
        dst.start()
        wait_path(qd)
        time.sleep(0.5)
        q = Qmp(qs)
        q.cmd("migrate-set-parameters", **{"downtime-limit": 50})
        r = q.cmd("migrate", uri="tcp:127.0.0.1:%d" % port)
        if "error" in r:
            raise GuestError("qemu migrate: %s" % r["error"])
        end = time.monotonic() + 300
        while time.monotonic() < end:
            st = q.cmd("query-migrate")["return"]
            if st.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.05)
        if st.get("status") != "completed":
            raise GuestError("qemu migration ended %s" % st.get("status"))
        try:
            out, rc = dst.run("echo answered", timeout=120)
        except GuestError as e:
            qd_status = Qmp(qd).cmd("query-status")
            raise GuestError("%s; the destination QEMU reports %s" % (e, qd_status.get("return")))
        if rc != 0 or "answered" not in out:
            raise GuestError("the migrated qemu guest does not answer")
        ram = st.get("ram", {})
        return {"total_ms": float(st["total-time"]), "downtime_ms": float(st["downtime"]),
                "passes": int(ram.get("dirty-sync-count", 0)),
                "mib": float(ram.get("transferred", 0)) / (1 << 20)}
    except GuestError:
        src.save_log()
        dst.save_log()
        raise
    finally:
        if q:
            try:
                q.cmd("quit")
            except (OSError, ValueError):
                pass
            q.close()
        src.kill()
        dst.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--loads", default="idle,busy")
    ap.add_argument("--vmms", default="vessel,qemu")
    a = ap.parse_args()
    res, failed = {}, False
    with tempfile.TemporaryDirectory(prefix="vessel-bench-mig-") as tmp:
        for load in a.loads.split(","):
            for vmm in a.vmms.split(","):
                try:
                    res[(vmm, load)] = (run_vessel if vmm == "vessel" else run_qemu)(a.mem, load, tmp)
                    r = res[(vmm, load)]
                    print("%-6s %-4s total %7.0f ms  downtime %7.1f ms  passes %3d  sent %7.1f MiB" %
                          (vmm, load, r["total_ms"], r["downtime_ms"], r["passes"], r["mib"]), flush=True)
                except (GuestError, OSError, subprocess.SubprocessError) as e:
                    failed = True
                    for name in ("src", "dst"):
                        log = os.path.join(ROOT, "build", "test-logs", "bench-mig-%s-%s.log" % (vmm, name))
                        if os.path.exists(log):
                            print("       console log: %s" % log)
                    print("%-6s %-4s FAILED: %s" % (vmm, load, e), flush=True)
    for load in a.loads.split(","):
        v, q = res.get(("vessel", load)), res.get(("qemu", load))
        if v and q:
            print("ratio qemu/vessel, %s guest (%s): total time %.2fx, downtime %.2fx" %
                  (load, a.mem, q["total_ms"] / max(v["total_ms"], 0.01),
                   q["downtime_ms"] / max(v["downtime_ms"], 0.01)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
