"""The client side of Vessel's migration TLS session (docs/migration.md, "Encryption: TLS") for
tests written in Python: Python's ssl module has no TLS 1.3 external PSK before 3.13, so this
drives GnuTLS (libgnutls.so.30, the library Vessel loads) through ctypes.

    t = MigTLS(sock, secret)        # TLS 1.3, ECDHE-PSK, the PSK HKDF-derived from secret
    t.sendall(b"..."); t.recv(n)    # records
    t.binding()                     # the exporter value the secret handshake mixes in
"""

import ctypes
import select
import hashlib
import hmac

SALT = b"vessel-migration-1"
INFO = b"vessel-migration-1 tls"
IDENTITY = b"vessel-migration-1"
EXPORTER = b"EXPORTER-vessel-migration-1"
PRIORITIES = b"NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK"
GNUTLS_CLIENT = 2
GNUTLS_NO_TICKETS = 1 << 10
GNUTLS_CRD_PSK = 4
GNUTLS_PSK_KEY_RAW = 0
GNUTLS_E_AGAIN = -28
GNUTLS_E_INTERRUPTED = -52

_lib = None


class TLSError(Exception):
    pass


class _Datum(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_uint)]


def _gnutls():
    global _lib
    if _lib is None:
        lib = ctypes.CDLL("libgnutls.so.30")
        lib.gnutls_strerror.restype = ctypes.c_char_p
        lib.gnutls_record_recv.restype = ctypes.c_ssize_t
        lib.gnutls_record_send.restype = ctypes.c_ssize_t
        lib.gnutls_record_recv.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        lib.gnutls_record_send.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        lib.gnutls_handshake.argtypes = [ctypes.c_void_p]
        lib.gnutls_deinit.argtypes = [ctypes.c_void_p]
        lib.gnutls_priority_set_direct.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        lib.gnutls_credentials_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.gnutls_transport_set_int2.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        lib.gnutls_psk_set_client_credentials.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                          ctypes.POINTER(_Datum), ctypes.c_int]
        lib.gnutls_psk_free_client_credentials.argtypes = [ctypes.c_void_p]
        lib.gnutls_prf_rfc5705.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                                           ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
        lib.gnutls_bye.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.gnutls_record_get_direction.argtypes = [ctypes.c_void_p]
        _lib = lib
    return _lib


def psk(secret):
    """HKDF-SHA256 (RFC 5869) of the migration secret, as Vessel derives it."""
    prk = hmac.new(SALT, secret, hashlib.sha256).digest()
    return hmac.new(prk, INFO + b"\x01", hashlib.sha256).digest()


class MigTLS:
    """A TLS client session on a connected socket (blocking, with the socket's timeout)."""

    def __init__(self, sock, secret):
        g = _gnutls()
        self.g, self.sock = g, sock
        self.s, self.cred = ctypes.c_void_p(), ctypes.c_void_p()
        self._check(g.gnutls_init(ctypes.byref(self.s), GNUTLS_CLIENT | GNUTLS_NO_TICKETS), "gnutls_init")
        self._check(g.gnutls_priority_set_direct(self.s, PRIORITIES, None), "priorities")
        self._check(g.gnutls_psk_allocate_client_credentials(ctypes.byref(self.cred)), "credentials")
        key = ctypes.create_string_buffer(psk(secret.encode() if isinstance(secret, str) else secret), 32)
        d = _Datum(ctypes.cast(key, ctypes.c_void_p), 32)
        self._check(g.gnutls_psk_set_client_credentials(self.cred, IDENTITY, ctypes.byref(d), GNUTLS_PSK_KEY_RAW),
                    "the PSK")
        self._check(g.gnutls_credentials_set(self.s, GNUTLS_CRD_PSK, self.cred), "credentials")
        g.gnutls_transport_set_int2(self.s, sock.fileno(), sock.fileno())
        while True:
            r = g.gnutls_handshake(self.s)
            if r not in (GNUTLS_E_AGAIN, GNUTLS_E_INTERRUPTED):
                break
            self._wait(g.gnutls_record_get_direction(self.s) == 1)
        self._check(r, "the TLS handshake")

    def _wait(self, write):
        """A socket with a timeout is non-blocking underneath: wait for it, within the timeout."""
        t = self.sock.gettimeout()
        r, w, _ = select.select([] if write else [self.sock], [self.sock] if write else [], [], t)
        if not r and not w:
            raise TimeoutError("TLS: timed out")

    def _check(self, r, what):
        if r < 0:
            raise TLSError("%s: %s" % (what, self.g.gnutls_strerror(r).decode()))
        return r

    def binding(self):
        out = ctypes.create_string_buffer(32)
        self._check(self.g.gnutls_prf_rfc5705(self.s, len(EXPORTER), EXPORTER, 0, None, 32, out), "exporter")
        return out.raw

    def sendall(self, data):
        buf = ctypes.create_string_buffer(bytes(data), len(data))
        off = 0
        while off < len(data):
            r = self.g.gnutls_record_send(self.s, ctypes.byref(buf, off), len(data) - off)
            if r in (GNUTLS_E_AGAIN, GNUTLS_E_INTERRUPTED):
                self._wait(True)
                continue
            if r < 0:
                raise ConnectionError("TLS send: %s" % self.g.gnutls_strerror(r).decode())
            off += r

    def recv(self, n):
        """Up to n bytes; b"" at the end of the stream (or a connection cut short)."""
        buf = ctypes.create_string_buffer(n)
        while True:
            r = self.g.gnutls_record_recv(self.s, buf, n)
            if r in (GNUTLS_E_AGAIN, GNUTLS_E_INTERRUPTED):
                self._wait(False)
                continue
            if r < 0:
                if r == -110:  # GNUTLS_E_PREMATURE_TERMINATION
                    return b""
                raise ConnectionError("TLS recv: %s" % self.g.gnutls_strerror(r).decode())
            return buf.raw[:r]

    def close(self):
        if self.s:
            self.g.gnutls_deinit(self.s)
            self.g.gnutls_psk_free_client_credentials(self.cred)
            self.s = None
        self.sock.close()
