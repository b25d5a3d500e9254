/* Little-endian byte buffers for device save/load: a writer and a reader that never run past
 * their capacity. A failed put or get sets err and leaves the buffer unchanged from then on, so
 * a caller checks once at the end. */
#ifndef VESSEL_BASE_SBUF_H
#define VESSEL_BASE_SBUF_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

struct sbuf {
    uint8_t *p;       /* writer: the buffer */
    const uint8_t *q; /* reader: the bytes */
    size_t len, cap;  /* bytes written or read so far; buffer size */
    bool err;
};

static inline struct sbuf sbuf_writer(void *buf, size_t cap)
{
    return (struct sbuf){.p = buf, .cap = cap};
}

static inline struct sbuf sbuf_reader(const void *buf, size_t len)
{
    return (struct sbuf){.q = buf, .cap = len};
}

static inline void sbuf_put(struct sbuf *b, uint64_t v, unsigned n)
{
    if (b->err || b->cap - b->len < n) {
        b->err = true;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t sbuf_get(struct sbuf *b, unsigned n)
{
    uint64_t v = 0;

    if (b->err || b->cap - b->len < n) {
        b->err = true;
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b->q[b->len++] << (8 * i);
    return v;
}

static inline void sbuf_put_bytes(struct sbuf *b, const void *src, size_t n)
{
    if (b->err || b->cap - b->len < n) {
        b->err = true;
        return;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static inline void sbuf_get_bytes(struct sbuf *b, void *dst, size_t n)
{
    if (b->err || b->cap - b->len < n) {
        b->err = true;
        return;
    }
    memcpy(dst, b->q + b->len, n);
    b->len += n;
}

/* Writer: the length written, or -ENOSPC. */
static inline ssize_t sbuf_result(const struct sbuf *b)
{
    return b->err ? -ENOSPC : (ssize_t)b->len;
}

/* Reader: true when every get succeeded and every byte was consumed. */
static inline bool sbuf_done(const struct sbuf *b)
{
    return !b->err && b->len == b->cap;
}

#endif
