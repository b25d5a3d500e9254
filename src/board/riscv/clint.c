#include "board/riscv/clint.h"

#include <errno.h>
#include <string.h>

#include "base/sbuf.h"

int clint_init(struct clint *c, int nharts, const struct clint_ops *ops, void *opaque)
{
    if (nharts < 1 || nharts > (int)(sizeof(c->s.msip) / sizeof(c->s.msip[0])))
        return -EINVAL;
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->nharts = nharts;
    c->ops = ops;
    c->opaque = opaque;
    return 0;
}

void clint_destroy(struct clint *c)
{
    pthread_mutex_destroy(&c->lock);
}

void clint_reset(struct clint *c)
{
    pthread_mutex_lock(&c->lock);
    for (int h = 0; h < c->nharts; h++) {
        c->s.msip[h] = 0;
        c->ops->set_msip(c->opaque, h, 0);
    }
    pthread_mutex_unlock(&c->lock);
}

ssize_t clint_save(struct clint *c, void *buf, size_t cap)
{
    struct sbuf b = sbuf_writer(buf, cap);

    pthread_mutex_lock(&c->lock);
    sbuf_put(&b, CLINT_SAVE_VERSION, 4);
    sbuf_put(&b, (uint32_t)c->nharts, 4);
    for (int h = 0; h < c->nharts; h++)
        sbuf_put(&b, c->s.msip[h], 4);
    pthread_mutex_unlock(&c->lock);
    return sbuf_result(&b);
}

int clint_load(struct clint *c, const void *buf, size_t len)
{
    struct sbuf b = sbuf_reader(buf, len);
    uint32_t msip[64];

    if (sbuf_get(&b, 4) != CLINT_SAVE_VERSION || sbuf_get(&b, 4) != (uint32_t)c->nharts)
        return -EINVAL;
    for (int h = 0; h < c->nharts; h++) {
        msip[h] = (uint32_t)sbuf_get(&b, 4);
        if (msip[h] > 1)
            return -EINVAL;
    }
    if (!sbuf_done(&b))
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    for (int h = 0; h < c->nharts; h++) {
        c->s.msip[h] = msip[h];
        c->ops->set_msip(c->opaque, h, (int)msip[h]);
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* Reads a 64-bit register through an access of size bytes at byte offset 0 or 4 in it. */
static uint64_t sub_read(uint64_t reg, uint64_t byte, unsigned size)
{
    if (size == 8)
        return byte ? 0 : reg;
    return (uint32_t)(reg >> (8 * byte));
}

static uint64_t sub_write(uint64_t reg, uint64_t byte, unsigned size, uint64_t val)
{
    if (size == 8)
        return byte ? reg : val;
    if (byte)
        return (reg & 0xffffffffULL) | (val << 32);
    return (reg & ~0xffffffffULL) | (uint32_t)val;
}

uint64_t clint_read(void *opaque, uint64_t off, unsigned size)
{
    struct clint *c = opaque;
    uint64_t val = 0;

    if ((size != 4 && size != 8) || (off & (size - 1)))
        return 0;
    pthread_mutex_lock(&c->lock);
    if (off < CLINT_MTIMECMP) {
        uint64_t h = off / 4;
        if (size == 4 && h < (uint64_t)c->nharts)
            val = c->s.msip[h];
    } else if (off >= CLINT_MTIME) {
        if (off < CLINT_MTIME + 8)
            val = sub_read(c->ops->get_mtime(c->opaque), off - CLINT_MTIME, size);
    } else {
        uint64_t h = (off - CLINT_MTIMECMP) / 8;
        if (h < (uint64_t)c->nharts)
            val = sub_read(c->ops->get_mtimecmp(c->opaque, (int)h), off % 8, size);
    }
    pthread_mutex_unlock(&c->lock);
    return val;
}

void clint_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct clint *c = opaque;

    if ((size != 4 && size != 8) || (off & (size - 1)))
        return;
    pthread_mutex_lock(&c->lock);
    if (off < CLINT_MTIMECMP) {
        uint64_t h = off / 4;
        if (size == 4 && h < (uint64_t)c->nharts) {
            c->s.msip[h] = (uint32_t)val & 1;
            c->ops->set_msip(c->opaque, (int)h, (int)(val & 1));
        }
    } else if (off >= CLINT_MTIME) {
        if (off < CLINT_MTIME + 8) {
            uint64_t t = c->ops->get_mtime(c->opaque);
            c->ops->set_mtime(c->opaque, sub_write(t, off - CLINT_MTIME, size, val));
        }
    } else {
        uint64_t h = (off - CLINT_MTIMECMP) / 8;
        if (h < (uint64_t)c->nharts) {
            uint64_t cmp = c->ops->get_mtimecmp(c->opaque, (int)h);
            c->ops->set_mtimecmp(c->opaque, (int)h, sub_write(cmp, off % 8, size, val));
        }
    }
    pthread_mutex_unlock(&c->lock);
}

const struct bus_ops clint_bus_ops = {
    .read = clint_read,
    .write = clint_write,
};
