#include "board/riscv/boot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/le.h"
#include "base/log.h"
#include "board/riscv/layout.h"

#define PAGE_SIZE 4096ULL

static int load_one(const char *what, const char *path, size_t max, uint8_t **buf, size_t *len)
{
    int err = file_read_all(path, max, buf, len);

    if (err == -EFBIG)
        log_err("%s %s: too large (more than %zu KiB)", what, path, max >> 10);
    else if (err)
        log_err("%s %s: %s", what, path, strerror(-err));
    else if (*len == 0) {
        log_err("%s %s: empty file", what, path);
        free(*buf);
        *buf = NULL;
        err = -EINVAL;
    }
    return err;
}

int riscv_images_load(struct riscv_images *img, const char *fw, const char *kernel,
                      const char *initrd)
{
    const char *why;
    int err;

    memset(img, 0, sizeof(*img));
    err = load_one("firmware", fw, RISCV_KERNEL_OFFSET - RISCV_FW_OFFSET, &img->fw, &img->fw_len);
    if (err)
        goto fail;
    err = riscv_firmware_check(img->fw, img->fw_len, &why);
    if (err) {
        log_err("firmware %s: not RISC-V firmware: %s", fw, why);
        goto fail;
    }
    err = load_one("kernel", kernel, RISCV_RAM_MAX, &img->kernel, &img->kernel_len);
    if (err)
        goto fail;
    err = riscv_image_parse(img->kernel, img->kernel_len, &img->kinfo, &why);
    if (err) {
        log_err("kernel %s: not a RISC-V Linux Image: %s", kernel, why);
        goto fail;
    }
    if (initrd) {
        err = load_one("initrd", initrd, RISCV_RAM_MAX, &img->initrd, &img->initrd_len);
        if (err)
            goto fail;
    }
    return 0;

fail:
    riscv_images_free(img);
    return err;
}

int riscv_images_load_bootloader(struct riscv_images *img, const char *fw, const char *bootloader)
{
    int err;

    memset(img, 0, sizeof(*img));
    err = load_one("firmware", fw, RISCV_KERNEL_OFFSET - RISCV_FW_OFFSET, &img->fw, &img->fw_len);
    if (!err)
        err = load_one("boot loader", bootloader, RISCV_RAM_MAX, &img->kernel, &img->kernel_len);
    if (err) {
        riscv_images_free(img);
        return err;
    }
    /* A flat binary linked at the kernel's address (U-Boot's qemu-riscv64_smode u-boot.bin):
     * it takes what it needs beyond the file itself, and finds its kernel on its own. */
    img->kinfo.image_size = img->kernel_len;
    return 0;
}

void riscv_images_free(struct riscv_images *img)
{
    free(img->fw);
    free(img->kernel);
    free(img->initrd);
    memset(img, 0, sizeof(*img));
}

int riscv_boot_plan(const struct riscv_images *img, uint64_t ram_base, uint64_t ram_size,
                    struct riscv_boot_plan *plan)
{
    /* 2 MiB aligned even when the RAM size is not a multiple of 2 MiB */
    uint64_t top = ((ram_base + ram_size) & ~(RISCV_BOOT_TOP_SIZE - 1)) - RISCV_BOOT_TOP_SIZE;

    memset(plan, 0, sizeof(*plan));
    plan->fw_addr = ram_base + RISCV_FW_OFFSET;
    plan->kernel_addr = ram_base + RISCV_KERNEL_OFFSET;
    plan->fdt_addr = top;
    plan->info_addr = top + RISCV_FW_DYN_INFO_OFF;

    if (ram_size < RISCV_KERNEL_OFFSET + RISCV_BOOT_TOP_SIZE ||
        img->kinfo.image_size > top - plan->kernel_addr) {
        log_err("kernel: needs %llu MiB (image_size) at RAM + %llu MiB; %llu MiB of RAM is too "
                "little",
                (unsigned long long)(img->kinfo.image_size >> 20),
                (unsigned long long)(RISCV_KERNEL_OFFSET >> 20),
                (unsigned long long)(ram_size >> 20));
        return -ENOSPC;
    }
    plan->kernel_end = plan->kernel_addr + img->kinfo.image_size;
    if (img->initrd) {
        if (img->initrd_len > top - plan->kernel_end) {
            log_err("initrd: %zu bytes do not fit between the kernel (ends at 0x%llx) and the "
                    "device tree at 0x%llx; give the guest more memory",
                    img->initrd_len, (unsigned long long)plan->kernel_end, (unsigned long long)top);
            return -ENOSPC;
        }
        plan->initrd_end = top;
        plan->initrd_start = (top - img->initrd_len) & ~(PAGE_SIZE - 1);
        if (plan->initrd_start < plan->kernel_end) {
            log_err("initrd: does not fit after the kernel; give the guest more memory");
            return -ENOSPC;
        }
        plan->initrd_end = plan->initrd_start + img->initrd_len;
        if (plan->initrd_start < ram_base + RISCV_FW_JUMP_FDT_OFFSET + RISCV_FDT_MAX_SIZE &&
            plan->initrd_end > ram_base + RISCV_FW_JUMP_FDT_OFFSET)
            log_warn("initrd: overlaps where fw_jump.bin copies the device tree (RAM + 0x%llx); "
                     "fw_dynamic.bin is fine, fw_jump.bin needs more memory",
                     (unsigned long long)RISCV_FW_JUMP_FDT_OFFSET);
    }
    return 0;
}

static int copy_in(struct gmem *ram, const char *what, uint64_t gpa, const void *src, size_t len)
{
    void *dst = gmem_ptr(ram, gpa, len);

    if (!dst) {
        log_err("boot: %s at 0x%llx (+%zu bytes) is outside guest RAM", what,
                (unsigned long long)gpa, len);
        return -EFAULT;
    }
    memcpy(dst, src, len);
    return 0;
}

int riscv_boot_load(struct gmem *ram, const struct riscv_images *img,
                    const struct riscv_boot_plan *plan, const void *fdt, size_t fdt_len)
{
    uint8_t info[FW_DYNAMIC_INFO_SIZE];
    uint8_t *bss;
    int err;

    if (fdt_len > RISCV_FDT_MAX_SIZE)
        return -EINVAL;
    err = copy_in(ram, "firmware", plan->fw_addr, img->fw, img->fw_len);
    if (!err)
        err = copy_in(ram, "kernel", plan->kernel_addr, img->kernel, img->kernel_len);
    if (!err && img->initrd)
        err = copy_in(ram, "initrd", plan->initrd_start, img->initrd, img->initrd_len);
    if (!err)
        err = copy_in(ram, "device tree", plan->fdt_addr, fdt, fdt_len);
    if (err)
        return err;
    /* On reboot the old kernel's bss is still there; the kernel clears it itself, but a clean
     * image_size span costs little and keeps reboots reproducible. */
    bss =
        gmem_ptr(ram, plan->kernel_addr + img->kernel_len, img->kinfo.image_size - img->kernel_len);
    if (bss)
        memset(bss, 0, img->kinfo.image_size - img->kernel_len);

    le64_put(info + 0, FW_DYNAMIC_INFO_MAGIC);
    le64_put(info + 8, FW_DYNAMIC_INFO_VERSION);
    le64_put(info + 16, plan->kernel_addr); /* next_addr */
    le64_put(info + 24, FW_DYNAMIC_NEXT_MODE_S);
    le64_put(info + 32, 0);                        /* options */
    le64_put(info + 40, FW_DYNAMIC_BOOT_HART_ANY); /* boot_hart */
    return copy_in(ram, "fw_dynamic_info", plan->info_addr, info, sizeof(info));
}
