"""The Debian recipe: which packages, debootstrap's first stage on the host (under fakeroot: no
root needed, nothing mounted), the files that make the system a VM that boots from its disk, and
the script that finishes it inside the build VM (stage2.py runs it).

The image: one MBR partition (ext4, label vessel-root) holding a merged-/usr Debian system with
systemd, systemd-networkd doing DHCP on eth0 (net.ifnames=0 keeps the kernel's names), systemd-
resolved, OpenSSH taking the given key for root, a getty on the serial console, the distribution
kernel and its initramfs in /boot, and /boot/extlinux/extlinux.conf written by Debian's
u-boot-menu, which U-Boot (riscv64) and Vessel read to boot it."""
import os
import re
import subprocess

from .util import Error, Interrupted, kill_group

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
BASE_PACKAGES = ["systemd-sysv", "systemd-resolved", "udev", "dbus", "openssh-server",
                 "initramfs-tools", "zstd", "u-boot-menu", "iproute2", "iputils-ping", "procps"]
# The kernel command line every boot gets (u-boot-menu's U_BOOT_PARAMETERS).
KERNEL_PARAMS = "ro console=ttyS0 net.ifnames=0"

ARCHES = {
    "riscv64": {"debarch": "riscv64", "kernel_pkg": "linux-image-riscv64"},
    "x86_64": {"debarch": "amd64", "kernel_pkg": "linux-image-cloud-amd64"},
}

# The initramfs's modules (MODULES=list; built into some kernels, which is fine).
INITRAMFS_MODULES = ["virtio_mmio", "virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "ext4",
                     "crc32c_generic"]

PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def packages(arch, extra):
    for p in extra:
        if not PACKAGE_RE.match(p):
            raise Error("--packages: %r is not a Debian package name" % p)
    return BASE_PACKAGES + [ARCHES[arch]["kernel_pkg"]] + list(extra)


def first_stage(b, prog):
    """debootstrap --foreign into b.root under fakeroot (its ownership database in
    b.fakeroot_state): downloads (kept in the cache for the next build) and unpacks."""
    argv = ["fakeroot", "-s", b.fakeroot_state, "--", b.debootstrap, "--foreign",
            "--arch=" + ARCHES[b.arch]["debarch"], "--variant=minbase", "--merged-usr",
            "--components=main", "--keyring=" + KEYRING, "--cache-dir=" + b.deb_cache,
            "--include=" + ",".join(packages(b.arch, b.packages)), b.suite, b.root, b.mirror]
    b.log.write("$ %s\n" % " ".join(argv))
    b.log.flush()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True, env=dict(os.environ, LC_ALL="C"))
    b.children.append(p)
    got = set()  # packages downloaded or found in the cache (each is validated)
    unpacked = 0
    last = []
    try:
        for line in p.stdout:
            b.log.write(line)
            last = (last + [line.rstrip()])[-8:]
            m = re.match(r"I: (Retrieving|Validating|Extracting) (\S+)", line)
            if not m or m.group(2) in ("InRelease", "Release", "Packages"):
                continue
            if m.group(1) != "Extracting":
                got.add(m.group(2))
                prog.update(None, "%s: %d packages" % (
                    "downloading" if m.group(1) == "Retrieving" else "checking", len(got)))
            else:
                unpacked += 1
                prog.update(unpacked / max(len(got), unpacked),
                            "unpacking %s" % m.group(2).rstrip("."))
        p.wait()
    except Interrupted:
        kill_group(p)
        raise
    b.log.flush()
    if p.returncode != 0:
        why = [ln for ln in last if ln.startswith("E: ")] or last[-3:]
        raise Error("debootstrap (first stage, %s %s from %s) failed: %s"
                    % (b.suite, ARCHES[b.arch]["debarch"], b.mirror, " / ".join(why)))


def trim_package_lists(b):
    """Leaves only the stanzas of the packages being installed in the root's copy of the
    archive's Packages file. debootstrap's second stage scans that file with perl several
    times (the available database, the pre-dependencies); the whole of Debian's main (some 70
    MB) takes the emulated CPU of the build VM most of an hour, the installed packages' part
    seconds. What is installed is the same: the first stage resolved every dependency."""
    with open(os.path.join(b.root, "debootstrap", "debpaths")) as f:
        names = {line.split()[0] for line in f if line.strip()}
    lists = os.path.join(b.root, "var", "lib", "apt", "lists")
    for fn in os.listdir(lists):
        if not fn.endswith("_Packages"):
            continue
        path = os.path.join(lists, fn)
        keep = []
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for stanza in f.read().split("\n\n"):
                m = re.match(r"Package: (\S+)", stanza)
                if m and m.group(1) in names:
                    keep.append(stanza.strip("\n"))
        if len({re.match(r"Package: (\S+)", k).group(1) for k in keep}) != len(names):
            raise Error("%s lacks some of the packages debootstrap chose" % fn)
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n\n".join(keep) + "\n")


def _write(b, rel, text, mode=0o644):
    path = os.path.join(b.root, rel.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    b.written.append(path)


def configure(b):
    """The files that make a booting, reachable VM out of the unpacked system (before its
    packages are configured, so that their scripts see them)."""
    h = b.hostname
    _write(b, "/etc/hostname", h + "\n")
    _write(b, "/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost "
           "ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n" % h)
    _write(b, "/etc/fstab", "# <file system> <mount point> <type> <options> <dump> <pass>\n"
           "UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n" % b.fs_uuid)
    _write(b, "/etc/systemd/network/20-vessel-eth0.network",
           "# vessel image: DHCP on the first NIC\n[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n")
    # A VM's initramfs: the virtio and ext4 modules it needs to find its root, not most of them
    # (neither file is a package's conffile: written before the packages are installed).
    _write(b, "/etc/initramfs-tools/conf.d/vessel", "MODULES=list\nCOMPRESS=zstd\n")
    _write(b, "/etc/initramfs-tools/hooks/vessel-modules", INITRAMFS_HOOK, 0o755)
    # Only while the build VM installs: dpkg need not fsync every file, and never asks about
    # a configuration file (removed at the end).
    _write(b, "/etc/dpkg/dpkg.cfg.d/vessel-build", "force-unsafe-io\nforce-confdef\n"
           "force-confold\n")
    _write(b, "/etc/apt/sources.list", "deb %s %s main\n" % (b.mirror, b.suite))
    if b.ssh_key:
        os.makedirs(os.path.join(b.root, "root/.ssh"), mode=0o700, exist_ok=True)
        b.written.append(os.path.join(b.root, "root/.ssh"))
        _write(b, "/root/.ssh/authorized_keys", b.ssh_key, 0o600)
    _write(b, "/vessel-setup.sh", SETUP_SCRIPT, 0o755)


INITRAMFS_HOOK = r"""#!/bin/sh
# vessel image build: the modules a VM needs to find its root (with MODULES=list)
case "$1" in prereqs) exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
for m in %s; do
    # the ones this kernel has, as a module or built in
    modinfo -k "${version:?}" "$m" >/dev/null 2>&1 && force_load "$m"
done
exit 0
""" % " ".join(INITRAMFS_MODULES)

# Runs in the finished system (chroot) inside the build VM, after debootstrap's second stage.
# u-boot-menu's extlinux.conf (a conffile, so written now): the root by UUID (from fstab), the
# serial console, no device tree of its own (the machine's, which U-Boot passes on), a
# one-second menu.
SETUP_SCRIPT = r"""#!/bin/sh
# vessel image build: the last steps, in the new system (removed when done)
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "VESSEL-IMAGE: $*"; }
cat >/etc/default/u-boot <<EOF
## /etc/default/u-boot - configuration file for u-boot-update(8), by vessel image build
U_BOOT_PARAMETERS="@PARAMS@"
U_BOOT_TIMEOUT="10"
U_BOOT_ALTERNATIVES="default"
U_BOOT_FDT_DIR="/nonexistent/"
EOF
say step enabling services
systemctl enable systemd-networkd.service systemd-resolved.service ssh.service \
    serial-getty@ttyS0.service
say step writing extlinux.conf
u-boot-update
kernel=$(ls /boot/vmlinu[xz]-* 2>/dev/null | head -n1)
[ -n "$kernel" ] || { say "error: no kernel in /boot"; exit 1; }
initrd=/boot/initrd.img-${kernel#/boot/vmlinu?-}
[ -s "$initrd" ] || update-initramfs -c -k "${kernel#/boot/vmlinu?-}"
[ -s "$initrd" ] || { say "error: no $initrd"; exit 1; }
grep -q "^[[:space:]]*linux /boot/" /boot/extlinux/extlinux.conf ||
    { say "error: no kernel entry in /boot/extlinux/extlinux.conf"; exit 1; }
[ -s /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A
say step cleaning up
apt-get clean
# the package lists were cut down for the build: `apt update` fetches whole ones
find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete
rm -f /etc/dpkg/dpkg.cfg.d/vessel-build
# a new machine ID on the first boot of every copy
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
rm -f /vessel-setup.sh
say "kernel $kernel"
""".replace("@PARAMS@", KERNEL_PARAMS)

# The build VM's /etc/vessel-init.local (scripts/mkinitramfs.py's /init runs it once its modules
# are loaded): finish the system on /dev/vda1 and power off. The host reads the console.
STAGE2_INIT = r"""#!/bin/sh
say() { echo "VESSEL-IMAGE: $*"; }
finish() {
    cd /
    sync
    for m in /target/dev/pts /target/dev /target/sys /target/proc /target/run; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
    mount -o remount,ro /target 2>/dev/null || { sync; umount -l /target; }
    sync
    echo "VESSEL-IMAGE-RESULT $*"
    poweroff -f
}
dmesg -n 1
say step mounting the new system
mkdir -p /target
mount -t ext4 /dev/vda1 /target || finish fail cannot mount /dev/vda1
mount -t proc proc /target/proc && mount -t sysfs sysfs /target/sys &&
    mount -o bind /dev /target/dev && mount -t devpts devpts /target/dev/pts &&
    mount -t tmpfs tmpfs /target/run || finish fail cannot mount proc, sys, dev or run
say step installing packages
export LC_ALL=C DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
chroot /target /debootstrap/debootstrap --second-stage ||
    { tail -n 25 /target/debootstrap/debootstrap.log 2>/dev/null; finish fail debootstrap --second-stage; }
chroot /target /bin/sh /vessel-setup.sh || finish fail the image set-up script
finish ok
"""
