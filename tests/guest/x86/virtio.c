/* A minimal virtio-pci (modern) block driver: finds the device by scanning bus 0 through config
 * mechanism #1, reads its vendor capabilities, negotiates VERSION_1 only, sets up queue 0 with
 * eight descriptors, reads sector 0 and compares it with the pattern the runner wrote, writes
 * sector 1 (the runner checks the host file), and takes the completion interrupt as INTx
 * through the IOAPIC (level-triggered, the ISR read lowers it). Then MSI-X (test_msix): queue
 * 0's vector programmed to the boot CPU's LAPIC, the completion arriving as that message with
 * the ISR clear, a masked vector held in the pending bit array until unmasked.
 *
 * Disk contents the runner creates: byte i of sector 0 is (i * 7 + 1) & 0xff. The guest writes
 * byte i of sector 1 as (i * 3 + 5) & 0xff. */
#include "guest.h"

#define VENDOR_VIRTIO  0x1af4
#define DEVICE_BLK     0x1042
#define VEC_VIRTIO     0x32
#define CAP_VNDR       0x09
#define CAP_MSIX       0x11
#define CAP_COMMON     1
#define CAP_NOTIFY     2
#define CAP_ISR        3
#define CAP_DEVICE     4
#define CAP_PCI_CFG    5
#define ST_ACK         1
#define ST_DRIVER      2
#define ST_DRIVER_OK   4
#define ST_FEATURES_OK 8
#define QSIZE          8
#define DISK_SECTORS   2048 /* the runner's 1 MiB disk */

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct blk_req {
    uint32_t type, reserved;
    uint64_t sector;
};

/* Everything the device reads or writes, identity mapped (guest virtual = physical). */
static struct {
    struct vring_desc desc[QSIZE];
    uint16_t avail[3 + QSIZE]; /* flags, idx, ring[], used_event */
    struct {
        uint16_t flags, idx;
        struct {
            uint32_t id, len;
        } ring[QSIZE];
        uint16_t avail_event;
    } used __attribute__((aligned(4)));
    struct blk_req req;
    uint8_t data[512] __attribute__((aligned(16)));
    volatile uint8_t status;
} vq __attribute__((aligned(4096)));

static uint64_t isr_addr;
static volatile unsigned isr_seen;

static uint8_t mmio_read8(uint64_t a)
{
    return *(volatile uint8_t *)a;
}

static void mmio_write8(uint64_t a, uint8_t v)
{
    *(volatile uint8_t *)a = v;
}

static void mmio_write16(uint64_t a, uint16_t v)
{
    *(volatile uint16_t *)a = v;
}

static uint32_t cfg_read(unsigned dev, unsigned reg)
{
    outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
    return inl(0xcfc);
}

static void cfg_write(unsigned dev, unsigned reg, uint32_t v)
{
    outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
    outl(0xcfc, v);
}

void virtio_irq(void)
{
    if (isr_addr)
        isr_seen |= mmio_read8(isr_addr); /* read-to-clear: the line goes low */
}

static int find_blk(void)
{
    for (unsigned d = 1; d < 32; d++)
        if (cfg_read(d, 0) == (VENDOR_VIRTIO | (uint32_t)DEVICE_BLK << 16))
            return (int)d;
    return -1;
}

/* One request of three descriptors; returns the status byte, or -1 on a timeout. */
static int blk_rw(uint64_t notify, uint32_t type, uint64_t sector)
{
    uint16_t idx = vq.avail[1], used_before = vq.used.idx;

    vq.req = (struct blk_req){type, 0, sector};
    vq.status = 0xff;
    vq.desc[0] = (struct vring_desc){(uint64_t)&vq.req, sizeof(vq.req), 1, 1};
    vq.desc[1] = (struct vring_desc){(uint64_t)vq.data, 512, (uint16_t)(type ? 1 : 3), 2};
    vq.desc[2] = (struct vring_desc){(uint64_t)&vq.status, 1, 2, 0};
    vq.avail[2 + idx % QSIZE] = 0;
    __asm__ volatile("" ::: "memory");
    vq.avail[1] = (uint16_t)(idx + 1);
    __asm__ volatile("mfence" ::: "memory");
    mmio_write16(notify, 0); /* the queue index */
    for (long i = 0; i < 200000000 && *(volatile uint16_t *)&vq.used.idx == used_before; i++)
        __asm__ volatile("pause");
    if (*(volatile uint16_t *)&vq.used.idx == used_before)
        return -1;
    return vq.status;
}

static unsigned find_cap(unsigned dev, uint8_t id)
{
    for (unsigned p = cfg_read(dev, 0x34) & 0xfc, n = 0; p && n < 48;
         p = (cfg_read(dev, p) >> 8) & 0xfc, n++)
        if ((cfg_read(dev, p) & 0xff) == id)
            return p;
    return 0;
}

/* Waits (bounded) with interrupts enabled until irq_count[2] passes n; returns it. */
static unsigned wait_irq(unsigned n)
{
    for (int i = 0; i < 1000000 && irq_count[2] <= n; i++)
        __asm__ volatile("sti; pause; cli");
    return irq_count[2];
}

/* MSI-X: one vector per queue plus config; queue 0's completion as a message to this CPU. */
static void test_msix(unsigned dev, uint64_t bar, uint64_t common, uint64_t notify)
{
    unsigned cap = find_cap(dev, CAP_MSIX), before, got;
    uint32_t ctrl, tbl, pba;
    uint64_t entry, pbits;

    check(cap != 0, "virtio-pci: an MSI-X capability");
    if (!cap)
        return;
    ctrl = cfg_read(dev, cap) >> 16;
    tbl = cfg_read(dev, cap + 4);
    pba = cfg_read(dev, cap + 8);
    printf_com1("virtio-pci: MSI-X at 0x%x: %u vectors, table bar %u +0x%x, PBA bar %u +0x%x\n",
                cap, (ctrl & 0x7ff) + 1, tbl & 7, tbl & ~7u, pba & 7, pba & ~7u);
    check((ctrl & 0x7ff) + 1 == 2 && (tbl & 7) == 4 && (pba & 7) == 4,
          "virtio-pci: MSI-X has queue + config vectors in BAR 4");
    entry = bar + (tbl & ~7u);
    pbits = bar + (pba & ~7u);
    check(mmio_read32(entry + 12) == 1, "virtio-pci: MSI-X vectors start masked");
    /* vectors: queue 0 -> 0, config -> 1; one past the table reads back as NO_VECTOR */
    mmio_write16(common + 0x10, 2);
    check(mmio_read16(common + 0x10) == 0xffff, "virtio-pci: a vector past the table is refused");
    mmio_write16(common + 0x10, 1);
    mmio_write16(common + 0x16, 0);
    mmio_write16(common + 0x1a, 0);
    check(mmio_read16(common + 0x1a) == 0 && mmio_read16(common + 0x10) == 1,
          "virtio-pci: queue and config vectors assigned");
    /* entry 0: fixed delivery to APIC ID 0, the virtio vector, edge; unmasked */
    mmio_write32(entry, 0xfee00000u);
    mmio_write32(entry + 4, 0);
    mmio_write32(entry + 8, VEC_VIRTIO);
    mmio_write32(entry + 12, 0);
    cfg_write(dev, 4, 0x6 | 0x400); /* INTx disable, as drivers do */
    cfg_write(dev, cap, (cfg_read(dev, cap) & 0xffff) | 0x80000000u); /* MSI-X enable */
    check(cfg_read(dev, cap) >> 31, "virtio-pci: MSI-X enabled");

    isr_seen = 0;
    before = irq_count[2];
    check(blk_rw(notify, 0, 0) == 0, "virtio-blk: a read with MSI-X");
    got = wait_irq(before);
    check(got == before + 1 && !(isr_seen & 1),
          "virtio-pci: the completion came as the queue's MSI-X message, ISR clear");
    /* masked: no message, the pending bit; unmasking sends it */
    mmio_write32(entry + 12, 1);
    before = irq_count[2];
    check(blk_rw(notify, 0, 0) == 0, "virtio-blk: a read with the vector masked");
    for (int i = 0; i < 100000; i++)
        __asm__ volatile("sti; pause; cli");
    check(irq_count[2] == before && (mmio_read32(pbits) & 1),
          "virtio-pci: a masked vector sets its pending bit instead");
    mmio_write32(entry + 12, 0);
    got = wait_irq(before);
    check(got == before + 1 && !(mmio_read32(pbits) & 1),
          "virtio-pci: unmasking sends the pending message and clears the bit");
    cfg_write(dev, cap, cfg_read(dev, cap) & 0x7fffffffu); /* MSI-X off */
    cfg_write(dev, 4, 0x6);
    printf_com1("virtio: MSI-X: %u interrupts\n", irq_count[2]);
}

void test_virtio_blk(uint64_t ioapic, uint64_t lapic)
{
    uint64_t bar = 0, common = 0, device = 0, notify = 0;
    uint32_t mult = 0, feat_hi, v, cfgcap = 0;
    unsigned irq;
    int dev = find_blk(), ok, st;

    (void)lapic;
    check(dev > 0, "virtio-pci: a virtio-blk function (1af4:1042) on bus 0");
    if (dev <= 0)
        return;
    v = cfg_read((unsigned)dev, 8);
    irq = cfg_read((unsigned)dev, 0x3c) & 0xff;
    printf_com1("virtio-pci: 00:%02x.0 class %06x rev %u subsystem %08x INTx GSI %u\n",
                (unsigned)dev, v >> 8, v & 0xff, cfg_read((unsigned)dev, 0x2c), irq);
    check((v & 0xff) == 1 && (v >> 8) == 0x010000, "virtio-pci: revision 1, storage class");
    check((cfg_read((unsigned)dev, 4) >> 16) & 0x10, "virtio-pci: status has a capability list");

    /* BAR 4: 64-bit memory; size it the standard way */
    uint32_t lo = cfg_read((unsigned)dev, 0x20), hi = cfg_read((unsigned)dev, 0x24);
    cfg_write((unsigned)dev, 0x20, 0xffffffffu);
    v = cfg_read((unsigned)dev, 0x20);
    cfg_write((unsigned)dev, 0x20, lo);
    bar = (lo & ~0xfull) | (uint64_t)hi << 32;
    printf_com1("virtio-pci: BAR4 %p (64-bit %u), size 0x%x\n", (void *)bar, (lo >> 2) & 1 ? 1 : 0,
                ~(v & ~0xfu) + 1);
    check((lo & 0x6) == 0x4 && ~(v & ~0xfu) + 1 == 0x4000, "virtio-pci: BAR4 64-bit, 16 KiB");
    cfg_write((unsigned)dev, 4, 0x6); /* memory space, bus master */

    for (unsigned p = cfg_read((unsigned)dev, 0x34) & 0xfc; p;
         p = (cfg_read((unsigned)dev, p) >> 8) & 0xfc) {
        uint32_t h = cfg_read((unsigned)dev, p), off = cfg_read((unsigned)dev, p + 8);
        uint8_t type = (uint8_t)(h >> 24), b = (uint8_t)cfg_read((unsigned)dev, p + 4);

        if ((h & 0xff) != CAP_VNDR)
            continue;
        printf_com1("virtio-pci: cap at 0x%x type %u bar %u offset 0x%x length 0x%x\n", p, type, b,
                    off, cfg_read((unsigned)dev, p + 12));
        if (type == CAP_PCI_CFG) {
            cfgcap = p;
            continue;
        }
        if (b != 4)
            continue;
        if (type == CAP_COMMON)
            common = bar + off;
        else if (type == CAP_ISR)
            isr_addr = bar + off;
        else if (type == CAP_DEVICE)
            device = bar + off;
        else if (type == CAP_NOTIFY) {
            notify = bar + off;
            mult = cfg_read((unsigned)dev, p + 16);
        }
    }
    check(common && isr_addr && device && notify && cfgcap,
          "virtio-pci: common, notify, ISR, device and PCI_CFG capabilities");
    if (!common || !isr_addr || !device || !notify)
        return;

    /* the PCI_CFG window: num_queues (common + 0x12, 2 bytes) read through config space */
    if (cfgcap) {
        cfg_write((unsigned)dev, cfgcap + 4, 4);
        cfg_write((unsigned)dev, cfgcap + 8, (uint32_t)(common - bar) + 0x12);
        cfg_write((unsigned)dev, cfgcap + 12, 2);
        v = cfg_read((unsigned)dev, cfgcap + 16) & 0xffff;
        check(v == mmio_read16(common + 0x12) && v == 1,
              "virtio-pci: PCI_CFG window reads num_queues like the BAR");
    }

    /* initialization (virtio 1.2, 3.1.1) */
    mmio_write8(common + 0x14, 0);
    mmio_write8(common + 0x14, ST_ACK);
    mmio_write8(common + 0x14, ST_ACK | ST_DRIVER);
    mmio_write32(common + 0x00, 1);
    feat_hi = mmio_read32(common + 0x04);
    check(feat_hi & 1, "virtio-pci: device offers VIRTIO_F_VERSION_1");
    mmio_write32(common + 0x08, 0);
    mmio_write32(common + 0x0c, 0);
    mmio_write32(common + 0x08, 1);
    mmio_write32(common + 0x0c, 1);
    mmio_write8(common + 0x14, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    check(mmio_read8(common + 0x14) & ST_FEATURES_OK, "virtio-pci: FEATURES_OK accepted");
    v = mmio_read32(device);
    printf_com1("virtio-blk: capacity %u sectors\n", v);
    check(v == DISK_SECTORS && mmio_read32(device + 4) == 0, "virtio-blk: capacity from config");

    memset(&vq, 0, sizeof(vq));
    mmio_write16(common + 0x16, 0); /* queue_select */
    v = mmio_read16(common + 0x18);
    check(v >= QSIZE, "virtio-pci: queue 0 size");
    mmio_write16(common + 0x18, QSIZE);
    mmio_write32(common + 0x20, (uint32_t)(uint64_t)vq.desc);
    mmio_write32(common + 0x24, 0);
    mmio_write32(common + 0x28, (uint32_t)(uint64_t)vq.avail);
    mmio_write32(common + 0x2c, 0);
    mmio_write32(common + 0x30, (uint32_t)(uint64_t)&vq.used);
    mmio_write32(common + 0x34, 0);
    notify += (uint64_t)mmio_read16(common + 0x1e) * mult;
    mmio_write16(common + 0x1c, 1);
    check(mmio_read16(common + 0x1c) == 1, "virtio-pci: queue 0 enabled");
    mmio_write8(common + 0x14, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);

    /* INTx: level-triggered, active low, as the DSDT's _PRT describes PCI interrupts */
    mmio_write32(ioapic, 0x10 + 2 * irq);
    mmio_write32(ioapic + 0x10, VEC_VIRTIO | 1u << 13 | 1u << 15);
    mmio_write32(ioapic, 0x11 + 2 * irq);
    mmio_write32(ioapic + 0x10, 0);

    st = blk_rw(notify, 0, 0);
    ok = st == 0;
    for (int i = 0; i < 512; i++)
        ok &= vq.data[i] == (uint8_t)(i * 7 + 1);
    printf_com1("virtio-blk: read sector 0: status %d, bytes %02x %02x %02x %02x\n", st, vq.data[0],
                vq.data[1], vq.data[2], vq.data[3]);
    check(ok, "virtio-blk: sector 0 read through the queue matches the disk file");
    for (int i = 0; i < 1000000 && !irq_count[2]; i++)
        __asm__ volatile("sti; pause; cli");
    check(irq_count[2] > 0 && (isr_seen & 1),
          "virtio-pci: used-buffer interrupt via INTx (ISR bit 0)");
    check(mmio_read8(isr_addr) == 0, "virtio-pci: ISR status is clear after the read");

    for (int i = 0; i < 512; i++)
        vq.data[i] = (uint8_t)(i * 3 + 5);
    st = blk_rw(notify, 1, 1);
    check(st == 0, "virtio-blk: sector 1 written");
    for (int i = 0; i < 1000000 && irq_count[2] < 2; i++)
        __asm__ volatile("sti; pause; cli");
    mmio_write32(ioapic, 0x10 + 2 * irq);
    mmio_write32(ioapic + 0x10, 1u << 16); /* masked */
    test_msix((unsigned)dev, bar, common, notify);
    mmio_write8(common + 0x14, 0); /* reset the device */
    check(mmio_read8(common + 0x14) == 0, "virtio-pci: device reset");
    printf_com1("virtio: %u interrupts\n", irq_count[2]);
}
