"""The disk: one MBR partition from 1 MiB to the end holding an ext4 file system that
`mke2fs -d` fills from a directory tree (no root, no loop device, nothing mounted), and the
conversion of the raw file into the output format."""
import os
import struct

from .util import Error, run

PART_START = 1 << 20  # the partition starts at 1 MiB (LBA 2048)
SECTOR = 512
MIN_SIZE = 1 << 30


def write_mbr(path, size):
    """A DOS partition table with one bootable Linux partition (type 0x83) over the disk.
    CHS fields say "use LBA" (0xfe 0xff 0xff), as partitioners write for large disks."""
    start = PART_START // SECTOR
    count = size // SECTOR - start
    if count >= 1 << 32:
        raise Error("--size: at most 2 TiB with an MBR partition table")
    chs = b"\xfe\xff\xff"
    entry = struct.pack("<B3sB3sII", 0x80, chs, 0x83, chs, start, count)
    mbr = bytearray(SECTOR)
    mbr[440:444] = os.urandom(4)  # disk signature
    mbr[446:462] = entry
    mbr[510:512] = b"\x55\xaa"
    with open(path, "r+b") as f:
        f.write(mbr)


def make_raw(b):
    """b.raw: size bytes, the MBR, and the ext4 file system made from b.root. Runs in b's
    fakeroot session, so the files are root's (and device nodes are device nodes) as debootstrap
    left them; the files this build wrote are made root's first."""
    fs_blocks = (b.size - PART_START) // 4096
    with open(b.raw, "wb") as f:
        f.truncate(b.size)
    write_mbr(b.raw, b.size)
    script = ('set -e; [ $# -eq 0 ] || chown 0:0 "$@"; '
              'exec mke2fs -q -F -t ext4 -b 4096 -L vessel-root -U %s -d %s '
              '-E offset=%d,lazy_itable_init=1,lazy_journal_init=1 %s %d'
              % (b.fs_uuid, b.root, PART_START, b.raw, fs_blocks))
    run(["fakeroot", "-i", b.fakeroot_state, "-s", b.fakeroot_state, "--", "sh", "-c", script,
         "sh"] + b.written, "writing the file system (mke2fs -d)", log=b.log)
    if os.path.getsize(b.raw) != b.size:
        raise Error("mke2fs wrote past the end of %s" % b.raw)


def convert(b, dest):
    """The finished raw file into dest in b.format (raw: a rename)."""
    if b.format == "raw":
        os.rename(b.raw, dest)
        return
    # qemu-img (qemu-utils), the reference qcow2 writer, makes the image; what Vessel's VMs write
    # is their overlays, which the tests check with qemu-img check
    run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", b.raw, dest],
        "converting the disk to qcow2 (qemu-img convert)", log=b.log)
