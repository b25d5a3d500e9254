#!/usr/bin/env python3
"""Live migration through the daemon's API (issue 5, item 4): two `vessel serve` daemons on this
host, each with its own --socket and --state-dir, the migration over loopback TCP.

  - bad bodies of POST .../migrate and of an "incoming" POST /v1/vms get 400/422 with a message;
    GET/DELETE .../migration of a created VM: state "none" / 409, an x86_64 VM's too (no 501);
    an "incoming" x86_64 VM is accepted (201);
  - x86_64, with --x86-only (alone: tests/nested/x86_suite.py runs it where /dev/kvm works,
    directly or inside L1): the x86 test guest counting on daemon A migrates to an incoming
    x86_64 VM on daemon B; A's VM is `migrated`, B's `running`, and the count goes on by exactly
    1 across the seam; then a snapshot through B restores as a new VM;
  - a riscv64 VM on daemon A boots; a marker file is written in its guest;
  - DELETE .../migration with no migration running -> 409; GET -> state "none";
  - POST .../migrate to a port nobody listens on -> 202, then GET shows `failed` with an error
    and the VM on A still runs (its guest answers on the console);
  - an incoming VM on daemon B (same devices, cpus and memory_mib) is `incoming` once started;
  - POST .../migrate on A -> 202 with the status fields; GET .../migration polled until
    `completed` shows the progress fields; then B's VM is `running` and its guest has the
    marker file, A's VM is `migrated` (with migrated_to) and holds no capacity; A's VM cannot
    be started again; `vessel vm migrate` against a VM that is not running exits 1 with the
    message;
  - back with the CLI: `vessel vm migrate` on B to a new incoming VM on A exits 0; B's VM is
    then `migrated`, A's `running` with the marker file;
  - an incoming VM whose source never comes: `incoming`, pause 409, stop -> stopped.
Ends with "N passed, N failed"; console logs of failing VMs go to build/test-logs/.
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402
from test_snapshot import consecutive, counts  # noqa: E402
from test_x86_snapshot import KERNEL as X86_KERNEL, skip_reason as x86_skip_reason  # noqa: E402
from test_daemon import BOOT_TIMEOUT, SCALE, VESSEL, Console, Daemon, kill_leftovers, save_log, vm_body, wait_log  # noqa: E402,E501

FIELDS = ("state", "to", "passes", "sent_bytes", "remaining_pages", "dirty_rate_pps", "bandwidth_bps", "eta_ms",
          "downtime_ms", "error")




def wait_for(fn, timeout, step=0.1):
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= end:
            return v
        time.sleep(step)


def poll_migration(d, name, timeout):
    """GETs the migration until it ends; returns (last status, states seen, a mid-way status)."""
    seen, mid, st = [], None, {}
    end = time.time() + timeout
    while time.time() < end:
        code, st = d.req("GET", "/v1/vms/%s/migration" % name)
        if code != 200:
            return {"http": code, "body": st}, seen, mid
        if not seen or seen[-1] != st.get("state"):
            seen.append(st.get("state"))
        if st.get("state") in ("precopy", "stopcopy") and mid is None:
            mid = st
        if st.get("state") in ("completed", "failed", "cancelled", "none"):
            return st, seen, mid
        time.sleep(0.1)
    return st, seen, mid


def console_cmd(vm, cmd, pattern, timeout):
    c = Console(vm["console"]["socket"])
    try:
        c.send(cmd)
        return c.expect(pattern, timeout).group(1).decode()
    except (TimeoutError, EOFError, OSError) as e:
        return "(%s: %s)" % (type(e).__name__, e)
    finally:
        c.close()


def check_bad_requests(r, a, b):
    st, _ = a.req("POST", "/v1/vms", vm_body("idle"))
    table = [
        (a, "POST", "/v1/vms/idle/migrate", "{", 400, "bad_json"),
        (a, "POST", "/v1/vms/idle/migrate", "{}", 400, "missing_field"),
        (a, "POST", "/v1/vms/idle/migrate", '{"to":"h:1"}', 400, "missing_field"),
        (a, "POST", "/v1/vms/idle/migrate", '{"to":"h:1","secret":"short"}', 422, "out_of_range"),
        (a, "POST", "/v1/vms/idle/migrate", '{"to":"h:1","speed":9,"secret":"0123456789abcdef0"}', 400, "unknown_field"),
        (a, "POST", "/v1/vms/idle/migrate", '{"to":7,"secret":"0123456789abcdef0"}', 400, "bad_type"),
        (a, "POST", "/v1/vms/idle/migrate", '{"to":"4444","secret":"0123456789abcdef0"}', 422, "out_of_range"),
        (a, "POST", "/v1/vms/idle/migrate", '{"to":"no port:x","secret":"0123456789abcdef0"}', 422, "out_of_range"),
        (a, "POST", "/v1/vms/idle/migrate", '{"to":"h:1","downtime_ms":0,"secret":"0123456789abcdef0"}', 422, "out_of_range"),
        (a, "POST", "/v1/vms/idle/migrate", '{"to":"h:1","max_passes":1001,"secret":"0123456789abcdef0"}', 422, "out_of_range"),
        (a, "POST", "/v1/vms/idle/migrate", '{"to":"127.0.0.1:1","secret":"0123456789abcdef0"}', 409, "invalid_state"),
        (a, "POST", "/v1/vms/nope/migrate", '{"to":"127.0.0.1:1","secret":"0123456789abcdef0"}', 404, "not_found"),
        (a, "DELETE", "/v1/vms/idle/migration", None, 409, "invalid_state"),
        (a, "PUT", "/v1/vms/idle/migration", None, 405, "method_not_allowed"),
        (b, "POST", "/v1/vms", '{"name":"in","incoming":"4444"}', 400, "missing_field"),
        (b, "POST", "/v1/vms", '{"name":"in","incoming":"99999","cpus":1,"memory_mib":256}', 422, "out_of_range"),
        (b, "POST", "/v1/vms", '{"name":"in","incoming":"4444","cpus":1,"memory_mib":256,"kernel":"/k"}', 422,
         "out_of_range"),
        (b, "POST", "/v1/vms", '{"name":"in","incoming":"4444","cpus":1,"memory_mib":256,"arch":"x86_64",'
         '"disks":[{"path":"/d"}]}', 422, "out_of_range"),
    ]
    bad = []
    for d, method, path, body, want_st, want_code in table:
        st, j = d.req(method, path, raw=body)
        err = j.get("error", {}) if isinstance(j, dict) else {}
        if st != want_st or err.get("code") != want_code or not err.get("message"):
            bad.append("%s %s %.40r -> %s %s (want %s %s)" % (method, path, body, st, err.get("code"), want_st,
                                                               want_code))
    r.check("%d bad migration requests get the documented status, code and a message" % len(table), not bad,
            "; ".join(bad))
    st, j = a.req("GET", "/v1/vms/idle/migration")
    r.check("GET .../migration of a VM that never migrated -> 200 state none", st == 200 and j.get("state") == "none",
            (st, j))
    a.req("DELETE", "/v1/vms/idle")
    # An x86_64 VM needs an x86 kernel (the daemon checks it at create): the cached Debian
    # bzImage (scripts/fetch-guest.sh --x86), else the x86 test guest.
    kernel = next((k for k in (os.path.join(guest.cache_dir(), "x86_64", "bzImage"), X86_KERNEL)
                   if os.path.isfile(k)), "/no-x86-kernel (run scripts/fetch-guest.sh --x86)")
    st, _ = a.req("POST", "/v1/vms", {"name": "pc", "arch": "x86_64", "kernel": kernel})
    got = [a.req(m, "/v1/vms/pc/" + p, body) for m, p, body in (
        ("POST", "migrate", {"to": "127.0.0.1:1", "secret": "0123456789abcdef0"}), ("GET", "migration", None), ("DELETE", "migration", None))]
    codes = [c for c, _ in got]
    r.check("migration routes of a created x86_64 VM: no 501; 409, state none, 409 (%s)" % codes,
            st == 201 and codes == [409, 200, 409] and got[1][1].get("state") == "none", got)
    a.req("DELETE", "/v1/vms/pc")
    st, j = b.req("POST", "/v1/vms", {"name": "pcin", "arch": "x86_64", "incoming": "4444", "cpus": 1,
                                      "memory_mib": 64})
    r.check("POST /v1/vms with incoming and arch x86_64 -> 201", st == 201 and j.get("config", {}).get("arch")
            == "x86_64", (st, j))
    b.req("DELETE", "/v1/vms/pcin")


def log_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def log_counts(path):
    return counts(log_bytes(path))


def check_x86(r, a, b, logs):
    """An x86_64 VM (the x86 test guest, counting PIT ticks on its console) migrates from daemon
    A to an incoming VM on daemon B; the count goes on there by exactly 1 across the seam."""
    why = x86_skip_reason()
    if why:
        r.check("x86: the x86 test guest can run (%s)" % why, False)
        return
    body = {"name": "pc", "arch": "x86_64", "kernel": X86_KERNEL, "cpus": 1, "memory_mib": 64,
            "cmdline": "vessel-test cpus=1 count"}
    st, _ = a.req("POST", "/v1/vms", body)
    st2, src = a.req("POST", "/v1/vms/pc/start")
    logs.append(("pc-a", src.get("console", {}).get("log", "/nonexistent")))
    logs.append(("pc-a-vmm", src.get("console", {}).get("vmm_log", "/nonexistent")))
    ok = st == 201 and st2 == 200 and wait_for(lambda: len(log_counts(src["console"]["log"])) > 5, 30 * SCALE)
    if not r.check("x86: the VM on daemon A boots and counts", ok, (st, st2, src)):
        for f in glob.glob(os.path.join(a.state, "vms", "*.log")):
            print("     %s: %r" % (f, open(f, "rb").read()[-600:]), flush=True)
        return
    port = guest.free_port()
    st, _ = b.req("POST", "/v1/vms", {"name": "pc", "arch": "x86_64", "incoming": "127.0.0.1:%d" % port,
                                      "cpus": 1, "memory_mib": 64})
    st2, dst = b.req("POST", "/v1/vms/pc/start")
    logs.append(("pc-b", dst.get("console", {}).get("log", "/nonexistent")))
    logs.append(("pc-b-vmm", dst.get("console", {}).get("vmm_log", "/nonexistent")))
    r.check("x86: the incoming VM on B is incoming and listens",
            st == 201 and st2 == 200 and dst.get("state") == "incoming" and wait_for(lambda: guest.listening(port),
                                                                                     10 * SCALE), (st, st2, dst))
    st, j = a.req("POST", "/v1/vms/pc/migrate", {"to": "127.0.0.1:%d" % port, "downtime_ms": 100,
                                                 "secret": dst.get("migration_secret")})
    last, seen, _ = poll_migration(a, "pc", 120 * SCALE)
    r.check("x86: POST .../migrate -> 202, polled until completed (states %s, downtime %s ms)"
            % (seen, last.get("downtime_ms")), st == 202 and last.get("state") == "completed", (st, j, last))
    sa = wait_for(lambda: (lambda v: v if v.get("state") == "migrated" else None)(a.req("GET", "/v1/vms/pc")[1]),
                  10 * SCALE) or {}
    sb = wait_for(lambda: (lambda v: v if v.get("state") == "running" else None)(b.req("GET", "/v1/vms/pc")[1]),
                  10 * SCALE) or {}
    r.check("x86: A's VM is migrated, B's running", sa.get("state") == "migrated" and sb.get("state") == "running",
            (sa.get("state"), sb.get("state")))
    before = log_counts(src["console"]["log"])
    wait_for(lambda: len(log_counts(dst["console"]["log"])) > 5, 30 * SCALE)
    after = log_counts(dst["console"]["log"])
    seam = counts(log_bytes(src["console"]["log"]) + log_bytes(dst["console"]["log"]))  # a line may straddle
    r.check("x86: the guest counts on on B, by exactly 1 across the seam (%s .. %s)"
            % (before[-1:] or "-", after[:1] or "-"), before and len(after) > 5 and consecutive(seam),
            (before[-5:], after[:5]))
    # an x86 snapshot through the daemon, restored as a new VM that counts on
    snap = os.path.join(os.path.dirname(b.state), "pc.snap")
    st, j = b.req("POST", "/v1/vms/pc/snapshot", {"path": snap, "then": "stop"})
    r.check("x86: POST .../snapshot (then=stop) of the migrated VM -> 200, file written",
            st == 200 and os.path.isfile(snap), (st, j))
    st, j = b.req("POST", "/v1/vms", {"name": "pcr", "arch": "x86_64", "restore": snap})
    st2, rst = b.req("POST", "/v1/vms/pcr/start")
    logs.append(("pcr-b", rst.get("console", {}).get("log", "/nonexistent")))
    ok = (st == 201 and j.get("cpus") == 1 and j.get("memory_mib") == 64 and st2 == 200
          and wait_for(lambda: len(log_counts(rst["console"]["log"])) > 5, 30 * SCALE))
    seam2 = counts(log_bytes(dst["console"]["log"]) + log_bytes(rst.get("console", {}).get("log", "/nonexistent")))
    r.check("x86: POST /v1/vms {restore} of it (vCPUs and RAM from the file) counts on by exactly 1",
            ok and consecutive(seam2), (st, j.get("cpus"), j.get("memory_mib"), st2, seam2[-8:]))
    for d, name in ((a, "pc"), (b, "pc"), (b, "pcr")):
        d.req("POST", "/v1/vms/%s/stop" % name)
        d.req("DELETE", "/v1/vms/%s" % name)


def main_x86():
    """--x86-only: the x86 VM's migration between two daemons, nothing else (the nested suite)."""
    r = guest.Results("daemon-migrate: ")
    tmp = tempfile.mkdtemp(prefix="vessel-dmig86-")
    os.makedirs(os.path.join(tmp, "a"))
    os.makedirs(os.path.join(tmp, "b"))
    x86 = [os.path.dirname(X86_KERNEL)]  # the daemons' path policy: the x86 test guest
    a, b = Daemon(os.path.join(tmp, "a"), allow=x86), Daemon(os.path.join(tmp, "b"), allow=x86)
    if os.environ.get("NESTED_L1"):  # see NESTED_NO_JAIL in x86_linux_platform.py
        a.extra = b.extra = ["--no-jail"]
    logs = []
    t0 = time.time()
    try:
        a.start()
        b.start()
        check_x86(r, a, b, logs)
    except Exception as e:  # noqa: BLE001 - one failure line, then clean up
        r.check("daemon x86 migration test ran to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        for d in (a, b):
            kill_leftovers(d)
            d.terminate()
        if r.failed:
            for name, path in logs:
                print("     log of %s: %s" % (name, save_log(path, name)), flush=True)
            print("     daemon logs: %s/{a,b}/serve.log" % tmp, flush=True)
    print("daemon x86 migrate test: %.1f s" % (time.time() - t0))
    print("%d passed, %d failed" % (r.passed, r.failed))
    if not r.failed:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if r.failed else 0


def main():
    if "--x86-only" in sys.argv[1:]:
        return main_x86()
    r = guest.Results("daemon-migrate: ")
    for f in ("Image", "initramfs.cpio.gz", "fw_dynamic.bin"):
        if not os.path.isfile(guest.artifact(f)):
            print("FAIL guest artifact %s missing (run scripts/fetch-guest.sh)" % guest.artifact(f))
            print("0 passed, 1 failed")
            return 1
    tmp = tempfile.mkdtemp(prefix="vessel-dmig-")
    os.makedirs(os.path.join(tmp, "a"))
    os.makedirs(os.path.join(tmp, "b"))
    # and the x86 test guest (check_x86), when it is built (the x86 step builds it; the riscv
    # part runs before that on a fresh clone)
    allow = [tmp] + [d for d in (os.path.dirname(X86_KERNEL),) if os.path.isdir(d)]
    a, b = Daemon(os.path.join(tmp, "a"), allow=allow), Daemon(os.path.join(tmp, "b"), allow=allow)
    disk = os.path.join(tmp, "shared.img")
    with open(disk, "wb") as f:
        f.truncate(4 << 20)
    devices = {"disks": [{"path": disk}]}
    logs = []
    t0 = time.time()
    try:
        a.start()
        b.start()
        check_bad_requests(r, a, b)
        # the x86 VM's migration needs /dev/kvm: tests/nested/x86_suite.py (tests/run.sh x86) runs
        # it, on this host or inside L1 (--x86-only)
        print("INFO daemon x86 migration: in tests/run.sh's x86 step (tests/nested/x86_suite.py daemon)")

        st, src = a.req("POST", "/v1/vms", vm_body("mover", **devices))
        st2, src = a.req("POST", "/v1/vms/mover/start")
        logs.append(("mover-a", src.get("console", {}).get("log", "/nonexistent")))
        ok = st == 201 and st2 == 200 and wait_log(src["console"]["log"], guest.READY_RE, BOOT_TIMEOUT)
        if not r.check("the VM on daemon A boots", ok, (st, st2, src.get("state"))):
            raise RuntimeError("no source VM")
        got = console_cmd(src, "\necho MIG-$((6*7)) > /tmp/migmark; echo MARK$((1+1))ED-$(cat /tmp/migmark)\n",
                          r"MARK2ED-(\S+)\r?\n", 30 * SCALE)
        r.check("a marker file is written in the guest on A", got == "MIG-42", got)

        st, j = a.req("DELETE", "/v1/vms/mover/migration")
        r.check("DELETE .../migration with none running -> 409 with a message",
                st == 409 and j.get("error", {}).get("code") == "invalid_state" and j["error"].get("message"), (st, j))
        st, j = a.req("GET", "/v1/vms/mover/migration")
        r.check("GET .../migration before any -> state none", st == 200 and j.get("state") == "none", (st, j))

        # nobody listens there
        dead = guest.free_port()
        st, j = a.req("POST", "/v1/vms/mover/migrate", {"to": "127.0.0.1:%d" % dead, "timeout_ms": 2000,
                                                        "secret": "0123456789abcdef0"})
        r.check("POST .../migrate to a dead port -> 202 with a status", st == 202 and "state" in j, (st, j))
        last, seen, _ = poll_migration(a, "mover", 30 * SCALE)
        r.check("... ends failed with an error (%s)" % last.get("error"),
                last.get("state") == "failed" and last.get("error"), (last, seen))
        st, j = a.req("GET", "/v1/vms/mover")
        r.check("... and the VM on A is still running", j.get("state") == "running", j.get("state"))
        got = console_cmd(src, "\necho ALIVE-$((3+4))\n", r"ALIVE-(\d+)\r?\n", 30 * SCALE)
        r.check("... and its guest answers", got == "7", got)

        # the destination
        port = guest.free_port()
        body = {"name": "mover", "incoming": "127.0.0.1:%d" % port, "cpus": 1, "memory_mib": 256}
        body.update(devices)
        st, dst = b.req("POST", "/v1/vms", body)
        r.check("POST /v1/vms with incoming on B -> 201", st == 201 and dst.get("state") == "created", (st, dst))
        st, dst = b.req("POST", "/v1/vms/mover/start")
        logs.append(("mover-b", dst.get("console", {}).get("log", "/nonexistent")))
        logs.append(("mover-b-vmm", dst.get("console", {}).get("vmm_log", "/nonexistent")))
        r.check("the incoming VM starts: state incoming, capacity reserved",
                st == 200 and dst.get("state") == "incoming"
                and b.req("GET", "/v1/host")[1]["allocated"]["memory_mib"] == 256 + 64, (st, dst.get("state")))
        r.check("... and listens on its port", wait_for(lambda: guest.listening(port), 10 * SCALE))
        secret = dst.get("migration_secret") or ""
        st_, again = b.req("GET", "/v1/vms/mover")
        r.check("the incoming VM shows its migration secret while it waits (64 hex digits)",
                len(secret) == 64 and again.get("migration_secret") == secret, (dst.get("migration_secret"), again))
        # the wrong secret: the source fails, the destination drops it and keeps waiting
        st, j = a.req("POST", "/v1/vms/mover/migrate", {"to": "127.0.0.1:%d" % port, "timeout_ms": 3000,
                                                        "secret": "not-the-secret-of-this-vm"})
        last, seen, _ = poll_migration(a, "mover", 30 * SCALE)
        r.check("POST .../migrate with the wrong secret: failed (%s), the VM runs on A, B still waits"
                % last.get("error"), st == 202 and last.get("state") == "failed"
                and "secret" in (last.get("error") or "") and a.req("GET", "/v1/vms/mover")[1].get("state") == "running"
                and b.req("GET", "/v1/vms/mover")[1].get("state") == "incoming" and guest.listening(port), (st, last))

        st, j = a.req("POST", "/v1/vms/mover/migrate", {"to": "127.0.0.1:%d" % port, "downtime_ms": 100,
                                                        "secret": secret})
        r.check("POST .../migrate to B -> 202 with the status fields",
                st == 202 and j.get("to") and j.get("state") in ("connecting", "precopy", "stopcopy", "completed"),
                (st, j))
        st2, j2 = a.req("POST", "/v1/vms/mover/migrate", {"to": "127.0.0.1:%d" % port, "secret": secret})
        r.check("a second POST .../migrate while one runs -> 409 (or it already ended)",
                st2 == 409 or (j2.get("error", {}).get("code") == "invalid_state"), (st2, j2))
        last, seen, mid = poll_migration(a, "mover", 180 * SCALE)
        r.check("GET .../migration polled until completed (states %s)" % seen, last.get("state") == "completed",
                (last, seen))
        missing = [k for k in FIELDS if k not in last]
        r.check("the final status has the fields (%d passes, %.1f MiB sent, downtime %s ms)"
                % (last.get("passes", -1), last.get("sent_bytes", 0) / 2**20, last.get("downtime_ms")),
                not missing and last.get("sent_bytes", 0) > 0 and last.get("to") == "127.0.0.1:%d" % port,
                (missing, last))
        if mid is not None:
            r.check("a mid-way status shows progress", mid.get("sent_bytes", -1) >= 0 and "eta_ms" in mid, mid)
        st, j = a.req("GET", "/v1/vms/mover")
        j = wait_for(lambda: (lambda s: s if s.get("state") != "running" else None)(a.req("GET", "/v1/vms/mover")[1]),
                     10 * SCALE) or j
        r.check("A's VM is migrated (to %s), not stopped or crashed" % j.get("migrated_to"),
                j.get("state") == "migrated" and j.get("migrated_to") == "127.0.0.1:%d" % port
                and j.get("last_exit") == "exited 0", (j.get("state"), j.get("migrated_to"), j.get("last_exit")))
        h = a.req("GET", "/v1/host")[1]
        r.check("A holds no capacity for it", h["allocated"]["memory_mib"] == 0 and h["allocated"]["vcpus"] == 0,
                h["allocated"])
        st, j = a.req("GET", "/v1/vms/mover/migration")
        r.check("GET .../migration after the hand-over still says completed", st == 200
                and j.get("state") == "completed", (st, j))
        st, j = a.req("POST", "/v1/vms/mover/start")
        r.check("a migrated VM cannot be started again on A (409)", st == 409, (st, j))
        st, j = b.req("GET", "/v1/vms/mover")
        j = wait_for(lambda: (lambda s: s if s.get("state") == "running" else None)(b.req("GET", "/v1/vms/mover")[1]),
                     10 * SCALE) or j
        r.check("B's VM is running", j.get("state") == "running", j.get("state"))
        got = console_cmd(dst, "\ncat /tmp/migmark\n", r"(MIG-\d+)\r?\n", 30 * SCALE)
        r.check("B's guest has the marker file written on A", got == "MIG-42", got)

        env = dict(os.environ, VESSEL_SOCKET=a.sock)
        any_secret = os.path.join(tmp, "any.secret")
        fd = os.open(any_secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"0123456789abcdef0123\n")
        os.close(fd)
        p = subprocess.run([VESSEL, "vm", "migrate", "mover", "--to", "127.0.0.1:%d" % port, "--secret-file",
                            any_secret], capture_output=True, text=True, env=env, timeout=60 * SCALE)
        r.check("vessel vm migrate of a VM that is not running: exit 1 and the daemon's message",
                p.returncode == 1 and "not running" in p.stderr, (p.returncode, p.stderr))

        # and back with the CLI: A's migrated definition gives way to an incoming one
        st, _ = a.req("DELETE", "/v1/vms/mover")
        port3 = guest.free_port()
        body = {"name": "mover", "incoming": "127.0.0.1:%d" % port3, "cpus": 1, "memory_mib": 256}
        body.update(devices)
        a.req("POST", "/v1/vms", body)
        st2, back = a.req("POST", "/v1/vms/mover/start")
        ok = st == 200 and st2 == 200 and wait_for(lambda: guest.listening(port3), 10 * SCALE)
        r.check("A's migrated VM is deleted, an incoming one takes its name and listens", ok, (st, st2, back))
        envb = dict(os.environ, VESSEL_SOCKET=b.sock)
        secret_path = os.path.join(tmp, "back.secret")
        fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (back.get("migration_secret") or "").encode() + b"\n")
        os.close(fd)
        p = subprocess.run([VESSEL, "vm", "migrate", "mover", "--to", "127.0.0.1:%d" % port3, "--downtime", "100",
                            "--secret-file", secret_path],
                           capture_output=True, text=True, env=envb, timeout=180 * SCALE)
        r.check("vessel vm migrate B -> A: exit 0, 'migrated to' shown", p.returncode == 0
                and "migrated to 127.0.0.1:%d" % port3 in p.stderr, (p.returncode, p.stderr[-500:]))
        sb = wait_for(lambda: (lambda s: s if s.get("state") != "running" else None)(b.req("GET", "/v1/vms/mover")[1]),
                      10 * SCALE) or {}
        sa = wait_for(lambda: (lambda s: s if s.get("state") == "running" else None)(a.req("GET", "/v1/vms/mover")[1]),
                      10 * SCALE) or {}
        r.check("after the CLI's migration: B's VM migrated, A's running", sb.get("state") == "migrated"
                and sa.get("state") == "running", (sb.get("state"), sa.get("state")))
        got = console_cmd(back, "\ncat /tmp/migmark\n", r"(MIG-\d+)\r?\n", 30 * SCALE)
        r.check("the guest, back on A, still has its marker file", got == "MIG-42", got)
        st, j = a.req("POST", "/v1/vms/mover/stop")
        r.check("A's VM stops", st == 200 and j.get("state") == "stopped", (st, j.get("state")))

        # an incoming VM whose source never comes
        port2 = guest.free_port()
        b.req("POST", "/v1/vms", {"name": "waiting", "incoming": str(port2), "cpus": 1, "memory_mib": 128})
        st, j = b.req("POST", "/v1/vms/waiting/start")
        st2, j2 = b.req("POST", "/v1/vms/waiting/pause")
        st3, j3 = b.req("POST", "/v1/vms/waiting/stop")
        r.check("an incoming VM that waits: incoming, pause 409, stop -> stopped",
                j.get("state") == "incoming" and st2 == 409 and j3.get("state") == "stopped",
                (j.get("state"), st2, j3.get("state")))
    except Exception as e:  # noqa: BLE001 - one failure line, then clean up
        r.check("daemon migration test ran to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        for d in (a, b):
            kill_leftovers(d)
            d.terminate()
        if r.failed:
            for name, path in logs:
                print("     log of %s: %s" % (name, save_log(path, name)), flush=True)
            print("     daemon logs: %s/{a,b}/serve.log" % tmp, flush=True)
    print("daemon migrate test: %.1f s" % (time.time() - t0))
    print("%d passed, %d failed" % (r.passed, r.failed))
    if not r.failed:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
