/* x86 boot: recognizing the kernel (bzImage, ELF vmlinux, ELF with a PVH note), the e820 map,
 * identity page tables, the boot GDT, boot_params, hvm_start_info and loading into RAM. */
#include "base/le.h"
#include "board/x86/boot.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "board/x86/layout.h"

static int parse_bzimage(struct x86_kernel *k, char *why, size_t n)
{
    const uint8_t *d = k->data;
    unsigned sects = d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4;

    k->kind = X86_KERNEL_BZIMAGE;
    k->version = le16_get(d + BP_VERSION);
    if (k->version < 0x020c || !(le16_get(d + BP_XLOADFLAGS) & XLF_KERNEL_64)) {
        snprintf(why, n, "bzImage boot protocol %u.%02u has no 64-bit entry (need 2.12 or later)",
                 k->version >> 8, k->version & 0xff);
        return -EINVAL;
    }
    if (!(d[BP_LOADFLAGS] & LOADFLAG_LOADED_HIGH)) {
        snprintf(why, n, "a zImage (loaded low) is not supported; use a bzImage");
        return -EINVAL;
    }
    k->setup_len = (size_t)(sects + 1) * 512;
    k->hdr_end = BP_JUMP + 2 + d[BP_JUMP + 1];
    if (k->setup_len >= k->len || k->hdr_end > BP_E820_TABLE + 0x100 || k->hdr_end > k->len) {
        snprintf(why, n, "bzImage is truncated (setup of %zu bytes, file of %zu)", k->setup_len,
                 k->len);
        return -EINVAL;
    }
    k->init_size = le32_get(d + BP_INIT_SIZE);
    k->initrd_addr_max = le32_get(d + BP_INITRD_ADDR_MAX);
    k->cmdline_size = le32_get(d + BP_CMDLINE_SIZE);
    k->entry = X86_KERNEL_ADDR + 0x200; /* startup_64 */
    if (k->init_size < k->len - k->setup_len)
        k->init_size = (uint32_t)(k->len - k->setup_len);
    k->load_end = X86_KERNEL_ADDR + k->init_size;
    return 0;
}

/* Looks for the Xen PHYS32_ENTRY note in [off, off+size) of the file. */
static bool find_pvh_note(const struct x86_kernel *k, uint64_t off, uint64_t size, uint32_t *entry)
{
    uint64_t end;

    if (__builtin_add_overflow(off, size, &end) || end > k->len)
        return false;
    while (off + 12 <= end) {
        const uint8_t *h = k->data + off;
        uint32_t namesz = le32_get(h), descsz = le32_get(h + 4), type = le32_get(h + 8);
        uint64_t name = off + 12, desc = name + ((namesz + 3ULL) & ~3ULL);
        uint64_t next = desc + ((descsz + 3ULL) & ~3ULL);

        if (next > end)
            return false;
        if (namesz == 4 && !memcmp(k->data + name, "Xen", 4) && type == XEN_ELFNOTE_PHYS32_ENTRY &&
            (descsz == 4 || descsz == 8)) {
            *entry = le32_get(k->data + desc);
            return true;
        }
        off = next;
    }
    return false;
}

static int parse_elf(struct x86_kernel *k, char *why, size_t n)
{
    const Elf64_Ehdr *eh = (const void *)k->data;
    uint64_t phend, lo = UINT64_MAX, hi = 0, voff = 0;
    bool have_voff = false;

    if (k->data[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64) {
        uint16_t m = le16_get(k->data + 18);
        snprintf(why, n, "not an x86 kernel: ELF%s for machine %u%s",
                 k->data[EI_CLASS] == ELFCLASS64 ? "64" : "32", m,
                 m == EM_RISCV ? " (RISC-V)"
                 : m == EM_386 ? " (32-bit x86 is not supported)"
                               : "");
        return -EINVAL;
    }
    if (k->len < sizeof(*eh) || eh->e_phentsize != sizeof(Elf64_Phdr) ||
        __builtin_mul_overflow((uint64_t)eh->e_phnum, sizeof(Elf64_Phdr), &phend) ||
        __builtin_add_overflow(phend, eh->e_phoff, &phend) || phend > k->len) {
        snprintf(why, n, "ELF program headers lie outside the file");
        return -EINVAL;
    }
    k->kind = X86_KERNEL_ELF;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const void *)(k->data + eh->e_phoff + i * sizeof(Elf64_Phdr));
        uint64_t fend, mend;

        if (ph->p_type == PT_NOTE && find_pvh_note(k, ph->p_offset, ph->p_filesz, &k->pvh_entry))
            k->kind = X86_KERNEL_PVH;
        if (ph->p_type != PT_LOAD || !ph->p_memsz)
            continue;
        if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &fend) || fend > k->len ||
            ph->p_filesz > ph->p_memsz || __builtin_add_overflow(ph->p_paddr, ph->p_memsz, &mend)) {
            snprintf(why, n, "ELF segment %d lies outside the file or wraps", i);
            return -EINVAL;
        }
        if (ph->p_paddr < X86_KERNEL_ADDR) {
            snprintf(why, n, "ELF segment %d at 0x%llx is below 1 MiB (boot structures live there)",
                     i, (unsigned long long)ph->p_paddr);
            return -EINVAL;
        }
        if (!have_voff) {
            voff = ph->p_vaddr - ph->p_paddr;
            have_voff = true;
        }
        lo = ph->p_paddr < lo ? ph->p_paddr : lo;
        hi = mend > hi ? mend : hi;
    }
    if (!hi) {
        snprintf(why, n, "ELF has no loadable segment");
        return -EINVAL;
    }
    k->entry = eh->e_entry;
    if (k->entry >= 0xffffffff80000000ULL) /* a virtual entry: translate like the segments */
        k->entry -= voff;
    k->load_end = hi;
    if (k->entry < lo || k->entry >= hi) {
        snprintf(why, n, "ELF entry 0x%llx is outside the loaded segments",
                 (unsigned long long)eh->e_entry);
        return -EINVAL;
    }
    return 0;
}

int x86_kernel_parse(struct x86_kernel *k, const uint8_t *data, size_t len, char *why,
                     size_t whylen)
{
    memset(k, 0, sizeof(*k));
    k->data = data;
    k->len = len;
    if (len >= 64 && !memcmp(data, ELFMAG, SELFMAG))
        return parse_elf(k, why, whylen);
    if (len >= 0x300 && le32_get(data + BP_HEADER) == BP_HDRS_MAGIC &&
        le16_get(data + BP_BOOT_FLAG) == 0xaa55)
        return parse_bzimage(k, why, whylen);
    if (len >= 0x40 && !memcmp(data + 0x38, "RSC\x05", 4))
        snprintf(why, whylen, "not an x86 kernel: this is a RISC-V Image (use --arch riscv64)");
    else if (len >= 0x40 && !memcmp(data + 0x38, "ARM\x64", 4))
        snprintf(why, whylen, "not an x86 kernel: this is an arm64 Image");
    else
        snprintf(why, whylen,
                 "not an x86 kernel: neither a bzImage (no \"HdrS\" header) nor an "
                 "x86-64 ELF");
    return -EINVAL;
}

uint64_t x86_low_ram(uint64_t ram_size)
{
    return ram_size < X86_MMIO_GAP_START ? ram_size : X86_MMIO_GAP_START;
}

int x86_e820_build(struct x86_e820 *e, int max, uint64_t ram_size)
{
    uint64_t low = x86_low_ram(ram_size);
    struct x86_e820 all[] = {
        {0, X86_EBDA_START, E820_RAM},
        {X86_EBDA_START, X86_BIOS_END - X86_EBDA_START, E820_RESERVED},
        {X86_BIOS_END, low - X86_BIOS_END, E820_RAM},
        {X86_PCI_ECAM_BASE, X86_PCI_ECAM_SIZE, E820_RESERVED},
        {X86_HIGH_RAM_START, ram_size - low, E820_RAM},
    };
    int n = 0;

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++)
        if (all[i].size)
            e[n++] = all[i];
    return n;
}

void x86_pagetables_build(uint8_t *low)
{
    uint64_t *pml4 = (uint64_t *)(low + X86_PML4_ADDR);
    uint64_t *pdpt = (uint64_t *)(low + X86_PDPT_ADDR);
    uint64_t *pd = (uint64_t *)(low + X86_PD_ADDR);

    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    pml4[0] = X86_PDPT_ADDR | 0x3; /* present, writable */
    for (int i = 0; i < 4; i++)
        pdpt[i] = (X86_PD_ADDR + 4096ULL * i) | 0x3;
    for (int i = 0; i < 4 * 512; i++)
        pd[i] = ((uint64_t)i << 21) | 0x83; /* present, writable, 2 MiB page */
}

void x86_gdt_build(uint64_t gdt[X86_GDT_ENTRIES])
{
    gdt[0] = 0;
    gdt[1] = 0x00cf9b000000ffffULL; /* code32: base 0, 4 GiB, execute/read, accessed */
    gdt[2] = 0x00af9b000000ffffULL; /* code64: L bit */
    gdt[3] = 0x00cf93000000ffffULL; /* data: read/write, accessed */
    gdt[4] = 0x00008b0000000067ULL; /* TSS: busy, base 0, limit 0x67 */
}

void x86_zero_page_build(uint8_t *zp, const struct x86_kernel *k, const struct x86_boot_info *bi)
{
    memset(zp, 0, 4096);
    if (k->kind == X86_KERNEL_BZIMAGE) {
        memcpy(zp + BP_SETUP_SECTS, k->data + BP_SETUP_SECTS, k->hdr_end - BP_SETUP_SECTS);
        le32_put(zp + BP_CODE32_START, X86_KERNEL_ADDR);
    } else {
        le16_put(zp + BP_BOOT_FLAG, 0xaa55);
        le32_put(zp + BP_HEADER, BP_HDRS_MAGIC);
        le16_put(zp + BP_VERSION, 0x020f);
        zp[BP_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
        le32_put(zp + BP_KERNEL_ALIGNMENT, 0x1000000);
        le32_put(zp + BP_CMDLINE_SIZE, X86_CMDLINE_MAX - 1);
    }
    le16_put(zp + BP_VID_MODE, 0xffff); /* "normal" */
    zp[BP_TYPE_OF_LOADER] = 0xff;       /* undefined boot loader */
    zp[BP_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
    le16_put(zp + BP_HEAP_END_PTR, 0xfe00);
    le32_put(zp + BP_CMD_LINE_PTR, (uint32_t)bi->cmdline_addr);
    zp[BP_EXT_CMD_LINE_PTR] = 0;
    le32_put(zp + BP_RAMDISK_IMAGE, (uint32_t)bi->initrd_addr);
    le32_put(zp + BP_RAMDISK_SIZE, (uint32_t)bi->initrd_size);
    le32_put(zp + BP_EXT_RAMDISK_IMG, (uint32_t)(bi->initrd_addr >> 32));
    le32_put(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(bi->initrd_size >> 32));
    le64_put(zp + BP_ACPI_RSDP_ADDR, bi->rsdp_addr);
    zp[BP_E820_ENTRIES] = (uint8_t)(bi->ne820 < BP_E820_MAX ? bi->ne820 : BP_E820_MAX);
    for (int i = 0; i < zp[BP_E820_ENTRIES]; i++) {
        uint8_t *p = zp + BP_E820_TABLE + 20 * i;
        le64_put(p, bi->e820[i].addr);
        le64_put(p + 8, bi->e820[i].size);
        le32_put(p + 16, bi->e820[i].type);
    }
}

void x86_pvh_info_build(uint8_t *low, const struct x86_boot_info *bi)
{
    uint8_t *si = low + X86_PVH_INFO_ADDR, *mod = low + X86_PVH_MODLIST;
    uint8_t *map = low + X86_PVH_MEMMAP;
    int n = bi->ne820 < X86_PVH_MEMMAP_MAX ? bi->ne820 : X86_PVH_MEMMAP_MAX;

    memset(si, 0, X86_PVH_MEMMAP - X86_PVH_INFO_ADDR + 24 * X86_PVH_MEMMAP_MAX);
    le32_put(si + 0, PVH_START_MAGIC);
    le32_put(si + 4, 1); /* version */
    if (bi->initrd_size) {
        le32_put(si + 12, 1); /* nr_modules */
        le64_put(si + 16, X86_PVH_MODLIST);
        le64_put(mod + 0, bi->initrd_addr);
        le64_put(mod + 8, bi->initrd_size);
    }
    le64_put(si + 24, bi->cmdline_addr);
    le64_put(si + 32, bi->rsdp_addr);
    le64_put(si + 40, X86_PVH_MEMMAP);
    le32_put(si + 48, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        le64_put(map + 24 * i, bi->e820[i].addr);
        le64_put(map + 24 * i + 8, bi->e820[i].size);
        le32_put(map + 24 * i + 16, bi->e820[i].type);
    }
}

int x86_initrd_place(const struct x86_kernel *k, uint64_t low_ram, uint64_t size, uint64_t *addr)
{
    uint64_t top = low_ram, a;

    if (k->kind == X86_KERNEL_BZIMAGE && k->initrd_addr_max && k->initrd_addr_max + 1ULL < top)
        top = k->initrd_addr_max + 1ULL;
    if (top > 0x80000000ULL && k->kind == X86_KERNEL_BZIMAGE && k->version < 0x0203)
        top = 0x38000000ULL;
    if (size > top)
        return -ENOSPC;
    a = (top - size) & ~0xfffULL;
    if (a < k->load_end)
        return -ENOSPC;
    *addr = a;
    return 0;
}

static void load_elf_segments(uint8_t *low, const struct x86_kernel *k)
{
    const Elf64_Ehdr *eh = (const void *)k->data;

    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const void *)(k->data + eh->e_phoff + i * sizeof(Elf64_Phdr));

        if (ph->p_type != PT_LOAD || !ph->p_memsz)
            continue;
        memcpy(low + ph->p_paddr, k->data + ph->p_offset, ph->p_filesz);
        memset(low + ph->p_paddr + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
    }
}

int x86_boot_load(struct gmem *ram, const struct x86_kernel *k, const uint8_t *initrd,
                  size_t initrd_len, const char *cmdline, uint64_t rsdp_addr,
                  struct kvm_boot_cpu *cpu)
{
    uint64_t low_size = x86_low_ram(ram->size);
    uint8_t *low = ram->hva; /* guest physical 0.. low_size */
    struct x86_e820 e820[8];
    struct x86_boot_info bi = {.cmdline_addr = X86_CMDLINE_ADDR, .rsdp_addr = rsdp_addr};
    size_t clen = cmdline ? strlen(cmdline) : 0;
    uint64_t max_cmd = X86_CMDLINE_MAX - 1;

    if (k->kind == X86_KERNEL_BZIMAGE && k->cmdline_size && k->cmdline_size < max_cmd)
        max_cmd = k->cmdline_size;
    if (clen > max_cmd) {
        log_err("x86: the command line is %zu bytes, the kernel takes at most %llu", clen,
                (unsigned long long)max_cmd);
        return -EINVAL;
    }
    if (k->load_end > low_size) {
        log_err("x86: the kernel needs RAM up to %llu MiB; --mem is %llu MiB",
                (unsigned long long)((k->load_end + (1 << 20) - 1) >> 20),
                (unsigned long long)(ram->size >> 20));
        return -ENOSPC;
    }
    if (initrd_len && x86_initrd_place(k, low_size, initrd_len, &bi.initrd_addr)) {
        log_err("x86: the initrd (%zu KiB) does not fit between the kernel and the top of low RAM"
                " (%llu MiB); raise --mem",
                initrd_len >> 10, (unsigned long long)(low_size >> 20));
        return -ENOSPC;
    }
    bi.initrd_size = initrd_len;
    bi.cmdline_len = (uint32_t)clen;
    bi.ne820 = x86_e820_build(e820, 8, ram->size);
    bi.e820 = e820;

    /* Boot structures start from zeroes (the ACPI tables above stay). Punching the range out of
     * the RAM memfd zeroes it without touching 224 pages: a fresh VM's RSS stays small. */
    if (gmem_discard(ram, low, X86_ACPI_ADDR))
        memset(low, 0, X86_ACPI_ADDR);
    memcpy(low + X86_CMDLINE_ADDR, cmdline ? cmdline : "", clen + 1);
    if (k->kind == X86_KERNEL_BZIMAGE)
        memcpy(low + X86_KERNEL_ADDR, k->data + k->setup_len, k->len - k->setup_len);
    else
        load_elf_segments(low, k);
    if (initrd_len)
        memcpy(low + bi.initrd_addr, initrd, initrd_len);
    x86_gdt_build((uint64_t *)(low + X86_GDT_ADDR));

    *cpu = (struct kvm_boot_cpu){
        .gdt_base = X86_GDT_ADDR,
        .gdt_limit = X86_GDT_ENTRIES * 8 - 1,
        .ds = X86_SEL_DATA,
        .tr = X86_SEL_TSS,
        .rsp = X86_BOOT_STACK,
    };
    if (k->kind == X86_KERNEL_PVH) {
        x86_pvh_info_build(low, &bi);
        cpu->long_mode = false;
        cpu->cs = X86_SEL_CODE32;
        cpu->rip = k->pvh_entry;
        cpu->rbx = X86_PVH_INFO_ADDR;
        return 0;
    }
    x86_pagetables_build(low);
    x86_zero_page_build(low + X86_ZERO_PAGE_ADDR, k, &bi);
    cpu->long_mode = true;
    cpu->cs = X86_SEL_CODE64;
    cpu->cr3 = X86_PML4_ADDR;
    cpu->rip = k->entry;
    cpu->rsi = X86_ZERO_PAGE_ADDR;
    return 0;
}
