/* virtio-pci modern transport: the PCI function (IDs, class, BAR 4, the capability list), the
 * common configuration decoded into the core's registers, queue setup with 32- and 64-bit
 * address writes, notifications, the read-to-clear ISR and the INTx line, device config, and
 * the VIRTIO_PCI_CAP_PCI_CFG window; plus the function on the board's host bridge. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "board/x86/layout.h"
#include "board/x86/pci.h"
#include "harness.h"
#include "virtio_test_util.h"
#include "virtio/pci.h"

static const struct virtio_dev_ops t_ops = TEST_DEV_OPS("blk", VIRTIO_ID_BLOCK);

struct fix {
    struct virtio_dev *d;
    struct virtio_pci *vp;
    struct pci_dev *fn;
};

static uint64_t R(struct fix *f, uint64_t off, unsigned size)
{
    return virtio_pci_bar_ops.read(f->vp, off, size);
}

static void W(struct fix *f, uint64_t off, unsigned size, uint64_t v)
{
    virtio_pci_bar_ops.write(f->vp, off, size, v);
}

static uint32_t cfg32(const struct pci_dev *d, unsigned off)
{
    uint32_t v;

    memcpy(&v, d->cfg + off, 4);
    return v;
}

static void fix_init(struct fix *f)
{
    const struct irq_line irq = {fake_irq, NULL, 17};

    test_dev_create(&f->d, &t_ops);
    CHECK_EQ(virtio_pci_create(&f->vp, f->d, &irq, NULL, NULL), 0); /* INTx only */
    f->fn = virtio_pci_function(f->vp);
}

static void fix_fini(struct fix *f)
{
    virtio_dev_destroy(f->d);
    virtio_pci_destroy(f->vp);
}

TEST(virtio_pci_function_and_caps)
{
    struct fix f;
    const uint8_t *c;
    int seen[6] = {0};
    unsigned p, n = 0;

    fix_init(&f);
    CHECK_EQ(cfg32(f.fn, PCI_VENDOR_ID), 0x1af4 | 0x1042u << 16);
    CHECK_EQ(cfg32(f.fn, PCI_CLASS_REV), 0x01000001); /* storage, revision 1 */
    CHECK_EQ(cfg32(f.fn, PCI_SUBSYS_VID), 0x1af4 | 2u << 16);
    CHECK_EQ(f.fn->bar_size[VIRTIO_PCI_BAR], VIRTIO_PCI_BAR_SIZE);
    CHECK_EQ(f.fn->cfg[PCI_BAR0 + 4 * VIRTIO_PCI_BAR] & 0x7, PCI_BAR_MEM64);
    CHECK(f.fn->cfg[PCI_STATUS] & PCI_STATUS_CAP);
    for (p = f.fn->cfg[PCI_CAP_PTR]; p && n < 16; p = f.fn->cfg[p + 1], n++) {
        uint32_t off, len;

        c = f.fn->cfg + p;
        CHECK_EQ(c[0], VIRTIO_PCI_CAP_VNDR);
        CHECK(c[3] >= 1 && c[3] <= 5);
        if (c[3] < 1 || c[3] > 5)
            continue;
        seen[c[3]]++;
        memcpy(&off, c + 8, 4);
        memcpy(&len, c + 12, 4);
        switch (c[3]) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            CHECK(c[4] == 4 && off == 0 && len == 0x3c && c[2] == 16);
            break;
        case VIRTIO_PCI_CAP_ISR_CFG: CHECK(c[4] == 4 && off == 0x1000 && len == 1); break;
        case VIRTIO_PCI_CAP_DEVICE_CFG: CHECK(c[4] == 4 && off == 0x2000 && len == 12); break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            CHECK(c[4] == 4 && off == 0x3000 && len == 2 * 4 && c[2] == 20);
            CHECK_EQ(cfg32(f.fn, p + 16), 4); /* notify_off_multiplier */
            break;
        case VIRTIO_PCI_CAP_PCI_CFG: CHECK_EQ(c[2], 20); break;
        }
    }
    for (int i = 1; i <= 5; i++)
        CHECK_EQ(seen[i], 1);
    CHECK_EQ(virtio_pci_class(VIRTIO_ID_NET), 0x020000);
    CHECK_EQ(virtio_pci_class(VIRTIO_ID_CONSOLE), 0x078000);
    CHECK_EQ(virtio_pci_class(VIRTIO_ID_RNG), 0xff0000);
    fix_fini(&f);
}

TEST(virtio_pci_common_cfg_and_queue)
{
    struct fix f;
    const uint64_t c = VIRTIO_PCI_COMMON_OFF;

    fix_init(&f);
    W(&f, c + VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_DF, 4), 1); /* VERSION_1 */
    W(&f, c + VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_DF, 4) & 0xff, 1u << 3);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_NUMQ, 2), 2);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_NUMQ, 4), 0); /* wrong width */
    W(&f, c + VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    W(&f, c + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    W(&f, c + VIRTIO_PCI_COMMON_GF, 4, 1);
    W(&f, c + VIRTIO_PCI_COMMON_STATUS, 1,
      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    CHECK(R(&f, c + VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);

    W(&f, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
    W(&f, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 5); /* no such queue */
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    W(&f, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    W(&f, c + VIRTIO_PCI_COMMON_Q_SIZE, 2, 16);
    W(&f, c + VIRTIO_PCI_COMMON_Q_DESCLO, 8, DESC); /* one 64-bit write */
    W(&f, c + VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)AVAIL);
    W(&f, c + VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
    W(&f, c + VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)USED);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_Q_DESCLO, 8), DESC);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_Q_AVAILLO, 4), AVAIL);
    W(&f, c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    W(&f, c + VIRTIO_PCI_COMMON_STATUS, 1,
      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
          VIRTIO_STATUS_DRIVER_OK);
    CHECK(!virtio_dev_is_broken(f.d));

    /* notification: queue 0 at the notify region's start */
    W(&f, virtio_pci_notify_offset(0), 2, 0);
    CHECK(wait_for(&kicks, 1));
    /* used buffer: INTx up; the ISR read returns the reason and lowers the line */
    virtio_queue_push(f.d, 0, 0, 0);
    virtio_queue_notify(f.d, 0);
    CHECK_EQ(atomic_load(&irq_level), 1);
    CHECK_EQ(atomic_load(&irq_gsi), 17);
    CHECK_EQ(R(&f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_QUEUE);
    CHECK_EQ(atomic_load(&irq_level), 0);
    CHECK_EQ(R(&f, VIRTIO_PCI_ISR_OFF, 1), 0);
    virtio_dev_config_set(f.d, 0, "\x07", 1);
    CHECK_EQ(atomic_load(&irq_level), 1);
    CHECK_EQ(R(&f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_CONFIG);
    /* reset */
    W(&f, c + VIRTIO_PCI_COMMON_STATUS, 1, 0);
    CHECK_EQ(R(&f, c + VIRTIO_PCI_COMMON_STATUS, 1), 0);
    CHECK_EQ(atomic_load(&irq_level), 0);
    fix_fini(&f);
}

TEST(virtio_pci_device_cfg_and_pci_cfg_window)
{
    static struct x86_pci host;
    struct fix f;
    unsigned cap = 0;

    fix_init(&f);
    CHECK_EQ(R(&f, VIRTIO_PCI_DEVICE_OFF, 1), 1);
    CHECK_EQ(R(&f, VIRTIO_PCI_DEVICE_OFF + 4, 8), 0x0c0b0a0908070605ull);
    CHECK_EQ(R(&f, VIRTIO_PCI_DEVICE_OFF + 12, 1), 0); /* past the end */

    /* on the host bridge: BAR assigned from the window, INTx line from the board */
    x86_pci_init(&host, NULL, NULL);
    CHECK_EQ(x86_pci_add(&host, 2, f.fn, X86_PCI_GSI(2, 0)), 0);
    CHECK_EQ(f.fn->bar_addr[VIRTIO_PCI_BAR], X86_PCI_MMIO_BASE);
    CHECK_EQ(x86_pci_cfg_read(&host, 0, 2, 0, PCI_INT_LINE, 1), X86_PCI_GSI(2, 0));
    CHECK_EQ(x86_pci_cfg_read(&host, 0, 2, 0, PCI_INT_PIN, 1), 1);
    for (unsigned p = f.fn->cfg[PCI_CAP_PTR]; p; p = f.fn->cfg[p + 1])
        if (f.fn->cfg[p + 3] == VIRTIO_PCI_CAP_PCI_CFG)
            cap = p;
    CHECK(cap);
    /* read num_queues (common + 0x12, 2 bytes) through the window */
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 4, 1, VIRTIO_PCI_BAR);
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 12, 4, 2);
    CHECK_EQ(x86_pci_cfg_read(&host, 0, 2, 0, cap + 16, 4), 2);
    /* write device_feature_select through it */
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 8, 4, VIRTIO_PCI_COMMON_DFSELECT);
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 12, 4, 4);
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 16, 4, 1);
    CHECK_EQ(R(&f, VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
    /* a misaligned or oversized window does nothing */
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 8, 4, VIRTIO_PCI_COMMON_NUMQ + 1);
    CHECK_EQ(x86_pci_cfg_read(&host, 0, 2, 0, cap + 16, 4), 1); /* the stored data */
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 8, 4, VIRTIO_PCI_BAR_SIZE);
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 12, 4, 4);
    x86_pci_cfg_write(&host, 0, 2, 0, cap + 16, 4, 7);
    x86_pci_destroy(&host);
    fix_fini(&f);
}
