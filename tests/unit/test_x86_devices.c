#include <errno.h>
#include <string.h>

#include "board/x86/acpi.h"
#include "board/x86/layout.h"
#include "board/x86/legacy.h"
#include "board/x86/pci.h"
#include "harness.h"

static int actions[2], sci_level, sci_changes;

static void on_action(void *opaque, enum x86_action act)
{
    actions[act]++;
}

static void on_sci(void *opaque, int line, int level)
{
    CHECK_EQ(line, X86_IRQ_SCI);
    sci_level = level;
    sci_changes++;
}

static const struct irq_line sci = {on_sci, NULL, X86_IRQ_SCI};

TEST(x86_pm_poweroff_and_i8042_reset)
{
    struct x86_legacy l;
    const uint64_t cnt = X86_PORT_PM1A_CNT - X86_PORT_PM1A_EVT;

    memset(actions, 0, sizeof(actions));
    x86_legacy_init(&l, on_action, NULL, &sci);
    CHECK_EQ(x86_pm_ops.read(&l, cnt, 2) & ACPI_PM1_CNT_SCI_EN, ACPI_PM1_CNT_SCI_EN);
    /* SLP_TYP alone, or another sleep type, does nothing */
    x86_pm_ops.write(&l, cnt, 2, X86_ACPI_S5_TYPE << 10);
    x86_pm_ops.write(&l, cnt, 2, (1 << 10) | ACPI_PM1_CNT_SLP_EN);
    CHECK_EQ(actions[X86_ACT_POWEROFF], 0);
    x86_pm_ops.write(&l, cnt, 2, (X86_ACPI_S5_TYPE << 10) | ACPI_PM1_CNT_SLP_EN);
    CHECK_EQ(actions[X86_ACT_POWEROFF], 1);
    /* i8042: only command 0xfe on the command port resets */
    x86_i8042_ops.write(&l, 0, 1, 0xfe);
    x86_i8042_ops.write(&l, 4, 1, 0xd1);
    CHECK_EQ(actions[X86_ACT_RESET], 0);
    x86_i8042_ops.write(&l, 4, 1, 0xfe);
    CHECK_EQ(actions[X86_ACT_RESET], 1);
    x86_legacy_destroy(&l);
}

/* The fixed-feature power button: PWRBTN_STS with PWRBTN_EN raises the SCI (level) until the
 * guest clears the status; a reset lowers it; the state round-trips and odd bits are refused. */
TEST(x86_pm_power_button)
{
    struct x86_legacy l, l2;
    uint8_t buf[X86_PM_SAVE_LEN];

    sci_level = 0;
    x86_legacy_init(&l, on_action, NULL, &sci);
    x86_pm_power_button(&l); /* not enabled yet: status only */
    CHECK_EQ(x86_pm_ops.read(&l, 0, 2), ACPI_PM1_PWRBTN);
    CHECK_EQ(sci_level, 0);
    x86_pm_ops.write(&l, 2, 2, ACPI_PM1_PWRBTN); /* PWRBTN_EN */
    CHECK_EQ(sci_level, 1);
    CHECK_EQ(x86_pm_ops.read(&l, 0, 4), ACPI_PM1_PWRBTN | (uint32_t)ACPI_PM1_PWRBTN << 16);
    x86_pm_ops.write(&l, 0, 2, 0x0001); /* another bit: nothing cleared */
    CHECK_EQ(sci_level, 1);
    x86_pm_ops.write(&l, 0, 2, ACPI_PM1_PWRBTN); /* write 1 to clear */
    CHECK_EQ(sci_level, 0);
    CHECK_EQ(x86_pm_ops.read(&l, 0, 2), 0);
    x86_pm_power_button(&l);
    CHECK_EQ(sci_level, 1);
    /* snapshot: a pressed button survives a restore and raises the SCI again */
    x86_pm_save(&l, buf);
    x86_legacy_init(&l2, on_action, NULL, &sci);
    CHECK_EQ(sci_level, 0);
    buf[5] |= 0x80; /* WAK_STS: never set by this machine */
    CHECK_EQ(x86_pm_load(&l2, buf, sizeof(buf)), -EINVAL);
    buf[5] &= 0x7f;
    CHECK_EQ(x86_pm_load(&l2, buf, sizeof(buf)), 0);
    x86_pm_update_sci(&l2);
    CHECK_EQ(sci_level, 1);
    x86_legacy_reset(&l2);
    CHECK_EQ(sci_level, 0);
    CHECK_EQ(x86_pm_ops.read(&l2, 0, 4), 0);
    x86_legacy_destroy(&l2);
    x86_legacy_destroy(&l);
}

TEST(x86_cmos)
{
    struct x86_legacy l;
    uint8_t v;

    x86_legacy_init(&l, on_action, NULL, &sci);
    x86_cmos_ops.write(&l, 0, 1, 0x0d);
    CHECK_EQ(x86_cmos_ops.read(&l, 1, 1), 0x80);
    x86_cmos_ops.write(&l, 0, 1, 0x0b);
    CHECK_EQ(x86_cmos_ops.read(&l, 1, 1), 0x02); /* 24 h, BCD */
    x86_cmos_ops.write(&l, 0, 1, 0x80 | 0x04);   /* NMI mask bit is not part of the index */
    v = (uint8_t)x86_cmos_ops.read(&l, 1, 1);
    CHECK((v & 0xf) < 10 && (v >> 4) < 3);
    x86_cmos_ops.write(&l, 0, 1, 0x40); /* RAM */
    x86_cmos_ops.write(&l, 1, 1, 0xa5);
    CHECK_EQ(x86_cmos_ops.read(&l, 1, 1), 0xa5);
    x86_legacy_reset(&l); /* a guest reset: CMOS RAM keeps its bytes, as on a PC */
    x86_cmos_ops.write(&l, 0, 1, 0x40);
    CHECK_EQ(x86_cmos_ops.read(&l, 1, 1), 0xa5);
    x86_cmos_ops.write(&l, 0, 1, 0x0d);
    CHECK_EQ(x86_cmos_ops.read(&l, 1, 1), 0x80);
    CHECK_EQ(x86_cmos_bcd(59), 0x59);
    x86_legacy_destroy(&l);
}

TEST(x86_pci_config)
{
    static struct x86_pci p;
    static struct pci_dev d;
    const uint8_t cap[4] = {0x09, 0, 4, 0};
    int off;

    x86_pci_init(&p, NULL, NULL);
    /* host bridge through mechanism #1 and ECAM */
    x86_pci_cf8_ops.write(&p, 0, 4, 0x80000000u);
    CHECK_EQ(x86_pci_cf8_ops.read(&p, 4, 4), PCI_HOST_VENDOR | PCI_HOST_DEVICE << 16);
    CHECK_EQ(x86_pci_cf8_ops.read(&p, 6, 2), PCI_HOST_DEVICE);
    CHECK_EQ(x86_pci_ecam_ops.read(&p, 0, 4), PCI_HOST_VENDOR | PCI_HOST_DEVICE << 16);
    CHECK_EQ(x86_pci_ecam_ops.read(&p, 8, 4) >> 8, 0x060000);
    CHECK_EQ(x86_pci_ecam_ops.read(&p, 1 << 15, 2), 0xffff); /* empty slot */
    CHECK_EQ(x86_pci_ecam_ops.read(&p, 0x100, 4), 0);        /* extended space */

    pci_dev_init(&d, 0x1af4, 0x1042, 0x01800001, 0x1af4, 2, "test");
    CHECK_EQ(pci_dev_add_bar(&d, 0, 0x4000, false, true), 0);
    off = pci_dev_add_cap(&d, cap, sizeof(cap));
    CHECK_EQ(off, 0x40);
    CHECK_EQ(pci_dev_add_cap(&d, cap, sizeof(cap)), 0x44);
    CHECK_EQ(x86_pci_add(&p, 3, &d, X86_IRQ_PCI0), 0);
    CHECK_EQ(x86_pci_add(&p, 3, &d, X86_IRQ_PCI0), -EEXIST);
    CHECK_EQ(d.bar_addr[0], X86_PCI_MMIO_BASE);
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, PCI_CAP_PTR, 1), 0x40);
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, 0x41, 1), 0x44);
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, PCI_STATUS, 2) & PCI_STATUS_CAP, PCI_STATUS_CAP);
    /* BAR sizing: all-ones reads back the size mask, then the address is restored */
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, PCI_BAR0, 4), X86_PCI_MMIO_BASE | PCI_BAR_MEM64);
    x86_pci_cfg_write(&p, 0, 3, 0, PCI_BAR0, 4, 0xffffffffu);
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, PCI_BAR0, 4), 0xffffc000u | PCI_BAR_MEM64);
    x86_pci_cfg_write(&p, 0, 3, 0, PCI_BAR0 + 4, 4, 0xffffffffu);
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, PCI_BAR0 + 4, 4), 0xffffffffu);
    x86_pci_cfg_write(&p, 0, 3, 0, PCI_BAR0, 4, X86_PCI_MMIO_BASE);
    x86_pci_cfg_write(&p, 0, 3, 0, PCI_BAR0 + 4, 4, 0);
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, PCI_BAR0, 4), X86_PCI_MMIO_BASE | PCI_BAR_MEM64);
    /* read-only fields stay; the command register takes its writable bits */
    x86_pci_cfg_write(&p, 0, 3, 0, PCI_VENDOR_ID, 2, 0x1234);
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, PCI_VENDOR_ID, 2), 0x1af4);
    x86_pci_cfg_write(&p, 0, 3, 0, PCI_COMMAND, 2, 0xffff);
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, PCI_COMMAND, 2), 0x0547);
    CHECK_EQ(x86_pci_cfg_read(&p, 0, 3, 0, PCI_INT_LINE, 1), X86_IRQ_PCI0);
    x86_pci_destroy(&p);
}

/* The RTC's own UTC conversion against glibc's gmtime_r, over 1900..2200 and around leap days. */
TEST(x86_utc_time_matches_gmtime)
{
    static const int64_t fixed[] = {0,
                                    -1,
                                    951782399,
                                    951782400,
                                    951868800,
                                    4107542399LL,
                                    4107542400LL,
                                    -2208988800LL,
                                    7258118400LL,
                                    1709164800};
    struct tm a, b;

    for (int i = 0; i < 20000 + (int)(sizeof(fixed) / sizeof(fixed[0])); i++) {
        int64_t t = i < 20000 ? -2208988800LL + (int64_t)i * 473353 + i % 86400 : fixed[i - 20000];
        time_t tt = (time_t)t;

        x86_utc_time(t, &a);
        CHECK(gmtime_r(&tt, &b) != NULL);
        CHECK(a.tm_year == b.tm_year && a.tm_mon == b.tm_mon && a.tm_mday == b.tm_mday &&
              a.tm_hour == b.tm_hour && a.tm_min == b.tm_min && a.tm_sec == b.tm_sec &&
              a.tm_wday == b.tm_wday);
    }
}
