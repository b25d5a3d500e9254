/* The kvm engine's state payloads (engine/kvm/savestate.c) and the x86 board's device state
 * (CMOS, ACPI PM, PCI config space): round trips, and refusals of other versions, other
 * lengths and impossible values. No /dev/kvm needed. */
#include <errno.h>
#include <string.h>

#include "board/x86/legacy.h"
#include "board/x86/pci.h"
#include "engine/kvm/savestate.h"
#include "harness.h"

static void bump_version(uint8_t *buf)
{
    buf[0] = 2; /* u32 version 2, little-endian */
}

TEST(kvm_save_pic_round_trip_and_refusals)
{
    struct kvm_pic_state a = {.irr = 0x11,
                              .imr = 0xfb,
                              .isr = 0x01,
                              .priority_add = 3,
                              .irq_base = 0x20,
                              .init4 = 1,
                              .elcr = 0x0c,
                              .elcr_mask = 0xf8},
                         b, keep;
    uint8_t buf[KVM_PIC_SAVE_LEN];

    kvm_pic_save(&a, buf);
    memset(&b, 0, sizeof(b));
    CHECK_EQ(kvm_pic_load(&b, buf, sizeof(buf)), 0);
    CHECK(!memcmp(&a, &b, sizeof(a)));
    keep = b;
    CHECK_EQ(kvm_pic_load(&b, buf, sizeof(buf) - 1), -EINVAL);
    buf[4 + 4] = 8; /* priority_add beyond the eight priorities */
    CHECK_EQ(kvm_pic_load(&b, buf, sizeof(buf)), -EINVAL);
    kvm_pic_save(&a, buf);
    buf[4 + 9] = 4; /* init_state: at most ICW4 */
    CHECK_EQ(kvm_pic_load(&b, buf, sizeof(buf)), -EINVAL);
    kvm_pic_save(&a, buf);
    bump_version(buf);
    CHECK_EQ(kvm_pic_load(&b, buf, sizeof(buf)), -EINVAL);
    CHECK(!memcmp(&b, &keep, sizeof(b))); /* refusals change nothing */
}

TEST(kvm_save_ioapic_round_trip_and_refusals)
{
    struct kvm_ioapic_state a, b;
    uint8_t buf[KVM_IOAPIC_SAVE_LEN];

    memset(&a, 0, sizeof(a));
    a.base_address = KVM_IOAPIC_BASE;
    a.ioregsel = 0x10;
    a.id = 0;
    a.irr = 1u << 4 | 1u << 16;
    for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
        a.redirtbl[i].bits = 0x10000ULL | (uint64_t)(0x30 + i) | (uint64_t)i << 56;
    kvm_ioapic_save(&a, buf);
    memset(&b, 0xaa, sizeof(b));
    CHECK_EQ(kvm_ioapic_load(&b, buf, sizeof(buf)), 0);
    CHECK_EQ(b.base_address, KVM_IOAPIC_BASE);
    CHECK_EQ(b.irr, a.irr);
    CHECK_EQ(b.ioregsel, 0x10);
    for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
        CHECK_EQ(b.redirtbl[i].bits, a.redirtbl[i].bits);
    a.base_address = 0xfed00000ULL; /* KVM's IOAPIC cannot move */
    kvm_ioapic_save(&a, buf);
    CHECK_EQ(kvm_ioapic_load(&b, buf, sizeof(buf)), -EINVAL);
    a.base_address = KVM_IOAPIC_BASE;
    a.irr = 1u << 24; /* no pin 24 */
    kvm_ioapic_save(&a, buf);
    CHECK_EQ(kvm_ioapic_load(&b, buf, sizeof(buf)), -EINVAL);
    a.irr = 0;
    kvm_ioapic_save(&a, buf);
    CHECK_EQ(kvm_ioapic_load(&b, buf, sizeof(buf) + 0), 0);
    CHECK_EQ(kvm_ioapic_load(&b, buf, sizeof(buf) - 8), -EINVAL);
    bump_version(buf);
    CHECK_EQ(kvm_ioapic_load(&b, buf, sizeof(buf)), -EINVAL);
}

TEST(kvm_save_pit_round_trip_and_refusals)
{
    struct kvm_pit_state2 a, b;
    uint8_t buf[KVM_PIT_SAVE_LEN];

    memset(&a, 0, sizeof(a));
    a.flags = KVM_PIT_FLAGS_HPET_LEGACY;
    a.channels[0] = (struct kvm_pit_channel_state){.count = 11932,
                                                   .read_state = 3,
                                                   .write_state = 3,
                                                   .write_latch = 0x9c,
                                                   .rw_mode = 3,
                                                   .mode = 2,
                                                   .gate = 1,
                                                   .count_load_time = -5};
    a.channels[1].count = 0x10000;
    a.channels[1].mode = 0xff; /* never programmed, as KVM reports it */
    a.channels[2].latched_count = 0x1234;
    a.channels[2].count_latched = 3;
    kvm_pit_save(&a, buf);
    memset(&b, 0, sizeof(b));
    CHECK_EQ(kvm_pit_load(&b, buf, sizeof(buf)), 0);
    CHECK(!memcmp(&a, &b, sizeof(a)));
    a.channels[0].mode = 6; /* KVM folds 6 and 7 into 2 and 3 */
    kvm_pit_save(&a, buf);
    CHECK_EQ(kvm_pit_load(&b, buf, sizeof(buf)), -EINVAL);
    a.channels[0].mode = 2;
    a.channels[2].count = 0x10001; /* a 16-bit counter */
    kvm_pit_save(&a, buf);
    CHECK_EQ(kvm_pit_load(&b, buf, sizeof(buf)), -EINVAL);
    a.channels[2].count = 0;
    a.flags = 0x80;
    kvm_pit_save(&a, buf);
    CHECK_EQ(kvm_pit_load(&b, buf, sizeof(buf)), -EINVAL);
    a.flags = 0;
    kvm_pit_save(&a, buf);
    CHECK_EQ(kvm_pit_load(&b, buf, sizeof(buf) + 1), -EINVAL);
    bump_version(buf);
    CHECK_EQ(kvm_pit_load(&b, buf, sizeof(buf)), -EINVAL);
    CHECK_EQ(b.flags, KVM_PIT_FLAGS_HPET_LEGACY); /* still the first good load */
}

TEST(kvm_save_clock_and_vcpu)
{
    static struct kvm_vcpu_state a, b;
    static uint8_t buf[KVM_VCPU_SAVE_LEN];
    uint8_t c[KVM_CLOCK_SAVE_LEN];
    uint64_t ns = 0;

    kvm_clock_save(0x123456789abcULL, c);
    CHECK_EQ(kvm_clock_load(&ns, c, sizeof(c)), 0);
    CHECK_EQ(ns, 0x123456789abcULL);
    c[4] = 1; /* flags must be zero */
    CHECK_EQ(kvm_clock_load(&ns, c, sizeof(c)), -EINVAL);
    kvm_clock_save(7, c);
    CHECK_EQ(kvm_clock_load(&ns, c, sizeof(c) - 1), -EINVAL);
    bump_version(c);
    CHECK_EQ(kvm_clock_load(&ns, c, sizeof(c)), -EINVAL);
    CHECK_EQ(ns, 0x123456789abcULL);

    memset(&a, 0, sizeof(a));
    a.regs.rip = 0x100123;
    a.sregs.cr0 = 0x80000011;
    a.mp_state.mp_state = KVM_MP_STATE_HALTED;
    a.nmsrs = 2;
    a.msrs[1].index = 0x10;
    a.msrs[1].data = 99;
    kvm_vcpu_save(&a, buf);
    CHECK_EQ(kvm_vcpu_load(&b, buf, sizeof(buf)), 0);
    CHECK(!memcmp(&a, &b, sizeof(a)));
    CHECK_EQ(kvm_vcpu_load(&b, buf, sizeof(buf) - 4), -EINVAL);
    buf[4] ^= 8; /* another struct size */
    CHECK_EQ(kvm_vcpu_load(&b, buf, sizeof(buf)), -EINVAL);
    a.nmsrs = KVM_STATE_MAX_MSRS + 1;
    kvm_vcpu_save(&a, buf);
    CHECK_EQ(kvm_vcpu_load(&b, buf, sizeof(buf)), -EINVAL);
    a.nmsrs = 2;
    a.mp_state.mp_state = KVM_MP_STATE_STOPPED; /* an s390 state */
    kvm_vcpu_save(&a, buf);
    CHECK_EQ(kvm_vcpu_load(&b, buf, sizeof(buf)), -EINVAL);
    a.mp_state.mp_state = 0;
    kvm_vcpu_save(&a, buf);
    bump_version(buf);
    CHECK_EQ(kvm_vcpu_load(&b, buf, sizeof(buf)), -EINVAL);
}

static void no_action(void *opaque, enum x86_action act) {}
static const struct irq_line no_sci = {NULL, NULL, 9};

TEST(x86_legacy_save_load)
{
    struct x86_legacy l, m;
    uint8_t cmos[X86_CMOS_SAVE_LEN], pm[X86_PM_SAVE_LEN];

    x86_legacy_init(&l, no_action, NULL, &no_sci);
    x86_legacy_init(&m, no_action, NULL, &no_sci);
    x86_cmos_ops.write(&l, 0, 1, 0x40);
    x86_cmos_ops.write(&l, 1, 1, 0x5a); /* CMOS RAM byte 0x40 */
    x86_cmos_ops.write(&l, 0, 1, 0x41);
    x86_pm_ops.write(&l, 2, 2, 0x0120); /* PM1 enable */
    x86_cmos_save(&l, cmos);
    x86_pm_save(&l, pm);
    CHECK_EQ(x86_cmos_load(&m, cmos, sizeof(cmos)), 0);
    CHECK_EQ(x86_pm_load(&m, pm, sizeof(pm)), 0);
    x86_cmos_ops.write(&m, 0, 1, 0x40);
    CHECK_EQ(x86_cmos_ops.read(&m, 1, 1), 0x5a);
    CHECK_EQ(m.cmos_index, 0x40);
    CHECK_EQ(x86_pm_ops.read(&m, 2, 2), 0x0120);
    CHECK_EQ(x86_cmos_load(&m, cmos, sizeof(cmos) - 1), -EINVAL);
    pm[8] &= (uint8_t)~1; /* SCI_EN always reads 1 */
    CHECK_EQ(x86_pm_load(&m, pm, sizeof(pm)), -EINVAL);
    x86_pm_save(&l, pm);
    bump_version(pm);
    CHECK_EQ(x86_pm_load(&m, pm, sizeof(pm)), -EINVAL);
    cmos[5 + 0x0d] = 0; /* status D is read-only */
    CHECK_EQ(x86_cmos_load(&m, cmos, sizeof(cmos)), -EINVAL);
    x86_legacy_destroy(&l);
    x86_legacy_destroy(&m);
}

static void no_reset(void *opaque) {}

/* Two hosts with the same device in slot 3, as two boards built from one configuration. */
static void pci_pair(struct x86_pci *p, struct pci_dev *d)
{
    x86_pci_init(p, no_reset, NULL);
    pci_dev_init(d, 0x1af4, 0x1042, 0x01000001, 0x1af4, 2, "test");
    pci_dev_add_bar(d, 4, 0x4000, false, true);
    x86_pci_add(p, 3, d, 19);
}

TEST(x86_pci_save_load)
{
    static struct x86_pci p, q;
    static struct pci_dev d, e, f;
    static uint8_t buf[X86_PCI_SAVE_MAX];
    uint32_t ver = 0;
    long n;

    pci_pair(&p, &d);
    pci_pair(&q, &e);
    x86_pci_cfg_write(&p, 0, 3, 0, PCI_COMMAND, 2, 0x0006);       /* memory, bus master */
    x86_pci_cfg_write(&p, 0, 3, 0, PCI_BAR0 + 16, 4, 0xffffffff); /* sizing BAR 4 */
    x86_pci_cf8_ops.write(&p, 0, 4, 0x80001810);
    n = x86_pci_save(&p, buf, sizeof(buf));
    CHECK_EQ(n, 12 + 2 * (PCI_CFG_SIZE + 1));
    CHECK_EQ(x86_pci_load(&q, buf, (size_t)n, &ver), 0);
    CHECK_EQ(ver, X86_PCI_SAVE_VERSION);
    CHECK_EQ(x86_pci_cfg_read(&q, 0, 3, 0, PCI_COMMAND, 2), 0x0006);
    CHECK_EQ(x86_pci_cfg_read(&q, 0, 3, 0, PCI_BAR0 + 16, 4),
             x86_pci_cfg_read(&p, 0, 3, 0, PCI_BAR0 + 16, 4));
    CHECK_EQ(x86_pci_cf8_ops.read(&q, 0, 4), 0x80001810);
    CHECK_EQ(x86_pci_load(&q, buf, (size_t)n - 1, &ver), -EINVAL);
    buf[12 + PCI_CFG_SIZE + 1 + PCI_DEVICE_ID] ^= 1; /* slot 3's device ID: read-only */
    CHECK_EQ(x86_pci_load(&q, buf, (size_t)n, &ver), -EINVAL);
    buf[12 + PCI_CFG_SIZE + 1 + PCI_DEVICE_ID] ^= 1;
    buf[12 + PCI_CFG_SIZE + 1 + PCI_BAR0 + 17] ^= 0x10; /* the BAR address cannot move */
    CHECK_EQ(x86_pci_load(&q, buf, (size_t)n, &ver), -EINVAL);
    buf[12 + PCI_CFG_SIZE + 1 + PCI_BAR0 + 17] ^= 0x10;
    buf[0] = 3; /* a later version */
    CHECK_EQ(x86_pci_load(&q, buf, (size_t)n, &ver), -EINVAL);
    /* version 1 (before MSI-X): capabilities are not compared, the guest's bits are taken */
    buf[0] = 1;
    buf[12 + PCI_CFG_SIZE + 1 + 0x50] ^= 0x11; /* a read-only byte of the capability area */
    CHECK_EQ(x86_pci_load(&q, buf, (size_t)n, &ver), 0);
    CHECK_EQ(ver, 1);
    CHECK_EQ(x86_pci_cfg_read(&q, 0, 3, 0, 0x50, 1), 0); /* this machine's read-only byte stays */
    CHECK_EQ(x86_pci_cfg_read(&q, 0, 3, 0, PCI_COMMAND, 2), 0x0006);
    buf[12 + PCI_CFG_SIZE + 1 + PCI_DEVICE_ID] ^= 1; /* ... but the header is */
    CHECK_EQ(x86_pci_load(&q, buf, (size_t)n, &ver), -EINVAL);
    buf[12 + PCI_CFG_SIZE + 1 + PCI_DEVICE_ID] ^= 1;
    buf[12 + PCI_CFG_SIZE + 1 + 0x50] ^= 0x11;
    buf[0] = X86_PCI_SAVE_VERSION;
    /* another set of slots */
    pci_dev_init(&f, 0x1af4, 0x1044, 0xff000001, 0x1af4, 4, "other");
    x86_pci_add(&q, 4, &f, 20);
    CHECK_EQ(x86_pci_load(&q, buf, (size_t)n, &ver), -EINVAL);
    x86_pci_destroy(&p);
    x86_pci_destroy(&q);
}
