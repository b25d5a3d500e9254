"""debootstrap's second stage in a VM of the image's architecture: the cached kernel of that
architecture boots a small initramfs (scripts/mkinitramfs.py: busybox, virtio and ext4 modules,
debian.STAGE2_INIT) with the half-built disk as its only device - no NIC, so nothing is fetched
from anywhere - and the new system's own dpkg configures its packages there. The VM is Vessel
(`vessel run`), or QEMU with VESSEL_IMAGE_VMM=qemu (the peer for bench/image.py)."""
import os
import re
import subprocess
import threading
import time

from . import debian
from .util import Error, Interrupted, cache_dir, kill_group, run, scripts_file

# Per architecture: the cached kernel and busybox, the initramfs's modules, the VMs' commands.
GUESTS = {
    "riscv64": {
        "kernel": "Image",
        "initramfs_args": ["--module", "ext4", "--module", "crc32c_generic"],
        "vessel": ["--arch", "riscv64"],
        "qemu": ["qemu-system-riscv64", "-M", "virt", "-bios", "{cache}/fw_dynamic.bin"],
        "qemu_disk": "virtio-blk-device",
    },
    "x86_64": {
        "kernel": "bzImage",
        "initramfs_args": ["--arch", "x86_64", "--no-default-modules", "--module", "virtio_blk",
                           "--module", "ext4"],
        "vessel": ["--arch", "x86_64"],
        "qemu": ["qemu-system-x86_64", "-M", "q35", "-accel", "kvm:tcg", "-cpu", "max"],
        "qemu_disk": "virtio-blk-pci",
    },
}
CMDLINE = "console=ttyS0 panic=-1 quiet"
QUIET_LIMIT_S = 1800  # no console output for this long: the build VM is stuck


def guest_dir(arch):
    d = os.path.join(cache_dir(), arch)
    g = GUESTS[arch]
    for f in (g["kernel"], "busybox", "kernel-version"):
        if not os.path.isfile(os.path.join(d, f)):
            raise Error("%s/%s missing: the build VM boots the cached %s kernel (run "
                        "scripts/fetch-guest.sh%s)" % (d, f, arch, " --x86" if arch == "x86_64" else ""))
    return d


def make_initramfs(b):
    d = guest_dir(b.arch)
    extra = os.path.join(b.work, "initramfs-extra")
    os.makedirs(os.path.join(extra, "etc"), exist_ok=True)
    init = os.path.join(extra, "etc", "vessel-init.local")
    with open(init, "w") as f:
        f.write(debian.STAGE2_INIT)
    os.chmod(init, 0o755)
    out = os.path.join(b.work, "build-initramfs.cpio.gz")
    run(["python3", scripts_file("mkinitramfs.py"), "--busybox", os.path.join(d, "busybox"),
         "--modules-dir", os.path.join(d, "modules"), "--extra-dir", extra, "--output", out]
        + GUESTS[b.arch]["initramfs_args"], "building the build VM's initramfs", log=b.log)
    return os.path.join(d, GUESTS[b.arch]["kernel"]), out


def vm_argv(b, kernel, initrd):
    g = GUESTS[b.arch]
    if os.environ.get("VESSEL_IMAGE_VMM", "vessel") == "qemu":
        cache = os.path.join(cache_dir(), b.arch)
        return ([a.format(cache=cache) for a in g["qemu"]] +
                ["-m", str(b.vm_mem_mib), "-smp", str(b.vm_cpus), "-nodefaults", "-no-reboot",
                 "-display", "none", "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
                 "-append", CMDLINE, "-drive", "file=%s,format=raw,if=none,id=d0" % b.raw,
                 "-device", "%s,drive=d0" % g["qemu_disk"]])
    return ([b.vessel, "run"] + g["vessel"] +
            ["--kernel", kernel, "--initrd", initrd, "--append", CMDLINE, "--mem",
             "%dM" % b.vm_mem_mib, "--cpus", str(b.vm_cpus), "--rng",
             "--disk", b.raw + ",format=raw"])


def run_vm(b, prog, npackages):
    """Boots the build VM and follows its console: debootstrap's "I: Unpacking/Configuring P"
    lines give the progress. Error unless it ends with VESSEL-IMAGE-RESULT ok and exit 0."""
    kernel, initrd = make_initramfs(b)
    argv = vm_argv(b, kernel, initrd)
    b.log.write("$ %s\n" % " ".join(argv))
    b.log.flush()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    b.children.append(p)
    t0 = time.monotonic()
    state = {"last": time.monotonic(), "result": None, "tail": [], "done": 0, "detail": ""}

    def reader():
        for raw in p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            b.log.write("[%7.1f] %s\n" % (time.monotonic() - t0, line))
            state["last"] = time.monotonic()
            state["tail"] = (state["tail"] + [line])[-30:]
            m = re.search(r"I: (Unpacking|Configuring) (\S+?)\.\.\.", line)
            if m:
                state["done"] += 1
                state["detail"] = "%s %s" % (m.group(1).lower(), m.group(2))
            m = re.search(r"VESSEL-IMAGE: step (.*)", line)
            if m:
                state["detail"] = m.group(1).strip()
            m = re.search(r"VESSEL-IMAGE-RESULT (.*)", line)
            if m:
                state["result"] = m.group(1).strip()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        while p.poll() is None:
            time.sleep(0.5)
            prog.update(state["done"] / (2.0 * npackages) if npackages else None,
                        state["detail"])
            if time.monotonic() - state["last"] > QUIET_LIMIT_S:
                kill_group(p)
                raise Error("the build VM printed nothing for %d minutes: stopped"
                            % (QUIET_LIMIT_S // 60))
    except Interrupted:
        kill_group(p)
        raise
    t.join(10)
    b.log.flush()
    if state["result"] == "ok" and p.returncode == 0:
        return
    tail = "\n    ".join(state["tail"][-12:])
    if state["result"]:
        raise Error("the build VM failed: %s; its console's end:\n    %s"
                    % (state["result"][5:] or state["result"], tail))
    raise Error("the build VM (%s) exited with status %s before finishing; its console's end:"
                "\n    %s" % (os.path.basename(argv[0]), p.returncode, tail))
