/* virtio-pci, modern transport only (virtio 1.2, section 4.1): a PCI function 1af4:(1040 + the
 * virtio device ID), revision 1, whose registers live in one 64-bit memory BAR (BAR 4, 16 KiB,
 * four 4 KiB regions like QEMU's layout):
 *
 *   0x0000  common configuration (struct virtio_pci_common_cfg), decoded into the core's
 *           generic registers (virtio.h enum virtio_reg)
 *   0x1000  ISR status: one byte, read-to-clear; it drives the INTx line (level)
 *   0x1800  MSI-X table (16 bytes per vector), 0x1c00 its pending bit array
 *   0x2000  device-specific configuration
 *   0x3000  notification: queue q at 0x3000 + 4 * q (notify_off = q, multiplier 4), so that the
 *           board can attach one KVM ioeventfd per queue without data matching
 *
 * Vendor-specific capabilities (cap_vndr 0x09) describe the regions, plus the
 * VIRTIO_PCI_CAP_PCI_CFG window through which a driver reaches the BAR via config space, and
 * (when the board gives an MSI sink) an MSI-X capability, last in the list, with one vector per
 * queue plus one for configuration changes (bus/pci_msix.h). The driver assigns vectors through
 * config_msix_vector and queue_msix_vector (a vector the table does not have reads back as
 * NO_VECTOR, 0xffff; a device reset sets them all to NO_VECTOR). With MSI-X enabled each
 * interrupt goes to its reason's vector (none for NO_VECTOR) and the ISR status stays clear;
 * with MSI-X disabled - a driver that does not use it - the ISR status drives INTA# (level),
 * unless the command register's INTx disable bit is set. */
#ifndef VESSEL_VIRTIO_PCI_H
#define VESSEL_VIRTIO_PCI_H

#include <stdint.h>

#include "bus/bus.h"
#include "bus/pci.h"
#include "bus/pci_msix.h"
#include "dev/irq.h"
#include "virtio/virtio.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + virtio device ID */
#define VIRTIO_PCI_REVISION    1

/* capability cfg_type values */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5
#define VIRTIO_PCI_CAP_VNDR       0x09
#define VIRTIO_PCI_CAP_LEN        16 /* struct virtio_pci_cap */
#define VIRTIO_PCI_NOTIFY_CAP_LEN 20 /* + notify_off_multiplier */
#define VIRTIO_PCI_CFG_CAP_LEN    20 /* + pci_cfg_data[4] */

/* struct virtio_pci_common_cfg offsets */
#define VIRTIO_PCI_COMMON_DFSELECT      0x00
#define VIRTIO_PCI_COMMON_DF            0x04
#define VIRTIO_PCI_COMMON_GFSELECT      0x08
#define VIRTIO_PCI_COMMON_GF            0x0c
#define VIRTIO_PCI_COMMON_MSIX          0x10
#define VIRTIO_PCI_COMMON_NUMQ          0x12
#define VIRTIO_PCI_COMMON_STATUS        0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT      0x16
#define VIRTIO_PCI_COMMON_Q_SIZE        0x18
#define VIRTIO_PCI_COMMON_Q_MSIX        0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE      0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF        0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO      0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI      0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO     0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI     0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO      0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI      0x34
#define VIRTIO_PCI_COMMON_Q_NDATA       0x38
#define VIRTIO_PCI_COMMON_Q_RESET       0x3a
#define VIRTIO_PCI_COMMON_LEN           0x3c
#define VIRTIO_PCI_NO_VECTOR            0xffff

/* The BAR */
#define VIRTIO_PCI_BAR            4
#define VIRTIO_PCI_BAR_SIZE       0x4000
#define VIRTIO_PCI_COMMON_OFF     0x0000
#define VIRTIO_PCI_ISR_OFF        0x1000
#define VIRTIO_PCI_DEVICE_OFF     0x2000
#define VIRTIO_PCI_NOTIFY_OFF     0x3000
#define VIRTIO_PCI_REGION_SIZE    0x1000
#define VIRTIO_PCI_NOTIFY_MULT    4
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x1800 /* room for PCI_MSIX_MAX_VECTORS entries */
#define VIRTIO_PCI_MSIX_PBA_OFF   0x1c00

struct virtio_pci;

/* Attaches d to a new transport whose INTx output is irq, and fills its PCI function (header,
 * BAR 4, capabilities). With msi (may be NULL: INTx only) the function has MSI-X with
 * virtio_pci_msix_vectors(d) vectors delivered through that sink. The board then places
 * virtio_pci_function() on its host bridge and registers the BAR window: bus_register(mmio,
 * bar_addr[VIRTIO_PCI_BAR], VIRTIO_PCI_BAR_SIZE, &virtio_pci_bar_ops, vp, name). Returns 0 or
 * -errno. */
int virtio_pci_create(struct virtio_pci **out, struct virtio_dev *d, const struct irq_line *irq,
                      const struct pci_msi_sink *msi, void *msi_opaque);
/* MSI-X vectors a function of d gets: one per queue and one for configuration changes. */
unsigned virtio_pci_msix_vectors(struct virtio_dev *d);
/* Frees the transport; destroy the device first (its thread raises interrupts here). */
void virtio_pci_destroy(struct virtio_pci *vp);
struct pci_dev *virtio_pci_function(struct virtio_pci *vp);
/* Drives the INTx line from the device's ISR status (after a restore of the device). */
void virtio_pci_update_irq(struct virtio_pci *vp);
/* Whether the driver enabled MSI-X (tests, statistics). */
bool virtio_pci_msix_enabled(struct virtio_pci *vp);

/* The transport's snapshot state (a state file's `virtio-pci` device section, one per
 * function): u32 version VIRTIO_PCI_SAVE_VERSION, u16 config_msix_vector, u16 number of
 * queues, u16 queue_msix_vector per queue, then the MSI-X table and PBA (pci_msix_save; a
 * table of 0 vectors for a function without MSI-X). The MSI-X enable and mask bits are config
 * space (the PCI host's section). load refuses another version, queue count or table size and
 * vectors the table does not have (-EINVAL, changing nothing) and routes the programmed
 * vectors again. Machine paused. */
#define VIRTIO_PCI_SAVE_VERSION 1
#define VIRTIO_PCI_SAVE_MAX     (8 + 2 * VIRTIO_MAX_QUEUES + PCI_MSIX_SAVE_LEN(PCI_MSIX_MAX_VECTORS))
long virtio_pci_save(struct virtio_pci *vp, uint8_t *buf, size_t cap);
int virtio_pci_load(struct virtio_pci *vp, const uint8_t *buf, size_t len);
/* Offset inside the BAR of queue q's notification address. */
static inline uint64_t virtio_pci_notify_offset(unsigned q)
{
    return VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;
}
/* The PCI class code (class << 16 | subclass << 8 | prog-if) for a virtio device ID. */
uint32_t virtio_pci_class(uint32_t device_id);

extern const struct bus_ops virtio_pci_bar_ops;

#endif
