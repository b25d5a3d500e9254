/* The IDT: exception vectors 0-31 report and stop; 0x30 (COM1), 0x31 (PIT) and 0x32 (virtio-pci
 * INTx) count. */
#include "guest.h"

struct idt_entry {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));

extern void *const exc_table[32];
extern char irq_stub0[], irq_stub1[], irq_stub2[];

static void set_gate(int v, void *fn)
{
    uint64_t a = (uint64_t)fn;
    uint16_t cs;

    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    idt[v] =
        (struct idt_entry){(uint16_t)a, cs, 0, 0x8e, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0};
}

void idt_setup(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) d = {sizeof(idt) - 1, (uint64_t)idt};

    for (int i = 0; i < 32; i++)
        set_gate(i, exc_table[i]);
    set_gate(0x30, irq_stub0);
    set_gate(0x31, irq_stub1);
    set_gate(0x32, irq_stub2);
    __asm__ volatile("lidt %0" : : "m"(d));
}
