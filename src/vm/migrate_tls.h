/* Live migration, inside: the TLS session every migration connection runs in (docs/migration.md,
 * "Encryption: TLS"). TLS 1.3 with a pre-shared key and an ECDHE exchange (psk_dhe_ke: forward
 * secrecy), no certificates: the key is HKDF-SHA256 of the migration secret,
 *
 *   PRK = HKDF-Extract(salt "vessel-migration-1", secret)
 *   PSK = HKDF-Expand(PRK, "vessel-migration-1 tls", 32)     identity "vessel-migration-1"
 *
 * so only the two ends that hold the secret finish the handshake; a wrong secret fails in it
 * (the PSK binder). The secret handshake (vm/migrate_auth.h) then runs inside, bound to this
 * session by a TLS exporter value (RFC 5705/8446 label "EXPORTER-vessel-migration-1"), and keeps
 * its tags. GnuTLS (libgnutls.so.30) is loaded when first needed, like libmicrohttpd, so VM
 * processes that never migrate do not map it; mig_tls_preload loads it (and builds the
 * priorities, which may read /etc/gnutls/config) before a jail or seccomp. Not for use
 * elsewhere. */
#ifndef VESSEL_VM_MIGRATE_TLS_H
#define VESSEL_VM_MIGRATE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_TLS_BINDING_LEN 32

struct mig_tls;
struct mig_chan;

/* Loads GnuTLS and builds the session priorities now; idempotent. 0, or -ENOENT / -EIO
 * (logged). */
int mig_tls_preload(void);

/* A session on the connected socket fd (made non-blocking), the client (source) or the server
 * (destination), keyed by secret. 0, or -errno with a reason in why. */
int mig_tls_new(struct mig_tls **out, int fd, bool server, const char *secret, size_t slen,
                char *why, size_t whylen);
/* Ends the session (a close_notify if the socket takes it at once) and frees it; the fd stays
 * open. NULL is fine. */
void mig_tls_free(struct mig_tls *t);

/* One step of the handshake: 0 when done, -EAGAIN to wait for the socket (mig_tls_events),
 * or -errno with a reason in why: -EPROTO for a peer that does not speak TLS (the plaintext
 * handshake of an older Vessel), -EACCES for a failed handshake (a wrong secret, most
 * likely). */
int mig_tls_handshake_step(struct mig_tls *t, char *why, size_t whylen);
/* The poll events the session waits for (POLLIN or POLLOUT). */
short mig_tls_events(const struct mig_tls *t);
/* Bytes this session received before its handshake ended (for a peer's first bytes). */
bool mig_tls_got_bytes(const struct mig_tls *t);
/* The session's exporter value, to bind an inner handshake to it. 0 or -EIO. */
int mig_tls_binding(struct mig_tls *t, uint8_t out[MIG_TLS_BINDING_LEN]);
/* A line naming the protocol, key exchange and cipher ("TLS1.3 ECDHE-PSK AES-256-GCM"). */
void mig_tls_describe(struct mig_tls *t, char *out, size_t cap);

/* Record I/O: > 0 bytes, 0 for the peer's end of the stream, -EAGAIN (wait for
 * mig_tls_events), or -errno (-ECONNRESET for a connection cut short, -EBADMSG for a record
 * that does not decrypt). */
long mig_tls_recv(struct mig_tls *t, void *buf, size_t len);
long mig_tls_send(struct mig_tls *t, const void *buf, size_t len);

/* The source's side of a connected c: the TLS session (c->tls), its handshake within c's phase
 * deadline, then the secret handshake inside it (mig_auth_connect). 0, or -errno with a reason
 * in why. host and port name the destination in the log. */
int mig_tls_client(struct mig_chan *c, const char *secret, size_t slen, const char *host,
                   const char *port, char *why, size_t whylen);

#endif
