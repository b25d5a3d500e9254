#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "board/x86/boot.h"
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

/* A minimal bzImage: boot sector + 1 setup sector + payload. */
static uint8_t *make_bzimage(size_t *len, uint16_t version, uint16_t xlf)
{
    size_t n = 1024 + 4096;
    uint8_t *d = calloc(1, n);

    d[BP_SETUP_SECTS] = 1;
    d[BP_BOOT_FLAG] = 0x55;
    d[BP_BOOT_FLAG + 1] = 0xaa;
    d[BP_JUMP] = 0xeb;
    d[BP_JUMP + 1] = 0x66; /* header ends at 0x268 */
    memcpy(d + BP_HEADER, "HdrS", 4);
    memcpy(d + BP_VERSION, &version, 2);
    d[BP_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
    memcpy(d + BP_XLOADFLAGS, &xlf, 2);
    uint32_t v = 0x7fffffff;
    memcpy(d + BP_INITRD_ADDR_MAX, &v, 4);
    v = 2047;
    memcpy(d + BP_CMDLINE_SIZE, &v, 4);
    v = 0x200000;
    memcpy(d + BP_INIT_SIZE, &v, 4);
    memset(d + 1024, 0x90, 4096);
    *len = n;
    return d;
}

TEST(x86_bzimage_parse)
{
    struct x86_kernel k;
    char why[200];
    size_t len;
    uint8_t *d = make_bzimage(&len, 0x020f, XLF_KERNEL_64);

    CHECK_EQ(x86_kernel_parse(&k, d, len, why, sizeof(why)), 0);
    CHECK_EQ(k.kind, X86_KERNEL_BZIMAGE);
    CHECK_EQ(k.setup_len, 1024);
    CHECK_EQ(k.hdr_end, 0x268);
    CHECK_EQ(k.entry, X86_KERNEL_ADDR + 0x200);
    CHECK_EQ(k.load_end, X86_KERNEL_ADDR + 0x200000);
    free(d);

    d = make_bzimage(&len, 0x020b, 0);
    CHECK_EQ(x86_kernel_parse(&k, d, len, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "2.11") && strstr(why, "64-bit"));
    free(d);
}

TEST(x86_kernel_not_x86)
{
    uint8_t img[0x100] = {0};
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    struct x86_kernel k;
    char why[200];

    memcpy(img + 0x38, "RSC\x05", 4);
    CHECK_EQ(x86_kernel_parse(&k, img, sizeof(img), why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "RISC-V") != NULL);

    memset(img, 0, sizeof(img));
    memcpy(img, ELFMAG, SELFMAG);
    img[EI_CLASS] = ELFCLASS64;
    eh->e_machine = EM_RISCV;
    CHECK_EQ(x86_kernel_parse(&k, img, sizeof(img), why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "not an x86 kernel") && strstr(why, "RISC-V"));

    memset(img, 0, sizeof(img));
    CHECK_EQ(x86_kernel_parse(&k, img, sizeof(img), why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "neither a bzImage") != NULL);
}

/* An x86-64 ELF with one PT_LOAD at 1 MiB and, optionally, the Xen PVH note. */
static size_t make_elf(uint8_t *img, size_t cap, int pvh)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
    uint8_t *note = img + 0x200;
    uint32_t words[3] = {4, 4, XEN_ELFNOTE_PHYS32_ENTRY}, entry32 = 0x100040;

    memset(img, 0, cap);
    memcpy(img, ELFMAG, SELFMAG);
    img[EI_CLASS] = ELFCLASS64;
    img[EI_DATA] = ELFDATA2LSB;
    eh->e_machine = EM_X86_64;
    eh->e_entry = 0x100010;
    eh->e_phoff = sizeof(*eh);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 2;
    ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
                         .p_offset = 0x400,
                         .p_vaddr = 0x100000,
                         .p_paddr = 0x100000,
                         .p_filesz = 0x100,
                         .p_memsz = 0x3000};
    ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = pvh ? 20 : 0};
    memcpy(note, words, 12);
    memcpy(note + 12, "Xen", 4);
    memcpy(note + 16, &entry32, 4);
    memset(img + 0x400, 0xcc, 0x100);
    return 0x500;
}

TEST(x86_elf_and_pvh_parse)
{
    static uint8_t img[0x500];
    struct x86_kernel k;
    char why[200];
    size_t n = make_elf(img, sizeof(img), 0);

    CHECK_EQ(x86_kernel_parse(&k, img, n, why, sizeof(why)), 0);
    CHECK_EQ(k.kind, X86_KERNEL_ELF);
    CHECK_EQ(k.entry, 0x100010);
    CHECK_EQ(k.load_end, 0x103000);

    n = make_elf(img, sizeof(img), 1);
    CHECK_EQ(x86_kernel_parse(&k, img, n, why, sizeof(why)), 0);
    CHECK_EQ(k.kind, X86_KERNEL_PVH);
    CHECK_EQ(k.pvh_entry, 0x100040);

    /* a segment below 1 MiB would overwrite the boot structures */
    ((Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)))[0].p_paddr = 0x7000;
    CHECK_EQ(x86_kernel_parse(&k, img, n, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "below 1 MiB") != NULL);
}

TEST(x86_e820_map)
{
    struct x86_e820 e[8];
    int n = x86_e820_build(e, 8, 64ULL << 20);

    CHECK_EQ(n, 4);
    CHECK_EQ(e[0].addr, 0);
    CHECK_EQ(e[0].size, X86_EBDA_START);
    CHECK_EQ(e[0].type, E820_RAM);
    CHECK_EQ(e[1].type, E820_RESERVED);
    CHECK_EQ(e[2].addr, 0x100000);
    CHECK_EQ(e[2].addr + e[2].size, 64ULL << 20);
    CHECK_EQ(e[3].addr, X86_PCI_ECAM_BASE);
    CHECK_EQ(e[3].type, E820_RESERVED);

    /* above the MMIO gap, RAM continues at 4 GiB */
    n = x86_e820_build(e, 8, 4ULL << 30);
    CHECK_EQ(n, 5);
    CHECK_EQ(e[2].addr + e[2].size, X86_MMIO_GAP_START);
    CHECK_EQ(e[4].addr, X86_HIGH_RAM_START);
    CHECK_EQ(e[4].size, (4ULL << 30) - X86_MMIO_GAP_START);
    CHECK_EQ(x86_low_ram(4ULL << 30), X86_MMIO_GAP_START);
}

TEST(x86_page_tables_and_gdt)
{
    uint8_t *low = calloc(1, 0x10000);
    uint64_t *pml4 = (uint64_t *)(low + X86_PML4_ADDR), *pdpt = (uint64_t *)(low + X86_PDPT_ADDR);
    uint64_t *pd = (uint64_t *)(low + X86_PD_ADDR), gdt[X86_GDT_ENTRIES];

    x86_pagetables_build(low);
    CHECK_EQ(pml4[0], X86_PDPT_ADDR | 3);
    CHECK_EQ(pml4[1], 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(pdpt[i], (X86_PD_ADDR + 4096ULL * i) | 3);
    CHECK_EQ(pdpt[4], 0);
    CHECK_EQ(pd[0], 0x83);
    CHECK_EQ(pd[1], 0x200083);
    CHECK_EQ(pd[2047], (2047ULL << 21) | 0x83); /* the last 2 MiB below 4 GiB */
    free(low);

    x86_gdt_build(gdt);
    CHECK_EQ(gdt[0], 0);
    CHECK_EQ((gdt[X86_SEL_CODE64 / 8] >> 53) & 1, 1); /* L */
    CHECK_EQ((gdt[X86_SEL_CODE64 / 8] >> 54) & 1, 0); /* D must be 0 with L */
    CHECK_EQ((gdt[X86_SEL_CODE32 / 8] >> 54) & 1, 1);
    CHECK_EQ((gdt[X86_SEL_DATA / 8] >> 40) & 0xff, 0x93);
    CHECK_EQ((gdt[X86_SEL_TSS / 8] >> 40) & 0xff, 0x8b);
}

TEST(x86_zero_page)
{
    uint8_t zp[4096];
    struct x86_e820 e[8];
    struct x86_kernel k;
    char why[200];
    size_t len;
    uint8_t *d = make_bzimage(&len, 0x020f, XLF_KERNEL_64);
    struct x86_boot_info bi = {.cmdline_addr = X86_CMDLINE_ADDR,
                               .cmdline_len = 12,
                               .initrd_addr = 0x3000000,
                               .initrd_size = 0x12345,
                               .rsdp_addr = X86_ACPI_ADDR,
                               .e820 = e};

    bi.ne820 = x86_e820_build(e, 8, 64ULL << 20);
    CHECK_EQ(x86_kernel_parse(&k, d, len, why, sizeof(why)), 0);
    x86_zero_page_build(zp, &k, &bi);
    CHECK_EQ(get32(zp + BP_HEADER), BP_HDRS_MAGIC);
    CHECK_EQ(get32(zp + BP_CMD_LINE_PTR), X86_CMDLINE_ADDR);
    CHECK_EQ(get32(zp + BP_RAMDISK_IMAGE), 0x3000000);
    CHECK_EQ(get32(zp + BP_RAMDISK_SIZE), 0x12345);
    CHECK_EQ(zp[BP_TYPE_OF_LOADER], 0xff);
    CHECK(zp[BP_LOADFLAGS] & LOADFLAG_CAN_USE_HEAP);
    CHECK(zp[BP_LOADFLAGS] & LOADFLAG_LOADED_HIGH);
    CHECK_EQ(get32(zp + BP_CODE32_START), X86_KERNEL_ADDR);
    CHECK_EQ(get64(zp + BP_ACPI_RSDP_ADDR), X86_ACPI_ADDR);
    CHECK_EQ(zp[BP_E820_ENTRIES], 4);
    CHECK_EQ(get64(zp + BP_E820_TABLE + 20 * 2), 0x100000);
    CHECK_EQ(get32(zp + BP_E820_TABLE + 20 * 2 + 16), E820_RAM);
    free(d);
}

TEST(x86_initrd_placement)
{
    struct x86_kernel k = {.kind = X86_KERNEL_BZIMAGE,
                           .version = 0x020f,
                           .initrd_addr_max = 0x37ffffff,
                           .load_end = 0x2000000};
    uint64_t a;

    /* under initrd_addr_max even when RAM goes higher, page-aligned */
    CHECK_EQ(x86_initrd_place(&k, 2ULL << 30, 0x1801, &a), 0);
    CHECK_EQ(a, (0x38000000ULL - 0x1801) & ~0xfffULL);
    /* top of RAM when it is lower */
    CHECK_EQ(x86_initrd_place(&k, 64ULL << 20, 0x100000, &a), 0);
    CHECK_EQ(a, (64ULL << 20) - 0x100000);
    /* never over the kernel */
    CHECK_EQ(x86_initrd_place(&k, 64ULL << 20, 40ULL << 20, &a), -ENOSPC);
}

TEST(x86_pvh_start_info)
{
    uint8_t *low = calloc(1, 0x10000);
    struct x86_e820 e[8];
    struct x86_boot_info bi = {.cmdline_addr = X86_CMDLINE_ADDR,
                               .initrd_addr = 0x2000000,
                               .initrd_size = 0x1000,
                               .rsdp_addr = X86_ACPI_ADDR,
                               .e820 = e};
    const uint8_t *si = low + X86_PVH_INFO_ADDR;

    bi.ne820 = x86_e820_build(e, 8, 64ULL << 20);
    x86_pvh_info_build(low, &bi);
    CHECK_EQ(get32(si), PVH_START_MAGIC);
    CHECK_EQ(get32(si + 4), 1);
    CHECK_EQ(get32(si + 12), 1);
    CHECK_EQ(get64(si + 16), X86_PVH_MODLIST);
    CHECK_EQ(get64(low + X86_PVH_MODLIST), 0x2000000);
    CHECK_EQ(get64(low + X86_PVH_MODLIST + 8), 0x1000);
    CHECK_EQ(get64(si + 24), X86_CMDLINE_ADDR);
    CHECK_EQ(get64(si + 32), X86_ACPI_ADDR);
    CHECK_EQ(get64(si + 40), X86_PVH_MEMMAP);
    CHECK_EQ(get32(si + 48), 4);
    CHECK_EQ(get64(low + X86_PVH_MEMMAP + 24 * 2), 0x100000);
    CHECK_EQ(get32(low + X86_PVH_MEMMAP + 24 * 2 + 16), E820_RAM);
    free(low);
}
