/* src/host/boot_check.c: a new VM's boot files checked by its board at create. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "harness.h"
#include "host/boot_check.h"

/* A file of len bytes: zeroes with hdr (hlen bytes) at offset off. */
static void make_file(char *path, size_t len, size_t off, const void *hdr, size_t hlen)
{
    uint8_t *buf = calloc(1, len);
    int fd = mkstemp(path);

    CHECK(buf && fd >= 0);
    memcpy(buf + off, hdr, hlen);
    CHECK_EQ(write(fd, buf, len), (ssize_t)len);
    close(fd);
    free(buf);
}

static void config(struct api_vm_config *c, const char *kernel, const char *fw)
{
    *c = (struct api_vm_config){.cpus = 1, .memory_mib = 256};
    snprintf(c->arch, sizeof(c->arch), "riscv64");
    snprintf(c->kernel, sizeof(c->kernel), "%s", kernel);
    snprintf(c->firmware, sizeof(c->firmware), "%s", fw);
}

TEST(boot_check_riscv)
{
    char fw[] = "/tmp/vessel-fw-XXXXXX", img[] = "/tmp/vessel-img-XXXXXX";
    char bz[] = "/tmp/vessel-bz-XXXXXX", elf[] = "/tmp/vessel-elf-XXXXXX";
    uint8_t hdr[64] = {'M', 'Z'};
    struct api_vm_config c;
    struct api_error e;

    memcpy(hdr + 0x38, "RSC\x05", 4);
    make_file(fw, 4096, 0, "\x97\x02\x00\x00", 4);
    make_file(img, 8192, 0, hdr, sizeof(hdr));
    make_file(bz, 8192, 0x202, "HdrS", 4);
    make_file(elf, 4096, 0, "\177ELF", 4);

    config(&c, img, fw);
    CHECK_EQ(host_check_boot(&c, &e), 0);
    config(&c, bz, fw);
    CHECK_EQ(host_check_boot(&c, &e), 400);
    CHECK(!strcmp(e.code, "bad_image"));
    CHECK(strstr(e.message, bz) && strstr(e.message, "an x86 bzImage"));
    config(&c, img, elf);
    CHECK_EQ(host_check_boot(&c, &e), 400);
    CHECK(strstr(e.message, "firmware") && strstr(e.message, "ELF"));
    config(&c, img, fw);
    snprintf(c.initrd, sizeof(c.initrd), "/nonexistent/initrd");
    CHECK_EQ(host_check_boot(&c, &e), 400);
    CHECK(strstr(e.message, "/nonexistent/initrd"));
    config(&c, img, fw);
    c.cpus = 1000;
    CHECK_EQ(host_check_boot(&c, &e), 422);
    CHECK(!strcmp(e.code, "out_of_range") && strstr(e.message, "'cpus'"));
    /* restore and incoming VMs take their machine from elsewhere: not checked here */
    config(&c, bz, fw);
    snprintf(c.restore, sizeof(c.restore), "/x.snap");
    CHECK_EQ(host_check_boot(&c, &e), 0);
    unlink(fw);
    unlink(img);
    unlink(bz);
    unlink(elf);
}

TEST(log_capture_collects_errors)
{
    char buf[64];

    log_capture_start(buf, sizeof(buf));
    log_err("first %d", 1);
    log_warn("not an error");
    log_err("second");
    log_capture_stop();
    CHECK(!strcmp(buf, "first 1; second"));
    log_capture_start(buf, 8);
    log_err("a long message that does not fit");
    log_capture_stop();
    CHECK(strlen(buf) < 8);
}
