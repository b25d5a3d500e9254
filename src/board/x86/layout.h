/* The x86 board's memory map, ports and interrupt lines: every address lives here.
 *
 *   0x00000000  real-mode IVT and BIOS data area (left zero)
 *   0x00000500  boot GDT
 *   0x00006000  PVH hvm_start_info, its module list and memory map
 *   0x00007000  Linux boot_params ("zero page")
 *   0x00008000  SMP trampoline page for guests (free RAM, below 1 MiB)
 *   0x00009000  identity page tables for 64-bit entry (PML4, PDPT, 4 PDs: first 4 GiB)
 *   0x00020000  kernel command line
 *   0x0009fc00  EBDA .. 0x000fffff reserved; ACPI tables at 0x000e0000
 *   0x00100000  kernel (bzImage protected-mode part, or vmlinux/ELF segments)
 *   ...         initrd at the top of low RAM, under the kernel's initrd_addr_max
 *   0xc0000000  MMIO gap: PCI BARs, ECAM, IOAPIC, LAPIC (RAM resumes at 4 GiB)
 */
#ifndef VESSEL_BOARD_X86_LAYOUT_H
#define VESSEL_BOARD_X86_LAYOUT_H

/* Boot structures in low RAM */
#define X86_GDT_ADDR       0x500ULL
#define X86_PVH_INFO_ADDR  0x6000ULL /* hvm_start_info */
#define X86_PVH_MODLIST    0x6040ULL /* one hvm_modlist_entry (the initrd) */
#define X86_PVH_MEMMAP     0x6080ULL /* hvm_memmap_table_entry[] */
#define X86_PVH_MEMMAP_MAX 64
#define X86_ZERO_PAGE_ADDR 0x7000ULL
#define X86_SMP_TRAMPOLINE 0x8000ULL
#define X86_PML4_ADDR      0x9000ULL
#define X86_PDPT_ADDR      0xa000ULL
#define X86_PD_ADDR        0xb000ULL /* 4 pages: 0xb000..0xefff */
#define X86_BOOT_STACK     0x5ff0ULL /* initial rsp (grows down to the GDT); Linux sets its own */
#define X86_CMDLINE_ADDR   0x20000ULL
#define X86_CMDLINE_MAX    0x10000ULL /* bytes including the NUL */
#define X86_EBDA_START     0x9fc00ULL
#define X86_ACPI_ADDR      0xe0000ULL /* RSDP first (Linux scans 0xe0000-0xfffff) */
#define X86_ACPI_SIZE      0x10000ULL
#define X86_BIOS_END       0x100000ULL
#define X86_KERNEL_ADDR    0x100000ULL /* 1 MiB */

/* RAM and the MMIO gap below 4 GiB */
#define X86_MMIO_GAP_START 0xc0000000ULL
#define X86_HIGH_RAM_START 0x100000000ULL
#define X86_RAM_MIN        (16ULL << 20)
#define X86_RAM_MAX        (64ULL << 30)

/* MMIO */
#define X86_PCI_MMIO_BASE  0xc0000000ULL /* 32-bit BARs are allocated here */
#define X86_PCI_MMIO_SIZE  0x10000000ULL
#define X86_PCI_ECAM_BASE  0xe0000000ULL /* ECAM for bus 0 only */
#define X86_PCI_ECAM_SIZE  0x100000ULL
#define X86_PCI_ECAM_BUSES 1
#define X86_IOAPIC_ADDR    0xfec00000ULL /* in-kernel IOAPIC (fixed by KVM) */
#define X86_LAPIC_ADDR     0xfee00000ULL /* in-kernel LAPIC */

/* Ports */
#define X86_PORT_I8042_DATA 0x60
#define X86_PORT_I8042_CMD  0x64
#define X86_PORT_CMOS       0x70 /* index 0x70, data 0x71 */
#define X86_PORT_DEBUG      0x80 /* POST code; ignored */
#define X86_PORT_COM1       0x3f8
#define X86_PORT_COM1_LEN   8
#define X86_PORT_PM1A_EVT   0x600  /* ACPI PM1a event block: status(2), enable(2) */
#define X86_PORT_PM1A_CNT   0x604  /* ACPI PM1a control block (2 bytes) */
#define X86_PORT_PCI_CONFIG 0xcf8  /* address 0xcf8, data 0xcfc..0xcff */
#define X86_PORT_PCI_IO     0xc000 /* I/O BARs are allocated from here */

/* Interrupt lines (GSIs on the in-kernel IOAPIC; ISA IRQ n = GSI n) */
#define X86_IRQ_PIT  0
#define X86_IRQ_COM1 4
#define X86_IRQ_SCI  9
/* PCI INTx: pin p (0 = INTA#) of slot s raises GSI X86_PCI_GSI(s, p), the usual swizzle over
 * four IOAPIC inputs above the ISA range (level-triggered, active low per the DSDT's _PRT) */
#define X86_IRQ_PCI0           16
#define X86_PCI_NUM_IRQS       4
#define X86_PCI_GSI(slot, pin) (X86_IRQ_PCI0 + ((slot) + (pin)) % X86_PCI_NUM_IRQS)
#define X86_IOAPIC_PINS        24
/* MSI-X vectors of the virtio-pci functions: KVM GSIs from here up, one per vector, each with an
 * MSI route to the message the guest programmed (no IOAPIC pin) */
#define X86_MSI_GSI_BASE X86_IOAPIC_PINS

/* ACPI sleep type for S5 (must match the DSDT's \_S5 package) */
#define X86_ACPI_S5_TYPE 5

#endif
