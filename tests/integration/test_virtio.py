#!/usr/bin/env python3
"""Integration tests of the virtio devices with Debian's riscv64 Linux and its own drivers.

ONE boot (boots are expensive under emulation) with three raw disks made here, virtio-rng
and a virtio-console on a unix socket, then checks computed inside the guest against the
host: a random disk's sha256, data the guest writes and syncs (found in the host file, also
after `kill -9` of the VMM), a read-only disk refusing writes, discard, the disk serial, the
hw_random device, and console bytes both ways across a client reconnect. Disks are told
apart by their sizes, so the order in which a VMM enumerates them does not matter.

Prints one PASS/FAIL line per check and ends with "N passed, N failed". On failure the
console log is saved under build/test-logs/. VESSEL_VMM=qemu runs the same checks on QEMU.
"""

import hashlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import Guest, GuestError, Results, vmm_command, vmm_name  # noqa: E402

BOOT_TIMEOUT = 120
CMD_TIMEOUT = 60
MIB = 1 << 20
SIZES = {"data": 8 * MIB, "scratch": 6 * MIB, "ro": 3 * MIB}




def make_disks(tmp):
    paths = {}
    for name, size in SIZES.items():
        p = os.path.join(tmp, name + ".img")
        with open(p, "wb") as f:
            f.write(os.urandom(size) if name != "scratch" else bytes(size))
        paths[name] = p
    return paths


def device_args(paths, sock):
    if vmm_name() == "qemu":
        a = []
        for i, name in enumerate(("data", "scratch", "ro")):
            ro = ",readonly=on" if name == "ro" else ""
            a += ["-drive", "file=%s,format=raw,if=none,id=d%d%s" % (paths[name], i, ro),
                  "-device", "virtio-blk-device,drive=d%d" % i]
        a += ["-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-device,rng=rng0",
              "-chardev", "socket,id=c0,path=%s,server=on,wait=off" % sock,
              "-device", "virtio-serial-device", "-device", "virtconsole,chardev=c0"]
        return a
    return ["--disk", paths["data"], "--disk", paths["scratch"] + ",format=raw",
            "--disk", paths["ro"] + ",ro", "--rng", "--console-socket", sock]


def find_disks(g):
    """{name: /dev/vdX} from the sizes in /sys/block."""
    out, _ = g.run("for d in /sys/block/vd*; do echo ${d##*/} $(cat $d/size); done", CMD_TIMEOUT)
    by_size = {size // 512: name for name, size in SIZES.items()}
    found = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 2 and f[1].isdigit() and int(f[1]) in by_size:
            found[by_size[int(f[1])]] = "/dev/" + f[0]
    return found


def sock_connect(path, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def sock_read_until(s, want, timeout):
    buf, end = b"", time.monotonic() + timeout
    while want not in buf and time.monotonic() < end:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
    return buf


def check_disks(g, r, paths, dev):
    r.check("three virtio disks with the expected sizes", len(dev) == 3, "found %r" % dev)
    if len(dev) != 3:
        return
    want = hashlib.sha256(open(paths["data"], "rb").read()).hexdigest()
    out, st = g.run("sha256sum %s" % dev["data"], CMD_TIMEOUT)
    got = out.split()[0] if out.split() else ""
    r.check("sha256 of the data disk in the guest equals the host's", st == 0 and got == want,
            "got %r want %s" % (out.strip(), want))

    # write 1 MiB of guest random data at 1 MiB into the scratch disk, with fsync
    out, st = g.run("dd if=/dev/urandom of=/tmp/w bs=65536 count=16 2>/dev/null && "
                    "dd if=/tmp/w of=%s bs=65536 seek=16 conv=fsync 2>/dev/null && sync && "
                    "sha256sum /tmp/w" % dev["scratch"], CMD_TIMEOUT)
    gsum = out.split()[0] if out.split() else ""
    with open(paths["scratch"], "rb") as f:
        f.seek(MIB)
        hsum = hashlib.sha256(f.read(MIB)).hexdigest()
    r.check("data written and synced in the guest is in the host file", st == 0 and gsum == hsum,
            "guest %r host %s" % (out.strip(), hsum))

    out, st = g.run("cat /sys/block/%s/ro; dd if=/dev/zero of=%s bs=512 count=1 conv=fsync 2>/dev/null"
                    % (dev["ro"][5:], dev["ro"]), CMD_TIMEOUT)
    with open(paths["ro"], "rb") as f:
        head = f.read(512)
    r.check("the read-only disk is ro in the guest and dd to it fails",
            st != 0 and out.strip().startswith("1") and head != bytes(512),
            "output %r status %d" % (out, st))

    out, st = g.run("cat /sys/block/%s/serial" % dev["data"][5:], CMD_TIMEOUT)
    r.check("GET_ID gives the disk a serial", st == 0 and out.strip() != "", "got %r" % out)

    out, st = g.run("command -v blkdiscard >/dev/null || echo none", CMD_TIMEOUT)
    if out.strip() != "none":
        out, st = g.run("blkdiscard -o 1048576 -l 65536 %s && sync" % dev["scratch"], CMD_TIMEOUT)
        with open(paths["scratch"], "rb") as f:
            f.seek(MIB)
            z = f.read(65536)
        r.check("blkdiscard zeroes the range in the host file", st == 0 and z == bytes(65536),
                "status %d %r" % (st, out))


def check_rng(g, r):
    out, st = g.run("cat /sys/class/misc/hw_random/rng_current", CMD_TIMEOUT)
    r.check("hw_random uses virtio", st == 0 and "virtio" in out, "got %r" % out)
    out, st = g.run("head -c 64 /dev/hwrng | wc -c", CMD_TIMEOUT)
    r.check("64 bytes from /dev/hwrng", st == 0 and out.strip() == "64", "got %r" % out)


def check_console(g, r, sock):
    # No echo of host input back to the host (busybox stty may refuse other settings).
    out, st = g.run("test -c /dev/hvc0 && echo ok; stty -F /dev/hvc0 -echo 2>/dev/null", CMD_TIMEOUT)
    if not r.check("/dev/hvc0 exists", "ok" in out, "got %r status %d" % (out, st)):
        return
    for attempt in (1, 2):  # the second round runs over a new connection
        s = sock_connect(sock)
        try:
            time.sleep(0.5)
            word = "guest-to-host-%d" % attempt
            g.run("echo %s > /dev/hvc0" % word, CMD_TIMEOUT)
            got = sock_read_until(s, word.encode(), 20)
            r.check("guest -> host over virtio-console (connection %d)" % attempt, word.encode() in got,
                    "got %r" % got[-200:])
            g.run("cat /dev/hvc0 > /tmp/in & echo $! > /tmp/catpid; sleep 1", CMD_TIMEOUT)
            msg = "host-to-guest-%d" % attempt
            s.sendall(msg.encode() + b"\n")  # a line: the tty may be in canonical mode
            out, st = g.run("for i in 1 2 3 4 5 6 7 8 9 10; do grep -q %s /tmp/in && break; sleep 1; done; "
                            "kill $(cat /tmp/catpid); cat /tmp/in; rm -f /tmp/in" % msg, CMD_TIMEOUT)
            r.check("host -> guest over virtio-console (connection %d)" % attempt, msg in out,
                    "got %r" % out)
        finally:
            s.close()
        time.sleep(0.5)


def check_kill9(g, r, paths, dev):
    """A write acknowledged after a completed flush survives kill -9 of the VMM."""
    out, st = g.run("dd if=/dev/urandom of=/tmp/k bs=65536 count=4 2>/dev/null && "
                    "dd if=/tmp/k of=%s bs=65536 seek=64 conv=fsync 2>/dev/null && sha256sum /tmp/k"
                    % dev["scratch"], CMD_TIMEOUT)
    gsum = out.split()[0] if out.split() else ""
    os.kill(g.proc.pid, signal.SIGKILL)
    g.proc.wait(timeout=30)
    with open(paths["scratch"], "rb") as f:
        f.seek(4 * MIB)
        hsum = hashlib.sha256(f.read(4 * 65536)).hexdigest()
    r.check("fsync'd guest write is in the host file after kill -9", st == 0 and gsum == hsum,
            "guest %r host %s" % (out.strip(), hsum))


def main():
    r = Results('virtio: ')
    tmp = tempfile.mkdtemp(prefix="vessel-virtio-")
    sock = os.path.join(tmp, "console.sock")
    g = None
    try:
        paths = make_disks(tmp)
        g = Guest(vmm_command(mem="256M") + device_args(paths, sock), name="virtio")
        g.start()
        g.expect_ready(BOOT_TIMEOUT)
        dev = find_disks(g)
        check_disks(g, r, paths, dev)
        check_rng(g, r)
        check_console(g, r, sock)
        if len(dev) == 3:
            check_kill9(g, r, paths, dev)
        else:
            g.poweroff()
    except (GuestError, OSError) as e:
        r.check("guest session", False, str(e))
    if g is not None and r.failed:
        print("     console log: %s" % g.save_log(), flush=True)
    if g is not None and g.proc and g.proc.poll() is None:
        g.kill()
    shutil.rmtree(tmp, ignore_errors=True)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
