"""Errors, paths and child processes shared by the image builder's steps."""
import os
import shutil
import signal
import subprocess


class Error(Exception):
    """A failure reported as one `vessel image: ...` line (exit status 1)."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: the build stops and cleans up."""


def cache_dir():
    return os.environ.get("VESSEL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "vessel")


def vessel_bin():
    b = os.environ.get("VESSEL_BIN")
    if not b:
        raise Error("VESSEL_BIN is not set: run this as `vessel image ...`")
    return b


def scripts_file(name):
    """A file of the repository's scripts/ (a build tree) or beside the installed helper."""
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for d in (os.path.join(here, "..", "..", "scripts"), here):
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p):
            return p
    raise Error("%s not found beside the helper or in the repository's scripts/" % name)


def need_tool(name, package):
    path = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if not path:
        raise Error("%s not found (apt-get install %s; scripts/setup.sh installs it)"
                    % (name, package))
    return path


def run(argv, what, log=None, **kw):
    """Runs argv to completion (output to log, a file object, when given); Error naming what
    failed and the end of its output otherwise."""
    out = log if log is not None else subprocess.PIPE
    try:
        p = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True, **kw)
    except FileNotFoundError:
        raise Error("%s: %s not found" % (what, argv[0]))
    if p.returncode != 0:
        tail = (p.stdout or "").strip()[-600:] if log is None else "see %s" % log.name
        raise Error("%s failed (%s exited with status %d): %s"
                    % (what, os.path.basename(argv[0]), p.returncode, tail))
    return p


def kill_group(p):
    """Ends a child started with start_new_session=True and everything it started."""
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def parse_size(text):
    """"4G", "2048M", "512K" or bytes -> bytes; Error for anything else."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper()
    mul = 1
    if t[-1:] in units:
        mul, t = units[t[-1]], t[:-1]
    if not t.isdigit():
        raise Error("--size %s: expected a size like 4G or 2048M" % text)
    return int(t) * mul
