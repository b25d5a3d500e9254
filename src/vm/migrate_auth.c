/* Live migration: the secret-based handshake and the keys it derives (vm/migrate_auth.h). */
#include "vm/migrate_auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/le.h"

#define LABEL "vessel-migration-1 "

/* HMAC(secret, LABEL what nonce_d nonce_s) */
static void derive(const char *secret, size_t slen, const char *what,
                   const uint8_t nonce_d[MIG_NONCE_LEN], const uint8_t nonce_s[MIG_NONCE_LEN],
                   uint8_t out[HMAC256_LEN])
{
    struct hmac256 h;

    hmac256_init(&h, secret, slen);
    hmac256_update(&h, LABEL, strlen(LABEL));
    hmac256_update(&h, what, strlen(what));
    hmac256_update(&h, nonce_d, MIG_NONCE_LEN);
    hmac256_update(&h, nonce_s, MIG_NONCE_LEN);
    hmac256_final(&h, out);
    hmac256_wipe(&h, sizeof(h));
}

/* The session's keys into c, for the source's side or the destination's. */
static void set_keys(struct mig_chan *c, const char *secret, size_t slen,
                     const uint8_t nonce_d[MIG_NONCE_LEN], const uint8_t nonce_s[MIG_NONCE_LEN],
                     bool source)
{
    uint8_t k[HMAC256_LEN];

    derive(secret, slen, "stream", nonce_d, nonce_s, k);
    hmac256_init(&c->stream.key, k, sizeof(k));
    c->stream.seq = 0;
    derive(secret, slen, source ? "source lines" : "destination lines", nonce_d, nonce_s, k);
    hmac256_init(&c->send_key, k, sizeof(k));
    derive(secret, slen, source ? "destination lines" : "source lines", nonce_d, nonce_s, k);
    hmac256_init(&c->recv_key, k, sizeof(k));
    hmac256_wipe(k, sizeof(k));
    c->send_seq = c->recv_seq = 0;
    c->authed = true;
}

static void put_head(uint8_t *p)
{
    memcpy(p, MIG_AUTH_MAGIC, 8);
    le32_put(p + 8, MIG_AUTH_VERSION);
    le32_put(p + 12, 0);
}

static int check_head(const uint8_t *p, const char *who, char *why, size_t whylen)
{
    if (memcmp(p, MIG_AUTH_MAGIC, 8)) {
        snprintf(why, whylen, "%s did not start a Vessel migration handshake", who);
        return -EPROTO;
    }
    if (le32_get(p + 8) != MIG_AUTH_VERSION || le32_get(p + 12) != 0) {
        snprintf(why, whylen,
                 "%s speaks migration handshake version %u (flags %#x); this Vessel %u", who,
                 le32_get(p + 8), le32_get(p + 12), MIG_AUTH_VERSION);
        return -EPROTO;
    }
    return 0;
}

void mig_auth_challenge(uint8_t out[MIG_CHALLENGE_LEN], const uint8_t nonce_d[MIG_NONCE_LEN])
{
    put_head(out);
    memcpy(out + 16, nonce_d, MIG_NONCE_LEN);
}

int mig_auth_accept(struct mig_chan *c, const char *secret, size_t slen,
                    const uint8_t nonce_d[MIG_NONCE_LEN], const uint8_t resp[MIG_RESPONSE_LEN],
                    uint8_t proof[MIG_PROOF_LEN], char *why, size_t whylen)
{
    const uint8_t *nonce_s = resp + 16;
    uint8_t want[HMAC256_LEN];
    bool ok;
    int err = check_head(resp, "the peer", why, whylen);

    if (err)
        return err;
    derive(secret, slen, "source", nonce_d, nonce_s, want);
    ok = hmac256_equal(want, resp + 16 + MIG_NONCE_LEN, HMAC256_LEN);
    hmac256_wipe(want, sizeof(want));
    if (!ok) {
        snprintf(why, whylen, "the peer does not know the migration secret");
        return -EACCES;
    }
    derive(secret, slen, "destination", nonce_d, nonce_s, proof);
    set_keys(c, secret, slen, nonce_d, nonce_s, false);
    return 0;
}

int mig_auth_connect(struct mig_chan *c, const char *secret, size_t slen, char *why, size_t whylen)
{
    uint8_t ch[MIG_CHALLENGE_LEN], resp[MIG_RESPONSE_LEN], proof[MIG_PROOF_LEN], want[HMAC256_LEN];
    const uint8_t *nonce_d = ch + 16, *nonce_s = resp + 16;
    bool ok;
    int err = mig_read_exact(c, ch, sizeof(ch));

    if (err) {
        snprintf(why, whylen, "waiting for the destination's challenge: %s",
                 err == -ECONNRESET ? "the destination closed the connection" : strerror(-err));
        return err;
    }
    if ((err = check_head(ch, "the destination", why, whylen)))
        return err;
    put_head(resp);
    err = hmac256_random(resp + 16, MIG_NONCE_LEN);
    if (err) {
        snprintf(why, whylen, "getrandom: %s", strerror(-err));
        return err;
    }
    derive(secret, slen, "source", nonce_d, nonce_s, resp + 16 + MIG_NONCE_LEN);
    err = mig_send_all(c, resp, sizeof(resp));
    if (!err)
        err = mig_read_exact(c, proof, sizeof(proof));
    if (err) {
        snprintf(why, whylen, "authenticating to the destination: %s",
                 err == -ECONNRESET ? "the destination closed the connection (a wrong secret?)"
                                    : strerror(-err));
        return err;
    }
    derive(secret, slen, "destination", nonce_d, nonce_s, want);
    ok = hmac256_equal(want, proof, sizeof(proof));
    hmac256_wipe(want, sizeof(want));
    if (!ok) {
        snprintf(why, whylen, "the destination does not know the migration secret");
        return -EACCES;
    }
    set_keys(c, secret, slen, nonce_d, nonce_s, true);
    return 0;
}
