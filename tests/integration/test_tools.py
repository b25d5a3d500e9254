#!/usr/bin/env python3
"""Tests of the debugging tools: tools/lockstep.py (Vessel against QEMU, instruction by instruction).

  * isa_int (bare-metal, built by `make -C tests/guest/rv64`) in lockstep for up to
    MAX_INSNS instructions: "no divergence" and exit status 0;
  * a known divergence: Vessel's real trace of isa_int with one register value changed
    at line BAD_LINE (a register write) is compared against QEMU: the tool must report
    that exact instruction and register, with exit status 1;
  * a different program on Vessel's side (mmu.bin against QEMU's isa_int.elf) is reported
    as a divergence too.

Prints one PASS/FAIL line per check and ends with "N passed, N failed".
"""

import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import ROOT, Results, timeout_scale  # noqa: E402

LOCKSTEP = os.path.join(ROOT, "tools", "lockstep.py")
GUEST = os.path.join(ROOT, "build", "guest", "rv64")
VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
MAX_INSNS = 20000
BAD_LINE = 5000  # the first line at or after this one that writes a register gets a changed value
TIMEOUT = 300




def lockstep(args):
    """(exit status or None on timeout, output)."""
    argv = [sys.executable, LOCKSTEP, "--vessel", VESSEL, "--timeout", str(TIMEOUT * timeout_scale())] + args
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=(TIMEOUT + 30) * timeout_scale())
    except subprocess.TimeoutExpired as e:
        return None, (e.output or b"").decode(errors="replace")
    return p.returncode, p.stdout.decode(errors="replace")


def tail(out, n=25):
    return "\n" + "\n".join("    " + x for x in out.splitlines()[-n:])


def main():
    r = Results()
    build = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "guest", "rv64"), "O=" + GUEST],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if not r.check("build the bare-metal programs", build.returncode == 0, build.stdout.decode(errors="replace")):
        print("%d passed, %d failed" % (r.passed, r.failed))
        return 1

    rc, out = lockstep(["isa_int", "--max", str(MAX_INSNS)])
    m = re.search(r"lockstep: (\d+) instructions compared", out)
    r.check("lockstep isa_int (up to %d instructions): no divergence from QEMU" % MAX_INSNS,
            rc == 0 and "lockstep: no divergence" in out and m and int(m.group(1)) > 1000, tail(out))
    if m:
        print("INFO lockstep isa_int: %s instructions compared" % m.group(1), flush=True)

    with tempfile.TemporaryDirectory(prefix="vessel-lockstep-test-") as tmp:
        trace = os.path.join(tmp, "isa_int.trace")
        run = subprocess.run([VESSEL, "run", "--arch", "riscv64", "--cpus", "1", "--mem", "128M",
                              "--firmware", os.path.join(GUEST, "isa_int.bin"),
                              "--kernel", os.path.join(GUEST, "placeholder.Image"), "--trace", trace],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                             timeout=60 * timeout_scale())
        with open(trace) as f:
            lines = f.read().splitlines()
        bad = next((i for i in range(BAD_LINE - 1, len(lines)) if " x" in lines[i]), None)
        if r.check("a Vessel trace of isa_int with a register write after line %d" % BAD_LINE,
                   run.returncode == 0 and bad is not None, "exit status %d, %d lines" % (run.returncode, len(lines))):
            m = re.search(r" x(\d+)=([0-9a-f]{16})", lines[bad])
            reg, val = int(m.group(1)), int(m.group(2), 16)
            lines[bad] = lines[bad][:m.start(2)] + "%016x" % (val ^ 0x100) + lines[bad][m.end(2):]
            bad_trace = os.path.join(tmp, "isa_int.bad.trace")
            with open(bad_trace, "w") as f:
                f.write("\n".join(lines) + "\n")
            rc, out = lockstep(["isa_int", "--vessel-trace", bad_trace, "--max", str(MAX_INSNS)])
            want = "lockstep: DIVERGENCE at instruction %d " % (bad + 1)
            reg_line = re.search(r"^\s+\S+\s+\(x%d\s*\): vessel=%016x qemu=%016x$" % (reg, val ^ 0x100, val),
                                 out, re.M)
            r.check("lockstep reports a changed register value at its instruction (%d, x%d) with both values"
                    % (bad + 1, reg), rc == 1 and want in out and reg_line is not None, tail(out))

    rc, out = lockstep(["isa_int", "--vessel-bin", os.path.join(GUEST, "mmu.bin"), "--max", str(MAX_INSNS)])
    r.check("lockstep reports a different program on Vessel's side (mmu.bin vs isa_int.elf)",
            rc == 1 and "lockstep: DIVERGENCE at instruction" in out, tail(out))

    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
