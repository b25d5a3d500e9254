#include "board/riscv/virtio_devs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

/* What add_slot() needs of the board (virtio_attach_fn's opaque pointer). */
struct attach_ctx {
    struct riscv_virtio *v;
    struct bus *bus;
    struct plic *plic;
};

/* Puts a created device into the next slot: transport, bus window, interrupt line. */
static int add_slot(void *opaque, struct virtio_dev *vdev, void *dev, void (*destroy)(void *))
{
    struct attach_ctx *c = opaque;
    struct riscv_virtio *v = c->v;
    struct bus *bus = c->bus;
    struct plic *plic = c->plic;
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

int riscv_virtio_create(struct riscv_virtio *v, const struct virtio_devset_config *cfg,
                        const struct gmem *ram, struct bus *bus, struct plic *plic)
{
    int err;

    struct attach_ctx ctx = {v, bus, plic};

    memset(v, 0, sizeof(*v));
    err = virtio_devset_create(cfg, ram, add_slot, &ctx, &v->balloon);
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
