"""The lab's cgroups: one group per lab host (and one for the lab's bridge), so that a host's
load is its own and `lab kill` can end every process of a host at once.

cgroup v1 (this project's machines): a group in each of the cpu, cpuacct, memory and freezer
hierarchies that are mounted; the freezer is what makes a kill race-free (freeze, SIGKILL every
task, thaw). cgroup v2 (used only when v1 has no freezer): one group, killed through cgroup.kill.
Groups are named vessel-lab-ID/NAME under each hierarchy's root."""
import os
import signal
import time

from .util import Error

V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "freezer")


def _mounts():
    """{controller: mount point} for v1, and "v2" for the cgroup2 mount."""
    out = {}
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if fstype == "cgroup":
                for o in opts.split(","):
                    if o in V1_CONTROLLERS and o not in out:
                        out[o] = mnt
            elif fstype == "cgroup2" and "v2" not in out:
                out["v2"] = mnt
    return out


class LabCgroups:
    def __init__(self, lab_id):
        m = _mounts()
        self.base = "vessel-lab-%s" % lab_id
        if "freezer" in m:
            self.version = 1
            self.roots = {c: m[c] for c in V1_CONTROLLERS if c in m}
        elif "v2" in m:
            self.version = 2
            self.roots = {"v2": m["v2"]}
        else:
            raise Error("no cgroup freezer (v1) and no cgroup2 mount: the lab needs one")

    def dirs(self, name=None):
        """The group's directory in every hierarchy (the lab's base group when name is None)."""
        sub = self.base if name is None else "%s/%s" % (self.base, name)
        return [os.path.join(r, sub) for r in self.roots.values()]

    def path(self, ctrl, name):
        r = self.roots.get(ctrl) or self.roots.get("v2")
        return os.path.join(r, self.base, name) if r else None

    def create(self, name):
        for d in self.dirs(name):
            os.makedirs(d, exist_ok=True)

    def weigh(self, nhosts):
        """The lab's CPU weight: as much as nhosts processes would have, so that the lab (one group
        beside this machine's other processes) is not starved on a busy machine. No CPU limit: a
        lab host competes for the machine like a real one would for its own."""
        if self.version == 1 and "cpu" in self.roots:
            _write(os.path.join(self.roots["cpu"], self.base, "cpu.shares"), str(1024 * nhosts))
        elif self.version == 2 and os.path.exists(os.path.join(self.roots["v2"], self.base, "cpu.weight")):
            _write(os.path.join(self.roots["v2"], self.base, "cpu.weight"), str(100 * nhosts))

    def join(self, name, pid=0):
        """Moves pid (0: the caller) into the group, in every hierarchy."""
        for d in self.dirs(name):
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(pid or os.getpid()))

    def pids(self, name):
        """Every process in the group or below it (all hierarchies agree for lab processes; the
        freezer or v2 group is the one no VM process leaves)."""
        top = self.path("freezer", name) if self.version == 1 else self.path("v2", name)
        out = set()
        if not top or not os.path.isdir(top):
            return out
        for d, _, _ in os.walk(top):
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    out.update(int(x) for x in f.read().split())
            except OSError:
                pass
        return out

    def kill(self, name, timeout=30):
        """SIGKILLs every process of the group (power loss) and waits until none is left."""
        if self.version == 2:
            top = self.path("v2", name)
            if os.path.isdir(top):
                with open(os.path.join(top, "cgroup.kill"), "w") as f:
                    f.write("1")
        else:
            frz = self.path("freezer", name)
            if os.path.isdir(frz):
                _write(os.path.join(frz, "freezer.state"), "FROZEN")
                end = time.monotonic() + 10
                while _read(os.path.join(frz, "freezer.state")) == "FREEZING" and time.monotonic() < end:
                    time.sleep(0.02)
                for pid in self.pids(name):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                _write(os.path.join(frz, "freezer.state"), "THAWED")
        end = time.monotonic() + timeout
        while self.pids(name):
            if time.monotonic() >= end:
                raise Error("lab: processes of %s still alive after SIGKILL: %s" %
                            (name, sorted(self.pids(name))))
            for pid in self.pids(name):  # a process forked while we looked
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def remove(self, name=None):
        """rmdir of the group and every group below it (the daemon makes .../vessel/ID ones),
        deepest first. Errors are collected, not raised halfway."""
        errors = []
        for top in self.dirs(name):
            if not os.path.isdir(top):
                continue
            for d, subdirs, _ in os.walk(top, topdown=False):
                try:
                    os.rmdir(d)
                except OSError as e:
                    errors.append("%s: %s" % (d, e.strerror))
        return errors

    def leftovers(self):
        """Directories of the lab's groups that still exist."""
        return [d for d in self.dirs() if os.path.isdir(d)]


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""
