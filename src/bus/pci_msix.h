/* MSI-X for a PCI function of the generic model (bus/pci.h), PCI Local Bus 3.0 section 6.8.2:
 * the capability (ID 0x11) in config space, the vector table and the pending bit array (PBA)
 * somewhere in one of the function's memory BARs (the device forwards those accesses here),
 * per-vector and function-wide masking with pending bits.
 *
 * How a vector reaches a CPU is the board's business: a sink with route() - the guest
 * programmed a vector's message (address, data) and unmasked it - and signal() - deliver that
 * vector now. On x86 that is a KVM GSI with an MSI route and an irqfd per vector.
 *
 * Threads: a device raises vectors from any thread (pci_msix_notify); vCPU threads write the
 * table and the capability. One lock orders them: a vector is delivered at most once per
 * notify, a masked one sets its pending bit instead and is delivered when unmasked. */
#ifndef VESSEL_BUS_PCI_MSIX_H
#define VESSEL_BUS_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/pci.h"

#define PCI_CAP_ID_MSIX      0x11
#define PCI_MSIX_CAP_LEN     12
#define PCI_MSIX_CTRL        2      /* message control, in the capability */
#define PCI_MSIX_CTRL_ENABLE 0x8000 /* MSI-X enable */
#define PCI_MSIX_CTRL_MASK   0x4000 /* function mask */
#define PCI_MSIX_ENTRY_SIZE  16     /* address low, address high, data, vector control */
#define PCI_MSIX_ENTRY_MASK  1      /* vector control: masked */
#define PCI_MSIX_MAX_VECTORS 64     /* what this model supports per function */

struct pci_msi_sink {
    /* Vector v now carries this message (its entry is unmasked, or the state was restored).
     * Called with the MSI-X lock held, never for an unchanged message. */
    void (*route)(void *opaque, unsigned v, uint64_t addr, uint32_t data);
    /* Deliver vector v (its route is current); called without the lock, any thread. */
    void (*signal)(void *opaque, unsigned v);
};

struct pci_msix {
    struct pci_dev *dev;
    unsigned cap;                /* config offset of the capability */
    unsigned nvec;               /* table size */
    uint64_t table_off, pba_off; /* offsets inside the BAR */
    const struct pci_msi_sink *sink;
    void *sink_opaque;
    pthread_mutex_t lock;
    bool enabled, fmask; /* message control, as last written */
    uint32_t table[PCI_MSIX_MAX_VECTORS][4];
    uint64_t pending;                             /* the PBA */
    uint64_t routed;                              /* vectors whose message the sink has */
    uint32_t routed_msg[PCI_MSIX_MAX_VECTORS][3]; /* ... and which */
};

/* Adds the capability to d (nvec vectors, table and PBA at those offsets of memory BAR bar,
 * which must exist) with every vector masked. Returns 0 or -errno (-ENOSPC: no room in config
 * space, -EINVAL: bad sizes or offsets). */
int pci_msix_init(struct pci_msix *m, struct pci_dev *d, unsigned nvec, int bar, uint64_t table_off,
                  uint64_t pba_off, const struct pci_msi_sink *sink, void *opaque);
void pci_msix_destroy(struct pci_msix *m);

/* Bytes of BAR the table and PBA take from their offsets. */
uint64_t pci_msix_table_size(unsigned nvec);
uint64_t pci_msix_pba_size(unsigned nvec);

/* A BAR access at off (offset inside the BAR): true when it falls in the table or the PBA and
 * was handled (reads of other widths than 4 and 8 give 0, such writes are dropped). */
bool pci_msix_mmio_read(struct pci_msix *m, uint64_t off, unsigned size, uint64_t *val);
bool pci_msix_mmio_write(struct pci_msix *m, uint64_t off, unsigned size, uint64_t val);

/* After a guest write to config [off, off+size): takes the enable and function-mask bits
 * (delivering what became unmasked). Returns true when MSI-X enable changed. */
bool pci_msix_cfg_written(struct pci_msix *m, unsigned off, unsigned size);
/* MSI-X enabled: the function must not use INTx. */
bool pci_msix_enabled(struct pci_msix *m);
/* Raise vector v: delivered now, or its pending bit set while it (or the function) is
 * masked. Returns 0, or -EINVAL for a vector the table does not have. Any thread. */
int pci_msix_notify(struct pci_msix *m, unsigned v);

/* Power-on: every vector masked, nothing pending; the capability's control bits are the
 * config space's (reset by the PCI host). */
void pci_msix_reset(struct pci_msix *m);

/* Snapshots: u32 nvec, then per vector its 4 table words, then u64 the PBA. The capability's
 * enable and mask bits are config space (the PCI host's section). load refuses another table
 * size, reserved vector-control bits and pending bits past the table (-EINVAL, changing
 * nothing), then reroutes every programmed vector through the sink. */
#define PCI_MSIX_SAVE_LEN(nvec) (4 + (size_t)(nvec)*PCI_MSIX_ENTRY_SIZE + 8)
size_t pci_msix_save(struct pci_msix *m, uint8_t *buf);
int pci_msix_load(struct pci_msix *m, const uint8_t *buf, size_t len);

#endif
