/* The generic PCI function model (bus/pci.h). */
#include "bus/pci.h"

#include <errno.h>
#include <string.h>

#include "base/le.h"

#define PCI_CMD_MASK 0x0547 /* I/O, memory, bus master, parity, SERR, INTx disable */

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_rev,
                  uint16_t subsys_vendor, uint16_t subsys_id, const char *name)
{
    memset(d, 0, sizeof(*d));
    le16_put(d->cfg + PCI_VENDOR_ID, vendor);
    le16_put(d->cfg + PCI_DEVICE_ID, device);
    le32_put(d->cfg + PCI_CLASS_REV, class_rev);
    le16_put(d->cfg + PCI_SUBSYS_VID, subsys_vendor);
    le16_put(d->cfg + PCI_SUBSYS_VID + 2, subsys_id);
    le16_put(d->wmask + PCI_COMMAND, PCI_CMD_MASK);
    d->wmask[PCI_INT_LINE] = 0xff;
    d->name = name;
}

int pci_dev_add_bar(struct pci_dev *d, int i, uint64_t size, bool io, bool mem64)
{
    if (i < 0 || i >= PCI_NUM_BARS || (mem64 && (io || i == PCI_NUM_BARS - 1)) || size < 16 ||
        (size & (size - 1)) || (io && size > 0x1000))
        return -EINVAL;
    d->bar_size[i] = size;
    d->bar_io[i] = io;
    d->cfg[PCI_BAR0 + 4 * i] = io ? 0x1 : (mem64 ? PCI_BAR_MEM64 : 0);
    if (mem64)
        d->bar_size[i + 1] = 0; /* the upper half */
    return 0;
}

int pci_dev_add_cap(struct pci_dev *d, const uint8_t *body, unsigned len)
{
    unsigned off = d->cap_end ? d->cap_end : 0x40, p;

    off = (off + 3) & ~3u;
    if (len < 2 || off + len > PCI_CFG_SIZE)
        return -ENOSPC;
    memcpy(d->cfg + off, body, len);
    d->cfg[off + 1] = 0; /* next: end of the list */
    if (!d->cfg[PCI_CAP_PTR]) {
        d->cfg[PCI_CAP_PTR] = (uint8_t)off;
    } else {
        for (p = d->cfg[PCI_CAP_PTR]; d->cfg[p + 1]; p = d->cfg[p + 1])
            ;
        d->cfg[p + 1] = (uint8_t)off;
    }
    d->cap_end = (uint16_t)(off + len);
    d->cfg[PCI_STATUS] |= PCI_STATUS_CAP;
    return (int)off;
}

/* BAR registers: report the size mask while the guest sizes, the assigned address otherwise. */
static bool bar_reg(const struct pci_dev *d, unsigned reg, int *bar, bool *upper)
{
    int i;

    if (reg < PCI_BAR0 || reg >= PCI_BAR0 + 4 * PCI_NUM_BARS)
        return false;
    i = (int)(reg - PCI_BAR0) / 4;
    *upper = i > 0 && !d->bar_io[i - 1] && d->bar_size[i - 1] &&
             (d->cfg[PCI_BAR0 + 4 * (i - 1)] & PCI_BAR_MEM64);
    *bar = *upper ? i - 1 : i;
    return true;
}

static uint32_t bar_read(const struct pci_dev *d, unsigned reg)
{
    int i;
    bool upper;
    uint32_t v;

    memcpy(&v, d->cfg + reg, 4);
    if (!bar_reg(d, reg, &i, &upper) || !d->bar_size[i] || !d->bar_sizing[i])
        return v;
    if (upper)
        return (uint32_t)(~(d->bar_size[i] - 1) >> 32);
    return ((uint32_t) ~(d->bar_size[i] - 1) & (d->bar_io[i] ? ~0x3u : ~0xfu)) | (v & 0xf);
}

static void bar_write(struct pci_dev *d, unsigned reg, uint32_t val)
{
    int i;
    bool upper;

    if (!bar_reg(d, reg, &i, &upper) || !d->bar_size[i])
        return;
    /* all-ones starts sizing; anything else (the address written back) ends it */
    d->bar_sizing[i] = (val | (upper ? 0 : 0xf)) == 0xffffffffu;
}

uint32_t pci_dev_cfg_read(const struct pci_dev *d, unsigned reg, unsigned size)
{
    uint32_t v = bar_read(d, reg & ~3u), out = 0;
    uint8_t buf[4];

    memcpy(buf, &v, 4);
    memcpy(&out, buf + (reg & 3), size);
    return out;
}

void pci_dev_cfg_write(struct pci_dev *d, unsigned reg, unsigned size, uint32_t val)
{
    if (size == 4 && reg >= PCI_BAR0 && reg < PCI_BAR0 + 4 * PCI_NUM_BARS) {
        bar_write(d, reg, val);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        uint8_t m = d->wmask[reg + i], b = (uint8_t)(val >> (8 * i));
        d->cfg[reg + i] = (uint8_t)((d->cfg[reg + i] & ~m) | (b & m));
    }
}

void pci_dev_power_on(struct pci_dev *d)
{
    memcpy(d->cfg_on, d->cfg, PCI_CFG_SIZE);
}

void pci_dev_reset(struct pci_dev *d)
{
    for (unsigned i = 0; i < PCI_CFG_SIZE; i++)
        d->cfg[i] = (uint8_t)((d->cfg[i] & ~d->wmask[i]) | (d->cfg_on[i] & d->wmask[i]));
    memset(d->bar_sizing, 0, sizeof(d->bar_sizing));
    if (d->ops && d->ops->reset)
        d->ops->reset(d);
}
