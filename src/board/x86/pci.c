/* PCI host: configuration space for bus 0 through ports 0xcf8/0xcfc and ECAM. */
#include "board/x86/pci.h"

#include <errno.h>
#include <string.h>

#include "board/x86/layout.h"

#define CF8_ENABLE   0x80000000u
#define CF9_RESET    0x04   /* reset control register: RST_CPU */
#define PCI_CMD_MASK 0x0547 /* I/O, memory, bus master, parity, SERR, INTx disable */

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_rev,
                  uint16_t subsys_vendor, uint16_t subsys_id, const char *name)
{
    memset(d, 0, sizeof(*d));
    put16(d->cfg + PCI_VENDOR_ID, vendor);
    put16(d->cfg + PCI_DEVICE_ID, device);
    put32(d->cfg + PCI_CLASS_REV, class_rev);
    put16(d->cfg + PCI_SUBSYS_VID, subsys_vendor);
    put16(d->cfg + PCI_SUBSYS_VID + 2, subsys_id);
    put16(d->wmask + PCI_COMMAND, PCI_CMD_MASK);
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

void x86_pci_init(struct x86_pci *p, void (*reset)(void *), void *reset_opaque)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->reset = reset;
    p->reset_opaque = reset_opaque;
    p->mmio_next = X86_PCI_MMIO_BASE;
    p->io_next = X86_PORT_PCI_IO;
    pci_dev_init(&p->host, PCI_HOST_VENDOR, PCI_HOST_DEVICE, 0x06000000 /* host bridge */, 0, 0,
                 "host bridge");
    p->dev[0] = &p->host;
}

void x86_pci_destroy(struct x86_pci *p)
{
    pthread_mutex_destroy(&p->lock);
}

int x86_pci_add(struct x86_pci *p, int slot, struct pci_dev *d, unsigned irq)
{
    if (slot < 1 || slot >= PCI_MAX_DEVS)
        return -EINVAL;
    if (p->dev[slot])
        return -EEXIST;
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        uint64_t sz = d->bar_size[i], a;

        if (!sz)
            continue;
        if (d->bar_io[i]) {
            a = (p->io_next + sz - 1) & ~(sz - 1);
            if (a + sz > 0x10000)
                return -ENOSPC;
            p->io_next = (uint32_t)(a + sz);
            put32(d->cfg + PCI_BAR0 + 4 * i, (uint32_t)a | 0x1);
        } else {
            a = (p->mmio_next + sz - 1) & ~(sz - 1);
            if (a + sz > X86_PCI_MMIO_BASE + X86_PCI_MMIO_SIZE)
                return -ENOSPC;
            p->mmio_next = a + sz;
            put32(d->cfg + PCI_BAR0 + 4 * i, (uint32_t)a | (d->cfg[PCI_BAR0 + 4 * i] & 0xf));
        }
        d->bar_addr[i] = a;
    }
    d->cfg[PCI_INT_LINE] = (uint8_t)irq;
    if (!d->cfg[PCI_INT_PIN])
        d->cfg[PCI_INT_PIN] = 1; /* INTA# */
    p->dev[slot] = d;
    return 0;
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

static uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

uint32_t x86_pci_cfg_read(struct x86_pci *p, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
                          unsigned size)
{
    struct pci_dev *d;
    uint32_t v;
    uint8_t buf[4];

    if (bus != 0 || dev >= PCI_MAX_DEVS || fn != 0)
        return all_ones(size);
    pthread_mutex_lock(&p->lock);
    d = p->dev[dev];
    if (!d || reg + size > PCI_CFG_SIZE) {
        pthread_mutex_unlock(&p->lock);
        return d ? 0 : all_ones(size); /* extended config space reads as zero */
    }
    v = bar_read(d, reg & ~3u);
    memcpy(buf, &v, 4);
    v = 0;
    memcpy(&v, buf + (reg & 3), size);
    pthread_mutex_unlock(&p->lock);
    if (d->ops && d->ops->cfg_read)
        v = d->ops->cfg_read(d, reg, size, v);
    return v;
}

void x86_pci_cfg_write(struct x86_pci *p, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
                       unsigned size, uint32_t val)
{
    struct pci_dev *d;

    if (bus != 0 || dev >= PCI_MAX_DEVS || fn != 0 || reg + size > PCI_CFG_SIZE)
        return;
    pthread_mutex_lock(&p->lock);
    d = p->dev[dev];
    if (!d) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    if (size == 4 && reg >= PCI_BAR0 && reg < PCI_BAR0 + 4 * PCI_NUM_BARS) {
        bar_write(d, reg, val);
    } else {
        for (unsigned i = 0; i < size; i++) {
            uint8_t m = d->wmask[reg + i], b = (uint8_t)(val >> (8 * i));
            d->cfg[reg + i] = (uint8_t)((d->cfg[reg + i] & ~m) | (b & m));
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (d->ops && d->ops->cfg_written)
        d->ops->cfg_written(d, reg, size);
}

/* --- mechanism #1 --- */

static uint64_t cf8_read(void *opaque, uint64_t off, unsigned size)
{
    struct x86_pci *p = opaque;
    uint32_t a;

    if (off == 0 && size == 4) {
        pthread_mutex_lock(&p->lock);
        a = p->config_addr;
        pthread_mutex_unlock(&p->lock);
        return a;
    }
    if (off < 4)
        return 0;
    pthread_mutex_lock(&p->lock);
    a = p->config_addr;
    pthread_mutex_unlock(&p->lock);
    if (!(a & CF8_ENABLE))
        return ~0ULL;
    return x86_pci_cfg_read(p, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
                            (a & 0xfc) + (unsigned)(off - 4), size);
}

static void cf8_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct x86_pci *p = opaque;
    uint32_t a;

    if (off == 0 && size == 4) {
        pthread_mutex_lock(&p->lock);
        p->config_addr = (uint32_t)val & 0x80fffffcu;
        pthread_mutex_unlock(&p->lock);
        return;
    }
    if (off == 1 && size == 1) {
        if ((val & CF9_RESET) && p->reset)
            p->reset(p->reset_opaque);
        return;
    }
    if (off < 4)
        return;
    pthread_mutex_lock(&p->lock);
    a = p->config_addr;
    pthread_mutex_unlock(&p->lock);
    if (a & CF8_ENABLE)
        x86_pci_cfg_write(p, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
                          (a & 0xfc) + (unsigned)(off - 4), size, (uint32_t)val);
}

const struct bus_ops x86_pci_cf8_ops = {.read = cf8_read, .write = cf8_write};

/* --- ECAM: bus << 20 | dev << 15 | fn << 12 | reg --- */

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
    unsigned reg = off & 0xfff;

    if (size == 8 || (reg & (size - 1)))
        return ~0ULL;
    return x86_pci_cfg_read(opaque, (unsigned)(off >> 20), (off >> 15) & 0x1f, (off >> 12) & 7, reg,
                            size);
}

static void ecam_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    unsigned reg = off & 0xfff;

    if (size == 8 || (reg & (size - 1)))
        return;
    x86_pci_cfg_write(opaque, (unsigned)(off >> 20), (off >> 15) & 0x1f, (off >> 12) & 7, reg, size,
                      (uint32_t)val);
}

const struct bus_ops x86_pci_ecam_ops = {.read = ecam_read, .write = ecam_write};

/* --- snapshots --- */

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static uint32_t slot_mask(const struct x86_pci *p)
{
    uint32_t m = 0;

    for (int i = 0; i < PCI_MAX_DEVS; i++)
        if (p->dev[i])
            m |= 1u << i;
    return m;
}

long x86_pci_save(struct x86_pci *p, uint8_t *buf, size_t cap)
{
    size_t n = 12;

    pthread_mutex_lock(&p->lock);
    put32(buf, X86_PCI_SAVE_VERSION);
    put32(buf + 4, p->config_addr);
    put32(buf + 8, slot_mask(p));
    for (int i = 0; i < PCI_MAX_DEVS; i++) {
        const struct pci_dev *d = p->dev[i];
        uint8_t sizing = 0;

        if (!d)
            continue;
        if (n + PCI_CFG_SIZE + 1 > cap) {
            pthread_mutex_unlock(&p->lock);
            return -ENOSPC;
        }
        for (int b = 0; b < PCI_NUM_BARS; b++)
            sizing |= (uint8_t)(d->bar_sizing[b] << b);
        memcpy(buf + n, d->cfg, PCI_CFG_SIZE);
        buf[n + PCI_CFG_SIZE] = sizing;
        n += PCI_CFG_SIZE + 1;
    }
    pthread_mutex_unlock(&p->lock);
    return (long)n;
}

int x86_pci_load(struct x86_pci *p, const uint8_t *buf, size_t len)
{
    uint32_t mask;
    size_t n = 12;
    int err = -EINVAL;

    if (len < 12 || get32(buf) != X86_PCI_SAVE_VERSION)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    mask = slot_mask(p);
    if (get32(buf + 8) != mask || len != 12 + (size_t)__builtin_popcount(mask) * (PCI_CFG_SIZE + 1))
        goto out;
    /* check everything first: a refused state changes nothing */
    for (int i = 0; i < PCI_MAX_DEVS; i++) {
        const struct pci_dev *d = p->dev[i];
        if (!d)
            continue;
        for (unsigned r = 0; r < PCI_CFG_SIZE; r++)
            if ((buf[n + r] ^ d->cfg[r]) & ~d->wmask[r])
                goto out; /* a bit the guest cannot change differs */
        if (buf[n + PCI_CFG_SIZE] >> PCI_NUM_BARS)
            goto out;
        n += PCI_CFG_SIZE + 1;
    }
    p->config_addr = get32(buf + 4) & 0x80fffffcu;
    n = 12;
    for (int i = 0; i < PCI_MAX_DEVS; i++) {
        struct pci_dev *d = p->dev[i];
        if (!d)
            continue;
        memcpy(d->cfg, buf + n, PCI_CFG_SIZE);
        for (int b = 0; b < PCI_NUM_BARS; b++)
            d->bar_sizing[b] = (buf[n + PCI_CFG_SIZE] >> b) & 1;
        n += PCI_CFG_SIZE + 1;
    }
    err = 0;
out:
    pthread_mutex_unlock(&p->lock);
    return err;
}
