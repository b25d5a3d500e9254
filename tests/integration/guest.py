"""A small expect-like driver for guests on a serial console (python3 stdlib only).

    g = Guest(vmm_command(cpus=2), name="boot-2harts")
    g.start()
    g.expect_ready()                      # waits for the initramfs ready marker
    out, status = g.run("echo $((6*7))")  # output of one shell command and its $?
    g.poweroff()                          # `poweroff -f`, waits for the VMM to exit
    g.returncode                          # the VMM's exit status

The VMM runs with the guest console on pipes (its stdin/stdout). Every wait has a
bounded timeout; a timeout, the VMM exiting early, or a kernel panic raises
GuestError. The whole console log is kept; save_log() writes it under
build/test-logs/ (tests do that on failure and print where it is).

The VMM is chosen by the environment:
  VESSEL_VMM=vessel (default)  build/vessel run --arch riscv64 ... (VESSEL_BIN overrides the path)
  VESSEL_VMM=qemu              qemu-system-riscv64 -M virt ... (the reference peer)
Other knobs: VESSEL_CACHE (guest artifacts, default ~/.cache/vessel),
VESSEL_TIMEOUT_SCALE (multiplies every timeout, e.g. 4 for a slow debug build),
VESSEL_APPEND (extra kernel command line words).
"""

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOG_DIR = os.path.join(ROOT, "build", "test-logs")
READY_RE = r"VESSEL-GUEST-READY (\S+) (\d+)"
PANIC_RE = re.compile(rb"Kernel panic - not syncing[^\n]*\n?")
PROMPT_RE = r"vessel# "
POWEROFF_RE = r"reboot: Power down"



class Results:
    """PASS/FAIL lines for tests/run.sh and the counts for the closing "N passed, N failed"
    line. prefix names what every check belongs to (e.g. "virtio: ")."""

    def __init__(self, prefix=""):
        self.passed = self.failed = 0
        self.prefix = prefix

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS %s%s" % (self.prefix, what), flush=True)
        else:
            self.failed += 1
            more = ": " + str(detail)[:2000] if detail is not None and detail != "" else ""
            print("FAIL %s%s%s" % (self.prefix, what, more), flush=True)
        return ok

    def summary(self):
        """Prints the closing "N passed, N failed" line; returns the script's exit status."""
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 1 if self.failed else 0


class ScopedResults(Results):
    """Results whose checks name their scope first (a boot, a group): check(scope, what, ...)."""

    def check(self, scope, what, ok, detail=""):
        return Results.check(self, "%s: %s" % (scope, what), ok, detail)

class GuestError(Exception):
    pass


@contextlib.contextmanager
def guest_run(r, tmp, guests):
    """The epilogue of a script's checks: a GuestError becomes one failed check with the console
    log of every guest in guests saved (and named); in any case every guest is killed and tmp
    removed. Use as `with guest_run(r, tmp, guests): ...checks...`, then `return r.summary()`."""
    try:
        yield
    except GuestError as e:
        r.check("guest run", False, str(e))
        for g in guests:
            print("console log of %s: %s" % (g.name, g.save_log()))
    finally:
        for g in guests:
            g.kill()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True when some socket listens on TCP port (from /proc/net/tcp*, without connecting: a
    connection would be taken for the migration source)."""
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(f).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 3 and parts[3] == "0A" and int(parts[1].split(":")[-1], 16) == port:
                return True
    return False


def cache_dir():
    return os.environ.get("VESSEL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "vessel")


def artifact(name):
    return os.path.join(cache_dir(), "riscv64", name)


def timeout_scale():
    try:
        return max(float(os.environ.get("VESSEL_TIMEOUT_SCALE", "1")), 0.1)
    except ValueError:
        return 1.0


def api(path, cmd, timeout=120):
    """One command on a VMM's --api-socket (a unix socket, one JSON line each way)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout * timeout_scale())
        s.connect(path)
        s.sendall((json.dumps(cmd) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def wait_socket(path, timeout=10):
    """Waits until path exists (a VMM creates its sockets soon after it starts)."""
    end = time.monotonic() + timeout * timeout_scale()
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.02)


def vmm_name():
    return os.environ.get("VESSEL_VMM", "vessel")


def vmm_command(cpus=1, mem="256M", firmware="fw_dynamic.bin", kernel=None, initrd=None, append=None, vmm=None):
    """argv for the selected VMM booting the cached riscv64 guest."""
    kernel = kernel or artifact("Image")
    initrd = initrd or artifact("initramfs.cpio.gz")
    fw = firmware if os.path.isabs(firmware) else artifact(firmware)
    append = append or ("console=ttyS0 panic=-1 " + os.environ.get("VESSEL_APPEND", "")).strip()
    vmm = vmm or vmm_name()
    for f in (kernel, initrd, fw):
        if not os.path.isfile(f):
            raise GuestError("%s missing (run scripts/fetch-guest.sh)" % f)
    if vmm == "qemu":
        return ["qemu-system-riscv64", "-M", "virt", "-m", mem, "-smp", str(cpus), "-nographic",
                "-no-reboot", "-bios", fw, "-kernel", kernel, "-initrd", initrd, "-append", append]
    if vmm == "vessel":
        vessel = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
        if not os.access(vessel, os.X_OK):
            raise GuestError("%s missing or not executable (run make)" % vessel)
        return [vessel, "run", "--arch", "riscv64", "--kernel", kernel, "--initrd", initrd,
                "--firmware", fw, "--mem", mem, "--cpus", str(cpus), "--append", append]
    raise GuestError("VESSEL_VMM=%s: expected vessel or qemu" % vmm)


class Guest:
    def __init__(self, argv, name="guest", mirror=None):
        self.argv = argv
        self.mirror = mirror  # a binary stream that gets a live copy of the console (demo)
        self.name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        self.buf = bytearray()
        self.pos = 0  # expect() searches from here
        self.cond = threading.Condition()
        self.eof = False
        self.proc = None
        self.t_start = None
        self.returncode = None
        self.rusage = None
        self.seq = 0

    # process

    def start(self):
        self.t_start = time.monotonic()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            raise GuestError("cannot start %s: %s" % (self.argv[0], e))
        threading.Thread(target=self._reader, daemon=True).start()
        return self

    def _reader(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self.cond:
                if not chunk:
                    self.eof = True
                else:
                    self.buf += chunk
                self.cond.notify_all()
            if chunk and self.mirror:
                self.mirror.write(chunk)
                self.mirror.flush()
            if not chunk:
                return

    def elapsed(self):
        return time.monotonic() - self.t_start

    def send(self, text):
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise GuestError("writing to the console failed: %s" % e)

    def sendline(self, line):
        self.send(line + "\n")

    def expect(self, pattern, timeout):
        """Wait for the regex (str) in the console output after the last match; return the match.

        Raises GuestError on timeout, on the VMM closing its output, or on a kernel panic."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout * timeout_scale()
        panic_at = None
        with self.cond:
            while True:
                m = rx.search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                p = PANIC_RE.search(self.buf, self.pos)
                if p:
                    # Give the kernel a moment to finish the panic line, then report it.
                    if panic_at is None:
                        panic_at = time.monotonic()
                    if p.group(0).endswith(b"\n") or self.eof or time.monotonic() - panic_at > 2:
                        raise GuestError("guest kernel panic: %s" % p.group(0).decode(errors="replace").strip())
                    self.cond.wait(0.2)
                    continue
                if self.eof:
                    try:
                        rc = self.proc.wait(2)
                    except subprocess.TimeoutExpired:
                        rc = "none yet"
                    raise GuestError("VMM output closed (exit status %s) while waiting for /%s/"
                                     % (rc, rx.pattern.decode(errors="replace")))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GuestError("timeout after %.0fs waiting for /%s/"
                                     % (timeout * timeout_scale(), rx.pattern.decode(errors="replace")))
                self.cond.wait(min(left, 1.0))

    def expect_ready(self, timeout=120):
        """Wait for the initramfs ready marker; returns (kernel release, number of CPUs)."""
        m = self.expect(READY_RE, timeout)
        self.t_ready = self.elapsed()
        self.expect(PROMPT_RE, timeout)  # the shell is reading its input
        return m.group(1).decode(), int(m.group(2))

    def run(self, cmd, timeout=60):
        """Run one shell command line; return (its output with \\r removed, its exit status).

        The markers are built from quoted pieces so that the console's echo of the typed
        line never matches them; only the shell's output does."""
        self.seq += 1
        tag = "%d" % self.seq
        self.sendline("echo '<V''B%s>'; %s; echo \"<V\"\"E%s:$?>\"" % (tag, cmd, tag))
        self.expect(r"<VB%s>\r?\n" % tag, timeout)
        start, t0 = self.pos, time.monotonic()
        m = self.expect(r"<VE%s:(\d+)>" % tag, timeout)
        self.last_run_seconds = time.monotonic() - t0  # host time between the two markers
        with self.cond:
            out = bytes(self.buf[start:m.start()])
        return out.decode(errors="replace").replace("\r", ""), int(m.group(1))

    def wait_exit(self, timeout):
        """Wait for the VMM to exit; return its status (negative: killed by that signal)."""
        deadline = time.monotonic() + timeout * timeout_scale()
        pid = self.proc.pid
        while True:
            try:
                wpid, status, ru = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = self.proc.poll()
                return self.returncode
            if wpid == pid:
                self.rusage = ru
                self.returncode = os.waitstatus_to_exitcode(status)
                self.proc.returncode = self.returncode
                with self.cond:  # let the reader drain what the VMM printed last
                    end = time.monotonic() + 2
                    while not self.eof and time.monotonic() < end:
                        self.cond.wait(0.1)
                return self.returncode
            if time.monotonic() >= deadline:
                raise GuestError("VMM still running %.0fs after the guest was told to exit"
                                 % (timeout * timeout_scale()))
            time.sleep(0.05)

    def poweroff(self, timeout=60):
        """`poweroff -f` in the guest; waits for the power-down message and the VMM's exit status."""
        self.sendline("poweroff -f")
        self.expect(POWEROFF_RE, timeout)
        return self.wait_exit(timeout)

    def peak_rss_kib(self):
        """VmHWM of the running VMM (KiB), or ru_maxrss once it has exited."""
        if self.rusage is not None:
            return self.rusage.ru_maxrss
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def kill(self):
        """Stop the VMM if it is still running (its own process group, started by us)."""
        if self.proc and self.proc.poll() is None and self.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def log(self):
        with self.cond:
            return bytes(self.buf)

    def save_log(self):
        os.makedirs(LOG_DIR, exist_ok=True)
        path = os.path.join(LOG_DIR, self.name + ".log")
        with open(path, "wb") as f:
            f.write(("# %s\n" % shlex.join(self.argv)).encode())
            f.write(self.log())
        return path

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        return False
