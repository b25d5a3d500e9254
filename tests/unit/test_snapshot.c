/* Snapshot pieces: device save/load round trips (PLIC, CLINT, UART, goldfish RTC, vmgenid), the machine
 * configuration JSON and its match check, and guest RAM mapped copy-on-write from a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board/riscv/clint.h"
#include "board/riscv/plic.h"
#include "dev/goldfish_rtc.h"
#include "dev/uart16550.h"
#include "dev/vmgenid.h"
#include "harness.h"
#include "mem/gmem.h"
#include "state/snapconfig.h"
#include "vm/snapshot.h"

static int ctx_out[2][8]; /* [which plic][context] */
static int lines[64];

static void plic_out(void *opaque, int ctx, int level)
{
    ctx_out[(int)(intptr_t)opaque][ctx] = level;
}

static void line_set(void *opaque, int line, int level)
{
    lines[line] = level;
}

TEST(snapshot_plic_round_trip)
{
    struct plic a, b;
    uint8_t buf[PLIC_SAVE_MAX];
    ssize_t n;

    memset(ctx_out, 0, sizeof(ctx_out));
    plic_init(&a, 4, plic_out, (void *)0);
    plic_init(&b, 4, plic_out, (void *)1);
    plic_write(&a, PLIC_PRIORITY + 4 * 10, 4, 3);
    plic_write(&a, PLIC_PRIORITY + 4 * 11, 4, 5);
    plic_write(&a, PLIC_ENABLE + PLIC_ENABLE_STEP * 1, 4, (1u << 10) | (1u << 11));
    plic_write(&a, PLIC_CONTEXT + PLIC_CTX_STEP * 1, 4, 1);
    plic_set_level(&a, 10, 1);
    plic_set_level(&a, 11, 1);
    CHECK_EQ(plic_read(&a, PLIC_CONTEXT + PLIC_CTX_STEP * 1 + 4, 4), 11); /* claimed */
    CHECK_EQ(ctx_out[0][1], 1);                                           /* 10 still pending */
    n = plic_save(&a, buf, sizeof(buf));
    CHECK(n > 0 && n <= (ssize_t)sizeof(buf));
    CHECK_EQ(plic_save(&a, buf, 10), -ENOSPC);
    CHECK_EQ(plic_load(&b, buf, (size_t)n), 0);
    CHECK(!memcmp(&a.s, &b.s, sizeof(a.s)));
    CHECK_EQ(ctx_out[1][1], 1); /* the output follows the loaded state */
    CHECK_EQ(ctx_out[1][0], 0);
    /* the loaded copy behaves: claim 10, complete 11 (still high: pending again) */
    CHECK_EQ(plic_read(&b, PLIC_CONTEXT + PLIC_CTX_STEP * 1 + 4, 4), 10);
    plic_write(&b, PLIC_CONTEXT + PLIC_CTX_STEP * 1 + 4, 4, 11);
    CHECK_EQ(plic_read(&b, PLIC_PENDING, 4), 1u << 11);
    /* refused: short, long, other version, other context count, impossible priority */
    CHECK_EQ(plic_load(&b, buf, (size_t)n - 1), -EINVAL);
    CHECK_EQ(plic_load(&b, buf, (size_t)n + 1), -EINVAL);
    buf[0] = 2;
    CHECK_EQ(plic_load(&b, buf, (size_t)n), -EINVAL);
    buf[0] = 1;
    buf[8] = 6;
    CHECK_EQ(plic_load(&b, buf, (size_t)n), -EINVAL);
    buf[8] = 4;
    buf[12 + 4 * 10] = 9;
    CHECK_EQ(plic_load(&b, buf, (size_t)n), -EINVAL);
    plic_destroy(&a);
    plic_destroy(&b);
}

static int msip[4];
static void f_set_msip(void *o, int h, int level)
{
    msip[h] = level;
}
static uint64_t f_get(void *o, int h)
{
    return 0;
}
static void f_set(void *o, int h, uint64_t v) {}
static uint64_t f_get_mtime(void *o)
{
    return 0;
}
static void f_set_mtime(void *o, uint64_t v) {}
static const struct clint_ops clint_fake = {f_set_msip, f_get, f_set, f_get_mtime, f_set_mtime};

TEST(snapshot_clint_round_trip)
{
    struct clint a, b, c;
    uint8_t buf[CLINT_SAVE_MAX];
    ssize_t n;

    clint_init(&a, 2, &clint_fake, NULL);
    clint_init(&b, 2, &clint_fake, NULL);
    clint_init(&c, 3, &clint_fake, NULL);
    clint_write(&a, CLINT_MSIP + 4, 4, 1);
    n = clint_save(&a, buf, sizeof(buf));
    CHECK_EQ(n, 16);
    msip[1] = 0;
    CHECK_EQ(clint_load(&b, buf, (size_t)n), 0);
    CHECK_EQ(clint_read(&b, CLINT_MSIP + 4, 4), 1);
    CHECK_EQ(clint_read(&b, CLINT_MSIP, 4), 0);
    CHECK_EQ(msip[1], 1);                              /* the line was driven */
    CHECK_EQ(clint_load(&c, buf, (size_t)n), -EINVAL); /* other hart count */
    buf[12] = 2;
    CHECK_EQ(clint_load(&b, buf, (size_t)n), -EINVAL);
    clint_destroy(&a);
    clint_destroy(&b);
    clint_destroy(&c);
}

TEST(snapshot_uart_round_trip)
{
    struct uart16550 a, b;
    const struct irq_line irq = {line_set, NULL, 10};
    uint8_t buf[UART16550_SAVE_MAX];
    ssize_t n;

    uart16550_init(&a, &irq, NULL, NULL);
    uart16550_init(&b, &irq, NULL, NULL);
    uart16550_write(&a, UART_LCR, 1, UART_LCR_DLAB);
    uart16550_write(&a, UART_RBR, 1, 0x34);
    uart16550_write(&a, UART_LCR, 1, 0x03);
    uart16550_write(&a, UART_IIR, 1, UART_FCR_ENABLE);
    uart16550_write(&a, UART_SCR, 1, 0x5a);
    uart16550_write(&a, UART_IER, 1, UART_IER_RDI);
    /* wrap the FIFO's head: 20 in, 10 out, so head is not 0 */
    for (int i = 0; i < 10; i++)
        uart16550_rx_push(&a, (const uint8_t *)"x", 1);
    for (int i = 0; i < 10; i++)
        uart16550_read(&a, UART_RBR, 1);
    uart16550_rx_push(&a, (const uint8_t *)"hello", 5);
    CHECK_EQ(lines[10], 1);
    n = uart16550_save(&a, buf, sizeof(buf));
    CHECK_EQ(n, UART16550_SAVE_MAX);
    lines[10] = 0;
    CHECK_EQ(uart16550_load(&b, buf, (size_t)n), 0);
    CHECK_EQ(lines[10], 1); /* data ready interrupt raised again */
    CHECK_EQ(uart16550_read(&b, UART_SCR, 1), 0x5a);
    CHECK_EQ(uart16550_read(&b, UART_IIR, 1), UART_IIR_RDI | UART_IIR_FIFO);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(uart16550_read(&b, UART_RBR, 1), (uint8_t) "hello"[i]);
    CHECK_EQ(uart16550_read(&b, UART_LSR, 1) & UART_LSR_DR, 0);
    CHECK_EQ(lines[10], 0);
    uart16550_write(&b, UART_LCR, 1, UART_LCR_DLAB);
    CHECK_EQ(uart16550_read(&b, UART_RBR, 1), 0x34);
    buf[4 + 11] = 17; /* rx_count beyond the FIFO */
    CHECK_EQ(uart16550_load(&b, buf, (size_t)n), -EINVAL);
    CHECK_EQ(uart16550_load(&b, buf, 3), -EINVAL);
    uart16550_destroy(&a);
    uart16550_destroy(&b);
}

TEST(snapshot_goldfish_rtc_round_trip)
{
    struct goldfish_rtc a, b;
    const struct irq_line irq = {line_set, NULL, 11};
    uint8_t buf[GOLDFISH_RTC_SAVE_MAX];
    ssize_t n;
    uint64_t t;

    goldfish_rtc_init(&a, &irq);
    goldfish_rtc_init(&b, &irq);
    /* the guest sets its clock to 1000 s after the epoch and arms a far alarm */
    goldfish_rtc_write(&a, GOLDFISH_RTC_TIME_HIGH, 4, 1000000000000ULL >> 32);
    goldfish_rtc_write(&a, GOLDFISH_RTC_TIME_LOW, 4, (uint32_t)1000000000000ULL);
    goldfish_rtc_write(&a, GOLDFISH_RTC_ALARM_HIGH, 4, 0x7fffffff);
    goldfish_rtc_write(&a, GOLDFISH_RTC_ALARM_LOW, 4, 0);
    goldfish_rtc_write(&a, GOLDFISH_RTC_IRQ_ENABLED, 4, 1);
    n = goldfish_rtc_save(&a, buf, sizeof(buf));
    CHECK_EQ(n, GOLDFISH_RTC_SAVE_MAX);
    CHECK_EQ(goldfish_rtc_load(&b, buf, (size_t)n), 0);
    t = goldfish_rtc_read(&b, GOLDFISH_RTC_TIME_LOW, 4);
    t |= (uint64_t)goldfish_rtc_read(&b, GOLDFISH_RTC_TIME_HIGH, 4) << 32;
    CHECK(t >= 1000000000000ULL && t < 1000000000000ULL + 60000000000ULL);
    CHECK_EQ(goldfish_rtc_read(&b, GOLDFISH_RTC_ALARM_STATUS, 4), 1);
    CHECK_EQ(goldfish_rtc_read(&b, GOLDFISH_RTC_ALARM_HIGH, 4), 0x7fffffff);
    CHECK_EQ(goldfish_rtc_read(&b, GOLDFISH_RTC_IRQ_ENABLED, 4), 1);
    buf[n - 1] = 2;
    CHECK_EQ(goldfish_rtc_load(&b, buf, (size_t)n), -EINVAL);
    goldfish_rtc_destroy(&a);
    goldfish_rtc_destroy(&b);
}

TEST(snapshot_vmgenid_round_trip_and_new_generation)
{
    struct vmgenid a, b;
    const struct irq_line irq = {line_set, NULL, 12};
    uint8_t buf[VMGENID_SAVE_MAX], g[VMGENID_SIZE], h[VMGENID_SIZE];
    uint64_t lo, hi;
    ssize_t n;

    CHECK_EQ(vmgenid_init(&a, &irq), 0);
    CHECK_EQ(vmgenid_init(&b, NULL), 0);
    vmgenid_get(&a, g);
    vmgenid_get(&b, h);
    CHECK(memcmp(g, h, VMGENID_SIZE) != 0); /* random per VM */
    /* the GUID reads back at any width; past it the window reads 0 */
    lo = vmgenid_read(&a, 0, 8);
    hi = vmgenid_read(&a, 8, 8);
    for (int i = 0; i < 8; i++) {
        CHECK_EQ((uint8_t)(lo >> (8 * i)), g[i]);
        CHECK_EQ((uint8_t)(hi >> (8 * i)), g[8 + i]);
    }
    CHECK_EQ(vmgenid_read(&a, 5, 1), g[5]);
    CHECK_EQ(vmgenid_read(&a, 14, 4), (uint64_t)g[14] | (uint64_t)g[15] << 8);
    CHECK_EQ(vmgenid_read(&a, 16, 4), 0);
    vmgenid_write(&a, 0, 8, 0); /* read-only */
    CHECK_EQ(vmgenid_read(&a, 0, 1), g[0]);
    CHECK_EQ(lines[12], 0);
    /* a clone: a new GUID, the line high until the guest reads it */
    CHECK_EQ(vmgenid_new_generation(&a), 0);
    vmgenid_get(&a, h);
    CHECK(memcmp(g, h, VMGENID_SIZE) != 0);
    CHECK_EQ(lines[12], 1);
    n = vmgenid_save(&a, buf, sizeof(buf));
    CHECK_EQ(n, VMGENID_SAVE_MAX);
    CHECK_EQ(vmgenid_read(&a, 0, 4),
             (uint64_t)h[0] | h[1] << 8 | h[2] << 16 | (uint64_t)h[3] << 24);
    CHECK_EQ(lines[12], 0);
    /* load restores the GUID and the pending line */
    b.irq = irq;
    CHECK_EQ(vmgenid_load(&b, buf, (size_t)n), 0);
    vmgenid_get(&b, g);
    CHECK(memcmp(g, h, VMGENID_SIZE) == 0);
    CHECK_EQ(lines[12], 1);
    vmgenid_reset(&b); /* a reboot keeps the GUID, drops the line */
    CHECK_EQ(lines[12], 0);
    vmgenid_get(&b, g);
    CHECK(memcmp(g, h, VMGENID_SIZE) == 0);
    buf[n - 1] = 2;
    CHECK_EQ(vmgenid_load(&b, buf, (size_t)n), -EINVAL);
    buf[0] = 9;
    buf[n - 1] = 0;
    CHECK_EQ(vmgenid_load(&b, buf, (size_t)n), -EINVAL);
    CHECK_EQ(vmgenid_load(&b, buf, 3), -EINVAL);
    vmgenid_destroy(&a);
    vmgenid_destroy(&b);
}

TEST(snapshot_config_json_and_match)
{
    struct snapshot_config a = {.ram_size = 256ULL << 20, .nharts = 2}, b, c;
    char err[300];
    char *json;

    a.cmdline = strdup("console=ttyS0 \"quoted\"");
    a.kernel = strdup("/k/Image");
    a.devices[a.ndevices++] = strdup("virtio-blk path=/d/a.img format=raw ro=0 size=512");
    a.devices[a.ndevices++] = strdup("virtio-rng");
    json = snapshot_config_json(&a);
    CHECK(json != NULL);
    CHECK_EQ(snapshot_config_parse(json, strlen(json), &b, err, sizeof(err)), 0);
    CHECK_EQ(b.ram_size, a.ram_size);
    CHECK_EQ(b.nharts, 2);
    CHECK(b.cmdline && !strcmp(b.cmdline, a.cmdline));
    CHECK(b.kernel && !strcmp(b.kernel, "/k/Image"));
    CHECK(b.firmware == NULL && b.initrd == NULL && b.bootloader == NULL);
    CHECK_EQ(snapshot_config_match(&a, &b, err, sizeof(err)), 0);
    /* a qcow2 overlay on the saved disk stands for it; any other disk does not */
    free(b.devices[0]);
    b.devices[0] = strdup("virtio-blk path=/d/o.qcow2 format=qcow2 ro=0 size=512");
    CHECK_EQ(snapshot_config_match(&a, &b, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "virtio device 0 differs") != NULL);
    b.alt_devices[0] = strdup("virtio-blk path=/d/b.img format=raw ro=0 size=512");
    CHECK_EQ(snapshot_config_match(&a, &b, err, sizeof(err)), -EINVAL);
    free(b.alt_devices[0]);
    b.alt_devices[0] = strdup("virtio-blk path=/d/a.img format=raw ro=0 size=512");
    CHECK_EQ(snapshot_config_match(&a, &b, err, sizeof(err)), 0);
    free(b.devices[1]);
    b.ndevices = 1;
    CHECK_EQ(snapshot_config_match(&a, &b, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "virtio device 1 differs") != NULL);
    b.nharts = 1;
    CHECK_EQ(snapshot_config_match(&a, &b, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "harts") != NULL);
    /* the boot loader of a VM booted from its disk; files written before it have none */
    a.bootloader = strdup("/c/riscv64/u-boot/u-boot.bin");
    free(json);
    json = snapshot_config_json(&a);
    CHECK_EQ(snapshot_config_parse(json, strlen(json), &c, err, sizeof(err)), 0);
    CHECK(c.bootloader && !strcmp(c.bootloader, "/c/riscv64/u-boot/u-boot.bin"));
    snapshot_config_free(&c);
    const char *old = "{\"ram_size\":4096,\"harts\":1,\"devices\":[]}";
    const char *bad = "{\"ram_size\":4096,\"harts\":1,\"devices\":[],\"bootloader\":1}";
    CHECK_EQ(snapshot_config_parse(old, strlen(old), &c, err, sizeof(err)), 0);
    CHECK(c.bootloader == NULL && c.kernel == NULL);
    snapshot_config_free(&c);
    CHECK_EQ(snapshot_config_parse(bad, strlen(bad), &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(snapshot_config_parse("{\"ram_size\":1}", 14, &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(snapshot_config_parse("nope", 4, &c, err, sizeof(err)), -EINVAL);
    free(json);
    snapshot_config_free(&a);
    snapshot_config_free(&b);
}

TEST(snapshot_gmem_from_file_is_copy_on_write)
{
    char path[] = "/tmp/vessel-gmem-XXXXXX";
    int fd = mkstemp(path);
    uint8_t page[8192], back[8192];
    struct gmem a, b;

    CHECK(fd >= 0);
    for (size_t i = 0; i < sizeof(page); i++)
        page[i] = (uint8_t)(i * 7);
    CHECK_EQ(pwrite(fd, page, 4096, 0), 4096); /* a header page, then RAM */
    CHECK_EQ(pwrite(fd, page, sizeof(page), 4096), (ssize_t)sizeof(page));
    CHECK_EQ(gmem_create_from_file(&a, 0x80000000, sizeof(page), fd, 4096), 0);
    CHECK_EQ(gmem_create_from_file(&b, 0x80000000, sizeof(page), fd, 4096), 0);
    CHECK_EQ(gmem_create_from_file(&b, 0, 4096, fd, 100), -EINVAL);
    close(fd);
    CHECK(!memcmp(gmem_ptr(&a, 0x80000000, sizeof(page)), page, sizeof(page)));
    memset(gmem_ptr(&a, 0x80001000, 16), 0xee, 16);
    CHECK_EQ(*(uint8_t *)gmem_ptr(&b, 0x80001000, 1), page[4096]); /* the other mapping */
    fd = open(path, O_RDONLY);
    CHECK_EQ(pread(fd, back, sizeof(back), 4096), (ssize_t)sizeof(back));
    CHECK(!memcmp(back, page, sizeof(page))); /* the file never changes */
    close(fd);
    /* a discarded page reads as the file again */
    CHECK_EQ(gmem_discard(&a, gmem_ptr(&a, 0x80001000, 4096), 4096), 0);
    CHECK_EQ(*(uint8_t *)gmem_ptr(&a, 0x80001000, 1), page[4096]);
    gmem_destroy(&a);
    gmem_destroy(&b);
    unlink(path);
}

TEST(snapshot_overlay_name_next_to_the_disk)
{
    char out[64];

    CHECK_EQ(snapshot_overlay_name("/vm/disk.qcow2", "/vm/disk.qcow2", NULL, "/snaps/s1.snap", out,
                                   sizeof(out)),
             0);
    CHECK(!strcmp(out, "/vm/disk-s1.snap.qcow2"));
    CHECK_EQ(snapshot_overlay_name("/vm/root.img", "/vm/root.img", NULL, "s2", out, sizeof(out)),
             0);
    CHECK(!strcmp(out, "/vm/root-s2.qcow2"));
    CHECK_EQ(snapshot_overlay_name("data", "data", NULL, "/x/y/s3.snap", out, sizeof(out)), 0);
    CHECK(!strcmp(out, "data-s3.snap.qcow2"));
    CHECK_EQ(snapshot_overlay_name("/vm/.qcow2", "/vm/.qcow2", NULL, "s", out, sizeof(out)), 0);
    CHECK(!strcmp(out, "/vm/.qcow2-s.qcow2")); /* no stem: kept */
    CHECK_EQ(snapshot_overlay_name("/a/very/long/directory/name/disk.qcow2", "disk.qcow2", NULL,
                                   "/snap.snap", out, 20),
             -ENAMETOOLONG);
}

/* An overlay of an overlay is named after the chain's bottom, not after the overlay: names do
 * not compound snapshot after snapshot (d1 -> d1-web.snap -> d1-web3.snap, not
 * d1-web.snap-web3.snap). */
TEST(snapshot_overlay_name_does_not_compound)
{
    char out[80];

    CHECK_EQ(snapshot_overlay_name("/vm/d1-web.snap.qcow2", "/vm/d1.qcow2", NULL, "/s/web3.snap",
                                   out, sizeof(out)),
             0);
    CHECK(!strcmp(out, "/vm/d1-web3.snap.qcow2"));
    CHECK_EQ(snapshot_overlay_name("/over/d1-a.qcow2", "/base/d1.raw", NULL, "b", out, sizeof(out)),
             0);
    CHECK(!strcmp(out, "/over/d1-b.qcow2")); /* the directory is the overlay's */
}

TEST(snapshot_overlay_name_in_a_jail_dir)
{
    char out[64];

    /* a jailed VM writes its overlays in its own directory (vm_config.overlay_dir) */
    CHECK_EQ(snapshot_overlay_name("/vm/disk.qcow2", "/vm/disk.qcow2", "/run/vm1", "/snaps/s1.snap",
                                   out, sizeof(out)),
             0);
    CHECK(!strcmp(out, "/run/vm1/disk-s1.snap.qcow2"));
    CHECK_EQ(snapshot_overlay_name("root.img", "root.img", "/d", "s2", out, sizeof(out)), 0);
    CHECK(!strcmp(out, "/d/root-s2.qcow2"));
    /* an overlay of an overlay in the jail dir: named after the chain's bottom */
    CHECK_EQ(snapshot_overlay_name("/run/vm1/disk-s1.qcow2", "/vm/disk.qcow2", "/run/vm1", "s2",
                                   out, sizeof(out)),
             0);
    CHECK(!strcmp(out, "/run/vm1/disk-s2.qcow2"));
}
