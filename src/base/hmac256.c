/* HMAC-SHA256 and friends (base/hmac256.h). */
#include "base/hmac256.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void hmac256_init(struct hmac256 *h, const void *key, size_t len)
{
    hmac_sha256_set_key(&h->ctx, len, key);
}

void hmac256_update(struct hmac256 *h, const void *data, size_t len)
{
    hmac_sha256_update(&h->ctx, len, data);
}

void hmac256_final(struct hmac256 *h, uint8_t tag[HMAC256_LEN])
{
    hmac_sha256_digest(&h->ctx, HMAC256_LEN, tag); /* nettle resets it to the keyed state */
}

void hmac256_once(const void *key, size_t keylen, const void *data, size_t len,
                  uint8_t tag[HMAC256_LEN])
{
    struct hmac256 h;

    hmac256_init(&h, key, keylen);
    hmac256_update(&h, data, len);
    hmac256_final(&h, tag);
    hmac256_wipe(&h, sizeof(h));
}

bool hmac256_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= a[i] ^ b[i];
    return acc == 0;
}

int hmac256_random(void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void hmac256_wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}
