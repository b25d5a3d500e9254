#include "board/x86/virtio_devs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "board/x86/layout.h"

/* Queue notifications without an exit to user space; the BAR handler takes them otherwise. */
static void add_ioeventfds(const struct x86_virtio_host *h, struct virtio_dev *vdev, uint64_t bar)
{
    int fd;

    for (unsigned q = 0; (fd = virtio_queue_kick_fd(vdev, q)) >= 0; q++) {
        if (kvm_engine_ioeventfd(h->kvm, bar + virtio_pci_notify_offset(q), 2, false, false, 0, fd,
                                 false)) {
            log_warn("virtio-%s: queue %u notifications go through MMIO exits",
                     virtio_dev_name(vdev), q);
            return;
        }
    }
}

/* What add_slot() needs of the board (virtio_attach_fn's opaque pointer). */
struct attach_ctx {
    struct x86_virtio *v;
    const struct x86_virtio_host *h;
};

/* Puts a created device into the next PCI slot: transport, slot, BAR window, ioeventfds. */
static int add_slot(void *opaque, struct virtio_dev *vdev, void *dev, void (*destroy)(void *))
{
    struct attach_ctx *c = opaque;
    struct x86_virtio *v = c->v;
    const struct x86_virtio_host *h = c->h;
    int i = v->n, slot = X86_VIRTIO_SLOT_BASE + i, err;
    struct irq_line irq = {h->irq_set, h->irq_opaque, X86_PCI_GSI(slot, 0)};
    struct pci_dev *fn;
    uint64_t bar;

    if (i >= X86_VIRTIO_MAX) {
        log_err("board: more than %d virtio devices", X86_VIRTIO_MAX);
        destroy(dev);
        return -ENOSPC;
    }
    v->slot[i].dev = dev;
    v->slot[i].destroy = destroy;
    v->slot[i].vdev = vdev;
    v->n++;
    if (x86_irqfds_add(&v->irqfds, (unsigned)irq.line, &irq))
        log_warn("virtio-%s: interrupts go through KVM_IRQ_LINE", virtio_dev_name(vdev));
    err = virtio_pci_create(&v->slot[i].pci, vdev, &irq);
    if (err)
        return err;
    fn = virtio_pci_function(v->slot[i].pci);
    err = x86_pci_add(h->pci, slot, fn, (unsigned)irq.line);
    if (err) {
        log_err("board: PCI slot %d for virtio-%s: %s", slot, virtio_dev_name(vdev),
                strerror(-err));
        return err;
    }
    bar = fn->bar_addr[VIRTIO_PCI_BAR];
    err = bus_register(h->mmio, bar, VIRTIO_PCI_BAR_SIZE, &virtio_pci_bar_ops, v->slot[i].pci,
                       virtio_dev_name(vdev));
    if (err) {
        log_err("board: registering virtio-%s at 0x%llx: %s", virtio_dev_name(vdev),
                (unsigned long long)bar, strerror(-err));
        return err;
    }
    add_ioeventfds(h, vdev, bar);
    return 0;
}

int x86_virtio_create(struct x86_virtio *v, const struct virtio_devset_config *cfg,
                      const struct x86_virtio_host *host)
{
    int err;

    struct attach_ctx ctx = {v, host};

    memset(v, 0, sizeof(*v));
    x86_irqfds_init(&v->irqfds, host->kvm);
    err = virtio_devset_create(cfg, host->ram, add_slot, &ctx, &v->balloon);
    if (!err)
        err = x86_irqfds_start(&v->irqfds);
    if (err) {
        log_err("board: creating virtio devices failed: %s", strerror(-err));
        x86_virtio_destroy(v);
    }
    return err;
}

void x86_virtio_destroy(struct x86_virtio *v)
{
    for (int i = v->n - 1; i >= 0; i--) {
        /* the device first: its thread may still raise interrupts through the transport */
        v->slot[i].destroy(v->slot[i].dev);
        virtio_pci_destroy(v->slot[i].pci);
    }
    x86_irqfds_destroy(&v->irqfds);
    memset(v, 0, sizeof(*v));
}
