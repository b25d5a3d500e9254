#include "board/x86/virtio_devs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "board/x86/layout.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"

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

/* Puts a created device into the next PCI slot: transport, slot, BAR window, ioeventfds. */
static int add_slot(struct x86_virtio *v, const struct x86_virtio_host *h, struct virtio_dev *vdev,
                    void *dev, void (*destroy)(void *))
{
    int i = v->n, slot = X86_VIRTIO_SLOT_BASE + i, err;
    const struct irq_line irq = {h->irq_set, h->irq_opaque, X86_PCI_GSI(slot, 0)};
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

static int create_all(struct x86_virtio *v, const struct x86_virtio_config *cfg,
                      const struct x86_virtio_host *h)
{
    int err;

    for (int i = 0; i < cfg->ndisks; i++) {
        struct virtio_blk *b;
        char serial[24];

        snprintf(serial, sizeof(serial), "vessel-disk%d", i);
        err = virtio_blk_create(&b, cfg->disks[i], serial, h->ram);
        if (!err)
            err = add_slot(v, h, virtio_blk_dev(b), b, blk_destroy);
        if (err)
            return err;
    }
    if (cfg->rng) {
        struct virtio_rng *r;
        err = virtio_rng_create(&r, h->ram);
        if (!err)
            err = add_slot(v, h, virtio_rng_dev(r), r, rng_destroy);
        if (err)
            return err;
    }
    if (cfg->console_socket) {
        struct virtio_console *c;
        err = virtio_console_create(&c, cfg->console_socket, h->ram);
        if (!err)
            err = add_slot(v, h, virtio_console_dev(c), c, console_destroy);
        if (err)
            return err;
    }
    for (int i = 0; i < cfg->nnets; i++) {
        struct virtio_net *n;
        err = virtio_net_create(&n, cfg->nets[i], cfg->net_macs[i], h->ram);
        if (!err)
            err = add_slot(v, h, virtio_net_dev(n), n, net_destroy);
        if (err)
            return err;
    }
    if (cfg->balloon) {
        struct virtio_balloon *b;
        err = virtio_balloon_create(&b, h->ram, cfg->balloon_bytes);
        if (!err)
            err = add_slot(v, h, virtio_balloon_dev(b), b, balloon_destroy);
        if (err)
            return err;
        v->balloon = b;
    }
    return 0;
}

int x86_virtio_create(struct x86_virtio *v, const struct x86_virtio_config *cfg,
                      const struct x86_virtio_host *host)
{
    int err;

    memset(v, 0, sizeof(*v));
    err = create_all(v, cfg, host);
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
    memset(v, 0, sizeof(*v));
}
