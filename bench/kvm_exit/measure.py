#!/usr/bin/env python3
"""Runs a VMM command under /usr/bin/time and prints one line:
   wall_seconds first_byte_seconds peak_rss_kib exit_status
first_byte: from spawning to the first byte on the guest console (stdout), i.e. process start
to the guest's first exit that produces output. Usage: measure.py CMD..."""
import os
import subprocess
import sys
import tempfile
import time

with tempfile.NamedTemporaryFile("r") as rss:
    t0 = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-q", "-f", "%M", "-o", rss.name] + sys.argv[1:],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    first = p.stdout.read(1)
    t1 = time.monotonic()
    p.stdout.read()
    status = p.wait()
    t2 = time.monotonic()
    kib = (rss.read().strip().splitlines() or ["0"])[-1]
print("%.6f %.6f %s %d" % (t2 - t0, (t1 - t0) if first else -1, kib, status))
