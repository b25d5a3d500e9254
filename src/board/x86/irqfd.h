/* Level-triggered device interrupts through KVM irqfds with resampling: raising a line writes
 * its eventfd (no ioctl, no VMM round trip); KVM keeps the IOAPIC pin asserted until the
 * guest's EOI, then signals the resample eventfd and a small thread raises the line again if
 * the device still wants it. Lines that share a pin (PCI INTx) are ORed by KVM. */
#ifndef VESSEL_BOARD_X86_IRQFD_H
#define VESSEL_BOARD_X86_IRQFD_H

#include <pthread.h>

#include "dev/irq.h"
#include "engine/kvm/kvm.h"

#define X86_IRQFD_MAX 32

struct x86_irqfd_line {
    int fd, resample_fd;
    unsigned gsi;
    int level; /* atomic */
};

struct x86_irqfds {
    struct kvm_engine *kvm;
    struct x86_irqfd_line line[X86_IRQFD_MAX];
    int n;
    int stop_fd;
    pthread_t thread;
    int started;
};

void x86_irqfds_init(struct x86_irqfds *f, struct kvm_engine *kvm);
/* A new line on pin gsi; *out is what the device raises. Returns 0 or -errno (logged; the
 * caller may fall back to KVM_IRQ_LINE). */
int x86_irqfds_add(struct x86_irqfds *f, unsigned gsi, struct irq_line *out);
/* Starts the resample thread once every line is added. Returns 0 or -errno (logged). */
int x86_irqfds_start(struct x86_irqfds *f);
/* Stops the resample thread and releases the irqfds (after the devices are gone). */
void x86_irqfds_destroy(struct x86_irqfds *f);

#endif
