/* MMIO dispatch: a sorted table of non-overlapping windows. Devices see offsets within their
 * window. Registration happens before vCPUs run; lookups take no lock. */
#ifndef VESSEL_BUS_BUS_H
#define VESSEL_BUS_BUS_H

#include <stdint.h>

struct bus_ops {
    /* size is 1, 2, 4 or 8; off + size <= window length. Devices lock themselves. */
    uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
    void (*write)(void *opaque, uint64_t off, unsigned size, uint64_t val);
};

struct bus_window {
    uint64_t base, len;
    const struct bus_ops *ops;
    void *opaque;
    const char *name;
};

#define BUS_MAX_WINDOWS 64

struct bus {
    struct bus_window win[BUS_MAX_WINDOWS];
    int n;
};

void bus_init(struct bus *b);
/* Returns 0, -EEXIST on overlap, -ENOSPC when full, -EINVAL for an empty or wrapping window. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
                 void *opaque, const char *name);
/* Return 0, or -ENOENT when no window holds [addr, addr+size). */
int bus_read(const struct bus *b, uint64_t addr, unsigned size, uint64_t *val);
int bus_write(const struct bus *b, uint64_t addr, unsigned size, uint64_t val);

#endif
