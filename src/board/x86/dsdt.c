/* The DSDT body, hand-assembled AML (ACPI 6.5 chapter 20, "ACPI Machine Language
 * Specification"; resource descriptors from chapter 6.4). No compiler: each helper below emits
 * one AML construct and says which bytes. The namespace it builds, in ASL terms:
 *
 *   Scope (\_SB) {                                          // (the power button is the
 *                                                             // FADT's fixed feature: no
 *                                                             // PNP0C0C device)
 *       Device (PCI0) {                                       // the PCI host bridge, bus 0
 *           Name (_HID, EisaId ("PNP0A08"))                   // PCI Express root bridge
 *           Name (_CID, EisaId ("PNP0A03"))                   // ... compatible with PCI
 *           Name (_UID, Zero)
 *           Name (_SEG, Zero)                                 // segment 0 (MCFG agrees)
 *           Name (_BBN, Zero)                                 // base bus number 0
 *           Name (_CRS, ResourceTemplate () {
 *               WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
 *                              0, 0, X86_PCI_ECAM_BUSES - 1, 0, X86_PCI_ECAM_BUSES)
 *               IO (Decode16, 0xcf8, 0xcf8, 1, 8)             // config mechanism #1
 *               WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
 *                       0, 0x0000, 0x0cf7, 0, 0x0cf8)         // ports below the config ports
 *               WordIO (..., 0, 0x0d00, 0xffff, 0, 0xf300)    // and above them
 *               DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
 *                            ReadWrite, 0, X86_PCI_MMIO_BASE, +SIZE-1, 0, X86_PCI_MMIO_SIZE)
 *           })
 *           Name (_PRT, Package () {                          // INTx routing, no link devices
 *               Package () { 0xSSSSFFFF, PIN, Zero, X86_PCI_GSI (SSSS, PIN) }, ...
 *           })                                                // slots 0..31 x INTA..INTD
 *       }
 *       Device (MRES) {                                       // motherboard resources: ECAM
 *           Name (_HID, EisaId ("PNP0C02"))
 *           Name (_UID, One)
 *           Name (_CRS, ResourceTemplate () {
 *               Memory32Fixed (ReadWrite, X86_PCI_ECAM_BASE, X86_PCI_ECAM_SIZE) })
 *       }
 *   }
 *   Name (_S5, Package () { X86_ACPI_S5_TYPE, X86_ACPI_S5_TYPE, Zero, Zero })
 *
 * A _PRT entry whose Source is Zero names a global system interrupt directly: Linux then
 * programs that IOAPIC input level-triggered, active low, as PCI INTx requires. */
#include <errno.h>
#include <string.h>

#include "board/x86/acpi.h"
#include "board/x86/layout.h"

/* AML opcodes and prefixes used here */
#define AML_ZERO       0x00
#define AML_ONE        0x01
#define AML_NAME       0x08
#define AML_BYTE       0x0a /* BytePrefix, then 1 byte */
#define AML_WORD       0x0b /* WordPrefix, then 2 bytes, little-endian */
#define AML_DWORD      0x0c /* DWordPrefix, then 4 bytes */
#define AML_SCOPE      0x10 /* ScopeOp PkgLength NameString TermList */
#define AML_BUFFER     0x11 /* BufferOp PkgLength BufferSize ByteList */
#define AML_PACKAGE    0x12 /* PackageOp PkgLength NumElements PackageElementList */
#define AML_EXT        0x5b /* ExtOpPrefix */
#define AML_EXT_DEVICE 0x82 /* after ExtOpPrefix: DeviceOp PkgLength NameString TermList */
#define AML_ROOT       0x5c /* '\' */

#define PCI_PRT_ENTRIES (32 * 4) /* slots 0..31, INTA..INTD */

struct aml {
    uint8_t *buf;
    size_t len, cap;
    int err;
};

static void emit(struct aml *a, const void *p, size_t n)
{
    if (a->err || n > a->cap - a->len) {
        a->err = -ENOSPC;
        return;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

static void byte(struct aml *a, uint8_t b)
{
    emit(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        byte(a, (uint8_t)(v >> (8 * i)));
}

/* A NameSeg: four characters, '_' padded (all names here are four already). */
static void nameseg(struct aml *a, const char *n)
{
    emit(a, n, 4);
}

/* PkgLength (20.2.4) counts its own bytes and everything after it in the construct. One byte
 * holds up to 63 (bits 5:0); longer lengths put the count of following bytes in bits 7:6, the
 * low nibble in bits 3:0 and the rest, 8 bits at a time, in the following bytes. The body is
 * emitted first behind a 4-byte hole; pkg_close() measures it and closes the hole up. */
static size_t pkg_open(struct aml *a)
{
    size_t at = a->len;

    le(a, 0, 4);
    return at;
}

static void pkg_close(struct aml *a, size_t at)
{
    size_t body, n, total;

    if (a->err)
        return;
    body = a->len - at - 4;
    n = body + 1 < 0x40 ? 1 : body + 2 < 0x1000 ? 2 : body + 3 < 0x100000 ? 3 : 4;
    total = body + n;
    memmove(a->buf + at + n, a->buf + at + 4, body);
    if (n == 1) {
        a->buf[at] = (uint8_t)total;
    } else {
        a->buf[at] = (uint8_t)((n - 1) << 6 | (total & 0xf));
        for (size_t i = 1; i < n; i++)
            a->buf[at + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
    }
    a->len = at + n + body;
}

/* Integer data (20.2.3): ZeroOp, OneOp, or the smallest of Byte/Word/DWord prefixes. */
static void integer(struct aml *a, uint32_t v)
{
    if (v <= 1) {
        byte(a, v ? AML_ONE : AML_ZERO);
    } else if (v <= 0xff) {
        byte(a, AML_BYTE);
        byte(a, (uint8_t)v);
    } else if (v <= 0xffff) {
        byte(a, AML_WORD);
        le(a, v, 2);
    } else {
        byte(a, AML_DWORD);
        le(a, v, 4);
    }
}

/* EisaId ("LLLhhhh"): three letters of 5 bits each ('A' = 1) packed big-endian into 16 bits,
 * then the four hex digits as two bytes; emitted as a DWordConst. "PNP0A03" gives
 * 0x41 0xd0 0x0a 0x03. */
static void eisaid(struct aml *a, const char *id)
{
    static const char hex[] = "0123456789ABCDEF";
    uint16_t c = (uint16_t)((id[0] - 0x40) << 10 | (id[1] - 0x40) << 5 | (id[2] - 0x40));
    uint8_t d[4];

    for (int i = 0; i < 4; i++)
        d[i] = (uint8_t)(strchr(hex, id[3 + i]) - hex);
    byte(a, AML_DWORD);
    byte(a, (uint8_t)(c >> 8));
    byte(a, (uint8_t)c);
    byte(a, (uint8_t)(d[0] << 4 | d[1]));
    byte(a, (uint8_t)(d[2] << 4 | d[3]));
}

/* Name (NAME, ...): NameOp NameSeg DataRefObject (the caller emits the object). */
static void name(struct aml *a, const char *n)
{
    byte(a, AML_NAME);
    nameseg(a, n);
}

static size_t device_open(struct aml *a, const char *n)
{
    size_t at;

    byte(a, AML_EXT);
    byte(a, AML_EXT_DEVICE);
    at = pkg_open(a);
    nameseg(a, n);
    return at;
}

/* Word/DWord Address Space Descriptors (6.4.3.5.2/3): tag 0x88 (word, 13 bytes follow the
 * length) or 0x87 (dword, 23 bytes), resource type (0 memory, 1 I/O, 2 bus number), general
 * flags 0x0c (producer, positive decode, min and max fixed), type-specific flags, then
 * granularity, minimum, maximum, translation offset and length, each of `w` bytes. */
static void addr_space(struct aml *a, unsigned w, uint8_t type, uint8_t tflags, uint32_t min,
                       uint32_t max)
{
    byte(a, w == 2 ? 0x88 : 0x87);
    le(a, 3 + 5 * w, 2);
    byte(a, type);
    byte(a, 0x0c);
    byte(a, tflags);
    le(a, 0, w);
    le(a, min, w);
    le(a, max, w);
    le(a, 0, w);
    le(a, (uint64_t)max - min + 1, w);
}

/* Buffer holding a resource template: BufferOp PkgLength BufferSize bytes, closed by the End
 * Tag (0x79, checksum 0: "treat as valid"). */
static size_t restemplate_open(struct aml *a, size_t *size_at)
{
    size_t at;

    byte(a, AML_BUFFER);
    at = pkg_open(a);
    byte(a, AML_WORD); /* BufferSize, patched in restemplate_close */
    *size_at = a->len;
    le(a, 0, 2);
    return at;
}

static void restemplate_close(struct aml *a, size_t at, size_t size_at)
{
    byte(a, 0x79);
    byte(a, 0x00);
    if (!a->err) {
        size_t n = a->len - size_at - 2;
        a->buf[size_at] = (uint8_t)n;
        a->buf[size_at + 1] = (uint8_t)(n >> 8);
    }
    pkg_close(a, at);
}

static void pci0_crs(struct aml *a)
{
    static const uint8_t cfg_ports[] = {
        0x47, 0x01,             /* I/O port descriptor (small, 7 bytes), 16-bit decode */
        0xf8, 0x0c, 0xf8, 0x0c, /* minimum and maximum base 0xcf8 */
        0x01, 0x08,             /* alignment 1, length 8 */
    };
    size_t at, size_at;

    name(a, "_CRS");
    at = restemplate_open(a, &size_at);
    addr_space(a, 2, 2, 0, 0, X86_PCI_ECAM_BUSES - 1);
    emit(a, cfg_ports, sizeof(cfg_ports));
    addr_space(a, 2, 1, 0x03 /* _RNG: ISA and non-ISA ports */, 0x0000, 0x0cf7);
    addr_space(a, 2, 1, 0x03, 0x0d00, 0xffff);
    addr_space(a, 4, 0, 0x01 /* read-write, non-cacheable */, (uint32_t)X86_PCI_MMIO_BASE,
               (uint32_t)(X86_PCI_MMIO_BASE + X86_PCI_MMIO_SIZE - 1));
    restemplate_close(a, at, size_at);
}

/* Package (4 elements) { Address 0xSSSSFFFF (any function of slot S), Pin, Source Zero,
 * SourceIndex = the GSI } per slot and pin. */
static void pci0_prt(struct aml *a)
{
    size_t at, e;

    name(a, "_PRT");
    byte(a, AML_PACKAGE);
    at = pkg_open(a);
    byte(a, PCI_PRT_ENTRIES); /* NumElements */
    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            byte(a, AML_PACKAGE);
            e = pkg_open(a);
            byte(a, 4);
            integer(a, slot << 16 | 0xffff);
            integer(a, pin);
            integer(a, 0);
            integer(a, X86_PCI_GSI(slot, pin));
            pkg_close(a, e);
        }
    }
    pkg_close(a, at);
}

int x86_dsdt_build(uint8_t *buf, size_t cap)
{
    struct aml a = {.buf = buf, .cap = cap};
    size_t sb, dev, at, size_at;
    static const uint8_t ecam_hdr[] = {0x86, 0x09, 0x00, 0x01}; /* Memory32Fixed, RW */

    byte(&a, AML_SCOPE);
    sb = pkg_open(&a);
    byte(&a, AML_ROOT);
    nameseg(&a, "_SB_");

    dev = device_open(&a, "PCI0");
    name(&a, "_HID");
    eisaid(&a, "PNP0A08");
    name(&a, "_CID");
    eisaid(&a, "PNP0A03");
    name(&a, "_UID");
    integer(&a, 0);
    name(&a, "_SEG");
    integer(&a, 0);
    name(&a, "_BBN");
    integer(&a, 0);
    pci0_crs(&a);
    pci0_prt(&a);
    pkg_close(&a, dev);

    dev = device_open(&a, "MRES");
    name(&a, "_HID");
    eisaid(&a, "PNP0C02");
    name(&a, "_UID");
    integer(&a, 1);
    name(&a, "_CRS");
    at = restemplate_open(&a, &size_at);
    emit(&a, ecam_hdr, sizeof(ecam_hdr));
    le(&a, X86_PCI_ECAM_BASE, 4);
    le(&a, X86_PCI_ECAM_SIZE, 4);
    restemplate_close(&a, at, size_at);
    pkg_close(&a, dev);
    pkg_close(&a, sb);

    name(&a, "_S5_");
    byte(&a, AML_PACKAGE);
    at = pkg_open(&a);
    byte(&a, 4);
    integer(&a, X86_ACPI_S5_TYPE); /* SLP_TYPa */
    integer(&a, X86_ACPI_S5_TYPE); /* SLP_TYPb */
    integer(&a, 0);                /* reserved */
    integer(&a, 0);
    pkg_close(&a, at);
    return a.err ? a.err : (int)a.len;
}
