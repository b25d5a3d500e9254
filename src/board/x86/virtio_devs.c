/* The x86 board's virtio transports: virtio-pci functions in PCI slots 1, 2, ... on bus 0, in
 * the order the VM creates the devices (virtio/devset.h), each with its BAR window on the MMIO
 * bus, one KVM ioeventfd per queue notification address, MSI-X vectors as KVM GSIs with MSI
 * routes and irqfds, and INTA# on the slot's IOAPIC input through a KVM irqfd (the fallback for
 * a driver that does not enable MSI-X). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "board/x86/board_int.h"
#include "board/x86/layout.h"

_Static_assert(X86_MSI_GSI_BASE == KVM_MSI_GSI_BASE, "the engine's MSI GSIs are the board's");
_Static_assert(X86_MSIX_MAX <= PCI_MSIX_MAX_VECTORS, "the vector table fits the BAR");

/* An MSI message targets the local APICs' window (0xfeeXXXXX, x86 "interrupt address" format);
 * anything else is a DMA write to nowhere and is dropped. */
static bool msi_addr_ok(uint64_t addr)
{
    return (addr >> 20) == (X86_LAPIC_ADDR >> 20);
}

static void msi_route(void *opaque, unsigned v, uint64_t addr, uint32_t data)
{
    struct x86_msi_fn *f = opaque;
    int ok = 0;

    if (v >= f->n)
        return;
    if (!msi_addr_ok(addr))
        log_guest_warn(
            "msi: vector %u of GSI %u: address 0x%llx is not an interrupt address; dropped", v,
            f->gsi + v, (unsigned long long)addr);
    else
        ok = !kvm_engine_msi_route(f->b->kvm, f->gsi + v, addr, data);
    __atomic_store_n(&f->valid[v], ok, __ATOMIC_RELEASE);
}

static void msi_signal(void *opaque, unsigned v)
{
    struct x86_msi_fn *f = opaque;
    uint64_t one = 1;

    if (v < f->n && __atomic_load_n(&f->valid[v], __ATOMIC_ACQUIRE) &&
        write(f->fd[v], &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_guest_warn("msi: GSI %u: eventfd write: %s", f->gsi + v, strerror(errno));
}

static const struct pci_msi_sink msi_sink = {.route = msi_route, .signal = msi_signal};

static void msi_fn_release(struct x86_msi_fn *f)
{
    for (unsigned v = 0; v < f->n; v++) {
        kvm_engine_irqfd(f->b->kvm, f->fd[v], f->gsi + v, -1, true);
        close(f->fd[v]);
    }
    f->n = 0;
}

/* One GSI and irqfd per vector of the function; false (logged) when KVM refuses them: the
 * function then has no MSI-X and uses INTx. */
static bool msi_fn_setup(struct x86_board *b, struct x86_msi_fn *f, unsigned nvec)
{
    *f = (struct x86_msi_fn){.b = b, .gsi = b->msi_next};
    if (nvec > X86_MSIX_MAX || f->gsi < X86_MSI_GSI_BASE ||
        f->gsi + nvec > X86_MSI_GSI_BASE + KVM_MAX_MSI_ROUTES)
        return false;
    for (; f->n < nvec; f->n++) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

        if (fd < 0) {
            log_err("msi: eventfd: %s", strerror(errno));
            break;
        }
        if (kvm_engine_irqfd(b->kvm, fd, f->gsi + f->n, -1, false)) {
            close(fd);
            break;
        }
        f->fd[f->n] = fd;
    }
    if (f->n < nvec) {
        msi_fn_release(f);
        return false;
    }
    b->msi_next += nvec;
    return true;
}

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
    bool msi;

    if (i >= X86_VIRTIO_MAX) {
        log_err("board: more than %d virtio devices", X86_VIRTIO_MAX);
        return -ENOSPC;
    }
    if (x86_irqfds_add(&b->irqfds, (unsigned)irq.line, &irq))
        log_warn("virtio-%s: interrupts go through KVM_IRQ_LINE", virtio_dev_name(vdev));
    msi = msi_fn_setup(b, &b->msi[i], virtio_pci_msix_vectors(vdev));
    if (!msi)
        log_warn("virtio-%s: no MSI-X (KVM took no irqfd for its vectors): INTx only",
                 virtio_dev_name(vdev));
    err = virtio_pci_create(&b->virtio[i], vdev, &irq, msi ? &msi_sink : NULL, &b->msi[i]);
    if (err) {
        msi_fn_release(&b->msi[i]);
        return err;
    }
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
    for (int i = b->nvirtio - 1; i >= 0; i--) {
        virtio_pci_destroy(b->virtio[i]);
        msi_fn_release(&b->msi[i]);
    }
    b->nvirtio = 0;
    x86_irqfds_destroy(&b->irqfds);
}
