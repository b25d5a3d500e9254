/* HMAC-SHA256 (RFC 2104, FIPS 180-4) from Debian's nettle, a constant-time comparison, and
 * random bytes from the kernel: what authenticating a peer and a stream needs. */
#ifndef VESSEL_BASE_HMAC256_H
#define VESSEL_BASE_HMAC256_H

#include <nettle/hmac.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HMAC256_LEN 32 /* SHA-256 */

/* A key, set once; then any number of messages, each update... then final. */
struct hmac256 {
    struct hmac_sha256_ctx ctx;
};

void hmac256_init(struct hmac256 *h, const void *key, size_t len);
void hmac256_update(struct hmac256 *h, const void *data, size_t len);
/* The message's tag; the key stays set for the next message. */
void hmac256_final(struct hmac256 *h, uint8_t tag[HMAC256_LEN]);
/* HMAC of one message in one call. */
void hmac256_once(const void *key, size_t keylen, const void *data, size_t len,
                  uint8_t tag[HMAC256_LEN]);
/* True when a and b (n bytes) are equal; the time taken does not depend on where they differ. */
bool hmac256_equal(const uint8_t *a, const uint8_t *b, size_t n);
/* Fills buf with n bytes from getrandom(); 0 or -errno. */
int hmac256_random(void *buf, size_t n);
/* Wipes n bytes of a secret in a way the compiler keeps. */
void hmac256_wipe(void *p, size_t n);

#endif
