/* The RISC-V Linux "Image" header (Documentation/arch/riscv/boot-image-header.rst): 64 bytes
 * at the start of the flat kernel image. */
#ifndef VESSEL_BOARD_RISCV_IMAGE_H
#define VESSEL_BOARD_RISCV_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define RISCV_IMAGE_HDR_SIZE    64
#define RISCV_IMAGE_MAGIC2_OFF  0x38 /* "RSC\x05" */
#define RISCV_IMAGE_TEXT_OFF    0x08
#define RISCV_IMAGE_SIZE_OFF    0x10
#define RISCV_IMAGE_VERSION_OFF 0x20

struct riscv_image_info {
    uint64_t text_offset;
    uint64_t image_size; /* bytes the kernel occupies once running, bss included (>= file) */
    uint32_t version;
};

/* Returns 0 and fills *info for a RISC-V Image, or -ENOEXEC with *why naming what the file
 * looks like instead (an ELF vmlinux, an x86 bzImage, a compressed file, ...). */
int riscv_image_parse(const uint8_t *buf, size_t len, struct riscv_image_info *info,
                      const char **why);

/* Firmware is a flat binary run from its first byte (OpenSBI's fw_dynamic.bin / fw_jump.bin):
 * returns 0, or -ENOEXEC with *why naming what the file is instead (an ELF file, a compressed
 * file, an x86 bzImage, a Linux kernel Image). */
int riscv_firmware_check(const uint8_t *buf, size_t len, const char **why);

#endif
