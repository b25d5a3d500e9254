/* The riscv board's virtio transports: virtio-mmio, one RISCV_VIRTIO_BASE slot and PLIC
 * source per device, in the order the VM creates them (virtio/devset.h); and the board's own
 * virtio device, the power button, in a window of its own (RISCV_BUTTON_BASE). */
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

int riscv_button_create(struct riscv_board *b)
{
    static const uint16_t keys[] = {INPUT_KEY_POWER};
    const struct irq_line irq = {plic_set_level, &b->plic, RISCV_IRQ_BUTTON};
    int err;

    err = virtio_input_create(&b->button, b->ram, "Vessel Power Button", keys, 1, 0x0001);
    if (err) {
        log_err("board: creating the power button: %s", strerror(-err));
        return err;
    }
    err = virtio_mmio_create(&b->button_mmio, virtio_input_dev(b->button), &irq);
    if (!err)
        err = bus_register(&b->bus, RISCV_BUTTON_BASE, RISCV_BUTTON_SIZE, &virtio_mmio_bus_ops,
                           b->button_mmio, "power-button");
    if (err)
        log_err("board: the power button at 0x%llx: %s", (unsigned long long)RISCV_BUTTON_BASE,
                strerror(-err));
    return err;
}

void riscv_button_destroy(struct riscv_board *b)
{
    if (b->button_mmio)
        virtio_mmio_destroy(b->button_mmio);
    virtio_input_destroy(b->button);
    b->button_mmio = NULL;
    b->button = NULL;
}
