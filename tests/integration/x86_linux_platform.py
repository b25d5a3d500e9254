"""The x86-64 machine's platform checks for test_x86_linux.py: interrupts, power and the host.

  initramfs           the test's initramfs: the cached one's modules plus button and evdev, so
                      that the ACPI power button reaches busybox acpid (scripts/mkinitramfs.py's
                      /init starts it; /etc/acpi/PWRF/00000080 powers the guest off)
  check_msix          every virtio-pci function of a running guest uses MSI-X: the config vector
                      and one vector per queue, as PCI-MSI lines of /proc/interrupts
  check_intx          a guest booted with pci=nomsi uses INTx (IO-APIC lines) for its virtio
                      functions: the fallback when the driver does not enable MSI-X
  check_reboot        `reboot -f` restarts the guest inside the same VMM process: the initramfs
                      comes up again, the disk reads the same, MSI-X is set up again
  check_shutdown_socket  {"shutdown": null} on the control socket presses the power button: the
                      guest's acpid powers it off, the VMM exits 0
  check_power_button  `vessel vm shutdown` on a daemon's VM (the API's shutdown, the control
                      socket's {"shutdown"}): the guest powers off cleanly, the VM ends `stopped`
  check_no_hw_virt    (on a host without vmx/svm) `vessel run --arch x86_64` of the stock kernel
                      stops with a one-line explanation naming the nested harness (tests/nested)
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from guest import GuestError, api, wait_socket

MODULES = ["virtio_pci", "virtio_blk", "virtio_net", "virtio_rng", "virtio_balloon", "virtio_console",
           "button", "evdev"]
PRESSED = b"vessel-init: power button pressed, powering off"


def _t():
    return sys.modules.get("test_x86_linux") or sys.modules["__main__"]  # the main test's helpers


def initramfs(tmp):
    """The test initramfs with the power button's modules; its path."""
    t = _t()
    out = os.path.join(tmp, "initramfs-x86.cpio.gz")
    argv = [sys.executable, os.path.join(t.ROOT, "scripts", "mkinitramfs.py"), "--arch", "x86_64",
            "--busybox", os.path.join(t.ART, "busybox"), "--modules-dir", os.path.join(t.ART, "modules"),
            "--no-default-modules", "--output", out]
    for m in MODULES:
        argv += ["--module", m]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=300)
    return out


def interrupts(g):
    """{virtio function name: [(irq, kind, action)]} from the guest's /proc/interrupts."""
    t = _t()
    out = t.sh(g, "cat /proc/interrupts")
    funcs = {}
    for line in out.splitlines():
        # " 25:  0  12  PCI-MSIX-0000:00:01.0  0-edge  virtio0-config", " 17: 0 306  IO-APIC
        # 17-fasteoi  virtio0, virtio4": the chip, its hardware IRQ and type, the actions
        m = re.match(r"\s*(\d+):\s+(?:\d+\s+)+(\S+)\s+(\S+)\s+(.*)$", line)
        if not m or "virtio" not in m.group(4):
            continue
        kind = m.group(2) + " " + m.group(3)
        for action in m.group(4).split(","):
            action = action.strip()
            funcs.setdefault(action.split("-")[0], []).append((int(m.group(1)), kind, action))
    return funcs, out


def check_msix(c, a, label="A"):
    t = _t()
    funcs, raw = interrupts(a)
    pci = t.sh(a, "for d in /sys/bus/pci/devices/*; do [ $(cat $d/vendor) = 0x1af4 ] || continue; "
               "echo $(ls $d/msi_irqs 2>/dev/null | wc -l); done").split()
    bad = []
    for name, lines in sorted(funcs.items()):
        kinds = {k.split()[0] for _i, k, _a in lines}
        acts = [a_ for _i, _k, a_ in lines]
        if not all(k.startswith("PCI-MSI") for k in kinds) or not any(x.endswith("-config") for x in acts) \
                or len(acts) < 2:
            bad.append((name, sorted(kinds), acts))
    per_queue = sum(len(v) - 1 for v in funcs.values())
    c.check("%s: MSI-X on every virtio-pci function (%d functions, %d queue vectors + 1 config vector each)"
            % (label, len(funcs), per_queue),
            len(funcs) == len(pci) and pci and not bad and all(int(n) >= 2 for n in pci),
            "msi_irqs per function %r; not MSI-X with config + queue vectors: %r; /proc/interrupts: %r"
            % (pci, bad, raw[-1500:]))
    return funcs


def check_intx(c, b, label="B"):
    funcs, raw = interrupts(b)
    kinds = {k.split()[0] for v in funcs.values() for _i, k, _a in v}
    c.check("%s (pci=nomsi): the virtio functions fall back to INTx (IO-APIC lines, no PCI-MSI)" % label,
            funcs and kinds == {"IO-APIC"}, "kinds %r; /proc/interrupts: %r" % (sorted(kinds), raw[-800:]))


def check_reboot(c, g, raw):
    """Reboot in place; returns True when g still runs (so its power-off can be checked)."""
    t = _t()
    g.sendline("reboot -f")
    try:
        rel, n = g.expect_ready(t.BOOT_TIMEOUT)
        want = t.sha(open(raw, "rb").read())
        got = t.sh(g, "sha256sum /dev/vda").split()[0]
        c.check("reboot -f restarts the guest in the same VMM (%s, %d vCPUs; the disk reads the same)"
                % (rel, n), got == want, "sha256 %s want %s" % (got, want))
        check_msix(c, g, "after the reboot")
        return True
    except GuestError as e:
        st = g.wait_exit(30) if g.proc.poll() is not None else "still running"
        if st == "still running":
            g.kill()
        c.check("reboot -f restarts the guest in the same VMM", False,
                "%s; VMM exit status %s; last output %r" % (e, st, g.log()[-300:]))
        return False


def check_shutdown_socket(c, g, sock, label):
    """{"shutdown": null} on the control socket: the guest's acpid powers it off; exit 0."""
    rep = api(sock, {"shutdown": None})
    try:
        g.expect(re.escape(PRESSED.decode()), 60)
        seen = True
    except GuestError:
        seen = False
    st = g.wait_exit(90)
    c.check("%s: {\"shutdown\"} presses the ACPI power button: the guest's acpid powers it off, VMM exit 0"
            % label, rep.get("ok") is True and seen and st == 0,
            "answer %r, button seen by the guest %s, status %r, last output %r" % (rep, seen, st, g.log()[-300:]))


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


# Inside the nested harness's L1 the tests run in a chroot, where unshare(CLONE_NEWUSER) is
# refused (EPERM: the root is not the mount namespace's), so the daemon's jail gets no idmapped
# mounts and its VM (another uid) cannot create its control socket: daemons there run their VMs
# with --no-jail. (Jailed x86 VMs are not tested here yet; --seccomp is, on VM A.)
NESTED_NO_JAIL = ["--no-jail"] if os.environ.get("NESTED_L1") else []


def check_power_button(c, initrd):
    t = _t()
    what = "vessel vm shutdown presses the ACPI power button; the guest powers off cleanly, the VM is stopped"
    tmp = tempfile.mkdtemp(prefix="pb-", dir=c.tmp)
    sock, state = os.path.join(tmp, "d.sock"), os.path.join(tmp, "state")
    vm = [t.VESSEL, "vm", "--socket", sock]
    daemon = None
    try:
        # the daemon's path policy: the kernel's and the initramfs's directories
        daemon = subprocess.Popen([t.VESSEL, "serve", "--socket", sock, "--state-dir", state,
                                   "--allow-dir", os.path.dirname(t.KERNEL), "--allow-dir", os.path.dirname(initrd)]
                                  + NESTED_NO_JAIL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_socket(sock, 30)
        p = subprocess.run(vm + ["create", "pb", "--arch", "x86_64", "--kernel", t.KERNEL, "--initrd", initrd,
                                 "--append", "console=ttyS0 panic=-1 quiet", "--mem", "256M", "--cpus", "1",
                                 "--start"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            c.check(what, False, "vm create: %r" % p.stdout.decode()[-300:])
            return
        log = _wait_log(state, b"VESSEL-GUEST-READY", t.BOOT_TIMEOUT)
        if log is None or b"acpid watches" not in log or b"Power Button" not in log:
            c.check(what, False, "the guest's acpid does not watch a Power Button: %r" % (log or b"")[-400:])
            return
        t0 = time.monotonic()
        p = subprocess.run(vm + ["shutdown", "pb"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
        log = _wait_log(state, b"reboot: Power down", 90)
        st = None
        end = time.monotonic() + 60
        while time.monotonic() < end:
            show = subprocess.run(vm + ["--json", "show", "pb"], stdout=subprocess.PIPE, timeout=30).stdout
            try:
                st = json.loads(show).get("state")
            except ValueError:
                st = show[:200]
            if st == "stopped":
                break
            time.sleep(0.5)
        c.info("power button: %.1fs from vessel vm shutdown to a stopped VM" % (time.monotonic() - t0))
        ok = p.returncode == 0 and log is not None and PRESSED in log and st == "stopped"
        tail = b""
        for f in glob.glob(os.path.join(state, "**", "*.log"), recursive=True):
            with open(f, "rb") as fh:
                tail += b"[%s] " % os.path.basename(f).encode() + fh.read()[-300:]
        c.check(what, ok, "shutdown %d %r; state %r; power button seen by the guest: %s; logs %r" % (
            p.returncode, p.stdout.decode()[-200:], st, bool(log and PRESSED in log), tail))
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
    """On a host without vmx/svm: the stock kernel straight on the host's kvm engine."""
    t = _t()
    what = "without vmx/svm, vessel run --arch x86_64 explains itself in one line with the nested hint"
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
