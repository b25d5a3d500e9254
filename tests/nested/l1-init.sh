#!/bin/sh
# L1 side of tests/nested/nested.py (installed as /etc/vessel-init.local in the L1 initramfs; the
# initramfs /init from scripts/mkinitramfs.py has mounted proc, sys, dev and loaded kvm_amd,
# overlay and virtio_blk before running it).
#
# The payload disk (serial nested-payload, ext4, read-only) gets a tmpfs overlay and becomes the
# root of a chroot in which the job runs with the host's paths. The exchange disk (serial
# nested-xchg) holds a tar with job.sh and job.env; the job's output goes to ttyS1 (QEMU's stdout
# on the host); afterwards a tar of $NESTED_OUT (plus rc and L1's dmesg) is written over the
# exchange disk, "@@NESTED-EXIT <status>@@" goes to ttyS1, and L1 powers off.
exec 3>/dev/ttyS1
stty -F /dev/ttyS1 raw -echo 2>/dev/null

finish() {
    echo "@@NESTED-EXIT $1@@" >&3
    sync
    poweroff -f
    sleep 60
}

fail() {
    echo "nested-l1: $*" >&3
    echo "nested-l1: $*"
    finish 98
}

pay="" xch=""
for b in /sys/block/vd*; do
    case "$(cat "$b/serial" 2>/dev/null)" in
    nested-payload) pay=/dev/${b##*/} ;;
    nested-xchg) xch=/dev/${b##*/} ;;
    esac
done
[ -n "$pay" ] && [ -n "$xch" ] || fail "payload or exchange disk missing ($(ls /sys/block | tr '\n' ' '))"

r=/l1/root
mkdir -p /l1/lower /l1/rw "$r"
mount -t ext4 -o ro,noload "$pay" /l1/lower || fail "cannot mount the payload $pay"
mount -t tmpfs -o mode=0755 tmpfs /l1/rw || fail "cannot mount a tmpfs on /l1/rw"
mkdir -p /l1/rw/upper /l1/rw/work
mount -t overlay overlay -o lowerdir=/l1/lower,upperdir=/l1/rw/upper,workdir=/l1/rw/work "$r" ||
    fail "cannot mount the overlay"
mount -t proc proc "$r/proc" && mount -t sysfs sysfs "$r/sys" &&
    mount -t devtmpfs devtmpfs "$r/dev" || fail "cannot mount proc, sys, dev in the chroot"
mkdir -p "$r/dev/pts" "$r/dev/shm" "$r/tmp" "$r/run" "$r/opt/nested/bin" "$r/nested/out"
mount -t devpts devpts "$r/dev/pts"
mount -t tmpfs tmpfs "$r/dev/shm"
chmod 1777 "$r/tmp"
cp /bin/busybox "$r/opt/nested/bin/busybox" && chroot "$r" /opt/nested/bin/busybox --install -s /opt/nested/bin
tar -xf "$xch" -C "$r/nested" || fail "cannot read the job from $xch"
[ -e /dev/kvm ] || fail "no /dev/kvm in L1 (kvm_amd did not load: $(dmesg | grep -i -m3 -e kvm -e svm | tr '\n' ' '))"

echo "@@NESTED-START@@" >&3
chroot "$r" /bin/sh -c '
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/nested/bin
    export HOME=/root TMPDIR=/tmp NESTED_OUT=/nested/out LANG=C.UTF-8
    . /nested/job.env
    exec /bin/sh /nested/job.sh' </dev/null >&3 2>&1
rc=$?
echo "$rc" >"$r/nested/out/rc"
dmesg >"$r/nested/out/l1-dmesg.log" 2>&1
(cd "$r/nested/out" && tar -cf "$xch" .) || echo "nested-l1: writing the results to $xch failed" >&3
finish "$rc"
