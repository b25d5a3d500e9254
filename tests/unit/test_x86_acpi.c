#include <stdlib.h>
#include <string.h>

#include "board/x86/acpi.h"
#include "board/x86/layout.h"
#include "harness.h"

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Host view of a table at guest physical gpa inside the buffer at X86_ACPI_ADDR. */
static const uint8_t *at(const uint8_t *buf, uint64_t gpa)
{
    return buf + (gpa - X86_ACPI_ADDR);
}

static const uint8_t *find_table(const uint8_t *buf, const char *sig)
{
    const uint8_t *xsdt = at(buf, get64(buf + 24));
    uint32_t n = (get32(xsdt + 4) - 36) / 8;

    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *t = at(buf, get64(xsdt + 36 + 8 * i));
        if (!memcmp(t, sig, 4))
            return t;
    }
    return NULL;
}

TEST(x86_acpi_checksums_and_links)
{
    uint8_t *buf = calloc(1, X86_ACPI_SIZE);
    const uint8_t *xsdt, *fadt, *dsdt, *madt, *mcfg;
    int n = x86_acpi_build(buf, X86_ACPI_SIZE, X86_ACPI_ADDR, 4);

    CHECK(n > 0);
    CHECK(!memcmp(buf, "RSD PTR ", 8));
    CHECK_EQ(buf[15], 2);
    CHECK_EQ(acpi_checksum(buf, 20), 0);
    CHECK_EQ(acpi_checksum(buf, 36), 0);
    xsdt = at(buf, get64(buf + 24));
    CHECK(!memcmp(xsdt, "XSDT", 4));
    CHECK_EQ(acpi_checksum(xsdt, get32(xsdt + 4)), 0);
    fadt = find_table(buf, "FACP");
    madt = find_table(buf, "APIC");
    mcfg = find_table(buf, "MCFG");
    CHECK(fadt && madt && mcfg);
    if (!fadt || !madt || !mcfg) {
        free(buf);
        return;
    }
    CHECK_EQ(get32(fadt + 4), ACPI_FADT_LEN);
    CHECK_EQ(acpi_checksum(fadt, ACPI_FADT_LEN), 0);
    CHECK_EQ(get64(fadt + 140), get32(fadt + 40)); /* X_DSDT == DSDT */
    dsdt = at(buf, get64(fadt + 140));
    CHECK(!memcmp(dsdt, "DSDT", 4));
    CHECK_EQ(acpi_checksum(dsdt, get32(dsdt + 4)), 0);
    CHECK(!memcmp(at(buf, get32(fadt + 36)), "FACS", 4));
    CHECK_EQ(get32(fadt + 36) % 64, 0);
    CHECK_EQ(get32(fadt + 64), X86_PORT_PM1A_CNT);
    CHECK_EQ(get32(fadt + 56), X86_PORT_PM1A_EVT);
    CHECK_EQ(fadt[46], X86_IRQ_SCI);
    CHECK_EQ(fadt[128], 0xfe);                        /* reset value through the i8042 */
    CHECK_EQ(get32(fadt + 112) & (1u << 4), 0);       /* the power button is a fixed feature */
    CHECK_EQ(get32(fadt + 112) & (1u << 5), 1u << 5); /* no sleep button */
    CHECK_EQ(acpi_checksum(madt, get32(madt + 4)), 0);
    CHECK_EQ(acpi_checksum(mcfg, get32(mcfg + 4)), 0);
    CHECK_EQ(get64(mcfg + 44), X86_PCI_ECAM_BASE);
    free(buf);
}

TEST(x86_acpi_madt_cpus)
{
    uint8_t *buf = calloc(1, X86_ACPI_SIZE);
    const uint8_t *madt;
    unsigned cpus = 0, ioapics = 0, ids = 0;

    CHECK(x86_acpi_build(buf, X86_ACPI_SIZE, X86_ACPI_ADDR, 3) > 0);
    madt = find_table(buf, "APIC");
    CHECK(madt != NULL);
    if (madt) {
        CHECK_EQ(get32(madt + 36), X86_LAPIC_ADDR);
        for (uint32_t off = 44; off < get32(madt + 4); off += madt[off + 1]) {
            if (madt[off] == 0) {
                CHECK_EQ(get32(madt + off + 4) & 1, 1);
                ids |= 1u << madt[off + 3];
                cpus++;
            } else if (madt[off] == 1) {
                CHECK_EQ(get32(madt + off + 4), X86_IOAPIC_ADDR);
                CHECK_EQ(get32(madt + off + 8), 0);
                ioapics++;
            }
            if (!madt[off + 1])
                break;
        }
    }
    CHECK_EQ(cpus, 3);
    CHECK_EQ(ids, 7); /* APIC IDs 0, 1, 2 */
    CHECK_EQ(ioapics, 1);
    /* too many CPUs for the area is an error, not an overflow */
    CHECK(x86_acpi_build(buf, 128, X86_ACPI_ADDR, 3) < 0);
    free(buf);
}
