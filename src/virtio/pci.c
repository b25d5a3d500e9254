/* virtio-pci modern transport: the PCI function, the BAR 4 regions, MSI-X and INTx. Fields of the
 * common configuration take their natural width (64-bit addresses also as two 32-bit halves);
 * other widths and unknown offsets read 0 and drop writes (logged). */
#include "virtio/pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "base/log.h"

struct virtio_pci {
    struct pci_dev pci; /* first: the config-space hooks get this pointer */
    struct virtio_dev *dev;
    struct irq_line irq;
    pthread_mutex_t irq_lock; /* orders raising against the read-to-clear of the ISR */
    unsigned cfg_cap;         /* config offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
    unsigned nq;              /* the device's queues */
    bool has_msix;            /* MSI-X capability present (the board gave a sink) */
    struct pci_msix msix;
    /* MSI-X vectors the driver chose (VIRTIO_PCI_NO_VECTOR: none); written by vCPU threads,
     * read by the device thread (atomics) */
    uint16_t config_vec, queue_vec[VIRTIO_MAX_QUEUES];
    char name[24];
};

uint32_t virtio_pci_class(uint32_t device_id)
{
    switch (device_id) {
    case VIRTIO_ID_NET: return 0x020000;     /* network, Ethernet */
    case VIRTIO_ID_BLOCK: return 0x010000;   /* mass storage, SCSI (as other VMMs do) */
    case VIRTIO_ID_CONSOLE: return 0x078000; /* simple communication, other */
    default: return 0xff0000;                /* rng, balloon, ...: unassigned class */
    }
}

static uint16_t vec_get(const uint16_t *v)
{
    return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}

static void vec_set(uint16_t *v, uint16_t val)
{
    __atomic_store_n(v, val, __ATOMIC_RELEASE);
}

static bool msix_on(struct virtio_pci *vp)
{
    return vp->has_msix && pci_msix_enabled(&vp->msix);
}

/* INTx follows the ISR status unless MSI-X is on or the driver disabled INTx (command register);
 * irq_lock held. */
static void intx_update(struct virtio_pci *vp)
{
    bool off = msix_on(vp) || (le16_get(vp->pci.cfg + PCI_COMMAND) & PCI_CMD_INTX_OFF);

    irq_line_set(&vp->irq, !off && virtio_dev_isr(vp->dev) != 0);
}

/* With MSI-X on, the reason's vector (none when the driver gave it NO_VECTOR); the ISR status
 * is not used then (virtio 1.2, 4.1.4.5) and is cleared so that it never raises INTx later. */
static bool msix_interrupt(struct virtio_pci *vp, uint32_t isr, unsigned q)
{
    uint16_t v;

    if (!msix_on(vp))
        return false;
    virtio_dev_isr_clear(vp->dev, isr);
    v = (isr & VIRTIO_ISR_CONFIG)
            ? vec_get(&vp->config_vec)
            : (q < vp->nq ? vec_get(&vp->queue_vec[q]) : VIRTIO_PCI_NO_VECTOR);
    if (v != VIRTIO_PCI_NO_VECTOR)
        return pci_msix_notify(&vp->msix, v) != -ENODEV; /* MSI-X went off meanwhile: INTx */
    return true;
}

static void pci_interrupt(void *opaque, uint32_t isr, unsigned q)
{
    struct virtio_pci *vp = opaque;

    if (msix_interrupt(vp, isr, q))
        return;
    pthread_mutex_lock(&vp->irq_lock);
    intx_update(vp);
    pthread_mutex_unlock(&vp->irq_lock);
}

static const struct virtio_transport_ops pci_tops = {.interrupt = pci_interrupt};

/* After a reset, a restore, or a change of MSI-X enable or INTx disable. */
static void update_irq(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->irq_lock);
    intx_update(vp);
    pthread_mutex_unlock(&vp->irq_lock);
}

/* The driver's vector for config changes or a queue: kept when the table has it. */
static uint16_t vec_valid(const struct virtio_pci *vp, uint64_t val)
{
    return vp->has_msix && val < vp->msix.nvec ? (uint16_t)val : VIRTIO_PCI_NO_VECTOR;
}

static void vectors_reset(struct virtio_pci *vp)
{
    vec_set(&vp->config_vec, VIRTIO_PCI_NO_VECTOR);
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        vec_set(&vp->queue_vec[q], VIRTIO_PCI_NO_VECTOR);
}

void virtio_pci_update_irq(struct virtio_pci *vp)
{
    update_irq(vp);
}

bool virtio_pci_msix_enabled(struct virtio_pci *vp)
{
    return msix_on(vp);
}

/* ISR status read: returns the pending reasons and clears exactly those. */
static uint32_t isr_read_clear(struct virtio_pci *vp)
{
    uint32_t v;

    /* lock-free on the device's side: the device raises interrupts with its own lock held and
     * takes irq_lock then, so irq_lock must never wait for the device's lock */
    pthread_mutex_lock(&vp->irq_lock);
    v = virtio_dev_isr(vp->dev);
    if (v)
        virtio_dev_isr_clear(vp->dev, v);
    intx_update(vp);
    pthread_mutex_unlock(&vp->irq_lock);
    return v;
}

/* --- common configuration --- */

struct common_field {
    uint8_t off, size;
    int reg; /* enum virtio_reg, or -1: handled by the transport */
};

static const struct common_field common_fields[] = {
    {VIRTIO_PCI_COMMON_DFSELECT, 4, VIRTIO_REG_DEVICE_FEATURES_SEL},
    {VIRTIO_PCI_COMMON_DF, 4, VIRTIO_REG_DEVICE_FEATURES},
    {VIRTIO_PCI_COMMON_GFSELECT, 4, VIRTIO_REG_DRIVER_FEATURES_SEL},
    {VIRTIO_PCI_COMMON_GF, 4, VIRTIO_REG_DRIVER_FEATURES},
    {VIRTIO_PCI_COMMON_MSIX, 2, -1},
    {VIRTIO_PCI_COMMON_NUMQ, 2, VIRTIO_REG_NUM_QUEUES},
    {VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_REG_STATUS},
    {VIRTIO_PCI_COMMON_CFGGENERATION, 1, VIRTIO_REG_CONFIG_GENERATION},
    {VIRTIO_PCI_COMMON_Q_SELECT, 2, VIRTIO_REG_QUEUE_SEL},
    {VIRTIO_PCI_COMMON_Q_SIZE, 2, VIRTIO_REG_QUEUE_NUM},
    {VIRTIO_PCI_COMMON_Q_MSIX, 2, -1},
    {VIRTIO_PCI_COMMON_Q_ENABLE, 2, VIRTIO_REG_QUEUE_READY},
    {VIRTIO_PCI_COMMON_Q_NOFF, 2, -1},
    {VIRTIO_PCI_COMMON_Q_DESCLO, 4, VIRTIO_REG_QUEUE_DESC_LO},
    {VIRTIO_PCI_COMMON_Q_DESCHI, 4, VIRTIO_REG_QUEUE_DESC_HI},
    {VIRTIO_PCI_COMMON_Q_AVAILLO, 4, VIRTIO_REG_QUEUE_DRIVER_LO},
    {VIRTIO_PCI_COMMON_Q_AVAILHI, 4, VIRTIO_REG_QUEUE_DRIVER_HI},
    {VIRTIO_PCI_COMMON_Q_USEDLO, 4, VIRTIO_REG_QUEUE_DEVICE_LO},
    {VIRTIO_PCI_COMMON_Q_USEDHI, 4, VIRTIO_REG_QUEUE_DEVICE_HI},
    {VIRTIO_PCI_COMMON_Q_NDATA, 2, -1},
    {VIRTIO_PCI_COMMON_Q_RESET, 2, -1},
};

static const struct common_field *common_field(uint64_t off, unsigned size)
{
    for (size_t i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++)
        if (common_fields[i].off == off && common_fields[i].size == size)
            return &common_fields[i];
    return NULL;
}

/* The queue addresses (desc, driver, device) as one 8-byte access: two 32-bit halves. */
static bool is_queue_addr64(uint64_t off, unsigned size)
{
    return size == 8 && (off == VIRTIO_PCI_COMMON_Q_DESCLO || off == VIRTIO_PCI_COMMON_Q_AVAILLO ||
                         off == VIRTIO_PCI_COMMON_Q_USEDLO);
}

static uint64_t common_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
    const struct common_field *f;
    uint32_t nq, sel;

    if (is_queue_addr64(off, size))
        return common_read(vp, off, 4) | common_read(vp, off + 4, 4) << 32;
    f = common_field(off, size);
    if (!f) {
        log_guest_warn("virtio-pci %s: %u-byte common config read at 0x%llx", vp->name, size,
                       (unsigned long long)off);
        return 0;
    }
    if (f->reg >= 0) {
        uint32_t v = virtio_reg_read(vp->dev, (enum virtio_reg)f->reg);
        return size == 4 ? v : v & ((1u << (8 * size)) - 1);
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_MSIX: return vec_get(&vp->config_vec);
    case VIRTIO_PCI_COMMON_Q_MSIX:
        sel = virtio_reg_read(vp->dev, VIRTIO_REG_QUEUE_SEL);
        return sel < vp->nq ? vec_get(&vp->queue_vec[sel]) : VIRTIO_PCI_NO_VECTOR;
    case VIRTIO_PCI_COMMON_Q_NOFF:
        nq = virtio_reg_read(vp->dev, VIRTIO_REG_NUM_QUEUES);
        sel = virtio_reg_read(vp->dev, VIRTIO_REG_QUEUE_SEL);
        return sel < nq ? sel : 0; /* queue q notifies at notify_off q */
    default: return 0;             /* queue_notif_config_data, queue_reset: not offered */
    }
}

static void common_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t val)
{
    const struct common_field *f;

    if (is_queue_addr64(off, size)) {
        common_write(vp, off, 4, (uint32_t)val);
        common_write(vp, off + 4, 4, val >> 32);
        return;
    }
    f = common_field(off, size);
    if (!f) {
        log_guest_warn("virtio-pci %s: %u-byte common config write at 0x%llx", vp->name, size,
                       (unsigned long long)off);
        return;
    }
    if (off == VIRTIO_PCI_COMMON_MSIX) {
        vec_set(&vp->config_vec, vec_valid(vp, val));
        return;
    }
    if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
        uint32_t sel = virtio_reg_read(vp->dev, VIRTIO_REG_QUEUE_SEL);
        if (sel < vp->nq)
            vec_set(&vp->queue_vec[sel], vec_valid(vp, val));
        return;
    }
    switch (f->reg) {
    case -1: return; /* read-only or unoffered fields */
    case VIRTIO_REG_DEVICE_FEATURES:
    case VIRTIO_REG_NUM_QUEUES:
    case VIRTIO_REG_CONFIG_GENERATION: return; /* read-only */
    case VIRTIO_REG_QUEUE_READY:
        if (val != 1)
            return; /* the driver must not write 0 (queue_reset is not offered) */
        break;
    default: break;
    }
    virtio_reg_write(vp->dev, (enum virtio_reg)f->reg, (uint32_t)val);
    if (f->reg == VIRTIO_REG_STATUS) {
        if (!val)
            vectors_reset(vp); /* a device reset forgets the driver's vectors */
        update_irq(vp);
    }
}

/* --- the BAR --- */

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_pci *vp = opaque;
    uint64_t v;

    if (vp->has_msix && pci_msix_mmio_read(&vp->msix, off, size, &v))
        return v;
    switch (off / VIRTIO_PCI_REGION_SIZE) {
    case VIRTIO_PCI_COMMON_OFF / VIRTIO_PCI_REGION_SIZE: return common_read(vp, off, size);
    case VIRTIO_PCI_ISR_OFF / VIRTIO_PCI_REGION_SIZE:
        return off == VIRTIO_PCI_ISR_OFF ? isr_read_clear(vp) : 0;
    case VIRTIO_PCI_DEVICE_OFF / VIRTIO_PCI_REGION_SIZE:
        virtio_config_read(vp->dev, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF), size, &v);
        return v;
    default: return 0; /* notification: write-only */
    }
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct virtio_pci *vp = opaque;
    uint64_t n;

    if (vp->has_msix && pci_msix_mmio_write(&vp->msix, off, size, val))
        return;
    switch (off / VIRTIO_PCI_REGION_SIZE) {
    case VIRTIO_PCI_COMMON_OFF / VIRTIO_PCI_REGION_SIZE: common_write(vp, off, size, val); return;
    case VIRTIO_PCI_DEVICE_OFF / VIRTIO_PCI_REGION_SIZE:
        virtio_config_write(vp->dev, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF), size, val);
        return;
    case VIRTIO_PCI_NOTIFY_OFF / VIRTIO_PCI_REGION_SIZE:
        /* Without VIRTIO_F_NOTIFICATION_DATA the address names the queue; the value is the
         * queue index too, and is not needed. A KVM ioeventfd usually takes these writes. */
        n = off - VIRTIO_PCI_NOTIFY_OFF;
        if (n % VIRTIO_PCI_NOTIFY_MULT == 0)
            virtio_queue_kick_from_guest(vp->dev, (unsigned)(n / VIRTIO_PCI_NOTIFY_MULT));
        return;
    default: return; /* ISR status is read-only */
    }
}

const struct bus_ops virtio_pci_bar_ops = {.read = bar_read, .write = bar_write};

/* --- config space: the capabilities and the VIRTIO_PCI_CAP_PCI_CFG window --- */

/* The BAR access that the PCI_CFG capability currently describes, if it is a valid one. */
static bool cfg_window(struct virtio_pci *vp, uint64_t *off, unsigned *len)
{
    const uint8_t *c = vp->pci.cfg + vp->cfg_cap;
    uint32_t o = le32_get(c + 8), l = le32_get(c + 12);

    if (c[4] != VIRTIO_PCI_BAR || (l != 1 && l != 2 && l != 4) || (o & (l - 1)) ||
        o > VIRTIO_PCI_BAR_SIZE - l)
        return false;
    *off = o;
    *len = l;
    return true;
}

static bool overlaps_data(const struct virtio_pci *vp, unsigned off, unsigned size)
{
    unsigned data = vp->cfg_cap + 16;

    return off < data + 4 && off + size > data;
}

static uint32_t cfg_read(struct pci_dev *d, unsigned off, unsigned size, uint32_t val)
{
    struct virtio_pci *vp = (struct virtio_pci *)d;
    unsigned data = vp->cfg_cap + 16, len;
    uint64_t boff;
    uint8_t buf[4] = {0};
    uint32_t v = 0, r;

    if (!overlaps_data(vp, off, size) || !cfg_window(vp, &boff, &len))
        return val;
    if (off < data || off + size > data + 4)
        return val; /* only accesses inside pci_cfg_data */
    r = (uint32_t)bar_read(vp, boff, len);
    memcpy(buf, &r, len);
    memcpy(&v, buf + (off - data), size);
    return v;
}

static void cfg_written(struct pci_dev *d, unsigned off, unsigned size)
{
    struct virtio_pci *vp = (struct virtio_pci *)d;
    uint64_t boff;
    unsigned len;

    if ((vp->has_msix && pci_msix_cfg_written(&vp->msix, off, size)) ||
        (off <= PCI_COMMAND + 1 && off + size > PCI_COMMAND))
        update_irq(vp); /* MSI-X enable or INTx disable changed */
    if (!overlaps_data(vp, off, size) || !cfg_window(vp, &boff, &len))
        return;
    bar_write(vp, boff, len,
              le32_get(vp->pci.cfg + vp->cfg_cap + 16) & (len == 4 ? ~0u : (1u << (8 * len)) - 1));
}

/* A machine reset: config space is back to power-on (MSI-X off), the device was reset. */
static void function_reset(struct pci_dev *d)
{
    struct virtio_pci *vp = (struct virtio_pci *)d;

    vectors_reset(vp);
    if (vp->has_msix)
        pci_msix_reset(&vp->msix);
    update_irq(vp);
}

static const struct pci_dev_ops virtio_pci_cfg_ops = {
    .cfg_written = cfg_written, .cfg_read = cfg_read, .reset = function_reset};

static int add_cap(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len, uint32_t extra,
                   unsigned cap_len)
{
    uint8_t c[VIRTIO_PCI_CFG_CAP_LEN] = {VIRTIO_PCI_CAP_VNDR, 0, (uint8_t)cap_len, type,
                                         type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_PCI_BAR};

    memcpy(c + 8, &off, 4);
    memcpy(c + 12, &len, 4);
    memcpy(c + 16, &extra, 4);
    return pci_dev_add_cap(&vp->pci, c, cap_len);
}

static int build_function(struct virtio_pci *vp)
{
    uint32_t id = virtio_reg_read(vp->dev, VIRTIO_REG_DEVICE_ID);
    uint32_t nq = virtio_reg_read(vp->dev, VIRTIO_REG_NUM_QUEUES);
    int err, cfg;

    pci_dev_init(&vp->pci, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + id),
                 virtio_pci_class(id) << 8 | VIRTIO_PCI_REVISION, VIRTIO_PCI_VENDOR, (uint16_t)id,
                 vp->name);
    vp->pci.ops = &virtio_pci_cfg_ops;
    vp->pci.opaque = vp;
    err = pci_dev_add_bar(&vp->pci, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, false, true);
    if (err)
        return err;
    if ((err = add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN,
                       0, VIRTIO_PCI_CAP_LEN)) < 0 ||
        (err = add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, 0, VIRTIO_PCI_CAP_LEN)) <
            0 ||
        (err = add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
                       nq * VIRTIO_PCI_NOTIFY_MULT, VIRTIO_PCI_NOTIFY_MULT,
                       VIRTIO_PCI_NOTIFY_CAP_LEN)) < 0)
        return err;
    err = 0;
    /* the device capability only when the device has a config space */
    if (virtio_dev_config_size(vp->dev))
        err = add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
                      virtio_dev_config_size(vp->dev), 0, VIRTIO_PCI_CAP_LEN);
    if (err < 0)
        return err;
    cfg = add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, VIRTIO_PCI_CFG_CAP_LEN);
    if (cfg < 0)
        return cfg;
    vp->cfg_cap = (unsigned)cfg;
    /* the driver chooses bar, offset, length and the data of the PCI_CFG window */
    memset(vp->pci.wmask + cfg + 4, 0xff, 1);
    memset(vp->pci.wmask + cfg + 8, 0xff, 12);
    return 0;
}

unsigned virtio_pci_msix_vectors(struct virtio_dev *d)
{
    return virtio_reg_read(d, VIRTIO_REG_NUM_QUEUES) + 1;
}

int virtio_pci_create(struct virtio_pci **out, struct virtio_dev *d, const struct irq_line *irq,
                      const struct pci_msi_sink *msi, void *msi_opaque)
{
    struct virtio_pci *vp = calloc(1, sizeof(*vp));
    int err;

    if (!vp)
        return -ENOMEM;
    vp->dev = d;
    vp->irq = *irq;
    vp->nq = virtio_reg_read(d, VIRTIO_REG_NUM_QUEUES);
    vectors_reset(vp);
    snprintf(vp->name, sizeof(vp->name), "virtio-%s", virtio_dev_name(d));
    err = build_function(vp);
    /* the MSI-X capability last, so that the others keep their offsets of older versions */
    if (!err && msi) {
        err = pci_msix_init(&vp->msix, &vp->pci, virtio_pci_msix_vectors(d), VIRTIO_PCI_BAR,
                            VIRTIO_PCI_MSIX_TABLE_OFF, VIRTIO_PCI_MSIX_PBA_OFF, msi, msi_opaque);
        vp->has_msix = !err;
    }
    if (err) {
        log_err("%s: building its PCI function: %s", vp->name, strerror(-err));
        free(vp);
        return err;
    }
    pthread_mutex_init(&vp->irq_lock, NULL);
    virtio_dev_attach(d, &pci_tops, vp);
    *out = vp;
    return 0;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
    if (!vp)
        return;
    if (vp->has_msix)
        pci_msix_destroy(&vp->msix);
    pthread_mutex_destroy(&vp->irq_lock);
    free(vp);
}

/* --- snapshots --- */

long virtio_pci_save(struct virtio_pci *vp, uint8_t *buf, size_t cap)
{
    size_t n = 8 + 2 * (size_t)vp->nq;
    unsigned nvec = vp->has_msix ? vp->msix.nvec : 0;

    if (cap < n + PCI_MSIX_SAVE_LEN(nvec))
        return -ENOSPC;
    le32_put(buf, VIRTIO_PCI_SAVE_VERSION);
    le16_put(buf + 4, vec_get(&vp->config_vec));
    le16_put(buf + 6, (uint16_t)vp->nq);
    for (unsigned q = 0; q < vp->nq; q++)
        le16_put(buf + 8 + 2 * q, vec_get(&vp->queue_vec[q]));
    if (vp->has_msix)
        return (long)(n + pci_msix_save(&vp->msix, buf + n));
    le32_put(buf + n, 0);
    le64_put(buf + n + 4, 0);
    return (long)(n + PCI_MSIX_SAVE_LEN(0));
}

static bool vec_ok(const struct virtio_pci *vp, uint16_t v)
{
    return v == VIRTIO_PCI_NO_VECTOR || (vp->has_msix && v < vp->msix.nvec);
}

int virtio_pci_load(struct virtio_pci *vp, const uint8_t *buf, size_t len)
{
    size_t n = 8 + 2 * (size_t)vp->nq;
    int err = 0;

    if (len < n || le32_get(buf) != VIRTIO_PCI_SAVE_VERSION || le16_get(buf + 6) != vp->nq ||
        !vec_ok(vp, le16_get(buf + 4)))
        return -EINVAL;
    for (unsigned q = 0; q < vp->nq; q++)
        if (!vec_ok(vp, le16_get(buf + 8 + 2 * q)))
            return -EINVAL;
    if (vp->has_msix)
        err = pci_msix_load(&vp->msix, buf + n, len - n);
    else if (len - n != PCI_MSIX_SAVE_LEN(0) || le32_get(buf + n) || le64_get(buf + n + 4))
        err = -EINVAL;
    if (err)
        return err;
    vec_set(&vp->config_vec, le16_get(buf + 4));
    for (unsigned q = 0; q < vp->nq; q++)
        vec_set(&vp->queue_vec[q], le16_get(buf + 8 + 2 * q));
    return 0;
}

struct pci_dev *virtio_pci_function(struct virtio_pci *vp)
{
    return &vp->pci;
}
