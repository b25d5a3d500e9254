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
# what udev would add: bash's process substitution needs /dev/fd
ln -sf /proc/self/fd "$r/dev/fd"
ln -sf /proc/self/fd/0 "$r/dev/stdin"
ln -sf /proc/self/fd/1 "$r/dev/stdout"
ln -sf /proc/self/fd/2 "$r/dev/stderr"
mount -t tmpfs tmpfs "$r/dev/shm"
# /tmp is a tmpfs of its own, as on many hosts (the tests' disks and daemons' state live there)
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp" || fail "cannot mount a tmpfs on /tmp"
cp /bin/busybox "$r/opt/nested/bin/busybox" && chroot "$r" /opt/nested/bin/busybox --install -s /opt/nested/bin
tar -xf "$xch" -C "$r/nested" || fail "cannot read the job from $xch"
[ -e /dev/kvm ] || fail "no /dev/kvm in L1 (kvm_amd did not load: $(dmesg | grep -i -m3 -e kvm -e svm | tr '\n' ' '))"
# what udev's default rule does (systemd: GROUP="kvm", MODE="0666"): devtmpfs makes it 0600
# root, and a jailed VM process (vessel serve's default, its own uid) could not open it
chmod 0666 /dev/kvm || fail "cannot chmod /dev/kvm"

# One KVM VM (in-kernel IRQ chip, one vCPU that never runs) kept for the whole job: L1's kernel
# then never flips the static keys KVM takes per VM (the preempt notifiers in __schedule, the
# LAPIC's), whose live patching of hot code races with the other vCPU under QEMU's
# multi-threaded TCG and crashed L1 ("Oops: int3" in __schedule) while tests made and ended VMs.
chroot "$r" /usr/bin/python3 -c '
import fcntl, os, signal
kvm = os.open("/dev/kvm", os.O_RDWR)
vm = fcntl.ioctl(kvm, 0xAE01, 0)  # KVM_CREATE_VM
fcntl.ioctl(vm, 0xAE60, 0)        # KVM_CREATE_IRQCHIP
fcntl.ioctl(vm, 0xAE41, 0)        # KVM_CREATE_VCPU 0
signal.pause()' </dev/null >/dev/null 2>&1 &
keeper=$!

echo "@@NESTED-START@@" >&3
chroot "$r" /bin/sh -c '
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/nested/bin
    export HOME=/root TMPDIR=/tmp NESTED_OUT=/nested/out LANG=C.UTF-8
    . /nested/job.env
    exec /bin/sh /nested/job.sh' </dev/null >&3 2>&1
rc=$?
kill "$keeper" 2>/dev/null
echo "$rc" >"$r/nested/out/rc"
dmesg >"$r/nested/out/l1-dmesg.log" 2>&1
(cd "$r/nested/out" && tar -cf "$xch" .) || echo "nested-l1: writing the results to $xch failed" >&3
finish "$rc"
