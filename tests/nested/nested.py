#!/usr/bin/env python3
"""Nested x86-64 harness: runs a command inside an L1 Linux that QEMU's TCG emulates with AMD SVM,
so that Vessel's kvm engine gets a hardware-style /dev/kvm on a host that has none (or only PVM).

    tests/nested/nested.py build                      # build (or reuse) the L1 image, print its files
    tests/nested/nested.py run [--timeout S] [--bench] [--out DIR] -- CMD ARG...

How it works (docs/nested.md has the full story):
  L1 kernel   $VESSEL_CACHE/x86_64/bzImage (Debian's cloud kernel, the same one L2 runs)
  L1 initrd   scripts/mkinitramfs.py: static busybox, kvm + kvm-amd (+ irqbypass), overlay,
              virtio_blk, and tests/nested/l1-init.sh as /etc/vessel-init.local
  payload     an ext4 image (mke2fs -d, no root needed) holding, at their host paths, the files
              the command needs: python3 and its standard library, build/vessel with its
              shared libraries (ldd, plus the ones it dlopen()s), the repository's tests/,
              bench/ and scripts/, the x86_64 guest artifacts; with --bench also
              qemu-system-x86_64, its libraries and firmware
  exchange    a raw disk carrying a tar: the job in (job.sh, the command), the results out
              (rc, files the job left in $NESTED_OUT)

L1 mounts the payload read-only with a tmpfs overlay on top, chroots into it (so every path is
the host's path: the same scripts run unchanged), runs the command with its output on the
second serial port (QEMU's stdout, read here line by line), writes the results tar and powers
off. The kernel console (ttyS0) goes to OUT/l1-console.log. Every wait is bounded: the run is
killed (QEMU's whole process group) when --timeout passes.

Images are cached under build/nested/ and rebuilt only when an input changes (a manifest of
every input file's path, size and mtime, plus this harness's own sources).
"""

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORK = os.path.join(ROOT, "build", "nested")
EXIT_RE = re.compile(r"@@NESTED-EXIT (-?\d+)@@")
XCHG_SIZE = 256 << 20
L1_MODULES = ["kvm_amd", "overlay", "virtio_blk"]
PY_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data",
           "site-packages", "dist-packages", "distutils", "unittest", "venv"}
DLOPENED = ["libslirp.so.0", "libmicrohttpd.so.12", "libm.so.6"]  # src/base/dynlib.c users
QEMU_DATA = ["/usr/share/qemu", "/usr/share/seabios"]


class NestedError(Exception):
    pass


def cache_dir():
    return os.environ.get("VESSEL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "vessel")


def vessel_bin():
    return os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")


def qemu_bin():
    return shutil.which("qemu-system-x86_64")


def host_has_hw_virt():
    """True when /proc/cpuinfo shows vmx or svm and /dev/kvm is usable: tests then run directly."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = set()
            for line in f:
                if line.startswith("flags"):
                    flags.update(line.split(":", 1)[1].split())
    except OSError:
        return False
    return bool(flags & {"vmx", "svm"}) and os.access("/dev/kvm", os.R_OK | os.W_OK)


# ---- the payload's file set ----------------------------------------------------------------


class FileSet:
    """Host paths to copy, keeping the host's symlink structure (Debian's merged /usr: /lib is a
    link to usr/lib, and so on), so that ELF interpreters and library paths resolve in L1."""

    def __init__(self):
        self.files = {}  # path -> "file" | ("link", target) | "dir"

    def add(self, path, must=True):
        path = os.path.normpath(os.path.abspath(path))
        if path in self.files:
            return
        if not os.path.lexists(path):
            if must:
                raise NestedError("%s: no such file (needed in the L1 image)" % path)
            return
        # every directory component that is a symlink is recreated as one
        parent = os.path.dirname(path)
        real_parent = self._add_parents(parent)
        here = os.path.join(real_parent, os.path.basename(path))
        if here != path:
            self.add(here, must)
            return
        if os.path.islink(path):
            target = os.readlink(path)
            self.files[path] = ("link", target)
            self.add(os.path.join(parent, target), must)
        elif os.path.isdir(path):
            self.files[path] = "dir"
        else:
            if not os.path.isfile(path):
                return
            self.files[path] = "file"

    def _add_parents(self, d):
        """Adds the symlinks along directory d; returns d with those links resolved."""
        out = "/"
        for part in [p for p in d.split("/") if p]:
            cur = os.path.join(out, part)
            if os.path.islink(cur):
                target = os.readlink(cur)
                self.files.setdefault(cur, ("link", target))
                out = os.path.normpath(os.path.join(out, target))
                out = self._add_parents(out)
            else:
                out = cur
        return out

    def add_tree(self, top, skip=lambda rel: False):
        for dirpath, dirs, files in os.walk(top):
            rel = os.path.relpath(dirpath, top)
            dirs[:] = [d for d in sorted(dirs) if not skip(os.path.normpath(os.path.join(rel, d)))]
            self.add(dirpath)
            for f in sorted(files):
                if not skip(os.path.normpath(os.path.join(rel, f))):
                    self.add(os.path.join(dirpath, f))

    def add_elf(self, path):
        """The file and every shared library ldd says it needs (ldd's answers are cached by the
        file's path, size and mtime: a check of an up-to-date image spawns no ldd)."""
        self.add(path)
        st = os.stat(path)
        key = "%s %d %d" % (os.path.realpath(path), st.st_size, st.st_mtime_ns)
        out = LDD_CACHE.get(key)
        if out is None:
            try:
                out = subprocess.run(["ldd", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     timeout=60).stdout.decode(errors="replace")
            except (OSError, subprocess.TimeoutExpired) as e:
                raise NestedError("ldd %s: %s" % (path, e))
            LDD_CACHE[key] = out
        for line in out.splitlines():
            line = line.strip()
            m = re.match(r"\S+ => (/\S+) \(", line) or re.match(r"(/\S+) \(", line)
            if m:
                self.add(m.group(1))
            elif "not found" in line:
                raise NestedError("ldd %s: %s" % (path, line))

    def manifest(self):
        """One line per entry (path, kind, size, mtime): a change of any input changes it."""
        lines = []
        for p in sorted(self.files):
            kind = self.files[p]
            if kind == "file":
                st = os.stat(p)
                lines.append("f %s %d %d" % (p, st.st_size, st.st_mtime_ns))
            elif kind == "dir":
                lines.append("d %s" % p)
            else:
                lines.append("l %s %s" % (p, kind[1]))
        return "\n".join(lines) + "\n"

    def size(self):
        return sum(os.stat(p).st_size for p, k in self.files.items() if k == "file")


LDD_CACHE = {}
LDD_CACHE_FILE = os.path.join(WORK, "ldd-cache.json")


def ldd_cache_load():
    try:
        with open(LDD_CACHE_FILE) as f:
            LDD_CACHE.update(json.load(f))
    except (OSError, ValueError):
        pass


def ldd_cache_save():
    os.makedirs(WORK, exist_ok=True)
    with open(LDD_CACHE_FILE + ".tmp", "w") as f:
        json.dump(LDD_CACHE, f)
    os.replace(LDD_CACHE_FILE + ".tmp", LDD_CACHE_FILE)


def soname_path(soname):
    out = subprocess.run(["ldconfig", "-p"], stdout=subprocess.PIPE, timeout=60).stdout.decode()
    for line in out.splitlines():
        parts = line.strip().split()
        if parts and parts[0] == soname and "x86-64" in line:
            return parts[-1]
    return None


def x86_artifacts():
    art = os.path.join(cache_dir(), "x86_64")
    need = ["bzImage", "initramfs.cpio.gz", "kernel-version", "busybox"]
    for f in need:
        if not os.path.isfile(os.path.join(art, f)):
            raise NestedError("%s missing (run scripts/fetch-guest.sh --x86)" % os.path.join(art, f))
    if not os.path.isdir(os.path.join(art, "modules")):
        raise NestedError("%s/modules missing (run scripts/fetch-guest.sh --x86)" % art)
    return art


def payload_files(bench):
    fs = FileSet()
    # a shell and python3 with its standard library (and the compiled modules it ships)
    fs.add_elf("/usr/bin/dash")
    fs.add("/bin/sh")
    fs.add_elf(os.path.realpath("/bin/bash"))  # tests/guest/x86/run.sh
    fs.add("/bin/bash")
    py = os.path.realpath("/usr/bin/python3")
    fs.add("/usr/bin/python3")
    fs.add_elf(py)
    pyver = os.path.basename(py)[len("python"):]  # /usr/bin/python3 -> python3.11
    pylib = "/usr/lib/python" + pyver

    def py_skip(rel):
        top = rel.split("/")[0]
        return (top in PY_SKIP or top.startswith("config-") or rel.endswith(".opt-1.pyc")
                or rel.endswith(".opt-2.pyc") or rel.endswith(".exe"))

    fs.add_tree(pylib, py_skip)
    dyn = os.path.join(pylib, "lib-dynload")
    for f in sorted(os.listdir(dyn)):
        if f.endswith(".so"):
            fs.add_elf(os.path.join(dyn, f))
    if os.path.isdir("/etc/python" + pyver):
        fs.add_tree("/etc/python" + pyver)
    # Vessel and what it loads at run time
    vb = vessel_bin()
    if not os.access(vb, os.X_OK):
        raise NestedError("%s missing or not executable (run make)" % vb)
    fs.add_elf(vb)
    for so in DLOPENED:
        p = soname_path(so)
        if p:
            fs.add_elf(p)
    qimg = shutil.which("qemu-img")  # an independent qcow2 checker, when installed
    if qimg:
        fs.add_elf(qimg)
    # the repository's test and benchmark scripts, the guest artifacts
    for d in ("tests/integration", "tests/nested", "tests/guest", "bench", "scripts"):
        fs.add_tree(os.path.join(ROOT, d), lambda rel: "__pycache__" in rel)
    # the x86 test guests (built on the host: L1 has no compiler) and the kvm engine's test
    guests = os.path.join(ROOT, "build", "guest", "x86")
    if os.path.isdir(guests):
        fs.add_tree(guests, lambda rel: rel.startswith("logs") or rel.endswith((".o", ".raw", ".log")))
    engine_test = os.path.join(os.path.dirname(vb), "kvm-engine-test")
    if os.access(engine_test, os.X_OK):
        fs.add_elf(engine_test)
    bench_bin = os.path.join(ROOT, "build", "bench", "kvm_exit")
    if bench and os.path.isdir(bench_bin):
        fs.add_tree(bench_bin)
    art = x86_artifacts()
    for f in ("bzImage", "initramfs.cpio.gz", "kernel-version", "busybox"):
        fs.add(os.path.join(art, f))
    fs.add_tree(os.path.join(art, "modules"))  # for L2 initramfs variants (mkinitramfs.py)
    fs.add("/etc/passwd")
    fs.add("/etc/group")
    if bench:
        q = qemu_bin()
        if not q:
            raise NestedError("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
        fs.add_elf(q)
        for d in QEMU_DATA:
            if os.path.isdir(d):
                fs.add_tree(d)
    return fs


# ---- image building ------------------------------------------------------------------------


def _sha(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()


def _file_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _harness_sum():
    return _sha(*(_file_sha(os.path.join(HERE, f)) for f in ("nested.py", "l1-init.sh")),
                _file_sha(os.path.join(ROOT, "scripts", "mkinitramfs.py")))


def build_initrd(log):
    """The L1 initramfs: busybox, kvm-amd and friends, l1-init.sh. Cached by its inputs."""
    art = x86_artifacts()
    key = _sha(_harness_sum(), _file_sha(os.path.join(art, "kernel-version")),
               _file_sha(os.path.join(art, "busybox")), " ".join(L1_MODULES))
    out = os.path.join(WORK, "l1-initramfs.cpio.gz")
    stamp = out + ".key"
    if os.path.isfile(out) and os.path.isfile(stamp) and open(stamp).read() == key:
        return out, False
    os.makedirs(WORK, exist_ok=True)
    extra = os.path.join(WORK, "l1-extra")
    shutil.rmtree(extra, ignore_errors=True)
    os.makedirs(os.path.join(extra, "etc"))
    shutil.copy(os.path.join(HERE, "l1-init.sh"), os.path.join(extra, "etc", "vessel-init.local"))
    os.chmod(os.path.join(extra, "etc", "vessel-init.local"), 0o755)
    argv = [sys.executable, os.path.join(ROOT, "scripts", "mkinitramfs.py"), "--arch", "x86_64",
            "--busybox", os.path.join(art, "busybox"), "--modules-dir", os.path.join(art, "modules"),
            "--no-default-modules", "--extra-dir", extra, "--output", out]
    for m in L1_MODULES:
        argv += ["--module", m]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    if p.returncode != 0:
        raise NestedError("mkinitramfs.py failed: %s" % p.stdout.decode(errors="replace"))
    log("nested: built %s" % out)
    with open(stamp, "w") as f:
        f.write(key)
    return out, True


def build_payload(bench, log):
    """The ext4 payload image for the profile (base or bench). Cached by its manifest."""
    ldd_cache_load()
    n = len(LDD_CACHE)
    fs = payload_files(bench)
    if len(LDD_CACHE) != n:
        ldd_cache_save()
    name = "payload-bench" if bench else "payload"
    img = os.path.join(WORK, name + ".ext4")
    stamp = img + ".key"
    key = _sha(_harness_sum(), fs.manifest())
    if os.path.isfile(img) and os.path.isfile(stamp) and open(stamp).read() == key:
        return img, False
    t0 = time.monotonic()
    stage = os.path.join(WORK, name + ".stage")
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(stage)
    for p in sorted(fs.files):
        kind = fs.files[p]
        dst = stage + p
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if kind == "dir":
            os.makedirs(dst, exist_ok=True)
        elif kind == "file":
            shutil.copy2(p, dst)
        else:
            if not os.path.lexists(dst):
                os.symlink(kind[1], dst)
    for d in ("proc", "sys", "dev", "tmp", "run", "root", "var/tmp", "opt/nested/bin"):
        os.makedirs(os.path.join(stage, d), exist_ok=True)
    size = fs.size()
    mib = (size * 5 // 4 >> 20) + 64
    tmp = img + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    p = subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "vessel-nested", "-m", "0",
                        "-E", "root_owner=0:0", "-d", stage, tmp, "%dM" % mib],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    if p.returncode != 0:
        raise NestedError("mke2fs -d %s failed: %s" % (stage, p.stdout.decode(errors="replace")))
    os.replace(tmp, img)
    shutil.rmtree(stage, ignore_errors=True)
    with open(stamp, "w") as f:
        f.write(key)
    log("nested: built %s (%d files, %.0f MiB of inputs) in %.1fs"
        % (img, len(fs.files), size / 2**20, time.monotonic() - t0))
    return img, True


def build(bench=False, log=print):
    """Builds what is missing or stale; returns {"kernel", "initrd", "payload", "seconds", "built"}."""
    t0 = time.monotonic()
    initrd, b1 = build_initrd(log)
    payload, b2 = build_payload(bench, log)
    return {"kernel": os.path.join(x86_artifacts(), "bzImage"), "initrd": initrd, "payload": payload,
            "seconds": time.monotonic() - t0, "built": b1 or b2}


# ---- running a job in L1 -------------------------------------------------------------------


def _write_xchg(path, script, env):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in (("job.sh", script), ("job.env", "".join(
                "export %s=%s\n" % (k, _shquote(v)) for k, v in sorted(env.items())))):
            b = data.encode()
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(b), 0o755, 0
            t.addfile(ti, io.BytesIO(b))
    with open(path, "wb") as f:
        f.write(buf.getvalue())
        f.truncate(XCHG_SIZE)


def _shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


class Result:
    def __init__(self):
        self.rc = None          # the command's exit status inside L1 (None: never finished)
        self.output = ""        # what it printed (stdout and stderr)
        self.out_dir = None     # files it left in $NESTED_OUT, plus l1-console.log
        self.boot_seconds = None  # QEMU start to the job starting in L1
        self.seconds = None     # QEMU start to QEMU exit
        self.error = None       # why the harness itself failed, else None


def run(argv, timeout=900, bench=False, out_dir=None, env=None, on_line=None, mem="3G", log=print):
    """Runs argv (a list) inside L1 from the repository's root; returns a Result. Lines the command
    prints go to on_line as they arrive. Never leaves QEMU running."""
    res = Result()
    img = build(bench, log)
    q = qemu_bin()
    if not q:
        raise NestedError("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
    out_dir = out_dir or os.path.join(WORK, "out")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    res.out_dir = out_dir
    xchg = os.path.join(out_dir, "xchg.img")
    # the command, then the console logs tests saved (guest.py: build/test-logs) back to the host
    # kvm_pin.py first: it keeps KVM's APIC static keys from being live-patched while L2 guests
    # run (TCG then sometimes crashed L1 with "Oops: int3"); it says it is ready before the job.
    script = ("cd %s || exit 97\n"
              "python3 tests/nested/kvm_pin.py >\"$NESTED_OUT/kvm-pin.log\" 2>&1 &\n"
              "for i in $(seq 200); do grep -q ready \"$NESTED_OUT/kvm-pin.log\" 2>/dev/null && break; "
              "sleep 0.05; done\n"
              "grep -q ready \"$NESTED_OUT/kvm-pin.log\" || { echo \"nested: kvm_pin.py: $(cat "
              "\"$NESTED_OUT/kvm-pin.log\")\"; exit 96; }\n"
              "%s\nrc=$?\n[ -d build/test-logs ] && cp -r build/test-logs \"$NESTED_OUT/\"\n"
              "exit $rc\n" % (_shquote(ROOT), " ".join(_shquote(a) for a in argv)))
    jenv = {"VESSEL_CACHE": cache_dir(), "NESTED_L1": "1"}
    for k in ("VESSEL_TIMEOUT_SCALE", "VESSEL_APPEND"):
        if os.environ.get(k):
            jenv[k] = os.environ[k]
    jenv.update(env or {})
    if os.environ.get("VESSEL_BIN"):
        jenv["VESSEL_BIN"] = os.path.abspath(os.environ["VESSEL_BIN"])
    _write_xchg(xchg, script, jenv)
    console = os.path.join(out_dir, "l1-console.log")
    cmd = [q, "-M", "q35", "-cpu", "max", "-accel", "tcg", "-smp", "2", "-m", mem,
           "-nodefaults", "-display", "none", "-no-reboot",
           "-kernel", img["kernel"], "-initrd", img["initrd"],
           "-append", "console=ttyS0 panic=-1 quiet loglevel=4 vessel_nested=1",
           "-serial", "file:" + console, "-serial", "stdio",
           "-drive", "if=none,id=pay,format=raw,readonly=on,file=" + img["payload"],
           "-device", "virtio-blk-pci,drive=pay,serial=nested-payload",
           "-drive", "if=none,id=xch,format=raw,file=" + xchg,
           "-device", "virtio-blk-pci,drive=xch,serial=nested-xchg"]
    t0 = time.monotonic()
    errlog = open(os.path.join(out_dir, "qemu-stderr.log"), "wb")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errlog,
                            start_new_session=True)
    lines = []
    done = threading.Event()

    def reader():
        buf = b""
        while True:
            chunk = proc.stdout.read1(65536) if hasattr(proc.stdout, "read1") else proc.stdout.read(1)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace").rstrip("\r")
                if line == "@@NESTED-START@@":
                    res.boot_seconds = time.monotonic() - t0
                    continue
                m = EXIT_RE.search(line)
                if m:
                    res.rc = int(m.group(1))
                    continue
                lines.append(line)
                if on_line:
                    on_line(line)
        if buf:
            lines.append(buf.decode(errors="replace"))
        done.set()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}

    def stop(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    for s in old:
        signal.signal(s, stop)
    try:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            res.error = "L1 did not finish within %ds (killed)" % timeout
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        for s, h in old.items():
            signal.signal(s, h)
        errlog.close()
    done.wait(10)
    res.seconds = time.monotonic() - t0
    res.output = "\n".join(lines)
    # the results tar L1 wrote over the exchange disk
    try:
        with tarfile.open(xchg, mode="r:") as t:
            members = [m for m in t.getmembers() if not os.path.isabs(m.name) and ".." not in m.name.split("/")
                       and (m.isfile() or m.isdir())]
            t.extractall(os.path.join(out_dir, "files"), members=members)
    except (tarfile.TarError, OSError) as e:
        if res.error is None and res.rc is None:
            res.error = "no results on the exchange disk: %s" % e
    logs = os.path.join(out_dir, "files", "test-logs")
    if os.path.isdir(logs):  # the same paths as L1 printed them
        dest = os.path.join(ROOT, "build", "test-logs")
        os.makedirs(dest, exist_ok=True)
        for f in os.listdir(logs):
            shutil.copy(os.path.join(logs, f), dest)
    rcf = os.path.join(out_dir, "files", "rc")
    if res.rc is None and os.path.isfile(rcf):
        try:
            res.rc = int(open(rcf).read().strip())
        except ValueError:
            pass
    os.unlink(xchg)
    if res.rc is None and res.error is None:
        try:
            with open(os.path.join(out_dir, "qemu-stderr.log"), "rb") as f:
                qerr = f.read()[-400:].decode(errors="replace").strip()
        except OSError:
            qerr = ""
        res.error = "L1 ended (QEMU status %s) without the job's exit status; see %s%s%s" % (
            proc.returncode, console, l1_panic(console), "; QEMU said: " + qerr if qerr else "")
    return res


def l1_panic(console):
    """'; L1's kernel crashed: <its first Oops or BUG line>' when the L1 console shows one."""
    try:
        with open(console, "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    m = re.search(r"(Oops:[^\n]*|BUG:[^\n]*|Kernel panic[^\n]*)", text)
    return "; L1's kernel crashed: %s" % m.group(1).strip() if m else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build (or reuse) the L1 image")
    b.add_argument("--bench", action="store_true", help="include qemu-system-x86_64")
    r = sub.add_parser("run", help="run a command inside L1")
    r.add_argument("--timeout", type=float, default=900)
    r.add_argument("--bench", action="store_true", help="include qemu-system-x86_64")
    r.add_argument("--out", help="results directory (default build/nested/out)")
    r.add_argument("--mem", default="3G", help="L1 RAM (default 3G)")
    r.add_argument("argv", nargs="+")
    a = ap.parse_args()
    try:
        if a.cmd == "build":
            info = build(a.bench)
            print(json.dumps(info, indent=1))
            return 0
        res = run(a.argv, timeout=a.timeout, bench=a.bench, out_dir=a.out, mem=a.mem,
                  on_line=lambda line: print(line, flush=True))
    except NestedError as e:
        print("nested: %s" % e, file=sys.stderr)
        return 2
    print("nested: L1 up in %s, whole run %.1fs, results in %s" % (
        "%.1fs" % res.boot_seconds if res.boot_seconds is not None else "?", res.seconds, res.out_dir),
        file=sys.stderr)
    if res.error:
        print("nested: %s" % res.error, file=sys.stderr)
        return 2
    return res.rc


if __name__ == "__main__":
    sys.exit(main())
