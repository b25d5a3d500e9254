"""`vessel image build debian ...`: argument parsing and the build's steps, with the cleanup that
leaves nothing half-written behind."""
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid

from . import debian, disk, stage2
from .progress import Progress
from .util import Error, Interrupted, cache_dir, kill_group, need_tool, parse_size, vessel_bin

USAGE = """usage: vessel image build debian --arch riscv64|x86_64 -o IMG [--size SIZE]
                  [--suite SUITE] [--ssh-key FILE.pub] [--packages A,B,...] [--hostname NAME]
                  [--mirror URL] [--format qcow2|raw] [--force]

Builds a bootable Debian system on a new disk image from Debian's packages:
debootstrap's first stage on this host (under fakeroot: no root needed, nothing is
mounted; the downloaded packages are kept in $VESSEL_CACHE/image/debs-SUITE-ARCH for the
next build), the file system written with mke2fs -d, and the second stage - the new
system's own dpkg configuring its packages - in a Vessel VM of the image's architecture
that boots the cached kernel (scripts/fetch-guest.sh) with the new disk and no network.

The system: systemd, DHCP on the first NIC (systemd-networkd on eth0), systemd-resolved,
an SSH server that lets root in with the --ssh-key, a getty on the serial console
(ttyS0), the distribution's kernel and initramfs in /boot and the boot loader menu
/boot/extlinux/extlinux.conf (Debian's u-boot-menu), one ext4 partition (MBR, label
vessel-root). Boot it with `vessel run --arch ARCH --disk IMG` (no --kernel).

  --arch ARCH        riscv64 (Debian's riscv64 port) or x86_64 (amd64; the build VM needs
                     the kvm engine)
  -o IMG             the image to write; it must not exist (--force replaces it)
  --size SIZE        the disk's size, K, M, G or T (default 4G, at least 1G)
  --suite SUITE      the Debian release (default trixie)
  --ssh-key FILE     a public key (e.g. ~/.ssh/id_ed25519.pub) for root's authorized_keys;
                     without one nobody can log in over SSH
  --packages A,B     more packages to install (their dependencies come along)
  --hostname NAME    the system's host name (default debian)
  --mirror URL       the Debian mirror (default $VESSEL_DEBIAN_MIRROR, else
                     http://deb.debian.org/debian); the only place the build fetches from
  --format F         qcow2 (default for a name ending in .qcow2) or raw (otherwise)
  --force            replace an existing IMG (only once the new one is complete)

The progress goes to stderr. A build that fails stops with one `vessel image:` line
saying why and leaves no image and no temporary files behind (its log stays in
$VESSEL_CACHE/image/last-build.log). VESSEL_IMAGE_VMM=qemu runs the second stage under
QEMU instead of Vessel (for comparisons, bench/image.py).

Exit status: 0 the image is complete, 1 bad usage or a failed build, 130 interrupted."""

STEPS = 5


class Build:
    """Everything one build uses; the step functions of debian, disk and stage2 read it."""

    def __init__(self):
        self.children = []   # child processes to kill when interrupted
        self.written = []    # files and directories this build wrote into the root
        self.log = None


def parse(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        sys.exit(0)
    if argv[0] != "build":
        raise Error("unknown command %r (see vessel image --help)" % argv[0])
    if len(argv) < 2 or argv[1] != "debian":
        raise Error("build: expected the distribution, `debian` (see vessel image --help)")
    opts = {"--size": "4G", "--suite": "trixie", "--hostname": "debian",
            "--mirror": os.environ.get("VESSEL_DEBIAN_MIRROR") or "http://deb.debian.org/debian"}
    flags = set()
    args = argv[2:]
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-h", "--help"):
            print(USAGE)
            sys.exit(0)
        if a == "--force":
            flags.add(a)
            i += 1
            continue
        if a.startswith("--") and "=" in a:
            a, v = a.split("=", 1)
        elif a in ("--arch", "-o", "--output", "--size", "--suite", "--ssh-key", "--packages",
                   "--hostname", "--mirror", "--format"):
            if i + 1 >= len(args):
                raise Error("%s needs a value" % a)
            v = args[i + 1]
            i += 1
        else:
            raise Error("build debian: unknown option %r (see vessel image --help)" % a)
        opts["-o" if a == "--output" else a] = v
        i += 1
    b = Build()
    b.arch = opts.get("--arch")
    if b.arch not in debian.ARCHES:
        raise Error("--arch: expected riscv64 or x86_64")
    if not opts.get("-o"):
        raise Error("-o IMG is required (the image to write)")
    b.out = os.path.abspath(opts["-o"])
    b.format = opts.get("--format") or ("qcow2" if b.out.endswith(".qcow2") else "raw")
    if b.format not in ("qcow2", "raw"):
        raise Error("--format: expected qcow2 or raw")
    b.force = "--force" in flags
    b.size = parse_size(opts["--size"])
    if b.size < disk.MIN_SIZE or b.size % 4096:
        raise Error("--size %s: at least 1G, in whole 4 KiB blocks" % opts["--size"])
    b.suite = opts["--suite"]
    if not b.suite.replace("-", "").isalnum():
        raise Error("--suite %s: not a Debian release name" % b.suite)
    b.hostname = opts["--hostname"]
    if not (0 < len(b.hostname) <= 63 and b.hostname.replace("-", "").isalnum()
            and not b.hostname.startswith("-")):
        raise Error("--hostname %s: expected letters, digits and '-' (up to 63)" % b.hostname)
    b.mirror = opts["--mirror"]
    if not b.mirror.startswith(("http://", "https://", "file:/")):
        raise Error("--mirror %s: expected an http://, https:// or file:/ URL" % b.mirror)
    b.packages = [p for p in opts.get("--packages", "").split(",") if p]
    debian.packages(b.arch, b.packages)  # checks the names
    b.ssh_key = None
    if opts.get("--ssh-key"):
        try:
            with open(opts["--ssh-key"]) as f:
                b.ssh_key = f.read()
        except OSError as e:
            raise Error("--ssh-key %s: %s" % (opts["--ssh-key"], e.strerror))
        if not b.ssh_key.strip().startswith(("ssh-", "ecdsa-", "sk-")):
            raise Error("--ssh-key %s: not an OpenSSH public key (FILE.pub)" % opts["--ssh-key"])
        if not b.ssh_key.endswith("\n"):
            b.ssh_key += "\n"
    return b


def check_host(b):
    if os.path.lexists(b.out) and not b.force:
        raise Error("%s exists (remove it, or --force to replace it)" % b.out)
    if not os.path.isdir(os.path.dirname(b.out)):
        raise Error("%s: no such directory" % os.path.dirname(b.out))
    b.debootstrap = need_tool("debootstrap", "debootstrap")
    need_tool("fakeroot", "fakeroot")
    need_tool("mke2fs", "e2fsprogs")
    if b.format == "qcow2":
        need_tool("qemu-img", "qemu-utils")
    if not os.path.isfile(debian.KEYRING):
        raise Error("%s missing (apt-get install debian-archive-keyring)" % debian.KEYRING)
    stage2.guest_dir(b.arch)
    b.vessel = vessel_bin()


def build(b, prog):
    b.deb_cache = os.path.join(cache_dir(), "image", "debs-%s-%s"
                               % (b.suite, debian.ARCHES[b.arch]["debarch"]))
    os.makedirs(b.deb_cache, exist_ok=True)
    # beside the output: the same file system, so the result is renamed into place
    b.work = tempfile.mkdtemp(prefix=".%s.build-" % os.path.basename(b.out),
                              dir=os.path.dirname(b.out))
    b.root = os.path.join(b.work, "root")
    b.raw = os.path.join(b.work, "disk.raw")
    b.fakeroot_state = os.path.join(b.work, "fakeroot.state")
    b.fs_uuid = str(uuid.uuid4())
    b.vm_cpus, b.vm_mem_mib = 2, 1024

    prog.step("downloading and unpacking %s %s packages (debootstrap)" % (b.suite, b.arch))
    debian.first_stage(b, prog)
    with open(os.path.join(b.root, "debootstrap", "debpaths")) as f:
        npackages = sum(1 for line in f if line.strip())  # what the second stage installs
    prog.step("configuring the system")
    debian.trim_package_lists(b)
    debian.configure(b)
    prog.step("writing the file system")
    disk.make_raw(b)
    shutil.rmtree(b.root)
    prog.step("installing the packages in a %s VM" % b.arch)
    stage2.run_vm(b, prog, npackages)
    prog.step("writing %s (%s)" % (os.path.basename(b.out), b.format))
    tmp = os.path.join(b.work, "out." + b.format)
    disk.convert(b, tmp)
    os.replace(tmp, b.out)


def on_signal(signum, frame):
    raise Interrupted()


def main(argv):
    try:
        b = parse(argv)
        check_host(b)
    except Error as e:
        print("vessel image: %s" % e, file=sys.stderr)
        return 1
    logdir = os.path.join(cache_dir(), "image")
    os.makedirs(logdir, exist_ok=True)
    b.log = open(os.path.join(logdir, "last-build.log"), "w", buffering=1)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    prog = Progress(STEPS)
    t0 = time.monotonic()
    status = 1
    b.work = None
    try:
        build(b, prog)
        prog.done()
        print("vessel image: %s: Debian %s %s, %s, built in %.0f s" % (
            b.out, b.suite, b.arch, b.format, time.monotonic() - t0), file=sys.stderr)
        for title, secs in prog.times:
            b.log.write("step %.1f s: %s\n" % (secs, title))
        status = 0
    except Error as e:
        prog.done()
        print("vessel image: %s\nvessel image: no image written (log: %s)" % (e, b.log.name),
              file=sys.stderr)
    except (Interrupted, KeyboardInterrupt):
        prog.done()
        print("vessel image: interrupted; no image written", file=sys.stderr)
        status = 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for p in b.children:
            kill_group(p)
        if b.work:
            shutil.rmtree(b.work, ignore_errors=True)
        b.log.close()
    return status
