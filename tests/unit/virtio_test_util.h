/* What the virtio transport tests (test_virtio_mmio.c, test_virtio_pci.c) share: a small guest
 * RAM with room for one queue's rings, an interrupt line that records its level, and a test
 * device that counts its queue kicks. Each test file includes this once. */
#ifndef VESSEL_TESTS_VIRTIO_TEST_UTIL_H
#define VESSEL_TESTS_VIRTIO_TEST_UTIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "mem/gmem.h"
#include "virtio/virtio.h"

#define GBASE 0x40000ull
#define GSIZE 0x20000ull
#define DESC  (GBASE + 0x0)
#define AVAIL (GBASE + 0x1000)
#define USED  (GBASE + 0x2000)

static uint8_t ram[GSIZE] __attribute__((aligned(16)));
static struct gmem mem = {.base = GBASE, .size = GSIZE, .hva = ram, .fd = -1};
static atomic_int kicks, irq_level, irq_gsi;

static void fake_irq(void *opaque, int line, int level)
{
    (void)opaque;
    atomic_store(&irq_gsi, line);
    atomic_store(&irq_level, level);
}

static void t_kick(struct virtio_dev *d, unsigned q)
{
    (void)d;
    (void)q;
    atomic_fetch_add(&kicks, 1);
}

/* The test device: two queues of up to 64 entries, feature bit 3, 12 bytes of config. */
#define TEST_DEV_OPS(name_, id_)                                                                   \
    {                                                                                              \
        .name = name_, .device_id = id_, .num_queues = 2, .queue_max = 64, .features = 1ull << 3,  \
        .config_size = 12, .queue_kick = t_kick,                                                   \
    }

/* A clean RAM and counters, and a created device with config bytes 1..12. */
static void test_dev_create(struct virtio_dev **d, const struct virtio_dev_ops *ops)
{
    const uint8_t cfg[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

    memset(ram, 0, sizeof(ram));
    atomic_store(&kicks, 0);
    atomic_store(&irq_level, 0);
    atomic_store(&irq_gsi, 0);
    CHECK_EQ(virtio_dev_create(d, ops, NULL, &mem), 0);
    virtio_dev_config_set(*d, 0, cfg, sizeof(cfg));
}

/* Waits (bounded: 2 s) until *v reaches want; the device thread counts asynchronously. */
static bool wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 2000; i++) {
        if (atomic_load(v) >= want)
            return true;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return false;
}

#endif
