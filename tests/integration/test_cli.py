#!/usr/bin/env python3
"""Integration tests of the `vessel run` command itself (python3 stdlib only).

  * bad input: a one-line `vessel: ...` error and exit status 1, within a bounded time;
  * a guest that reports failure through the syscon (0x3333) gives exit status 3;
  * `--trace FILE` on a tiny bare-metal program writes the documented line format
    ("HART PRIV PC INSN [xN=VAL]... [->TARGET]") with the exact expected values;
  * one Linux boot on a pseudo-terminal: the idle guest's host CPU use (utime+stime of
    the vessel process over 5 s, from /proc/PID/stat; printed as an INFO line and
    checked against a generous bound, IDLE_CPU_MAX), then Ctrl-A x quits with status
    130 and the terminal's settings afterwards equal those before;
  * the power controls of one Linux boot over --api-socket: {"reboot": null} restarts the
    guest in place (the ready marker again, the VMM still running), {"shutdown": null} on a
    guest without a power button driver answers an error naming it, SIGTERM stops the VM cleanly
    (one log line, exit status 3);
  * --config FILE: a JSON VM configuration boots the same guest, and a bad one is refused with
    one line naming the member.

Prints one PASS/FAIL line per check and ends with "N passed, N failed". These test
vessel's own command line; under VESSEL_VMM=qemu they are skipped (0 passed, 0 failed).
"""

import json
import os
import pty
import re
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import (READY_RE, ROOT, Guest, GuestError, Results, api, artifact, guest_run, timeout_scale,  # noqa: E402
                   vmm_command, vmm_name, wait_socket)

VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
ERROR_TIMEOUT = 20  # seconds for a bad-input run to exit
IDLE_SECONDS = 5
IDLE_CPU_MAX = 20.0  # percent of one core; the target is ~0 (WFI sleeps the hart's thread)

# A bare-metal program for RAM at 0x80000000: writes 0x3333 (failure) to the syscon, then spins.
FAIL_PROG = [0x001002B7,  # lui  t0, 0x100        t0 = 0x100000 (syscon)
             0x00003337,  # lui  t1, 0x3
             0x33330313,  # addi t1, t1, 0x333    t1 = 0x3333
             0x0062A023,  # sw   t1, 0(t0)
             0x0000006F]  # j    .
FAIL_TRACE = ["0 M 0000000080000000 001002b7 x5=0000000000100000",
              "0 M 0000000080000004 00003337 x6=0000000000003000",
              "0 M 0000000080000008 33330313 x6=0000000000003333",
              "0 M 000000008000000c 0062a023"]
TRACE_RE = re.compile(r"\d+ [USM] [0-9a-f]{16} [0-9a-f]{8}( x\d+=[0-9a-f]{16})*( ->[0-9a-f]{16})?$")
# An empty Linux Image header (vessel requires --kernel; never run)
PLACEHOLDER_IMAGE = bytes(48) + b"RISCV\0\0\0RSC\x05\0\0\0\0"




def run_vessel(args, timeout, arch=("--arch", "riscv64")):
    """(exit status or None on timeout, stdout+stderr text)."""
    try:
        p = subprocess.run([VESSEL, "run"] + list(arch) + args, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout * timeout_scale())
    except subprocess.TimeoutExpired as e:
        return None, (e.output or b"").decode(errors="replace")
    return p.returncode, p.stdout.decode(errors="replace")


def check_bad_input(r, tmp):
    image, fw = artifact("Image"), artifact("fw_dynamic.bin")
    empty = os.path.join(tmp, "empty")
    open(empty, "wb").close()
    good = ["--kernel", image, "--firmware", fw]
    cases = [
        ("missing kernel", ["--kernel", os.path.join(tmp, "nonexistent"), "--firmware", fw], "nonexistent"),
        ("non-RISC-V kernel (/bin/true, an x86 ELF)", ["--kernel", "/bin/true", "--firmware", fw], "/bin/true"),
        ("zero-length kernel", ["--kernel", empty, "--firmware", fw], "empty"),
        ("zero-length firmware", ["--kernel", image, "--firmware", empty], "empty"),
        ("too little memory (--mem 16M)", good + ["--mem", "16M"], "--mem"),
        ("--cpus 0", good + ["--cpus", "0"], "--cpus"),
        ("--cpus 33", good + ["--cpus", "33"], "--cpus"),
        ("unknown option", good + ["--bogus-option"], "--bogus-option"),
        ("initrd is a directory", good + ["--initrd", tmp], "initrd"),
        ("initrd does not exist", good + ["--initrd", os.path.join(tmp, "no-initrd")], "no-initrd"),
        ("unknown rv64 tier", good + ["--rv64-tier", "fast"], "--rv64-tier"),
        ("JIT code cache too small", good + ["--rv64-jit-cache", "1K"], "--rv64-jit-cache"),
    ]
    for what, args, needle in cases:
        rc, out = run_vessel(args, ERROR_TIMEOUT)
        lines = out.strip("\n").split("\n")
        r.check("bad input: %s -> one 'vessel: ' line naming it, exit status 1" % what,
                rc == 1 and len(lines) == 1 and lines[0].startswith("vessel: ") and needle in lines[0],
                "exit status %s, output %r" % (rc, out))


def check_crash_and_trace(r, tmp):
    prog, image, trace = (os.path.join(tmp, n) for n in ("fail.bin", "placeholder.Image", "fail.trace"))
    with open(prog, "wb") as f:
        f.write(struct.pack("<%dI" % len(FAIL_PROG), *FAIL_PROG))
    with open(image, "wb") as f:
        f.write(PLACEHOLDER_IMAGE)
    rc, out = run_vessel(["--firmware", prog, "--kernel", image, "--mem", "64M", "--trace", trace], 30)
    r.check("guest failure through the syscon (0x3333): exit status 3", rc == 3,
            "exit status %s, output %r" % (rc, out))
    try:
        with open(trace) as f:
            lines = f.read().splitlines()
    except OSError as e:
        r.check("--trace FILE written", False, str(e))
        return
    r.check("--trace: the first instructions, their changed registers and values",
            lines[:4] == FAIL_TRACE, "got %r" % lines[:5])
    bad = [x for x in lines if not TRACE_RE.match(x)]
    r.check("--trace: all %d lines in the documented format" % len(lines), lines and not bad,
            "not matching: %r" % bad[:3])
    r.check("--trace: the spin loop shows its jump target",
            len(lines) > 4 and lines[4] == "0 M 0000000080000010 0000006f ->0000000080000010", "got %r" % lines[4:5])


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def check_pty_session(r):
    """Boot on a pseudo-terminal: idle CPU, then Ctrl-A x: status 130 and the terminal restored."""
    argv = vmm_command(cpus=1)
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] |= termios.ECHO | termios.ICANON | termios.ISIG  # a cooked terminal, as a shell leaves it
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    before = termios.tcgetattr(slave)
    buf = bytearray()
    cond = threading.Condition()

    def reader():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            with cond:
                if chunk:
                    buf.extend(chunk)
                cond.notify_all()
            if not chunk:
                return

    def wait_for(rx, timeout):
        end = time.monotonic() + timeout * timeout_scale()
        with cond:
            while not re.search(rx, bytes(buf)):
                if time.monotonic() > end or proc.poll() is not None:
                    return False
                cond.wait(0.5)
        return True

    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    threading.Thread(target=reader, daemon=True).start()
    try:
        if not r.check("pty: boot to the ready marker on a terminal", wait_for(READY_RE.encode(), 120),
                       "console tail %r" % bytes(buf[-400:])):
            return
        wait_for(rb"vessel# ", 30)
        time.sleep(1)
        c0, t0 = proc_cpu_seconds(proc.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        c1, t1 = proc_cpu_seconds(proc.pid), time.monotonic()
        pct = 100.0 * (c1 - c0) / (t1 - t0)
        print("INFO idle guest (1 hart, shell waiting): vessel used %.1f%% of one host core over %.1f s"
              % (pct, t1 - t0), flush=True)
        r.check("idle guest uses < %.0f%% of one host core (%.1f%%)" % (IDLE_CPU_MAX, pct), pct < IDLE_CPU_MAX)
        during = termios.tcgetattr(slave)
        r.check("pty: raw mode while the guest runs (ICANON, ECHO, ISIG off)",
                not during[3] & (termios.ICANON | termios.ECHO | termios.ISIG), "lflag %#x" % during[3])
        os.write(master, b"\x01x")
        try:
            rc = proc.wait(20 * timeout_scale())
        except subprocess.TimeoutExpired:
            rc = None
        r.check("pty: Ctrl-A x quits with exit status 130", rc == 130, "exit status %s" % rc)
        after = termios.tcgetattr(slave)
        r.check("pty: terminal settings after exit equal those before", after == before,
                "before %r, after %r" % (before, after))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(slave)
        os.close(master)


def check_power_controls(r, tmp):
    sock = os.path.join(tmp, "api.sock")
    g = Guest(vmm_command() + ["--api-socket", sock], name="cli-power")
    with guest_run(r, None, [g]):
        g.start()
        g.expect_ready()
        wait_socket(sock)
        rep = api(sock, {"reboot": None})
        r.check("control: reboot answers ok", rep.get("ok") is True, repr(rep))
        g.expect_ready()  # the same VMM process boots the guest again
        r.check("control: after reboot the guest is back at its ready marker, same VMM process",
                g.proc.poll() is None)
        rep = api(sock, {"shutdown": None})
        r.check("control: shutdown when the guest has no driver for the power button -> an "
                "error naming it",
                rep.get("ok") is False and "power button" in rep.get("error", ""), repr(rep))
        g.proc.terminate()
        rc = g.wait_exit(30)
        r.check("SIGTERM stops the VM cleanly: exit status 3 and a line saying so",
                rc == 3 and "SIGTERM: stopping the VM" in g.log().decode(errors="replace"),
                "status %s" % rc)


def check_config_file(r, tmp):
    cfg = os.path.join(tmp, "vm.json")
    argv = vmm_command()
    conf = {"arch": "riscv64", "memory_bytes": 256 << 20, "cpus": 1, "rng": True,
            "kernel": argv[argv.index("--kernel") + 1], "initrd": argv[argv.index("--initrd") + 1],
            "firmware": argv[argv.index("--firmware") + 1], "cmdline": argv[argv.index("--append") + 1],
            "rv64_tier": "interp"}
    with open(cfg, "w") as f:
        json.dump(conf, f)
    g = Guest([VESSEL, "run", "--config", cfg], name="cli-config")
    with guest_run(r, None, [g]):
        g.start()
        g.expect_ready()
        out, st = g.run("ls /sys/bus/virtio/drivers/virtio_rng | grep -c virtio")
        r.check("--config: the JSON configuration (rv64_tier interp) boots the guest with its devices "
                "(virtio-rng)",
                st == 0 and out.strip() == "1", repr(out))
        g.poweroff()
        r.check("--config: poweroff -f gives exit status 0", g.returncode == 0, "status %s" % g.returncode)
    bad = [({"arch": "riscv64", "kernel": conf["kernel"], "memory": 5}, '"memory": unknown member'),
           ({"kernel": conf["kernel"], "cpus": "two"}, '"cpus"'),
           ({"kernel": conf["kernel"], "disks": [{"path": "/x", "mode": "rw"}]}, '"mode"')]
    for conf_bad, needle in bad:
        with open(cfg, "w") as f:
            json.dump(conf_bad, f)
        rc, out = run_vessel(["--config", cfg], ERROR_TIMEOUT, arch=())
        lines = out.strip("\n").split("\n")
        r.check("--config with %s: one line naming it, exit status 1" % needle,
                rc == 1 and len(lines) == 1 and needle in lines[0], "status %s, %r" % (rc, out))
    rc, out = run_vessel(["--config", cfg, "--rng"], ERROR_TIMEOUT, arch=())
    r.check("--config with another option: refused (exit 1)", rc == 1 and "--config" in out, repr(out))


def main():
    r = Results()
    if vmm_name() != "vessel":
        print("SKIP test_cli.py: tests vessel's command line (VESSEL_VMM=%s)" % vmm_name())
        print("0 passed, 0 failed")
        return 0
    if not os.access(VESSEL, os.X_OK):
        r.check("vessel binary", False, "%s missing (run make)" % VESSEL)
    else:
        with tempfile.TemporaryDirectory(prefix="vessel-cli-") as tmp:
            check_bad_input(r, tmp)
            check_crash_and_trace(r, tmp)
            check_power_controls(r, tmp)
            check_config_file(r, tmp)
        try:
            check_pty_session(r)
        except GuestError as e:
            r.check("pty session", False, str(e))
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
