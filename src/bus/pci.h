/* The generic PCI function model, shared by every PCI host (the x86 board's bus 0) and by the
 * PCI devices (virtio-pci): a type-0 configuration header with write masks, BARs (with sizing
 * by writing all-ones; moving a BAR is refused) and a capability list. */
#ifndef VESSEL_BUS_PCI_H
#define VESSEL_BUS_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_CFG_SIZE     256
#define PCI_MAX_DEVS     32
#define PCI_NUM_BARS     6
#define PCI_VENDOR_ID    0x00
#define PCI_DEVICE_ID    0x02
#define PCI_COMMAND      0x04
#define PCI_STATUS       0x06
#define PCI_CLASS_REV    0x08
#define PCI_HEADER_TYPE  0x0e
#define PCI_BAR0         0x10
#define PCI_SUBSYS_VID   0x2c
#define PCI_CAP_PTR      0x34
#define PCI_INT_LINE     0x3c
#define PCI_INT_PIN      0x3d
#define PCI_CAP_AREA     0x40 /* capabilities start here: the standard header is below */
#define PCI_STATUS_CAP   0x0010
#define PCI_STATUS_INTX  0x0008 /* interrupt status: INTx asserted */
#define PCI_CMD_INTX_OFF 0x0400 /* command register: INTx disable */
#define PCI_BAR_MEM64    0x4

struct pci_dev;

/* Optional device hooks; config space reads and writes otherwise use dev->cfg with wmask. */
struct pci_dev_ops {
    /* After the generic write into cfg (for capabilities that act on writes). */
    void (*cfg_written)(struct pci_dev *d, unsigned off, unsigned size);
    /* After the generic read of [off, off+size) (host lock not held): returns the value the
     * guest sees, val or a replacement (for capabilities that act on reads). */
    uint32_t (*cfg_read)(struct pci_dev *d, unsigned off, unsigned size, uint32_t val);
    /* After pci_dev_reset() put config space back to power-on (host lock not held): the
     * function's own state too (MSI-X table, interrupt vectors). */
    void (*reset)(struct pci_dev *d);
};

struct pci_dev {
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE];  /* bits the guest may change */
    uint8_t cfg_on[PCI_CFG_SIZE]; /* config space at power-on (pci_dev_power_on) */
    uint64_t bar_addr[PCI_NUM_BARS];
    uint64_t bar_size[PCI_NUM_BARS]; /* 0: unused; a 64-bit BAR uses i and i+1 */
    bool bar_io[PCI_NUM_BARS];
    bool bar_sizing[PCI_NUM_BARS];
    uint16_t cap_end; /* first free byte after the capabilities */
    const struct pci_dev_ops *ops;
    void *opaque;
    const char *name;
};

/* Fills the standard header of a type-0 function. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_rev,
                  uint16_t subsys_vendor, uint16_t subsys_id, const char *name);
/* Declares BAR i of size bytes (a power of two, >= 16; 64-bit memory BARs take two slots). */
int pci_dev_add_bar(struct pci_dev *d, int i, uint64_t size, bool io, bool mem64);
/* Appends a capability of len bytes (its ID in body[0]); returns its config offset or -ENOSPC. */
int pci_dev_add_cap(struct pci_dev *d, const uint8_t *body, unsigned len);

/* Records the current config space as the function's power-on state (after the host placed
 * it: BAR addresses, interrupt line). */
void pci_dev_power_on(struct pci_dev *d);
/* A reset of the machine: every bit the guest may change back to its power-on value, no BAR
 * being sized; then ops->reset. */
void pci_dev_reset(struct pci_dev *d);

/* Config space of the function as the guest reads it (BARs report their size mask while being
 * sized), size 1, 2 or 4 bytes at reg (reg + size <= PCI_CFG_SIZE). No hooks are called. */
uint32_t pci_dev_cfg_read(const struct pci_dev *d, unsigned reg, unsigned size);
/* A guest write: BAR sizing for an aligned 32-bit BAR write, else the bytes wmask allows. */
void pci_dev_cfg_write(struct pci_dev *d, unsigned reg, unsigned size, uint32_t val);

#endif
