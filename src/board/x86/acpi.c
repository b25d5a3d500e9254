/* ACPI tables (ACPI 6.x layouts). Full (not hardware-reduced) fixed hardware: PM1a event and
 * control blocks on ports, SCI on IRQ 9, no SMI command port (ACPI mode is always on), S5 by
 * writing SLP_TYP|SLP_EN to PM1a_CNT, the fixed-feature power button (PM1 PWRBTN_STS/EN and the
 * SCI), reset through the keyboard controller. */
#include "base/le.h"
#include "board/x86/acpi.h"

#include <errno.h>
#include <string.h>

#include "board/x86/layout.h"

/* The DSDT body is built by x86_dsdt_build() (dsdt.c). */

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    while (len--)
        sum = (uint8_t)(sum + *p++);
    return sum;
}

static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    le32_put(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, ACPI_OEM_ID, 6);
    memcpy(t + 16, ACPI_OEM_TABLE, 8);
    le32_put(t + 24, 1);       /* OEM revision */
    memcpy(t + 28, "VSSL", 4); /* creator */
    le32_put(t + 32, 1);
}

static void finish(uint8_t *t)
{
    uint32_t len;

    memcpy(&len, t + 4, 4);
    t[9] = 0;
    t[9] = (uint8_t)-acpi_checksum(t, len);
}

/* Generic Address Structure: system I/O space */
static void gas_io(uint8_t *p, uint8_t bits, uint8_t access, uint64_t port)
{
    p[0] = 1; /* SystemIO */
    p[1] = bits;
    p[2] = 0;
    p[3] = access; /* 1 byte, 2 word, 3 dword */
    le64_put(p + 4, port);
}

static void build_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt)
{
    memset(t, 0, ACPI_FADT_LEN);
    header(t, "FACP", ACPI_FADT_LEN, 6);
    le32_put(t + 36, (uint32_t)facs);
    le32_put(t + 40, (uint32_t)dsdt);
    t[45] = 0;                     /* preferred PM profile: unspecified */
    le16_put(t + 46, X86_IRQ_SCI); /* SCI_INT */
    le32_put(t + 48, 0);           /* SMI_CMD: none, ACPI mode always enabled */
    le32_put(t + 56, X86_PORT_PM1A_EVT);
    le32_put(t + 64, X86_PORT_PM1A_CNT);
    t[88] = 4;                  /* PM1_EVT_LEN */
    t[89] = 2;                  /* PM1_CNT_LEN */
    le16_put(t + 96, 101);      /* P_LVL2_LAT > 100: no C2 */
    le16_put(t + 98, 1001);     /* P_LVL3_LAT > 1000: no C3 */
    t[108] = 0x32;              /* CENTURY: CMOS register */
    le16_put(t + 109, 1u << 2); /* IAPC_BOOT_ARCH: VGA not present */
    /* flags: WBINVD, PROC_C1, SLP_BUTTON (no sleep button), RESET_REG_SUP; PWR_BUTTON (bit 4)
     * clear: the power button is the fixed feature in PM1 (PWRBTN_STS/EN, the SCI) */
    le32_put(t + 112, (1u << 0) | (1u << 2) | (1u << 5) | (1u << 10));
    gas_io(t + 116, 8, 1, X86_PORT_I8042_CMD); /* RESET_REG */
    t[128] = 0xfe;                             /* RESET_VALUE: pulse the reset line */
    t[131] = 0;                                /* FADT minor version */
    le64_put(t + 132, facs);
    le64_put(t + 140, dsdt);
    gas_io(t + 148, 32, 2, X86_PORT_PM1A_EVT);
    gas_io(t + 172, 16, 2, X86_PORT_PM1A_CNT);
    memcpy(t + 268, "VESSEL\0\0", 8); /* hypervisor vendor identity */
    finish(t);
}

static size_t build_madt(uint8_t *t, int ncpus)
{
    size_t n = 44;

    le32_put(t + 36, (uint32_t)X86_LAPIC_ADDR);
    le32_put(t + 40, 1); /* PCAT_COMPAT: dual 8259s present */
    for (int i = 0; i < ncpus; i++, n += 8) {
        t[n] = 0; /* processor local APIC */
        t[n + 1] = 8;
        t[n + 2] = (uint8_t)i;  /* ACPI processor UID */
        t[n + 3] = (uint8_t)i;  /* APIC ID */
        le32_put(t + n + 4, 1); /* enabled */
    }
    t[n] = 1; /* I/O APIC */
    t[n + 1] = 12;
    t[n + 2] = (uint8_t)ncpus; /* IOAPIC ID after the LAPIC IDs */
    t[n + 3] = 0;
    le32_put(t + n + 4, (uint32_t)X86_IOAPIC_ADDR);
    le32_put(t + n + 8, 0); /* GSI base */
    n += 12;
    t[n] = 2; /* interrupt source override: SCI, level, active high */
    t[n + 1] = 10;
    t[n + 2] = 0; /* ISA */
    t[n + 3] = X86_IRQ_SCI;
    le32_put(t + n + 4, X86_IRQ_SCI);
    le16_put(t + n + 8, 0x000d);
    n += 10;
    t[n] = 4; /* local APIC NMI on LINT1 of every processor */
    t[n + 1] = 6;
    t[n + 2] = 0xff;
    le16_put(t + n + 3, 0);
    t[n + 5] = 1;
    n += 6;
    header(t, "APIC", (uint32_t)n, 5);
    finish(t);
    return n;
}

static size_t build_mcfg(uint8_t *t)
{
    size_t n = 44 + 16;

    memset(t, 0, n);
    header(t, "MCFG", (uint32_t)n, 1);
    le64_put(t + 44, X86_PCI_ECAM_BASE);
    le16_put(t + 52, 0); /* segment */
    t[54] = 0;           /* start bus */
    t[55] = X86_PCI_ECAM_BUSES - 1;
    finish(t);
    return n;
}

#define ALIGN16(x) (((x) + 15) & ~(size_t)15)

int x86_acpi_build(uint8_t *buf, size_t size, uint64_t base, int ncpus)
{
    size_t rsdp = 0, xsdt = 64, facs, fadt, dsdt, madt, mcfg, end, madt_len;
    int aml_len;
    const size_t xsdt_len = ACPI_HDR_LEN + 3 * 8;

    facs = ALIGN16(xsdt + xsdt_len) + 48; /* FACS must be 64-byte aligned */
    facs = (facs + 63) & ~(size_t)63;
    fadt = facs + ACPI_FACS_LEN;
    dsdt = ALIGN16(fadt + ACPI_FADT_LEN);
    if (dsdt + ACPI_HDR_LEN > size)
        return -ENOSPC;
    aml_len = x86_dsdt_build(buf + dsdt + ACPI_HDR_LEN, size - dsdt - ACPI_HDR_LEN);
    if (aml_len < 0)
        return -ENOSPC;
    madt = ALIGN16(dsdt + ACPI_HDR_LEN + (size_t)aml_len);
    madt_len = 44 + 8 * (size_t)ncpus + 12 + 10 + 6;
    mcfg = ALIGN16(madt + madt_len);
    end = mcfg + 44 + 16;
    if (end > size || ncpus < 1 || ncpus > 255)
        return -ENOSPC;
    memset(buf, 0, dsdt);
    memset(buf + dsdt + ACPI_HDR_LEN + aml_len, 0, end - (dsdt + ACPI_HDR_LEN + (size_t)aml_len));
    memset(buf + dsdt, 0, ACPI_HDR_LEN);

    memcpy(buf + facs, "FACS", 4);
    le32_put(buf + facs + 4, ACPI_FACS_LEN);
    buf[facs + 32] = 2; /* version */

    build_fadt(buf + fadt, base + facs, base + dsdt);

    header(buf + dsdt, "DSDT", (uint32_t)(ACPI_HDR_LEN + (size_t)aml_len), 2);
    finish(buf + dsdt);

    build_madt(buf + madt, ncpus);
    build_mcfg(buf + mcfg);

    header(buf + xsdt, "XSDT", (uint32_t)xsdt_len, 1);
    le64_put(buf + xsdt + 36, base + fadt);
    le64_put(buf + xsdt + 44, base + madt);
    le64_put(buf + xsdt + 52, base + mcfg);
    finish(buf + xsdt);

    memcpy(buf + rsdp, "RSD PTR ", 8);
    memcpy(buf + rsdp + 9, ACPI_OEM_ID, 6);
    buf[rsdp + 15] = 2; /* revision: ACPI 2.0+ */
    le32_put(buf + rsdp + 20, ACPI_RSDP_LEN);
    le64_put(buf + rsdp + 24, base + xsdt);
    buf[rsdp + 8] = (uint8_t)-acpi_checksum(buf + rsdp, 20);
    buf[rsdp + 32] = (uint8_t)-acpi_checksum(buf + rsdp, ACPI_RSDP_LEN);
    return (int)end;
}
