/* The hand-assembled DSDT (src/board/x86/dsdt.c): a small AML walker checks that every
 * PkgLength nests exactly, then the objects: the power button, the PCI root bridge (_HID,
 * _CID, _SEG, _BBN, _CRS descriptors, the 128 _PRT entries), the ECAM motherboard resource
 * and \_S5; and that the DSDT inside the full table set has a valid checksum. */
#include <stdlib.h>
#include <string.h>

#include "board/x86/acpi.h"
#include "board/x86/layout.h"
#include "harness.h"

#define MAX_NAMES 32

struct names {
    int n;
    char path[MAX_NAMES][24];
    const uint8_t *obj[MAX_NAMES];
    int bad; /* structural errors seen */
};

/* PkgLength at p: the length value, and its own size in *nb. */
static size_t pkglen(const uint8_t *p, size_t *nb)
{
    size_t n = (p[0] >> 6) + 1, v = n == 1 ? p[0] & 0x3f : p[0] & 0x0f;

    for (size_t i = 1; i < n; i++)
        v |= (size_t)p[i] << (4 + 8 * (i - 1));
    *nb = n;
    return v;
}

/* Bytes taken by the data object at p (integers, packages, buffers), or 0 if unknown. */
static size_t data_size(const uint8_t *p)
{
    size_t nb;

    switch (p[0]) {
    case 0x00:
    case 0x01:
    case 0xff: return 1;
    case 0x0a: return 2;
    case 0x0b: return 3;
    case 0x0c: return 5;
    case 0x0e: return 9;
    case 0x11:
    case 0x12: return 1 + pkglen(p + 1, &nb);
    default: return 0;
    }
}

static void walk(struct names *t, const uint8_t *p, const uint8_t *end, const char *scope)
{
    char path[24];
    size_t nb, len, skip;

    while (p < end && !t->bad) {
        if (p[0] == 0x10 || (p[0] == 0x5b && p[1] == 0x82)) { /* Scope, Device */
            const uint8_t *s = p + (p[0] == 0x10 ? 1 : 2), *name;
            len = pkglen(s, &nb);
            if (s + len > end) {
                t->bad++;
                return;
            }
            name = s + nb;
            skip = name[0] == 0x5c ? 1 : 0;
            snprintf(path, sizeof(path), "%s%s%.4s", scope, skip ? "\\" : ".", name + skip);
            walk(t, name + skip + 4, s + len, path);
            p = s + len;
        } else if (p[0] == 0x08) { /* Name */
            size_t sz = data_size(p + 5);
            if (!sz || p + 5 + sz > end || t->n == MAX_NAMES) {
                t->bad++;
                return;
            }
            snprintf(t->path[t->n], sizeof(t->path[0]), "%s.%.4s", scope, p + 1);
            t->obj[t->n++] = p + 5;
            p += 5 + sz;
        } else {
            t->bad++;
            return;
        }
    }
    if (p != end)
        t->bad++;
}

static const uint8_t *find(const struct names *t, const char *path)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->path[i], path))
            return t->obj[i];
    return NULL;
}

/* An integer object's value and size. */
static uint64_t int_val(const uint8_t *p)
{
    uint64_t v = 0;
    size_t n = data_size(p);

    if (p[0] <= 1)
        return p[0];
    for (size_t i = 1; i < n; i++)
        v |= (uint64_t)p[i] << (8 * (i - 1));
    return v;
}

static uint32_t rd(const uint8_t *p, int n)
{
    uint32_t v = 0;

    for (int i = 0; i < n; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static void build(uint8_t **aml, int *len, struct names *t)
{
    *aml = calloc(1, 16384);
    *len = x86_dsdt_build(*aml, 16384);
    memset(t, 0, sizeof(*t));
    if (*len > 0)
        walk(t, *aml, *aml + *len, "");
}

TEST(x86_dsdt_structure)
{
    uint8_t *aml;
    int len;
    struct names t;
    const uint8_t *p;

    build(&aml, &len, &t);
    CHECK(len > 0);
    CHECK_EQ(t.bad, 0); /* every PkgLength nests and the body parses to its end */
    CHECK_EQ(aml[0], 0x10);
    CHECK_EQ(aml[1] >> 6, 1); /* \_SB_ is long: a two-byte PkgLength */
    /* the power button is the FADT's fixed feature: no control-method device beside it */
    CHECK(!find(&t, "\\_SB_.PWRB._HID"));
    p = find(&t, "\\_SB_.PCI0._HID");
    CHECK(p && !memcmp(p, "\x0c\x41\xd0\x0a\x08", 5)); /* EisaId ("PNP0A08") */
    p = find(&t, "\\_SB_.PCI0._CID");
    CHECK(p && !memcmp(p, "\x0c\x41\xd0\x0a\x03", 5)); /* EisaId ("PNP0A03") */
    p = find(&t, "\\_SB_.PCI0._SEG");
    CHECK(p && int_val(p) == 0);
    p = find(&t, "\\_SB_.PCI0._BBN");
    CHECK(p && int_val(p) == 0);
    p = find(&t, "\\_SB_.MRES._HID");
    CHECK(p && !memcmp(p, "\x0c\x41\xd0\x0c\x02", 5)); /* EisaId ("PNP0C02") */
    p = find(&t, "._S5_");
    CHECK(p && p[0] == 0x12 && p[2] == 4 && p[3] == 0x0a && p[4] == X86_ACPI_S5_TYPE);
    free(aml);
}

TEST(x86_dsdt_pci_crs)
{
    uint8_t *aml;
    int len;
    struct names t;
    const uint8_t *p, *d, *end;
    size_t nb, plen;
    int bus = 0, io = 0, mem = 0, cfg = 0;

    build(&aml, &len, &t);
    p = find(&t, "\\_SB_.PCI0._CRS");
    CHECK(p && p[0] == 0x11);
    if (!p) {
        free(aml);
        return;
    }
    plen = pkglen(p + 1, &nb);
    d = p + 1 + nb;
    CHECK_EQ(d[0], 0x0b); /* BufferSize as a word */
    CHECK_EQ(rd(d + 1, 2), plen - nb - 3);
    end = d + 3 + rd(d + 1, 2);
    for (d += 3; d < end;) {
        if (d[0] == 0x79) { /* End Tag */
            CHECK_EQ(d + 2, end);
            break;
        }
        if (d[0] == 0x47) { /* I/O port: the config ports */
            CHECK(rd(d + 2, 2) == 0xcf8 && rd(d + 4, 2) == 0xcf8 && d[7] == 8);
            cfg++;
            d += 8;
            continue;
        }
        if (d[0] == 0x88) { /* Word address space */
            CHECK_EQ(rd(d + 1, 2), 13);
            CHECK_EQ(d[4], 0x0c);
            CHECK_EQ(rd(d + 10, 2) - rd(d + 8, 2) + 1, rd(d + 14, 2));
            if (d[3] == 2) {
                CHECK(rd(d + 8, 2) == 0 && rd(d + 10, 2) == X86_PCI_ECAM_BUSES - 1);
                bus++;
            } else if (d[3] == 1) {
                CHECK(rd(d + 8, 2) == (io ? 0x0d00 : 0) && rd(d + 10, 2) == (io ? 0xffff : 0xcf7));
                io++;
            }
            d += 16;
            continue;
        }
        if (d[0] == 0x87) { /* DWord address space: the BAR window */
            CHECK_EQ(rd(d + 1, 2), 23);
            CHECK_EQ(d[3], 0);
            CHECK_EQ(rd(d + 10, 4), X86_PCI_MMIO_BASE);
            CHECK_EQ(rd(d + 14, 4), X86_PCI_MMIO_BASE + X86_PCI_MMIO_SIZE - 1);
            CHECK_EQ(rd(d + 22, 4), X86_PCI_MMIO_SIZE);
            mem++;
            d += 26;
            continue;
        }
        CHECK(0); /* unexpected descriptor */
        break;
    }
    CHECK(bus == 1 && io == 2 && mem == 1 && cfg == 1);
    /* the ECAM window as a motherboard resource */
    p = find(&t, "\\_SB_.MRES._CRS");
    CHECK(p && !memcmp(p + 5, "\x86\x09\x00\x01", 4) && rd(p + 9, 4) == X86_PCI_ECAM_BASE &&
          rd(p + 13, 4) == X86_PCI_ECAM_SIZE && p[17] == 0x79);
    free(aml);
}

TEST(x86_dsdt_pci_prt)
{
    uint8_t *aml;
    int len, n = 0;
    struct names t;
    const uint8_t *p, *e, *end;
    size_t nb, plen;

    build(&aml, &len, &t);
    p = find(&t, "\\_SB_.PCI0._PRT");
    CHECK(p && p[0] == 0x12);
    if (!p) {
        free(aml);
        return;
    }
    plen = pkglen(p + 1, &nb);
    end = p + 1 + plen;
    CHECK_EQ(p[1 + nb], 128); /* NumElements: 32 slots x 4 pins */
    for (e = p + 2 + nb; e < end; n++) {
        unsigned slot = (unsigned)n / 4, pin = (unsigned)n % 4;
        const uint8_t *x;
        size_t enb, elen = pkglen(e + 1, &enb);

        CHECK_EQ(e[0], 0x12);
        CHECK_EQ(e[1 + enb], 4);
        x = e + 2 + enb;
        CHECK_EQ(int_val(x), slot << 16 | 0xffff);
        x += data_size(x);
        CHECK_EQ(int_val(x), pin);
        x += data_size(x);
        CHECK_EQ(x[0], 0x00); /* Source: none, SourceIndex is a GSI */
        x += 1;
        CHECK_EQ(int_val(x), X86_PCI_GSI(slot, pin));
        CHECK(int_val(x) >= 16 && int_val(x) < X86_IOAPIC_PINS);
        x += data_size(x);
        CHECK_EQ(x, e + 1 + elen);
        e += 1 + elen;
    }
    CHECK_EQ(n, 128);
    CHECK_EQ(e, end);
    free(aml);
}

TEST(x86_dsdt_in_tables)
{
    uint8_t *buf = calloc(1, X86_ACPI_SIZE), *aml;
    const uint8_t *fadt, *dsdt;
    uint32_t off, dlen;
    int n = x86_acpi_build(buf, X86_ACPI_SIZE, X86_ACPI_ADDR, 2), len;
    struct names t;

    CHECK(n > 0);
    off = rd(buf + 24, 4) - (uint32_t)X86_ACPI_ADDR; /* XSDT */
    fadt = buf + rd(buf + off + 36, 4) - X86_ACPI_ADDR;
    CHECK(!memcmp(fadt, "FACP", 4));
    dsdt = buf + rd(fadt + 40, 4) - X86_ACPI_ADDR;
    CHECK(!memcmp(dsdt, "DSDT", 4));
    dlen = rd(dsdt + 4, 4);
    CHECK_EQ(acpi_checksum(dsdt, dlen), 0);
    build(&aml, &len, &t);
    CHECK_EQ(dlen, ACPI_HDR_LEN + (uint32_t)len);
    CHECK(!memcmp(dsdt + ACPI_HDR_LEN, aml, (size_t)len));
    /* too small a buffer is refused, not overrun */
    CHECK(x86_dsdt_build(aml, 100) < 0);
    free(aml);
    free(buf);
}
