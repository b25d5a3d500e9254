/* The x86 board's virtio transports: virtio-pci functions in PCI slots 1, 2, ... on bus 0, in
 * the order the VM creates the devices (virtio/devset.h), each with its BAR window on the MMIO
 * bus, one KVM ioeventfd per queue notification address and INTA# on the slot's IOAPIC input
 * through a KVM irqfd. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "board/x86/board_int.h"
#include "board/x86/layout.h"

static void board_irq(void *opaque, int line, int level)
{
    struct x86_board *b = opaque;

    kvm_engine_irq_line(b->kvm, (unsigned)line, level);
}

/* Queue notifications without an exit to user space; the BAR handler takes them otherwise. */
static void add_ioeventfds(struct x86_board *b, struct virtio_dev *vdev, uint64_t bar)
{
    int fd;

    for (unsigned q = 0; (fd = virtio_queue_kick_fd(vdev, q)) >= 0; q++) {
        if (kvm_engine_ioeventfd(b->kvm, bar + virtio_pci_notify_offset(q), 2, false, false, 0, fd,
                                 false)) {
            log_warn("virtio-%s: queue %u notifications go through MMIO exits",
                     virtio_dev_name(vdev), q);
            return;
        }
    }
}

int x86_virtio_attach(void *board, struct virtio_dev *vdev)
{
    struct x86_board *b = board;
    int i = b->nvirtio, slot = X86_VIRTIO_SLOT_BASE + i, err;
    struct irq_line irq = {board_irq, b, X86_PCI_GSI(slot, 0)};
    struct pci_dev *fn;
    uint64_t bar;

    if (i >= X86_VIRTIO_MAX) {
        log_err("board: more than %d virtio devices", X86_VIRTIO_MAX);
        return -ENOSPC;
    }
    if (x86_irqfds_add(&b->irqfds, (unsigned)irq.line, &irq))
        log_warn("virtio-%s: interrupts go through KVM_IRQ_LINE", virtio_dev_name(vdev));
    err = virtio_pci_create(&b->virtio[i], vdev, &irq);
    if (err)
        return err;
    b->nvirtio++;
    fn = virtio_pci_function(b->virtio[i]);
    err = x86_pci_add(&b->pci, slot, fn, (unsigned)irq.line);
    if (err) {
        log_err("board: PCI slot %d for virtio-%s: %s", slot, virtio_dev_name(vdev),
                strerror(-err));
        return err;
    }
    bar = fn->bar_addr[VIRTIO_PCI_BAR];
    err = bus_register(&b->mmio, bar, VIRTIO_PCI_BAR_SIZE, &virtio_pci_bar_ops, b->virtio[i],
                       virtio_dev_name(vdev));
    if (err) {
        log_err("board: registering virtio-%s at 0x%llx: %s", virtio_dev_name(vdev),
                (unsigned long long)bar, strerror(-err));
        return err;
    }
    add_ioeventfds(b, vdev, bar);
    return 0;
}

int x86_virtio_done(void *board)
{
    struct x86_board *b = board;
    int err = x86_irqfds_start(&b->irqfds);

    if (err)
        log_err("board: starting the virtio interrupt lines: %s", strerror(-err));
    return err;
}

void x86_virtio_destroy(struct x86_board *b)
{
    for (int i = b->nvirtio - 1; i >= 0; i--)
        virtio_pci_destroy(b->virtio[i]);
    b->nvirtio = 0;
    x86_irqfds_destroy(&b->irqfds);
}
