#!/usr/bin/env python3
"""Guest-to-host TCP throughput over user-mode NAT: Vessel against qemu-system-riscv64 -M virt.

Boots the cached riscv64 guest once per VMM with one virtio-net NIC on user-mode NAT
(vessel: --net user; qemu: -netdev user,id=n0 -device virtio-net-device,netdev=n0), gets an
address by DHCP, then streams `dd if=/dev/zero bs=64k count=N | nc 10.0.2.2 PORT` to a sink
this script runs on the host's loopback. The time is the sink's, from the first byte to the
end of the stream; the byte count is checked. Prints MB/s for each VMM and the ratio
vessel/qemu. Measures only; never asserts times.

Usage: bench/net.py [--mib N] [--runs N] [--vmm vessel|qemu|both]
"""

import argparse
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from guest import Guest, GuestError, vmm_command  # noqa: E402

DHCP = ("printf '%s' > /tmp/dhcp.sh && chmod +x /tmp/dhcp.sh && ip link set eth0 up && "
        "udhcpc -i eth0 -s /tmp/dhcp.sh -q -n -t 10 -T 2 >/dev/null 2>&1 && "
        "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'" %
        '#!/bin/sh\\ncase "$1" in bound|renew) ip addr add $ip/$mask dev $interface; '
        'ip route add default via ${router%%%% *} dev $interface;; esac\\n')


class Sink:
    """Accepts one connection at a time on 127.0.0.1 and times each stream."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.results = []
        self.cond = threading.Condition()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            c, _ = self.srv.accept()
            n, t0 = 0, None
            while True:
                b = c.recv(1 << 20)
                if not b:
                    break
                if t0 is None:
                    t0 = time.monotonic()
                n += len(b)
            t1 = time.monotonic()
            c.close()
            with self.cond:
                self.results.append((n, (t1 - t0) if t0 else 0.0))
                self.cond.notify_all()

    def wait(self, count, timeout):
        with self.cond:
            self.cond.wait_for(lambda: len(self.results) >= count, timeout)
            return self.results[count - 1] if len(self.results) >= count else None


def net_args(vmm):
    if vmm == "qemu":
        return ["-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"]
    return ["--net", "user"]


def measure(vmm, mib, runs):
    sink = Sink()
    g = Guest(vmm_command(vmm=vmm, mem="256M") + net_args(vmm), name="bench-net-" + vmm)
    best = None
    try:
        g.start()
        g.expect_ready(180)
        out, st = g.run(DHCP, 60)
        if "inet 10.0.2." not in out:
            raise GuestError("DHCP failed: %r" % out)
        for i in range(runs):
            cmd = "dd if=/dev/zero bs=64k count=%d 2>/dev/null | nc 10.0.2.2 %d" % (mib * 16, sink.port)
            out, st = g.run(cmd, 900)
            res = sink.wait(i + 1, 30)
            if st != 0 or not res or res[0] != mib << 20:
                raise GuestError("stream %d: status %d, sink got %r (want %d bytes)" % (i, st, res, mib << 20))
            mbs = res[0] / 1e6 / res[1]
            best = mbs if best is None else max(best, mbs)
        g.poweroff()
    except GuestError as e:
        print("bench: %s: %s (log: %s)" % (vmm, e, g.save_log()), file=sys.stderr)
        g.kill()
        return None
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=32, help="MiB per stream (default 32)")
    ap.add_argument("--runs", type=int, default=2, help="streams per VMM; the best counts")
    ap.add_argument("--vmm", default="both", choices=("vessel", "qemu", "both"))
    a = ap.parse_args()
    vmms = ("vessel", "qemu") if a.vmm == "both" else (a.vmm,)
    res = {}
    for v in vmms:
        res[v] = measure(v, a.mib, a.runs)
        if res[v] is not None:
            print("%-7s guest->host TCP over user NAT: %7.1f MB/s (%d MiB, best of %d)"
                  % (v, res[v], a.mib, a.runs), flush=True)
    if res.get("vessel") and res.get("qemu"):
        print("ratio vessel/qemu: %.2f" % (res["vessel"] / res["qemu"]))
    return 0 if all(r is not None for r in res.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
