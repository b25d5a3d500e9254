#!/usr/bin/env python3
"""Boot the default riscv64 guest, run one shell command inside it, power it off.

The whole console (firmware, kernel, shell) is shown as it happens. Non-interactive:
the command is typed into the guest's console. VESSEL_VMM=qemu runs the same guest
under QEMU for comparison. Exit status: the VMM's (0 when the guest powered off).
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from guest import Guest, GuestError, vmm_command, vmm_name  # noqa: E402

DEFAULT_CMD = "uname -a; head -n 8 /proc/cpuinfo; echo \"6*7 = $((6*7))\""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--firmware", default="fw_dynamic.bin")
    ap.add_argument("command", nargs="?", default=DEFAULT_CMD, help="shell command line (default: %(default)s)")
    a = ap.parse_args()
    try:
        argv = vmm_command(cpus=a.cpus, firmware=a.firmware)
    except GuestError as e:
        print("demo: %s" % e, file=sys.stderr)
        return 1
    print("demo: %s" % " ".join(argv), flush=True)
    g = Guest(argv, name="demo-%s" % vmm_name(), mirror=sys.stdout.buffer)
    try:
        with g:
            g.expect_ready(180)
            out, status = g.run(a.command, 300)
            rc = g.poweroff(60)
    except GuestError as e:
        print("\ndemo: FAILED: %s; console log: %s" % (e, g.save_log()), file=sys.stderr)
        return 2
    print("\n---- output of `%s` in the guest (exit status %d) ----" % (a.command, status))
    sys.stdout.write(out)
    print("---- ready after %.2fs; VMM exit status %d ----" % (g.t_ready, rc))
    return rc


if __name__ == "__main__":
    sys.exit(main())
