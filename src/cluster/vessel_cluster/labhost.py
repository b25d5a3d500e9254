"""_host-init: the first process of a lab host, inside its new network, mount and UTS
namespaces (started by lab.up). It makes the host's private mounts, waits for its network,
starts `corosync -f`, then `pacemakerd -f` and `vessel serve`, and reaps every process of the
host (it is their subreaper) until SIGTERM, which stops them in that order's reverse."""
import ctypes
import os
import signal
import socket
import subprocess
import time

from .lab import load
from .util import Error, log, run, wait_for

TMPFS = (("/dev/shm", "1777", None), ("/run", "0755", None), ("/var/lib/corosync", "0755", None),
         ("/var/lib/pacemaker", "0750", "hacluster:haclient"), ("/var/log/pacemaker", "0770", "hacluster:haclient"))
PACEMAKER_DIRS = ("blackbox", "cib", "cores", "pengine")
AGENT_BINDS = (("vm", "/usr/lib/ocf/resource.d/vessel/vm"), ("capacity", "/usr/lib/ocf/resource.d/vessel/capacity"),
               ("fence_vessel_lab", "/usr/sbin/fence_vessel_lab"))
PR_SET_CHILD_SUBREAPER = 36


class Stop(Exception):
    """SIGTERM: stop the host's daemons (raised from the handler so that waitpid returns)."""


def _on_term(signum, frame):
    raise Stop()


def _mount_private(st, host):
    for path, mode, owner in TMPFS:
        os.makedirs(path, exist_ok=True)
        run(["mount", "-t", "tmpfs", "-o", "mode=%s,size=256m" % mode, "vessel-lab", path])
        if owner:
            run(["chown", owner, path])
    for sub in PACEMAKER_DIRS:
        p = os.path.join("/var/lib/pacemaker", sub)
        os.mkdir(p, 0o750)
        run(["chown", "hacluster:haclient", p])
    os.makedirs("/var/log/pacemaker/bundles", exist_ok=True)
    run(["chown", "hacluster:haclient", "/var/log/pacemaker/bundles"])
    # No cluster daemon may reboot or crash this machine (Pacemaker's panic action writes
    # there; reboot(2) is already refused: CAP_SYS_BOOT is out of the bounding set).
    if os.path.exists("/proc/sysrq-trigger"):
        run(["mount", "--bind", "/dev/null", "/proc/sysrq-trigger"])
    for name, target in AGENT_BINDS:
        run(["mount", "--bind", os.path.join(st["agents"], name), target])


def _start(argv, logname, st, host, env=None):
    out = open(os.path.join(st["dir"], host, logname), "ab")
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=e, close_fds=True)
    out.close()
    return p


def main(d, host):
    st = load(d)
    h = st["hosts"][host]
    hd = os.path.join(d, host)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise Error("prctl(PR_SET_CHILD_SUBREAPER): %s" % os.strerror(ctypes.get_errno()))
    signal.signal(signal.SIGTERM, _on_term)
    socket.sethostname(host)
    _mount_private(st, host)
    wait_for(lambda: os.path.exists(os.path.join(hd, "net-ready")), 60, 0.05, "the lab to plug %s in" % host)
    log("%s: %s up; starting corosync" % (host, h["addr"]))
    coro = _start(["corosync", "-f", "-c", os.path.join(hd, "corosync.conf")], "corosync.out", st, host)
    wait_for(lambda: coro.poll() is not None or run(["corosync-cfgtool", "-s"], check=False).returncode == 0,
             60, 0.2, "corosync on %s" % host)
    if coro.poll() is not None:
        raise Error("%s: corosync exited with status %s (see %s/corosync.log)" % (host, coro.returncode, hd))
    pcmk = _start(["pacemakerd", "-f"], "pacemakerd.out", st, host,
                  {"PCMK_logfile": os.path.join(hd, "pacemaker.log"), "PCMK_logfacility": "none"})
    serve = _start([st["vessel"], "serve", "--socket", h["socket"], "--state-dir", h["state_dir"],
                    "--cpus", str(st["cpus"]), "--memory", "%dM" % st["memory_mib"]]
                   + (["--listen", "%s:%d" % (h["addr"], st["api_port"]), "--token-file", st["token_file"]]
                      if st.get("token_file") else [])
                   + [a for d in st.get("allow_dirs", []) if os.path.isdir(d) for a in ("--allow-dir", d)],
                   "serve.log", st, host)
    order = [pcmk, serve, coro]
    try:
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.5)
                continue
            for p in order:
                if p.pid == pid:
                    p.returncode = status
                    log("%s: %s exited (wait status %d)" % (host, p.args[0], status))
    except Stop:
        log("%s: SIGTERM: stopping pacemaker, vessel serve, corosync" % host)
    for p in order:  # pacemaker stops its resources first, then the daemon, then corosync
        if p.returncode is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(120)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0
