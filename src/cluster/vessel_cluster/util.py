"""Small helpers shared by the lab and the cluster commands."""
import os
import subprocess
import sys
import time


class Error(Exception):
    """A failure to report as one `vessel cluster: ...` line (exit status 1, or .status)."""

    def __init__(self, msg, status=1):
        super().__init__(msg)
        self.status = status


def vessel_bin():
    """The vessel binary that exec'd this helper (the agents and the lab run the same one)."""
    b = os.environ.get("VESSEL_BIN")
    if not b:
        raise Error("VESSEL_BIN is not set: run this as `vessel cluster ...`")
    return b


def helper_path():
    """This helper's entry script, for the lab's host processes."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "vessel-cluster")


def agents_dir():
    """The OCF and fence agents shipped beside this package (src/cluster/agents)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "agents")


def log(msg):
    print("vessel cluster: %s" % msg, file=sys.stderr, flush=True)


def run(argv, check=True, timeout=60, **kw):
    """Runs argv, returns CompletedProcess (text). check=True turns a non-zero status into Error
    naming the command and its stderr."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout, **kw)
    except FileNotFoundError:
        raise Error("%s: not installed (see scripts/setup.sh)" % argv[0])
    except subprocess.TimeoutExpired:
        raise Error("%s: no answer within %d s" % (" ".join(argv), timeout))
    if check and p.returncode != 0:
        raise Error("%s: exit status %d: %s" % (" ".join(argv), p.returncode,
                                                 (p.stderr or p.stdout).strip()[-400:]))
    return p


def wait_for(fn, timeout, step=0.25, what="a condition"):
    """Polls fn() until it returns something true; Error after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= end:
            raise Error("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(step)


def write_atomic(path, text, mode=0o644):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def proc_start_time(pid):
    """Field 22 of /proc/PID/stat (start time in clock ticks), or None if pid is gone: with the
    pid it names one process, never a later one that reuses the number."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    return None if f[0] in "ZX" else int(f[19])  # a zombie has ended


def alive(pid, start):
    return pid > 0 and proc_start_time(pid) == start


def netns_of(pid):
    """The inode of pid's network namespace, or None."""
    try:
        return os.stat("/proc/%d/ns/net" % pid).st_ino
    except OSError:
        return None
