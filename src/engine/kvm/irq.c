/* kvm engine: interrupts - the level of an IRQ chip input (KVM_IRQ_LINE), irqfds, the GSI routing
 * table with the board's MSI routes - and ioeventfds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "engine/kvm/kvm_int.h"

#define IOAPIC_PINS 24
#define PIC_IRQS    16

int kvm_engine_irq_line(struct kvm_engine *e, unsigned gsi, int level)
{
    struct kvm_irq_level l = {.irq = gsi, .level = (uint32_t) !!level};

    if (ioctl(e->vm_fd, KVM_IRQ_LINE, &l) < 0) {
        int err = -errno;
        log_guest_err("kvm: KVM_IRQ_LINE gsi %u level %d: %s", gsi, level, strerror(errno));
        return err;
    }
    return 0;
}

int kvm_engine_irqfd(struct kvm_engine *e, int fd, unsigned gsi, int resamplefd, bool deassign)
{
    struct kvm_irqfd f = {.fd = (uint32_t)fd, .gsi = gsi};

    if (deassign)
        f.flags |= KVM_IRQFD_FLAG_DEASSIGN;
    else if (resamplefd >= 0) {
        f.flags |= KVM_IRQFD_FLAG_RESAMPLE;
        f.resamplefd = (uint32_t)resamplefd;
    }
    if (ioctl(e->vm_fd, KVM_IRQFD, &f) < 0) {
        int err = -errno;
        log_err("kvm: KVM_IRQFD fd %d gsi %u%s: %s", fd, gsi, deassign ? " (deassign)" : "",
                strerror(errno));
        return err;
    }
    return 0;
}

int kvm_engine_ioeventfd(struct kvm_engine *e, uint64_t addr, unsigned len, bool pio, bool match,
                         uint64_t datamatch, int fd, bool deassign)
{
    struct kvm_ioeventfd io = {.datamatch = datamatch, .addr = addr, .len = len, .fd = fd};

    if (len != 1 && len != 2 && len != 4 && len != 8)
        return -EINVAL;
    if (pio)
        io.flags |= KVM_IOEVENTFD_FLAG_PIO;
    if (match)
        io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    if (deassign)
        io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    if (ioctl(e->vm_fd, KVM_IOEVENTFD, &io) < 0) {
        int err = -errno;
        log_err("kvm: KVM_IOEVENTFD %s 0x%llx/%u: %s", pio ? "port" : "mmio",
                (unsigned long long)addr, len, strerror(errno));
        return err;
    }
    return 0;
}

/* The routes KVM_CREATE_IRQCHIP sets up (KVM_SET_GSI_ROUTING replaces the whole table, so they
 * are sent again with every change): GSI n to IOAPIC pin n (0..23), and GSIs 0..15 also to the
 * master (0..7) or slave (8..15) PIC. */
static unsigned default_routes(struct kvm_irq_routing_entry *r)
{
    unsigned n = 0;

    for (unsigned gsi = 0; gsi < IOAPIC_PINS; gsi++) {
        r[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi,
            .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi}};
        if (gsi < PIC_IRQS)
            r[n++] = (struct kvm_irq_routing_entry){
                .gsi = gsi,
                .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                              .pin = gsi % 8}};
    }
    return n;
}

int kvm_engine_msi_route(struct kvm_engine *e, unsigned gsi, uint64_t addr, uint32_t data)
{
    struct kvm_irq_routing *t;
    unsigned n, i;
    int err = 0;

    if (gsi < KVM_MSI_GSI_BASE || gsi >= KVM_MSI_GSI_BASE + KVM_MAX_MSI_ROUTES) {
        log_err("kvm: MSI route for GSI %u: outside GSIs %u..%u", gsi, KVM_MSI_GSI_BASE,
                KVM_MSI_GSI_BASE + KVM_MAX_MSI_ROUTES - 1);
        return -EINVAL;
    }
    t = calloc(1, sizeof(*t) + (IOAPIC_PINS + PIC_IRQS + KVM_MAX_MSI_ROUTES) *
                                   sizeof(struct kvm_irq_routing_entry));
    if (!t)
        return -ENOMEM;
    pthread_mutex_lock(&e->route_lock);
    i = gsi - KVM_MSI_GSI_BASE;
    e->msi[i] = (struct kvm_msi_route){true, addr, data};
    n = default_routes(t->entries);
    for (i = 0; i < KVM_MAX_MSI_ROUTES; i++) {
        if (!e->msi[i].used)
            continue;
        t->entries[n++] =
            (struct kvm_irq_routing_entry){.gsi = KVM_MSI_GSI_BASE + i,
                                           .type = KVM_IRQ_ROUTING_MSI,
                                           .u.msi = {.address_lo = (uint32_t)e->msi[i].addr,
                                                     .address_hi = (uint32_t)(e->msi[i].addr >> 32),
                                                     .data = e->msi[i].data}};
    }
    t->nr = n;
    if (ioctl(e->vm_fd, KVM_SET_GSI_ROUTING, t) < 0) {
        err = -errno;
        log_guest_err("kvm: KVM_SET_GSI_ROUTING (%u routes, MSI gsi %u to 0x%llx data 0x%x): %s", n,
                      gsi, (unsigned long long)addr, data, strerror(errno));
    }
    pthread_mutex_unlock(&e->route_lock);
    free(t);
    return err;
}
