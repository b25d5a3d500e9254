#!/usr/bin/env python3
"""qcow2 interoperability with Debian's qemu-utils, crash consistency and hostile images.

Vessel side: `vessel disk create|info|check` and the `vessel disk io` test driver (a line
protocol over the disk backend, see docs/storage.md). QEMU side: qemu-img and qemu-io, a
client no one here wrote. Checks:
  - images made and filled by qemu-img/qemu-io (v3, v2, small clusters, other refcount
    widths, zlib- and zstd-compressed, backing chains with relative names, raw backings)
    read through Vessel byte-identical to `qemu-img convert -O raw`;
  - images Vessel wrote (random writes, zeroes, discards; also into qemu-made compressed
    images) pass `qemu-img check` with no errors and no leaks, and `qemu-img compare`
    against the expected raw content;
  - an overlay made by `vessel disk create --backing` is accepted by
    `qemu-img info --backing-chain`, and writes through it leave the base untouched;
  - crash consistency: the driver is killed with SIGKILL at random points while writing with
    periodic flushes; qemu-img check finds no corruption, `vessel disk check --repair`
    removes leaks, and everything acknowledged before the last completed flush reads back;
  - bad images are refused with a clear error, never a crash.
Prints PASS/FAIL lines and ends with "N passed, N failed"; exit status 1 on any failure.

Usage: tests/integration/test_qcow2.py [-k SUBSTRING] [--rounds N] [--keep]
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import ScopedResults  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VESSEL = os.path.abspath(os.environ.get("VESSEL_BIN", os.path.join(ROOT, "build", "vessel")))
MiB = 1 << 20




def run(cmd, check=False, input=None, timeout=120):
    p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode(errors="replace")))
    return p


def sha(data):
    return hashlib.sha256(data).hexdigest()


def pattern(off, length, tag):
    return b"".join(struct.pack("<QQ", s, tag) * 32 for s in range(off // 512, (off + length) // 512))


class Driver:
    """`vessel disk io PATH`: one command, one answer."""

    def __init__(self, path, *extra):
        self.p = subprocess.Popen([VESSEL, "disk", "io", path] + list(extra), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        if not line.startswith("ready "):
            err = self.p.stderr.read().decode(errors="replace")
            self.p.wait()
            raise RuntimeError("driver did not start: %r %s" % (line, err))
        self.size = int(line.split()[2])

    def send(self, cmd, payload=None):
        self.p.stdin.write((cmd + "\n").encode())
        if payload:
            self.p.stdin.write(payload)
        self.p.stdin.flush()

    def answer(self):
        line = self.p.stdout.readline().decode()
        if line.startswith("data "):
            n = int(line.split()[1])
            buf = b""
            while len(buf) < n:
                chunk = self.p.stdout.read(n - len(buf))
                if not chunk:
                    raise RuntimeError("driver output ended")
                buf += chunk
            return buf
        if not line:
            raise RuntimeError("driver died: %s" % self.p.stderr.read().decode(errors="replace"))
        return line.strip()

    def cmd(self, cmd, payload=None):
        self.send(cmd, payload)
        a = self.answer()
        if a != "ok" and not isinstance(a, bytes):
            raise RuntimeError("%s -> %s" % (cmd, a))
        return a

    def read(self, off, length):
        out = b""
        step = 16 * MiB
        for o in range(off, off + length, step):
            out += self.cmd("r %d %d" % (o, min(step, off + length - o)))
        return out

    def close(self):
        self.send("q")
        self.p.stdin.close()
        rest = self.p.stdout.read().decode()
        rc = self.p.wait()
        err = self.p.stderr.read().decode(errors="replace")
        self.p.stdout.close()
        self.p.stderr.close()
        if rc != 0 or "closed" not in rest:
            raise RuntimeError("driver exit %d: %s %s" % (rc, rest, err))

    def kill(self):
        self.p.kill()
        self.p.wait()
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                f.close()
            except (OSError, BrokenPipeError):
                pass


def vessel_read_all(path, *extra):
    d = Driver(path, *extra)
    data = d.read(0, d.size)
    d.close()
    return data


def qemu_raw(path, tmp):
    out = os.path.join(tmp, "convert.raw")
    run(["qemu-img", "convert", "-O", "raw", path, out], check=True)
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(out)
    return data


def qemu_io(path, *cmds, fmt="qcow2"):
    args = ["qemu-io", "-f", fmt]
    for c in cmds:
        args += ["-c", c]
    run(args + [path], check=True)


def qemu_check(path):
    p = run(["qemu-img", "check", "--output=json", path])
    try:
        return p.returncode, json.loads(p.stdout.decode())
    except ValueError:
        return p.returncode, {"raw": p.stdout.decode() + p.stderr.decode()}


def clean_check(r, group, path):
    rc, js = qemu_check(path)
    ok = rc == 0 and js.get("corruptions", 0) == 0 and js.get("leaks", 0) == 0
    return r.check(group, "qemu-img check: no errors, no leaks", ok, "rc=%d %s" % (rc, js))


def compare_raw(r, group, path, expected, tmp):
    ref = os.path.join(tmp, "expected.raw")
    with open(ref, "wb") as f:
        f.write(expected)
    p = run(["qemu-img", "compare", "-f", "qcow2", "-F", "raw", path, ref])
    os.unlink(ref)
    return r.check(group, "qemu-img compare with the expected raw content: identical",
                   p.returncode == 0, p.stdout.decode() + p.stderr.decode())


# --- qemu-img made, Vessel reads ------------------------------------------------------

def fill_with_qemu(path, size, seed):
    rnd = random.Random(seed)
    cmds = []
    for _ in range(40):
        ln = rnd.choice([512, 4096, 65536, 200 * 1024])
        off = rnd.randrange(0, (size - ln) // 512) * 512
        cmds.append("write -P 0x%02x %d %d" % (rnd.randrange(1, 255), off, ln))
    cmds.append("write -z %d %d" % (0, 128 * 1024))
    cmds.append("discard %d %d" % (size // 2, 256 * 1024))
    qemu_io(path, *cmds)


def test_qemu_made(r, tmp):
    group = "qemu-made"
    variants = [
        ("v3-64k", ["-o", "compat=1.1"]),
        ("v2-64k", ["-o", "compat=0.10"]),
        ("v3-4k-clusters", ["-o", "cluster_size=4096"]),
        ("v3-512-clusters", ["-o", "cluster_size=512"]),
        ("v3-refcount1", ["-o", "refcount_bits=1"]),
        ("v3-refcount64", ["-o", "refcount_bits=64"]),
        ("v3-2M-clusters", ["-o", "cluster_size=2M"]),
    ]
    for name, opts in variants:
        img = os.path.join(tmp, "q-%s.qcow2" % name)
        run(["qemu-img", "create", "-q", "-f", "qcow2"] + opts + [img, "32M"], check=True)
        fill_with_qemu(img, 32 * MiB, name)
        want = qemu_raw(img, tmp)
        got = vessel_read_all(img)
        r.check(group, "%s reads identically (sha256 %s)" % (name, sha(want)[:12]), got == want)

    # compressed: qemu-img convert -c from a raw file with text, random and zero regions
    raw = os.path.join(tmp, "src.raw")
    rnd = random.Random(7)
    content = bytearray(16 * MiB)
    for i in range(0, 16 * MiB, 65536):
        kind = (i // 65536) % 4
        if kind == 0:
            content[i:i + 65536] = (b"vessel qcow2 %08d " % i) * (65536 // 21) + b"\0" * (65536 % 21)
        elif kind == 1:
            content[i:i + 65536] = bytes(rnd.getrandbits(8) for _ in range(256)) * 256
        elif kind == 2:
            content[i:i + 4096] = os.urandom(4096)
    with open(raw, "wb") as f:
        f.write(content)
    for ctype in ("zlib", "zstd"):
        img = os.path.join(tmp, "c-%s.qcow2" % ctype)
        p = run(["qemu-img", "convert", "-c", "-O", "qcow2", "-o", "compression_type=" + ctype, raw, img])
        if p.returncode != 0:
            r.check(group, "qemu-img makes a %s-compressed image" % ctype, False, p.stderr.decode())
            continue
        info = json.loads(run(["qemu-img", "info", "--output=json", img], check=True).stdout)
        ct = info.get("format-specific", {}).get("data", {}).get("compression-type")
        got = vessel_read_all(img)
        r.check(group, "%s-compressed image (compression-type %s) reads identically" % (ctype, ct),
                got == bytes(content) and ct == ctype)
        # writing into compressed clusters: copy-on-write out of them
        d = Driver(img)
        expected = bytearray(content)
        for i, off in enumerate([4096, 65536 + 512, 3 * MiB, 5 * MiB + 60 * 1024]):
            d.cmd("w %d %d %d" % (off, 8192, 100 + i))
            expected[off:off + 8192] = pattern(off, 8192, 100 + i)
        d.cmd("d %d %d" % (8 * MiB, 2 * MiB))
        expected[8 * MiB:10 * MiB] = bytes(2 * MiB)
        d.close()
        sub = "%s (after Vessel writes)" % group
        clean_check(r, sub + " " + ctype, img)
        compare_raw(r, sub + " " + ctype, img, bytes(expected), tmp)

    # backing chains with relative names: base (qcow2) <- mid (qcow2) <- top, and raw base
    d = os.path.join(tmp, "chain")
    os.makedirs(os.path.join(d, "sub"))
    run(["qemu-img", "create", "-q", "-f", "qcow2", os.path.join(d, "sub", "base.qcow2"), "16M"], check=True)
    qemu_io(os.path.join(d, "sub", "base.qcow2"), "write -P 0x11 0 4M", "write -P 0x12 8M 1M")
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "sub/base.qcow2", "-F", "qcow2",
         os.path.join(d, "mid.qcow2")], check=True)
    qemu_io(os.path.join(d, "mid.qcow2"), "write -P 0x21 1M 1M", "write -z 2M 64k")
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2",
         os.path.join(d, "top.qcow2"), "20M"], check=True)
    qemu_io(os.path.join(d, "top.qcow2"), "write -P 0x31 1536k 4k", "write -P 0x32 17M 100k")
    with open(os.path.join(d, "base.raw"), "wb") as f:
        f.write(b"\x5a" * (3 * MiB))
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw",
         os.path.join(d, "over-raw.qcow2"), "4M"], check=True)
    qemu_io(os.path.join(d, "over-raw.qcow2"), "write -P 0x66 64k 4k")
    for name in ("top.qcow2", "over-raw.qcow2"):
        img = os.path.join(d, name)
        want = qemu_raw(img, tmp)
        got = vessel_read_all(img)
        r.check(group, "backing chain under %s reads identically" % name, got == want)
    # the chain is resolved relative to the image, not the current directory
    p = subprocess.run([VESSEL, "disk", "info", "--json", "chain/top.qcow2"], cwd=tmp,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        js = json.loads(p.stdout.decode())
        chain = [js["image"]["filename"]] + [b["filename"] for b in js["backing-chain"]]
    except (ValueError, KeyError) as e:
        chain = [str(e), p.stderr.decode()]
    r.check(group, "vessel disk info --json lists the chain top -> mid -> sub/base", p.returncode == 0 and
            len(chain) == 3 and chain[1].endswith("chain/mid.qcow2") and chain[2].endswith("chain/sub/base.qcow2"),
            chain)


# --- Vessel writes, qemu-img agrees -----------------------------------------------------

def random_workload(d, expected, rnd, n, zeroes=True):
    size = len(expected)
    for i in range(n):
        ln = rnd.choice([512, 4096, 4096, 16384, 65536, 65536 + 4096, 300 * 1024])
        off = rnd.randrange(0, (size - ln) // 512) * 512
        op = rnd.random()
        if zeroes and op < 0.1:
            d.cmd("z %d %d" % (off, ln))
            expected[off:off + ln] = bytes(ln)
        elif zeroes and op < 0.2:
            d.cmd("d %d %d" % (off, ln))
            expected[off:off + ln] = bytes(ln)
        elif op < 0.3:
            data = os.urandom(ln)
            d.cmd("W %d %d" % (off, ln), data)
            expected[off:off + ln] = data
        else:
            d.cmd("w %d %d %d" % (off, ln, i + 1))
            expected[off:off + ln] = pattern(off, ln, i + 1)
        if i % 50 == 49:
            d.cmd("f")


def test_vessel_writes(r, tmp):
    variants = [
        ("default", []),
        ("compat2", ["--compat", "2"]),
        ("512-clusters", ["--cluster-size", "512B"]),
        ("4k-refcount1", ["--cluster-size", "4K", "--refcount-bits", "1"]),
        ("refcount64", ["--refcount-bits", "64"]),
    ]
    for name, opts in variants:
        group = "vessel-writes %s" % name
        img = os.path.join(tmp, "v-%s.qcow2" % name)
        p = run([VESSEL, "disk", "create", img, "24M"] + opts)
        if not r.check(group, "vessel disk create", p.returncode == 0, p.stderr.decode()):
            continue
        clean_check(r, group + " (empty)", img)
        expected = bytearray(24 * MiB)
        d = Driver(img)
        random_workload(d, expected, random.Random(name), 300)
        got = d.read(0, len(expected))
        d.close()
        r.check(group, "reads back what it wrote", got == bytes(expected))
        clean_check(r, group, img)
        compare_raw(r, group, img, bytes(expected), tmp)
        # reopen and keep going: freed clusters are reused, nothing leaks
        d = Driver(img)
        random_workload(d, expected, random.Random(name + "2"), 200)
        d.close()
        clean_check(r, group + " (second session)", img)
        compare_raw(r, group + " (second session)", img, bytes(expected), tmp)
        p = run([VESSEL, "disk", "check", img])
        r.check(group, "vessel disk check: clean", p.returncode == 0, p.stdout.decode())

    # discard frees clusters: a full write, a full discard, the space is reused
    group = "vessel-writes discard"
    img = os.path.join(tmp, "discard.qcow2")
    run([VESSEL, "disk", "create", img, "8M"], check=True)
    d = Driver(img)
    d.cmd("w 0 %d 1" % (8 * MiB))
    d.close()
    end1 = json.loads(run(["qemu-img", "check", "--output=json", img]).stdout).get("image-end-offset")
    d = Driver(img)
    d.cmd("d 0 %d" % (8 * MiB))
    d.close()
    info = json.loads(run(["qemu-img", "check", "--output=json", img]).stdout)
    r.check(group, "all data clusters freed after discard (qemu-img check)",
            info.get("allocated-clusters", 0) == 0 and info.get("leaks", 0) == 0 and
            info.get("check-errors", 1) == 0, info)
    d = Driver(img)
    d.cmd("w 0 %d 2" % (8 * MiB))
    d.close()
    info = json.loads(run(["qemu-img", "check", "--output=json", img]).stdout)
    r.check(group, "rewriting reuses the freed clusters (file does not grow)",
            info.get("image-end-offset") == end1 and info.get("leaks", 0) == 0, "%s vs %s" % (info, end1))


def test_overlay(r, tmp):
    group = "overlay"
    d = os.path.join(tmp, "ov")
    os.makedirs(d)
    base = os.path.join(d, "base.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", base, "16M"], check=True)
    qemu_io(base, "write -P 0x42 0 16M")
    with open(base, "rb") as f:
        base_sum = sha(f.read())
    over = os.path.join(d, "over.qcow2")
    p = subprocess.run([VESSEL, "disk", "create", "over.qcow2", "--backing", "base.qcow2"], cwd=d,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    r.check(group, "vessel disk create --backing base.qcow2 (size from the backing)", p.returncode == 0,
            p.stderr.decode())
    p = run(["qemu-img", "info", "--backing-chain", "--output=json", over])
    try:
        chain = json.loads(p.stdout.decode())
        ok = (p.returncode == 0 and len(chain) == 2 and chain[0]["backing-filename"] == "base.qcow2" and
              chain[0].get("backing-filename-format") == "qcow2" and chain[0]["virtual-size"] == 16 * MiB and
              chain[1]["filename"].endswith("base.qcow2"))
    except (ValueError, KeyError, IndexError) as e:
        ok, chain = False, "%s %s" % (e, p.stderr.decode())
    r.check(group, "qemu-img info --backing-chain accepts the overlay", ok, chain)
    expected = bytearray(b"\x42" * (16 * MiB))
    drv = Driver(over)
    for i, (off, ln) in enumerate([(512, 512), (65536 - 4096, 8192), (5 * MiB + 1024, 70000 // 512 * 512),
                                   (15 * MiB, MiB)]):
        drv.cmd("w %d %d %d" % (off, ln, i + 1))
        expected[off:off + ln] = pattern(off, ln, i + 1)
    drv.cmd("d %d %d" % (2 * MiB, MiB))  # full clusters: zero flag over the backing
    expected[2 * MiB:3 * MiB] = bytes(MiB)
    drv.cmd("z %d %d" % (3 * MiB + 512, 4096))  # partial: real zeroes, copy-on-write
    expected[3 * MiB + 512:3 * MiB + 512 + 4096] = bytes(4096)
    got = drv.read(0, 16 * MiB)
    drv.close()
    r.check(group, "overlay reads base data with the writes on top", got == bytes(expected))
    with open(base, "rb") as f:
        r.check(group, "base image unchanged (sha256)", sha(f.read()) == base_sum)
    clean_check(r, group, over)
    compare_raw(r, group, over, bytes(expected), tmp)
    clean_check(r, group + " base", base)


# --- crash consistency --------------------------------------------------------------------

def test_crash(r, tmp, rounds):
    group = "crash"
    size = 16 * MiB
    img = os.path.join(tmp, "crash.qcow2")
    run([VESSEL, "disk", "create", img, "%dB" % size], check=True)
    log_path = os.path.join(tmp, "crash-flush.log")
    log = open(log_path, "a")
    rnd = random.Random(1234)
    durable = bytearray(size)
    all_ok = True
    for rnd_i in range(rounds):
        d = Driver(img)
        since = {}  # sector -> list of possible sector contents written after the last flush
        sent = []   # commands sent whose answers were not read yet: (kind, off, len, tag)
        pending_ops = []  # ops since the last acknowledged flush
        kill_after = rnd.randrange(20, 400)
        for i in range(kill_after):
            ln = rnd.choice([512, 4096, 65536, 131072])
            off = rnd.randrange(0, (size - ln) // 512) * 512
            tag = rnd_i * 100000 + i + 1
            if rnd.random() < 0.08:
                d.send("d %d %d" % (off, ln))
                op = ("d", off, ln, 0)
            else:
                d.send("w %d %d %d" % (off, ln, tag))
                op = ("w", off, ln, tag)
            sent.append(op)
            pending_ops.append(op)
            if i % 16 == 15:
                d.send("f")
                sent.append(("f", 0, 0, 0))
            # read the answers that are there, in order
            while len(sent) > 4:
                a = d.answer()
                k = sent.pop(0)
                if a != "ok":
                    all_ok = False
                    r.check(group, "round %d: %s acknowledged" % (rnd_i, k[0]), False, a)
                if k[0] == "f":
                    # everything before this flush is durable
                    idx = len(pending_ops) - len([s for s in sent if s[0] != "f"])
                    for (kind, o, l_, t) in pending_ops[:idx]:
                        durable[o:o + l_] = pattern(o, l_, t) if kind == "w" else bytes(l_)
                    pending_ops = pending_ops[idx:]
                    log.write("round %d flush acked after op %d\n" % (rnd_i, i))
                    log.flush()
                    os.fsync(log.fileno())
        time.sleep(rnd.random() * 0.01)
        d.kill()
        for (kind, o, l_, t) in pending_ops:
            for s in range(o // 512, (o + l_) // 512):
                since.setdefault(s, []).append(pattern(s * 512, 512, t) if kind == "w" else bytes(512))
        rc, js = qemu_check(img)
        ok = rc in (0, 3) and js.get("corruptions", 0) == 0
        all_ok &= r.check(group, "round %d (killed after %d commands): qemu-img check finds no corruption"
                          " (%d leaks)" % (rnd_i, kill_after, js.get("leaks", 0)), ok, js)
        p = run([VESSEL, "disk", "check", "--repair", img])
        rc2, js2 = qemu_check(img)
        all_ok &= r.check(group, "round %d: vessel disk check --repair, then qemu-img check is clean" % rnd_i,
                          p.returncode == 0 and rc2 == 0 and js2.get("leaks", 0) == 0, "%s %s" % (p.stdout.decode(), js2))
        got = qemu_raw(img, tmp)
        bad = []
        for s in range(size // 512):
            cur = got[s * 512:(s + 1) * 512]
            if cur == durable[s * 512:(s + 1) * 512]:
                continue
            if s in since and cur in since[s]:
                continue
            bad.append(s)
        all_ok &= r.check(group, "round %d: every write acknowledged before the last flush reads back" % rnd_i,
                          not bad, "%d bad sectors, first %s" % (len(bad), bad[:5]))
        durable = bytearray(got)
    log.close()
    return all_ok


# --- hostile images -----------------------------------------------------------------------

def patch(path, off, data):
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(data)


def expect_refused(r, group, what, path, needle):
    p = run([VESSEL, "disk", "info", path])
    err = p.stderr.decode()
    ok = p.returncode == 1 and needle in err
    r.check(group, "%s: refused with a clear error" % what, ok, "rc=%d %r" % (p.returncode, err))


def test_bad_images(r, tmp):
    group = "bad-images"
    d = os.path.join(tmp, "bad")
    os.makedirs(d)

    def fresh(name, size="16M"):
        path = os.path.join(d, name)
        run([VESSEL, "disk", "create", path, size], check=True)
        return path

    p = fresh("trunc.qcow2")
    with open(p, "r+b") as f:
        f.truncate(50)
    expect_refused(r, group, "truncated to 50 bytes", p, "too short")
    p = fresh("trunc2.qcow2")
    with open(p, "r+b") as f:
        f.truncate(65536 + 100)
    expect_refused(r, group, "truncated after the header", p, "past end of file")
    p = fresh("l1-past-end.qcow2")
    patch(p, 40, struct.pack(">Q", 1 << 40))
    expect_refused(r, group, "L1 table past the end", p, "L1 table at 0x10000000000")
    p = fresh("l1-header.qcow2")
    patch(p, 40, struct.pack(">Q", 0))
    expect_refused(r, group, "L1 table overlapping the header", p, "overlaps the header")
    p = fresh("rt-past-end.qcow2")
    patch(p, 48, struct.pack(">Q", 1 << 50))
    expect_refused(r, group, "refcount table past the end", p, "refcount table at")
    p = fresh("rt-header.qcow2")
    patch(p, 48, struct.pack(">Q", 0))
    expect_refused(r, group, "refcount table overlapping the header", p, "overlaps the header")
    p = fresh("rt-huge.qcow2")
    patch(p, 56, struct.pack(">I", 0xffffffff))
    expect_refused(r, group, "refcount table of 2^32 clusters", p, "refcount table of")
    p = fresh("size.qcow2")
    patch(p, 24, struct.pack(">Q", 1 << 63))
    expect_refused(r, group, "absurd virtual size 2^63", p, "virtual size")
    p = fresh("size2.qcow2")
    patch(p, 24, struct.pack(">Q", 1 << 40))
    expect_refused(r, group, "virtual size larger than the L1 maps", p, "cannot map")
    p = fresh("cbits.qcow2")
    patch(p, 20, struct.pack(">I", 40))
    expect_refused(r, group, "cluster size 2^40", p, "cluster size")
    p = fresh("incompat.qcow2")
    patch(p, 72, struct.pack(">Q", 1 << 10))
    expect_refused(r, group, "unknown incompatible feature bit 10", p, "unknown incompatible feature bits 0x400")
    p = fresh("version.qcow2")
    patch(p, 4, struct.pack(">I", 4))
    expect_refused(r, group, "version 4", p, "version 4")

    # backing problems
    a = os.path.join(d, "loop-a.qcow2")
    b = os.path.join(d, "loop-b.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", b, "1M"], check=True)
    run([VESSEL, "disk", "create", a, "--backing", "loop-b.qcow2"], check=True)
    os.unlink(b)
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "loop-a.qcow2", "-F", "qcow2", b, "1M"], check=True)
    expect_refused(r, group, "backing-file loop a -> b -> a", a, "backing file loop")
    s = os.path.join(d, "self.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", s, "1M"], check=True)
    os.unlink(s)
    tmpb = os.path.join(d, "self-tmp.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", tmpb, "1M"], check=True)
    run([VESSEL, "disk", "create", s, "--backing", "self-tmp.qcow2"], check=True)
    # point it at itself: same length name, patched in place
    with open(s, "rb") as f:
        hdr = f.read(65536)
    boff, blen = struct.unpack(">QI", hdr[8:20])
    patch(s, boff, b"self.qcow2".ljust(blen, b"\0")[:blen])
    patch(s, 16, struct.pack(">I", len("self.qcow2")))
    expect_refused(r, group, "image that is its own backing file", s, "backing file loop")
    m = os.path.join(d, "missing.qcow2")
    gone = os.path.join(d, "gone.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", gone, "1M"], check=True)
    run([VESSEL, "disk", "create", m, "--backing", "gone.qcow2"], check=True)
    os.unlink(gone)
    expect_refused(r, group, "missing backing file", m, "gone.qcow2: No such file")

    # L2 tables and data clusters pointing where they must not: reads fail, nothing crashes
    p = fresh("l2bad.qcow2")
    drv = Driver(p)
    drv.cmd("w 0 65536 1")
    drv.close()
    with open(p, "rb") as f:
        f.seek(3 * 65536)
        l1e = struct.unpack(">Q", f.read(8))[0]
    l2off = l1e & 0x00fffffffffffe00
    for what, off, val, needle in [
            ("L1 entry pointing past the end", 3 * 65536, struct.pack(">Q", (1 << 63) | (1 << 45)), "L2 table at"),
            ("L1 entry pointing at the header", 3 * 65536, struct.pack(">Q", (1 << 63) | 0), None),
            ("L1 entry pointing at the refcount table", 3 * 65536, struct.pack(">Q", (1 << 63) | 65536), "overlaps"),
            ("L2 entry pointing past the end", l2off, struct.pack(">Q", (1 << 63) | (1 << 44)), "points at"),
            ("L2 entry pointing at the L1 table", l2off, struct.pack(">Q", (1 << 63) | (3 * 65536)), "inside metadata"),
            ("compressed L2 entry past the end", l2off, struct.pack(">Q", (1 << 62) | (1 << 40)), "compressed"),
    ]:
        q = os.path.join(d, "l2case.qcow2")
        shutil.copy(p, q)
        patch(q, off, val)
        proc = subprocess.run([VESSEL, "disk", "io", q], input=b"r 0 65536\nw 0 4096 5\nq\n",
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out = proc.stdout.decode(errors="replace")
        err = proc.stderr.decode(errors="replace")
        if needle is None:  # an L1 entry of 0 means "unallocated": reads zeroes, writes allocate
            ok = proc.returncode == 0
        else:
            ok = proc.returncode == 0 and "err " in out and needle in err
        r.check(group, "%s: I/O error with a message, no crash" % what, ok,
                "rc=%d out=%r err=%r" % (proc.returncode, out[:200], err[:300]))
        cp = run([VESSEL, "disk", "check", q])
        # the zeroed L1 entry orphans its L2 table and data cluster: leaks (3), not errors
        r.check(group, "%s: vessel disk check reports it" % what,
                cp.returncode == (3 if needle is None else 2), cp.stdout.decode()[-400:])

    # a refcount of 0 on a used cluster is a corruption, not a leak
    q = os.path.join(d, "rc0.qcow2")
    shutil.copy(p, q)
    with open(q, "rb") as f:
        f.seek(2 * 65536)
        blk = f.read(65536)
    data_cluster = max(i for i in range(len(blk) // 2) if blk[2 * i:2 * i + 2] != b"\0\0")
    patch(q, 2 * 65536 + 2 * data_cluster, b"\0\0")
    cp = run([VESSEL, "disk", "check", q])
    qrc, _ = qemu_check(q)
    r.check(group, "refcount 0 on a used cluster: vessel and qemu-img both report corruption",
            cp.returncode == 2 and "ERROR cluster %d refcount=0 reference=1" % data_cluster in cp.stdout.decode()
            and qrc == 2, cp.stdout.decode()[-400:])


def main():
    ap = argparse.ArgumentParser(description="qcow2 integration tests against qemu-img")
    ap.add_argument("-k", default="", help="run only groups whose name contains this")
    ap.add_argument("--rounds", type=int, default=10, help="crash rounds")
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
    tmp = tempfile.mkdtemp(prefix="vessel-qcow2-")
    groups = [("qemu-made", lambda: test_qemu_made(r, tmp)),
              ("vessel-writes", lambda: test_vessel_writes(r, tmp)),
              ("overlay", lambda: test_overlay(r, tmp)),
              ("crash", lambda: test_crash(r, tmp, args.rounds)),
              ("bad-images", lambda: test_bad_images(r, tmp))]
    try:
        for name, fn in groups:
            if args.k in name:
                try:
                    fn()
                except Exception as e:  # a broken group is a failure, the others still run
                    r.check(name, "group ran to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
