"""The lab: N cluster hosts on this one machine (docs/cluster.md, "The lab").

DIR/lab.json  the lab's state: hosts, their holder processes, the bridge's, the cgroups' id
DIR/shared/   shared storage: every host sees it (disks, the VM agent's notes)
DIR/HOST/     a host's files: corosync.conf, logs, `vessel serve`'s socket and state dir

Each host is a process tree under a holder (`unshare --net --mount --uts` running this helper's
_host-init, labhost.py) that owns the host's network, mount and UTS namespaces; its veth's other
end is in the lab's bridge namespace (held by `unshare --net sleep infinity`). Nothing is added
to this machine's own network namespace. Every process of a host runs with CAP_SYS_BOOT dropped
from its bounding set and /proc/sysrq-trigger masked, so that no cluster daemon can reboot the
machine (Pacemaker's panic action), and in the host's cgroups (cgroups.py), which `lab kill`
and `lab down` empty with SIGKILL."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

from . import crm
from .cgroups import LabCgroups
from .util import Error, agents_dir, alive, helper_path, log, netns_of, proc_start_time, run, vessel_bin, wait_for, write_atomic

SUBNET = "10.77.0"  # inside the lab's own namespaces only; host k is SUBNET.k
BRIDGE = "br0"
MAX_HOSTS = 16
API_PORT = 7474  # each host's `vessel serve --listen ADDR:API_PORT`
ONLINE_TIMEOUT = 120


def lab_id(d):
    return hashlib.sha1(os.path.realpath(d).encode()).hexdigest()[:8]


def state_path(d):
    return os.path.join(d, "lab.json")


def load(d, need=True):
    try:
        with open(state_path(d)) as f:
            return json.load(f)
    except FileNotFoundError:
        if need:
            raise Error("%s: no lab there (no lab.json; `vessel cluster lab up --dir %s` makes one)" % (d, d))
        return None
    except ValueError as e:
        raise Error("%s: unreadable: %s" % (state_path(d), e))


def save(d, st):
    write_atomic(state_path(d), json.dumps(st, indent=1) + "\n")


def host_pid(st, host):
    """The live holder pid of host, or None when the host is down (killed or never up)."""
    h = st["hosts"].get(host)
    if h is None:
        raise Error("lab: no host %s (hosts: %s)" % (host, " ".join(sorted(st["hosts"]))))
    return h["pid"] if alive(h["pid"], h["start"]) else None


def nsenter_argv(pid):
    return ["nsenter", "--target", str(pid), "--net", "--mount", "--uts", "--"]


def corosync_conf(st, host):
    nodes = "".join("    node {\n        ring0_addr: %s\n        name: %s\n        nodeid: %d\n    }\n"
                    % (h["addr"], name, h["nodeid"]) for name, h in sorted(st["hosts"].items(),
                                                                            key=lambda kv: kv[1]["nodeid"]))
    two = "    two_node: 1\n" if len(st["hosts"]) == 2 else ""
    return ("# written by `vessel cluster lab up`\n"
            "totem {\n    version: 2\n    cluster_name: vessel-lab-%s\n    transport: knet\n"
            "    crypto_cipher: none\n    crypto_hash: none\n    token: 2000\n}\n"
            "nodelist {\n%s}\n"
            "quorum {\n    provider: corosync_votequorum\n%s}\n"
            "logging {\n    to_logfile: yes\n    logfile: %s\n    to_syslog: no\n    to_stderr: no\n"
            "    timestamp: on\n}\n") % (st["id"], nodes, two, os.path.join(st["dir"], host, "corosync.log"))


def _spawn(argv, cg, group, logfile):
    """Starts argv in its own session, inside the lab cgroup group, output to logfile; returns
    (pid, start time). Not waited for: it outlives this command."""
    out = open(logfile, "ab")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                         preexec_fn=lambda: cg.join(group), close_fds=True)
    out.close()
    start = wait_for(lambda: proc_start_time(p.pid), 5, 0.01, "process %d" % p.pid)
    # Not before it is in its own network namespace: a veth must never land in this machine's.
    mine = netns_of(os.getpid())
    wait_for(lambda: p.poll() is not None or netns_of(p.pid) not in (None, mine), 10, 0.01,
             "%s to enter its namespaces" % argv[0])
    if p.poll() is not None:
        raise Error("%s exited with status %d (see %s)" % (" ".join(argv[:3]), p.returncode, logfile))
    return p.pid, start


def check_agents():
    """The agents must be installed where Pacemaker looks (the lab binds this tree's copies over
    them inside each host, so a build tree tests its own agents)."""
    need = ["/usr/lib/ocf/resource.d/vessel/vm", "/usr/lib/ocf/resource.d/vessel/capacity",
            "/usr/sbin/fence_vessel_lab"]
    missing = [p for p in need if not os.path.exists(p)]
    if missing:
        raise Error("the cluster agents are not installed (%s): run `make install-agents` as root "
                    "(scripts/setup.sh does)" % ", ".join(missing))
    for tool in ("corosync", "pacemakerd", "crm_mon", "unshare", "nsenter", "setpriv", "ip"):
        if not shutil.which(tool):
            raise Error("%s: not installed (scripts/setup.sh installs the cluster packages)" % tool)


def up(d, nhosts, cpus, memory_mib):
    if os.geteuid() != 0:
        raise Error("lab up: needs root (namespaces, cgroups, mounts)")
    if not 1 <= nhosts <= MAX_HOSTS:
        raise Error("lab up: --hosts %d: expected 1 to %d" % (nhosts, MAX_HOSTS))
    check_agents()
    d = os.path.realpath(d)
    old = load(d, need=False)
    if old and any(host_pid(old, h) for h in old["hosts"]):
        raise Error("lab up: %s: a lab is already up there (`vessel cluster lab down --dir %s` first)" % (d, d))
    os.makedirs(os.path.join(d, "shared"), exist_ok=True)
    os.chmod(d, 0o755)  # the cluster daemons run as hacluster and log under DIR/HOST
    os.chmod(os.path.join(d, "shared"), 0o755)
    # The daemons' TCP listeners (vessel serve --listen, on each host's lab address) take this
    # bearer token: the VM agent reaches another host's daemon through them.
    token_file = os.path.join(d, "api.token")
    if not os.path.exists(token_file):
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (hashlib.sha256(os.urandom(32)).hexdigest() + "\n").encode())
        os.close(fd)
    st = {"dir": d, "id": lab_id(d), "vessel": vessel_bin(), "helper": helper_path(), "agents": agents_dir(),
          "cpus": cpus, "memory_mib": memory_mib, "hosts": {}, "bridge": None, "configured": False,
          "token_file": token_file, "api_port": API_PORT,
          # the daemons' path policy (vessel serve --allow-dir): the shared storage and the guest
          # artifacts' cache
          "allow_dirs": [os.path.join(d, "shared"),
                         os.environ.get("VESSEL_CACHE") or os.path.expanduser("~/.cache/vessel")]}
    for k in range(1, nhosts + 1):
        name = "h%d" % k
        st["hosts"][name] = {"nodeid": k, "addr": "%s.%d" % (SUBNET, k), "pid": 0, "start": 0,
                             "socket": os.path.join(d, name, "vessel.sock"),
                             "state_dir": os.path.join(d, name, "vessel")}
    cg = LabCgroups(st["id"])
    save(d, st)
    try:
        cg.create("net")
        cg.weigh(nhosts)
        st["bridge"] = dict(zip(("pid", "start"), _spawn(["unshare", "--net", "--", "sleep", "infinity"], cg,
                                                          "net", os.path.join(d, "bridge.log"))))
        save(d, st)
        br = ["nsenter", "--net=/proc/%d/ns/net" % st["bridge"]["pid"], "--"]
        run(br + ["ip", "link", "add", BRIDGE, "type", "bridge"])
        run(br + ["ip", "link", "set", BRIDGE, "up"])
        for name, h in st["hosts"].items():
            hd = os.path.join(d, name)
            os.makedirs(h["state_dir"], exist_ok=True)
            os.chmod(hd, 0o755)
            for f in ("net-ready", "corosync.log", "pacemaker.log"):
                if os.path.exists(os.path.join(hd, f)):
                    os.unlink(os.path.join(hd, f))
            write_atomic(os.path.join(hd, "corosync.conf"), corosync_conf(st, name))
            cg.create(name)
            argv = ["setpriv", "--bounding-set", "-sys_boot", "unshare", "--net", "--mount", "--uts",
                    "--propagation", "private", "--", sys.executable, helper_path(), "_host-init", d, name]
            h["pid"], h["start"] = _spawn(argv, cg, name, os.path.join(hd, "host.log"))
            save(d, st)
            veth = "v%s" % name
            run(br + ["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", str(h["pid"])])
            run(br + ["ip", "link", "set", veth, "master", BRIDGE, "up"])
            hn = ["nsenter", "--net=/proc/%d/ns/net" % h["pid"], "--"]
            run(hn + ["ip", "link", "set", "lo", "up"])
            run(hn + ["ip", "addr", "add", "%s/24" % h["addr"], "dev", "eth0"])
            run(hn + ["ip", "link", "set", "eth0", "up"])
            open(os.path.join(hd, "net-ready"), "w").close()
        t0 = time.monotonic()
        wait_for(lambda: _all_online(st), ONLINE_TIMEOUT, 1, "all %d hosts online in crm_mon" % nhosts)
        log("%d hosts online after %.1f s" % (nhosts, time.monotonic() - t0))
        crm.configure_lab(st)
        st["configured"] = True
        save(d, st)
    except BaseException:
        log("lab up failed; tearing down what was made (logs stay in %s)" % d)
        try:
            down(d)
        except Error as e:
            log(str(e))
        raise
    return st


def _all_online(st):
    for name in st["hosts"]:
        if host_pid(st, name) is None:
            raise Error("lab up: host %s died while starting (see %s/%s/host.log)" % (name, st["dir"], name))
    try:
        hosts = crm.status_nodes(crm.Runner(st))
    except Error:
        return False
    return len(hosts) == len(st["hosts"]) and all(h["online"] for h in hosts.values())


def kill(d, host):
    """Power loss of host: every process of it gets SIGKILL at once (the freezer or
    cgroup.kill), so its namespaces, veth and mounts go with them."""
    st = load(d)
    host_pid(st, host)  # checks the name
    LabCgroups(st["id"]).kill(host)


def down(d):
    """Kills every host and the bridge, removes the cgroups; checks nothing of the lab is left."""
    d = os.path.realpath(d)
    st = load(d)
    cg = LabCgroups(st["id"])
    for name in list(st["hosts"]) + ["net"]:
        cg.kill(name)
    errors = cg.remove()
    for name in st["hosts"]:
        sock = st["hosts"][name]["socket"]
        if os.path.exists(sock):
            os.unlink(sock)
    left = leftovers(st)
    if errors or left:
        raise Error("lab down: left behind: %s" % "; ".join(errors + left))
    os.rename(state_path(d), os.path.join(d, "lab.down.json"))


def leftovers(st):
    """What of the lab still exists: processes, cgroups, mounts under DIR."""
    out = []
    pids = [st["bridge"]] if st.get("bridge") else []
    pids += list(st["hosts"].values())
    for p in pids:
        if alive(p["pid"], p["start"]):
            out.append("process %d" % p["pid"])
    cg = LabCgroups(st["id"])
    out += ["cgroup %s" % x for x in cg.leftovers()]
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4]
            if mnt == st["dir"] or mnt.startswith(st["dir"] + "/"):
                out.append("mount %s" % mnt)
    return out


def lab_exec(d, host, argv):
    """Runs argv inside host (its namespaces and cgroups); returns only on failure."""
    st = load(d)
    pid = host_pid(st, host)
    if pid is None:
        raise Error("lab exec: host %s is down" % host)
    if not argv:
        raise Error("lab exec: no command (vessel cluster lab exec --dir DIR HOST -- CMD...)")
    LabCgroups(st["id"]).join(host)
    os.execvp("setpriv", ["setpriv", "--bounding-set", "-sys_boot"] + nsenter_argv(pid) + argv)


def status(d):
    st = load(d)
    return {name: bool(host_pid(st, name)) for name in st["hosts"]}

