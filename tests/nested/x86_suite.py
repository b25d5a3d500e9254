#!/usr/bin/env python3
"""Every x86-64 test on the kvm engine, in one go: directly where the host has hardware
virtualization (vmx or svm and a usable /dev/kvm), else inside ONE L1 boot of the nested harness
(tests/nested/nested.py: QEMU TCG with emulated AMD SVM), so that no x86 test is skipped on a
host without VT-x/AMD-V and the L1 boot is paid once.

    tests/nested/x86_suite.py [--direct | --nested] [--list] [NAME...]

The tests (NAME selects some; default all), in order:
  guest          tests/guest/x86/run.sh: the bare-metal test guests (boot protocols, SMP, reset
                 and reboot in place, triple fault, high memory, virtio-blk)
  engine         build/kvm-engine-test: pause/resume, vCPU state, dirty log, VM state
  snapshot       tests/integration/test_x86_snapshot.py
  migrate        tests/integration/test_x86_migrate.py
  daemon         tests/integration/test_daemon_migrate.py --x86-only: migration and snapshot of
                 an x86 VM between two `vessel serve` daemons
  linux          tests/integration/test_x86_linux.py --direct: Debian's x86-64 kernel with
                 virtio-pci (MSI-X), power button, reboot in place, snapshot, migration

On the host (nested mode) the test guests are built first (L1 has no compiler) and put into the
L1 payload with build/kvm-engine-test; inside L1 every test runs with VESSEL_TIMEOUT_SCALE of at
least NESTED_SCALE (4) and its own bounded timeout. Each test's PASS/FAIL lines are relayed as
they come; the end is a table of every test's counts and time, then "N passed, N failed" (a test
that ends without its summary line, or is killed at its timeout, counts as one failure).
When L1 itself ends before the job starts (QEMU exits without L1 reaching the job, as a TCG
L1 kernel can under heavy host load), L1 is booted once more, the first boot's console is kept
(build/nested/out-x86-suite-first-l1-console.log) and the result says so in a NOTE line; a
failure after the job started is never retried. Nested mode also runs, on this host, the check
that `vessel run --arch x86_64` explains in one line why it cannot run here (test_x86_linux.py's
host check).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import nested  # noqa: E402

NESTED_SCALE = 4
# L1's RAM: test_x86_migrate's 5 GiB guest (RAM on both sides of the MMIO gap) must fit in what a
# destination accepts, which is never more than L1's MemAvailable (guest RAM is touched lazily)
L1_MEM = "6G"
# name, argv (from the repository's root), timeout in seconds before scaling
TESTS = [
    ("guest", ["bash", "tests/guest/x86/run.sh"], 300),
    ("engine", ["build/kvm-engine-test"], 60),
    ("snapshot", ["python3", "tests/integration/test_x86_snapshot.py"], 300),
    ("migrate", ["python3", "tests/integration/test_x86_migrate.py"], 300),
    ("daemon", ["python3", "tests/integration/test_daemon_migrate.py", "--x86-only"], 300),
    ("linux", ["python3", "tests/integration/test_x86_linux.py", "--direct"], 900),
]
SUMMARY_RE = re.compile(r"^(\d+) passed, (\d+) failed$")
MARK_RE = re.compile(r"^@@X86-SUITE (\S+) rc=(-?\d+) passed=(\d+) failed=(\d+) seconds=([0-9.]+)@@$")


def scale():
    try:
        return max(float(os.environ.get("VESSEL_TIMEOUT_SCALE", "1")), 0.1)
    except ValueError:
        return 1.0


def run_one(name, argv, timeout):
    """Runs one test with its output relayed; prints its marker line. Returns (rc, passed, failed,
    seconds)."""
    t0 = time.monotonic()
    print("==> x86 %s: %s" % (name, " ".join(argv)), flush=True)
    counts = None
    env = dict(os.environ)
    if name == "guest":
        env.setdefault("TEST_TIMEOUT", str(int(60 * scale())))
    try:
        p = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True, env=env)
    except OSError as e:
        print("FAIL x86 %s: cannot start: %s" % (name, e), flush=True)
        rc = 127
    else:
        deadline = t0 + timeout
        killed = False
        for raw in iter(p.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\r\n")
            m = SUMMARY_RE.match(line.strip())
            if m:
                counts = (int(m.group(1)), int(m.group(2)))
            print(line, flush=True)
            if time.monotonic() > deadline and not killed:
                killed = True
                os.killpg(p.pid, signal.SIGKILL)
        try:
            p.wait(max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            killed = True
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        try:
            os.killpg(p.pid, signal.SIGKILL)  # whatever the test left behind in its session
        except ProcessLookupError:
            pass
        rc = p.returncode
        if killed:
            print("FAIL x86 %s: killed after its timeout of %ds" % (name, timeout), flush=True)
    if counts is None:
        counts = (0, 1)
    elif rc != 0 and counts[1] == 0:
        print("FAIL x86 %s: exit status %d although no check failed" % (name, rc), flush=True)
        counts = (counts[0], 1)
    secs = time.monotonic() - t0
    print("@@X86-SUITE %s rc=%d passed=%d failed=%d seconds=%.1f@@" % (name, rc, counts[0], counts[1], secs),
          flush=True)
    return rc, counts[0], counts[1], secs


def l1_died_before_tests(res, results, timeout):
    """True when the nested run failed before L1 started the job: QEMU ended (not killed at the
    timeout) without "@@NESTED-START@@" and no test reported. Only then is one more L1 boot
    allowed; a failure once the job has started is never retried (it may be Vessel's)."""
    return (bool(res.error) and res.seconds is not None and res.seconds < timeout
            and res.boot_seconds is None and not results)


def run_list(names):
    for name, argv, timeout in TESTS:
        if name in names:
            run_one(name, argv, int(timeout * scale()))


def build_guests():
    p = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "guest", "x86"),
                        "O=" + os.path.join(ROOT, "build", "guest", "x86")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise nested.NestedError("building the x86 test guests failed: %s" % p.stdout.decode(errors="replace")[-500:])
    exe = os.path.join(os.path.dirname(nested.vessel_bin()), "kvm-engine-test")
    if not os.access(exe, os.X_OK):
        raise nested.NestedError("%s missing (run make)" % exe)


def host_check():
    """test_x86_linux.py's check on a host without vmx/svm; returns (passed, failed)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import test_x86_linux as t  # noqa: E402
    r = t.Results("x86-linux: ")
    t.platform.check_no_hw_virt(r)
    return r.passed, r.failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--direct", action="store_true", help="run on this host's /dev/kvm")
    ap.add_argument("--nested", action="store_true", help="run inside one L1 (nested.py)")
    ap.add_argument("--in-l1", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--list", action="store_true", help="list the tests")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    known = [t[0] for t in TESTS]
    if a.list:
        for name, argv, timeout in TESTS:
            print("%-9s %4ds  %s" % (name, timeout, " ".join(argv)))
        return 0
    bad = [n for n in a.names if n not in known]
    if bad:
        print("x86_suite: unknown test %s (known: %s)" % (", ".join(bad), " ".join(known)), file=sys.stderr)
        return 2
    names = a.names or known
    if a.in_l1:
        run_list(names)
        return 0
    mode = "direct" if a.direct or (not a.nested and nested.host_has_hw_virt()) else "nested"
    print("INFO x86 suite: %s (%s)" % (mode, "vmx/svm and /dev/kvm here" if mode == "direct" else
                                       "no vmx/svm here: one L1 under QEMU TCG with emulated AMD SVM"), flush=True)
    results = {}
    t0 = time.monotonic()

    def relay(line):
        m = MARK_RE.match(line.strip())
        if m:
            results[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)), float(m.group(5)))
            return
        print(line, flush=True)

    harness_error = None
    l1_retry = None
    boot = None
    if mode == "direct":
        for name, argv, timeout in TESTS:
            if name in names:
                results[name] = run_one(name, argv, int(timeout * scale()))
    else:
        if scale() < NESTED_SCALE:
            os.environ["VESSEL_TIMEOUT_SCALE"] = str(NESTED_SCALE)
        total = sum(t for n, _a, t in TESTS if n in names) * scale() + 300
        try:
            build_guests()
            img = nested.build(bench=False, log=lambda m: print("INFO x86 suite: " + m, flush=True))
            print("INFO x86 suite: L1 image ready in %.1fs (%s)" % (img["seconds"], "built" if img["built"] else
                                                                   "cached"), flush=True)
            for attempt in (1, 2):
                res = nested.run(["python3", "tests/nested/x86_suite.py", "--in-l1"] + names, timeout=total,
                                 on_line=relay, out_dir=os.path.join(nested.WORK, "out-x86-suite"), mem=L1_MEM)
                if not l1_died_before_tests(res, results, total) or attempt == 2:
                    break
                # nothing of Vessel ran yet: L1 itself failed (a TCG guest kernel under heavy load)
                l1_retry = res.error
                first = os.path.join(nested.WORK, "out-x86-suite-first-l1-console.log")
                try:
                    shutil.copy(os.path.join(res.out_dir, "l1-console.log"), first)
                    l1_retry += " (its console: %s)" % first
                except OSError as e:
                    l1_retry += " (its console not kept: %s)" % e
                print("INFO x86 suite: L1 ended before the job started (%s); booting L1 once more"
                      % res.error, flush=True)
            boot = res.boot_seconds
            if res.error:
                harness_error = res.error
        except nested.NestedError as e:
            harness_error = str(e)
    passed = failed = 0
    print("==> x86 suite results (%s)" % mode)
    for name in names:
        if name in results:
            rc, p, f, secs = results[name]
            print("  %-9s %4d passed, %d failed  %7.1fs" % (name, p, f, secs))
            passed += p
            failed += f
        elif mode == "nested":
            print("  %-9s did not run to its end in L1" % name)
            failed += 1
    if mode == "nested":
        if harness_error:
            print("FAIL x86 suite: nested harness: %s" % harness_error)
            failed += 1
        else:
            passed += 1
            print("PASS x86 suite: one L1 boot ran every test (L1 up in %s)" % (
                "%.1fs" % boot if boot is not None else "?"))
        if l1_retry:
            print("NOTE x86 suite: L1 was booted twice: the first boot ended before the job started: %s"
                  % l1_retry)
        p, f = host_check()
        passed += p
        failed += f
    print("INFO x86 suite: %.1fs in all" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
