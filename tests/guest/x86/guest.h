/* Vessel's x86-64 test guests: a freestanding ring-0 runtime (COM1 output, port and MMIO
 * access, checks that count failures). Everything the guest checks it prints on COM1. */
#ifndef VESSEL_TESTS_GUEST_X86_GUEST_H
#define VESSEL_TESTS_GUEST_X86_GUEST_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_LINUX 1 /* 64-bit Linux boot protocol: info = boot_params */
#define BOOT_PVH   2 /* PVH: info = hvm_start_info */

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

static inline uint16_t mmio_read16(uint64_t addr)
{
    return *(volatile uint16_t *)addr;
}

/* lib.c */
void putc_com1(char c);
void puts_com1(const char *s);
void printf_com1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
const char *strstr_n(const char *hay, const char *needle);
/* Records a check: prints "ok: what" or "FAIL: what". */
void check(int cond, const char *what);
extern int failures;

/* interrupts (idt.S, guest.c) */
void idt_setup(void);
extern volatile unsigned irq_count[3];

/* virtio.c: the virtio-pci block driver test (command-line word "virtio") */
void test_virtio_blk(uint64_t ioapic, uint64_t lapic);
void virtio_irq(void);

/* the AP trampoline (trampoline.S): real-mode code copied below 1 MiB */
extern const uint8_t ap_trampoline[], ap_trampoline_end[];

#endif
