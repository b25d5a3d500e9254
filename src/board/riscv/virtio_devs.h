/* The riscv board's virtio-mmio devices (the set and its order: virtio/devset.h), one
 * RISCV_VIRTIO_BASE slot and PLIC source each. */
#ifndef VESSEL_BOARD_RISCV_VIRTIO_DEVS_H
#define VESSEL_BOARD_RISCV_VIRTIO_DEVS_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/chardev/socket.h"
#include "backend/disk/disk.h"
#include "backend/net/net.h"
#include "board/riscv/layout.h"
#include "board/riscv/plic.h"
#include "bus/bus.h"
#include "mem/gmem.h"
#include "virtio/balloon.h"
#include "virtio/devset.h"
#include "virtio/mmio.h"

struct riscv_virtio {
    uint32_t slots; /* bit i: slot i is populated (for the device tree) */
    int n;
    struct {
        struct virtio_mmio *mmio;
        void *dev;
        void (*destroy)(void *dev);
        struct virtio_dev *vdev;
    } slot[RISCV_VIRTIO_SLOTS];
    struct virtio_balloon *balloon; /* the balloon device, for the control channel */
};

/* Creates every device of cfg and registers its window. On failure everything created is
 * destroyed again; returns 0 or -errno (logged). */
int riscv_virtio_create(struct riscv_virtio *v, const struct virtio_devset_config *cfg,
                        const struct gmem *ram, struct bus *bus, struct plic *plic);
/* Device reset (guest reboot): as if each driver had written status 0. */
void riscv_virtio_reset(struct riscv_virtio *v);
void riscv_virtio_destroy(struct riscv_virtio *v);

#endif
