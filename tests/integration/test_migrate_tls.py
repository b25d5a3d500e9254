#!/usr/bin/env python3
"""Live migration is encrypted on the wire (issue 13: TLS for migrations), on loopback.

A riscv64 guest writes a marker (random, made here) into its RAM: 4 MiB of it in a file of its
RAM-backed root, and the shell's own memory. A recording proxy sits between the source and the
destination (`vessel migrate --to 127.0.0.1:PROXY`, the proxy relaying to the destination's
`--incoming` port and keeping every byte of both directions):

  - a source with the wrong secret fails in the TLS handshake, with one line saying so
    (exit 2); the destination names it in one line and keeps listening;
  - the right secret migrates the guest: on the destination the guest reads its marker file
    back (the RAM did cross), the recording of that connection holds more bytes than the
    marker file, starts with a TLS handshake record, and contains no copy of the marker in
    either direction (nor the marker's hex form).

Ends with "N passed, N failed"; console logs of failed guests go to build/test-logs/.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import Guest, GuestError, Results, timeout_scale, vmm_command, wait_socket, free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VESSEL = os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel")
SCALE = timeout_scale()
MARK_BYTES = 4 << 20



class Proxy:
    """Relays each connection to 127.0.0.1:target and records both directions."""

    def __init__(self, target):
        self.target = target
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.conns = []  # [bytearray source->destination, bytearray destination->source]
        self.threads = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                a, _ = self.ls.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.target))
            rec = [bytearray(), bytearray()]
            self.conns.append(rec)
            for src, dst, buf in ((a, b, rec[0]), (b, a, rec[1])):
                t = threading.Thread(target=self._pump, args=(src, dst, buf), daemon=True)
                t.start()
                self.threads.append(t)

    @staticmethod
    def _pump(src, dst, buf):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                buf += data
                dst.sendall(data)
        except OSError:
            pass
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.ls.close()
        for t in self.threads:
            t.join(10 * SCALE)


def write_secret(tmp, name, text):
    path = os.path.join(tmp, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, text.encode())
    os.close(fd)
    return path


def main():
    r = Results("migrate-tls: ")
    tmp = tempfile.mkdtemp(prefix="vessel-migtls-")
    sock = os.path.join(tmp, "src.sock")
    port = free_port()
    secret = write_secret(tmp, "right.secret", secrets.token_hex(32))
    wrong = write_secret(tmp, "wrong.secret", secrets.token_hex(32))
    marker = "VSLWIRE" + secrets.token_hex(12)
    src = Guest(vmm_command(mem="256M", vmm="vessel") + ["--api-socket", sock], name="migtls-src")
    dst = Guest([VESSEL, "run", "--incoming", "127.0.0.1:%d" % port, "--migration-secret-file", secret],
                name="migtls-dst")
    proxy = None
    try:
        src.start()
        src.expect_ready()
        wait_socket(sock, 20)
        out, st = src.run("M=%s; yes $M | head -c %d > /tmp/mark; wc -c < /tmp/mark; head -n1 /tmp/mark"
                          % (marker, MARK_BYTES))
        r.check("the guest holds the marker in its RAM (%d bytes in /tmp/mark)" % MARK_BYTES,
                st == 0 and str(MARK_BYTES) in out and marker in out, out)
        dst.start()
        dst.expect(r"waiting for a migration", 30 * SCALE)
        proxy = Proxy(port)

        p = subprocess.run([VESSEL, "migrate", "--api-socket", sock, "--to", "127.0.0.1:%d" % proxy.port,
                            "--secret-file", wrong], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120 * SCALE)
        text = p.stdout.decode(errors="replace")
        r.check("the wrong secret: vessel migrate exits 2 naming the TLS handshake (%s)" % text.strip()[-200:],
                p.returncode == 2 and "TLS handshake" in text and "wrong migration secret" in text, text)
        r.check("... and the wrong secret's connection carried no guest RAM (%d bytes to the destination)"
                % (len(proxy.conns[0][0]) if proxy.conns else -1),
                len(proxy.conns) == 1 and len(proxy.conns[0][0]) < 4096)
        out, st = src.run("echo still-here")
        r.check("the source guest runs on after the failed attempt", st == 0 and "still-here" in out, out)

        p = subprocess.run([VESSEL, "migrate", "--api-socket", sock, "--to", "127.0.0.1:%d" % proxy.port,
                            "--secret-file", secret], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=300 * SCALE)
        text = p.stdout.decode(errors="replace")
        r.check("the right secret: vessel migrate completes through the proxy", p.returncode == 0
                and "migrated to" in text, text[-600:])
        rc = src.wait_exit(60 * SCALE)
        r.check("the source VMM ends with status 0", rc == 0, rc)
        dst.send("\n")
        out, st = dst.run("wc -c < /tmp/mark; head -n1 /tmp/mark; tail -n1 /tmp/mark | head -c %d" % len(marker))
        r.check("on the destination the guest reads its marker back (its RAM crossed the wire)",
                st == 0 and str(MARK_BYTES) in out and out.count(marker) >= 2, out)
        proxy.close()
        ok = len(proxy.conns) == 2
        up, down = (bytes(proxy.conns[1][0]), bytes(proxy.conns[1][1])) if ok else (b"", b"")
        r.check("the migration's connection carried more than the marker file (%.1f MiB source to destination)"
                % (len(up) / (1 << 20)), ok and len(up) > MARK_BYTES, len(proxy.conns))
        r.check("it starts with a TLS handshake record (%r)" % up[:3], up[:3] in (b"\x16\x03\x01", b"\x16\x03\x03"))
        needles = [marker.encode(), marker.encode().hex().encode(), marker[7:].encode()]
        found = [n.decode() for n in needles for d in (up, down) if n in d]
        r.check("no copy of the marker in either direction on the wire (searched %d + %d bytes)"
                % (len(up), len(down)), ok and not found, found)
        r.check("no plaintext stream magic on the wire (VESSELST, VMIGAUTH)",
                ok and not any(m in up or m in down for m in (b"VESSELST", b"VMIGAUTH")))
        err = dst.log().decode(errors="replace")
        r.check("the destination named the wrong secret's connection in one line and kept listening",
                re.search(r"dropped a connection from 127\.0\.0\.1 port \d+: the TLS handshake failed.*"
                          r"wrong migration secret", err) is not None
                and "incoming migration complete" in err, err[-1500:])
        dst.poweroff()
    except GuestError as e:
        r.check("guest error: %s" % e, False)
        src.save_log()
        dst.save_log()
    finally:
        src.kill()
        dst.kill()
        if proxy:
            proxy.ls.close()
        subprocess.run(["rm", "-rf", tmp])
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
