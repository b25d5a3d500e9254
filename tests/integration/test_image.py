#!/usr/bin/env python3
"""Issue 16: a Debian disk image built by Vessel, booted from the disk alone, reached over SSH.

  - `vessel image build debian --arch riscv64` builds a trixie image with a key this test
    generated (ssh-keygen; the build's second stage runs in a Vessel VM). The image is cached
    under $VESSEL_CACHE/image/test-riscv64/KEY/ with its key pair, KEY being the sha256 of the
    builder's inputs (src/image/, scripts/mkinitramfs.py, the cached kernel's version, the
    build options): a fresh machine builds it once, later runs reuse it, any change to those
    inputs builds it again. The build's time is printed (and kept beside the image);
  - builds that must fail do, with one `vessel image:` line and nothing left behind: an
    unreachable mirror, an existing output without --force, a bad --arch;
  - a qcow2 overlay of the image boots with no --kernel (OpenSBI, U-Boot, the image's own
    kernel and initramfs from its extlinux.conf) with 2 vCPUs and
    --net user,hostfwd=tcp:127.0.0.1:PORT-:22; ssh (Debian's openssh-client) logs in as root
    with the test's key; PID 1 is systemd, 2 CPUs, the root is /dev/vda1, the host name the
    one given; the boot-to-SSH time is printed; `systemctl poweroff` over SSH ends `vessel
    run` with exit status 0; `qemu-img check` passes on the overlay and on the image;
  - through the daemon: `vessel vm create --disk OVERLAY` (no kernel) --start boots the same
    way; `vessel vm reboot` reboots it (U-Boot's banner again, SSH back); `vessel vm shutdown`
    presses the power button and the guest powers off cleanly (state stopped, last_exit
    "exited 0", shutdown "guest"; the console shows systemd's way down to "reboot: Power
    down").
Prints one PASS/FAIL line per check and ends with "N passed, N failed". Consoles are saved to
build/test-logs/ on failure. VESSEL_TIMEOUT_SCALE multiplies every timeout.
"""

import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402
from guest import Guest, GuestError, Results, guest_run  # noqa: E402

ROOT = guest.ROOT
VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
SCALE = guest.timeout_scale()
BUILD_OPTS = ["--arch", "riscv64", "--size", "3G", "--hostname", "vessel-test"]
BUILD_TIMEOUT = 4 * 3600 * SCALE  # the busy 2-core machine: the second stage is emulated
BOOT_TIMEOUT = 900 * SCALE        # power-on to SSH (systemd under rv64 on a loaded host)
HOSTNAME = "vessel-test"


def image_key():
    """The sha256 of what the image is built from: the builder, the kernel it boots, options."""
    h = hashlib.sha256()
    files = sorted(glob.glob(os.path.join(ROOT, "src", "image", "**", "*"), recursive=True))
    files.append(os.path.join(ROOT, "scripts", "mkinitramfs.py"))
    files.append(guest.artifact("kernel-version"))
    for f in files:
        if os.path.isfile(f) and "__pycache__" not in f:
            h.update(os.path.relpath(f, ROOT).encode() + b"\0")
            with open(f, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    h.update(" ".join(BUILD_OPTS).encode())
    return h.hexdigest()[:16]


def ensure_image(r):
    """The cached test image and its key, built first when its inputs changed."""
    base = os.path.join(guest.cache_dir(), "image", "test-riscv64")
    d = os.path.join(base, image_key())
    img, key = os.path.join(d, "debian.qcow2"), os.path.join(d, "id_ed25519")
    if os.path.isfile(img) and os.path.isfile(key):
        with open(os.path.join(d, "build-seconds")) as f:
            secs = float(f.read())
        print("     image: %s (cached; built in %.0f s)" % (img, secs), flush=True)
        return img, key
    shutil.rmtree(base, ignore_errors=True)  # images of older inputs
    os.makedirs(d)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vessel-test", "-f", key],
                   check=True)
    t0 = time.monotonic()
    p = subprocess.run([VESSEL, "image", "build", "debian", "-o", img, "--ssh-key", key + ".pub"]
                       + BUILD_OPTS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=BUILD_TIMEOUT)
    secs = time.monotonic() - t0
    ok = r.check("vessel image build debian --arch riscv64: exit 0 and the image is there",
                 p.returncode == 0 and os.path.isfile(img), p.stdout[-3000:])
    print("     image build: %.0f s" % secs, flush=True)
    for line in p.stdout.splitlines():
        if line.startswith("[") and "done in" in line:
            print("       " + line, flush=True)
    if not ok:
        shutil.rmtree(d, ignore_errors=True)
        return None, None
    with open(os.path.join(d, "build-seconds"), "w") as f:
        f.write("%.1f\n" % secs)
    left = [f for f in os.listdir(d) if f.startswith(".")]
    r.check("the build leaves only the image beside it (no temporary files)", not left, left)
    return img, key


def check_build_errors(r, tmp):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    out = os.path.join(tmp, "bad.qcow2")
    p = subprocess.run([VESSEL, "image", "build", "debian", "--arch", "riscv64", "-o", out,
                        "--mirror", "http://127.0.0.1:%d/debian" % port],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600 * SCALE)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("vessel image:")]
    r.check("an unreachable mirror: exit 1, a `vessel image:` line naming debootstrap",
            p.returncode == 1 and any("debootstrap" in ln for ln in lines), p.stdout[-1500:])
    r.check("... and nothing left behind (no image, no build directory)",
            sorted(os.listdir(tmp)) == [], os.listdir(tmp))
    with open(out, "w") as f:
        f.write("keep me")
    p = subprocess.run([VESSEL, "image", "build", "debian", "--arch", "riscv64", "-o", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    r.check("an existing output without --force: exit 1, the file untouched",
            p.returncode == 1 and "exists" in p.stdout and open(out).read() == "keep me",
            p.stdout)
    os.unlink(out)
    p = subprocess.run([VESSEL, "image", "build", "debian", "--arch", "mips", "-o", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    r.check("--arch mips: exit 1 and one line", p.returncode == 1 and
            p.stdout.strip().count("\n") == 0 and "--arch" in p.stdout, p.stdout)



def ssh(port, key, cmd, timeout=60):
    return subprocess.run(["ssh", "-p", str(port), "-i", key, "-o", "BatchMode=yes",
                           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                           "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "root@127.0.0.1", cmd],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout * SCALE)


def wait_ssh(port, key, alive, timeout):
    """Polls until SSH runs a command; the seconds it took, or None (timeout, or alive() false)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not alive():
            return None
        try:
            if ssh(port, key, "true", timeout=30).returncode == 0:
                return time.monotonic() - t0
        except subprocess.TimeoutExpired:
            pass
        time.sleep(2)
    return None


def overlay(tmp, img, name):
    path = os.path.join(tmp, name)
    subprocess.run([VESSEL, "disk", "create", path, "--backing", img], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def qemu_img_check(r, what, path):
    p = subprocess.run(["qemu-img", "check", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    r.check("qemu-img check %s: no errors" % what, p.returncode == 0, p.stdout[-800:])


def check_systemd(r, port, key, scope):
    p = ssh(port, key, "cat /proc/1/comm; nproc; findmnt -n -o SOURCE /; hostname; "
            "systemctl is-active systemd-logind ssh systemd-networkd")
    lines = p.stdout.split()
    r.check("%s: over SSH PID 1 is systemd, 2 CPUs, root on /dev/vda1, hostname %s, logind, "
            "ssh and networkd active" % (scope, HOSTNAME),
            p.returncode == 0 and lines[:4] == ["systemd", "2", "/dev/vda1", HOSTNAME]
            and lines[4:] == ["active"] * 3, p.stdout + p.stderr)


def check_boot(r, tmp, img, key):
    disk = overlay(tmp, img, "boot.qcow2")
    port = guest.free_port()
    g = Guest([VESSEL, "run", "--arch", "riscv64", "--disk", disk, "--cpus", "2", "--mem", "1G",
               "--net", "user,hostfwd=tcp:127.0.0.1:%d-:22" % port], name="image-boot")
    with guest_run(r, None, [g]):
        g.start()
        g.expect(r"U-Boot 20\d\d", 120)
        r.check("vessel run --disk IMG (no --kernel): U-Boot starts", True)
        g.expect(r"Linux version", 300)
        r.check("U-Boot boots the image's own kernel", True)
        secs = wait_ssh(port, key, lambda: g.proc.poll() is None, BOOT_TIMEOUT)
        ok = r.check("ssh -p PORT root@127.0.0.1 with the test's key logs in", secs is not None,
                     g.log()[-2000:])
        if ok:
            print("     boot to SSH (vessel, 2 vCPUs): %.1f s" % (g.elapsed()), flush=True)
            check_systemd(r, port, key, "vessel run")
            try:
                ssh(port, key, "systemctl poweroff", timeout=60)
            except subprocess.TimeoutExpired:
                pass
            rc = g.wait_exit(600)
            r.check("systemctl poweroff inside: vessel exits 0, the kernel powered down",
                    rc == 0 and b"reboot: Power down" in g.log(), "status %s" % rc)
        if r.failed:
            print("console log: %s" % g.save_log())
    qemu_img_check(r, "of the overlay the VM wrote", disk)
    qemu_img_check(r, "of the image", img)


def check_daemon(r, tmp, img, key):
    import test_daemon  # the daemon fixture
    d = test_daemon.Daemon(tmp)
    env = dict(os.environ, VESSEL_SOCKET=d.sock)
    disk = overlay(tmp, img, "daemon.qcow2")
    port = guest.free_port()
    d.start()
    try:
        p = subprocess.run([VESSEL, "vm", "create", "deb", "--disk", disk, "--cpus", "2",
                            "--mem", "1G", "--net", "user,hostfwd=tcp:127.0.0.1:%d-:22" % port,
                            "--start"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        r.check("vessel vm create --disk IMG (no kernel) --start", p.returncode == 0, p.stdout)
        st, vm = d.req("GET", "/v1/vms/deb")
        log = vm.get("console", {}).get("log", "")

        def alive():
            return d.req("GET", "/v1/vms/deb")[1].get("state") == "running"

        secs = wait_ssh(port, key, alive, BOOT_TIMEOUT)
        _, now = d.req("GET", "/v1/vms/deb")
        r.check("daemon: SSH into the disk-booted VM", secs is not None,
                "state %s, last_exit %s, last_error %s" % (now.get("state"), now.get("last_exit"),
                                                           now.get("last_error")))
        if secs is None:
            print("console log: %s" % test_daemon.save_log(log, "image-deb"))
            return
        check_systemd(r, port, key, "daemon")
        p = subprocess.run([VESSEL, "vm", "reboot", "deb"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        rebooted = test_daemon.wait_log(log, r"(?s)U-Boot 20\d\d.*U-Boot 20\d\d", 120 * SCALE)
        secs = wait_ssh(port, key, alive, BOOT_TIMEOUT) if rebooted else None
        r.check("vessel vm reboot: the machine resets (U-Boot again) and SSH is back",
                p.returncode == 0 and secs is not None, p.stdout)
        t0 = time.monotonic()
        p = subprocess.run([VESSEL, "vm", "shutdown", "deb", "--timeout", str(int(300 * SCALE))],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        st, vm = d.req("GET", "/v1/vms/deb")
        r.check("vessel vm shutdown: the guest powers off (exit 0, shutdown guest, state stopped)",
                p.returncode == 0 and "the guest powered off" in p.stdout
                and vm.get("state") == "stopped" and vm.get("last_exit") == "exited 0"
                and vm.get("shutdown") == "guest", "%s %s" % (p.stdout, json.dumps(vm)[:600]))
        print("     vessel vm shutdown: %.1f s" % (time.monotonic() - t0), flush=True)
        with open(log, "rb") as f:
            text = f.read().decode(errors="replace")
        tail = text[text.rfind("login:"):]
        r.check("the console shows the orderly shutdown: units stopped, System Power Off, "
                "reboot: Power down",
                "Stopped" in tail and "System Power Off" in tail and "reboot: Power down" in tail,
                tail[-1500:])
        if r.failed:
            print("console log: %s" % test_daemon.save_log(log, "image-deb"))
    finally:
        test_daemon.kill_leftovers(d)
        d.terminate()
    qemu_img_check(r, "of the daemon VM's overlay", disk)


def main():
    r = Results("image: ")
    t0 = time.monotonic()
    for tool in ("ssh", "ssh-keygen", "qemu-img", "debootstrap", "fakeroot", "mke2fs"):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
            r.check("%s installed (scripts/setup.sh)" % tool, False)
            return r.summary()
    if not os.path.isfile(guest.artifact(os.path.join("u-boot", "u-boot.bin"))):
        r.check("U-Boot fetched (scripts/fetch-guest.sh)", False)
        return r.summary()
    tmp = tempfile.mkdtemp(prefix="vessel-image-")
    try:
        errs = os.path.join(tmp, "errors")
        os.mkdir(errs)
        check_build_errors(r, errs)
        img, key = ensure_image(r)
        if img:
            check_boot(r, tmp, img, key)
            check_daemon(r, tmp, img, key)
    except (GuestError, subprocess.TimeoutExpired, OSError) as e:
        r.check("image test ran to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("image test: %.0f s" % (time.monotonic() - t0))
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
