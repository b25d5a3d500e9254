/* PCI host: configuration space for bus 0 through ports 0xcf8/0xcfc and ECAM. */
#include "board/x86/pci.h"

#include <errno.h>
#include <string.h>

#include "base/le.h"
#include "board/x86/layout.h"

#define CF8_ENABLE 0x80000000u
#define CF9_RESET  0x04 /* reset control register: RST_CPU */

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
    pci_dev_power_on(&p->host);
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
            le32_put(d->cfg + PCI_BAR0 + 4 * i, (uint32_t)a | 0x1);
        } else {
            a = (p->mmio_next + sz - 1) & ~(sz - 1);
            if (a + sz > X86_PCI_MMIO_BASE + X86_PCI_MMIO_SIZE)
                return -ENOSPC;
            p->mmio_next = a + sz;
            le32_put(d->cfg + PCI_BAR0 + 4 * i, (uint32_t)a | (d->cfg[PCI_BAR0 + 4 * i] & 0xf));
        }
        d->bar_addr[i] = a;
    }
    d->cfg[PCI_INT_LINE] = (uint8_t)irq;
    if (!d->cfg[PCI_INT_PIN])
        d->cfg[PCI_INT_PIN] = 1; /* INTA# */
    pci_dev_power_on(d);
    p->dev[slot] = d;
    return 0;
}

void x86_pci_reset(struct x86_pci *p)
{
    pthread_mutex_lock(&p->lock);
    p->config_addr = 0;
    for (int i = 0; i < PCI_MAX_DEVS; i++)
        if (p->dev[i])
            pci_dev_reset(p->dev[i]);
    pthread_mutex_unlock(&p->lock);
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

    if (bus != 0 || dev >= PCI_MAX_DEVS || fn != 0)
        return all_ones(size);
    pthread_mutex_lock(&p->lock);
    d = p->dev[dev];
    if (!d || reg + size > PCI_CFG_SIZE) {
        pthread_mutex_unlock(&p->lock);
        return d ? 0 : all_ones(size); /* extended config space reads as zero */
    }
    v = pci_dev_cfg_read(d, reg, size);
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
    pci_dev_cfg_write(d, reg, size, val);
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
    le32_put(buf, X86_PCI_SAVE_VERSION);
    le32_put(buf + 4, p->config_addr);
    le32_put(buf + 8, slot_mask(p));
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

int x86_pci_load(struct x86_pci *p, const uint8_t *buf, size_t len, uint32_t *version)
{
    uint32_t mask, ver;
    size_t n = 12;
    int err = -EINVAL;

    ver = len < 12 ? 0 : le32_get(buf);
    if (ver != X86_PCI_SAVE_VERSION && ver != 1)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    mask = slot_mask(p);
    if (le32_get(buf + 8) != mask ||
        len != 12 + (size_t)__builtin_popcount(mask) * (PCI_CFG_SIZE + 1))
        goto out;
    /* check everything first: a refused state changes nothing. Version 1 (functions without
     * MSI-X) is checked in the standard header only: the capabilities were added to since. */
    for (int i = 0; i < PCI_MAX_DEVS; i++) {
        const struct pci_dev *d = p->dev[i];
        if (!d)
            continue;
        for (unsigned r = 0; r < (ver == 1 ? PCI_CAP_AREA : PCI_CFG_SIZE); r++)
            if ((buf[n + r] ^ d->cfg[r]) & ~d->wmask[r])
                goto out; /* a bit the guest cannot change differs */
        if (buf[n + PCI_CFG_SIZE] >> PCI_NUM_BARS)
            goto out;
        n += PCI_CFG_SIZE + 1;
    }
    p->config_addr = le32_get(buf + 4) & 0x80fffffcu;
    n = 12;
    for (int i = 0; i < PCI_MAX_DEVS; i++) {
        struct pci_dev *d = p->dev[i];
        if (!d)
            continue;
        /* what the guest wrote; the rest is this machine's (the same, but for version 1's
         * capability list: a new capability then starts with its power-on state) */
        for (unsigned r = 0; r < PCI_CFG_SIZE; r++)
            d->cfg[r] = (uint8_t)((d->cfg[r] & ~d->wmask[r]) | (buf[n + r] & d->wmask[r]));
        for (int b = 0; b < PCI_NUM_BARS; b++)
            d->bar_sizing[b] = (buf[n + PCI_CFG_SIZE] >> b) & 1;
        n += PCI_CFG_SIZE + 1;
    }
    *version = ver;
    err = 0;
out:
    pthread_mutex_unlock(&p->lock);
    return err;
}
