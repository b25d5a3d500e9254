#include <errno.h>

#include "bus/bus.h"
#include "harness.h"

static uint64_t last_off;
static unsigned last_size;

static uint64_t dummy_read(void *opaque, uint64_t off, unsigned size)
{
    last_off = off;
    last_size = size;
    return (uint64_t)(uintptr_t)opaque + off;
}

static const struct bus_ops dummy_ops = {.read = dummy_read};

TEST(bus_dispatch_and_bounds)
{
    struct bus b;
    uint64_t v;

    bus_init(&b);
    CHECK_EQ(bus_register(&b, 0x2000, 0x100, &dummy_ops, (void *)0x1000, "b"), 0);
    CHECK_EQ(bus_register(&b, 0x1000, 0x100, &dummy_ops, (void *)0x5000, "a"), 0);
    CHECK_EQ(bus_register(&b, 0x10f0, 0x20, &dummy_ops, NULL, "overlap"), -EEXIST);
    CHECK_EQ(bus_register(&b, 0, 0, &dummy_ops, NULL, "empty"), -EINVAL);
    CHECK_EQ(bus_register(&b, ~0ULL, 2, &dummy_ops, NULL, "wrap"), -EINVAL);
    CHECK_EQ(bus_read(&b, 0x2010, 4, &v), 0);
    CHECK_EQ(v, 0x1010);
    CHECK_EQ(last_off, 0x10);
    CHECK_EQ(last_size, 4);
    CHECK_EQ(bus_read(&b, 0x1004, 8, &v), 0);
    CHECK_EQ(v, 0x5004);
    /* straddling the end of a window, or in a hole */
    CHECK_EQ(bus_read(&b, 0x10fc, 8, &v), -ENOENT);
    CHECK_EQ(bus_read(&b, 0x1800, 4, &v), -ENOENT);
    CHECK_EQ(bus_write(&b, 0x3000, 4, 1), -ENOENT);
}
