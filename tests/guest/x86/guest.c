/* The x86 test guest: checks what the VMM gave it and prints it on COM1, then powers off through
 * ACPI. Everything it uses it discovers the way an OS does: boot_params or hvm_start_info, the
 * RSDP, XSDT, FADT, DSDT, MADT and MCFG. Command-line words steer it:
 *   cpus=N     expect N processors in the MADT (and start the second one with INIT/SIPI)
 *   reset      reset through the keyboard controller after the checks; the VMM reboots the VM
 *              in place, and the second boot (a CMOS RAM byte tells) powers off through ACPI
 *   crash      end with a triple fault instead of powering off (the VMM reports a crash)
 *   virtio     drive the virtio-blk disk in PCI slot 1..31 (virtio.c)
 *   countonly  no checks, no ACPI: count at once with the default IOAPIC and LAPIC addresses
 *              (any VMM's PVH boot, e.g. QEMU's for the benchmark's peer)
 *   count      after the checks, count forever instead of powering off: every 20 ticks of
 *              the PIT at 100 Hz (through the IOAPIC and LAPIC, halting in between) add one to
 *              a counter in memory and print "CNT n" (snapshot tests: a restored guest must
 *              continue with the next number)
 */
#include "guest.h"

#define COM1 0x3f8

#define PVH_MAGIC 0x336ec578

#define IOAPIC_DEFAULT 0xfec00000ULL
#define LAPIC_SVR      0xf0
#define LAPIC_EOI      0xb0
#define LAPIC_ICR_LO   0x300
#define LAPIC_ICR_HI   0x310
#define VEC_UART       0x30
#define VEC_PIT        0x31
#define AP_PAGE        0x8000ULL

volatile unsigned irq_count[3];

struct acpi_info {
    uint64_t rsdp, xsdt, fadt, dsdt, madt, mcfg;
    uint64_t lapic, ioapic, ecam;
    unsigned ncpus, nirq_override;
    uint16_t pm1a_cnt;
    int s5_type;
};

static uint64_t lapic_base = 0xfee00000ULL;

static uint8_t sum8(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    while (n--)
        s = (uint8_t)(s + *b++);
    return s;
}

static uint32_t rd32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static const char *cmdline_arg(const char *cmdline, const char *key)
{
    const char *p = strstr_n(cmdline, key);
    return p ? p + strlen(key) : 0;
}

/* Ends the run at once with a triple fault (an empty IDT, then an exception): the VMM reports
 * the guest as crashed. A reset would not end it: Vessel reboots a guest in place. */
static void __attribute__((noreturn)) triple_fault(void)
{
    static const struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) none = {0, 0};

    __asm__ volatile("lidt %0; int3" : : "m"(none));
    for (;;)
        __asm__ volatile("cli; hlt");
}

void guest_exception(uint64_t vec, uint64_t w0, uint64_t w1)
{
    printf_com1("FAIL: exception %u (stack words 0x%lx 0x%lx)\n", (unsigned)vec, w0, w1);
    triple_fault();
}

/* A CMOS RAM byte that survives a reset (as on a PC): the reset case's boot counter. */
#define CMOS_BOOT_MARK_REG 0x40
#define CMOS_BOOT_MARK     0xa5

static uint8_t cmos_get(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static void cmos_put(uint8_t reg, uint8_t v)
{
    outb(0x70, reg);
    outb(0x71, v);
}

void guest_irq(unsigned which)
{
    if (which == 0)
        (void)inb(COM1 + 2); /* IIR read clears the THRE interrupt */
    if (which == 2)
        virtio_irq(); /* reads the ISR, which lowers the level-triggered line */
    irq_count[which]++;
    mmio_write32(lapic_base + LAPIC_EOI, 0);
}

/* --- boot information --- */

static const char *boot_info(int kind, uint64_t info, uint64_t *rsdp_hint)
{
    const uint8_t *p = (const uint8_t *)info;
    const char *cmdline = "";
    unsigned n;

    if (kind == BOOT_LINUX) {
        cmdline = (const char *)(uint64_t)rd32(p + 0x228);
        n = p[0x1e8];
        printf_com1("boot: Linux 64-bit protocol, boot_params at %p, loader type 0x%x\n", (void *)p,
                    p[0x210]);
        check(rd32(p + 0x202) == 0x53726448, "boot_params header is \"HdrS\"");
        for (unsigned i = 0; i < n; i++) {
            const uint8_t *e = p + 0x2d0 + 20 * i;
            printf_com1("e820: %016lx-%016lx type %u\n", rd64(e), rd64(e) + rd64(e + 8) - 1,
                        rd32(e + 16));
        }
        check(n >= 3 && rd64(p + 0x2d0) == 0 && rd32(p + 0x2d0 + 16) == 1,
              "e820 starts with RAM at 0");
        *rsdp_hint = rd64(p + 0x70);
    } else {
        check(rd32(p) == PVH_MAGIC, "hvm_start_info magic");
        printf_com1("boot: PVH, hvm_start_info at %p, version %u\n", (void *)p, rd32(p + 4));
        cmdline = (const char *)rd64(p + 24);
        n = rd32(p + 48);
        for (unsigned i = 0; i < n; i++) {
            const uint8_t *e = (const uint8_t *)rd64(p + 40) + 24 * i;
            printf_com1("memmap: %016lx-%016lx type %u\n", rd64(e), rd64(e) + rd64(e + 8) - 1,
                        rd32(e + 16));
        }
        check(n >= 3, "PVH memory map has entries");
        *rsdp_hint = rd64(p + 32);
    }
    printf_com1("cmdline: \"%s\"\n", cmdline);
    check(strstr_n(cmdline, "vessel-test") != 0, "command line passed through");
    return cmdline;
}

/* --- ACPI --- */

static int table_ok(uint64_t addr, const char *sig)
{
    const uint8_t *t = (const uint8_t *)addr;
    uint32_t len = rd32(t + 4);
    int ok = !memcmp(t, sig, 4) && len >= 36 && len < 0x10000 && sum8(t, len) == 0;

    printf_com1("acpi: %c%c%c%c at %p, %u bytes, checksum %s\n", t[0], t[1], t[2], t[3], (void *)t,
                len, ok ? "valid" : "BAD");
    return ok;
}

static void parse_madt(struct acpi_info *a)
{
    const uint8_t *t = (const uint8_t *)a->madt;
    uint32_t len = rd32(t + 4);

    a->lapic = rd32(t + 36);
    for (uint32_t off = 44; off + 2 <= len && t[off + 1]; off += t[off + 1]) {
        const uint8_t *e = t + off;
        if (e[0] == 0 && (rd32(e + 4) & 1))
            a->ncpus++;
        else if (e[0] == 1)
            a->ioapic = rd32(e + 4);
        else if (e[0] == 2)
            a->nirq_override++;
    }
    printf_com1("madt: %u CPUs, LAPIC %p, IOAPIC %p, %u overrides\n", a->ncpus, (void *)a->lapic,
                (void *)a->ioapic, a->nirq_override);
}

/* Finds Name(_S5_, Package(){ SLP_TYPa, ... }) in the DSDT's AML. */
static int dsdt_s5(uint64_t dsdt)
{
    const uint8_t *t = (const uint8_t *)dsdt;
    uint32_t len = rd32(t + 4);

    for (uint32_t i = 36; i + 10 < len; i++) {
        if (t[i] == 0x08 && !memcmp(t + i + 1, "_S5_", 4) && t[i + 5] == 0x12) {
            const uint8_t *el = t + i + 8; /* PackageOp, PkgLength (1 byte), NumElements */
            return el[0] == 0x0a ? el[1] : (el[0] <= 1 ? el[0] : -1);
        }
    }
    return -1;
}

static void acpi_scan(struct acpi_info *a, uint64_t hint)
{
    const uint8_t *x;
    uint32_t n;

    /* Like an OS without firmware help: scan 0xe0000-0xfffff on 16-byte boundaries. */
    for (uint64_t p = 0xe0000; p < 0x100000; p += 16) {
        if (!memcmp((const void *)p, "RSD PTR ", 8)) {
            a->rsdp = p;
            break;
        }
    }
    printf_com1("acpi: RSDP at %p (boot info says %p)\n", (void *)a->rsdp, (void *)hint);
    check(a->rsdp && a->rsdp == hint, "RSDP found by scanning and matches the boot info");
    if (!a->rsdp)
        return;
    check(sum8((const void *)a->rsdp, 20) == 0 && sum8((const void *)a->rsdp, 36) == 0,
          "RSDP checksums (20 and 36 bytes)");
    a->xsdt = rd64((const uint8_t *)a->rsdp + 24);
    check(table_ok(a->xsdt, "XSDT"), "XSDT signature and checksum");
    x = (const uint8_t *)a->xsdt;
    n = (rd32(x + 4) - 36) / 8;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t = rd64(x + 36 + 8 * i);
        const uint8_t *s = (const uint8_t *)t;
        int ok = table_ok(t, (const char *)s);

        check(ok, "table checksum");
        if (!memcmp(s, "FACP", 4))
            a->fadt = t;
        else if (!memcmp(s, "APIC", 4))
            a->madt = t;
        else if (!memcmp(s, "MCFG", 4))
            a->mcfg = t;
    }
    check(a->fadt && a->madt && a->mcfg, "XSDT lists FADT, MADT and MCFG");
    if (a->fadt) {
        const uint8_t *f = (const uint8_t *)a->fadt;
        a->dsdt = rd64(f + 140) ? rd64(f + 140) : rd32(f + 40);
        a->pm1a_cnt = (uint16_t)rd32(f + 64);
        check(table_ok(a->dsdt, "DSDT"), "DSDT signature and checksum");
        check(rd32(f + 36) && !memcmp((const void *)(uint64_t)rd32(f + 36), "FACS", 4),
              "FADT points to a FACS");
        a->s5_type = dsdt_s5(a->dsdt);
        printf_com1("fadt: PM1a_CNT port 0x%x, SCI %u; dsdt: \\_S5 SLP_TYP %d\n", a->pm1a_cnt,
                    f[46], a->s5_type);
        check(a->pm1a_cnt && a->s5_type >= 0, "power-off registers from FADT and DSDT");
    }
    if (a->madt)
        parse_madt(a);
    if (a->mcfg) {
        a->ecam = rd64((const uint8_t *)a->mcfg + 44);
        printf_com1("mcfg: ECAM at %p, buses %u-%u\n", (void *)a->ecam,
                    ((const uint8_t *)a->mcfg)[54], ((const uint8_t *)a->mcfg)[55]);
    }
}

/* --- devices --- */

static uint32_t pci_cf8_read(unsigned dev, unsigned reg)
{
    outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
    return inl(0xcfc);
}

static void test_ports_and_pci(const struct acpi_info *a)
{
    uint32_t id, id_ecam;
    uint8_t sec;

    outb(COM1 + 7, 0x5a); /* UART scratch register */
    check(inb(COM1 + 7) == 0x5a, "port I/O: UART scratch register round trip");
    outb(0x70, 0x0d);
    check(inb(0x71) == 0x80, "port I/O: CMOS status D says the clock is valid");
    outb(0x70, 0x00);
    sec = inb(0x71);
    check((sec & 0xf) < 10 && (sec >> 4) < 6, "CMOS seconds are BCD");

    id = pci_cf8_read(0, 0);
    printf_com1("pci: 00:00.0 %04x:%04x class %06x (config mechanism #1)\n", id & 0xffff, id >> 16,
                pci_cf8_read(0, 8) >> 8);
    check((id & 0xffff) != 0xffff && (pci_cf8_read(0, 8) >> 8) == 0x060000,
          "PCI host bridge at 00:00.0");
    for (unsigned d = 1; d < 32; d++) {
        uint32_t v = pci_cf8_read(d, 0);
        if ((v & 0xffff) != 0xffff)
            printf_com1("pci: 00:%02x.0 %04x:%04x\n", d, v & 0xffff, v >> 16);
    }
    if (a->ecam) {
        id_ecam = mmio_read32(a->ecam);
        printf_com1("pci: ECAM (MMIO) reads 00:00.0 as %04x:%04x\n", id_ecam & 0xffff,
                    id_ecam >> 16);
        check(id_ecam == id, "MMIO: ECAM agrees with config mechanism #1");
        check(mmio_read16(a->ecam + (31u << 15)) == 0xffff, "MMIO: empty slot 31 reads all-ones");
    }
}

static void ioapic_route(uint64_t ioapic, unsigned pin, unsigned vector, int masked)
{
    mmio_write32(ioapic, 0x10 + 2 * pin);
    mmio_write32(ioapic + 0x10, vector | (masked ? 1u << 16 : 0)); /* fixed, edge, high */
    mmio_write32(ioapic, 0x11 + 2 * pin);
    mmio_write32(ioapic + 0x10, 0); /* destination APIC 0 */
}

static int wait_irq(unsigned which)
{
    for (int i = 0; i < 100 && !irq_count[which]; i++)
        __asm__ volatile("sti; hlt; cli");
    return irq_count[which] != 0;
}

static void interrupts_init(void)
{
    idt_setup();
    /* The 8259s: remap them away from the exception vectors and mask every input, as an OS
     * that uses the IOAPIC does (ISA interrupts reach both controllers). */
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, 0x20);
    outb(0xa1, 0x28);
    outb(0x21, 0x04);
    outb(0xa1, 0x02);
    outb(0x21, 0x01);
    outb(0xa1, 0x01);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    mmio_write32(lapic_base + LAPIC_SVR, 0x1ff); /* enable, spurious vector 0xff */
}

static void test_interrupts(const struct acpi_info *a)
{
    uint64_t ioapic = a->ioapic ? a->ioapic : IOAPIC_DEFAULT;
    uint32_t ver;

    lapic_base = a->lapic ? a->lapic : lapic_base;
    interrupts_init();
    mmio_write32(ioapic, 1);
    ver = mmio_read32(ioapic + 0x10);
    printf_com1("ioapic: version 0x%x, %u pins\n", ver & 0xff, ((ver >> 16) & 0xff) + 1);
    check((ver & 0xff) == 0x11 || (ver & 0xff) == 0x20, "MMIO: IOAPIC version register");

    /* COM1 (IRQ 4): enabling the THRE interrupt raises it at once */
    ioapic_route(ioapic, 4, VEC_UART, 0);
    outb(COM1 + 4, 0x08); /* OUT2 */
    outb(COM1 + 1, 0x02); /* IER: THRI */
    check(wait_irq(0), "interrupt: COM1 THRE through IOAPIC pin 4 and the LAPIC");
    outb(COM1 + 1, 0);
    ioapic_route(ioapic, 4, VEC_UART, 1);

    /* PIT channel 0, mode 2, 100 Hz, on IOAPIC pin 0 */
    ioapic_route(ioapic, 0, VEC_PIT, 0);
    outb(0x43, 0x34);
    outb(0x40, 11932 & 0xff);
    outb(0x40, 11932 >> 8);
    check(wait_irq(1), "interrupt: PIT through IOAPIC pin 0 and the LAPIC");
    ioapic_route(ioapic, 0, VEC_PIT, 1);
    outb(0x43, 0x30); /* one-shot, no reload: stop */
    printf_com1("irq: %u COM1, %u PIT interrupts\n", irq_count[0], irq_count[1]);
}

static void lapic_icr(unsigned apic_id, uint32_t lo)
{
    mmio_write32(lapic_base + LAPIC_ICR_HI, apic_id << 24);
    mmio_write32(lapic_base + LAPIC_ICR_LO, lo);
    for (int i = 0; i < 1000 && (mmio_read32(lapic_base + LAPIC_ICR_LO) & (1u << 12)); i++)
        ;
}

static void test_smp(const struct acpi_info *a, unsigned want)
{
    volatile uint16_t *flag = (volatile uint16_t *)(AP_PAGE + 0xff0);

    check(a->ncpus == want, "MADT CPU count matches cpus= on the command line");
    if (a->ncpus < 2)
        return;
    memcpy((void *)AP_PAGE, ap_trampoline, (size_t)(ap_trampoline_end - ap_trampoline));
    *flag = 0;
    lapic_icr(1, 0x4500);                             /* INIT */
    lapic_icr(1, 0x4600 | (uint32_t)(AP_PAGE >> 12)); /* SIPI */
    for (int i = 0; i < 200000 && !*flag; i++)
        __asm__ volatile("pause");
    if (!*flag)
        lapic_icr(1, 0x4600 | (uint32_t)(AP_PAGE >> 12)); /* second SIPI, as the spec says */
    for (int i = 0; i < 2000000 && !*flag; i++)
        __asm__ volatile("pause");
    check(*flag == 1, "SMP: the second vCPU started with INIT/SIPI and ran");
}

static volatile uint64_t count; /* in guest RAM: a snapshot carries it */

static void count_forever(uint64_t ioapic)
{
    unsigned next;

    ioapic_route(ioapic, 0, VEC_PIT, 0);
    outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 (rate generator) */
    outb(0x40, 11932 & 0xff);
    outb(0x40, 11932 >> 8);
    next = irq_count[1] + 20;
    for (;;) {
        __asm__ volatile("sti; hlt; cli");
        if ((int)(irq_count[1] - next) >= 0) {
            next += 20;
            count++;
            printf_com1("CNT %lu\n", count);
        }
    }
}

void guest_main(int kind, uint64_t info)
{
    struct acpi_info a = {.s5_type = -1};
    uint64_t hint = 0;
    const char *cmdline, *p;
    unsigned want = 1;

    puts_com1("\nvessel x86 test guest\n");
    if (kind == BOOT_PVH &&
        strstr_n((const char *)rd64((const uint8_t *)info + 24), " countonly")) {
        interrupts_init();
        ioapic_route(IOAPIC_DEFAULT, 2, VEC_PIT, 0); /* where PCs wire IRQ 0 (MADT override) */
        count_forever(IOAPIC_DEFAULT);
    }
    cmdline = boot_info(kind, info, &hint);
    p = cmdline_arg(cmdline, "cpus=");
    if (p)
        want = (unsigned)(*p - '0');
    acpi_scan(&a, hint);
    test_ports_and_pci(&a);
    test_interrupts(&a);
    test_smp(&a, want);
    if (strstr_n(cmdline, " virtio"))
        test_virtio_blk(a.ioapic ? a.ioapic : IOAPIC_DEFAULT, lapic_base);
    if (failures)
        printf_com1("%d FAILED\n", failures);
    else
        puts_com1("ALL PASSED\n");
    if (strstr_n(cmdline, " count"))
        count_forever(a.ioapic ? a.ioapic : IOAPIC_DEFAULT);
    if (strstr_n(cmdline, " crash")) {
        puts_com1("triple fault on purpose\n");
        triple_fault();
    }
    if (strstr_n(cmdline, " reset") && cmos_get(CMOS_BOOT_MARK_REG) != CMOS_BOOT_MARK) {
        cmos_put(CMOS_BOOT_MARK_REG, CMOS_BOOT_MARK);
        puts_com1("reset through the keyboard controller\n");
        outb(0x64, 0xfe);
    } else if (strstr_n(cmdline, " reset")) {
        cmos_put(CMOS_BOOT_MARK_REG, 0);
        puts_com1("second boot: the VM rebooted in place after the reset\n");
    }
    if (a.pm1a_cnt && a.s5_type >= 0) {
        puts_com1("power off through ACPI S5\n");
        outw(a.pm1a_cnt, (uint16_t)(a.s5_type << 10 | 1u << 13));
    }
    puts_com1("FAIL: still running after power-off\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}
