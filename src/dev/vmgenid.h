/* VM generation ID ("microsoft,vmgenid" in the device tree): a read-only 16-byte GUID in an
 * MMIO window and an interrupt line. The GUID changes when the VM is cloned from a snapshot;
 * the interrupt tells the guest to read it again (Linux's drivers/virt/vmgenid.c then reseeds
 * its RNG and sends a NEW_VMGENID uevent). The binding has no acknowledge register, and the
 * PLIC's gateways are level-triggered, so the line stays high until the guest reads the GUID
 * (Linux's interrupt handler does exactly that): any read of the window lowers it. */
#ifndef VESSEL_DEV_VMGENID_H
#define VESSEL_DEV_VMGENID_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus/bus.h"
#include "dev/irq.h"

#define VMGENID_SIZE 16 /* bytes of the GUID at offset 0; the rest of the window reads 0 */

struct vmgenid {
    pthread_mutex_t lock;
    uint8_t guid[VMGENID_SIZE];
    uint8_t irq_level; /* a new GUID the guest has not read yet */
    struct irq_line irq;
};

extern const struct bus_ops vmgenid_bus_ops;

/* A random GUID (getrandom), line low. Returns 0 or -errno (no randomness: logged). */
int vmgenid_init(struct vmgenid *v, const struct irq_line *irq);
void vmgenid_destroy(struct vmgenid *v);
/* Guest reboot: the GUID stays (the VM is the same one), the line goes low. */
void vmgenid_reset(struct vmgenid *v);
/* The VM was cloned: a new random GUID, and the line high until the guest reads it. Returns
 * 0 or -errno (logged). */
int vmgenid_new_generation(struct vmgenid *v);
/* The current GUID (for logs and tests). */
void vmgenid_get(struct vmgenid *v, uint8_t guid[VMGENID_SIZE]);

/* Snapshot state (version VMGENID_SAVE_VERSION): u32 version, the 16 GUID bytes, u8 line
 * level. load drives the line; 0 or -EINVAL. */
#define VMGENID_SAVE_VERSION 1
#define VMGENID_SAVE_MAX     21
ssize_t vmgenid_save(struct vmgenid *v, void *buf, size_t cap);
int vmgenid_load(struct vmgenid *v, const void *buf, size_t len);

uint64_t vmgenid_read(void *opaque, uint64_t off, unsigned size);
void vmgenid_write(void *opaque, uint64_t off, unsigned size, uint64_t val);

#endif
