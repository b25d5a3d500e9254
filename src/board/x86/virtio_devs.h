/* The x86 board's virtio-pci devices (the set and its order: virtio/devset.h): PCI slots
 * 1, 2, ... on bus 0, each with its BAR window on the MMIO bus, one KVM ioeventfd per queue
 * notification address and INTA# on the slot's IOAPIC input. */
#ifndef VESSEL_BOARD_X86_VIRTIO_DEVS_H
#define VESSEL_BOARD_X86_VIRTIO_DEVS_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/chardev/socket.h"
#include "backend/disk/disk.h"
#include "backend/net/net.h"
#include "board/x86/irqfd.h"
#include "board/x86/pci.h"
#include "bus/bus.h"
#include "engine/kvm/kvm.h"
#include "mem/gmem.h"
#include "virtio/balloon.h"
#include "virtio/devset.h"
#include "virtio/pci.h"

#define X86_VIRTIO_MAX       16 /* devices; they take PCI slots 1..X86_VIRTIO_MAX */
#define X86_VIRTIO_SLOT_BASE 1

/* Where the devices go: the host bridge, the MMIO bus, the engine (ioeventfds) and the
 * interrupt inputs (irq_set(irq_opaque, gsi, level)). */
struct x86_virtio_host {
    const struct gmem *ram;
    struct x86_pci *pci;
    struct bus *mmio;
    struct kvm_engine *kvm;
    void (*irq_set)(void *opaque, int gsi, int level);
    void *irq_opaque;
};

struct x86_virtio {
    int n;
    struct {
        struct virtio_pci *pci;
        void *dev;
        void (*destroy)(void *dev);
        struct virtio_dev *vdev;
    } slot[X86_VIRTIO_MAX];
    struct virtio_balloon *balloon;
    struct x86_irqfds irqfds; /* INTx through KVM irqfds */
};

/* Creates every device of cfg; on failure destroys what it created. Returns 0 or -errno
 * (logged). */
int x86_virtio_create(struct x86_virtio *v, const struct virtio_devset_config *cfg,
                      const struct x86_virtio_host *host);
/* Destroy before the engine: device threads raise interrupts through it. */
void x86_virtio_destroy(struct x86_virtio *v);

#endif
