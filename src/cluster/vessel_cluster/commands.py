"""`vessel cluster vm|host|status ...`: the cluster side of Vessel VMs, done with Pacemaker's
own tools (a VM is a primitive ocf:vessel:vm; Pacemaker places, moves and restarts it)."""
import json
import os
import re
import time

from . import crm, lab
from .cli_args import Args, parse_int, parse_size_mib
from .util import Error, log, vessel_bin

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
VMM_ALLOWANCE_MIB = 64
WAIT = 300  # seconds a command waits for the cluster to act


class Context:
    def __init__(self, lab_dir, shared):
        self.st = lab.load(os.path.realpath(lab_dir)) if lab_dir else None
        self.r = crm.Runner(self.st)
        if shared:
            self.shared = os.path.realpath(shared)
        elif self.st:
            self.shared = os.path.join(self.st["dir"], "shared")
        else:
            self.shared = os.environ.get("VESSEL_CLUSTER_SHARED", "/var/lib/vessel/shared")
        self.notes = os.path.join(self.shared, ".vessel-notes")

    def vessel(self):
        return self.st["vessel"] if self.st else vessel_bin()


def vm_resources(ctx):
    """{name: primitive element} of the ocf:vessel:vm resources in the CIB."""
    cib = crm.cib_xml(ctx.r)
    return {p.get("id"): p for p in cib.iter("primitive")
            if p.get("class") == "ocf" and p.get("provider") == crm.PROVIDER and p.get("type") == "vm"}


def read_notes(ctx, name):
    try:
        with open(os.path.join(ctx.notes, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def where(ctx, name):
    """(host or None, state) of VM name from crm_mon."""
    for res in crm.status_xml(ctx.r).iter("resource"):
        if res.get("id") != name:
            continue
        nodes = [n.get("name") for n in res.iter("node")]
        if res.get("failed") == "true":
            return (nodes[0] if nodes else None), "failed"
        if res.get("active") == "true" and res.get("role") == "Started" and len(nodes) == 1:
            return nodes[0], "running"
        return (nodes[0] if nodes else None), (res.get("role") or "unknown").lower()
    raise Error("no VM %s in the cluster" % name)


def vm_create(ctx, argv):
    a = Args(argv, ("--arch", "--kernel", "--initrd", "--firmware", "--append", "--cpus", "--memory", "--mem"),
             lists=("--disk",))
    if len(a.pos) != 1:
        raise Error("vm create NAME --kernel IMAGE [...] (see vessel cluster --help)")
    name = a.pos[0]
    if not NAME_RE.match(name) or name.startswith("vessel-"):
        raise Error("vm create: %r: a name is 1 to 63 of A-Z a-z 0-9 . _ - (and not vessel-...)" % name)
    if not a.get("--kernel"):
        raise Error("vm create: --kernel IMAGE is required")
    arch = a.get("--arch", "riscv64")
    if arch not in ("riscv64", "x86_64"):
        raise Error("vm create: --arch must be riscv64 or x86_64")
    cpus = parse_int(a.get("--cpus", "1"), 1, 256, "--cpus")
    mem = parse_size_mib(a.get("--memory", a.get("--mem", "256M")))
    params = {"arch": arch, "cpus": cpus, "memory_mib": mem, "notes": ctx.notes}
    for k in ("kernel", "initrd", "firmware"):
        if a.get("--" + k):
            params[k] = os.path.realpath(a.get("--" + k))
            if not os.path.isfile(params[k]):
                raise Error("vm create: --%s %s: no such file" % (k, params[k]))
    if a.get("--append"):
        params["append"] = a.get("--append")
    disks = []
    for d in a.get("--disk", []):
        path, _, opts = d.partition(",")
        if opts not in ("", "ro"):
            raise Error("vm create: --disk %s: expected PATH[,ro]" % d)
        path = os.path.realpath(path)
        if not os.path.isfile(path) or " " in path:
            raise Error("vm create: --disk %s: no such file (or a space in its name)" % path)
        if not path.startswith(ctx.shared + "/"):
            log("note: %s is not under the shared storage %s: every host must see it" % (path, ctx.shared))
        disks.append(path + ("," + opts if opts else ""))
    if disks:
        params["disks"] = " ".join(disks)
    if ctx.st:
        params["vessel"] = ctx.vessel()
        if ctx.st.get("token_file"):
            params["token_file"] = ctx.st["token_file"]
    if name in vm_resources(ctx):
        raise Error("vm create: the cluster has a VM %s already" % name)
    os.makedirs(ctx.notes, exist_ok=True)
    with open(os.path.join(ctx.notes, name + ".json"), "w") as f:
        json.dump({"boot_id": None, "boots": 0, "migrations": 0, "restarts": 0, "created": time.time()}, f)
    crm.cib_create(ctx.r, "resources", crm.primitive_xml(
        name, "ocf", "vm", params, provider=crm.PROVIDER, meta={"allow-migrate": "true"},
        util={"cpu": cpus * crm.CPU_UNIT, "memory": mem + VMM_ALLOWANCE_MIB},
        ops=[("monitor", "10s", "30s"), ("start", "0", "120s"), ("stop", "0", "60s"),
             ("migrate_to", "0", "180s"), ("migrate_from", "0", "60s")]))
    t0 = time.monotonic()
    host, state = wait_state(ctx, name, lambda h, s: s in ("running", "failed", "stopped") and (s != "stopped" or
                             time.monotonic() - t0 > 20), WAIT)
    if state != "running":
        raise Error("vm create: %s is %s (crm_mon says why)" % (name, state))
    print("%s running on %s (placed in %.1f s)" % (name, host, time.monotonic() - t0))
    return 0


def wait_state(ctx, name, pred, timeout):
    end = time.monotonic() + timeout
    while True:
        host, state = where(ctx, name)
        if pred(host, state):
            return host, state
        if time.monotonic() >= end:
            raise Error("%s: still %s%s after %d s" % (name, state, " on " + host if host else "", timeout))
        time.sleep(0.5)


def vm_delete(ctx, argv):
    if len(argv) != 1:
        raise Error("vm delete NAME")
    name = argv[0]
    if name not in vm_resources(ctx):
        raise Error("vm delete: no VM %s in the cluster" % name)
    ctx.r(["crm_resource", "--resource", name, "--meta", "--set-parameter", "target-role", "--parameter-value",
           "Stopped"])
    wait_state(ctx, name, lambda h, s: s == "stopped" and h is None, WAIT)
    ctx.r(["crm_resource", "--resource", name, "--clear"], check=False)
    ctx.r(["cibadmin", "--delete", "--scope", "resources", "--xml-text", '<primitive id="%s"/>' % name])
    try:
        os.unlink(os.path.join(ctx.notes, name + ".json"))
    except FileNotFoundError:
        pass
    print("deleted %s" % name)
    return 0


def vm_migrate(ctx, argv):
    a = Args(argv, ("--to",), flags=("--clear",))
    if len(a.pos) != 1 or bool(a.get("--to")) == bool(a.get("--clear")):
        raise Error("vm migrate NAME --to HOST | vm migrate NAME --clear")
    name = a.pos[0]
    if name not in vm_resources(ctx):
        raise Error("vm migrate: no VM %s in the cluster" % name)
    if a.get("--clear"):
        ctx.r(["crm_resource", "--resource", name, "--clear"])
        print("%s may move again" % name)
        return 0
    to = a.get("--to")
    if to not in crm.status_nodes(ctx.r):
        raise Error("vm migrate: no host %s in the cluster" % to)
    before = read_notes(ctx, name).get("migrations", 0)
    t0 = time.monotonic()
    ctx.r(["crm_resource", "--resource", name, "--move", "--node", to])
    wait_state(ctx, name, lambda h, s: (h == to and s == "running") or s == "failed", WAIT)
    host, state = where(ctx, name)
    if state != "running":
        raise Error("vm migrate: %s is %s" % (name, state))
    live = read_notes(ctx, name).get("migrations", 0) > before
    print("%s running on %s after %.1f s (%s)" % (name, to, time.monotonic() - t0,
                                                 "live migration" if live else "stopped and started"))
    return 0


def host_drain(ctx, argv, on=True):
    if len(argv) != 1:
        raise Error("host %s HOST" % ("drain" if on else "undrain"))
    host = argv[0]
    if host not in crm.status_nodes(ctx.r):
        raise Error("host: no host %s in the cluster" % host)
    ctx.r(["crm_attribute", "--node", host, "--name", "standby", "--update", "on" if on else "off"])
    if on:
        t0 = time.monotonic()
        names = list(vm_resources(ctx))
        end = time.monotonic() + WAIT
        while any(where(ctx, n)[0] == host for n in names):
            if time.monotonic() >= end:
                raise Error("host drain: VMs still on %s after %d s" % (host, WAIT))
            time.sleep(0.5)
        print("%s drained in %.1f s" % (host, time.monotonic() - t0))
    else:
        print("%s takes VMs again" % host)
    return 0


def status(ctx, as_json):
    x = crm.status_xml(ctx.r)
    cib = crm.cib_xml(ctx.r)
    vms = vm_resources(ctx)
    util, load = {}, {}
    for n in cib.iter("node"):
        u = {nv.get("name"): nv.get("value") for ut in n.iter("utilization") for nv in ut.iter("nvpair")}
        util[n.get("uname")] = u
    for n in x.iter("node"):
        for a in n.iter("attribute"):
            if a.get("name") == "vessel_load":
                load[n.get("name")] = int(a.get("value")) / 1000.0
    out = {"hosts": [], "vms": []}
    placed = {}
    for name in sorted(vms):
        host, state = where(ctx, name)
        n = read_notes(ctx, name)
        out["vms"].append({"name": name, "host": host if state == "running" else None, "state": state,
                           "boot_id": n.get("boot_id"), "migrations": n.get("migrations", 0),
                           "restarts": n.get("restarts", 0)})
        if host and state == "running":
            placed.setdefault(host, []).append(name)
    for name, node in sorted(crm.status_nodes(ctx.r).items()):
        u = util.get(name, {})
        out["hosts"].append({"name": name, "online": node["online"],
                             "capacity": {"cpus": int(u.get("cpu", 0)) / 1000.0,
                                          "memory_mib": int(u.get("memory", 0))},
                             "load": load.get(name), "vms": placed.get(name, [])})
    if as_json:
        print(json.dumps(out, indent=1))
        return 0
    print("%-8s %-7s %6s %9s %6s  %s" % ("HOST", "ONLINE", "CPUS", "MEMORY", "LOAD", "VMS"))
    for h in out["hosts"]:
        print("%-8s %-7s %6.1f %8dM %6s  %s" % (h["name"], "yes" if h["online"] else "no", h["capacity"]["cpus"],
                                             h["capacity"]["memory_mib"],
                                             "-" if h["load"] is None else "%.2f" % h["load"], " ".join(h["vms"])))
    print()
    print("%-16s %-8s %-9s %-36s %4s %4s" % ("VM", "HOST", "STATE", "BOOT_ID", "MIGR", "RST"))
    for v in out["vms"]:
        print("%-16s %-8s %-9s %-36s %4d %4d" % (v["name"], v["host"] or "-", v["state"], v["boot_id"] or "-",
                                                v["migrations"], v["restarts"]))
    return 0


def dispatch(argv):
    g = Args(argv, ("--lab", "--shared"), flags=("--json",), passthrough=True)
    ctx = Context(g.get("--lab"), g.get("--shared"))
    if not g.pos:
        raise Error("expected vm, host or status (see vessel cluster --help)")
    cmd, rest = g.pos[0], g.pos[1:]
    sub = rest[0] if rest else ""
    if cmd == "status" and not rest:
        return status(ctx, bool(g.get("--json")))
    if cmd == "vm" and sub == "create":
        return vm_create(ctx, rest[1:])
    if cmd == "vm" and sub == "delete":
        return vm_delete(ctx, rest[1:])
    if cmd == "vm" and sub == "migrate":
        return vm_migrate(ctx, rest[1:])
    if cmd == "host" and sub in ("drain", "undrain"):
        return host_drain(ctx, rest[1:], sub == "drain")
    raise Error("unknown command: %s (see vessel cluster --help)" % " ".join(g.pos))
