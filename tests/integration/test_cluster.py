#!/usr/bin/env python3
"""Vessel VMs as Pacemaker resources on the 3-host namespace lab (issue 12, phase 1;
docs/cluster.md). Root only; needs the cluster packages and agents (scripts/setup.sh).

  - `vessel cluster lab up --hosts 3`: crm_mon run inside a host shows all three online; this
    machine's own network namespace gains no interface;
  - three riscv64 VMs (`vessel cluster vm create`, qcow2 disks in DIR/shared) are placed on three
    different hosts; each guest boots and counts on its console, writing each count to its disk
    with fsync;
  - CPU burners inside one host (`lab exec`) lower its published capacity until Pacemaker
    live-migrates its VM away: same boot_id, migrations >= 1, and the guest's count goes on
    without a gap on the new host's console;
  - `lab kill` of a host with a VM (power loss): the host is fenced and the VM restarts on
    another host from the shared disk: new boot_id, restarts >= 1, the new guest reads back a
    count at least as high as the last one the old guest had flushed; after `vm delete` the disk
    checks clean (`vessel disk check`);
  - `lab kill` of a second host: the last one has no quorum and stops its VMs (none runs
    anywhere) instead of starting the lost hosts' VMs too;
  - `lab down`: no process, cgroup, mount, network namespace or veth of the lab is left.
Prints TIME lines (placement, load-triggered migration, failover) and ends with
"N passed, N failed"."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402
from test_daemon import Console  # noqa: E402

ROOT = guest.ROOT
VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
SCALE = guest.timeout_scale()
CACHE = os.path.join(os.environ.get("VESSEL_CACHE") or os.path.expanduser("~/.cache/vessel"), "riscv64")
TICK_RE = re.compile(rb"TICK (\d+)")
# Each second: print the count and write it to the disk's first sector, flushed.
COUNTER = ("i=0; while true; do i=$((i+1)); echo \"TICK $i\"; echo \"DISK $i\" | "
           "dd of=/dev/vda conv=fsync 2>/dev/null; sleep 1; done &\n")

passed = failed = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("PASS %s" % what, flush=True)
    else:
        failed += 1
        print("FAIL %s%s" % (what, (": %s" % detail) if detail else ""), flush=True)
    return cond


def cluster(lab, *args, timeout=400, check_rc=True):
    p = subprocess.run([VESSEL, "cluster", "--lab", lab] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check_rc and p.returncode != 0:
        raise RuntimeError("vessel cluster %s: %s %s" % (" ".join(args), p.stdout, p.stderr))
    return p


def lab_cmd(*args, timeout=300):
    return subprocess.run([VESSEL, "cluster", "lab"] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def status(lab):
    return json.loads(cluster(lab, "status", "--json", timeout=60).stdout)


def vm_status(lab, name):
    return next(v for v in status(lab)["vms"] if v["name"] == name)


def wait_for(fn, timeout, step=1.0):
    end = time.monotonic() + timeout * SCALE
    while True:
        v = fn()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def daemon_vm(lab, host, name):
    """The VM's JSON on host's daemon, or None."""
    p = subprocess.run([VESSEL, "vm", "--socket", os.path.join(lab, host, "vessel.sock"), "--json", "show", name],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    return json.loads(p.stdout) if p.returncode == 0 else None


def console_log(lab, host, name):
    v = daemon_vm(lab, host, name)
    if not v:
        return b""
    try:
        with open(v["console"]["log"], "rb") as f:
            return f.read()
    except OSError:
        return b""


def ticks(data):
    return [int(x) for x in TICK_RE.findall(data)]


def start_counter(lab, host, name):
    """Waits for the guest's shell on host, starts the counter; True once it counts."""
    v = daemon_vm(lab, host, name)
    if not v or not wait_for(lambda: re.search(guest.READY_RE.encode(), console_log(lab, host, name)), 240):
        return False
    c = Console(v["console"]["socket"])
    try:
        c.send("\n")
        c.expect(guest.PROMPT_RE, 60 * SCALE)
        c.send(COUNTER)
        c.expect(rb"TICK 2\b", 60 * SCALE)
        return True
    except (TimeoutError, EOFError, OSError) as e:
        print("  console of %s on %s: %s" % (name, host, e))
        return False
    finally:
        c.close()


def guest_cmd(lab, host, name, cmd, pattern, timeout=60):
    v = daemon_vm(lab, host, name)
    c = Console(v["console"]["socket"])
    try:
        c.send(cmd + "\n")
        return c.expect(pattern, timeout * SCALE)
    except (TimeoutError, EOFError, OSError) as e:
        print("  console of %s on %s: %s" % (name, host, e))
        return None
    finally:
        c.close()


def netns_inodes(pids):
    out = set()
    for pid in pids:
        try:
            out.add(os.stat("/proc/%d/ns/net" % pid).st_ino)
        except OSError:
            pass
    return out


def all_netns():
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                out.add(os.stat("/proc/%s/ns/net" % d).st_ino)
            except OSError:
                pass
    return out


def root_links():
    return subprocess.run(["ip", "-o", "link"], stdout=subprocess.PIPE, text=True).stdout.count("\n")


def main():
    if os.geteuid() != 0:
        print("FAIL test_cluster: needs root (namespaces, cgroups)\n0 passed, 1 failed")
        return 1
    missing = [t for t in ("corosync", "pacemakerd", "crm_mon") if not shutil.which(t)]
    if missing or not os.path.exists("/usr/lib/ocf/resource.d/vessel/vm"):
        print("FAIL test_cluster: %s missing (run scripts/setup.sh)\n0 passed, 1 failed" %
              (" ".join(missing) or "the vessel agents"))
        return 1
    lab = tempfile.mkdtemp(prefix="vessel-cluster-test-")
    links_before = root_links()
    times = {}
    try:
        run_lab(lab, links_before, times)
    except Exception as e:  # noqa: BLE001 - any error is one failure, then the lab goes down
        check(False, "the cluster scenario ran to its end", "%s: %s" % (type(e).__name__, e))
    finally:
        st = None
        try:
            with open(os.path.join(lab, "lab.json")) as f:
                st = json.load(f)
        except OSError:
            pass
        if st:
            ns = netns_inodes([h["pid"] for h in st["hosts"].values()] + [st["bridge"]["pid"]])
            p = lab_cmd("down", "--dir", lab)
            check(p.returncode == 0, "lab down", p.stderr.strip())
            check(not os.path.exists(os.path.join(lab, "lab.json")), "lab down marks the lab down")
            left_cg = [d for c in ("cpu", "cpuacct", "memory", "freezer")
                       for d in [os.path.join("/sys/fs/cgroup", c, "vessel-lab-" + st["id"])] if os.path.exists(d)]
            check(not left_cg, "lab down leaves no cgroup", left_cg)
            left_ns = ns & all_netns()
            check(not left_ns, "lab down leaves no network namespace", left_ns)
            with open("/proc/self/mountinfo") as f:
                mnts = [line.split()[4] for line in f if line.split()[4].startswith(lab)]
            check(not mnts, "lab down leaves no mount", mnts)
            procs = subprocess.run(["pgrep", "-f", lab], stdout=subprocess.PIPE, text=True).stdout.split()
            check(not procs, "lab down leaves no process", procs)
            check(root_links() == links_before, "this machine's network namespace has the same interfaces")
        save_logs(lab)
        shutil.rmtree(lab, ignore_errors=True)
    for k in ("placement", "load-migration", "failover"):
        print("TIME %s: %s" % (k, "%.1f s" % times[k] if k in times else "not measured"))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def save_logs(lab):
    if not failed:
        return
    out = os.path.join(ROOT, "build", "test-logs", "cluster")
    shutil.rmtree(out, ignore_errors=True)
    for host in sorted(os.listdir(lab)):
        hd = os.path.join(lab, host)
        if os.path.isdir(hd) and host.startswith("h"):
            os.makedirs(os.path.join(out, host), exist_ok=True)
            for f in os.listdir(hd):
                if f.endswith(".log"):
                    shutil.copy(os.path.join(hd, f), os.path.join(out, host, f))
    print("logs in %s" % out)


def run_lab(lab, links_before, times):
    t0 = time.monotonic()
    # 3 CPUs per host: two 1-vCPU VMs fit on a host with room for its daemons' load; a host
    # with one VM sheds it once its non-VM load passes 2 cores (3 burners).
    p = lab_cmd("up", "--dir", lab, "--hosts", "3", "--cpus", "3", timeout=300)
    if not check(p.returncode == 0, "lab up --hosts 3", p.stderr.strip()[-2000:]):
        return
    print("  lab up in %.1f s" % (time.monotonic() - t0))
    mon = lab_cmd("exec", "--dir", lab, "h2", "--", "crm_mon", "-1")
    check("Online: [ h1 h2 h3 ]" in mon.stdout, "crm_mon inside h2 shows h1 h2 h3 online", mon.stdout[-500:])
    check(root_links() == links_before, "lab up adds no interface to this machine's network namespace")
    # each daemon listens on its lab address with a bearer token: from h1, h2's daemon answers
    # with the token and refuses without it
    st = json.load(open(os.path.join(lab, "lab.json")))
    api = "http://%s:%d" % (st["hosts"]["h2"]["addr"], st["api_port"])
    ok = lab_cmd("exec", "--dir", lab, "h1", "--", "env", "VESSEL_TOKEN_FILE=" + st["token_file"], VESSEL, "vm",
                 "--api", api, "--json", "list")
    bad = lab_cmd("exec", "--dir", lab, "h1", "--", "env", "VESSEL_TOKEN_FILE=", VESSEL, "vm", "--api", api, "list")
    check(ok.returncode == 0 and '"vms"' in ok.stdout and bad.returncode != 0 and "401" in bad.stderr + bad.stdout,
          "h2's daemon listens on the lab network (%s): with the lab's token it answers, without it 401" % api,
          (ok.returncode, ok.stdout[-200:], ok.stderr[-200:], bad.returncode, bad.stdout[-200:], bad.stderr[-200:]))

    names = ["vm1", "vm2", "vm3"]
    for n in names:
        subprocess.run([VESSEL, "disk", "create", os.path.join(lab, "shared", n + ".qcow2"), "16M"], check=True,
                       stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    for n in names:
        p = cluster(lab, "vm", "create", n, "--kernel", os.path.join(CACHE, "Image"), "--initrd",
                    os.path.join(CACHE, "initramfs.cpio.gz"), "--firmware", os.path.join(CACHE, "fw_dynamic.bin"),
                    "--append", "console=ttyS0", "--cpus", "1", "--memory", "192M", "--disk",
                    os.path.join(lab, "shared", n + ".qcow2"), check_rc=False)
        check(p.returncode == 0, "vessel cluster vm create %s" % n, p.stderr.strip())
    times["placement"] = time.monotonic() - t0
    s = status(lab)
    where = {v["name"]: v["host"] for v in s["vms"]}
    check(sorted(where.values()) == ["h1", "h2", "h3"], "3 VMs placed on 3 hosts", where)
    check(all(v["state"] == "running" and v["boot_id"] and v["migrations"] == 0 and v["restarts"] == 0
              for v in s["vms"]), "status --json: running, boot_id, no migrations or restarts yet", s["vms"])
    check(all(h["online"] and h["capacity"]["cpus"] > 0 and h["capacity"]["memory_mib"] > 0 for h in s["hosts"])
          and sorted(sum((h["vms"] for h in s["hosts"]), [])) == names, "status --json hosts", s["hosts"])
    for n in names:
        check(start_counter(lab, where[n], n), "%s boots on %s and counts" % (n, where[n]))

    # Load inside the host of vm1: its capacity drops below what vm1 needs; Pacemaker moves it.
    name, src = "vm1", where["vm1"]
    before = vm_status(lab, name)
    src_log = daemon_vm(lab, src, name)["console"]["log"]
    seen = {"old": []}

    def moved_away():
        try:
            with open(src_log, "rb") as f:  # the source's console, read until the VM left
                seen["old"] = ticks(f.read()) or seen["old"]
        except OSError:
            pass
        v = vm_status(lab, name)
        return v if v["host"] not in (src, None) and v["state"] == "running" else None
    burners = [subprocess.Popen([VESSEL, "cluster", "lab", "exec", "--dir", lab, src, "--", "sh", "-c",
                                 "while :; do :; done"]) for _ in range(3)]
    t0 = time.monotonic()
    try:
        moved = wait_for(moved_away, 300, 1.0)
        if moved:
            times["load-migration"] = time.monotonic() - t0
    finally:
        for b in burners:
            b.kill()
            b.wait()
    if check(moved, "CPU load inside %s moves %s to another host" % (src, name), vm_status(lab, name)):
        check(moved["boot_id"] == before["boot_id"] and moved["migrations"] >= 1 and moved["restarts"] == 0,
              "it was a live migration: same boot_id, migrations >= 1", moved)
        dst = moved["host"]
        wait_for(lambda: len(ticks(console_log(lab, dst, name))) >= 3, 60)
        new, old = ticks(console_log(lab, dst, name)), seen["old"]
        # The source's log may have lost its last line or two when its VM was deleted; a
        # rebooted guest would not count at all, and this one goes on from where it was.
        check(old and new and 0 < new[0] - old[-1] <= 5 and new == list(range(new[0], new[0] + len(new))),
              "the guest kept counting across the migration (last seen on %s %s, first on %s %s)" %
              (src, old[-1:] or "-", dst, new[:1] or "-"), "old %s new %s" % (old[-3:], new[:5]))
        where[name] = dst

    # Power loss of a host with a VM: fenced, and the VM restarts elsewhere from its disk.
    victim_vm = "vm2"
    before = vm_status(lab, victim_vm)  # where it is now: placement may have changed since
    victim = before["host"]
    where = {v["name"]: v["host"] for v in status(lab)["vms"]}
    flushed = ticks(console_log(lab, victim, victim_vm))
    flushed = flushed[-2] if len(flushed) >= 2 else 0  # the last one's write may still be in flight
    p = lab_cmd("kill", "--dir", lab, victim)
    t0 = time.monotonic()
    check(p.returncode == 0, "lab kill %s" % victim, p.stderr.strip())
    back = wait_for(lambda: (lambda v: v if v["host"] not in (victim, None) and v["state"] == "running" else None)(
        vm_status(lab, victim_vm)), 300, 1.0)
    if back:
        times["failover"] = time.monotonic() - t0
    if check(back, "%s restarts on another host after %s is lost" % (victim_vm, victim), vm_status(lab, victim_vm)):
        check(back["boot_id"] != before["boot_id"] and back["restarts"] >= 1,
              "a new boot: new boot_id, restarts >= 1", back)
        host = back["host"]
        ok = wait_for(lambda: re.search(guest.READY_RE.encode(), console_log(lab, host, victim_vm)), 240)
        m = ok and guest_cmd(lab, host, victim_vm, "dd if=/dev/vda bs=64 count=1 2>/dev/null | head -n1",
                             rb"DISK (\d+)", 60)
        got = int(m.group(1)) if m else -1
        check(got >= flushed > 0, "the shared disk kept the flushed writes (read %d, flushed %d)" % (got, flushed))
        p = cluster(lab, "vm", "delete", victim_vm, check_rc=False)
        check(p.returncode == 0, "vm delete %s" % victim_vm, p.stderr.strip())
        p = subprocess.run([VESSEL, "disk", "check", os.path.join(lab, "shared", victim_vm + ".qcow2")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        check(p.returncode == 0, "the disk checks clean after the power loss", p.stdout.strip())
        where.pop(victim_vm)

    # A second host lost: the last one is alone, without quorum; it stops its VMs.
    alive = sorted(h for h in ("h1", "h2", "h3") if h != victim)
    second = where.get("vm3") if where.get("vm3") in alive else alive[0]
    last = [h for h in alive if h != second][0]
    p = lab_cmd("kill", "--dir", lab, second)
    check(p.returncode == 0, "lab kill %s" % second, p.stderr.strip())

    def stopped_everywhere():
        live = []
        for n in ("vm1", "vm3"):
            v = daemon_vm(lab, last, n)
            if v and v["state"] in ("running", "paused", "incoming"):
                live.append(n)
        return not live
    check(wait_for(stopped_everywhere, 180, 1.0), "without quorum %s stops its VMs and starts none of %s's" %
          (last, second))
    # crm_mon answers with pacemakerd's own status while the controller settles (seen under
    # load): wait, bounded, for the cluster summary
    seen = {}

    def no_quorum():
        seen["out"] = lab_cmd("exec", "--dir", lab, last, "--", "crm_mon", "-1").stdout
        return "partition WITHOUT quorum" in seen["out"]
    check(wait_for(no_quorum, 120, 2.0), "crm_mon on %s: partition without quorum" % last,
          seen.get("out", "")[:400])


if __name__ == "__main__":
    sys.exit(main())
