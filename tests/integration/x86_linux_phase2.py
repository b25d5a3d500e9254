"""Checks of x86-64 Linux features that issue 14's phase 2 builds, for test_x86_linux.py.

They run only with VESSEL_X86_PHASE2=1 in the environment (so the suite stays green while the
features do not exist) and then report each missing feature as a FAIL:

  check_msix          every virtio-pci function of a running guest uses MSI-X: one vector for
                      config changes plus at least one per queue (today: INTx only)
  check_reboot        `reboot -f` restarts the guest inside the same VMM process: the initramfs
                      comes up again, the disk reads the same, then poweroff gives status 0
  check_power_button  `vessel vm shutdown` on a daemon's VM presses the ACPI power button: the
                      guest (an initramfs whose init watches the "Power Button" input device,
                      as acpid would) sees the event and powers off; the VM ends `stopped`
  check_no_hw_virt    (outside L1, on a host without vmx/svm) `vessel run --arch x86_64` of the
                      stock kernel stops with a one-line explanation that names the nested
                      harness (tests/nested), not "KVM internal error, suberror 1"
"""

import glob
import json
import os
import subprocess
import sys
import tempfile
import time

from guest import GuestError, wait_socket

WATCH = r"""#!/bin/sh
# Power-button watcher (what acpid or systemd-logind would do): a key event on the ACPI
# "Power Button" input device powers the guest off.
ev=""
for i in /sys/class/input/event*; do
    grep -q "Power Button" "$i/device/name" 2>/dev/null && ev=/dev/input/${i##*/}
done
echo "VESSEL-POWER-WATCH ${ev:-none}"
if [ -n "$ev" ]; then
    (dd if="$ev" bs=24 count=1 >/dev/null 2>&1 && echo VESSEL-POWER-BUTTON >/dev/console && poweroff -f) &
fi
"""
X86_MODULES = ["virtio_pci", "virtio_blk", "virtio_net", "virtio_rng", "virtio_balloon", "virtio_console"]


def enabled():
    return os.environ.get("VESSEL_X86_PHASE2") == "1"


def _t():
    return sys.modules.get("test_x86_linux") or sys.modules["__main__"]  # the main test's helpers


def check_msix(c, a):
    t = _t()
    out = t.sh(a, "for d in /sys/bus/pci/devices/*; do [ $(cat $d/vendor) = 0x1af4 ] || continue; "
               "echo ${d##*/} $(cat $d/device) $(ls $d/msi_irqs 2>/dev/null | wc -l); done")
    funcs = [line.split() for line in out.splitlines() if len(line.split()) == 3]
    irq = t.sh(a, "grep virtio /proc/interrupts | tr -s ' ' | head -40")
    ok = bool(funcs) and all(int(n) >= 2 for _b, _d, n in funcs) and "MSI" in irq and "-config" in irq
    c.check("phase 2: MSI-X on every virtio-pci function (config + per-queue vectors)", ok,
            "functions (bdf device vectors): %r; /proc/interrupts: %r" % (funcs, irq[:600]))


def check_reboot(c, g):
    """Reboot in place; returns True when g still runs (so its poweroff can be checked)."""
    t = _t()
    g.sendline("reboot -f")
    try:
        rel, n = g.expect_ready(t.BOOT_TIMEOUT)
        want = t.sha(open(c.raw, "rb").read())
        got = t.sh(g, "sha256sum /dev/vda").split()[0]
        c.check("phase 2: reboot -f restarts the guest in the same VMM (disk reads the same)",
                got == want, "after the reboot: %s, %d CPUs, sha256 %s want %s" % (rel, n, got, want))
        return True
    except GuestError as e:
        st = g.wait_exit(30) if g.proc.poll() is not None else "still running"
        if st == "still running":
            g.kill()
        c.check("phase 2: reboot -f restarts the guest in the same VMM", False,
                "%s; VMM exit status %s; last output %r" % (e, st, g.log()[-300:]))
        return False


def _initramfs(tmp):
    t = _t()
    extra = os.path.join(tmp, "pb-extra")
    os.makedirs(os.path.join(extra, "etc"), exist_ok=True)
    with open(os.path.join(extra, "etc", "vessel-init.local"), "w") as f:
        f.write(WATCH)
    os.chmod(os.path.join(extra, "etc", "vessel-init.local"), 0o755)
    out = os.path.join(tmp, "pb-initramfs.cpio.gz")
    argv = [sys.executable, os.path.join(t.ROOT, "scripts", "mkinitramfs.py"), "--arch", "x86_64",
            "--busybox", os.path.join(t.ART, "busybox"), "--modules-dir", os.path.join(t.ART, "modules"),
            "--no-default-modules", "--extra-dir", extra, "--output", out]
    for m in X86_MODULES + ["button", "evdev"]:
        argv += ["--module", m]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=300)
    return out


def _wait_log(state, pattern, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for p in glob.glob(os.path.join(state, "**", "*.log"), recursive=True):
            if p.endswith(".vmm.log"):
                continue
            with open(p, "rb") as f:
                data = f.read()
            if pattern in data:
                return data
        time.sleep(0.5)
    return None


def check_power_button(c):
    t = _t()
    what = "phase 2: vessel vm shutdown presses the ACPI power button; the guest powers off cleanly"
    tmp = tempfile.mkdtemp(prefix="pb-", dir=c.tmp)
    sock, state = os.path.join(tmp, "d.sock"), os.path.join(tmp, "state")
    vm = [t.VESSEL, "vm", "--socket", sock]
    daemon = None
    try:
        initrd = _initramfs(tmp)
        daemon = subprocess.Popen([t.VESSEL, "serve", "--socket", sock, "--state-dir", state],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_socket(sock, 30)
        p = subprocess.run(vm + ["create", "pb", "--arch", "x86_64", "--kernel", t.KERNEL, "--initrd", initrd,
                                 "--append", "console=ttyS0 panic=-1", "--mem", "256M", "--cpus", "1", "--start"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            c.check(what, False, "vm create: %r" % p.stdout.decode()[-300:])
            return
        log = _wait_log(state, b"VESSEL-POWER-WATCH", t.BOOT_TIMEOUT)
        if log is None or b"VESSEL-POWER-WATCH none" in log:
            c.check(what, False, "the guest found no Power Button input device: %r" % (log or b"")[-400:])
            return
        p = subprocess.run(vm + ["shutdown", "pb"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
        log = _wait_log(state, b"reboot: Power down", 60)
        show = subprocess.run(vm + ["--json", "show", "pb"], stdout=subprocess.PIPE, timeout=30).stdout
        try:
            st = json.loads(show).get("state")
        except ValueError:
            st = show[:200]
        ok = p.returncode == 0 and log is not None and b"VESSEL-POWER-BUTTON" in log and st == "stopped"
        tail = b""
        for f in glob.glob(os.path.join(state, "**", "*.log"), recursive=True):
            with open(f, "rb") as fh:
                tail += b"[%s] " % os.path.basename(f).encode() + fh.read()[-300:]
        c.check(what, ok, "shutdown %d %r; state %r; power button seen by the guest: %s; logs %r" % (
            p.returncode, p.stdout.decode()[-200:], st, bool(log and b"VESSEL-POWER-BUTTON" in log), tail))
    except (OSError, subprocess.SubprocessError, GuestError) as e:
        c.check(what, False, "%s: %s" % (type(e).__name__, e))
    finally:
        if daemon:
            subprocess.run(vm + ["stop", "pb"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            subprocess.run(vm + ["delete", "pb"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            daemon.terminate()
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()


def check_no_hw_virt(r):
    """On this host (no vmx/svm): the stock kernel straight on the host's kvm engine."""
    t = _t()
    what = "phase 2: without vmx/svm, vessel run --arch x86_64 explains itself in one line with the nested hint"
    try:
        p = subprocess.run(t.run_argv(1, "256M"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), "timeout (180s)"
    mine = [line for line in out.splitlines() if line.startswith(("vessel:", "kvm:"))]
    ok = rc not in (0, "timeout (180s)") and len(mine) == 1 and "tests/nested" in mine[0] and \
        "internal error" not in out
    r.check(what, ok, "status %s, VMM lines %r" % (rc, mine[-5:]))
