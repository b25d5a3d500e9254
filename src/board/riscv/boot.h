/* Boot images of the riscv board and where they go in RAM:
 *
 *   RAM base                  OpenSBI firmware (fw_dynamic.bin or fw_jump.bin)
 *   RAM + 2 MiB               Linux Image, image_size bytes (bss included), or a boot loader
 *   ...                       free
 *   top - 2 MiB - initrd      initrd (page aligned, ends at the top 2 MiB)
 *   top - 2 MiB               FDT (RISCV_FDT_MAX_SIZE, free space for OpenSBI's fixups)
 *   FDT + 64 KiB              struct fw_dynamic_info (a2 for fw_dynamic; fw_jump ignores it)
 */
#ifndef VESSEL_BOARD_RISCV_BOOT_H
#define VESSEL_BOARD_RISCV_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "board/riscv/image.h"
#include "mem/gmem.h"

/* OpenSBI's struct fw_dynamic_info (docs/firmware/fw_dynamic.md), version 2 */
#define FW_DYNAMIC_INFO_MAGIC    0x4942534fULL /* "OSBI" */
#define FW_DYNAMIC_INFO_VERSION  2
#define FW_DYNAMIC_NEXT_MODE_S   1
#define FW_DYNAMIC_BOOT_HART_ANY (~0ULL)
#define FW_DYNAMIC_INFO_SIZE     48

struct riscv_images {
    uint8_t *fw, *kernel, *initrd; /* initrd NULL when none */
    size_t fw_len, kernel_len, initrd_len;
    struct riscv_image_info kinfo;
};

struct riscv_boot_plan {
    uint64_t fw_addr, kernel_addr, kernel_end;
    uint64_t initrd_start, initrd_end; /* both 0 without an initrd */
    uint64_t fdt_addr, info_addr;
};

/* Reads and checks firmware, kernel and optional initrd. On failure logs one line naming the
 * file and the problem and returns -errno (-ENOEXEC for a kernel that is not a RISC-V Image). */
int riscv_images_load(struct riscv_images *img, const char *fw, const char *kernel,
                      const char *initrd);
/* The same with a boot loader in the kernel's place (no initrd): a flat S-mode binary that
 * OpenSBI jumps to at the kernel address, e.g. U-Boot, which boots the guest's own kernel from
 * a disk. */
int riscv_images_load_bootloader(struct riscv_images *img, const char *fw, const char *bootloader);
void riscv_images_free(struct riscv_images *img);

/* Places everything for RAM [ram_base, ram_base + ram_size). Returns 0, or -ENOSPC (logged)
 * when the images do not fit. */
int riscv_boot_plan(const struct riscv_images *img, uint64_t ram_base, uint64_t ram_size,
                    struct riscv_boot_plan *plan);

/* Copies the images, the FDT blob (fdt_len bytes) and fw_dynamic_info into guest RAM. */
int riscv_boot_load(struct gmem *ram, const struct riscv_images *img,
                    const struct riscv_boot_plan *plan, const void *fdt, size_t fdt_len);

#endif
