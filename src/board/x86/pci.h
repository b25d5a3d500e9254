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
#include "bus/pci.h"

#define PCI_MAX_DEVS    32
#define PCI_HOST_VENDOR 0x8086 /* Intel */
#define PCI_HOST_DEVICE 0x0d57 /* a virtual PCIe host bridge ID used by VMMs */

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

/* Places d in slot (1..31), assigns its BARs from the board windows and sets its INTx line.
 * Returns 0, -EEXIST or -ENOSPC. bar_addr[] tells the caller where to register the BARs. */
int x86_pci_add(struct x86_pci *p, int slot, struct pci_dev *d, unsigned irq);
/* A machine reset: every function's config space back to power-on (pci_dev_reset). */
void x86_pci_reset(struct x86_pci *p);

/* Snapshot state of the host and every function on bus 0: u32 version (X86_PCI_SAVE_VERSION),
 * u32 the 0xcf8 latch, u32 bitmap of occupied slots, then per occupied slot in order its 256
 * bytes of config space and a u8 bitmap of BARs being sized. Returns the length or -ENOSPC.
 * load (machine paused) refuses another version or length, another set of slots, and any bit
 * the guest cannot write (IDs, BAR addresses, capabilities) that differs from this machine's:
 * 0 (and the file's version in *version) or -EINVAL, changing nothing then. Version 2 is the
 * one with MSI-X capabilities in the virtio functions; version 1 (before) still loads: its
 * bits are checked in the standard header only and its functions come back with MSI-X off
 * (INTx, as the guest used them). */
#define X86_PCI_SAVE_VERSION 2
#define X86_PCI_SAVE_MAX     (12 + PCI_MAX_DEVS * (PCI_CFG_SIZE + 1))
long x86_pci_save(struct x86_pci *p, uint8_t *buf, size_t cap);
int x86_pci_load(struct x86_pci *p, const uint8_t *buf, size_t len, uint32_t *version);

/* Config space access (exposed for tests): bus/dev/fn/reg, size 1, 2 or 4. */
uint32_t x86_pci_cfg_read(struct x86_pci *p, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
                          unsigned size);
void x86_pci_cfg_write(struct x86_pci *p, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
                       unsigned size, uint32_t val);

#endif
