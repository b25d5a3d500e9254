/* MSI-X: the generic model (bus/pci_msix.c: capability, table, PBA, per-vector and function
 * masks, pending bits, save/load) and virtio-pci on it (vector assignment in the common
 * configuration, queue and config interrupts to their vectors, INTx as the fallback, resets and
 * the transport's snapshot section). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "board/x86/layout.h"
#include "board/x86/pci.h"
#include "bus/pci_msix.h"
#include "harness.h"
#include "virtio_test_util.h"
#include "virtio/pci.h"

static const struct virtio_dev_ops m_ops = TEST_DEV_OPS("rng", VIRTIO_ID_RNG);

/* The sink: the messages routed and the vectors signalled, per vector. */
static struct {
    int routes[PCI_MSIX_MAX_VECTORS], signals[PCI_MSIX_MAX_VECTORS];
    uint64_t addr[PCI_MSIX_MAX_VECTORS];
    uint32_t data[PCI_MSIX_MAX_VECTORS];
} sk;

static void sk_route(void *opaque, unsigned v, uint64_t addr, uint32_t data)
{
    (void)opaque;
    sk.routes[v]++;
    sk.addr[v] = addr;
    sk.data[v] = data;
}

static void sk_signal(void *opaque, unsigned v)
{
    (void)opaque;
    __atomic_fetch_add(&sk.signals[v], 1, __ATOMIC_SEQ_CST);
}

static const struct pci_msi_sink sink = {.route = sk_route, .signal = sk_signal};

static int signals(unsigned v)
{
    return __atomic_load_n(&sk.signals[v], __ATOMIC_SEQ_CST);
}

static unsigned find_cap(const struct pci_dev *d, uint8_t id)
{
    for (unsigned p = d->cfg[PCI_CAP_PTR], n = 0; p && n < 48; p = d->cfg[p + 1], n++)
        if (d->cfg[p] == id)
            return p;
    return 0;
}

/* A guest config write through the generic model and the function's hook. */
static void cfg_w(struct pci_dev *d, unsigned off, unsigned size, uint32_t v)
{
    pci_dev_cfg_write(d, off, size, v);
    if (d->ops && d->ops->cfg_written)
        d->ops->cfg_written(d, off, size);
}

static void entry_w(struct pci_msix *m, unsigned v, uint64_t addr, uint32_t data, uint32_t ctrl)
{
    uint64_t e = m->table_off + (uint64_t)v * PCI_MSIX_ENTRY_SIZE;

    CHECK(pci_msix_mmio_write(m, e, 8, addr));
    CHECK(pci_msix_mmio_write(m, e + 8, 4, data));
    CHECK(pci_msix_mmio_write(m, e + 12, 4, ctrl));
}

TEST(pci_msix_table_masks_pending)
{
    static struct pci_dev d;
    static struct pci_msix m;
    uint64_t v = 0;
    unsigned cap;

    memset(&sk, 0, sizeof(sk));
    pci_dev_init(&d, 0x1af4, 0x1044, 0xff0000, 0x1af4, 4, "t");
    CHECK_EQ(pci_dev_add_bar(&d, 4, 0x4000, false, true), 0);
    CHECK_EQ(pci_msix_init(&m, &d, 3, 4, 0x1800, 0x1c00, &sink, NULL), 0);
    cap = find_cap(&d, PCI_CAP_ID_MSIX);
    CHECK(cap >= 0x40);
    CHECK_EQ(pci_dev_cfg_read(&d, cap + 2, 2), 2); /* table size - 1, disabled, unmasked */
    CHECK_EQ(pci_dev_cfg_read(&d, cap + 4, 4), 0x1800 | 4);
    CHECK_EQ(pci_dev_cfg_read(&d, cap + 8, 4), 0x1c00 | 4);
    /* bad layouts */
    {
        static struct pci_msix m2;
        CHECK_EQ(pci_msix_init(&m2, &d, 0, 4, 0x1800, 0x1c00, &sink, NULL), -EINVAL);
        CHECK_EQ(pci_msix_init(&m2, &d, 3, 4, 0x1804, 0x1c00, &sink, NULL), -EINVAL);
        CHECK_EQ(pci_msix_init(&m2, &d, 3, 4, 0x1800, 0x1810, &sink, NULL), -EINVAL); /* overlap */
        CHECK_EQ(pci_msix_init(&m2, &d, 3, 2, 0x1800, 0x1c00, &sink, NULL), -EINVAL); /* no BAR */
        CHECK_EQ(pci_msix_init(&m2, &d, 3, 4, 0x3ff8, 0x1c00, &sink, NULL), -EINVAL);
    }
    /* every vector starts masked; reserved control bits read 0; other widths read 0 */
    CHECK(pci_msix_mmio_read(&m, 0x1800 + 12, 4, &v));
    CHECK_EQ(v, 1);
    pci_msix_mmio_write(&m, 0x1800 + 16 + 12, 4, 0xfffffffe);
    CHECK(pci_msix_mmio_read(&m, 0x1800 + 16 + 12, 4, &v));
    CHECK_EQ(v, 0);
    CHECK(pci_msix_mmio_read(&m, 0x1800, 2, &v));
    CHECK_EQ(v, 0);
    CHECK(!pci_msix_mmio_read(&m, 0x1800 + 3 * 16, 4, &v)); /* past the table */
    CHECK_EQ(pci_msix_notify(&m, 0), -ENODEV);              /* MSI-X disabled */

    cfg_w(&d, cap + 2, 2, PCI_MSIX_CTRL_ENABLE);
    pci_msix_cfg_written(&m, cap + 2, 2);
    CHECK(pci_msix_enabled(&m));
    CHECK_EQ(pci_msix_notify(&m, 3), -EINVAL);
    /* masked vector 0: pending, then delivered with its message when unmasked */
    CHECK_EQ(pci_msix_notify(&m, 0), 0);
    CHECK_EQ(signals(0), 0);
    CHECK(pci_msix_mmio_read(&m, 0x1c00, 8, &v));
    CHECK_EQ(v, 1);
    entry_w(&m, 0, 0xfee01000, 0x4041, 0);
    CHECK_EQ(sk.routes[0], 1);
    CHECK_EQ(sk.addr[0], 0xfee01000);
    CHECK_EQ(sk.data[0], 0x4041);
    CHECK_EQ(signals(0), 1);
    CHECK(pci_msix_mmio_read(&m, 0x1c00, 4, &v));
    CHECK_EQ(v, 0);
    CHECK(pci_msix_mmio_write(&m, 0x1c00, 8, ~0ULL)); /* the PBA is read-only */
    CHECK(pci_msix_mmio_read(&m, 0x1c00, 8, &v));
    CHECK_EQ(v, 0);
    /* unmasked: straight through, no second route for the same message */
    CHECK_EQ(pci_msix_notify(&m, 0), 0);
    CHECK_EQ(signals(0), 2);
    CHECK_EQ(sk.routes[0], 1);
    /* a new message while unmasked is routed at once */
    CHECK(pci_msix_mmio_write(&m, 0x1800 + 8, 4, 0x4042));
    CHECK_EQ(sk.routes[0], 2);
    CHECK_EQ(sk.data[0], 0x4042);
    /* the function mask holds every vector; clearing it sends what is pending */
    cfg_w(&d, cap + 2, 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASK);
    pci_msix_cfg_written(&m, cap + 2, 2);
    CHECK_EQ(pci_msix_notify(&m, 0), 0);
    CHECK_EQ(signals(0), 2);
    cfg_w(&d, cap + 2, 2, PCI_MSIX_CTRL_ENABLE);
    pci_msix_cfg_written(&m, cap + 2, 2);
    CHECK_EQ(signals(0), 3);

    /* save and load: a round trip; refusals change nothing */
    {
        static struct pci_dev d2;
        static struct pci_msix m2;
        uint8_t buf[PCI_MSIX_SAVE_LEN(3)], bad[sizeof(buf)];

        entry_w(&m, 2, 0xfee00000, 0x30, 1);
        CHECK_EQ(pci_msix_notify(&m, 2), 0); /* pending */
        CHECK_EQ(pci_msix_save(&m, buf), sizeof(buf));
        pci_dev_init(&d2, 0x1af4, 0x1044, 0xff0000, 0x1af4, 4, "t2");
        pci_dev_add_bar(&d2, 4, 0x4000, false, true);
        CHECK_EQ(pci_msix_init(&m2, &d2, 3, 4, 0x1800, 0x1c00, &sink, NULL), 0);
        memcpy(d2.cfg, d.cfg, PCI_CFG_SIZE); /* the PCI host's section comes first */
        memcpy(bad, buf, sizeof(buf));
        bad[4 + 2 * 16 + 12] = 2; /* reserved vector-control bit */
        CHECK_EQ(pci_msix_load(&m2, bad, sizeof(bad)), -EINVAL);
        memcpy(bad, buf, sizeof(buf));
        bad[4 + 3 * 16] = 0x08; /* pending bit past the table */
        CHECK_EQ(pci_msix_load(&m2, bad, sizeof(bad)), -EINVAL);
        CHECK_EQ(pci_msix_load(&m2, buf, sizeof(buf) - 1), -EINVAL);
        CHECK(pci_msix_mmio_read(&m2, 0x1800, 8, &v));
        CHECK_EQ(v, 0);
        memset(&sk, 0, sizeof(sk));
        CHECK_EQ(pci_msix_load(&m2, buf, sizeof(buf)), 0);
        CHECK_EQ(sk.routes[0], 1); /* the unmasked vector is routed again */
        CHECK_EQ(sk.routes[2], 0);
        CHECK(pci_msix_enabled(&m2));
        CHECK(pci_msix_mmio_read(&m2, 0x1c00, 8, &v));
        CHECK_EQ(v, 4);
        CHECK(pci_msix_mmio_write(&m2, 0x1800 + 2 * 16 + 12, 4, 0)); /* unmask: delivered */
        CHECK_EQ(signals(2), 1);
        pci_msix_reset(&m2);
        CHECK(!pci_msix_enabled(&m2));
        CHECK(pci_msix_mmio_read(&m2, 0x1800 + 12, 4, &v));
        CHECK_EQ(v, 1);
        pci_msix_destroy(&m2);
    }
    pci_msix_destroy(&m);
}

struct mfix {
    struct virtio_dev *d;
    struct virtio_pci *vp;
    struct pci_dev *fn;
    unsigned cap;
};

static uint64_t mr(struct mfix *f, uint64_t off, unsigned size)
{
    return virtio_pci_bar_ops.read(f->vp, off, size);
}

static void mw(struct mfix *f, uint64_t off, unsigned size, uint64_t v)
{
    virtio_pci_bar_ops.write(f->vp, off, size, v);
}

static void mfix_init(struct mfix *f)
{
    const struct irq_line irq = {fake_irq, NULL, 18};

    memset(&sk, 0, sizeof(sk));
    test_dev_create(&f->d, &m_ops);
    CHECK_EQ(virtio_pci_create(&f->vp, f->d, &irq, &sink, NULL), 0);
    f->fn = virtio_pci_function(f->vp);
    f->cap = find_cap(f->fn, PCI_CAP_ID_MSIX);
}

/* A driver's set-up up to DRIVER_OK with queue 0 ready. */
static void drive_ok(struct mfix *f)
{
    const uint64_t c = VIRTIO_PCI_COMMON_OFF;
    const uint8_t acked = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

    mw(f, c + VIRTIO_PCI_COMMON_STATUS, 1, acked);
    mw(f, c + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    mw(f, c + VIRTIO_PCI_COMMON_GF, 4, 1);
    mw(f, c + VIRTIO_PCI_COMMON_STATUS, 1, acked | VIRTIO_STATUS_FEATURES_OK);
    mw(f, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    mw(f, c + VIRTIO_PCI_COMMON_Q_SIZE, 2, 16);
    mw(f, c + VIRTIO_PCI_COMMON_Q_DESCLO, 8, DESC);
    mw(f, c + VIRTIO_PCI_COMMON_Q_AVAILLO, 8, AVAIL);
    mw(f, c + VIRTIO_PCI_COMMON_Q_USEDLO, 8, USED);
    mw(f, c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    mw(f, c + VIRTIO_PCI_COMMON_STATUS, 1,
       acked | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    CHECK(!virtio_dev_is_broken(f->d));
}

TEST(virtio_pci_msix_vectors_and_intx_fallback)
{
    static struct x86_pci host;
    const uint64_t c = VIRTIO_PCI_COMMON_OFF;
    struct mfix f;
    uint8_t buf[VIRTIO_PCI_SAVE_MAX];
    long n;

    mfix_init(&f);
    CHECK(f.cap);
    CHECK_EQ(f.fn->cfg[f.cap + 1], 0); /* the last capability: older ones keep their offsets */
    CHECK_EQ(pci_dev_cfg_read(f.fn, f.cap + 2, 2), 2); /* 2 queues + config = 3 vectors */
    CHECK_EQ(virtio_pci_msix_vectors(f.d), 3);
    x86_pci_init(&host, NULL, NULL);
    CHECK_EQ(x86_pci_add(&host, 3, f.fn, X86_PCI_GSI(3, 0)), 0);

    /* without MSI-X (a driver that does not enable it): INTx, as before */
    drive_ok(&f);
    mw(&f, virtio_pci_notify_offset(0), 2, 0);
    CHECK(wait_for(&kicks, 1));
    virtio_queue_push(f.d, 0, 0, 0);
    virtio_queue_notify(f.d, 0);
    CHECK_EQ(atomic_load(&irq_level), 1);
    CHECK_EQ(mr(&f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_QUEUE);
    CHECK_EQ(atomic_load(&irq_level), 0);
    /* INTx disable in the command register holds the line down */
    x86_pci_cfg_write(&host, 0, 3, 0, PCI_COMMAND, 2, PCI_CMD_INTX_OFF | 0x6);
    virtio_dev_config_set(f.d, 0, "\x01", 1);
    CHECK_EQ(atomic_load(&irq_level), 0);
    x86_pci_cfg_write(&host, 0, 3, 0, PCI_COMMAND, 2, 0x6);
    CHECK_EQ(atomic_load(&irq_level), 1); /* still pending: the line comes up */
    mr(&f, VIRTIO_PCI_ISR_OFF, 1);

    /* vectors: kept when the table has them, NO_VECTOR otherwise */
    mw(&f, c + VIRTIO_PCI_COMMON_MSIX, 2, 2);
    CHECK_EQ(mr(&f, c + VIRTIO_PCI_COMMON_MSIX, 2), 2);
    mw(&f, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    mw(&f, c + VIRTIO_PCI_COMMON_Q_MSIX, 2, 3);
    CHECK_EQ(mr(&f, c + VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
    mw(&f, c + VIRTIO_PCI_COMMON_Q_MSIX, 2, 0);
    CHECK_EQ(mr(&f, c + VIRTIO_PCI_COMMON_Q_MSIX, 2), 0);
    mw(&f, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    mw(&f, c + VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
    /* program and unmask the table, enable MSI-X */
    for (unsigned v = 0; v < 3; v++) {
        uint64_t e = VIRTIO_PCI_MSIX_TABLE_OFF + 16 * v;
        mw(&f, e, 4, 0xfee00000);
        mw(&f, e + 4, 4, 0);
        mw(&f, e + 8, 4, 0x40 + v);
        mw(&f, e + 12, 4, 0);
    }
    CHECK_EQ(sk.routes[1], 1);
    CHECK_EQ(sk.data[1], 0x41);
    x86_pci_cfg_write(&host, 0, 3, 0, f.cap + 2, 2, PCI_MSIX_CTRL_ENABLE);
    CHECK(virtio_pci_msix_enabled(f.vp));
    /* a queue interrupt goes to the queue's vector, a config change to the config vector; the
     * ISR stays clear and INTx down */
    virtio_queue_push(f.d, 0, 0, 0);
    virtio_queue_notify(f.d, 0);
    CHECK_EQ(signals(0), 1);
    CHECK_EQ(virtio_dev_isr(f.d), 0);
    CHECK_EQ(atomic_load(&irq_level), 0);
    virtio_dev_config_set(f.d, 0, "\x02", 1);
    CHECK_EQ(signals(2), 1);
    CHECK_EQ(signals(1), 0);
    CHECK_EQ(atomic_load(&irq_level), 0);
    /* a queue whose vector is NO_VECTOR raises nothing */
    mw(&f, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    mw(&f, c + VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_PCI_NO_VECTOR);
    virtio_queue_push(f.d, 0, 1, 0);
    virtio_queue_notify(f.d, 0);
    CHECK_EQ(signals(0), 1);
    CHECK_EQ(atomic_load(&irq_level), 0);
    mw(&f, c + VIRTIO_PCI_COMMON_Q_MSIX, 2, 0);

    /* the transport's section: round trip into a second function; refusals */
    n = virtio_pci_save(f.vp, buf, sizeof(buf));
    CHECK_EQ(n, 8 + 2 * 2 + PCI_MSIX_SAVE_LEN(3));
    {
        struct mfix g;
        uint8_t bad[VIRTIO_PCI_SAVE_MAX];

        mfix_init(&g);
        memcpy(g.fn->cfg, f.fn->cfg, PCI_CFG_SIZE);
        memcpy(bad, buf, (size_t)n);
        bad[0] = 2; /* another version */
        CHECK_EQ(virtio_pci_load(g.vp, bad, (size_t)n), -EINVAL);
        memcpy(bad, buf, (size_t)n);
        bad[8] = 7; /* queue 0's vector past the table */
        CHECK_EQ(virtio_pci_load(g.vp, bad, (size_t)n), -EINVAL);
        CHECK_EQ(virtio_pci_load(g.vp, buf, (size_t)n - 1), -EINVAL);
        CHECK_EQ(mr(&g, c + VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
        CHECK_EQ(virtio_pci_load(g.vp, buf, (size_t)n), 0);
        CHECK_EQ(mr(&g, c + VIRTIO_PCI_COMMON_MSIX, 2), 2);
        CHECK(virtio_pci_msix_enabled(g.vp));
        CHECK_EQ(sk.routes[2], 1); /* routed again by the load */
        virtio_dev_destroy(g.d);
        virtio_pci_destroy(g.vp);
    }

    /* a device reset forgets the vectors; a machine reset turns MSI-X off: INTx again */
    mw(&f, c + VIRTIO_PCI_COMMON_STATUS, 1, 0);
    CHECK_EQ(mr(&f, c + VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
    x86_pci_reset(&host);
    CHECK(!virtio_pci_msix_enabled(f.vp));
    CHECK_EQ(pci_dev_cfg_read(f.fn, PCI_COMMAND, 2), 0);
    CHECK_EQ(f.fn->bar_addr[VIRTIO_PCI_BAR], X86_PCI_MMIO_BASE); /* placement stays */
    drive_ok(&f);
    virtio_dev_config_set(f.d, 0, "\x03", 1);
    CHECK_EQ(atomic_load(&irq_level), 1);
    x86_pci_destroy(&host);
    virtio_dev_destroy(f.d);
    virtio_pci_destroy(f.vp);
}

/* INTx: a config change (the device's lock held while it raises the line) racing with the
 * driver's ISR reads must not deadlock (the ISR read once took the device's lock inside the
 * transport's interrupt lock). Both sides on their own threads; bounded at 20 s. */
static void *config_changer(void *arg)
{
    struct mfix *f = arg;

    for (int i = 0; i < 200000; i++)
        virtio_dev_config_set(f->d, 0, "\x04", 1);
    return NULL;
}

static void *isr_reader(void *arg)
{
    struct mfix *f = arg;

    for (int i = 0; i < 200000; i++)
        mr(f, VIRTIO_PCI_ISR_OFF, 1);
    return NULL;
}

TEST(virtio_pci_intx_isr_read_races_config_change)
{
    static struct mfix f;
    pthread_t a, b;
    struct timespec end;
    int ja, jb;

    mfix_init(&f);
    drive_ok(&f); /* MSI-X stays off: INTx */
    CHECK_EQ(pthread_create(&a, NULL, config_changer, &f), 0);
    CHECK_EQ(pthread_create(&b, NULL, isr_reader, &f), 0);
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += 20;
    ja = pthread_timedjoin_np(a, NULL, &end);
    jb = pthread_timedjoin_np(b, NULL, &end);
    CHECK_EQ(ja, 0);
    CHECK_EQ(jb, 0);
    if (ja || jb)
        return; /* deadlocked: the threads still hold the device */
    virtio_dev_destroy(f.d);
    virtio_pci_destroy(f.vp);
}
