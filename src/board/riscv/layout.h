/* The riscv board's memory map and interrupt lines: every address lives here. It follows QEMU's
 * "virt" machine so that guests and test programs written for one run on the other. */
#ifndef VESSEL_BOARD_RISCV_LAYOUT_H
#define VESSEL_BOARD_RISCV_LAYOUT_H

#define RISCV_SYSCON_BASE  0x00100000ULL /* syscon: poweroff 0x5555, reboot 0x7777 */
#define RISCV_SYSCON_SIZE  0x1000ULL
#define RISCV_RTC_BASE     0x00101000ULL /* goldfish RTC */
#define RISCV_RTC_SIZE     0x1000ULL
#define RISCV_VMGENID_BASE 0x00102000ULL /* VM generation ID: 16-byte GUID at the start */
#define RISCV_VMGENID_SIZE 0x1000ULL
#define RISCV_CLINT_BASE   0x02000000ULL /* ACLINT MSWI + MTIMER in the SiFive CLINT layout */
#define RISCV_CLINT_SIZE   0x10000ULL
#define RISCV_PLIC_BASE    0x0c000000ULL
#define RISCV_PLIC_SIZE    0x600000ULL   /* room for 2 contexts (M, S) x RV64_MAX_HARTS */
#define RISCV_UART0_BASE   0x10000000ULL /* ns16550a */
#define RISCV_UART0_SIZE   0x100ULL
#define RISCV_VIRTIO_BASE  0x10001000ULL /* virtio-mmio slot i at BASE + i * SIZE */
#define RISCV_VIRTIO_SIZE  0x1000ULL
#define RISCV_VIRTIO_SLOTS 8
#define RISCV_BUTTON_BASE  0x10009000ULL /* the power button: virtio-mmio, virtio-input */
#define RISCV_BUTTON_SIZE  0x1000ULL
#define RISCV_RAM_BASE     0x80000000ULL

/* PLIC interrupt sources */
#define RISCV_IRQ_VIRTIO0 1 /* slot i uses RISCV_IRQ_VIRTIO0 + i */
#define RISCV_IRQ_UART0   10
#define RISCV_IRQ_RTC     11
#define RISCV_IRQ_VMGENID 12
#define RISCV_IRQ_BUTTON  13
#define RISCV_PLIC_NDEV   95 /* sources 1..95 */

/* Boot-time placement inside RAM */
#define RISCV_FW_OFFSET     0x0ULL      /* OpenSBI at the start of RAM */
#define RISCV_KERNEL_OFFSET 0x200000ULL /* Linux Image, 2 MiB aligned (fw_jump jumps here) */
#define RISCV_RAM_MIN       (64ULL << 20)
#define RISCV_RAM_MAX       (64ULL << 30)
/* The last 2 MiB of RAM hold the FDT (2 MiB aligned, as Linux maps it early through a 2 MiB
 * fixmap slot) followed by OpenSBI's struct fw_dynamic_info; the initrd ends below them. */
#define RISCV_BOOT_TOP_SIZE      0x200000ULL
#define RISCV_FDT_MAX_SIZE       0x10000ULL /* FDT blob incl. free space for OpenSBI's fixups */
#define RISCV_FW_DYN_INFO_OFF    RISCV_FDT_MAX_SIZE /* fw_dynamic_info, relative to the FDT */
#define RISCV_FW_JUMP_FDT_OFFSET 0x2200000ULL       /* where Debian's fw_jump.bin copies the FDT */

/* Device parameters the device tree announces */
#define RISCV_UART0_CLOCK_HZ 3686400

#endif
