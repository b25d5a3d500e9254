#!/usr/bin/env python3
"""Live migration of a running rv64 guest between two "hosts" (issue 5, items 4 and 5).

The test builds its own network (root only; SKIP otherwise):

    namespace SW:  bridge br0 10.77.0.100/24 - the client, and the link between the hosts
    namespace A :  bridge bra 10.77.0.1/24 = veth a0 (to SW) + tap vtap0 (the source VM)
    namespace B :  bridge brb 10.77.0.2/24 = veth b0 (to SW) + tap vtap0 (the destination VM)

The guest (10.77.0.10, a fixed MAC) runs in A with a qcow2 disk file both hosts see (shared
storage) and is moved to B with `vessel migrate` over 10.77.0.2.

  refused  a destination whose device options differ refuses; the source runs on
  cancel   `vessel migrate --cancel` in the middle of a (throttled) migration: state cancelled,
           the source runs on, the destination exits non-zero
  cut      the link between A and B goes down in the middle of a (throttled) migration: the
           source reports the failure within its timeout and its guest still answers; the
           destination exits non-zero and leaves no process behind
  moved    while the guest serves a long TCP stream to the client in SW and keeps writing
           numbered blocks to its disk, it migrates to B: the stream completes with the right
           sha256, every block on the disk file is right, the guest's uptime continues and a
           process started before the move is still there with the same PID; the destination
           announces the guest's MAC with a RARP broadcast that the switch sees

Ends with "N passed, N failed"; console logs of failed guests go to build/test-logs/.
"""

import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import Guest, GuestError, ROOT, Results, api, timeout_scale, vmm_command, wait_socket  # noqa: E402

VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
MAC = "52:54:00:77:00:10"
GUEST_IP = "10.77.0.10"
PORT = 47310          # migration port on B
STREAM_PORT = 5000    # the guest's TCP stream
STREAM_LINES = 300000  # `seq 1 N`: about 2 MiB
BLOCKS = 40           # 64 KiB blocks the guest writes, one every 0.2 s
FAR = 16384           # a 64 KiB block 1 GiB into the disk (another qcow2 L2 table)
CMD = 60


def sh(*cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).returncode == 0


class Net:
    def __init__(self):
        tag = str(os.getpid())
        self.sw, self.a, self.b = "vsl-sw-" + tag, "vsl-a-" + tag, "vsl-b-" + tag

    def up(self):
        ok = all(sh("ip", "netns", "add", ns) for ns in (self.sw, self.a, self.b))
        for ns in (self.sw, self.a, self.b):
            ok = ok and sh("ip", "-n", ns, "link", "set", "lo", "up")
        ok = ok and sh("ip", "-n", self.sw, "link", "add", "br0", "type", "bridge")
        ok = ok and sh("ip", "-n", self.sw, "addr", "add", "10.77.0.100/24", "dev", "br0")
        ok = ok and sh("ip", "-n", self.sw, "link", "set", "br0", "up")
        for ns, host, br, addr in ((self.a, "a", "bra", "10.77.0.1/24"), (self.b, "b", "brb", "10.77.0.2/24")):
            ok = ok and sh("ip", "-n", self.sw, "link", "add", host + "p", "type", "veth", "peer",
                           "name", host + "0", "netns", ns)
            ok = ok and sh("ip", "-n", self.sw, "link", "set", host + "p", "master", "br0", "up")
            ok = ok and sh("ip", "-n", ns, "link", "add", br, "type", "bridge")
            ok = ok and sh("ip", "-n", ns, "tuntap", "add", "dev", "vtap0", "mode", "tap")
            for dev in (host + "0", "vtap0"):
                ok = ok and sh("ip", "-n", ns, "link", "set", dev, "master", br, "up")
            ok = ok and sh("ip", "-n", ns, "addr", "add", addr, "dev", br)
            ok = ok and sh("ip", "-n", ns, "link", "set", br, "up")
        return ok

    def down(self):
        for ns in (self.sw, self.a, self.b):
            sh("ip", "netns", "del", ns)






def wait_listen(ns, port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Hltn", "sport = :%d" % port],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        if out.strip():
            return True
        time.sleep(0.05)
    return False


def block(i):
    line = b"blk-%d\n" % i
    return (line * (65536 // len(line) + 1))[:65536]


# The migration's secret, on both ends (docs/migration.md): written by main() into its temporary
# directory, mode 0600.
SECRET = secrets.token_hex(32)
SECRET_FILE = [None]


def write_secret(tmp):
    path = os.path.join(tmp, "migration.secret")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, SECRET.encode() + b"\n")
    os.close(fd)
    SECRET_FILE[0] = path


def destination(net, devices, name):
    argv = ["ip", "netns", "exec", net.b, VESSEL, "run", "--incoming", "10.77.0.2:%d" % PORT,
            "--migration-secret-file", SECRET_FILE[0]] + devices
    g = Guest(argv, name=name)
    g.start()
    if not wait_listen(net.b, PORT):
        raise GuestError("%s does not listen on port %d" % (name, PORT))
    return g


def migrate(sock, extra=()):
    return subprocess.run([VESSEL, "migrate", "--api-socket", sock, "--to", "10.77.0.2:%d" % PORT,
                           "--secret-file", SECRET_FILE[0]] + list(extra),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120 * timeout_scale())


def main():
    r = Results("migrate: ")
    if os.geteuid() != 0 or not shutil.which("ip") or not os.path.exists("/dev/net/tun"):
        print("SKIP migrate: needs root, iproute2 and /dev/net/tun for namespaces and taps")
        print("0 passed, 0 failed")
        return 0
    net = Net()
    tmp = tempfile.mkdtemp(prefix="vessel-migrate-")
    write_secret(tmp)
    guests, client = [], None
    try:
        if not r.check("two hosts and a switch in network namespaces", net.up()):
            raise GuestError("network set-up failed")
        # qcow2: clusters the source allocates while RAM is copied must be in the file (its
        # metadata flushed) when the destination opens it
        disk = os.path.join(tmp, "shared.qcow2")
        subprocess.run([VESSEL, "disk", "create", disk, "2G"], check=True, stdout=subprocess.DEVNULL)
        devices = ["--disk", disk, "--net", "tap,ifname=vtap0,mac=" + MAC]
        sock = os.path.join(tmp, "src.sock")
        src = Guest(["ip", "netns", "exec", net.a] + vmm_command(mem="256M") + devices + ["--api-socket", sock],
                    name="migrate-source")
        guests.append(src)
        src.start()
        src.expect_ready()
        wait_socket(sock)
        out, st = src.run("ip link set eth0 up && ip addr add %s/24 dev eth0 && ping -c 1 -W 5 10.77.0.2" % GUEST_IP, CMD)
        r.check("the guest on host A reaches host B", st == 0, out)

        # refused: a destination with another device list
        d = destination(net, devices + ["--rng"], "migrate-refusing")
        guests.append(d)
        p = migrate(sock)
        r.check("a destination with other devices refuses (exit 2, reason shown)",
                p.returncode == 2 and b"virtio device" in p.stdout, p.stdout)
        d.wait_exit(30)
        r.check("the refusing destination exits non-zero", d.returncode not in (0, None), d.returncode)
        out, st = src.run("echo still-here", CMD)
        r.check("the source runs on after the refusal", st == 0 and "still-here" in out, out)

        # cut: throttle A's link so that the copy takes long, then take B's link down
        ok = sh("ip", "netns", "exec", net.a, "tc", "qdisc", "add", "dev", "a0", "root", "tbf",
                "rate", "40mbit", "burst", "32kbit", "latency", "400ms")
        r.check("throttle host A's link to 40 Mbit/s", ok)
        # cancel: `vessel migrate --cancel` while RAM is being copied
        d = destination(net, devices, "migrate-cancelled")
        guests.append(d)
        out = api(sock, {"migrate": {"to": "10.77.0.2:%d" % PORT, "secret": SECRET}})
        time.sleep(1.0)
        p = subprocess.run([VESSEL, "migrate", "--api-socket", sock, "--cancel"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        state = api(sock, {"migrate_status": None})["migration"]
        for _ in range(50):
            if state["state"] not in ("precopy", "connecting"):
                break
            time.sleep(0.1)
            state = api(sock, {"migrate_status": None})["migration"]
        r.check("vessel migrate --cancel stops a running migration (state cancelled)",
                out.get("ok") is True and p.returncode == 0 and state["state"] == "cancelled", (out, p.stdout, state))
        out, st = src.run("echo alive-after-cancel", CMD)
        r.check("the source guest runs on after the cancel", st == 0 and "alive-after-cancel" in out, out)
        d.wait_exit(30)
        r.check("the destination of the cancelled migration exits non-zero, keeping nothing",
                d.returncode not in (0, None) and b"nothing was kept" in d.log(), d.returncode)

        d = destination(net, devices, "migrate-cut")
        guests.append(d)
        out = api(sock, {"migrate": {"to": "10.77.0.2:%d" % PORT, "timeout_ms": 2000, "secret": SECRET}})
        r.check("migrate command accepted", out.get("ok") is True, out)
        time.sleep(1.5)
        mid = api(sock, {"migrate_status": None})["migration"]
        r.check("mid-way the migration is copying RAM", mid["state"] == "precopy" and mid["sent_pages"] > 0, mid)
        sh("ip", "-n", net.b, "link", "set", "b0", "down")
        t_cut = time.monotonic()
        state = mid
        while time.monotonic() - t_cut < 15 * timeout_scale() and state["state"] in ("precopy", "connecting", "stopcopy"):
            time.sleep(0.2)
            state = api(sock, {"migrate_status": None})["migration"]
        r.check("the source gives up after the cut (failed, with a reason)",
                state["state"] == "failed" and state["error"], state)
        out, st = src.run("echo alive-after-cut; cat /proc/uptime", CMD)
        r.check("the source guest still runs and answers", st == 0 and "alive-after-cut" in out, out)
        d.wait_exit(30)
        r.check("the destination discards the half-received VM and exits non-zero",
                d.returncode not in (0, None) and b"nothing was kept" in d.log(), d.returncode)
        r.check("no destination process is left", not wait_listen(net.b, PORT, timeout=0.5))
        sh("ip", "-n", net.b, "link", "set", "b0", "up")
        sh("ip", "netns", "exec", net.a, "tc", "qdisc", "del", "dev", "a0", "root")

        # moved: a stream to the client, disk writes, a process, uptime
        src.run("seq 1 %d > /tmp/stream" % STREAM_LINES, CMD * 3)  # slow on a busy host
        src.run("(nc -l -p %d < /tmp/stream; echo STREAM-SENT) > /dev/null 2>&1 & true" % STREAM_PORT, CMD)
        time.sleep(0.5)
        expect = hashlib.sha256(b"".join(b"%d\n" % i for i in range(1, STREAM_LINES + 1))).hexdigest()
        reader = ("import socket,hashlib,time,sys\n"
                  "for i in range(100):\n"
                  "    try: s=socket.create_connection(('%s',%d),timeout=60); break\n"
                  "    except OSError: time.sleep(0.1)\n"
                  "h=hashlib.sha256();n=0\n"
                  "while True:\n"
                  "    b=s.recv(8192)\n"
                  "    if not b: break\n"
                  "    h.update(b);n+=len(b);time.sleep(0.03)\n"
                  "print(n,h.hexdigest())\n") % (GUEST_IP, STREAM_PORT)
        client = subprocess.Popen(["ip", "netns", "exec", net.sw, sys.executable, "-c", reader],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        src.run("i=0; (while [ $i -lt %d ]; do yes blk-$i | head -c 65536 > /tmp/b; "
                "dd if=/tmp/b of=/dev/vda bs=65536 seek=$i conv=fsync 2>/dev/null; i=$((i+1)); "
                "sleep 0.2; done; touch /tmp/disk-done) > /dev/null 2>&1 & true" % BLOCKS, CMD)
        out, st = src.run("sleep 100000 & echo PID=$!; cut -d' ' -f1 /proc/uptime", CMD)
        pid = out.split("PID=")[1].split()[0] if "PID=" in out else "?"
        up_before = float(out.split()[-1]) if st == 0 else 0.0
        time.sleep(2)
        d = destination(net, devices, "migrate-destination")
        guests.append(d)
        # after the destination opened the disk: a block 1 GiB in, which needs a new L1 entry
        # and L2 table in the qcow2 image - the destination must not use its stale view
        src.run("yes FAR-BLOCK | head -c 65536 > /tmp/far; "
                "dd if=/tmp/far of=/dev/vda bs=65536 seek=%d conv=fsync 2>/dev/null" % FAR, CMD)
        out, st = src.run("[ -e /tmp/disk-done ] && echo WRITER-DONE || echo WRITER-BUSY", CMD)
        r.check("when the move starts, the disk writer and the stream are still busy",
                "WRITER-BUSY" in out and client.poll() is None, (out, client.poll()))
        sniff = subprocess.Popen(  # the destination's announcement, seen on the switch
            ["ip", "netns", "exec", net.sw, sys.executable, "-c",
             "import socket\n"
             "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(0x8035))\n"
             "s.bind(('br0',0)); s.settimeout(60)\n"
             "f=s.recv(100); print(f[6:12].hex(':'), f[22:28].hex(':'))\n"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(0.3)
        t0 = time.monotonic()
        p = migrate(sock)
        wall = time.monotonic() - t0
        text = p.stdout.decode(errors="replace")
        r.check("vessel migrate completes (exit 0, 'migrated to')", p.returncode == 0 and "migrated to" in text, text)
        src.wait_exit(30)
        r.check("the source VMM ends with status 0 after the move", src.returncode == 0, src.returncode)
        try:
            rarp = sniff.communicate(timeout=10)[0].decode(errors="replace").split()
        except subprocess.TimeoutExpired:
            sniff.kill()
            rarp = sniff.communicate()[0].decode(errors="replace").split()
        r.check("the destination announces the guest's MAC (a RARP broadcast reaches the switch)",
                rarp == [MAC, MAC], rarp)
        for line in text.splitlines():
            if "migrated to" in line:
                print("INFO migrate: %s (wall %.2f s)" % (line.strip(), wall))
        out, st = d.run("cut -d' ' -f1 /proc/uptime; kill -0 %s && echo PID-ALIVE; sleep 1 & echo NEWPID=$!" % pid, CMD)
        r.check("on B the process started on A is alive with the same PID", "PID-ALIVE" in out, out)
        try:
            up_after = float(out.split()[0])
            newpid = int(out.split("NEWPID=")[1].split()[0])
        except (ValueError, IndexError):
            up_after, newpid = 0.0, 0
        r.check("the guest's uptime continues (not reset, not behind)",
                up_before <= up_after <= up_before + wall + 30, (up_before, up_after))
        out, st = d.run("echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=65536 skip=%d count=1 "
                        "2>/dev/null | head -c 9" % FAR, CMD)
        r.check("on B the guest reads the block written 1 GiB in just before the move (fresh "
                "qcow2 metadata)", "FAR-BLOCK" in out, out)
        r.check("new PIDs continue after the old ones", newpid > int(pid) if pid.isdigit() else False, (pid, newpid))
        try:
            cout, _ = client.communicate(timeout=120 * timeout_scale())
        except subprocess.TimeoutExpired:
            client.kill()
            cout, _ = client.communicate()
        parts = cout.decode(errors="replace").split()
        r.check("the TCP stream to the client completes with the right sha256 across the move",
                len(parts) == 2 and parts[1] == expect, (cout, expect))
        out, st = d.run("while [ ! -e /tmp/disk-done ]; do sleep 0.5; done; sync; echo synced", 120)
        r.check("the guest's disk writer finishes on B", st == 0 and "synced" in out, out)
        d.poweroff()
        r.check("the destination guest powers off cleanly", d.returncode == 0, d.returncode)
        chk = subprocess.run(["qemu-img", "check", disk], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        r.check("qemu-img check finds the shared qcow2 disk consistent after the move", chk.returncode == 0,
                chk.stdout.decode(errors="replace")[-500:])
        raw = os.path.join(tmp, "shared.raw")
        subprocess.run(["qemu-img", "convert", "-O", "raw", disk, raw], check=True)
        with open(raw, "rb") as f:
            data = f.read(BLOCKS * 65536)
        bad = [i for i in range(BLOCKS) if data[i * 65536:(i + 1) * 65536] != block(i)]
        r.check("all %d blocks written before, during and after the move are on the disk" % BLOCKS, not bad, bad[:10])
    except GuestError as e:
        r.check("guest run", False, str(e))
    finally:
        if r.failed:
            for g in guests:
                print("console log of %s: %s" % (g.name, g.save_log()))
        if client and client.poll() is None:
            client.kill()
        for g in guests:
            g.kill()
        net.down()
        shutil.rmtree(tmp, ignore_errors=True)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
