#!/usr/bin/env python3
"""Integration test: Debian's x86-64 cloud kernel (linux-image-cloud-amd64, a bzImage) with the
busybox initramfs carrying the virtio-pci modules (scripts/fetch-guest.sh --x86) on the kvm
engine: devices, networking, snapshot/restore and live migration of a Linux guest.

Where the host has hardware virtualization (vmx or svm in /proc/cpuinfo and a usable /dev/kvm)
the checks run directly. Elsewhere (this project's machines: no VT-x/AMD-V) the same script runs
inside L1, an x86-64 Linux that QEMU's TCG emulates with AMD SVM, through the nested harness
(tests/nested/nested.py): its PASS/FAIL lines are relayed, and the harness's own checks added.
--direct / --nested force one way.

Every guest boots the cached kernel with the test's own initramfs: the cached one's modules
plus button and evdev, so that the ACPI power button reaches busybox acpid.

Boots, shared between checks to keep the time down (all at once where they overlap):
  A   4 vCPUs, 512M: raw disk, qcow2 disk, net user (hostfwd), net on a `vessel switch`, rng,
      balloon, virtio-console, --api-socket, --seccomp (every thread under its role's
      allow-list: vCPUs route MSI-X vectors, the control thread snapshots); MSI-X
  B   1 vCPU, 256M, `pci=nomsi`: raw disk, net on the same switch, --api-socket; its virtio-pci
      functions use INTx (the fallback)
  A2  A restored from a snapshot (then=stop) in a new process
  B2  B after live migration to a `vessel run --incoming` process
  PB  a VM of a `vessel serve` daemon (1 vCPU, 256M)
Checks: CPUs online; the virtio-pci functions; MSI-X (config + one vector per queue, PCI-MSI in
/proc/interrupts) on A, INTx on B; raw disk: sha256 of the whole disk, a host write seen by the
guest (caches dropped), a guest write (fsync) seen in the host file; qcow2 disk: data the host
wrote (vessel disk io) read by the guest, a guest write read back on the host, `vessel disk
check` (and `qemu-img check` when installed) clean; net user: DHCP, 1 MiB download from and 1
MiB upload to an HTTP server on the VMM host's loopback (sha256 both ends), a hostfwd connection
into the guest; switch: ping and a 1 MiB HTTP transfer between A and B; rng; balloon inflate and
deflate seen in the guest's MemFree; virtio-console both ways; snapshot + restore (a counter
continues, the disk is intact, networking works: MSI-X state restored); live migration (the
counter continues, the disk is intact, a write after the move reaches the file, the switch
still connects A2 and B2); a guest-triggered triple fault reported by the VMM (B2); `reboot -f`
restarts A2 in the same VMM (MSI-X again after the reset); {"shutdown"} on A2's control socket
and `vessel vm shutdown` on PB press the ACPI power button and the guests power off (exit 0,
state stopped). Nested, also the host check: `vessel run --arch x86_64` here explains in one
line that it needs VT-x/AMD-V and points at tests/nested (x86_linux_platform.py).

Prints one PASS/FAIL line per check, INFO lines with timings, and ends with "N passed, N
failed"; exits 1 on any failure. Console logs of failed boots are saved under build/test-logs/.
"""

import hashlib
import http.server
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "nested"))
from guest import ROOT, Guest, GuestError, Results, api, cache_dir, wait_socket, free_port  # noqa: E402
import nested  # noqa: E402
import x86_linux_platform as platform  # noqa: E402

BOOT_TIMEOUT = 240
CMD_TIMEOUT = 90
VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
ART = os.path.join(cache_dir(), "x86_64")
KERNEL, INITRD = os.path.join(ART, "bzImage"), os.path.join(ART, "initramfs.cpio.gz")
BLOB = 1 << 20
DHCP = ("printf '%s' > /tmp/dhcp.sh && chmod +x /tmp/dhcp.sh" %
        '#!/bin/sh\\ncase "$1" in bound|renew) ip addr flush dev $interface; '
        'ip addr add $ip/$mask dev $interface; '
        'ip route add default via ${router%%%% *} dev $interface;; esac\\n')
# the counter file is replaced by rename, so a read never sees it empty (half-written)
COUNTER = ("(i=0; while :; do i=$((i+1)); echo $i > /tmp/cnt.t; mv /tmp/cnt.t /tmp/cnt; sleep 0.1; done)"
           " >/dev/null 2>&1 & true")
SW_A, SW_B = "192.0.2.1", "192.0.2.2"  # TEST-NET-1: only ever on the test's own switch


def sha(b):
    return hashlib.sha256(b).hexdigest()



def run_argv(cpus, mem, append_extra="", initrd=INITRD):
    # quiet: every console byte is an exit, and exits are what nested (TCG) runs pay for most
    append = ("console=ttyS0 panic=-1 quiet " + append_extra + " " + os.environ.get("VESSEL_APPEND", "")).strip()
    return [VESSEL, "run", "--arch", "x86_64", "--kernel", KERNEL, "--initrd", initrd,
            "--mem", mem, "--cpus", str(cpus), "--append", append]


def kernel_release():
    try:
        with open(os.path.join(ART, "kernel-version")) as f:
            return f.read().strip()
    except OSError:
        return None


class Blobs(http.server.BaseHTTPRequestHandler):
    """GET /blob: BLOB random bytes; POST /up: answers the sha256 of the body."""
    blob = os.urandom(BLOB)

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.blob)))
        self.end_headers()
        self.wfile.write(self.blob)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if 0 < n <= 8 * BLOB else b""
        ans = sha(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(ans)))
        self.end_headers()
        self.wfile.write(ans)

    def log_message(self, *a):
        pass


class Ctx:
    """Everything the checks share: results, scratch files, the VMs' device options."""

    def __init__(self, tmp):
        self.r = Results("x86-linux: ")
        self.tmp = tmp
        self.raw = os.path.join(tmp, "a.raw")
        self.qcow = os.path.join(tmp, "a.qcow2")
        self.braw = os.path.join(tmp, "b.raw")
        self.sw = os.path.join(tmp, "sw.sock")
        self.con = os.path.join(tmp, "con.sock")
        self.api_a, self.api_b = os.path.join(tmp, "a.api"), os.path.join(tmp, "b.api")
        self.api_b2 = os.path.join(tmp, "b2.api")
        self.fwd = free_port()
        self.qdata = os.urandom(BLOB)
        self.guests = []
        self.initrd = INITRD  # the test's own, once built

    def check(self, what, ok, detail=""):
        return self.r.check(what, ok, detail)

    def info(self, what):
        print("INFO x86-linux: %s" % what, flush=True)

    def devices_a(self):
        return ["--disk", self.raw, "--disk", self.qcow,
                "--net", "user,hostfwd=tcp:127.0.0.1:%d-:8080" % self.fwd,
                "--net", "switch,path=%s,mac=52:54:00:00:77:0a" % self.sw,
                "--rng", "--balloon", "0", "--console-socket", self.con, "--api-socket", self.api_a,
                "--seccomp"]  # every thread of A (and A2) under its role's allow-list

    def devices_b(self, api_sock):
        return ["--disk", self.braw, "--net", "switch,path=%s,mac=52:54:00:00:77:0b" % self.sw,
                "--api-socket", api_sock]

    def guest(self, argv, name):
        g = Guest(argv, name="x86linux-" + name).start()
        self.guests.append(g)
        return g


def sh(g, cmd, timeout=CMD_TIMEOUT):
    """Output of a guest command that must succeed."""
    out, st = g.run(cmd, timeout)
    if st != 0:
        raise GuestError("`%s` exited %d: %r" % (cmd, st, out[-500:]))
    return out.strip()


def meminfo_kib(g, key):
    for line in sh(g, "cat /proc/meminfo").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise GuestError("no %s in /proc/meminfo" % key)


def wait_guest(g, cmd, pred, timeout):
    """Runs cmd until pred(output) holds; returns the last output."""
    end = time.monotonic() + timeout
    while True:
        out = sh(g, cmd)
        if pred(out) or time.monotonic() > end:
            return out
        time.sleep(0.5)


def disk_io(path, cmds):
    """vessel disk io on a stopped VM's image: cmds is a list of (line, payload or None);
    returns the answers ("ok", or the bytes of an r)."""
    p = subprocess.Popen([VESSEL, "disk", "io", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = []
    try:
        if not p.stdout.readline().startswith(b"ready"):
            raise GuestError("vessel disk io %s did not start" % path)
        for line, data in cmds + [("q", None)]:
            p.stdin.write(line.encode() + b"\n" + (data or b""))
            p.stdin.flush()
            ans = p.stdout.readline()
            if ans.startswith(b"data "):
                out.append(p.stdout.read(int(ans.split()[1])))
            elif ans.strip() in (b"ok", b"closed"):
                out.append(ans.strip())
            else:
                raise GuestError("vessel disk io %s: %r answered %r" % (path, line, ans))
    finally:
        p.stdin.close()
        p.wait(30)
    return out


def prepare(c):
    with open(c.raw, "wb") as f:
        f.write(os.urandom(16 << 20))
    with open(c.braw, "wb") as f:
        f.write(os.urandom(8 << 20))
    subprocess.run([VESSEL, "disk", "create", c.qcow, "16M"], check=True, stdout=subprocess.DEVNULL)
    disk_io(c.qcow, [("W 0 %d" % BLOB, c.qdata), ("f", None)])


def check_boot(c, g, name, cpus):
    rel, n = g.expect_ready(BOOT_TIMEOUT)
    c.info("%s: boot to the initramfs shell in %.1fs" % (name, g.t_ready))
    c.check("%s: boots, kernel %s" % (name, rel), rel == kernel_release(), "got %r" % rel)
    c.check("%s: %d vCPU(s) online" % (name, cpus), n == cpus, "got %d" % n)


def check_devices(c, a):
    out = sh(a, "for d in /sys/bus/pci/devices/*; do cat $d/vendor $d/device; done | paste - - | sort")
    want = {"0x1042": 2, "0x1041": 2, "0x1044": 1, "0x1045": 1, "0x1043": 1}
    got = {}
    for line in out.splitlines():
        v, d = (line.split() + ["", ""])[:2]
        if v == "0x1af4":
            got[d] = got.get(d, 0) + 1
    c.check("A: virtio-pci functions (2 blk, 2 net, rng, balloon, console)", got == want, "got %r" % got)


def check_raw(c, a):
    want = sha(open(c.raw, "rb").read())
    got = sh(a, "sha256sum /dev/vda").split()[0]
    c.check("raw: sha256 of /dev/vda matches the host file", got == want, "got %s want %s" % (got, want))
    mark = b"host-wrote-this-%d" % time.time_ns()
    fd = os.open(c.raw, os.O_WRONLY)
    try:
        os.pwrite(fd, mark, 8 << 20)
        os.fsync(fd)
    finally:
        os.close(fd)
    out = sh(a, "sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=16384 count=1 2>/dev/null"
             " | head -c %d" % len(mark))
    c.check("raw: a host write is seen by the running guest", out == mark.decode(), "got %r" % out)
    gm = "guest-wrote-raw-%d" % time.time_ns()
    sh(a, "printf %s | dd of=/dev/vda bs=512 seek=1 conv=fsync 2>/dev/null" % gm)
    with open(c.raw, "rb") as f:
        f.seek(512)
        got = f.read(len(gm))
    c.check("raw: the guest's write (fsync) is in the host file", got == gm.encode(), "got %r" % got)


def check_qcow2_guest(c, a):
    got = sh(a, "head -c %d /dev/vdb | sha256sum" % BLOB).split()[0]
    c.check("qcow2: the guest reads what the host wrote (vessel disk io)", got == sha(c.qdata),
            "got %s" % got)
    c.qwrite = sh(a, "head -c 65536 /dev/urandom > /tmp/q && dd if=/tmp/q of=/dev/vdb bs=65536 seek=40"
                  " conv=fsync 2>/dev/null && sha256sum /tmp/q").split()[0]


def check_qcow2_host(c):
    got = disk_io(c.qcow, [("r %d 65536" % (40 * 65536), None)])[0]
    c.check("qcow2: the guest's write reads back on the host", sha(got) == c.qwrite,
            "got %s want %s" % (sha(got), c.qwrite))
    p = subprocess.run([VESSEL, "disk", "check", c.qcow], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    c.check("qcow2: vessel disk check is clean", p.returncode == 0, p.stdout.decode()[-300:])
    qimg = shutil.which("qemu-img")
    if qimg:
        p = subprocess.run([qimg, "check", c.qcow], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        c.check("qcow2: qemu-img check is clean", p.returncode == 0, p.stdout.decode()[-300:])


def check_net_user(c, a, srv, label="A"):
    port = srv.server_address[1]
    got = sh(a, "wget -q -O - http://10.0.2.2:%d/blob | sha256sum" % port).split()[0]
    c.check("%s: net user: 1 MiB download from the VMM host's loopback (sha256)" % label,
            got == sha(Blobs.blob), "got %s" % got)
    # busybox wget posts a file as a C string: hex text, so no NUL cuts it short
    out = sh(a, "head -c %d /dev/urandom | od -An -v -tx1 | tr -d ' \\n' > /tmp/up && sha256sum /tmp/up && "
             "wget -q -O - --post-file=/tmp/up http://10.0.2.2:%d/up" % (BLOB // 2, port))
    parts = out.split()
    c.check("%s: net user: 1 MiB upload to the VMM host's loopback, its sha256 = the guest's" % label,
            len(parts) >= 3 and parts[0] == parts[-1], "got %r" % out)


def check_net(c, a, b, srv):
    out = sh(a, DHCP + " && ip link set eth0 up && udhcpc -i eth0 -s /tmp/dhcp.sh -q -n -t 10 -T 2 "
             ">/dev/null 2>&1; ip -4 -o addr show eth0 | awk '{print $3, $4}'", 120)
    c.check("A: net user: DHCP gives 10.0.2.15/24", out == "inet 10.0.2.15/24", repr(out))
    check_net_user(c, a, srv)
    sh(a, "mkdir -p /tmp/www && head -c 4096 /dev/zero > /tmp/www/z && (httpd -p 8080 -h /tmp/www &)")
    got = b""
    for _ in range(50):
        try:
            with socket.create_connection(("127.0.0.1", c.fwd), timeout=10) as s:
                s.sendall(b"GET /z HTTP/1.0\r\n\r\n")
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    got += d
            if b"200" in got.split(b"\r\n")[0]:
                break
        except OSError:
            pass
        got = b""
        time.sleep(0.2)
    c.check("A: net user: hostfwd 127.0.0.1:%d reaches httpd in the guest" % c.fwd,
            got.split(b"\r\n\r\n", 1)[-1] == bytes(4096), "got %r" % got[:200])
    # the switch: A's eth1 and B's eth0
    sh(a, "ip link set eth1 up && ip addr add %s/24 dev eth1" % SW_A)
    sh(b, "ip link set eth0 up && ip addr add %s/24 dev eth0" % SW_B)
    out, st = a.run("ping -c 3 -W 5 %s" % SW_B, 60)
    c.check("switch: A pings B", st == 0 and "3 packets received" in out, repr(out[-300:]))
    want = sh(b, "mkdir -p /tmp/www && head -c %d /dev/urandom > /tmp/www/f && sha256sum /tmp/www/f"
              " && (httpd -p 8081 -h /tmp/www &)" % BLOB).split()[0]
    got = sh(a, "wget -q -O - http://%s:8081/f | sha256sum" % SW_B).split()[0]
    c.check("switch: 1 MiB HTTP transfer B -> A (sha256)", got == want, "got %s want %s" % (got, want))


def check_rng(c, a):
    cur = sh(a, "cat /sys/class/misc/hw_random/rng_current")
    x = sh(a, "head -c 4096 /dev/hwrng | sha256sum; head -c 4096 /dev/hwrng | sha256sum")
    h = [line.split()[0] for line in x.splitlines()]
    c.check("rng: /dev/hwrng is virtio_rng and gives fresh bytes",
            cur.startswith("virtio_rng") and len(h) == 2 and h[0] != h[1] and sha(bytes(4096)) not in h,
            "rng_current %r, %r" % (cur, x))


def balloon_actual(c, want, timeout=90):
    end = time.monotonic() + timeout
    while True:
        st = api(c.api_a, {"stats": None})
        if st.get("balloon", {}).get("actual_mib") == want or time.monotonic() > end:
            return st.get("balloon", {})
        time.sleep(0.5)


def check_balloon(c, a):
    target = 64
    free0 = meminfo_kib(a, "MemFree")
    rep = api(c.api_a, {"balloon_target_mib": target})
    b = balloon_actual(c, target)
    free1 = meminfo_kib(a, "MemFree")
    c.check("balloon: inflate to %d MiB: the guest gives it (actual_mib), its MemFree drops" % target,
            # MemFree moves with the guest's own activity too (page cache, free page reporting:
            # 56 of 64 MiB seen once): at least half the balloon must show, with actual_mib exact
            rep.get("ok") is True and b.get("actual_mib") == target and free0 - free1 >= (target // 2) << 10,
            "answer %r, balloon %r, MemFree %d -> %d kB" % (rep, b, free0, free1))
    rep = api(c.api_a, {"balloon_target_mib": 0})
    b = balloon_actual(c, 0)
    free2 = meminfo_kib(a, "MemFree")
    c.check("balloon: deflate to 0: actual 0, the guest's MemFree comes back",
            rep.get("ok") is True and b.get("actual_mib") == 0 and free2 - free1 >= (target * 3 // 4) << 10,
            "answer %r, balloon %r, MemFree %d -> %d kB" % (rep, b, free1, free2))


def sock_until(s, want, timeout):
    got, end = b"", time.monotonic() + timeout
    while want not in got and time.monotonic() < end:
        s.settimeout(max(end - time.monotonic(), 0.1))
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        if not d:
            break
        got += d
    return got


def check_console(c, a):
    sh(a, "test -c /dev/hvc0 && (stty -F /dev/hvc0 -echo 2>/dev/null; true)")
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(c.con)
        time.sleep(0.5)  # let the VMM take the connection before the guest writes
        sh(a, "echo vessel-hvc-out > /dev/hvc0")
        got = sock_until(s, b"vessel-hvc-out", 30)
        c.check("console: guest -> host over /dev/hvc0", b"vessel-hvc-out" in got, repr(got[-200:]))
        sh(a, "cat /dev/hvc0 > /tmp/hvc-in & echo $! > /tmp/catpid; sleep 1")
        s.sendall(b"vessel-hvc-in\n")  # a line: the tty may be in canonical mode
        out = wait_guest(a, "cat /tmp/hvc-in", lambda o: "vessel-hvc-in" in o, 30)
        sh(a, "kill $(cat /tmp/catpid)")
        c.check("console: host -> guest over /dev/hvc0", "vessel-hvc-in" in out, repr(out))


def count(g):
    return int(sh(g, "cat /tmp/cnt"))


def check_continues(c, g, label, before):
    first = count(g)
    later = int(wait_guest(g, "cat /tmp/cnt", lambda o: int(o) > first, 30))
    c.check("%s: the counter continues (%d before, %d then %d after)" % (label, before, first, later),
            first >= before and later > first and first < before + 600, "")


def snapshot_restore(c, a, srv):
    sh(a, COUNTER)
    before = int(wait_guest(a, "cat /tmp/cnt 2>/dev/null || echo 0", lambda o: int(o) > 5, 30))
    snap = os.path.join(c.tmp, "a.snap")
    t0 = time.monotonic()
    rep = api(c.api_a, {"snapshot": {"path": snap, "then": "stop"}})
    st = a.wait_exit(60)
    c.info("snapshot of A (512M): %.1fs, %d MiB file" % (time.monotonic() - t0, os.path.getsize(snap) >> 20))
    c.check("snapshot (then=stop): ok, VMM exit 0", rep.get("ok") is True and st == 0, "%r, status %r" % (rep, st))
    disk_sha = sha(open(c.raw, "rb").read())
    t0 = time.monotonic()
    a2 = c.guest([VESSEL, "run", "--restore", snap] + c.devices_a(), "A2")
    a2.expect(r"vessel: restored", 60)
    c.info("restore of A: %.1fs to running" % (time.monotonic() - t0))
    check_continues(c, a2, "restore", before)
    got = sh(a2, "sync; echo 3 > /proc/sys/vm/drop_caches; sha256sum /dev/vda").split()[0]
    c.check("restore: the disk is intact (sha256 in the guest = host file)", got == disk_sha, got)
    check_net_user(c, a2, srv, "A2")
    return a2


def migrate(c, b):
    sh(b, COUNTER)
    before = int(wait_guest(b, "cat /tmp/cnt 2>/dev/null || echo 0", lambda o: int(o) > 5, 30))
    port = free_port()
    secret = os.path.join(c.tmp, "migration.secret")  # both ends prove they know it
    with open(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(secrets.token_hex(32))
    b2 = c.guest([VESSEL, "run", "--arch", "x86_64", "--incoming", "127.0.0.1:%d" % port, "--mem", "256M",
                  "--migration-secret-file", secret,
                  "--cpus", "1", "--kernel", KERNEL, "--initrd", c.initrd] + c.devices_b(c.api_b2), "B2")
    end = time.monotonic() + 30
    t0 = time.monotonic()
    while True:
        p = subprocess.run([VESSEL, "migrate", "--api-socket", c.api_b, "--to", "127.0.0.1:%d" % port,
                            "--secret-file", secret],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        if p.returncode == 0 or time.monotonic() > end or b"refused" not in p.stdout.lower():
            break
        time.sleep(0.5)  # the destination was not listening yet
    c.info("live migration of B (256M): %.1fs" % (time.monotonic() - t0))
    st = b.wait_exit(60)
    c.check("migrate: vessel migrate exit 0, the source exits 0", p.returncode == 0 and st == 0,
            "migrate %d %r, source %r" % (p.returncode, p.stdout.decode()[-400:], st))
    b2.expect(r"vessel: incoming migration complete", 60)
    check_continues(c, b2, "migrate", before)
    want = sha(open(c.braw, "rb").read())
    got = sh(b2, "sync; echo 3 > /proc/sys/vm/drop_caches; sha256sum /dev/vda").split()[0]
    c.check("migrate: the disk is intact (sha256 in the guest = host file)", got == want, got)
    gm = "after-migration-%d" % time.time_ns()
    sh(b2, "printf %s | dd of=/dev/vda bs=512 seek=3 conv=fsync 2>/dev/null" % gm)
    with open(c.braw, "rb") as f:
        f.seek(1536)
        got = f.read(len(gm))
    c.check("migrate: a write after the move reaches the host file", got == gm.encode(), repr(got))
    return b2


def triple_fault(c, g):
    """The guest resets by triple fault (reboot=t through /sys): the VMM must say so."""
    g.sendline("echo triple > /sys/kernel/reboot/type && reboot -f")
    try:
        m = g.expect(r"[^\n]*triple fault[^\n]*", 60)
        line = m.group(0).decode(errors="replace").strip()
    except GuestError as e:
        line = "none: %s" % e
    st = g.wait_exit(60)
    c.info("triple fault: the VMM said %r and exited %r" % (line, st))
    c.check("triple fault: reported by the VMM, exit status 3", "triple fault" in line and st == 3,
            "message %r, status %r" % (line, st))


def vmm_threads(pid):
    """'name:state(cpu ticks in 1 s)@wchan' for every thread of a live VMM: after a stall, a vCPU
    thread asleep in a futex means the VMM is stuck, all running means the guest spins."""
    def sample():
        out = {}
        for tid in sorted(os.listdir("/proc/%d/task" % pid)):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    st = f.read()
                with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                    wchan = f.read().strip() or "-"
            except OSError:
                continue
            name = st[st.index("(") + 1:st.rindex(")")]
            rest = st[st.rindex(")") + 2:].split()
            out[tid] = (name, rest[0], int(rest[11]) + int(rest[12]), wchan)
        return out
    try:
        a = sample()
        time.sleep(1)
        b = sample()
    except OSError as e:
        return "(%s)" % e
    return " ".join("%s:%s(%d)@%s" % (v[0], v[1], v[2] - a.get(t, v)[2], v[3]) for t, v in b.items())


def direct():
    t_all = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vessel-x86-") as tmp:
        c = Ctx(tmp)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blobs)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        sw = None
        try:
            prepare(c)
            c.initrd = platform.initramfs(tmp)
            sw = subprocess.Popen([VESSEL, "switch", c.sw], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
            wait_socket(c.sw)
            t0 = time.monotonic()
            a = c.guest(run_argv(4, "512M", initrd=c.initrd) + c.devices_a(), "A")
            b = c.guest(run_argv(1, "256M", "pci=nomsi", initrd=c.initrd) + c.devices_b(c.api_b), "B")
            check_boot(c, a, "A", 4)
            check_boot(c, b, "B", 1)
            st = api(c.api_a, {"sandbox": None})
            c.check("A: --seccomp: the VM process runs under its seccomp filters", st.get("seccomp") == 2, st)
            c.info("A and B booted side by side in %.1fs" % (time.monotonic() - t0))
            for f in (check_devices, platform.check_msix, check_raw, check_qcow2_guest, check_rng, check_balloon,
                      check_console):
                t0 = time.monotonic()
                f(c, a)
                c.info("%s: %.1fs" % (f.__name__, time.monotonic() - t0))
            platform.check_intx(c, b)
            t0 = time.monotonic()
            check_net(c, a, b, srv)
            c.info("check_net: %.1fs" % (time.monotonic() - t0))
            a2 = snapshot_restore(c, a, srv)
            b2 = migrate(c, b)
            out, st = a2.run("ping -c 2 -W 5 %s" % SW_B, 60)
            c.check("switch: A2 (restored) pings B2 (migrated)", st == 0 and "2 packets received" in out,
                    repr(out[-300:]))
            triple_fault(c, b2)
            if platform.check_reboot(c, a2, c.raw):
                platform.check_shutdown_socket(c, a2, c.api_a, "A2")
            check_qcow2_host(c)
            t0 = time.monotonic()
            platform.check_power_button(c, c.initrd)
            c.info("check_power_button (a daemon's VM): %.1fs" % (time.monotonic() - t0))
        except (GuestError, OSError, subprocess.SubprocessError, ValueError) as e:
            c.check("no unexpected error", False, "%s: %s" % (type(e).__name__, e))
        finally:
            for g in c.guests:
                if c.r.failed:
                    st = g.proc.poll()
                    print("console log: %s (VMM %s)" % (g.save_log(), "threads " + vmm_threads(g.proc.pid)
                                                        if st is None else "exited with status %d" % st))
                g.kill()
            if sw:
                sw.terminate()
                sw.wait(10)
            srv.shutdown()
        c.info("direct run took %.1fs" % (time.monotonic() - t_all))
        return c.r


def in_l1():
    r = Results("x86-linux: ")
    counts = [0, 0]

    def relay(line):
        m = re.fullmatch(r"(\d+) passed, (\d+) failed", line.strip())
        if m:
            counts[0], counts[1] = int(m.group(1)), int(m.group(2))
            return
        print(line, flush=True)

    t0 = time.monotonic()
    try:
        img = nested.build(bench=False, log=lambda m: print("INFO x86-linux: " + m, flush=True))
        print("INFO x86-linux: L1 image ready in %.1fs (%s)" % (img["seconds"], "built" if img["built"] else "cached"),
              flush=True)
        res = nested.run(["python3", "tests/integration/test_x86_linux.py", "--direct"], timeout=1500,
                         on_line=relay, out_dir=os.path.join(nested.WORK, "out-test_x86_linux"))
    except nested.NestedError as e:
        r.check("nested harness: L1 image", False, str(e))
        return r
    r.check("nested harness: L1 booted and ran the tests", res.error is None and res.rc is not None and
            counts[0] + counts[1] > 0, res.error or "no summary line (rc %r); L1 console: %s/l1-console.log"
            % (res.rc, res.out_dir))
    print("INFO x86-linux: L1 boot %s, whole nested run %.1fs" % (
        "%.1fs" % res.boot_seconds if res.boot_seconds else "?", time.monotonic() - t0), flush=True)
    r.passed += counts[0]
    r.failed += counts[1]
    platform.check_no_hw_virt(r)
    return r


def main():
    if "--direct" in sys.argv[1:]:
        mode = "direct"
    elif "--nested" in sys.argv[1:]:
        mode = "nested"
    else:
        mode = "direct" if nested.host_has_hw_virt() else "nested"
    print("INFO x86-linux: %s (%s)" % (mode, "vmx/svm and /dev/kvm here" if mode == "direct" else
                                       "no vmx/svm here: inside L1 under QEMU TCG with emulated AMD SVM"),
          flush=True)
    r = direct() if mode == "direct" else in_l1()
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
