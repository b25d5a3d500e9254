#include "board/riscv/image.h"

#include <errno.h>
#include <string.h>

#include "base/le.h"

static const char *image_guess(const uint8_t *buf, size_t len)
{
    if (len >= 4 && !memcmp(buf, "\177ELF", 4))
        return "an ELF file (use the flat Image, not vmlinux ELF)";
    if (len >= 0x206 && !memcmp(buf + 0x202, "HdrS", 4))
        return "an x86 bzImage";
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        return "gzip-compressed (decompress it first)";
    if (len >= 8 && !memcmp(buf, "MZ", 2) && !memcmp(buf + 4, "zimg", 4))
        return "an EFI zboot compressed image (decompress it first)";
    if (len >= 0x3c && !memcmp(buf + 0x38, "ARMd", 4))
        return "an arm64 Image";
    if (len < RISCV_IMAGE_HDR_SIZE)
        return "too short for a RISC-V Image header";
    return "no \"RSC\\x05\" magic at offset 0x38";
}

int riscv_image_parse(const uint8_t *buf, size_t len, struct riscv_image_info *info,
                      const char **why)
{
    if (len < RISCV_IMAGE_HDR_SIZE || memcmp(buf + RISCV_IMAGE_MAGIC2_OFF, "RSC\x05", 4)) {
        *why = image_guess(buf, len);
        return -ENOEXEC;
    }
    info->text_offset = le64_get(buf + RISCV_IMAGE_TEXT_OFF);
    info->image_size = le64_get(buf + RISCV_IMAGE_SIZE_OFF);
    info->version = le32_get(buf + RISCV_IMAGE_VERSION_OFF);
    /* Headers before version 0.2 have no image_size; the file is all we know. */
    if (info->image_size < len)
        info->image_size = len;
    *why = NULL;
    return 0;
}

int riscv_firmware_check(const uint8_t *buf, size_t len, const char **why)
{
    *why = NULL;
    if (len >= 4 && !memcmp(buf, "\177ELF", 4))
        *why = "an ELF file (use the flat binary, e.g. OpenSBI's fw_dynamic.bin)";
    else if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        *why = "gzip-compressed (decompress it first)";
    else if (len >= 0x206 && !memcmp(buf + 0x202, "HdrS", 4))
        *why = "an x86 bzImage";
    else if (len >= RISCV_IMAGE_HDR_SIZE && !memcmp(buf + RISCV_IMAGE_MAGIC2_OFF, "RSC\x05", 4))
        *why = "a RISC-V Linux kernel Image (give it as the kernel)";
    else if (len >= 6 && !memcmp(buf, "070701", 6))
        *why = "a cpio archive (an initrd?)";
    return *why ? -ENOEXEC : 0;
}
