"""Argument parsing and dispatch of `vessel cluster ...` (usage below, docs/cluster.md)."""
import json
import os
import sys

from . import commands, lab
from .util import Error

USAGE = """usage: vessel cluster [--lab DIR] COMMAND ...

Vessel VMs as Pacemaker resources on a pool of hosts (docs/cluster.md). Every command but
`lab` works against the Pacemaker cluster this host belongs to, or with --lab DIR against the
lab there.

  vm create NAME --kernel IMAGE [--arch riscv64|x86_64] [--initrd FILE] [--firmware FILE]
            [--append STR] [--cpus N] [--memory SIZE] [--disk PATH[,ro]]...
                            a resource ocf:vessel:vm (allow-migrate, utilization cpu and
                            memory); Pacemaker places and starts it. Files must be on storage
                            every host sees.
  vm delete NAME            stop it (gracefully, then forced) and remove the resource
  vm migrate NAME --to HOST live-migrate it to HOST (and keep it there: a location preference
                            that `vm migrate NAME --clear` removes)
  host drain HOST           move every VM off HOST (standby); `host undrain HOST` ends it
  status [--json]           hosts (online, capacity, load, VMs) and VMs (host, state, boot_id,
                            migrations, restarts)

  lab up --dir DIR [--hosts N] [--cpus N] [--memory SIZE]
                            N hosts (default 3) on this machine, each in its own network, mount
                            and UTS namespaces and cgroups, running corosync, pacemaker and
                            `vessel serve`; DIR/shared is storage all of them see. Root only.
  lab down --dir DIR        SIGKILL everything of the lab; checks nothing is left
  lab kill --dir DIR HOST   power loss of HOST: SIGKILL every process of it
  lab exec --dir DIR HOST -- CMD...   run CMD inside HOST (its namespaces and cgroups)
  lab status --dir DIR      which hosts are up

Exit status: 0 done, 1 failed or bad usage (one `vessel cluster:` line says why)."""


class Args:
    """A tiny option reader: flags with one value, repeatable ones collected in lists."""

    def __init__(self, argv, values, lists=(), flags=()):
        self.opts, self.pos = {}, []
        i = 0
        while i < len(argv):
            a = argv[i]
            if a == "--":
                self.pos += argv[i + 1:]
                break
            if a.startswith("--") and "=" in a:
                a, v = a.split("=", 1)
                argv = argv[:i] + [a, v] + argv[i + 1:]
            if a in flags:
                self.opts[a] = True
            elif a in values or a in lists:
                if i + 1 >= len(argv):
                    raise Error("%s needs a value" % a)
                if a in lists:
                    self.opts.setdefault(a, []).append(argv[i + 1])
                else:
                    self.opts[a] = argv[i + 1]
                i += 1
            elif a.startswith("--"):
                raise Error("unknown option %s (see vessel cluster --help)" % a)
            else:
                self.pos.append(a)
            i += 1

    def get(self, k, default=None):
        return self.opts.get(k, default)


def parse_size_mib(s):
    units = {"K": 1.0 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
    try:
        if s[-1:].upper() in units:
            v = float(s[:-1]) * units[s[-1].upper()]
        else:
            v = float(s)
    except ValueError:
        raise Error("%s: expected a size like 256M or 2G" % s)
    if v < 1 or v != v:
        raise Error("%s: too small" % s)
    return int(v)


def parse_int(s, lo, hi, what):
    try:
        v = int(s)
    except ValueError:
        raise Error("%s %s: expected a number" % (what, s))
    if not lo <= v <= hi:
        raise Error("%s %s: expected %d to %d" % (what, s, lo, hi))
    return v


def cmd_lab(argv):
    if not argv:
        raise Error("lab: expected up, down, kill, exec or status (see vessel cluster --help)")
    sub, rest = argv[0], argv[1:]
    if sub == "exec":
        # everything after HOST (and an optional --) is the command, untouched
        a = Args(rest[:3] if len(rest) >= 3 and rest[0] == "--dir" else rest[:1], ("--dir",))
        if "--dir" not in a.opts or len(a.pos) != 1:
            raise Error("lab exec --dir DIR HOST -- CMD...")
        cmd = rest[3:]
        if cmd[:1] == ["--"]:
            cmd = cmd[1:]
        lab.lab_exec(a.get("--dir"), a.pos[0], cmd)
        return 0
    a = Args(rest, ("--dir", "--hosts", "--cpus", "--memory"))
    d = a.get("--dir")
    if not d:
        raise Error("lab %s: --dir DIR is required" % sub)
    if sub == "up" and not a.pos:
        n = parse_int(a.get("--hosts", "3"), 1, lab.MAX_HOSTS, "--hosts")
        cpus = parse_int(a.get("--cpus", "2"), 1, 4096, "--cpus")
        st = lab.up(d, n, cpus, parse_size_mib(a.get("--memory", "2G")))
        print("lab up: %d hosts (%s) in %s" % (n, " ".join(sorted(st["hosts"])), st["dir"]))
    elif sub == "down" and not a.pos:
        lab.down(d)
        print("lab down: nothing left")
    elif sub == "kill" and len(a.pos) == 1:
        lab.kill(d, a.pos[0])
        print("lab kill: %s is off" % a.pos[0])
    elif sub == "status" and not a.pos:
        for name, up in sorted(lab.status(d).items()):
            print("%s %s" % (name, "up" if up else "down"))
    else:
        raise Error("lab: bad command or arguments: %s (see vessel cluster --help)" % " ".join(argv))
    return 0


def main(argv):
    try:
        if not argv or argv[0] in ("-h", "--help", "help"):
            print(USAGE, file=sys.stdout if argv else sys.stderr)
            return 0 if argv else 1
        if argv[0] == "lab":
            return cmd_lab(argv[1:])
        if argv[0] == "_host-init":  # internal: the first process of a lab host
            from . import labhost
            return labhost.main(argv[1], argv[2])
        return commands.dispatch(argv)
    except Error as e:
        print("vessel cluster: %s" % e, file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        return 130
