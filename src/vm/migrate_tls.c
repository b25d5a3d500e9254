/* Live migration: the TLS session around every migration connection (vm/migrate_tls.h). */
#include "vm/migrate_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/dynlib.h"
#include "base/hmac256.h"
#include "base/log.h"
#include "vm/migrate_auth.h"
#include "vm/migrate_link.h"

#define PSK_SALT       "vessel-migration-1"
#define PSK_INFO       "vessel-migration-1 tls"
#define PSK_IDENTITY   "vessel-migration-1"
#define EXPORTER_LABEL "EXPORTER-vessel-migration-1"
#define PSK_LEN        32
#define RECORD_MAX     16384 /* TLS's largest record payload */
#define PULL_BUF       (256u << 10)
/* TLS 1.3 only; the only key exchange a PSK with ECDHE (psk_dhe_ke): a recorded migration
 * stays secret even if the secret leaks later. No certificates, no plain-PSK mode. */
#define PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK"

/* The GnuTLS calls used, loaded on first use (base/dynlib.h); the order of names below. */
static struct {
    int (*init)(gnutls_session_t *, unsigned int);
    void (*deinit)(gnutls_session_t);
    int (*priority_init)(gnutls_priority_t *, const char *, const char **);
    int (*priority_set)(gnutls_session_t, gnutls_priority_t);
    int (*credentials_set)(gnutls_session_t, gnutls_credentials_type_t, void *);
    int (*psk_alloc_client)(gnutls_psk_client_credentials_t *);
    void (*psk_free_client)(gnutls_psk_client_credentials_t);
    int (*psk_set_client)(gnutls_psk_client_credentials_t, const char *, const gnutls_datum_t *,
                          gnutls_psk_key_flags);
    int (*psk_alloc_server)(gnutls_psk_server_credentials_t *);
    void (*psk_free_server)(gnutls_psk_server_credentials_t);
    void (*psk_set_server_fn)(gnutls_psk_server_credentials_t,
                              gnutls_psk_server_credentials_function *);
    void (*session_set_ptr)(gnutls_session_t, void *);
    void *(*session_get_ptr)(gnutls_session_t);
    void (*transport_set_ptr)(gnutls_session_t, gnutls_transport_ptr_t);
    void (*transport_set_push)(gnutls_session_t, gnutls_push_func);
    void (*transport_set_pull)(gnutls_session_t, gnutls_pull_func);
    void (*transport_set_pull_timeout)(gnutls_session_t, gnutls_pull_timeout_func);
    void (*handshake_set_timeout)(gnutls_session_t, unsigned int);
    int (*handshake)(gnutls_session_t);
    ssize_t (*record_recv)(gnutls_session_t, void *, size_t);
    ssize_t (*record_send)(gnutls_session_t, const void *, size_t);
    int (*record_get_direction)(gnutls_session_t);
    int (*prf_rfc5705)(gnutls_session_t, size_t, const char *, size_t, const char *, size_t,
                       char *);
    int (*bye)(gnutls_session_t, gnutls_close_request_t);
    int (*alert_send_appropriate)(gnutls_session_t, int);
    const char *(*strerror)(int);
    gnutls_alert_description_t (*alert_get)(gnutls_session_t);
    const char *(*alert_get_name)(gnutls_alert_description_t);
    gnutls_protocol_t (*protocol_get_version)(gnutls_session_t);
    const char *(*protocol_get_name)(gnutls_protocol_t);
    gnutls_kx_algorithm_t (*kx_get)(gnutls_session_t);
    const char *(*kx_get_name)(gnutls_kx_algorithm_t);
    gnutls_cipher_algorithm_t (*cipher_get)(gnutls_session_t);
    const char *(*cipher_get_name)(gnutls_cipher_algorithm_t);
    gnutls_alloc_function *malloc_var; /* the variable gnutls_malloc (keys handed to GnuTLS) */
} tls;

static const char *const tls_names[] = {
    "gnutls_init",
    "gnutls_deinit",
    "gnutls_priority_init",
    "gnutls_priority_set",
    "gnutls_credentials_set",
    "gnutls_psk_allocate_client_credentials",
    "gnutls_psk_free_client_credentials",
    "gnutls_psk_set_client_credentials",
    "gnutls_psk_allocate_server_credentials",
    "gnutls_psk_free_server_credentials",
    "gnutls_psk_set_server_credentials_function",
    "gnutls_session_set_ptr",
    "gnutls_session_get_ptr",
    "gnutls_transport_set_ptr",
    "gnutls_transport_set_push_function",
    "gnutls_transport_set_pull_function",
    "gnutls_transport_set_pull_timeout_function",
    "gnutls_handshake_set_timeout",
    "gnutls_handshake",
    "gnutls_record_recv",
    "gnutls_record_send",
    "gnutls_record_get_direction",
    "gnutls_prf_rfc5705",
    "gnutls_bye",
    "gnutls_alert_send_appropriate",
    "gnutls_strerror",
    "gnutls_alert_get",
    "gnutls_alert_get_name",
    "gnutls_protocol_get_version",
    "gnutls_protocol_get_name",
    "gnutls_kx_get",
    "gnutls_kx_get_name",
    "gnutls_cipher_get",
    "gnutls_cipher_get_name",
    "gnutls_malloc",
};

_Static_assert(sizeof(tls) == sizeof(tls_names) / sizeof(tls_names[0]) * sizeof(void *),
               "one GnuTLS symbol per name");

static pthread_mutex_t prio_lock = PTHREAD_MUTEX_INITIALIZER;
static gnutls_priority_t prio;

struct mig_tls {
    gnutls_session_t s;
    gnutls_psk_client_credentials_t ccred;
    gnutls_psk_server_credentials_t scred;
    int fd;
    bool server, got_bytes, done;
    uint8_t psk[PSK_LEN];
    uint8_t first[8]; /* the peer's first bytes, to name a peer that does not speak TLS */
    size_t nfirst;
    /* What one recv() brought and GnuTLS has not asked for yet: it reads a record's header and
     * then its body, and a syscall for each would cost more than the decryption. */
    size_t in_off, in_len;
    uint8_t in[PULL_BUF];
};

int mig_tls_preload(void)
{
    const char *where = NULL;
    int err = dynlib_load("libgnutls.so.30", "live migration (TLS)", tls_names, (void **)&tls,
                          sizeof(tls_names) / sizeof(tls_names[0]));

    if (err)
        return err;
    pthread_mutex_lock(&prio_lock);
    if (!prio && (err = tls.priority_init(&prio, PRIORITIES, &where)) < 0) {
        log_err("migration: GnuTLS priorities \"%s\" at \"%s\": %s", PRIORITIES,
                where ? where : "?", tls.strerror(err));
        prio = NULL;
        err = -EIO;
    } else {
        err = 0;
    }
    pthread_mutex_unlock(&prio_lock);
    return err;
}

/* HKDF-SHA256 (RFC 5869) of the secret into the PSK. */
static void derive_psk(const char *secret, size_t slen, uint8_t psk[PSK_LEN])
{
    struct hmac_sha256_ctx h;
    uint8_t prk[SHA256_DIGEST_SIZE];

    hmac_sha256_set_key(&h, strlen(PSK_SALT), (const uint8_t *)PSK_SALT);
    hkdf_extract(&h, (nettle_hash_update_func *)hmac_sha256_update,
                 (nettle_hash_digest_func *)hmac_sha256_digest, SHA256_DIGEST_SIZE, slen,
                 (const uint8_t *)secret, prk);
    hmac_sha256_set_key(&h, sizeof(prk), prk);
    hkdf_expand(&h, (nettle_hash_update_func *)hmac_sha256_update,
                (nettle_hash_digest_func *)hmac_sha256_digest, SHA256_DIGEST_SIZE, strlen(PSK_INFO),
                (const uint8_t *)PSK_INFO, PSK_LEN, psk);
    hmac256_wipe(prk, sizeof(prk));
    hmac256_wipe(&h, sizeof(h));
}

/* The server's key for the identity the client names: only ours. */
static int server_key(gnutls_session_t s, const char *identity, gnutls_datum_t *key)
{
    struct mig_tls *t = tls.session_get_ptr(s);

    if (!identity || strcmp(identity, PSK_IDENTITY))
        return -1;
    key->data = (*tls.malloc_var)(PSK_LEN);
    if (!key->data)
        return -1;
    memcpy(key->data, t->psk, PSK_LEN);
    key->size = PSK_LEN;
    return 0;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
    struct mig_tls *t = p;
    size_t n;

    if (t->in_off == t->in_len) {
        ssize_t r = recv(t->fd, t->in, sizeof(t->in), 0);
        if (r <= 0)
            return r;
        if (t->nfirst < sizeof(t->first)) {
            size_t k =
                (size_t)r < sizeof(t->first) - t->nfirst ? (size_t)r : sizeof(t->first) - t->nfirst;
            memcpy(t->first + t->nfirst, t->in, k);
            t->nfirst += k;
        }
        t->got_bytes = true;
        t->in_off = 0;
        t->in_len = (size_t)r;
    }
    n = len < t->in_len - t->in_off ? len : t->in_len - t->in_off;
    memcpy(buf, t->in + t->in_off, n);
    t->in_off += n;
    return (ssize_t)n;
}

/* Whether pull has bytes within ms (GnuTLS's default would take the pointer for an fd). */
static int pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
    struct mig_tls *t = p;
    struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
    int r;

    if (t->in_off < t->in_len)
        return 1;
    r = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
    return r < 0 ? -1 : r;
}

static ssize_t push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
    struct mig_tls *t = p;

    return send(t->fd, buf, len, MSG_NOSIGNAL);
}

int mig_tls_new(struct mig_tls **out, int fd, bool server, const char *secret, size_t slen,
                char *why, size_t whylen)
{
    struct mig_tls *t;
    int fl, r;

    *out = NULL;
    if (mig_tls_preload()) {
        snprintf(why, whylen, "migration runs over TLS and GnuTLS (libgnutls.so.30) is missing");
        return -ENOENT;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int err = -errno;
        snprintf(why, whylen, "fcntl on the migration socket: %s", strerror(-err));
        return err;
    }
    t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    t->fd = fd;
    t->server = server;
    derive_psk(secret, slen, t->psk);
    r = tls.init(&t->s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK |
                            GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL);
    if (r < 0) {
        t->s = NULL;
        goto fail;
    }
    tls.session_set_ptr(t->s, t);
    tls.transport_set_ptr(t->s, t);
    tls.transport_set_pull(t->s, pull);
    tls.transport_set_pull_timeout(t->s, pull_timeout);
    tls.transport_set_push(t->s, push);
    tls.handshake_set_timeout(t->s, GNUTLS_INDEFINITE_TIMEOUT); /* our deadlines bound it */
    if ((r = tls.priority_set(t->s, prio)) < 0)
        goto fail;
    if (server) {
        if ((r = tls.psk_alloc_server(&t->scred)) < 0) {
            t->scred = NULL;
            goto fail;
        }
        tls.psk_set_server_fn(t->scred, server_key);
        r = tls.credentials_set(t->s, GNUTLS_CRD_PSK, t->scred);
    } else {
        gnutls_datum_t key = {.data = t->psk, .size = PSK_LEN};
        if ((r = tls.psk_alloc_client(&t->ccred)) < 0) {
            t->ccred = NULL;
            goto fail;
        }
        r = tls.psk_set_client(t->ccred, PSK_IDENTITY, &key, GNUTLS_PSK_KEY_RAW);
        if (r >= 0)
            r = tls.credentials_set(t->s, GNUTLS_CRD_PSK, t->ccred);
    }
    if (r < 0)
        goto fail;
    *out = t;
    return 0;
fail:
    snprintf(why, whylen, "setting up the TLS session: %s", tls.strerror(r));
    mig_tls_free(t);
    return -EIO;
}

void mig_tls_free(struct mig_tls *t)
{
    if (!t)
        return;
    if (t->s) {
        if (t->done)
            tls.bye(t->s, GNUTLS_SHUT_WR); /* non-blocking: one try */
        tls.deinit(t->s);
    }
    if (t->scred)
        tls.psk_free_server(t->scred);
    if (t->ccred)
        tls.psk_free_client(t->ccred);
    hmac256_wipe(t->psk, sizeof(t->psk));
    free(t);
}

short mig_tls_events(const struct mig_tls *t)
{
    return tls.record_get_direction(t->s) ? POLLOUT : POLLIN;
}

bool mig_tls_got_bytes(const struct mig_tls *t)
{
    return t->got_bytes;
}

/* Why a handshake failed, in the words of the side that saw it. */
static int handshake_failed(struct mig_tls *t, int r, char *why, size_t whylen)
{
    const char *peer = t->server ? "the peer" : "the destination";

    if (t->nfirst && t->nfirst < sizeof(t->first)) { /* the rest of its first bytes, if sent */
        ssize_t n = recv(t->fd, t->first + t->nfirst, sizeof(t->first) - t->nfirst, MSG_DONTWAIT);
        if (n > 0)
            t->nfirst += (size_t)n;
    }
    /* a TLS record starts with its type (change_cipher_spec 20, alert 21, handshake 22,
     * application_data 23) and major version 3 */
    if (t->nfirst &&
        (t->first[0] < 20 || t->first[0] > 23 || (t->nfirst > 1 && t->first[1] != 3))) {
        bool old = t->nfirst >= 8 && !memcmp(t->first, MIG_AUTH_MAGIC, 8);
        snprintf(why, whylen, "%s does not speak TLS%s", peer,
                 old ? ": it speaks the plaintext migration handshake of an older Vessel "
                       "(both ends must run a Vessel that migrates over TLS)"
                     : (t->server ? " (not a migration source)" : " (not a Vessel destination)"));
        return -EPROTO;
    }
    if (r != GNUTLS_E_FATAL_ALERT_RECEIVED)
        tls.alert_send_appropriate(t->s, r); /* the peer learns why, not only that */
    if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PUSH_ERROR ||
        r == GNUTLS_E_PULL_ERROR) {
        snprintf(why, whylen, "the TLS handshake: %s closed the connection%s", peer,
                 t->server ? "" : " (a wrong migration secret?)");
        return -ECONNRESET;
    }
    if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
        snprintf(why, whylen,
                 "the TLS handshake failed: %s sent the alert '%s' (a wrong migration secret?)",
                 peer, tls.alert_get_name(tls.alert_get(t->s)));
    else
        snprintf(why, whylen, "the TLS handshake failed: %s (a wrong migration secret?)",
                 tls.strerror(r));
    return -EACCES;
}

int mig_tls_handshake_step(struct mig_tls *t, char *why, size_t whylen)
{
    int r = tls.handshake(t->s);

    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
        return -EAGAIN;
    if (r < 0)
        return handshake_failed(t, r, why, whylen);
    t->done = true;
    return 0;
}

int mig_tls_binding(struct mig_tls *t, uint8_t out[MIG_TLS_BINDING_LEN])
{
    return tls.prf_rfc5705(t->s, strlen(EXPORTER_LABEL), EXPORTER_LABEL, 0, NULL,
                           MIG_TLS_BINDING_LEN, (char *)out) < 0
               ? -EIO
               : 0;
}

void mig_tls_describe(struct mig_tls *t, char *out, size_t cap)
{
    const char *p = tls.protocol_get_name(tls.protocol_get_version(t->s));
    const char *k = tls.kx_get_name(tls.kx_get(t->s));
    const char *c = tls.cipher_get_name(tls.cipher_get(t->s));

    snprintf(out, cap, "%s %s %s", p ? p : "?", k ? k : "?", c ? c : "?");
}

static long io_error(ssize_t r)
{
    switch (r) {
    case GNUTLS_E_AGAIN:
    case GNUTLS_E_INTERRUPTED: return -EAGAIN;
    case GNUTLS_E_PREMATURE_TERMINATION:
    case GNUTLS_E_PUSH_ERROR:
    case GNUTLS_E_PULL_ERROR: return -ECONNRESET;
    case GNUTLS_E_DECRYPTION_FAILED: return -EBADMSG;
    default: return -EPROTO;
    }
}

long mig_tls_recv(struct mig_tls *t, void *buf, size_t len)
{
    ssize_t r = tls.record_recv(t->s, buf, len);

    return r >= 0 ? (long)r : io_error(r);
}

long mig_tls_send(struct mig_tls *t, const void *buf, size_t len)
{
    /* at most one record: after -EAGAIN the same call comes again */
    ssize_t r = tls.record_send(t->s, buf, len < RECORD_MAX ? len : RECORD_MAX);

    return r >= 0 ? (long)r : io_error(r);
}

int mig_tls_client(struct mig_chan *c, const char *secret, size_t slen, const char *host,
                   const char *port, char *why, size_t whylen)
{
    char desc[80];
    int err = mig_tls_new(&c->tls, c->fd, false, secret, slen, why, whylen);

    while (!err && (err = mig_tls_handshake_step(c->tls, why, whylen)) == -EAGAIN) {
        err = mig_chan_wait(c, mig_tls_events(c->tls), true);
        if (err)
            snprintf(why, whylen, "the TLS handshake with the destination: %s",
                     err == -ETIMEDOUT ? "no answer in time" : strerror(-err));
    }
    if (!err && (err = mig_tls_binding(c->tls, c->binding)))
        snprintf(why, whylen, "the TLS session has no exporter value");
    if (err)
        return err;
    mig_tls_describe(c->tls, desc, sizeof(desc));
    log_info("migration: %s with %s port %s", desc, host, port);
    return mig_auth_connect(c, secret, slen, why, whylen);
}
