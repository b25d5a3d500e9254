#!/usr/bin/env python3
"""Clones of one snapshot (issue 5, item 3): `vessel run --restore PATH --clone`.

One 256 MiB guest (--rng, a qcow2 disk, a --net user NIC) boots, writes a marker to its disk,
takes a DHCP lease and is snapshotted with then=stop. Then:

  plain    two restores without --clone, each on its own qcow2 overlay of the disk (an overlay
           stands for the snapshot's disk): no vmgenid interrupt, no reseed message, the same
           generation ID in both; whether their first /dev/urandom bytes are equal is printed
           (INFO: they are, unless the guest kernel reseeded from timing entropy first)
  clones   three restores with --clone, each on its own overlay, running at once:
           (a) the first 16 bytes of /dev/urandom differ between clones, and the guest log
               says "crng reseeded due to virtual machine fork"
           (b) the vmgenid driver is bound, took one interrupt, and the GUID the guest reads
               (devmem, after unbinding the driver, which holds the region) is the one vessel
               printed for that clone, different per clone
           (c) after a re-probe of virtio_net each clone's eth0 has the new MAC vessel
               printed (all different), gets a DHCP lease and pings 10.0.2.2
           (d) a disk block written in clone 1 is not seen by clone 2, both see the base
               marker, the base image's sha256 is unchanged and only clone 1's overlay holds
               the block
           (e) memory: the sum of the clones' Private_Dirty (smaps_rollup) stays below a
               quarter of 3 x the original VMM's RSS (what three unshared VMs would need)
  auto     a clone given the snapshot's own disk (writable) writes to a new overlay next to it,
           named on stderr; the base image stays unchanged
  refused  an overlay whose backing file is another image, and an overlay of another size

Ends with "N passed, N failed"; console logs of failed guests go to build/test-logs/.
"""

import hashlib
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the work tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import Guest, guest_run, ROOT, Results, api, timeout_scale, vmm_command, vmm_name, wait_socket  # noqa: E402

VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
MEM = "256M"
NCLONES = 3
BASE_MARK = "VESSEL-BASE-MARK"
CLONE_MARK = "VESSEL-CLONE1-MARK"
BASE_SECTOR, CLONE_SECTOR = 2048, 4096
CLONE_RE = r"vessel: clone: VM generation ID ([0-9a-f]{32}), eth0 ([0-9a-f:]{17})"
RESEED_MSG = "crng reseeded due to virtual machine fork"
# The udhcpc event script of test_net.py: sets the address and the default route.
DHCP_SCRIPT = ("printf '%s' > /tmp/dhcp.sh && chmod +x /tmp/dhcp.sh" %
               '#!/bin/sh\\ncase "$1" in bound|renew) ip addr flush dev $interface; '
               'ip addr add $ip/$mask dev $interface; '
               'ip route add default via ${router%%%% *} dev $interface;; esac\\n')
DHCP = ("ip link set eth0 up && udhcpc -i eth0 -s /tmp/dhcp.sh -q -n -t 10 -T 2 >/dev/null 2>&1; "
        "ip -4 addr show eth0 | grep -o 'inet [0-9./]*'")






def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def kib_field(path, field):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def overlay(tmp, name, backing, size=None):
    path = os.path.join(tmp, name)
    argv = [VESSEL, "disk", "create", path] + ([size] if size else []) + ["--backing", backing]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return path


def urandom16(g):
    out, st = g.run("head -c 16 /dev/urandom | od -An -x | tr -d ' \\n'")
    return out.strip() if st == 0 else None


def guest_guid(g):
    """The GUID as the guest reads it: devmem needs the driver's region released first."""
    words = []
    out, st = g.run("echo 102000.vmgenid > /sys/bus/platform/drivers/vmgenid/unbind; "
                    "for o in 0 4 8 c; do devmem 0x10200$o 32; done")
    for w in out.split():
        if not re.fullmatch(r"0x[0-9A-Fa-f]{8}", w):
            return None
        words.append(int(w, 16).to_bytes(4, "little").hex())
    return "".join(words) if st == 0 and len(words) == 4 else None


def vmgenid_irqs(g):
    out, _ = g.run("grep vmgenid /proc/interrupts")
    m = re.match(r"\s*\d+:\s+(\d+)", out)
    return int(m.group(1)) if m else None


def read_sector(g, sector):
    out, _ = g.run("echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=%d count=1 2>/dev/null "
                   "| tr -cd 'A-Z0-9-'" % sector)
    return out.strip()


def restore(snap, disk, name, clone, extra=()):
    argv = [VESSEL, "run", "--restore", snap, "--rng", "--disk", disk, "--net", "user"] + list(extra)
    if clone:
        argv.append("--clone")
    g = Guest(argv, name=name)
    g.start()
    g.expect(r"vessel: restored \S+ in ([0-9.]+) ms", 30)
    if clone:
        m = g.expect(CLONE_RE, 30)
        g.guid, g.mac = m.group(1).decode(), m.group(2).decode()
    g.sendline("")
    return g


def refused(r, what, argv, must_say):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60 * timeout_scale())
    err = p.stderr.decode(errors="replace").strip()
    lines = [line for line in err.splitlines() if line.strip()]
    r.check("%s: exit status 1 and one `vessel:` line saying %r" % (what, must_say),
            p.returncode == 1 and len(lines) == 1 and lines[0].startswith("vessel: ") and must_say in lines[0],
            "status %s, stderr %r" % (p.returncode, err))


def main():
    r = Results()
    if vmm_name() != "vessel":
        print("SKIP clones are Vessel's (VESSEL_VMM=%s)" % vmm_name())
        print("0 passed, 0 failed")
        return 0
    tmp = tempfile.mkdtemp(prefix="vessel-clone-")
    base = os.path.join(tmp, "base.qcow2")
    subprocess.run([VESSEL, "disk", "create", base, "16M"], check=True, stdout=subprocess.DEVNULL)
    snap = os.path.join(tmp, "vm.snap")
    sock = os.path.join(tmp, "api.sock")
    guests = []
    with guest_run(r, tmp, guests):
        # --- the original: boot, mark the disk, take a lease, snapshot with then=stop ---
        a = Guest(vmm_command(mem=MEM) + ["--rng", "--disk", base, "--net", "user", "--api-socket", sock],
                  name="clone-original")
        guests.append(a)
        a.start()
        a.expect_ready()
        r.check("original: the vmgenid driver is bound, no interrupt yet",
                a.run("ls /sys/bus/platform/drivers/vmgenid/102000.vmgenid >/dev/null")[1] == 0
                and vmgenid_irqs(a) == 0)
        out, st = a.run("printf %s | dd of=/dev/vda bs=512 seek=%d conv=fsync 2>/dev/null" % (BASE_MARK, BASE_SECTOR))
        r.check("original: the base marker is written", st == 0 and read_sector(a, BASE_SECTOR) == BASE_MARK)
        a.run(DHCP_SCRIPT)
        out, _ = a.run(DHCP)
        r.check("original: DHCP lease", "inet 10.0.2.15" in out, repr(out))
        used_kib = int(a.run("awk '/MemTotal/ {t=$2} /MemAvailable/ {a=$2} END {print t-a}' /proc/meminfo")[0])
        orig_rss = kib_field("/proc/%d/status" % a.proc.pid, "VmRSS")
        urandom16(a)  # a read right before the snapshot: the restores start from a fresh crng
        wait_socket(sock)
        rep = api(sock, {"snapshot": {"path": snap, "then": "stop"}})
        r.check("snapshot (then=stop) answers ok", rep.get("ok") is True, repr(rep))
        r.check("the original exits with status 0", a.wait_exit(30) == 0)
        base_sha = sha256(base)
        print("INFO original: guest uses %d MiB (MemTotal - MemAvailable), VMM RSS %.0f MiB"
              % (used_kib >> 10, (orig_rss or 0) / 1024))

        # --- plain restores (no --clone) on overlays: the same generation, the same RNG state ---
        plain = []
        for i in range(2):
            g = restore(snap, overlay(tmp, "plain%d.qcow2" % i, base), "clone-plain%d" % i, clone=False)
            guests.append(g)
            plain.append(g)
        rnd = [urandom16(g) for g in plain]
        same = rnd[0] is not None and rnd[0] == rnd[1]
        print("INFO plain double restore: first /dev/urandom bytes %s (%s / %s)%s"
              % ("IDENTICAL" if same else "differ", rnd[0], rnd[1],
                 "" if same else " - the guest kernel reseeded from timing entropy or virtio-rng before the read"))
        for g in plain:
            r.check("%s: an overlay of the snapshot's disk is accepted; no vmgenid interrupt, no reseed" % g.name,
                    vmgenid_irqs(g) == 0 and RESEED_MSG not in g.run("dmesg")[0])
        plain_guids = [guest_guid(g) for g in plain]
        r.check("plain restores read the same generation ID",
                plain_guids[0] is not None and plain_guids[0] == plain_guids[1], repr(plain_guids))
        for g in plain:
            g.kill()

        # --- clones, all running at once ---
        clones = []
        for i in range(NCLONES):
            g = restore(snap, overlay(tmp, "clone%d.qcow2" % i, base), "clone-%d" % i, clone=True)
            guests.append(g)
            clones.append(g)
        # (a) randomness
        rnd = [urandom16(g) for g in clones]
        print("INFO clones' first /dev/urandom bytes: %s" % " ".join(str(x) for x in rnd))
        r.check("(a) /dev/urandom differs between every two clones",
                None not in rnd and len(set(rnd)) == NCLONES, repr(rnd))
        for g in clones:
            r.check("(a) %s: the kernel says %r" % (g.name, RESEED_MSG), RESEED_MSG in g.run("dmesg")[0])
        # (b) the generation ID
        for g in clones:
            r.check("(b) %s: vmgenid driver bound, one interrupt" % g.name,
                    g.run("ls /sys/bus/platform/drivers/vmgenid/102000.vmgenid >/dev/null")[1] == 0
                    and vmgenid_irqs(g) == 1)
        guids = [guest_guid(g) for g in clones]
        print("INFO generation IDs (guest view): clones %s; both plain restores %s"
              % (" ".join(map(str, guids)), plain_guids[0]))
        for g, guid in zip(clones, guids):
            r.check("(b) %s: the guest reads the GUID vessel printed (%s)" % (g.name, g.guid), guid == g.guid,
                    repr(guid))
        r.check("(b) the GUIDs differ per clone", len(set(guids)) == NCLONES, repr(guids))
        # (c) MAC after a re-probe, DHCP and ping
        macs = []
        for g in clones:
            old = g.run("cat /sys/class/net/eth0/address")[0].strip()
            out, st = g.run("d=$(basename $(readlink /sys/class/net/eth0/device)); "
                            "echo $d > /sys/bus/virtio/drivers/virtio_net/unbind && "
                            "echo $d > /sys/bus/virtio/drivers/virtio_net/bind; cat /sys/class/net/eth0/address")
            mac = out.strip().splitlines()[-1] if out.strip() else ""
            macs.append(mac)
            r.check("(c) %s: eth0 keeps the snapshot's MAC %s until the re-probe, then has %s" % (g.name, old, g.mac),
                    st == 0 and mac == g.mac and old != g.mac, repr(out))
            out, _ = g.run(DHCP)
            # libslirp's restored DHCP table still leases .15 to the snapshot's MAC: a new MAC
            # gets the next free address
            ok = re.search(r"inet 10\.0\.2\.(1[5-9]|2\d)/", out) is not None
            out2, st2 = g.run("ping -c 2 -W 5 10.0.2.2 | grep -o '[0-9]* packets received'")
            r.check("(c) %s: DHCP lease and ping 10.0.2.2 with the new MAC" % g.name,
                    ok and st2 == 0 and not out2.startswith("0 "), repr(out + out2))
        r.check("(c) the MACs differ per clone", len(set(macs)) == NCLONES, repr(macs))
        # (d) disks
        c1, c2 = clones[0], clones[1]
        c1.run("printf %s | dd of=/dev/vda bs=512 seek=%d conv=fsync 2>/dev/null" % (CLONE_MARK, CLONE_SECTOR))
        r.check("(d) clone 1 reads back its own block", read_sector(c1, CLONE_SECTOR) == CLONE_MARK)
        r.check("(d) clone 2 does not see clone 1's block", read_sector(c2, CLONE_SECTOR) == "",
                repr(read_sector(c2, CLONE_SECTOR)))
        r.check("(d) both see the base marker through their overlays",
                read_sector(c1, BASE_SECTOR) == BASE_MARK and read_sector(c2, BASE_SECTOR) == BASE_MARK)
        # (e) memory sharing, measured with every clone at its prompt after the work above
        dirty = [kib_field("/proc/%d/smaps_rollup" % g.proc.pid, "Private_Dirty") for g in clones]
        pss = [kib_field("/proc/%d/smaps_rollup" % g.proc.pid, "Pss") for g in clones]
        print("INFO memory: original VMM RSS %.0f MiB, guest used %.0f MiB; clones Private_Dirty %s MiB (sum %.0f), "
              "Pss %s MiB" % ((orig_rss or 0) / 1024, used_kib / 1024,
                              " ".join("%.1f" % ((x or 0) / 1024) for x in dirty), sum(x or 0 for x in dirty) / 1024,
                              " ".join("%.1f" % ((x or 0) / 1024) for x in pss)))
        r.check("(e) sum of the clones' Private_Dirty < 1/4 of %d x the original's RSS" % NCLONES,
                None not in dirty and orig_rss and sum(dirty) < NCLONES * orig_rss / 4,
                "%r vs %r" % (dirty, orig_rss))
        for g in clones:
            g.sendline("sync")
            rc = g.poweroff()
            r.check("%s powers off with status 0" % g.name, rc == 0, "status %s" % rc)
        r.check("(d) the base image is unchanged (sha256)", sha256(base) == base_sha)
        blobs = {}
        for i in range(2):
            with open(os.path.join(tmp, "clone%d.qcow2" % i), "rb") as f:
                blobs[i] = f.read()
        r.check("(d) only clone 1's overlay holds its block",
                CLONE_MARK.encode() in blobs[0] and CLONE_MARK.encode() not in blobs[1])

        # --- a clone given the snapshot's own disk gets an overlay of its own ---
        auto = restore(snap, base, "clone-auto", clone=True)
        m = re.search(rb"this clone writes to (\S+)", auto.log())
        made = m.group(1).decode() if m else ""
        auto.run("printf %s | dd of=/dev/vda bs=512 seek=%d conv=fsync 2>/dev/null" % (CLONE_MARK, CLONE_SECTOR))
        seen = read_sector(auto, CLONE_SECTOR)
        rc = auto.poweroff()
        with open(made or os.devnull, "rb") as f:
            holds = CLONE_MARK.encode() in f.read()
        r.check("--clone on the snapshot's own disk writes to a new overlay next to it (%s)" % os.path.basename(made),
                made.startswith(os.path.join(tmp, "base-clone-")) and made.endswith(".qcow2") and holds
                and seen == CLONE_MARK and rc == 0, (made, seen, rc))
        r.check("... and the snapshot's disk is still unchanged (sha256)", sha256(base) == base_sha)

        # --- refused disks ---
        other = os.path.join(tmp, "other.qcow2")
        subprocess.run([VESSEL, "disk", "create", other, "16M"], check=True, stdout=subprocess.DEVNULL)
        refused(r, "an overlay of another image",
                [VESSEL, "run", "--restore", snap, "--clone", "--rng", "--net", "user", "--disk",
                 overlay(tmp, "wrong-backing.qcow2", other)], "differs")
        refused(r, "an overlay of another size",
                [VESSEL, "run", "--restore", snap, "--clone", "--rng", "--net", "user", "--disk",
                 overlay(tmp, "wrong-size.qcow2", base, "32M")], "differs")
        refused(r, "--clone without --restore", vmm_command(mem=MEM) + ["--clone"], "--clone")
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
