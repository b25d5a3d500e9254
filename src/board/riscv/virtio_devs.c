#include "board/riscv/virtio_devs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"

/* Puts a created device into the next slot: transport, bus window, interrupt line. */
static int add_slot(struct riscv_virtio *v, struct bus *bus, struct plic *plic,
                    struct virtio_dev *vdev, void *dev, void (*destroy)(void *))
{
    int i = v->n, err;
    uint64_t base = RISCV_VIRTIO_BASE + (uint64_t)i * RISCV_VIRTIO_SIZE;
    const struct irq_line irq = {plic_set_level, plic, RISCV_IRQ_VIRTIO0 + i};

    if (i >= RISCV_VIRTIO_SLOTS) {
        log_err("board: more than %d virtio devices", RISCV_VIRTIO_SLOTS);
        destroy(dev);
        return -ENOSPC;
    }
    v->slot[i].dev = dev;
    v->slot[i].destroy = destroy;
    v->slot[i].vdev = vdev;
    v->n++;
    err = virtio_mmio_create(&v->slot[i].mmio, vdev, &irq);
    if (err)
        return err;
    err = bus_register(bus, base, RISCV_VIRTIO_SIZE, &virtio_mmio_bus_ops, v->slot[i].mmio,
                       virtio_dev_name(vdev));
    if (err) {
        log_err("board: registering virtio-%s at 0x%llx: %s", virtio_dev_name(vdev),
                (unsigned long long)base, strerror(-err));
        return err;
    }
    v->slots |= 1u << i;
    return 0;
}

static void blk_destroy(void *dev)
{
    virtio_blk_destroy(dev);
}

static void rng_destroy(void *dev)
{
    virtio_rng_destroy(dev);
}

static void console_destroy(void *dev)
{
    virtio_console_destroy(dev);
}

static void net_destroy(void *dev)
{
    virtio_net_destroy(dev);
}

static void balloon_destroy(void *dev)
{
    virtio_balloon_destroy(dev);
}

static int create_all(struct riscv_virtio *v, const struct riscv_virtio_config *cfg,
                      const struct gmem *ram, struct bus *bus, struct plic *plic)
{
    int err;

    for (int i = 0; i < cfg->ndisks; i++) {
        struct virtio_blk *b;
        char serial[24];

        snprintf(serial, sizeof(serial), "vessel-disk%d", i);
        err = virtio_blk_create(&b, cfg->disks[i], serial, ram);
        if (!err)
            err = add_slot(v, bus, plic, virtio_blk_dev(b), b, blk_destroy);
        if (err)
            return err;
    }
    if (cfg->rng) {
        struct virtio_rng *r;
        err = virtio_rng_create(&r, ram);
        if (!err)
            err = add_slot(v, bus, plic, virtio_rng_dev(r), r, rng_destroy);
        if (err)
            return err;
    }
    if (cfg->console_socket) {
        struct virtio_console *c;
        err = virtio_console_create(&c, cfg->console_socket, ram);
        if (!err)
            err = add_slot(v, bus, plic, virtio_console_dev(c), c, console_destroy);
        if (err)
            return err;
    }
    for (int i = 0; i < cfg->nnets; i++) {
        struct virtio_net *n;
        err = virtio_net_create(&n, cfg->nets[i], cfg->net_macs[i], ram);
        if (!err)
            err = add_slot(v, bus, plic, virtio_net_dev(n), n, net_destroy);
        if (err)
            return err;
    }
    if (cfg->balloon) {
        struct virtio_balloon *b;
        err = virtio_balloon_create(&b, ram, cfg->balloon_bytes);
        if (!err)
            err = add_slot(v, bus, plic, virtio_balloon_dev(b), b, balloon_destroy);
        if (err)
            return err;
        v->balloon = b;
    }
    return 0;
}

int riscv_virtio_create(struct riscv_virtio *v, const struct riscv_virtio_config *cfg,
                        const struct gmem *ram, struct bus *bus, struct plic *plic)
{
    int err;

    memset(v, 0, sizeof(*v));
    err = create_all(v, cfg, ram, bus, plic);
    if (err) {
        log_err("board: creating virtio devices failed: %s", strerror(-err));
        riscv_virtio_destroy(v);
    }
    return err;
}

void riscv_virtio_reset(struct riscv_virtio *v)
{
    for (int i = 0; i < v->n; i++)
        virtio_reg_write(v->slot[i].vdev, VIRTIO_REG_STATUS, 0);
}

void riscv_virtio_destroy(struct riscv_virtio *v)
{
    for (int i = v->n - 1; i >= 0; i--) {
        /* the device first: its thread may still raise interrupts through the transport */
        v->slot[i].destroy(v->slot[i].dev);
        virtio_mmio_destroy(v->slot[i].mmio);
    }
    memset(v, 0, sizeof(*v));
}
