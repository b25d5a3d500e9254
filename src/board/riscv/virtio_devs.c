/* The riscv board's virtio transports: virtio-mmio, one RISCV_VIRTIO_BASE slot and PLIC
 * source per device, in the order the VM creates them (virtio/devset.h). */
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "board/riscv/board_int.h"

int riscv_virtio_attach(void *board, struct virtio_dev *vdev)
{
    struct riscv_board *b = board;
    int i = b->nvirtio, err;
    uint64_t base = RISCV_VIRTIO_BASE + (uint64_t)i * RISCV_VIRTIO_SIZE;
    const struct irq_line irq = {plic_set_level, &b->plic, RISCV_IRQ_VIRTIO0 + i};

    if (i >= RISCV_VIRTIO_SLOTS) {
        log_err("board: more than %d virtio devices", RISCV_VIRTIO_SLOTS);
        return -ENOSPC;
    }
    err = virtio_mmio_create(&b->mmio[i], vdev, &irq);
    if (err)
        return err;
    b->nvirtio++;
    err = bus_register(&b->bus, base, RISCV_VIRTIO_SIZE, &virtio_mmio_bus_ops, b->mmio[i],
                       virtio_dev_name(vdev));
    if (err)
        log_err("board: registering virtio-%s at 0x%llx: %s", virtio_dev_name(vdev),
                (unsigned long long)base, strerror(-err));
    return err;
}

void riscv_virtio_destroy(struct riscv_board *b)
{
    for (int i = b->nvirtio - 1; i >= 0; i--)
        virtio_mmio_destroy(b->mmio[i]);
    b->nvirtio = 0;
}
