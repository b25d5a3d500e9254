"""Argument parsing and dispatch of `vessel cluster ...` (usage below, docs/cluster.md)."""
import sys

from . import commands, lab
from .cli_args import Args, parse_int, parse_size_mib
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
        # `vessel cluster COMMAND ... --help` (not an argument after `lab exec ... --`)
        own = argv[:argv.index("--")] if "--" in argv else argv
        if "--help" in own or "-h" in own:
            print(USAGE)
            return 0
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
