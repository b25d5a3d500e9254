#!/usr/bin/env python3
"""The sandbox (docs/sandbox.md): jailed VM processes, image locks, the daemon's API policy.

  jail     (root) one `vessel run --jail` guest with every kind of device: a writable raw disk,
           a qcow2 overlay on a backing file, a read-only disk, --net user (DHCP, a download from
           the host's loopback with sha256), virtio-rng, a console socket, the balloon. Inside the
           guest the devices work; the VM process is pid 1 of its own PID namespace, in mount,
           IPC and UTS namespaces of its own, runs as a uid of the jail range with no
           capabilities (effective, permitted, bounding), no_new_privs and seccomp filters on
           every thread, rlimits set; its root (/proc/PID/root, seen from the host) holds only
           its files; it cannot open /etc/shadow, /etc/passwd or the host's /proc; a snapshot
           (then=resume) writes the file and overlays in its --jail-dir, then=stop ends it; a
           jailed restore continues the guest; it live-migrates over loopback to a jailed
           --incoming VM (disk locks handed over) which keeps the guest's files and disk block;
           a call outside a thread's allow-list ({"sandbox": {"denied_call": true}}) ends the
           VM by SIGSYS with one line naming the thread and the call
  locks    while the jailed guest writes its raw disk: a second `vessel run` on it, `vessel disk
           info|check --repair` and qemu-img info are refused naming the lock ("write"), and
           qemu-img info -U reads it; its read-only disk is shared with `vessel disk info` and
           qemu-img; an image qemu-io writes is refused to `vessel run` (writer and reader)
  daemon   `vessel serve` allowing only a test directory: initrd /etc/shadow, disk /etc/passwd,
           a symlink to /etc/shadow, a qcow2 whose backing file is /etc/passwd and snapshot paths
           outside get 403 with the reason; a second definition writing one image gets 409
           naming the first VM (read-only is fine); GET /v1/vms/%ff is 404; the socket is 0660
           with --socket-group; 64 connections sending a header line every 2 s do not keep
           another client out, and are cut after the request deadline; a snapshot under way
           does not hold up GET /v1/vms; the TCP listener answers 401 without or with a wrong
           token and 200 with it (also `vessel vm list` with VESSEL_API and VESSEL_TOKEN_FILE),
           TLS client certificates (401 without one, 200 with the CA's, refused with another's);
           --listen without authentication does not start; a jailed daemon VM runs as a jail uid

Without root the jail checks print SKIP and the daemon runs with --no-jail. Ends with
"N passed, N failed"; console logs of failing guests go to build/test-logs/.
"""

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402
from guest import Guest, GuestError, Results, api, wait_socket  # noqa: E402
from test_daemon import Daemon, UnixHTTP, vm_body, wait_log  # noqa: E402
from test_net import DHCP_SCRIPT, serve_http, sha  # noqa: E402

VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(guest.ROOT, "build", "vessel")
SCALE = guest.timeout_scale()
ROOT_USER = os.geteuid() == 0
UID_FIRST, UID_COUNT = 900000000, 65536


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout * SCALE, **kw)


def jailed_vm(name, tmp, jdir, extra, mem="256M"):
    argv = guest.vmm_command(mem=mem, vmm="vessel") + ["--jail", "--jail-dir", jdir] + extra
    return Guest(argv, name=name)


def ns_ids():
    return {n: os.readlink("/proc/self/ns/%s" % n) for n in ("mnt", "pid", "ipc", "uts")}


def files_under(root):
    """Every non-directory path in a process's root, as the process sees it."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = "/" + os.path.relpath(d, root).lstrip(".")
        if rel.startswith("/proc"):
            dirs[:] = []
            continue
        for f in files:
            out.add(os.path.normpath(os.path.join(rel, f)))
    return out


def check_inside(r, g, sock, disks):
    st = api(sock, {"sandbox": None})
    host = ns_ids()
    r.check("jail: pid 1 of its own PID namespace; own mount, IPC and UTS namespaces",
            st.get("pid") == 1 and all(st.get("ns", {}).get(n) not in (None, host[n]) for n in host), st)
    r.check("jail: a uid and gid of the jail range (%s), not root" % st.get("uid"),
            UID_FIRST <= (st.get("uid") or 0) < UID_FIRST + UID_COUNT and st.get("gid") == st.get("uid")
            and st.get("groups") == "", st)
    r.check("jail: no capabilities (effective, permitted, inheritable, ambient, bounding)",
            all(st.get(k) == "0000000000000000" for k in ("cap_eff", "cap_prm", "cap_inh", "cap_amb", "cap_bnd")), st)
    r.check("jail: no_new_privs, seccomp filter mode, main thread with 2 filters",
            st.get("no_new_privs") == 1 and st.get("seccomp") == 2 and st.get("seccomp_filters") == 2, st)
    pid = g.proc.pid
    kids = [int(p) for p in open("/proc/%d/task/%d/children" % (pid, pid)).read().split()]
    vmpid = kids[0] if kids else pid  # the jailed process is the relay's child
    threads = {}
    for t in os.listdir("/proc/%d/task" % vmpid):
        comm = open("/proc/%d/task/%s/comm" % (vmpid, t)).read().strip()
        filters = re.search(r"Seccomp_filters:\s+(\d+)", open("/proc/%d/task/%s/status" % (vmpid, t)).read())
        threads.setdefault(comm, set()).add(int(filters.group(1)) if filters else 0)
    # the spawner has one filter (the union); every other thread its role's on top of it, the
    # main thread its creating and its running filters
    bad = {c: f for c, f in threads.items() if f != ({1} if c == "spawner" else {2})}
    r.check("jail: every thread has its role's filter over the spawner's (%s)" % sorted(threads),
            not bad and {"main", "vcpu", "control", "console", "virtio-blk", "virtio-rng", "virtio-net",
                         "net-user", "spawner"} <= set(threads), threads)
    lim = open("/proc/%d/limits" % vmpid).read()
    r.check("jail: rlimits: no core files, 4096 fds, 512 threads, an address space limit",
            re.search(r"Max core file size\s+0\s+0", lim) and re.search(r"Max open files\s+4096\s+4096", lim)
            and re.search(r"Max processes\s+512\s+512", lim)
            and not re.search(r"Max address space\s+unlimited", lim), lim)
    seen = files_under("/proc/%d/root" % vmpid)
    want = {guest.artifact(f) for f in ("Image", "initramfs.cpio.gz", "fw_dynamic.bin")} | set(disks)
    allowed = want | {"/dev/null", "/dev/zero", "/dev/urandom"} | {
        "/etc/" + f for f in ("resolv.conf", "hosts", "nsswitch.conf", "host.conf", "gai.conf")}
    extra = {p for p in seen - allowed if not p.startswith(os.path.dirname(sock) + "/")}
    r.check("jail: its root holds only its boot files, disks, backing file, /dev/{null,zero,urandom}, "
            "the resolver's /etc files and its own directory (%d files)" % len(seen),
            want <= seen and not extra, "missing %s, extra %s" % (sorted(want - seen), sorted(extra)))
    probes = {p: api(sock, {"sandbox": {"open": p}}).get("error")
              for p in ("/etc/shadow", "/etc/passwd", "/proc/1/../../etc/shadow", "/proc/sys/kernel/hostname",
                        "/usr/bin/env", guest.artifact("Image"))}
    r.check("jail: the VM process cannot open /etc/shadow, /etc/passwd, the host's /proc or /usr; "
            "it can open its kernel", all(probes[p] == "No such file or directory" for p in list(probes)[:5])
            and probes[guest.artifact("Image")] is None, probes)


def check_jail_and_locks(r, tmp):
    if not ROOT_USER:
        print("SKIP jail and lock checks with a jailed VM: not root", flush=True)
        return
    jdir = os.path.join(tmp, "jail")
    imgs = os.path.join(tmp, "img")
    os.makedirs(imgs)
    raw = os.path.join(imgs, "raw.img")
    with open(raw, "wb") as f:
        f.truncate(16 << 20)
    base = os.path.join(imgs, "base.img")
    with open(base, "wb") as f:
        f.write(os.urandom(1 << 20))
        f.truncate(8 << 20)
    ov = os.path.join(imgs, "ov.qcow2")
    run([VESSEL, "disk", "create", ov, "--backing", base], check=True)
    ro = os.path.join(imgs, "ro.img")
    with open(ro, "wb") as f:
        f.write(os.urandom(1 << 20))
    web = os.path.join(tmp, "web")
    os.makedirs(web)
    blob = os.urandom(300000)
    open(os.path.join(web, "blob"), "wb").write(blob)
    srv = serve_http(web)
    sock = os.path.join(jdir, "api.sock")
    con = os.path.join(jdir, "con.sock")
    devs = ["--disk", raw, "--disk", ov, "--disk", ro + ",ro", "--rng", "--balloon", "0",
            "--net", "user", "--console-socket", con, "--api-socket", sock]
    g = jailed_vm("jail", tmp, jdir, devs)
    guests = [g]
    with guest.guest_run(r, None, guests):
        g.start()
        g.expect_ready(150)
        r.check("jail: the jailed guest boots", True)
        out, st = g.run("dd if=/dev/urandom of=/tmp/b bs=4096 count=1 2>/dev/null; sha256sum /tmp/b | cut -c1-64; "
                        "dd if=/tmp/b of=/dev/vda bs=4096 seek=3 conv=fsync 2>/dev/null; echo $?")
        want = out.split()[0] if out.split() else ""
        with open(raw, "rb") as f:
            f.seek(3 * 4096)
            got = hashlib.sha256(f.read(4096)).hexdigest()
        r.check("jail: a block the guest writes to its raw disk is in the host file", want == got and out.split()[-1] == "0", (out, got))
        out, _ = g.run("dd if=/dev/vdb bs=1M count=1 2>/dev/null | sha256sum | cut -c1-64; "
                       "dd if=/dev/urandom of=/dev/vdb bs=4096 seek=512 count=1 conv=fsync 2>/dev/null; echo W$?")
        r.check("jail: the qcow2 overlay reads its backing file (sha256) and takes writes",
                out.split()[0] == sha(open(base, "rb").read(1 << 20)) and "W0" in out, out)
        out, _ = g.run("dd if=/dev/vdc bs=1M 2>/dev/null | sha256sum | cut -c1-64; echo x > /dev/vdc; echo RO$?")
        r.check("jail: the read-only disk reads right and refuses writes",
                out.split()[0] == sha(open(ro, "rb").read()) and "RO0" not in out, out)
        out, _ = g.run("head -c 4096 /dev/hwrng | wc -c")
        r.check("jail: virtio-rng gives bytes", out.strip() == "4096", out)
        g.run(DHCP_SCRIPT)
        out, st = g.run("ip link set eth0 up && udhcpc -i eth0 -s /tmp/dhcp.sh -q -n -t 10 -T 2 >/dev/null 2>&1; wget -q -O - "
                        "http://10.0.2.2:%d/blob | sha256sum | cut -c1-64" % srv.server_address[1], timeout=90)
        r.check("jail: --net user: DHCP and a download from the host's loopback (sha256)", out.strip() == sha(blob), out)
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(30 * SCALE)
        c.connect(con)
        g.sendline("echo HVC-$((40+2)) > /dev/hvc0")
        buf = b""
        end = time.time() + 30 * SCALE
        while b"HVC-42" not in buf and time.time() < end:
            buf += c.recv(4096)
        c.close()
        r.check("jail: the console socket carries the guest's output", b"HVC-42" in buf, buf[-100:])
        r.check("jail: the balloon answers over the control socket",
                api(sock, {"balloon_target_mib": 16}).get("ok") is True)
        check_inside(r, g, sock, [raw, ov, ro, base])
        check_locks(r, tmp, raw, ro, ov)
        # snapshot: then=resume (overlays in the jail dir), a marker, then=stop; restore jailed
        snap1 = os.path.join(jdir, "s1.snap")
        j = api(sock, {"snapshot": {"path": snap1, "then": "resume"}})
        moved = [d.get("now", "") for d in j.get("disks", [])]
        r.check("jail: snapshot then=resume writes the file and puts the overlays in --jail-dir",
                j.get("ok") and os.path.isfile(snap1) and len(moved) == 2
                and all(os.path.dirname(p) == os.path.realpath(jdir) and os.path.isfile(p) for p in moved), j)
        g.run("echo JAILMARK-7 > /tmp/mark; sync")
        snap2 = os.path.join(jdir, "s2.snap")
        j = api(sock, {"snapshot": {"path": snap2, "then": "stop"}})
        rc = g.wait_exit(60)
        r.check("jail: snapshot then=stop ends the jailed VM with status 0", j.get("ok") and rc == 0, (j, rc))
        disks = ["--disk", moved[0], "--disk", moved[1], "--disk", ro + ",ro"]
        restore = [VESSEL, "run", "--restore", snap2, "--jail", "--jail-dir", jdir, "--rng", "--balloon", "0",
                   "--net", "user", "--console-socket", con, "--api-socket", sock] + disks
        g2 = Guest(restore, name="jail-restored")
        guests.append(g2)
        g2.start()
        wait_socket(sock, 60)
        g2.send("\n")
        out, _ = g2.run("cat /tmp/mark")
        r.check("jail: a jailed restore continues the guest (its /tmp file)", out.strip() == "JAILMARK-7", out)
        check_migrate(r, tmp, g2, sock, jdir, disks, guests)
    srv.shutdown()


def check_migrate(r, tmp, src, sock, jdir, disks, guests):
    jdir2 = os.path.join(tmp, "jail2")
    sock2 = os.path.join(jdir2, "api.sock")
    port = guest_port()
    # the migration's secret (docs/migration.md): read before the jail is entered
    secret = secrets.token_hex(32)
    secret_file = os.path.join(tmp, "migration.secret")
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, secret.encode())
    os.close(fd)
    dst = Guest([VESSEL, "run", "--incoming", "127.0.0.1:%d" % port, "--migration-secret-file", secret_file,
                 "--jail", "--jail-dir", jdir2,
                 "--rng", "--balloon", "0", "--net", "user", "--api-socket", sock2,
                 "--console-socket", os.path.join(jdir2, "con.sock")] + disks, name="jail-incoming")
    guests.append(dst)
    dst.start()
    dst.expect(r"waiting for a migration", 30)
    src.run("dd if=/dev/urandom of=/tmp/blk bs=4096 count=1 2>/dev/null; dd if=/tmp/blk of=/dev/vda bs=4096 "
            "seek=7 conv=fsync 2>/dev/null; sha256sum /tmp/blk | cut -c1-64 > /tmp/blk.sha")
    j = api(sock, {"migrate": {"to": "127.0.0.1:%d" % port, "secret": secret}})
    rc = src.wait_exit(120) if j.get("ok") else None
    r.check("jail: the jailed VM live-migrates to a jailed --incoming VM (source exits 0)",
            j.get("ok") and rc == 0, (j, rc))
    wait_socket(sock2, 60)
    dst.send("\n")
    out, _ = dst.run("cat /tmp/mark; dd if=/dev/vda bs=4096 skip=7 count=1 2>/dev/null | sha256sum | cut -c1-64; "
                     "cat /tmp/blk.sha")
    lines = out.split()
    r.check("jail: on the destination the guest keeps its files and reads the block written just before",
            len(lines) == 3 and lines[0] == "JAILMARK-7" and lines[1] == lines[2], out)
    try:
        api(sock2, {"sandbox": {"denied_call": True}}, timeout=10)  # no answer: the VM ends
    except (OSError, ValueError):
        pass
    rc = dst.wait_exit(30)
    line = re.search(rb"seccomp: the control thread \(tid \d+\) called execve \(59\), which its allow-list "
                     rb"denies; the VM process stops", dst.log())
    r.check("jail: a call outside the control thread's allow-list ends the VM by SIGSYS with a line "
            "naming the thread and the call", rc == -31 and line is not None, (rc, dst.log()[-400:]))


def guest_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_locks(r, tmp, raw, ro, qcow):
    """raw and qcow: written by the running jailed guest; ro: its read-only disk."""
    out = run(guest.vmm_command(vmm="vessel") + ["--disk", raw], timeout=60)
    r.check("locks: a second `vessel run` writing the image is refused naming the lock and the image",
            out.returncode == 1 and '"write" lock' in out.stderr and raw in out.stderr, out.stderr[-500:])
    out2 = run([VESSEL, "disk", "info", raw])
    out3 = run([VESSEL, "disk", "check", "--repair", raw])
    r.check("locks: `vessel disk info` (a reader) and `disk check --repair` (a writer) are refused",
            out2.returncode == 1 and "locked by another user" in out2.stderr and out3.returncode == 1
            and "locked by another user" in out3.stderr, (out2.stderr, out3.stderr))
    if shutil.which("qemu-img"):
        q = run(["qemu-img", "info", qcow])  # (for a raw file qemu-img info asks for no lock)
        qu = run(["qemu-img", "info", "-U", qcow])
        r.check("locks: qemu-img sees Vessel's lock (\"Failed to get shared 'write' lock\"); -U reads",
                q.returncode != 0 and "write" in q.stderr and "lock" in q.stderr and qu.returncode == 0,
                (q.stderr, qu.returncode))
        q = run(["qemu-img", "info", ro])
        out = run([VESSEL, "disk", "info", ro])
        r.check("locks: a read-only disk is shared: `vessel disk info` and qemu-img info read it",
                q.returncode == 0 and out.returncode == 0, (q.stderr, out.stderr))
        y = os.path.join(tmp, "img", "q.qcow2")
        run([VESSEL, "disk", "create", y, "16M"], check=True)
        holder = subprocess.Popen(["qemu-io", "-c", "sleep %d" % int(60000 * SCALE), y],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            end = time.time() + 20
            while time.time() < end and run([VESSEL, "disk", "info", y]).returncode == 0:
                time.sleep(0.1)  # until qemu-io holds its locks
            w = run(guest.vmm_command(vmm="vessel") + ["--disk", y])
            rd = run(guest.vmm_command(vmm="vessel") + ["--disk", y + ",ro"])
            r.check("locks: an image qemu-io writes is refused to `vessel run` as writer and as reader",
                    w.returncode == 1 and rd.returncode == 1 and "locked by another user" in w.stderr
                    and "locked by another user" in rd.stderr, (w.stderr[-300:], rd.stderr[-300:]))
        finally:
            holder.kill()
            holder.wait()
    else:
        print("SKIP qemu-img interop: qemu-img not installed", flush=True)


# --- the daemon -------------------------------------------------------------------------------

class PolicyDaemon(Daemon):
    """A daemon that lets clients use only tmp/allowed."""

    def start(self):
        log = open(os.path.join(self.tmp, "serve.log"), "ab")
        self.proc = subprocess.Popen([VESSEL, "serve", "--socket", self.sock, "--state-dir", self.state,
                                      "--cpus", "4", "--memory", "2G",
                                      "--allow-dir", os.path.join(self.tmp, "allowed")] + self.extra,
                                     stdout=log, stderr=log)
        for _ in range(500):
            if os.path.exists(self.sock):
                return
            time.sleep(0.02)
        raise RuntimeError("daemon did not create its socket")


def check_policy(r, d, allowed):
    k, i, fw = (os.path.join(allowed, f) for f in ("Image", "initramfs.cpio.gz", "fw_dynamic.bin"))
    evil_link = os.path.join(allowed, "evil-link")
    os.symlink("/etc/shadow", evil_link)
    evil_q = os.path.join(allowed, "evil.qcow2")
    run([VESSEL, "disk", "create", evil_q, "--backing", "/etc/passwd"], check=True)
    base = dict(kernel=k, initrd=i, firmware=fw)
    cases = [
        ("initrd /etc/shadow", dict(base, initrd="/etc/shadow"), "'initrd' /etc/shadow"),
        ("a writable disk /etc/passwd", dict(base, disks=[{"path": "/etc/passwd"}]), "disk /etc/passwd"),
        ("a kernel that is a symlink to /etc/shadow", dict(base, kernel=evil_link), "'kernel' " + evil_link),
        ("a path that climbs out with ..", dict(base, initrd=allowed + "/../../../etc/shadow"), "'initrd'"),
        ("a qcow2 whose backing file is /etc/passwd", dict(base, disks=[{"path": evil_q}]),
         "backing file of %s /etc/passwd" % evil_q),
    ]
    for what, extra, reason in cases:
        st, j = d.req("POST", "/v1/vms", vm_body("p", **extra))
        msg = j.get("error", {}).get("message", "")
        r.check("policy: %s -> 403 forbidden naming it and the allowed directories" % what,
                st == 403 and j["error"]["code"] == "forbidden" and reason in msg and allowed in msg, (st, j))
    st, j = d.req("POST", "/v1/vms", vm_body("ok1", **base))
    r.check("policy: files in the allowed directory -> 201", st == 201, (st, j))
    for path in ("/etc/cron.d/x.snap", allowed + "/../x.snap", "/tmp/x.snap"):
        st, j = d.req("POST", "/v1/vms/ok1/snapshot", {"path": path})
        r.check("policy: a snapshot to %s -> 403" % path, st == 403 and j["error"]["code"] == "forbidden", (st, j))
    st, j = d.req("GET", "/v1/vms/%ff")
    r.check("GET /v1/vms/%%ff -> 404 not_found (not 500 out of memory), printable message",
            st == 404 and j.get("error", {}).get("code") == "not_found", (st, j))
    disk = os.path.join(allowed, "shared.img")
    with open(disk, "wb") as f:
        f.truncate(8 << 20)
    st1, _ = d.req("POST", "/v1/vms", vm_body("w1", disks=[{"path": disk}], **base))
    st2, j = d.req("POST", "/v1/vms", vm_body("w2", disks=[{"path": disk}], **base))
    st3, _ = d.req("POST", "/v1/vms", vm_body("w3", disks=[{"path": disk, "readonly": True}], **base))
    r.check("locks: a second definition writing one image -> 409 disk_in_use naming the first VM; "
            "a read-only one -> 201", st1 == 201 and st2 == 409 and j["error"]["code"] == "disk_in_use"
            and "'w1'" in j["error"]["message"] and st3 == 201, (st1, st2, j, st3))
    for n in ("ok1", "w1", "w3"):
        d.req("DELETE", "/v1/vms/" + n)


def check_slow_clients(r, d):
    socks = []
    for _ in range(64):
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
        s.sendall(b"GET /v1/host HTTP/1.1\r\n")
        socks.append(s)
    stop = threading.Event()

    def trickle():
        n = 0
        while not stop.wait(2):
            n += 1
            for s in socks:
                try:
                    s.sendall(b"X-Slow-%d: 1\r\n" % n)
                except OSError:
                    pass
    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    time.sleep(3)  # the slow clients are in mid-request, trickling
    t0 = time.time()
    st, j = d.req("GET", "/v1/vms")
    took = time.time() - t0
    r.check("64 connections sending a header line every 2 s do not keep another client out "
            "(GET /v1/vms -> %d in %.2f s)" % (st, took), st == 200 and took < 5 * SCALE, (st, took))
    # they never finish their requests: cut after the deadline (15 s), not kept forever
    end = time.time() + 40 * SCALE
    closed = 0
    while time.time() < end and closed < len(socks):
        closed = 0
        for s in socks:
            s.settimeout(0.01)
            try:
                closed += s.recv(1) == b""
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                closed += 1
        time.sleep(0.5)
    stop.set()
    r.check("... and each is cut once its request is not whole after the request deadline (%d of 64)" % closed,
            closed == len(socks), closed)
    for s in socks:
        s.close()


def check_snapshot_concurrency(r, d, allowed):
    base = {f: os.path.join(allowed, n) for f, n in (("kernel", "Image"), ("initrd", "initramfs.cpio.gz"),
                                                     ("firmware", "fw_dynamic.bin"))}
    st, _ = d.req("POST", "/v1/vms", vm_body("snapc", memory_mib=512, **base))
    st2, vm = d.req("POST", "/v1/vms/snapc/start")
    ok = st == 201 and st2 == 200 and wait_log(vm["console"]["log"], guest.READY_RE, 150 * SCALE)
    if not r.check("the snapshot-concurrency VM boots", ok, (st, st2)):
        return
    if ROOT_USER:
        uid = int(re.search(r"Uid:\s+(\d+)", open("/proc/%d/status" % vm["pid"]).read()).group(1))
        r.check("the daemon's VM process is jailed: uid %d of the jail range" % uid,
                UID_FIRST <= uid < UID_FIRST + UID_COUNT, uid)
    # guest RAM worth writing: the snapshot takes a while
    c = socket.socket(socket.AF_UNIX)
    c.connect(vm["console"]["socket"])
    c.sendall(b"\ndd if=/dev/urandom of=/tmp/fill bs=1M count=300 2>/dev/null; echo FILL$((1+1))ED\n")
    buf, end = b"", time.time() + 120 * SCALE
    c.settimeout(1)
    while b"FILL2ED" not in buf and time.time() < end:
        try:
            buf += c.recv(4096)
        except socket.timeout:
            pass
    c.close()
    snap = os.path.join(allowed, "c.snap")
    res = {}

    def snapshot():
        res["st"], res["j"] = d.req("POST", "/v1/vms/snapc/snapshot", {"path": snap})
        res["end"] = time.time()
    t = threading.Thread(target=snapshot)
    t.start()
    staging = os.path.join(d.state, "vms", vm["id"] + ".d", "snap")
    end = time.time() + 60 * SCALE
    while time.time() < end and "st" not in res and not os.path.exists(snap + ".tmp") and not (
            os.path.isdir(staging) and os.listdir(staging)):  # jailed: staged in the VM's directory
        time.sleep(0.005)
    t0 = time.time()
    st, j = d.req("GET", "/v1/vms")
    t1 = time.time()
    t.join(180 * SCALE)
    r.check("a snapshot under way does not hold up GET /v1/vms (answered in %.2f s, the snapshot "
            "%.2f s later)" % (t1 - t0, res.get("end", t1) - t1),
            st == 200 and res.get("st") == 200 and res.get("end", 0) > t1 and os.path.isfile(snap),
            (st, res))
    d.req("POST", "/v1/vms/snapc/stop")
    d.req("DELETE", "/v1/vms/snapc")


def tls_files(tmp):
    if not shutil.which("openssl"):
        return None
    f = {n: os.path.join(tmp, n) for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem", "cli.key",
                                           "cli.csr", "cli.pem", "bad.key", "bad.pem", "san.ext")}
    open(f["san.ext"], "w").write("subjectAltName=IP:127.0.0.1\n")
    cmds = [["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f["ca.key"], "-out", f["ca.pem"],
             "-days", "2", "-subj", "/CN=vessel-test-ca"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f["srv.key"], "-out", f["srv.csr"], "-subj",
             "/CN=127.0.0.1"],
            ["x509", "-req", "-in", f["srv.csr"], "-CA", f["ca.pem"], "-CAkey", f["ca.key"], "-CAcreateserial",
             "-out", f["srv.pem"], "-days", "2", "-extfile", f["san.ext"]],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f["cli.key"], "-out", f["cli.csr"], "-subj",
             "/CN=client"],
            ["x509", "-req", "-in", f["cli.csr"], "-CA", f["ca.pem"], "-CAkey", f["ca.key"], "-CAcreateserial",
             "-out", f["cli.pem"], "-days", "2"],
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f["bad.key"], "-out", f["bad.pem"],
             "-days", "2", "-subj", "/CN=intruder"]]
    for c in cmds:
        if run(["openssl"] + c).returncode:
            return None
    for k in ("ca.key", "srv.key", "cli.key", "bad.key"):
        os.chmod(f[k], 0o600)
    return f


def serve_tcp(tmp, name, args):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    log = os.path.join(d, "serve.log")
    p = subprocess.Popen([VESSEL, "serve", "--socket", os.path.join(d, "api.sock"), "--state-dir",
                          os.path.join(d, "state"), "--listen", "127.0.0.1:0", "--no-jail"] + args,
                         stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    end = time.time() + 20 * SCALE
    while time.time() < end and p.poll() is None:
        m = re.search(r"port (\d+)", open(log).read())
        if m:
            return p, int(m.group(1))
        time.sleep(0.05)
    return p, None


def http_tcp(port, headers=None, ctx=None):
    import http.client
    c = (http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20) if ctx
         else http.client.HTTPConnection("127.0.0.1", port, timeout=20))
    try:
        c.request("GET", "/v1/vms", headers=headers or {})
        resp = c.getresponse()
        return resp.status, resp.read()
    except (ssl.SSLError, OSError) as e:
        return "refused", str(e)
    finally:
        c.close()


def check_tcp(r, tmp):
    out = run([VESSEL, "serve", "--socket", os.path.join(tmp, "x.sock"), "--state-dir", os.path.join(tmp, "xs"),
               "--listen", "0.0.0.0:0", "--no-jail"], timeout=20)
    r.check("--listen without --token-file or --tls-client-ca does not start (exit 1, says why)",
            out.returncode == 1 and "needs authentication" in out.stderr, out.stderr)
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write("vessel-test-token-0123456789\n")
    os.chmod(tok, 0o644)
    out = run([VESSEL, "serve", "--socket", os.path.join(tmp, "y.sock"), "--state-dir", os.path.join(tmp, "ys"),
               "--listen", "127.0.0.1:0", "--token-file", tok, "--no-jail"], timeout=20)
    r.check("a token file others can read is refused", out.returncode == 1 and "chmod 600" in out.stderr, out.stderr)
    os.chmod(tok, 0o600)
    p, port = serve_tcp(tmp, "tcp1", ["--token-file", tok])
    try:
        a = http_tcp(port)
        b = http_tcp(port, {"Authorization": "Bearer vessel-test-token-0123456788"})
        c = http_tcp(port, {"Authorization": "Bearer vessel-test-token-0123456789"})
        r.check("TCP listener: 401 without a token, 401 with a wrong one, 200 with the right one",
                a[0] == 401 and b[0] == 401 and c[0] == 200 and b"unauthorized" in a[1], (a, b, c))
        env = dict(os.environ, VESSEL_API="http://127.0.0.1:%d" % port, VESSEL_TOKEN_FILE=tok)
        cli = run([VESSEL, "vm", "list"], env=env)
        env.pop("VESSEL_TOKEN_FILE")
        cli2 = run([VESSEL, "vm", "list"], env=env)
        r.check("vessel vm list over TCP with VESSEL_API and VESSEL_TOKEN_FILE; 401 (exit 1) without",
                cli.returncode == 0 and "NAME" in cli.stdout and cli2.returncode == 1 and "401" in cli2.stderr,
                (cli.stderr, cli2.stderr))
    finally:
        p.terminate()
        p.wait(10)
    f = tls_files(tmp)
    if not f:
        print("SKIP TLS client certificates: openssl not usable", flush=True)
        return
    p, port = serve_tcp(tmp, "tcp2", ["--tls-cert", f["srv.pem"], "--tls-key", f["srv.key"],
                                      "--tls-client-ca", f["ca.pem"]])
    try:
        def ctx(cert=None, key=None):
            c = ssl.create_default_context(cafile=f["ca.pem"])
            if cert:
                c.load_cert_chain(cert, key)
            return c
        a = http_tcp(port, ctx=ctx())
        b = http_tcp(port, ctx=ctx(f["cli.pem"], f["cli.key"]))
        c = http_tcp(port, ctx=ctx(f["bad.pem"], f["bad.key"]))
        r.check("TLS listener: 401 without a client certificate, 200 with one the CA signed, "
                "another's refused", a[0] == 401 and b[0] == 200 and c[0] in (401, "refused"), (a, b, c))
    finally:
        p.terminate()
        p.wait(10)


def check_socket_mode(r, tmp):
    d = os.path.join(tmp, "grp")
    os.makedirs(d)
    sock = os.path.join(d, "api.sock")
    p = subprocess.Popen([VESSEL, "serve", "--socket", sock, "--state-dir", os.path.join(d, "state"),
                          "--socket-group", "65534", "--no-jail"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        end = time.time() + 20 * SCALE
        while not os.path.exists(sock) and time.time() < end:
            time.sleep(0.05)
        st = os.stat(sock) if os.path.exists(sock) else None
        r.check("the API socket is 0660 with --socket-group's group",
                st is not None and stat.S_IMODE(st.st_mode) == 0o660 and (st.st_gid == 65534 or not ROOT_USER),
                st and (oct(st.st_mode), st.st_gid))
    finally:
        p.terminate()
        p.wait(10)


def check_daemon(r, tmp):
    allowed = os.path.join(tmp, "allowed")
    os.makedirs(allowed)
    for n in ("Image", "initramfs.cpio.gz", "fw_dynamic.bin"):
        try:
            os.link(guest.artifact(n), os.path.join(allowed, n))
        except OSError:
            shutil.copyfile(guest.artifact(n), os.path.join(allowed, n))
    dtmp = os.path.join(tmp, "daemon")
    os.makedirs(dtmp)
    os.symlink(allowed, os.path.join(dtmp, "allowed"))
    d = PolicyDaemon(dtmp)
    d.start()
    try:
        check_policy(r, d, os.path.realpath(allowed))
        check_slow_clients(r, d)
        check_snapshot_concurrency(r, d, allowed)
    finally:
        for v in d.req("GET", "/v1/vms")[1].get("vms", []):
            d.req("POST", "/v1/vms/%s/stop" % v["id"])
        d.terminate()
    check_tcp(r, tmp)
    check_socket_mode(r, tmp)


def main():
    r = Results("sandbox: ")
    tmp = tempfile.mkdtemp(prefix="vessel-sandbox-")
    t0 = time.time()
    try:
        check_jail_and_locks(r, tmp)
        check_daemon(r, tmp)
    except (GuestError, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        r.check("sandbox test ran to the end", False, "%s: %s" % (type(e).__name__, e))
    print("sandbox test: %.1f s" % (time.time() - t0))
    if not r.failed:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("     files kept in %s" % tmp)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
