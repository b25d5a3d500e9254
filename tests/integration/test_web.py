#!/usr/bin/env python3
"""The web console (docs/web.md) end to end, run by tests/run.sh's integration step.

A daemon with a TCP listener and a token (`vessel serve --listen 127.0.0.1:PORT --token-file`),
a riscv64 VM created and started through the API, then:
  - the listener's credentials: 401 for API calls without any, GET / and /ui/ redirect to the
    login page, a wrong token is refused, the right one sets an HttpOnly SameSite=Strict session
    cookie; with the cookie, API calls work but a POST without X-Vessel-CSRF, or from another
    Origin, gets 403; the WebSocket without credentials gets 401, from another Origin 403;
  - the console WebSocket taken as hostile input (a raw client here): a bad handshake gets 426,
    an unmasked frame, reserved bits, an unknown opcode, a fragmented ping or a continuation
    out of place close with 1002, a frame over 64 KiB with 1009, garbage bytes too - and the
    daemon serves on; pings are answered; the recent output comes first, input reaches the guest;
  - a real browser (Debian's chromium driven by playwright-core, tests/integration/web_browser.js):
    login, the VM listed as running, Pause and Resume buttons, the VM page with its graphs and
    console (the boot output already there, a typed command's answer in the DOM), console round
    trips measured; screenshots in build/test-logs/web-*.png;
  - the daemon stops promptly with a console WebSocket open.
Every wait is bounded. Ends with "N passed, N failed". VESSEL_BIN selects the binary; with an
ASan build give VESSEL_WEB_VM_MIB=1024 (the VMs' RAM; its cgroup limit is that + 64 MiB).
"""

import base64
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402
from test_daemon import Daemon, VESSEL, vm_body, kill_leftovers  # noqa: E402

ROOT = guest.ROOT
SCALE = guest.timeout_scale()
TOOLS = os.environ.get("VESSEL_TOOLS") or os.path.join(os.path.expanduser("~"), ".cache", "vessel-tools")
WEB_MODULES = os.path.join(TOOLS, "web", "node_modules")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# the VMs' RAM: an ASan build's VM process needs more than its cgroup allows a 256 MiB VM
VM_MIB = int(os.environ.get("VESSEL_WEB_VM_MIB", "256"))



class WebDaemon(Daemon):
    def __init__(self, tmp, port, token_file):
        super().__init__(tmp)
        self.port = port
        self.extra = self.extra + ["--listen", "127.0.0.1:%d" % port, "--token-file", token_file,
                                   "--web-vendor", WEB_MODULES]

    def start(self):
        super().start()
        end = time.time() + 10 * SCALE
        while True:  # the TCP listener comes up right after the unix socket
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                return
            except OSError:
                if time.time() > end:
                    raise
                time.sleep(0.05)

    def tcp(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


class WsClient:
    """A raw WebSocket client: the handshake's answer, frames in and out, bounded waits."""

    def __init__(self, port, path, headers, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:  # the test's own self-signed certificate
            self.sock = ssl._create_unverified_context().wrap_socket(self.sock)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, port, key))
        req += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        self.sock.sendall(req.encode())
        buf = b""
        end = time.time() + 10 * SCALE
        while b"\r\n\r\n" not in buf and time.time() < end:
            d = self.sock.recv(4096)
            if not d:
                break
            buf += d
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        self.head = head.decode(errors="replace")
        self.status = int(self.head.split()[1]) if self.head.startswith("HTTP/1.1 ") else 0
        self.data = b""
        self.closed = None  # (code, reason) of the server's close frame
        self.eof = False

    @staticmethod
    def frame(op, payload, fin=True, mask=True, rsv=0):
        n = len(payload)
        h = bytes([(0x80 if fin else 0) | rsv | op])
        mbit = 0x80 if mask else 0
        if n < 126:
            h += bytes([mbit | n])
        elif n < 65536:
            h += bytes([mbit | 126]) + struct.pack(">H", n)
        else:
            h += bytes([mbit | 127]) + struct.pack(">Q", n)
        if not mask:
            return h + payload
        m = os.urandom(4)
        return h + m + bytes(b ^ m[i % 4] for i, b in enumerate(payload))

    def send(self, raw):
        self.sock.sendall(raw)

    def pump(self, until, timeout):
        """Reads frames until until(self) is true or timeout s pass; returns until(self)."""
        end = time.time() + timeout * SCALE
        while not until(self) and time.time() < end and not self.eof:
            pending = getattr(self.sock, "pending", lambda: 0)()  # TLS: decrypted, unread
            r, _, _ = select.select([self.sock], [], [], 0.1) if not pending else ([1], 0, 0)
            if r:
                try:
                    d = self.sock.recv(65536)
                except OSError:
                    d = b""
                if not d:
                    self.eof = True
                self.buf += d
            while len(self.buf) >= 2:
                op, n, off = self.buf[0] & 15, self.buf[1] & 127, 2
                if n == 126:
                    n, off = struct.unpack(">H", self.buf[2:4])[0], 4
                elif n == 127:
                    n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
                if len(self.buf) < off + n:
                    break
                p, self.buf = self.buf[off:off + n], self.buf[off + n:]
                if op == 2:
                    self.data += p
                elif op == 8:
                    self.closed = (struct.unpack(">H", p[:2])[0] if len(p) >= 2 else None, p[2:])
                elif op == 10:
                    self.pong = p
        return until(self)

    def close(self):
        self.sock.close()


def check_auth(r, d, token):
    st, _, _ = d.tcp("GET", "/v1/vms")
    r.check("TCP: GET /v1/vms without credentials: 401", st == 401, st)
    st, h, _ = d.tcp("GET", "/")
    r.check("GET / redirects to /ui/", st == 303 and h.get("location") == "/ui/", (st, h))
    st, h, _ = d.tcp("GET", "/ui/vms/x")
    r.check("a /ui/ page without a session redirects to /ui/login", st == 303
            and h.get("location") == "/ui/login", (st, h))
    st, h, body = d.tcp("GET", "/ui/login")
    r.check("/ui/login is served without credentials, with a CSP and no framing",
            st == 200 and b"<form" in body and "default-src 'self'" in h.get("content-security-policy", "")
            and h.get("x-frame-options") == "DENY", (st, h))
    st, _, _ = d.tcp("POST", "/ui/login", token.encode(), {})
    r.check("login without X-Vessel-CSRF: 403", st == 403, st)
    st, _, _ = d.tcp("POST", "/ui/login", b"x" * len(token), {"X-Vessel-CSRF": "1"})
    r.check("login with a wrong token: 401", st == 401, st)
    st, h, _ = d.tcp("POST", "/ui/login", token.encode(), {"X-Vessel-CSRF": "1"})
    cookie = h.get("set-cookie", "")
    r.check("login with the token: a session cookie, HttpOnly and SameSite=Strict",
            st == 200 and re.match(r"vessel_session=[0-9a-f]{64};", cookie) and "HttpOnly" in cookie
            and "SameSite=Strict" in cookie and token not in cookie, (st, cookie))
    sess = cookie.split(";")[0]
    st, _, body = d.tcp("GET", "/v1/vms", headers={"Cookie": sess})
    r.check("the cookie authenticates API calls", st == 200 and b"vms" in body, st)
    st, _, _ = d.tcp("GET", "/v1/vms", headers={"Cookie": "vessel_session=" + "0" * 64})
    r.check("a forged cookie: 401", st == 401, st)
    st, _, _ = d.tcp("POST", "/v1/vms/web1/pause", headers={"Cookie": sess})
    r.check("a cookie POST without X-Vessel-CSRF: 403 (CSRF)", st == 403, st)
    st, _, _ = d.tcp("GET", "/v1/vms", headers={"Cookie": sess, "Origin": "http://evil.example"})
    r.check("a cookie request from another Origin: 403", st == 403, st)
    st, _, _ = d.tcp("GET", "/v1/vms", headers={"Authorization": "Bearer " + token})
    r.check("the bearer header still works", st == 200, st)
    return sess


def measure_roundtrips(r, d, w):
    """Console round trips (a command sent to its answer back), 20 each: over the daemon's
    WebSocket, and on the shim's socket directly (the peer: what `vessel console` uses).
    Printed, never asserted."""
    sock_path = os.path.join(d.state, "vms", d.req("GET", "/v1/vms/web1")[1]["id"] + ".sock")
    direct = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    direct.connect(sock_path)
    got = {"buf": b""}

    def via_direct(cmd, want):
        direct.sendall(cmd)
        end = time.time() + 10 * SCALE
        while want not in got["buf"] and time.time() < end:
            rr, _, _ = select.select([direct], [], [], 0.1)
            if rr:
                got["buf"] += direct.recv(65536)
        return want in got["buf"]

    def via_ws(cmd, want):
        w.send(WsClient.frame(2, cmd))
        return w.pump(lambda c: want in c.data, 10)

    res = {}
    for name, fn in (("websocket", via_ws), ("shim_socket", via_direct)):
        ms = []
        for i in range(20):
            want = ("%s-%d" % (name[:2], i * 13)).encode()
            t0 = time.perf_counter()
            if not fn(b"echo %s-$((%d*13))\n" % (name[:2].encode(), i), want):
                break
            ms.append((time.perf_counter() - t0) * 1000)
        ms.sort()
        res[name] = ms[len(ms) // 2] if len(ms) == 20 else None
    direct.close()
    ok = all(res.values())
    r.check("console round trips over the WebSocket and the shim's socket (20 each)", ok, res)
    if ok:
        print("measure console_roundtrip_ms_median websocket %.2f shim_socket %.2f ratio %.2f"
              % (res["websocket"], res["shim_socket"], res["websocket"] / res["shim_socket"]), flush=True)


def check_websocket(r, d, token, sess):
    path = "/v1/vms/web1/console"
    bearer = {"Authorization": "Bearer " + token}
    w = WsClient(d.port, path, {})
    r.check("console WebSocket without credentials: 401", w.status == 401, w.head[:200])
    w.close()
    w = WsClient(d.port, path, {"Cookie": sess, "Origin": "http://evil.example"})
    r.check("console WebSocket with the cookie from another Origin: 403", w.status == 403, w.head[:200])
    w.close()
    st, _, _ = d.tcp("GET", path, headers=bearer)
    r.check("GET .../console without a WebSocket handshake: 426", st == 426, st)
    st, _, _ = d.tcp("GET", "/v1/vms/nosuchvm/console", headers=bearer)
    r.check("console of no such VM: 404", st == 404, st)

    w = WsClient(d.port, path, {"Cookie": sess, "Origin": "http://127.0.0.1:%d" % d.port})
    ok = w.status == 101 and w.pump(lambda c: b"vessel#" in c.data, 20)
    r.check("console WebSocket (cookie, same Origin): 101, the recent output first (the prompt)", ok,
            (w.head[:200], w.data[-300:]))
    w.send(WsClient.frame(9, b"are-you-there"))
    r.check("a ping is answered with its payload",
            w.pump(lambda c: getattr(c, "pong", None) == b"are-you-there", 10))
    w.send(WsClient.frame(1, b"echo ws-$((5*9))", fin=False) + WsClient.frame(0, b"\n"))
    r.check("input in a fragmented message reaches the guest, its answer comes back",
            w.pump(lambda c: b"ws-45" in c.data, 20), w.data[-300:])
    measure_roundtrips(r, d, w)
    w.close()

    hostile = [
        ("an unmasked frame", WsClient.frame(2, b"x", mask=False), 1002),
        ("reserved bits", WsClient.frame(2, b"x", rsv=0x40), 1002),
        ("an unknown opcode", WsClient.frame(3, b"x"), 1002),
        ("a fragmented ping", WsClient.frame(9, b"x", fin=False), 1002),
        ("a continuation without a message", WsClient.frame(0, b"x"), 1002),
        ("a new message inside a fragmented one", WsClient.frame(2, b"", fin=False)
         + WsClient.frame(2, b"b"), 1002),
        ("a ping over 125 bytes", WsClient.frame(9, b"p" * 126), 1002),
        ("a close frame with a 1-byte payload", WsClient.frame(8, b"x"), 1002),
        ("a 64-bit length with its top bit set", bytes([0x82, 0xff]) + b"\x80" + b"\0" * 7 + b"mask", 1002),
        ("a frame over 64 KiB", WsClient.frame(2, b"a" * 70000)[:4000], 1009),
        ("a huge declared length", bytes([0x82, 0xff]) + struct.pack(">Q", 1 << 40) + b"mask", 1009),
        ("garbage bytes", bytes(range(64)), 1002),
    ]
    for what, raw, code in hostile:
        w = WsClient(d.port, path, bearer)
        w.pump(lambda c: len(c.data) > 0, 5)
        w.send(raw)
        got = w.pump(lambda c: c.closed is not None, 10)
        r.check("hostile frames: %s closes the WebSocket with %d" % (what, code),
                w.status == 101 and got and w.closed[0] == code, (w.status, w.closed))
        w.close()
    st, _, _ = d.tcp("GET", "/v1/vms", headers=bearer)
    r.check("the daemon serves on after the hostile frames", st == 200, st)

    # Clients that send a handshake and vanish at once: each took a console connection, which
    # must be let go (the shim serves 8 at most). (Here the 101 goes out before the end is seen:
    # this covers the bridge's end; a 101 that never goes out is freed by on_completed.)
    fds = lambda: len(os.listdir("/proc/%d/fd" % d.proc.pid))  # noqa: E731
    before = fds()
    for i in range(20):
        key = base64.b64encode(os.urandom(16)).decode()
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n"
                   % (path, key, token)).encode())
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        s.close()
    end = time.time() + 15 * SCALE
    while fds() > before + 2 and time.time() < end:
        time.sleep(0.1)
    r.check("20 handshakes dropped at once leave no console connection behind (daemon fds %d -> %d)"
            % (before, fds()), fds() <= before + 2)
    w = WsClient(d.port, path, bearer)
    r.check("and the console still opens", w.status == 101 and w.pump(lambda c: len(c.data) > 0, 10))
    w.close()


def run_browser(r, d, token, shots):
    if not os.path.isdir(os.path.join(WEB_MODULES, "playwright-core")) or not os.path.exists(CHROMIUM):
        r.check("chromium and playwright-core installed (scripts/setup.sh, scripts/setup-web.sh)", False,
                "missing %s or %s" % (CHROMIUM, WEB_MODULES))
        return {}
    env = dict(os.environ, WEB_URL="http://127.0.0.1:%d" % d.port, WEB_TOKEN=token, WEB_VM="web1",
               WEB_SHOTS=shots, PLAYWRIGHT_CORE=os.path.join(WEB_MODULES, "playwright-core"),
               CHROMIUM=CHROMIUM, WEB_SCALE=str(SCALE), NO_UPDATE_NOTIFIER="1",
               WEB_KERNEL=guest.artifact("Image"), WEB_INITRD=guest.artifact("initramfs.cpio.gz"),
               WEB_FIRMWARE=guest.artifact("fw_dynamic.bin"), WEB_VM_MIB=str(VM_MIB))
    try:
        p = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "web_browser.js")],
                           env=env, capture_output=True, text=True, timeout=400 * SCALE)
        out = p.stdout
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        r.check("the browser run ended within its time", False)
    measures = {}
    for line in out.splitlines():
        if line.startswith("PASS "):
            r.check(line[5:], True)
        elif line.startswith("FAIL "):
            r.check(line[5:].split(": ", 1)[0], False, line[5:])
        elif line.startswith("MEASURE "):
            k, v = line.split()[1:3]
            measures[k] = v
    if "PASS" not in out:
        r.check("the browser run started", False, (out + p.stderr if 'p' in dir() else out)[-1500:])
    return measures


def check_stop_with_socket_open(r, d, token):
    w = WsClient(d.port, "/v1/vms/web1/console", {"Authorization": "Bearer " + token})
    w.pump(lambda c: len(c.data) > 0, 10)
    t0 = time.time()
    d.proc.send_signal(signal.SIGTERM)
    try:
        d.proc.wait(timeout=15)
        ok = True
    except subprocess.TimeoutExpired:
        ok = False
    w.pump(lambda c: c.closed is not None, 5)
    r.check("the daemon stops promptly with a console WebSocket open (closed with 1001)",
            ok and w.closed is not None and w.closed[0] == 1001, (ok, w.closed, time.time() - t0))
    w.close()


def check_tls(r, tmp, token_file, token):
    """A daemon restarted with HTTPS finds the running VM; its console WebSocket over TLS."""
    key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"],
                       capture_output=True, text=True)
    if not r.check("openssl makes a test certificate", p.returncode == 0, p.stderr[-300:]):
        return None
    os.chmod(key, 0o600)
    d = WebDaemon(tmp, guest.free_port(), token_file)
    d.extra += ["--tls-cert", cert, "--tls-key", key]
    d.start()
    w = WsClient(d.port, "/v1/vms/web1/console", {"Authorization": "Bearer " + token}, tls=True)
    ok = w.status == 101 and w.pump(lambda c: b"vessel#" in c.data, 20)
    w.send(WsClient.frame(2, b"echo tls-$((8*8))\n"))
    ok = ok and w.pump(lambda c: b"tls-64" in c.data, 20)
    r.check("HTTPS: the restarted daemon's console WebSocket over TLS, typed and answered", ok,
            (w.head[:200], w.data[-200:]))
    w.close()
    return d


def main():
    r = guest.Results("web: ")
    for f in ("Image", "initramfs.cpio.gz", "fw_dynamic.bin"):
        if not os.path.isfile(guest.artifact(f)):
            print("FAIL guest artifact %s missing (run scripts/fetch-guest.sh)" % guest.artifact(f))
            print("0 passed, 1 failed")
            return 1
    tmp = tempfile.mkdtemp(prefix="vessel-web-")
    shots = guest.LOG_DIR
    os.makedirs(shots, exist_ok=True)
    token = base64.b32encode(os.urandom(20)).decode().strip("=")
    tf = os.path.join(tmp, "token")
    with open(tf, "w") as f:
        f.write(token + "\n")
    os.chmod(tf, 0o600)
    d = WebDaemon(tmp, guest.free_port(), tf)
    t0 = time.time()
    measures = {}
    try:
        d.start()
        st, j = d.req("POST", "/v1/vms", vm_body("web1", memory_mib=VM_MIB))
        r.check("create a riscv64 VM", st == 201, j)
        st, j = d.req("POST", "/v1/vms/web1/start")
        r.check("start it", st == 200 and j.get("state") == "running", j)
        sess = check_auth(r, d, token)
        log = os.path.join(d.state, "vms", j["id"] + ".log")
        end = time.time() + 150 * SCALE
        while time.time() < end and "vessel# " not in (open(log, errors="replace").read() if os.path.exists(log) else ""):
            time.sleep(0.2)
        r.check("the guest boots to its shell prompt", time.time() < end)
        check_websocket(r, d, token, sess)
        # a line the guest prints before the browser opens its page: the page must show it
        w = WsClient(d.port, "/v1/vms/web1/console", {"Authorization": "Bearer " + token})
        w.send(WsClient.frame(2, b"echo before-page-$((6*7))\n"))
        r.check("a line printed before the page opens", w.pump(lambda c: b"before-page-42" in c.data, 20))
        w.close()
        measures = run_browser(r, d, token, shots)
        images = os.path.join(d.state, "images")
        snaps = [f for f in os.listdir(images) if f.startswith("web2-")] if os.path.isdir(images) else []
        r.check("the Snapshot button's file is in the daemon's image directory", len(snaps) == 1, snaps)
        check_stop_with_socket_open(r, d, token)
        d2 = check_tls(r, tmp, tf, token)
        d = d2 or d
    except Exception as e:  # noqa: BLE001 - one failure line, then clean up
        r.check("web test ran to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        kill_leftovers(d)
        d.terminate()
        log = open(os.path.join(tmp, "serve.log"), errors="replace").read()
        r.check("the daemon's log has no sanitizer report", "Sanitizer" not in log and "runtime error" not in log,
                log[log.find("Sanitizer") - 200:][:2000] if "Sanitizer" in log else "")
        print("     daemon log: %s" % os.path.join(tmp, "serve.log"), flush=True)
    for k, v in sorted(measures.items()):
        print("measure browser %s %s" % (k, v))
    print("     screenshots: %s/web-*.png" % shots)
    print("web test: %.1f s" % (time.time() - t0))
    print("%d passed, %d failed" % (r.passed, r.failed))
    if not r.failed:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
