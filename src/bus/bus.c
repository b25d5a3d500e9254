#include "bus/bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *b)
{
    memset(b, 0, sizeof(*b));
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
                 void *opaque, const char *name)
{
    uint64_t end;
    int i, pos;

    if (len == 0 || __builtin_add_overflow(base, len - 1, &end))
        return -EINVAL;
    if (b->n == BUS_MAX_WINDOWS)
        return -ENOSPC;
    for (pos = 0; pos < b->n && b->win[pos].base < base; pos++)
        ;
    for (i = 0; i < b->n; i++) {
        const struct bus_window *w = &b->win[i];
        if (base <= w->base + (w->len - 1) && w->base <= end)
            return -EEXIST;
    }
    memmove(&b->win[pos + 1], &b->win[pos], (size_t)(b->n - pos) * sizeof(b->win[0]));
    b->win[pos] = (struct bus_window){base, len, ops, opaque, name};
    b->n++;
    return 0;
}

static const struct bus_window *bus_find(const struct bus *b, uint64_t addr, unsigned size)
{
    int lo = 0, hi = b->n - 1;

    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const struct bus_window *w = &b->win[mid];
        if (addr < w->base)
            hi = mid - 1;
        else if (addr - w->base >= w->len)
            lo = mid + 1;
        else
            return (addr - w->base) + size <= w->len ? w : NULL;
    }
    return NULL;
}

int bus_read(const struct bus *b, uint64_t addr, unsigned size, uint64_t *val)
{
    const struct bus_window *w = bus_find(b, addr, size);

    if (!w) {
        *val = 0;
        return -ENOENT;
    }
    *val = w->ops->read ? w->ops->read(w->opaque, addr - w->base, size) : 0;
    return 0;
}

int bus_write(const struct bus *b, uint64_t addr, unsigned size, uint64_t val)
{
    const struct bus_window *w = bus_find(b, addr, size);

    if (!w)
        return -ENOENT;
    if (w->ops->write)
        w->ops->write(w->opaque, addr - w->base, size, val);
    return 0;
}
