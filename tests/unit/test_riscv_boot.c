#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board/riscv/boot.h"
#include "board/riscv/image.h"
#include "board/riscv/layout.h"
#include "harness.h"

static void make_image(uint8_t *h, uint64_t image_size)
{
    memset(h, 0, RISCV_IMAGE_HDR_SIZE);
    h[0] = 'M';
    h[1] = 'Z';
    h[8 + 2] = 0x20; /* text_offset 0x200000 */
    for (int i = 0; i < 8; i++)
        h[0x10 + i] = (uint8_t)(image_size >> (8 * i));
    h[0x20] = 2; /* version 0.2 */
    memcpy(h + 0x30, "RISCV\0\0\0", 8);
    memcpy(h + 0x38, "RSC\x05", 4);
}

TEST(riscv_image_header)
{
    uint8_t h[0x400];
    struct riscv_image_info info;
    const char *why;

    make_image(h, 0x1e6c000);
    CHECK_EQ(riscv_image_parse(h, sizeof(h), &info, &why), 0);
    CHECK_EQ(info.text_offset, 0x200000);
    CHECK_EQ(info.image_size, 0x1e6c000);
    CHECK_EQ(info.version, 2);
    /* an image_size smaller than the file (old headers say 0) becomes the file size */
    make_image(h, 0);
    CHECK_EQ(riscv_image_parse(h, sizeof(h), &info, &why), 0);
    CHECK_EQ(info.image_size, sizeof(h));

    CHECK_EQ(riscv_image_parse(h, 32, &info, &why), -ENOEXEC);
    CHECK(why && strstr(why, "short"));
    memset(h, 0, sizeof(h));
    memcpy(h, "\177ELF", 4);
    CHECK_EQ(riscv_image_parse(h, sizeof(h), &info, &why), -ENOEXEC);
    CHECK(strstr(why, "ELF") != NULL);
    memset(h, 0, sizeof(h));
    memcpy(h + 0x202, "HdrS", 4);
    CHECK_EQ(riscv_image_parse(h, sizeof(h), &info, &why), -ENOEXEC);
    CHECK(strstr(why, "bzImage") != NULL);
    memset(h, 0, sizeof(h));
    h[0] = 0x1f;
    h[1] = 0x8b;
    CHECK_EQ(riscv_image_parse(h, sizeof(h), &info, &why), -ENOEXEC);
    CHECK(strstr(why, "gzip") != NULL);
}

static void fake_images(struct riscv_images *img, uint64_t kspan, size_t initrd_len)
{
    static uint8_t fw[64] = "firmware", kern[4096], initrd[8192];

    memset(img, 0, sizeof(*img));
    img->fw = fw;
    img->fw_len = sizeof(fw);
    make_image(kern, kspan);
    img->kernel = kern;
    img->kernel_len = sizeof(kern);
    img->kinfo.image_size = kspan;
    if (initrd_len) {
        memset(initrd, 0xab, sizeof(initrd));
        img->initrd = initrd;
        img->initrd_len = initrd_len;
    }
}

TEST(riscv_boot_plan_layout)
{
    struct riscv_images img;
    struct riscv_boot_plan p;
    uint64_t ram = 256ULL << 20, end = RISCV_RAM_BASE + ram;

    fake_images(&img, 0x1e6c000, 5000);
    CHECK_EQ(riscv_boot_plan(&img, RISCV_RAM_BASE, ram, &p), 0);
    CHECK_EQ(p.fw_addr, RISCV_RAM_BASE);
    CHECK_EQ(p.kernel_addr, 0x80200000);
    CHECK_EQ(p.kernel_end, 0x80200000 + 0x1e6c000);
    CHECK_EQ(p.fdt_addr, end - 0x200000);
    CHECK_EQ(p.fdt_addr % 0x200000, 0);
    CHECK_EQ(p.info_addr, p.fdt_addr + RISCV_FDT_MAX_SIZE);
    CHECK_EQ(p.initrd_start % 4096, 0);
    CHECK_EQ(p.initrd_end, p.initrd_start + 5000);
    CHECK(p.initrd_end <= p.fdt_addr);
    CHECK(p.initrd_start >= p.kernel_end);
    /* a RAM size that is not 2 MiB aligned still gets an aligned, in-RAM FDT */
    CHECK_EQ(riscv_boot_plan(&img, RISCV_RAM_BASE, ram + 0x1000, &p), 0);
    CHECK_EQ(p.fdt_addr, end - 0x200000);
    /* kernel bss that does not fit, and an initrd that does not fit */
    fake_images(&img, 63ULL << 20, 0);
    CHECK_EQ(riscv_boot_plan(&img, RISCV_RAM_BASE, 64ULL << 20, &p), -ENOSPC);
    fake_images(&img, 0x1e6c000, 8192);
    img.initrd_len = 100ULL << 20; /* only the length matters to the plan */
    CHECK_EQ(riscv_boot_plan(&img, RISCV_RAM_BASE, 64ULL << 20, &p), -ENOSPC);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

TEST(riscv_boot_load_fw_dynamic_info)
{
    struct riscv_images img;
    struct riscv_boot_plan p;
    struct gmem ram;
    uint8_t fdt[128] = "fdt!", *info;

    fake_images(&img, 0x10000, 5000);
    CHECK_EQ(gmem_create(&ram, RISCV_RAM_BASE, 64ULL << 20), 0);
    CHECK_EQ(riscv_boot_plan(&img, RISCV_RAM_BASE, 64ULL << 20, &p), 0);
    memset(gmem_ptr(&ram, p.kernel_addr + 0x8000, 16), 0x77, 16); /* stale "bss" */
    CHECK_EQ(riscv_boot_load(&ram, &img, &p, fdt, sizeof(fdt)), 0);
    CHECK(!memcmp(gmem_ptr(&ram, RISCV_RAM_BASE, 8), "firmware", 8));
    CHECK(!memcmp(gmem_ptr(&ram, p.kernel_addr + 0x38, 4), "RSC\x05", 4));
    CHECK_EQ(*(uint8_t *)gmem_ptr(&ram, p.kernel_addr + 0x8000, 1), 0);
    CHECK_EQ(*(uint8_t *)gmem_ptr(&ram, p.initrd_start + 4999, 1), 0xab);
    CHECK(!memcmp(gmem_ptr(&ram, p.fdt_addr, 4), "fdt!", 4));
    info = gmem_ptr(&ram, p.info_addr, FW_DYNAMIC_INFO_SIZE);
    CHECK(info != NULL);
    CHECK_EQ(p.info_addr % 8, 0);
    CHECK_EQ(rd64(info), 0x4942534f);
    CHECK_EQ(rd64(info + 8), 2);
    CHECK_EQ(rd64(info + 16), 0x80200000);
    CHECK_EQ(rd64(info + 24), 1);
    CHECK_EQ(rd64(info + 32), 0);
    CHECK_EQ(rd64(info + 40), ~0ULL);
    gmem_destroy(&ram);
}

TEST(riscv_images_load_errors)
{
    struct riscv_images img;
    char path[] = "/tmp/vessel-test-XXXXXX";
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "\177ELF not a kernel", 17), 17);
    close(fd);
    CHECK_EQ(riscv_images_load(&img, "/nonexistent/fw.bin", path, NULL), -ENOENT);
    CHECK_EQ(riscv_images_load(&img, path, path, NULL), -ENOEXEC); /* an ELF firmware */
    CHECK(img.fw == NULL && img.kernel == NULL);
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "\x97\x02\x00\x00 flat firmware", 19), 19);
    close(fd);
    CHECK_EQ(riscv_images_load(&img, path, path, NULL), -ENOEXEC); /* not an Image kernel */
    CHECK_EQ(riscv_images_load(&img, path, "/tmp", NULL), -EISDIR);
    CHECK(img.fw == NULL && img.kernel == NULL);
    /* a boot loader is a flat binary in the kernel's place: no Image header needed */
    CHECK_EQ(riscv_images_load_bootloader(&img, path, path), 0);
    CHECK_EQ(img.kernel_len, 19);
    CHECK_EQ(img.kinfo.image_size, 19);
    CHECK(img.initrd == NULL);
    riscv_images_free(&img);
    CHECK_EQ(riscv_images_load_bootloader(&img, path, "/nonexistent/u-boot.bin"), -ENOENT);
    CHECK(img.fw == NULL && img.kernel == NULL);
    unlink(path);
}

TEST(riscv_firmware_check_refuses_other_files)
{
    uint8_t buf[0x400] = {0x97, 0x02, 0x00, 0x00}; /* auipc t0, 0: a flat binary's start */
    const char *why;

    CHECK_EQ(riscv_firmware_check(buf, sizeof(buf), &why), 0);
    CHECK(why == NULL);
    memcpy(buf, "\177ELF", 4);
    CHECK_EQ(riscv_firmware_check(buf, sizeof(buf), &why), -ENOEXEC);
    CHECK(why && strstr(why, "ELF"));
    memcpy(buf, "\x1f\x8b\x08\x00", 4);
    CHECK_EQ(riscv_firmware_check(buf, sizeof(buf), &why), -ENOEXEC);
    CHECK(why && strstr(why, "gzip"));
    memset(buf, 0, 8);
    memcpy(buf + 0x202, "HdrS", 4);
    CHECK_EQ(riscv_firmware_check(buf, sizeof(buf), &why), -ENOEXEC);
    CHECK(why && strstr(why, "bzImage"));
    memset(buf + 0x202, 0, 4);
    memcpy(buf + RISCV_IMAGE_MAGIC2_OFF, "RSC\x05", 4);
    CHECK_EQ(riscv_firmware_check(buf, sizeof(buf), &why), -ENOEXEC);
    CHECK(why && strstr(why, "kernel Image"));
    memset(buf + RISCV_IMAGE_MAGIC2_OFF, 0, 4);
    memcpy(buf, "070701", 6);
    CHECK_EQ(riscv_firmware_check(buf, sizeof(buf), &why), -ENOEXEC);
    CHECK_EQ(riscv_firmware_check(buf, 3, &why), 0); /* too short to tell: the loader decides */
}
