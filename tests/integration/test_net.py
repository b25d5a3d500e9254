#!/usr/bin/env python3
"""Integration tests for virtio-net (user, switch, tap backends) and virtio-balloon, with
Debian's riscv64 Linux and its own drivers.

Boots (each serves several checks; boots are expensive under emulation):
  user    --net user with two hostfwd rules, --balloon 0, --api-socket:
          DHCP, wget from an HTTP server on the host's loopback (sha256), host -> guest and
          guest -> host through hostfwd (sha256), balloon inflate lowers the VMM's RSS,
          deflate gives the memory back to the guest, statistics over the control socket
  switch  `vessel switch` and three VMs with static addresses: ping and a TCP transfer both
          ways between A and B, then A is killed and B and C still talk
  tap     (root only) a tap device inside a network namespace the test creates: ping and an
          HTTP download from the namespace's side
Host-side traffic goes only to loopback or to the namespace the test creates.

Prints PASS/FAIL per check and ends with "N passed, N failed"; exits 1 on any failure.
Usage: tests/integration/test_net.py [-k user|switch|tap]
"""

import argparse
import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import Guest, GuestError, ROOT, ScopedResults, api, vmm_command, vmm_name, free_port  # noqa: E402

BOOT_TIMEOUT = 120
CMD_TIMEOUT = 60
VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")

# A udhcpc event script written into the guest: sets the address, route and resolver.
DHCP_SCRIPT = ("printf '%s' > /tmp/dhcp.sh && chmod +x /tmp/dhcp.sh" %
               '#!/bin/sh\\ncase "$1" in bound|renew) ip addr flush dev $interface; '
               'ip addr add $ip/$mask dev $interface; '
               'ip route add default via ${router%%%% *} dev $interface; '
               'echo nameserver $dns > /etc/resolv.conf;; esac\\n')





def sha(data):
    return hashlib.sha256(data).hexdigest()


def vm(name, extra, mem="256M", cpus=1, prefix=()):
    argv = list(prefix) + vmm_command(cpus=cpus, mem=mem, vmm="vessel") + extra
    return Guest(argv, name=name)


def vmm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0




def meminfo(g, field):
    out, st = g.run("grep ^%s: /proc/meminfo" % field, CMD_TIMEOUT)
    return int(out.split()[1]) if st == 0 and len(out.split()) >= 2 else -1


def guest_sha(g, path):
    out, st = g.run("sha256sum %s" % path, CMD_TIMEOUT)
    return out.split()[0] if st == 0 and out.split() else ""


def serve_http(directory):
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=directory, **k)  # noqa
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def connect_retry(port, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_user(r, tmp):
    name = "user"
    payload = os.urandom(1 << 20)
    with open(os.path.join(tmp, "blob"), "wb") as f:
        f.write(payload)
    srv = serve_http(tmp)
    hp_in, hp_out = free_port(), free_port()
    sock = os.path.join(tmp, "api.sock")
    extra = ["--net", "user,hostfwd=tcp:127.0.0.1:%d-:8080,hostfwd=tcp:127.0.0.1:%d-:8081,"
             "mac=52:54:00:12:34:56" % (hp_in, hp_out),
             "--balloon", "0", "--api-socket", sock]
    g = vm("net-user", extra)
    try:
        g.start()
        g.expect_ready(BOOT_TIMEOUT)
        out, st = g.run("cat /sys/class/net/eth0/address", CMD_TIMEOUT)
        r.check(name, "eth0 has the MAC given with mac=", out.strip() == "52:54:00:12:34:56", repr(out))
        g.run(DHCP_SCRIPT, CMD_TIMEOUT)
        out, st = g.run("ip link set eth0 up && udhcpc -i eth0 -s /tmp/dhcp.sh -q -n -t 10 -T 2 "
                        ">/dev/null 2>&1; ip -4 addr show eth0 | grep -o 'inet [0-9./]*'", CMD_TIMEOUT)
        r.check(name, "DHCP over user gives 10.0.2.15/24", out.strip() == "inet 10.0.2.15/24", repr(out))

        url = "http://10.0.2.2:%d/blob" % srv.server_address[1]
        out, st = g.run("wget -q -O /tmp/blob %s && sha256sum /tmp/blob" % url, CMD_TIMEOUT)
        got = out.split()[0] if out.split() else ""
        r.check(name, "wget of 1 MiB from the host's loopback (10.0.2.2): sha256 matches",
                st == 0 and got == sha(payload), "got %r want %s" % (out.strip(), sha(payload)))

        # host -> guest through hostfwd: the guest's nc listens on 8080
        g.run("(nc -l -p 8080 > /tmp/in; echo NC-IN-DONE) & true", CMD_TIMEOUT)
        data = os.urandom(300 * 1024)
        time.sleep(1)  # slirp accepts at once and connects to the guest: let nc listen first
        with connect_retry(hp_in) as c:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            try:
                c.recv(1)  # until the guest side closes
            except OSError:
                pass
        g.expect("NC-IN-DONE", CMD_TIMEOUT)
        r.check(name, "host -> guest through hostfwd: 300 KiB, sha256 matches",
                guest_sha(g, "/tmp/in") == sha(data))

        # guest -> host through hostfwd: the guest serves the file it downloaded
        g.run("(nc -l -p 8081 < /tmp/blob; echo NC-OUT-DONE) & true", CMD_TIMEOUT)
        got = b""
        time.sleep(1)
        with connect_retry(hp_out) as c:
            while True:  # the guest's nc half-closes after its stdin ends
                chunk = c.recv(65536)
                if not chunk:
                    break
                got += chunk
        g.expect("NC-OUT-DONE", CMD_TIMEOUT)
        r.check(name, "guest -> host through hostfwd: 1 MiB, sha256 matches", sha(got) == sha(payload),
                "got %d bytes" % len(got))
        test_balloon(r, g, sock)
        r.check(name, "poweroff -f: VMM exit status 0", g.poweroff(CMD_TIMEOUT) == 0)
    except GuestError as e:
        r.check(name, "boot completed", False, "%s (log: %s)" % (e, g.save_log()))
    finally:
        g.kill()
        srv.shutdown()


GUEST_MIB = 256     # the balloon test's guest (vm()'s default)
VMM_SLACK_MIB = 48  # the VMM's own resident memory, with room


def test_balloon(r, g, sock):
    name = "balloon"
    pid = g.proc.pid
    target = 128
    # Touch guest memory (tmpfs pages), then free it: the host keeps it resident.
    out, st = g.run("mkdir -p /mnt/t && mount -t tmpfs -o size=200m tmpfs /mnt/t && "
                    "dd if=/dev/urandom of=/mnt/t/f bs=1M count=150 2>/dev/null && rm /mnt/t/f && "
                    "umount /mnt/t && echo touched", CMD_TIMEOUT * 2)
    r.check(name, "guest touched and freed 150 MiB", "touched" in out, repr(out))
    rss_touched = vmm_rss_kib(pid)
    free_before = meminfo(g, "MemFree")
    rep = api(sock, {"balloon_target_mib": target})
    r.check(name, "api-socket: balloon_target_mib answers ok", rep == {"ok": True}, repr(rep))
    deadline = time.monotonic() + 60
    st = {}
    while time.monotonic() < deadline:
        st = api(sock, {"stats": None})
        if st.get("balloon", {}).get("actual_mib") == target:
            break
        time.sleep(1)
    b = st.get("balloon", {})
    r.check(name, "the guest inflated the balloon to %d MiB" % target, b.get("actual_mib") == target, repr(st))
    r.check(name, "inflate returned >= %d MiB to the host (madvise)" % (target * 9 // 10),
            b.get("discarded_mib", 0) >= target * 9 // 10, repr(b))
    rss_inflated = vmm_rss_kib(pid)
    # The guest's free-page reporting may already have returned some of the freed pages before
    # rss_touched was read (how many depends on timing), so the drop itself varies; what must
    # hold is that the balloon's pages are not resident: RSS stays below the guest's RAM minus
    # the balloon, plus the VMM's own memory (JIT code cache included).
    print("INFO balloon: VMM RSS %d MiB after touching, %d MiB inflated (guest RAM %d MiB)"
          % (rss_touched >> 10, rss_inflated >> 10, GUEST_MIB), flush=True)
    r.check(name, "inflated, the VMM's RSS (%d MiB) is at most guest RAM - balloon + %d MiB"
            % (rss_inflated >> 10, VMM_SLACK_MIB),
            rss_inflated <= (GUEST_MIB - target + VMM_SLACK_MIB) << 10, "was %d MiB before" % (rss_touched >> 10))
    r.check(name, "stats reports vmm_rss_kib close to /proc",
            abs(st.get("vmm_rss_kib", 0) - rss_inflated) < 64 << 10, repr(st.get("vmm_rss_kib")))
    stats = b.get("stats", {})
    r.check(name, "guest memory statistics arrive (total_memory, free_memory)",
            stats.get("total_memory", 0) > 100 << 20 and "free_memory" in stats, repr(stats))
    free_inflated = meminfo(g, "MemFree")
    # MemFree also moves with the guest's own activity (page cache, free page reporting): at
    # least half the balloon must show (the host side is checked exactly above)
    r.check(name, "guest MemFree dropped by >= %d MiB while inflated" % (target // 2),
            free_before - free_inflated >= (target // 2) << 10, "%d -> %d kB" % (free_before, free_inflated))
    api(sock, {"balloon_target_mib": 0})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        st = api(sock, {"stats": None})
        if st.get("balloon", {}).get("actual_mib") == 0:
            break
        time.sleep(1)
    free_deflated = meminfo(g, "MemFree")
    r.check(name, "deflate gives the memory back: actual 0, MemFree up by >= %d MiB" % (target * 3 // 4),
            st.get("balloon", {}).get("actual_mib") == 0 and
            free_deflated - free_inflated >= (target * 3 // 4) << 10,
            "%d -> %d kB, %r" % (free_inflated, free_deflated, st.get("balloon")))
    out, st2 = g.run("dd if=/dev/zero bs=1M count=64 2>/dev/null | sha256sum", CMD_TIMEOUT)
    r.check(name, "the guest still computes correctly after deflate",
            out.split()[:1] == [sha(bytes(64 << 20))], repr(out))
    rep = api(sock, {"balloon_target_mib": 1 << 20})
    r.check(name, "api-socket refuses a balloon larger than RAM", rep.get("ok") is False, repr(rep))
    rep = api(sock, {"bogus": 1})
    r.check(name, "api-socket rejects an unknown command", rep.get("ok") is False and "unknown" in rep.get("error", ""),
            repr(rep))


def static_ip(g, addr):
    return g.run("ip link set eth0 up && ip addr add %s/24 dev eth0" % addr, CMD_TIMEOUT)[1] == 0


def ping(g, addr):
    out, st = g.run("ping -c 3 -W 5 %s | grep -o '[0-9]* packets received'" % addr, CMD_TIMEOUT)
    return st == 0 and out.strip() == "3 packets received", out


def tcp_transfer(src, dst, dst_addr, port, kib):
    """src sends kib KiB of random data to dst's nc listener; returns (sha at src, sha at dst)."""
    dst.run("(nc -l -p %d > /tmp/rx%d; echo RX-DONE-%d) & true" % (port, port, port), CMD_TIMEOUT)
    time.sleep(1)
    src.run("dd if=/dev/urandom of=/tmp/tx%d bs=1k count=%d 2>/dev/null" % (port, kib), CMD_TIMEOUT)
    src.run("nc %s %d < /tmp/tx%d" % (dst_addr, port, port), CMD_TIMEOUT)
    dst.expect("RX-DONE-%d" % port, CMD_TIMEOUT)
    return guest_sha(src, "/tmp/tx%d" % port), guest_sha(dst, "/tmp/rx%d" % port)


def test_switch(r, tmp):
    name = "switch"
    path = os.path.join(tmp, "sw.sock")
    sw = subprocess.Popen([VESSEL, "switch", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    gs = []
    try:
        line = sw.stdout.readline().decode()
        r.check(name, "vessel switch listens", "listening on" in line, repr(line))
        gs = [vm("net-switch-%s" % n, ["--net", "switch,path=%s" % path]) for n in "abc"]
        for g in gs:
            g.start()
        for g in gs:
            g.expect_ready(BOOT_TIMEOUT * 2)
        a, b, c = gs
        macs = [g.run("cat /sys/class/net/eth0/address", CMD_TIMEOUT)[0].strip() for g in gs]
        r.check(name, "default MACs are 52:54:00:* and unique", len(set(macs)) == 3 and
                all(m.startswith("52:54:00:") for m in macs), repr(macs))
        ok = all(static_ip(g, "192.168.77.%d" % (i + 1)) for i, g in enumerate(gs))
        r.check(name, "static addresses 192.168.77.1-3", ok)
        ok, out = ping(a, "192.168.77.2")
        r.check(name, "A pings B", ok, repr(out))
        ok, out = ping(b, "192.168.77.1")
        r.check(name, "B pings A", ok, repr(out))
        s1, s2 = tcp_transfer(a, b, "192.168.77.2", 9001, 512)
        r.check(name, "TCP A -> B, 512 KiB: sha256 matches", s1 and s1 == s2, "%s vs %s" % (s1, s2))
        s1, s2 = tcp_transfer(b, a, "192.168.77.1", 9002, 512)
        r.check(name, "TCP B -> A, 512 KiB: sha256 matches", s1 and s1 == s2, "%s vs %s" % (s1, s2))
        a.kill()  # A leaves abruptly (SIGKILL)
        ok, out = ping(b, "192.168.77.3")
        r.check(name, "after A left: B pings C", ok, repr(out))
        s1, s2 = tcp_transfer(c, b, "192.168.77.2", 9003, 256)
        r.check(name, "after A left: TCP C -> B, sha256 matches", s1 and s1 == s2, "%s vs %s" % (s1, s2))
        r.check(name, "the switch is still running", sw.poll() is None)
        for g in (b, c):
            g.poweroff(CMD_TIMEOUT)
    except GuestError as e:
        r.check(name, "boots completed", False, "%s (logs: %s)" % (e, [g.save_log() for g in gs]))
    finally:
        for g in gs:
            g.kill()
        sw.terminate()
        sw.wait(10)
    r.check(name, "vessel switch exits 0 on SIGTERM and removes its socket",
            sw.returncode == 0 and not os.path.exists(path), "status %s" % sw.returncode)


def test_tap(r, tmp):
    name = "tap"
    if os.geteuid() != 0 or not shutil.which("ip") or not os.path.exists("/dev/net/tun"):
        print("SKIP tap: needs root, iproute2 and /dev/net/tun to create a namespace and a tap")
        return
    ns = "vessel-test-%d" % os.getpid()

    def sh(*cmd):
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).returncode == 0
    if not sh("ip", "netns", "add", ns):
        print("SKIP tap: cannot create a network namespace here")
        return
    srv = g = None
    try:
        ok = (sh("ip", "-n", ns, "link", "set", "lo", "up") and
              sh("ip", "-n", ns, "tuntap", "add", "dev", "vtap0", "mode", "tap") and
              sh("ip", "-n", ns, "addr", "add", "192.168.78.1/24", "dev", "vtap0") and
              sh("ip", "-n", ns, "link", "set", "vtap0", "up"))
        r.check(name, "tap vtap0 in namespace %s" % ns, ok)
        payload = os.urandom(512 * 1024)
        with open(os.path.join(tmp, "tapblob"), "wb") as f:
            f.write(payload)
        srv = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "http.server", "--bind",
                                "192.168.78.1", "8000", "--directory", tmp],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        g = vm("net-tap", ["--net", "tap,ifname=vtap0"], prefix=["ip", "netns", "exec", ns])
        g.start()
        g.expect_ready(BOOT_TIMEOUT)
        static_ip(g, "192.168.78.2")
        ok, out = ping(g, "192.168.78.1")
        r.check(name, "guest pings the namespace's side of the tap", ok, repr(out))
        out, st = g.run("wget -q -O /tmp/b http://192.168.78.1:8000/tapblob && sha256sum /tmp/b", CMD_TIMEOUT)
        r.check(name, "wget of 512 KiB over the tap: sha256 matches",
                st == 0 and out.split()[:1] == [sha(payload)], repr(out))
        g.poweroff(CMD_TIMEOUT)
    except GuestError as e:
        r.check(name, "boot completed", False, "%s (log: %s)" % (e, g.save_log() if g else ""))
    finally:
        if g:
            g.kill()
        if srv:
            srv.terminate()
            srv.wait(10)
        sh("ip", "netns", "del", ns)


def test_cli_errors(r):
    name = "cli"
    base = [VESSEL, "run", "--kernel", "/nonexistent"]
    for args, want in ((["--net", "bogus"], "--net bogus: unknown backend"),
                       (["--net", "tap"], "--net tap: tap needs ifname"),
                       (["--net", "user,hostfwd=tcp:1.2.3.4:x-:22"], "hostfwd="),
                       (["--net", "user,mac=zz"], "mac=zz"),
                       (["--balloon", "lots"], "--balloon lots")):
        p = subprocess.run(base + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = p.stderr.decode()
        r.check(name, "%s -> exit 1 naming the flag" % " ".join(args),
                p.returncode == 1 and want in err and err.count("\n") == 1, repr(err))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", default="", help="run only the boots whose name contains this")
    args = ap.parse_args()
    r = ScopedResults()
    if vmm_name() != "vessel":
        print("test_net: VESSEL_VMM=%s: these tests drive vessel's own devices; nothing to run" % vmm_name())
        print("0 passed, 0 failed")
        return 0
    tmp = tempfile.mkdtemp(prefix="vessel-net-")
    try:
        for nm, fn in (("cli", lambda: test_cli_errors(r)), ("user", lambda: test_user(r, tmp)),
                       ("switch", lambda: test_switch(r, tmp)), ("tap", lambda: test_tap(r, tmp))):
            if args.k in nm:
                fn()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
