/* PCI host for the x86 board: bus 0 with up to 32 single-function devices, configuration
 * through mechanism #1 (ports 0xcf8/0xcfc) and ECAM (MMIO, described by ACPI MCFG). The host
 * bridge itself is 00:00.0. BARs are assigned by the VMM at registration (as firmware would);
 * sizing by writing all-ones works, moving a BAR is refused. */
#ifndef VESSEL_BOARD_X86_PCI_H
#define VESSEL_BOARD_X86_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"

#define PCI_CFG_SIZE    256
#define PCI_MAX_DEVS    32
#define PCI_NUM_BARS    6
#define PCI_VENDOR_ID   0x00
#define PCI_DEVICE_ID   0x02
#define PCI_COMMAND     0x04
#define PCI_STATUS      0x06
#define PCI_CLASS_REV   0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0        0x10
#define PCI_SUBSYS_VID  0x2c
#define PCI_CAP_PTR     0x34
#define PCI_INT_LINE    0x3c
#define PCI_INT_PIN     0x3d
#define PCI_STATUS_CAP  0x0010
#define PCI_BAR_MEM64   0x4

#define PCI_HOST_VENDOR 0x8086 /* Intel */
#define PCI_HOST_DEVICE 0x0d57 /* a virtual PCIe host bridge ID used by VMMs */

struct pci_dev;

/* Optional device hooks; config space reads and writes otherwise use dev->cfg with wmask. */
struct pci_dev_ops {
    /* After the generic write into cfg (for capabilities that act on writes). */
    void (*cfg_written)(struct pci_dev *d, unsigned off, unsigned size);
    /* After the generic read of [off, off+size) (host lock not held): returns the value the
     * guest sees, val or a replacement (for capabilities that act on reads). */
    uint32_t (*cfg_read)(struct pci_dev *d, unsigned off, unsigned size, uint32_t val);
};

struct pci_dev {
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may change */
    uint64_t bar_addr[PCI_NUM_BARS];
    uint64_t bar_size[PCI_NUM_BARS]; /* 0: unused; a 64-bit BAR uses i and i+1 */
    bool bar_io[PCI_NUM_BARS];
    bool bar_sizing[PCI_NUM_BARS];
    uint16_t cap_end; /* first free byte after the capabilities */
    const struct pci_dev_ops *ops;
    void *opaque;
    const char *name;
};

struct x86_pci {
    pthread_mutex_t lock;
    uint32_t config_addr; /* the 0xcf8 latch */
    struct pci_dev *dev[PCI_MAX_DEVS];
    struct pci_dev host;
    uint64_t mmio_next; /* BAR allocation cursors */
    uint32_t io_next;
    void (*reset)(void *opaque); /* 0xcf9 reset control */
    void *reset_opaque;
};

extern const struct bus_ops x86_pci_cf8_ops;  /* ports 0xcf8..0xcff */
extern const struct bus_ops x86_pci_ecam_ops; /* the ECAM window */

void x86_pci_init(struct x86_pci *p, void (*reset)(void *), void *reset_opaque);
void x86_pci_destroy(struct x86_pci *p);

/* Fills the standard header of a type-0 function. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_rev,
                  uint16_t subsys_vendor, uint16_t subsys_id, const char *name);
/* Declares BAR i of size bytes (a power of two, >= 16; 64-bit memory BARs take two slots). */
int pci_dev_add_bar(struct pci_dev *d, int i, uint64_t size, bool io, bool mem64);
/* Appends a capability of len bytes (its ID in body[0]); returns its config offset or -ENOSPC. */
int pci_dev_add_cap(struct pci_dev *d, const uint8_t *body, unsigned len);

/* Places d in slot (1..31), assigns its BARs from the board windows and sets its INTx line.
 * Returns 0, -EEXIST or -ENOSPC. bar_addr[] tells the caller where to register the BARs. */
int x86_pci_add(struct x86_pci *p, int slot, struct pci_dev *d, unsigned irq);

/* Snapshot state of the host and every function on bus 0: u32 version (X86_PCI_SAVE_VERSION),
 * u32 the 0xcf8 latch, u32 bitmap of occupied slots, then per occupied slot in order its 256
 * bytes of config space and a u8 bitmap of BARs being sized. Returns the length or -ENOSPC.
 * load (machine paused) refuses another version or length, another set of slots, and any byte
 * the guest cannot write (IDs, BAR addresses, capabilities) that differs from this machine's:
 * 0 or -EINVAL, changing nothing then. */
#define X86_PCI_SAVE_VERSION 1
#define X86_PCI_SAVE_MAX     (12 + PCI_MAX_DEVS * (PCI_CFG_SIZE + 1))
long x86_pci_save(struct x86_pci *p, uint8_t *buf, size_t cap);
int x86_pci_load(struct x86_pci *p, const uint8_t *buf, size_t len);

/* Config space access (exposed for tests): bus/dev/fn/reg, size 1, 2 or 4. */
uint32_t x86_pci_cfg_read(struct x86_pci *p, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
                          unsigned size);
void x86_pci_cfg_write(struct x86_pci *p, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
                       unsigned size, uint32_t val);

#endif
