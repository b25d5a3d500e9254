#!/usr/bin/env python3
"""Benchmark of the host daemon's management path (numbers, never assertions).

    bench/api.py [--vms N]      (default 4)

Against a temporary `vessel serve` (own --socket and --state-dir):
  - latency: POST /v1/vms + POST .../start until the guest's first console line (OpenSBI's
    banner) appears in the VM's console log, and until the initramfs ready marker; the peer is
    the same guest started directly as `vessel run` (first stdout line), ratio daemon/direct;
  - throughput: N VMs created and started back to back, VMs started per second (API time
    until every start answered) and until all are at the ready marker;
  - memory: the daemon's RSS growth per VM, each vm-shim's RSS, and each VMM's RSS split into
    guest RAM (the memfd) and the VMM's own memory (everything else).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import guest  # noqa: E402
from test_daemon import Daemon, vm_body, VESSEL  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def vmm_split(pid):
    """(guest RAM resident, the rest) in KiB from /proc/PID/smaps."""
    ram = total = 0
    name = ""
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split()
                name = parts[5] if len(parts) > 5 else ""
            elif line.startswith("Rss:"):
                kb = int(line.split()[1])
                total += kb
                if "vessel-ram" in name:
                    ram += kb
    return ram, total - ram


def wait_file_re(path, rx, timeout=180):
    end = time.time() + timeout
    rx = re.compile(rx)
    while time.time() < end:
        try:
            with open(path, "rb") as f:
                if rx.search(f.read()):
                    return time.time()
        except FileNotFoundError:
            pass
        time.sleep(0.005)
    return None


def direct_first_line():
    argv = guest.vmm_command(cpus=1, mem="256M")
    t0 = time.time()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    t = time.time() - t0
    p.kill()
    p.wait()
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vms", type=int, default=4)
    n = ap.parse_args().vms
    tmp = tempfile.mkdtemp(prefix="vessel-bench-")
    d = Daemon(tmp)
    d.start()
    try:
        rss0 = rss_kib(d.proc.pid)
        # Latency of one VM, alone.
        t0 = time.time()
        st, j = d.req("POST", "/v1/vms", vm_body("lat"))
        st2, j = d.req("POST", "/v1/vms/lat/start")
        t_api = time.time() - t0
        log = j["console"]["log"]
        t_first = wait_file_re(log, rb"\n") - t0
        t_ready = wait_file_re(log, rb"VESSEL-GUEST-READY") - t0
        d.req("POST", "/v1/vms/lat/stop")
        d.req("DELETE", "/v1/vms/lat")
        direct = min(direct_first_line() for _ in range(3))
        print("latency: create+start answered %.1f ms; first console line %.1f ms; ready marker %.2f s"
              % (t_api * 1e3, t_first * 1e3, t_ready))
        print("peer: direct `vessel run` to its first console line %.1f ms; ratio daemon/direct %.2f"
              % (direct * 1e3, t_first / direct))
        # Throughput.
        t0 = time.time()
        logs = []
        for i in range(n):
            d.req("POST", "/v1/vms", vm_body("tp%d" % i))
            st, j = d.req("POST", "/v1/vms/tp%d/start" % i)
            logs.append(j["console"]["log"])
        t_started = time.time() - t0
        firsts = [wait_file_re(lg, rb"\n") for lg in logs]
        readies = [wait_file_re(lg, rb"VESSEL-GUEST-READY") for lg in logs]
        print("throughput: %d VMs created+started in %.1f ms = %.1f VMs/s (API); all printing after %.2f s; "
              "all at the ready marker after %.1f s (%d host CPUs)"
              % (n, t_started * 1e3, n / t_started, max(firsts) - t0, max(readies) - t0, os.cpu_count()))
        rss1 = rss_kib(d.proc.pid)
        shims, vmm_own, vmm_ram = [], [], []
        for i in range(n):
            v = d.req("GET", "/v1/vms/tp%d" % i)[1]
            shims.append(v["stats"]["shim_rss_kib"])
            ram, own = vmm_split(v["pid"])
            vmm_ram.append(ram)
            vmm_own.append(own)
        print("memory per VM: daemon +%.0f KiB (RSS %d -> %d KiB with %d VMs); vm-shim %d KiB; "
              "VMM own (not guest RAM) %d KiB; guest RAM resident %d KiB of 262144"
              % ((rss1 - rss0) / n, rss0, rss1, n, sum(shims) / n, sum(vmm_own) / n, sum(vmm_ram) / n))
        for i in range(n):
            d.req("POST", "/v1/vms/tp%d/stop" % i)
            d.req("DELETE", "/v1/vms/tp%d" % i)
    finally:
        d.terminate()
        shutil.rmtree(tmp, ignore_errors=True)
    _ = VESSEL
    return 0


if __name__ == "__main__":
    sys.exit(main())
