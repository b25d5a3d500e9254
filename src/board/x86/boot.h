/* x86 boot protocols: Linux bzImage and ELF vmlinux (64-bit entry with a zero page), and PVH
 * (32-bit entry with hvm_start_info) when the ELF carries the Xen PHYS32_ENTRY note. The
 * builders are pure functions on byte buffers so that unit tests can check them. */
#ifndef VESSEL_BOARD_X86_BOOT_H
#define VESSEL_BOARD_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/kvm/kvm.h"
#include "mem/gmem.h"

/* boot_params offsets (Documentation/arch/x86/zero-page.rst, boot.rst) */
#define BP_ACPI_RSDP_ADDR   0x070
#define BP_EXT_RAMDISK_IMG  0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES     0x1e8
#define BP_SETUP_SECTS      0x1f1
#define BP_VID_MODE         0x1fa
#define BP_BOOT_FLAG        0x1fe
#define BP_JUMP             0x200
#define BP_HEADER           0x202
#define BP_VERSION          0x206
#define BP_TYPE_OF_LOADER   0x210
#define BP_LOADFLAGS        0x211
#define BP_CODE32_START     0x214
#define BP_RAMDISK_IMAGE    0x218
#define BP_RAMDISK_SIZE     0x21c
#define BP_HEAP_END_PTR     0x224
#define BP_CMD_LINE_PTR     0x228
#define BP_INITRD_ADDR_MAX  0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE      0x234
#define BP_XLOADFLAGS       0x236
#define BP_CMDLINE_SIZE     0x238
#define BP_PREF_ADDRESS     0x258
#define BP_INIT_SIZE        0x260
#define BP_E820_TABLE       0x2d0
#define BP_E820_MAX         128
#define BP_HDRS_MAGIC       0x53726448 /* "HdrS" */

#define LOADFLAG_LOADED_HIGH  0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64         0x01

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3

#define PVH_START_MAGIC          0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18

enum x86_kernel_kind { X86_KERNEL_BZIMAGE, X86_KERNEL_ELF, X86_KERNEL_PVH };

struct x86_kernel {
    enum x86_kernel_kind kind;
    const uint8_t *data; /* the whole file, not owned */
    size_t len;
    /* bzImage */
    uint16_t version;
    size_t setup_len;   /* boot sector + real-mode setup, bytes */
    size_t hdr_end;     /* end of the setup header within the file */
    uint32_t init_size; /* memory the kernel needs from its load address */
    uint32_t initrd_addr_max, cmdline_size;
    /* ELF */
    uint64_t entry;     /* 64-bit entry (physical) */
    uint32_t pvh_entry; /* 32-bit PVH entry when kind == X86_KERNEL_PVH */
    uint64_t load_end;  /* highest physical byte + 1 the kernel occupies once loaded */
};

/* Recognizes a bzImage or an x86-64 ELF. Returns 0, or -EINVAL with a one-line reason in why
 * ("not an x86 kernel: ...", "bzImage boot protocol 2.03 is too old ..."). */
int x86_kernel_parse(struct x86_kernel *k, const uint8_t *data, size_t len, char *why,
                     size_t whylen);

struct x86_e820 {
    uint64_t addr, size;
    uint32_t type;
};

/* The memory map for ram_size bytes of RAM (low RAM up to the MMIO gap, the rest from 4 GiB).
 * Returns the number of entries written (at most max). */
int x86_e820_build(struct x86_e820 *e, int max, uint64_t ram_size);
/* Bytes of RAM below the MMIO gap. */
uint64_t x86_low_ram(uint64_t ram_size);

/* Identity map of the first 4 GiB with 2 MiB pages at X86_PML4_ADDR.. in low (the host view of
 * guest physical 0..). */
void x86_pagetables_build(uint8_t *low);
/* The boot GDT at X86_GDT_ADDR: null, code32 (0x08), code64 (0x10), data (0x18), TSS (0x20). */
#define X86_SEL_CODE32  0x08
#define X86_SEL_CODE64  0x10
#define X86_SEL_DATA    0x18
#define X86_SEL_TSS     0x20
#define X86_GDT_ENTRIES 5
void x86_gdt_build(uint64_t gdt[X86_GDT_ENTRIES]);

struct x86_boot_info {
    uint64_t cmdline_addr;
    uint32_t cmdline_len; /* without the NUL */
    uint64_t initrd_addr, initrd_size;
    uint64_t rsdp_addr;
    const struct x86_e820 *e820;
    int ne820;
};

/* boot_params for a 64-bit entry (bzImage: with its setup header). zp is 4096 bytes. */
void x86_zero_page_build(uint8_t *zp, const struct x86_kernel *k, const struct x86_boot_info *bi);
/* hvm_start_info, the module list and the memory map at their layout addresses in low. */
void x86_pvh_info_build(uint8_t *low, const struct x86_boot_info *bi);

/* Where the initrd goes: page-aligned, as high as possible under the kernel's limit and low RAM,
 * above the kernel. Returns 0 or -ENOSPC. */
int x86_initrd_place(const struct x86_kernel *k, uint64_t low_ram, uint64_t size, uint64_t *addr);

/* Loads kernel, initrd and command line into RAM (low RAM is [0, x86_low_ram)), writes the boot
 * structures and fills the boot CPU state. rsdp_addr: the ACPI tables (already written).
 * Returns 0, or -ENOSPC / -EINVAL with the reason logged. */
int x86_boot_load(struct gmem *ram, const struct x86_kernel *k, const uint8_t *initrd,
                  size_t initrd_len, const char *cmdline, uint64_t rsdp_addr,
                  struct kvm_boot_cpu *cpu);

#endif
