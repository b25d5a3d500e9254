#!/usr/bin/env python3
"""`vessel disk` image tools against qemu-img on real files (needs qemu-utils).

Groups:
  help      every subcommand answers --help with its usage and exit status 0
  sizes     one size rule: a bare number is MiB (`create x 100` is 100 MiB), 1.5G and 1GiB,
            byte counts meant for qemu-img refused with the rule in the message; `info` prints
            sizes for people
  convert   raw -> qcow2, qcow2 -> raw, a three-image chain flattened, -c compressed output:
            qemu-img check clean, qemu-img compare equal, compressed clusters counted by qemu-img
  resize    grow and shrink, raw and qcow2, shrink refused without --shrink
  commit    an overlay's writes land in its backing file; the overlay is emptied (or kept, -d)
  rebase    safe rebase onto another base keeps the content; -u only rewrites the header;
            -b "" flattens
  map       `map --output json` equals qemu-img map's ranges; the human format lists the same
            data ranges
  snapshot  snapshots Vessel takes are listed, applied and deleted by qemu-img and the other
            way round, the content of each snapshot checked byte for byte
  compare   identical and different images, exit statuses and the first differing offset
            agree with qemu-img compare
  hostile   issue 13: a FIFO as image or backing file is refused at once; an L2 entry that
            points at its own L2 table fails the guest's write and leaves the table intact;
            reserved bits in L1/L2 entries are errors for `vessel disk check` (and qemu-img)
Prints PASS/FAIL lines and ends with "N passed, N failed".

Usage: tests/integration/test_disk_tools.py [-k GROUP] [--keep]
"""

import argparse
import json
import os
import random
import shutil
import stat
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import ScopedResults  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VESSEL = os.path.abspath(os.environ.get("VESSEL_BIN", os.path.join(ROOT, "build", "vessel")))
MiB = 1 << 20
SUBCOMMANDS = ["create", "info", "check", "convert", "resize", "commit", "rebase", "map",
               "snapshot", "compare", "io", "bench"]


def run(cmd, timeout=300, cwd=None, input=None):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          cwd=cwd, input=input)


def must(cmd, **kw):
    p = run(cmd, **kw)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                 p.stderr.decode(errors="replace")))
    return p


def vessel(*args, **kw):
    return run([VESSEL, "disk"] + list(args), **kw)


def out(p):
    return (p.stdout + p.stderr).decode(errors="replace")


def qemu_io(path, *cmds, fmt="qcow2"):
    args = ["qemu-io", "-f", fmt]
    for c in cmds:
        args += ["-c", c]
    must(args + [path])


def qcheck(path):
    p = run(["qemu-img", "check", "--output=json", path])
    try:
        return p.returncode, json.loads(p.stdout.decode())
    except ValueError:
        return p.returncode, {"raw": out(p)}


def check_clean(r, group, what, path):
    rc, js = qcheck(path)
    return r.check(group, "%s: qemu-img check clean" % what,
                   rc == 0 and js.get("corruptions", 0) == 0 and js.get("leaks", 0) == 0, js)


def qcompare(a, b):
    p = run(["qemu-img", "compare", a, b])
    return p.returncode, out(p)


def raw_of(path, tmp):
    dst = os.path.join(tmp, "raw-of.tmp")
    must(["qemu-img", "convert", "-O", "raw", path, dst])
    with open(dst, "rb") as f:
        data = f.read()
    os.unlink(dst)
    return data


def random_content(path, size, seed):
    """A raw file with data, zero runs, a hole and compressible text."""
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        for _ in range(24):
            ln = rnd.choice([512, 4096, 65536, 300 * 1024])
            off = rnd.randrange(0, (size - ln) // 512) * 512
            f.seek(off)
            if rnd.random() < 0.5:
                f.write(os.urandom(ln))
            else:
                f.write((b"vessel %d " % off) * (ln // 16) + b"\0" * (ln - ln // 16 * len(b"vessel %d " % off)))
        f.seek(size // 2)
        f.write(bytes(128 * 1024))  # written zeroes


# --- help and sizes ------------------------------------------------------------------------

def test_help(r, tmp):
    group = "help"
    p = vessel("--help")
    r.check(group, "vessel disk --help: exit 0, lists every subcommand",
            p.returncode == 0 and all(("vessel disk %s" % c) in out(p) for c in SUBCOMMANDS), out(p)[:300])
    for c in SUBCOMMANDS:
        for flag in ("--help", "-h"):
            p = vessel(c, flag)
            r.check(group, "vessel disk %s %s: exit 0 with its usage" % (c, flag),
                    p.returncode == 0 and p.stdout.decode().startswith("usage: vessel disk %s" % c)
                    and not p.stderr, out(p)[:200])
    p = vessel("create", "x.qcow2", "--help", cwd=tmp)
    r.check(group, "create PATH --help: usage, nothing created",
            p.returncode == 0 and not os.path.exists(os.path.join(tmp, "x.qcow2")), out(p)[:200])
    p = vessel("frobnicate")
    r.check(group, "an unknown subcommand: exit 1 with a message", p.returncode == 1 and "frobnicate" in out(p))


def test_sizes(r, tmp):
    group = "sizes"
    cases = [("100", 100 * MiB), ("1.5G", 3 << 29), ("1GiB", 1 << 30), ("64k", 64 << 10),
             ("1048576B", MiB), ("0.5M", 512 << 10)]
    for arg, want in cases:
        img = os.path.join(tmp, "size-%s.qcow2" % arg)
        p = vessel("create", img, arg)
        info = json.loads(must(["qemu-img", "info", "--output=json", img]).stdout) if p.returncode == 0 else {}
        r.check(group, "create x %s: a %d-byte disk (qemu-img info)" % (arg, want),
                info.get("virtual-size") == want, out(p) + str(info.get("virtual-size")))
    for arg, needle in [("1073741824", "a bare number is MiB"), ("1GB", "a bare number is MiB"),
                        ("0", "a bare number is MiB"), ("lots", "a bare number is MiB")]:
        img = os.path.join(tmp, "bad-size.qcow2")
        p = vessel("create", img, arg)
        r.check(group, "create x %s: refused, the message says the rule" % arg,
                p.returncode == 1 and needle in out(p) and not os.path.exists(img), out(p))
    p = vessel("create", os.path.join(tmp, "cs.qcow2"), "1G", "--cluster-size", "4096")
    r.check(group, "--cluster-size 4096 (4 GiB under the rule): refused naming the range",
            p.returncode == 1 and "512B to 2M" in out(p), out(p))
    p = vessel("info", os.path.join(tmp, "size-100.qcow2"))
    r.check(group, "info: 'virtual size: 100 MiB (104857600 bytes)', a human disk size",
            p.returncode == 0 and "virtual size: 100 MiB (104857600 bytes)" in out(p) and
            "e-0" not in out(p) and "cluster size: 64 KiB (65536 bytes)" in out(p), out(p))
    tiny = os.path.join(tmp, "tiny.qcow2")
    must([VESSEL, "disk", "create", tiny, "64K"])
    p = vessel("info", tiny)
    r.check(group, "info of a 64 KiB disk: '64 KiB', no exponent", "virtual size: 64 KiB (65536 bytes)" in out(p), out(p))


# --- convert ---------------------------------------------------------------------------------

def test_convert(r, tmp):
    group = "convert"
    src = os.path.join(tmp, "conv-src.raw")
    random_content(src, 48 * MiB, 1)
    q = os.path.join(tmp, "conv.qcow2")
    p = vessel("convert", "-f", "raw", "-O", "qcow2", src, q)
    if r.check(group, "raw -> qcow2", p.returncode == 0, out(p)):
        check_clean(r, group, "raw -> qcow2", q)
        rc, msg = qcompare(src, q)
        r.check(group, "raw -> qcow2: qemu-img compare equal", rc == 0, msg)
        info = json.loads(must(["qemu-img", "info", "--output=json", q]).stdout)
        r.check(group, "raw -> qcow2 is sparse (%d bytes on disk for 48 MiB with ~4 MiB of data)"
                % info.get("actual-size", 0), info.get("actual-size", 1 << 40) < 16 * MiB, info)
    back = os.path.join(tmp, "conv-back.raw")
    p = vessel("convert", "-O", "raw", q, back)
    if r.check(group, "qcow2 -> raw", p.returncode == 0, out(p)):
        with open(src, "rb") as a, open(back, "rb") as b:
            r.check(group, "qcow2 -> raw: byte-identical to the source", a.read() == b.read())
    # a chain made by qemu-img, flattened
    base = os.path.join(tmp, "cb.qcow2")
    mid = os.path.join(tmp, "cm.qcow2")
    top = os.path.join(tmp, "ct.qcow2")
    must(["qemu-img", "convert", "-O", "qcow2", src, base])
    must(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "cb.qcow2", "-F", "qcow2", mid])
    qemu_io(mid, "write -P 0x21 1M 2M", "write -z 8M 1M", "discard 20M 1M")
    must(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "cm.qcow2", "-F", "qcow2", top, "64M"])
    qemu_io(top, "write -P 0x31 1536k 4k", "write -P 0x32 50M 100k")
    flat = os.path.join(tmp, "flat.qcow2")
    p = vessel("convert", "-p", "-O", "qcow2", top, flat)
    if r.check(group, "a 3-image chain flattened (-p)", p.returncode == 0 and "(100.00/100%)" in out(p), out(p)[-300:]):
        info = json.loads(must(["qemu-img", "info", "--output=json", flat]).stdout)
        r.check(group, "flattened image has no backing file, size 64 MiB",
                "backing-filename" not in info and info.get("virtual-size") == 64 * MiB, info)
        check_clean(r, group, "flattened", flat)
        rc, msg = qcompare(top, flat)
        r.check(group, "flattened: qemu-img compare with the chain equal", rc == 0, msg)
    # compressed
    comp = os.path.join(tmp, "comp.qcow2")
    p = vessel("convert", "-c", "-O", "qcow2", src, comp)
    if r.check(group, "-c: compressed qcow2", p.returncode == 0, out(p)):
        rc, js = qcheck(comp)
        frag = js.get("compressed-clusters", 0)
        r.check(group, "-c: qemu-img check clean, %d compressed clusters" % frag,
                rc == 0 and js.get("corruptions", 0) == 0 and js.get("leaks", 0) == 0 and frag > 0, js)
        rc, msg = qcompare(src, comp)
        r.check(group, "-c: qemu-img reads it equal to the source", rc == 0, msg)
        plain = os.path.getsize(q)
        r.check(group, "-c: smaller than the uncompressed conversion (%d < %d)" % (os.path.getsize(comp), plain),
                os.path.getsize(comp) < plain)
        qemu_io(comp, "write -P 0x44 4096 8192")  # qemu writes over Vessel's compressed clusters
        check_clean(r, group, "-c, then qemu-io writes", comp)
    p = vessel("convert", "-c", "-O", "raw", src, os.path.join(tmp, "x.raw"))
    r.check(group, "-c with -O raw: refused", p.returncode == 1 and "-c needs -O qcow2" in out(p), out(p))
    p = vessel("convert", "-O", "raw", top, os.path.join(tmp, "cm.qcow2"))
    r.check(group, "DST that is one of SRC's backing files: refused, the file untouched",
            p.returncode == 1 and "being read" in out(p) and qcompare(top, flat)[0] == 0, out(p))


# --- resize ----------------------------------------------------------------------------------

def test_resize(r, tmp):
    group = "resize"
    img = os.path.join(tmp, "rs.qcow2")
    must([VESSEL, "disk", "create", img, "16M"])
    qemu_io(img, "write -P 0x11 0 16M")
    p = vessel("resize", img, "+1G")
    info = json.loads(must(["qemu-img", "info", "--output=json", img]).stdout)
    r.check(group, "qcow2 +1G: 16 MiB + 1 GiB", p.returncode == 0 and info["virtual-size"] == 16 * MiB + (1 << 30), out(p))
    check_clean(r, group, "grown", img)
    qemu_io(img, "read -P 0x11 0 16M", "read -P 0 16M 1G")
    r.check(group, "grown: old data kept, new space zero (qemu-io read -P)", True)
    p = vessel("resize", img, "8M")
    r.check(group, "shrink without --shrink: refused, size unchanged",
            p.returncode == 1 and "--shrink" in out(p) and
            json.loads(must(["qemu-img", "info", "--output=json", img]).stdout)["virtual-size"] == 16 * MiB + (1 << 30), out(p))
    p = vessel("resize", "--shrink", img, "8M")
    info = json.loads(must(["qemu-img", "info", "--output=json", img]).stdout)
    r.check(group, "--shrink to 8M", p.returncode == 0 and info["virtual-size"] == 8 * MiB, out(p))
    rc, js = qcheck(img)
    r.check(group, "shrunk: qemu-img check clean, clusters past the end freed (%d allocated)" % js.get("allocated-clusters", -1),
            rc == 0 and js.get("leaks", 0) == 0 and js.get("allocated-clusters", 0) <= 8 * MiB // 65536, js)
    qemu_io(img, "read -P 0x11 0 8M")
    p = vessel("resize", img, "-4M", "--shrink")
    info = json.loads(must(["qemu-img", "info", "--output=json", img]).stdout)
    r.check(group, "-4M --shrink: 4 MiB", p.returncode == 0 and info["virtual-size"] == 4 * MiB, out(p))
    raw = os.path.join(tmp, "rs.raw")
    with open(raw, "wb") as f:
        f.truncate(MiB)
    p = vessel("resize", raw, "2.5M")
    r.check(group, "raw grows to 2.5M", p.returncode == 0 and os.path.getsize(raw) == 5 * MiB // 2, out(p))
    p = vessel("resize", raw, "1M")
    r.check(group, "raw shrink without --shrink: refused", p.returncode == 1 and os.path.getsize(raw) == 5 * MiB // 2)
    # 512-byte clusters: the grown L1 table (1024 clusters) is longer than the gap between two
    # refcount blocks (256 clusters), and so is the snapshot's copy of it
    small = os.path.join(tmp, "rs-small.qcow2")
    must(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", small, "1G"])
    qemu_io(small, "write -P 0x55 0 300k", "write -P 0x56 512M 64k")
    p = vessel("resize", small, "2G")
    r.check(group, "512-byte clusters, 1G -> 2G (a 512 KiB L1 table)", p.returncode == 0, out(p))
    check_clean(r, group, "512-byte clusters grown", small)
    p = vessel("snapshot", "-c", "s", small)
    check_clean(r, group, "512-byte clusters, snapshot of the big L1", small)
    qemu_io(small, "read -P 0x55 0 300k", "read -P 0x56 512M 64k", "write -P 0x57 2000M 64k")
    p = vessel("snapshot", "-d", "s", small)
    check_clean(r, group, "512-byte clusters, snapshot deleted after qemu's write", small)
    snap = os.path.join(tmp, "rs-snap.qcow2")
    must(["qemu-img", "create", "-q", "-f", "qcow2", snap, "4M"])
    must(["qemu-img", "snapshot", "-c", "s1", snap])
    p = vessel("resize", snap, "8M")
    r.check(group, "qcow2 with internal snapshots: refused with the reason",
            p.returncode == 1 and "snapshots" in out(p), out(p))


# --- commit and rebase ---------------------------------------------------------------------

def make_chain(tmp, name):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    base, mid, top = (os.path.join(d, n) for n in ("base.qcow2", "mid.qcow2", "top.qcow2"))
    must(["qemu-img", "create", "-q", "-f", "qcow2", base, "16M"])
    qemu_io(base, "write -P 0x01 0 16M")
    must(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", mid])
    qemu_io(mid, "write -P 0x02 1M 2M", "write -z 4M 64k")
    must(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", top, "24M"])
    qemu_io(top, "write -P 0x03 1536k 4k", "write -P 0x04 20M 64k", "write -z 6M 128k")
    return d, base, mid, top


def test_commit(r, tmp):
    group = "commit"
    d, base, mid, top = make_chain(tmp, "commit")
    want = raw_of(top, tmp)
    p = vessel("commit", "-p", top)
    r.check(group, "commit top into mid", p.returncode == 0 and "Image committed." in out(p), out(p))
    for name, path in (("top", top), ("mid", mid), ("base", base)):
        check_clean(r, group, name, path)
    r.check(group, "top still reads the same (through mid now)", raw_of(top, tmp) == want)
    r.check(group, "mid holds top's writes (and grew to 24 MiB)",
            raw_of(mid, tmp) == want and json.loads(must(["qemu-img", "info", "--output=json", mid]).stdout)["virtual-size"] == 24 * MiB)
    rc, js = qcheck(top)
    r.check(group, "top is empty afterwards (%d allocated clusters)" % js.get("allocated-clusters", 0),
            rc == 0 and js.get("allocated-clusters", 0) == 0, js)
    m = json.loads(must(["qemu-img", "map", "--output=json", top]).stdout)
    r.check(group, "qemu-img map: nothing of top at depth 0", all(e["depth"] > 0 or not e["present"] for e in m), m[:3])
    # commit mid into base too: a flattened chain base <- top
    p = vessel("commit", mid)
    r.check(group, "commit mid into base", p.returncode == 0 and raw_of(top, tmp) == want and raw_of(base, tmp)[:16 * MiB] == want[:16 * MiB], out(p))
    # -d keeps the overlay's data
    d2, base2, mid2, top2 = make_chain(tmp, "commit-d")
    want = raw_of(top2, tmp)
    p = vessel("commit", "-d", top2)
    rc, js = qcheck(top2)
    r.check(group, "-d: committed, the overlay keeps its clusters",
            p.returncode == 0 and raw_of(mid2, tmp) == want and js.get("allocated-clusters", 0) > 0, out(p))
    p = vessel("commit", base2)
    r.check(group, "an image without a backing file: refused", p.returncode == 1 and "no backing file" in out(p), out(p))


def test_rebase(r, tmp):
    group = "rebase"
    d, base, mid, top = make_chain(tmp, "rebase")
    want = raw_of(top, tmp)
    other = os.path.join(d, "other.qcow2")
    must(["qemu-img", "create", "-q", "-f", "qcow2", other, "16M"])
    qemu_io(other, "write -P 0x09 0 8M")
    p = vessel("rebase", "-b", "other.qcow2", "-F", "qcow2", top)
    info = json.loads(must(["qemu-img", "info", "--output=json", top]).stdout)
    r.check(group, "safe rebase onto another base", p.returncode == 0 and info.get("backing-filename") == "other.qcow2"
            and info.get("backing-filename-format") == "qcow2", out(p) + str(info))
    check_clean(r, group, "rebased", top)
    r.check(group, "safe rebase: content unchanged (qemu-img convert)", raw_of(top, tmp) == want)
    p = vessel("rebase", "-b", "", top)
    info = json.loads(must(["qemu-img", "info", "--output=json", top]).stdout)
    r.check(group, "-b \"\": no backing file, content unchanged",
            p.returncode == 0 and "backing-filename" not in info and raw_of(top, tmp) == want, out(p))
    check_clean(r, group, "flattened by rebase", top)
    # -u: the base moved; only the header changes
    d2, base2, mid2, top2 = make_chain(tmp, "rebase-u")
    want = raw_of(top2, tmp)
    os.makedirs(os.path.join(d2, "moved"))
    os.rename(mid2, os.path.join(d2, "moved", "mid.qcow2"))
    os.rename(base2, os.path.join(d2, "moved", "base.qcow2"))
    p = vessel("rebase", "-u", "-b", "moved/mid.qcow2", "-F", "qcow2", top2)
    r.check(group, "-u after moving the backing files: qemu-img reads the same content",
            p.returncode == 0 and raw_of(top2, tmp) == want, out(p))
    check_clean(r, group, "-u", top2)
    os.rename(os.path.join(d2, "moved", "base.qcow2"), os.path.join(d2, "moved", "renamed.qcow2"))
    p = vessel("rebase", "-u", "-b", "renamed.qcow2", os.path.join(d2, "moved", "mid.qcow2"))
    info = json.loads(must(["qemu-img", "info", "--output=json", os.path.join(d2, "moved", "mid.qcow2")]).stdout)
    r.check(group, "-u without -F: the format is probed and recorded",
            p.returncode == 0 and raw_of(top2, tmp) == want and info.get("backing-filename-format") == "qcow2",
            out(p) + str(info))
    p = vessel("rebase", "-b", "top.qcow2", top2)
    r.check(group, "rebasing an image onto itself: refused", p.returncode == 1, out(p))


# --- map, compare -----------------------------------------------------------------------------

def norm_map(js):
    return [(e["start"], e["length"], e["depth"], e["present"], e["zero"], e["data"], e.get("offset"))
            for e in js]


def test_map(r, tmp):
    group = "map"
    d, base, mid, top = make_chain(tmp, "map")
    src = os.path.join(tmp, "map-src.raw")
    random_content(src, 16 * MiB, 3)
    comp = os.path.join(tmp, "map-comp.qcow2")
    must(["qemu-img", "convert", "-c", "-O", "qcow2", src, comp])
    ours = os.path.join(tmp, "map-vessel.qcow2")
    must([VESSEL, "disk", "create", ours, "8M"])
    must([VESSEL, "disk", "convert", "-O", "qcow2", src, os.path.join(tmp, "map-conv.qcow2")])
    for name, path, fmt in (("chain top", top, None), ("chain mid", mid, None), ("compressed", comp, None),
                            ("empty Vessel image", ours, None), ("Vessel convert output", os.path.join(tmp, "map-conv.qcow2"), None),
                            ("sparse raw", src, "raw")):
        fa = ["-f", fmt] if fmt else []
        pv = vessel("map", "--output", "json", *fa, path)
        pq = run(["qemu-img", "map", "--output=json"] + fa + [path])
        try:
            ok = pv.returncode == 0 and norm_map(json.loads(pv.stdout)) == norm_map(json.loads(pq.stdout))
        except ValueError as e:
            ok = False
        r.check(group, "%s: --output json has qemu-img map's ranges" % name, ok,
                "vessel %s\nqemu %s" % (out(pv)[:600], out(pq)[:600]))
    pv = vessel("map", top)
    pq = run(["qemu-img", "map", top])
    lines = lambda s: [l.split() for l in s.decode().splitlines()[1:]]  # noqa: E731
    vl, ql = lines(pv.stdout), lines(pq.stdout)
    r.check(group, "human output: the same data ranges and host offsets as qemu-img map",
            pv.returncode == 0 and [l[:3] for l in vl] == [l[:3] for l in ql] and
            [os.path.basename(l[3]) for l in vl] == [os.path.basename(l[3]) for l in ql], "%s\n%s" % (vl, ql))


def test_compare(r, tmp):
    group = "compare"
    src = os.path.join(tmp, "cmp.raw")
    random_content(src, 8 * MiB, 5)
    q = os.path.join(tmp, "cmp.qcow2")
    must(["qemu-img", "convert", "-O", "qcow2", src, q])
    p = vessel("compare", src, q)
    r.check(group, "raw and its qcow2 conversion: identical (0)", p.returncode == 0 and "Images are identical." in out(p), out(p))
    qemu_io(q, "write -P 0x77 3000k 512")
    pv, pq = vessel("compare", src, q), run(["qemu-img", "compare", src, q])
    r.check(group, "one sector changed: 1, the offset qemu-img names",
            pv.returncode == 1 and pq.returncode == 1 and out(pv).strip() == out(pq).strip(), "%s | %s" % (out(pv), out(pq)))
    big = os.path.join(tmp, "cmp-big.qcow2")
    must(["qemu-img", "convert", "-O", "qcow2", src, big])
    must(["qemu-img", "resize", "-q", big, "12M"])
    p = vessel("compare", src, big)
    r.check(group, "larger image, zeroes past the end: identical with a warning",
            p.returncode == 0 and "size mismatch" in out(p), out(p))
    p = vessel("compare", "-s", src, big)
    r.check(group, "-s: size mismatch is a difference (1)", p.returncode == 1, out(p))
    qemu_io(big, "write -P 0x01 10M 4k")
    pv, pq = vessel("compare", src, big), run(["qemu-img", "compare", src, big])
    r.check(group, "data past the smaller one's end: 1 and qemu-img's offset",
            pv.returncode == 1 and pq.returncode == 1 and "offset 10485760" in out(pv) and "10485760" in out(pq), "%s | %s" % (out(pv), out(pq)))
    p = vessel("compare", src, os.path.join(tmp, "missing.qcow2"))
    r.check(group, "a missing image: 2", p.returncode == 2, out(p))


# --- snapshots -----------------------------------------------------------------------------------

def test_snapshot(r, tmp):
    group = "snapshot"
    img = os.path.join(tmp, "snap.qcow2")
    must([VESSEL, "disk", "create", img, "32M"])
    qemu_io(img, "write -P 0x10 0 4M", "write -P 0x11 20M 1M")
    s1 = raw_of(img, tmp)
    p = vessel("snapshot", "-c", "first", img)
    r.check(group, "vessel -c first", p.returncode == 0, out(p))
    check_clean(r, group, "after vessel -c", img)
    ql = out(run(["qemu-img", "snapshot", "-l", img]))
    r.check(group, "qemu-img snapshot -l lists Vessel's snapshot", "first" in ql, ql)
    qemu_io(img, "write -P 0x20 1M 2M", "write -z 20M 512k", "write -P 0x21 30M 64k")
    check_clean(r, group, "qemu writes after vessel's snapshot (copy-on-write)", img)
    s2 = raw_of(img, tmp)
    must(["qemu-img", "snapshot", "-c", "second", img])
    vl = out(vessel("snapshot", "-l", img))
    r.check(group, "vessel -l lists both (qemu-img's too)", "first" in vl and "second" in vl, vl)
    # Vessel writes over both snapshots' clusters through the io driver
    drv = run([VESSEL, "disk", "io", img], input=b"w 0 131072 9\nw 2097152 65536 9\nd 20971520 65536\nq\n")
    r.check(group, "vessel writes into clusters both snapshots share", drv.returncode == 0 and b"err" not in drv.stdout, out(drv))
    check_clean(r, group, "after vessel's writes", img)
    s3 = raw_of(img, tmp)
    p = run(["qemu-img", "snapshot", "-a", "first", img])
    r.check(group, "qemu-img -a (Vessel's snapshot): content as when taken",
            p.returncode == 0 and raw_of(img, tmp) == s1, out(p))
    p = vessel("snapshot", "-a", "second", img)
    r.check(group, "vessel -a (qemu-img's snapshot): content as when taken",
            p.returncode == 0 and raw_of(img, tmp) == s2, out(p))
    check_clean(r, group, "after vessel -a", img)
    p = vessel("snapshot", "-a", "1", img)  # by ID
    r.check(group, "vessel -a 1 (by ID)", p.returncode == 0 and raw_of(img, tmp) == s1, out(p))
    p = vessel("snapshot", "-d", "second", img)
    r.check(group, "vessel -d (qemu-img's snapshot)", p.returncode == 0 and "second" not in out(run(["qemu-img", "snapshot", "-l", img])), out(p))
    check_clean(r, group, "after vessel -d", img)
    p = run(["qemu-img", "snapshot", "-d", "first", img])
    r.check(group, "qemu-img -d (Vessel's snapshot)", p.returncode == 0, out(p))
    rc, js = qcheck(img)
    r.check(group, "no snapshots left: clean, every cluster owned again (no leaks)",
            rc == 0 and js.get("leaks", 0) == 0 and js.get("corruptions", 0) == 0, js)
    p = vessel("check", img)
    r.check(group, "vessel disk check agrees", p.returncode == 0, out(p)[-300:])
    r.check(group, "content is still snapshot 'first''s", raw_of(img, tmp) == s1)
    p = vessel("snapshot", "-a", "nope", img)
    r.check(group, "-a of a missing snapshot: 1 with a message", p.returncode == 1 and "nope" in out(p), out(p))
    vessel("snapshot", "-c", "dup", img)
    p = vessel("snapshot", "-c", "dup", img)
    r.check(group, "-c with a name in use: refused", p.returncode == 1 and "exists" in out(p), out(p))
    one = os.path.join(tmp, "snap-rc1.qcow2")
    must(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "refcount_bits=1", one, "1M"])
    p = vessel("snapshot", "-c", "x", one)
    r.check(group, "1-bit refcounts: refused with the reason", p.returncode == 1 and "1-bit" in out(p), out(p))
    # many snapshots, each checked by qemu-img after Vessel writes between them
    many = os.path.join(tmp, "snap-many.qcow2")
    must([VESSEL, "disk", "create", many, "8M", "--cluster-size", "4K"])
    contents = []
    for i in range(6):
        run([VESSEL, "disk", "io", many], input=("w %d %d %d\nq\n" % (i * 65536, 65536 * (i + 1), i + 1)).encode())
        contents.append(raw_of(many, tmp))
        vessel("snapshot", "-c", "s%d" % i, many)
    check_clean(r, group, "six snapshots with writes between", many)
    ok = True
    for i in (3, 0, 5):
        vessel("snapshot", "-a", "s%d" % i, many)
        ok &= raw_of(many, tmp) == contents[i]
    r.check(group, "each of six snapshots applies to its own content", ok)
    for i in (2, 4, 0):
        vessel("snapshot", "-d", "s%d" % i, many)
    check_clean(r, group, "three deleted", many)
    info = json.loads(must(["qemu-img", "info", "--output=json", many]).stdout)
    r.check(group, "qemu-img info lists s1, s3, s5", sorted(s["name"] for s in info.get("snapshots", [])) == ["s1", "s3", "s5"], info.get("snapshots"))


# --- hostile images (issue 13) --------------------------------------------------------------------

def test_hostile(r, tmp):
    group = "hostile"
    fifo = os.path.join(tmp, "img.fifo")
    os.mkfifo(fifo)
    for args in (("info", fifo), ("io", fifo), ("map", fifo), ("convert", fifo, os.path.join(tmp, "f.raw"))):
        try:
            p = run([VESSEL, "disk"] + list(args), timeout=20, input=b"q\n")
            ok, detail = p.returncode == 1 and "FIFO" in out(p), out(p)
        except subprocess.TimeoutExpired:
            ok, detail = False, "blocked in open()"
        r.check(group, "disk %s on a FIFO: refused at once" % args[0], ok, detail)
    over = os.path.join(tmp, "over-fifo.qcow2")
    basef = os.path.join(tmp, "base-fifo.raw")
    with open(basef, "wb") as f:
        f.truncate(MiB)
    must([VESSEL, "disk", "create", over, "--backing", "base-fifo.raw"])
    os.unlink(basef)
    os.mkfifo(basef)
    for args in (("info", over), ("io", over)):
        try:
            p = run([VESSEL, "disk"] + list(args), timeout=20, input=b"q\n")
            ok, detail = p.returncode == 1 and "FIFO" in out(p), out(p)
        except subprocess.TimeoutExpired:
            ok, detail = False, "blocked in open()"
        r.check(group, "disk %s with a FIFO as backing file: refused at once" % args[0], ok, detail)
    # an L2 entry pointing at its own L2 table
    img = os.path.join(tmp, "selfl2.qcow2")
    must([VESSEL, "disk", "create", img, "16M"])
    must([VESSEL, "disk", "io", img], input=b"w 0 65536 1\nq\n")
    with open(img, "r+b") as f:
        f.seek(3 * 65536)
        l2 = struct.unpack(">Q", f.read(8))[0] & 0x00fffffffffffe00
        f.seek(l2 + 8)
        f.write(struct.pack(">Q", (1 << 63) | l2))
        f.seek(l2)
        before = f.read(65536)
    p = run([VESSEL, "disk", "io", img], input=b"w 65536 65536 5\nw 131072 4096 6\nq\n")
    with open(img, "rb") as f:
        f.seek(l2)
        after = f.read(65536)
    r.check(group, "guest write into its own L2 table: refused with a message",
            p.stdout.decode().count("err ") == 1 and "inside metadata (an L2 table)" in out(p), out(p))
    r.check(group, "the L2 table is intact but for the one legitimate new entry",
            before[:16] == after[:16] and before[24:] == after[24:] and after[16:24] != before[16:24])
    # reserved bits
    img = os.path.join(tmp, "rsv.qcow2")
    must([VESSEL, "disk", "create", img, "16M"])
    must([VESSEL, "disk", "io", img], input=b"w 0 65536 1\nq\n")
    with open(img, "r+b") as f:
        f.seek(3 * 65536)
        l1e = struct.unpack(">Q", f.read(8))[0]
        l2 = l1e & 0x00fffffffffffe00
        f.seek(l2)
        e = struct.unpack(">Q", f.read(8))[0]
        f.seek(l2)
        f.write(struct.pack(">Q", e | (1 << 58)))
    pv, (qrc, _) = vessel("check", img), qcheck(img)
    r.check(group, "L2 entry with reserved bits: vessel check exit 2 naming it, qemu-img agrees",
            pv.returncode == 2 and "l2 entry with reserved bits set" in out(pv) and qrc == 2, out(pv)[-300:])
    with open(img, "r+b") as f:
        f.seek(l2)
        f.write(struct.pack(">Q", e))
        f.seek(3 * 65536)
        f.write(struct.pack(">Q", l1e | (1 << 59)))
    pv, (qrc, _) = vessel("check", img), qcheck(img)
    r.check(group, "L1 entry with reserved bits: vessel check exit 2 naming it, qemu-img agrees",
            pv.returncode == 2 and "L1 entry with reserved bits set" in out(pv) and qrc == 2, out(pv)[-300:])


def main():
    ap = argparse.ArgumentParser(description="vessel disk tools against qemu-img")
    ap.add_argument("-k", default="", help="run only groups whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    r = ScopedResults()
    for tool in ("qemu-img", "qemu-io"):
        if not shutil.which(tool):
            r.check("setup", "%s installed (apt-get install qemu-utils; scripts/setup.sh)" % tool, False)
            print("%d passed, %d failed" % (r.passed, r.failed))
            return 1
    if not os.access(VESSEL, os.X_OK):
        r.check("setup", "%s built (make)" % VESSEL, False)
        print("%d passed, %d failed" % (r.passed, r.failed))
        return 1
    tmp = tempfile.mkdtemp(prefix="vessel-disk-tools-")
    groups = [("help", test_help), ("sizes", test_sizes), ("convert", test_convert),
              ("resize", test_resize), ("commit", test_commit), ("rebase", test_rebase),
              ("map", test_map), ("compare", test_compare), ("snapshot", test_snapshot),
              ("hostile", test_hostile)]
    try:
        for name, fn in groups:
            if args.k in name:
                try:
                    fn(r, tmp)
                except Exception as e:  # a broken group is a failure, the others still run
                    r.check(name, "group ran to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
