/* Live migration, inside: the handshake that proves to each end that the other knows the
 * migration's secret, and the keys it derives for the rest of the connection
 * (docs/migration.md, "Authentication and integrity"). Not for use elsewhere.
 *
 *   destination -> source  challenge: "VMIGAUTH", le32 version 1, le32 flags 0, nonce_d (32)
 *   source -> destination  response:  "VMIGAUTH", le32 version 1, le32 flags 0, nonce_s (32),
 *                                      HMAC(secret, "vessel-migration-1 source" nonce_d nonce_s)
 *   destination -> source  proof:     HMAC(secret, "vessel-migration-1 destination" nonce_d
 *                                      nonce_s)
 *
 * Then both derive, with T = nonce_d nonce_s: the stream key HMAC(secret, "... stream" T), and
 * one key per direction for the answer lines, HMAC(secret, "... source lines" T) and
 * "... destination lines". Nonces are fresh random bytes from each side, so a recorded
 * handshake, proof or stream is worth nothing in another connection. */
#ifndef VESSEL_VM_MIGRATE_AUTH_H
#define VESSEL_VM_MIGRATE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "vm/migrate_link.h"

#define MIG_AUTH_MAGIC    "VMIGAUTH"
#define MIG_AUTH_VERSION  1
#define MIG_NONCE_LEN     32
#define MIG_CHALLENGE_LEN (16 + MIG_NONCE_LEN)
#define MIG_RESPONSE_LEN  (16 + MIG_NONCE_LEN + HMAC256_LEN)
#define MIG_PROOF_LEN     HMAC256_LEN
#define MIG_HANDSHAKE_MS  5000 /* an unauthenticated connection is dropped after this */

/* The destination's challenge for nonce_d. */
void mig_auth_challenge(uint8_t out[MIG_CHALLENGE_LEN], const uint8_t nonce_d[MIG_NONCE_LEN]);
/* Checks a source's response to nonce_d; on success fills the destination's proof and makes
 * c an authenticated channel (keys for the destination's side). 0, or -EACCES (a wrong
 * secret) / -EPROTO (not a migration source) with a reason in why. */
int mig_auth_accept(struct mig_chan *c, const char *secret, size_t slen,
                    const uint8_t nonce_d[MIG_NONCE_LEN], const uint8_t resp[MIG_RESPONSE_LEN],
                    uint8_t proof[MIG_PROOF_LEN], char *why, size_t whylen);
/* The source's side on a connected c: reads the challenge, answers, checks the destination's
 * proof and makes c authenticated. 0, or -errno with a reason in why (-EACCES: the
 * destination does not know the secret). */
int mig_auth_connect(struct mig_chan *c, const char *secret, size_t slen, char *why, size_t whylen);

#endif
