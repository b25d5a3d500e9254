/* libFuzzer target for the snapshot loader: the state file reader (state/snapfile.c: header,
 * section table, checksums, END), the CONFIG section (state/snapconfig.c: parse and match),
 * and the device sections that load without a machine (16550 UART, goldfish RTC, VM
 * generation ID). The input is XORed onto a small valid state file (header, CONFIG, MACHINE,
 * CPU, three device sections, a page of memory, END), so an empty input is a good file and
 * every mutation damages some structure; the last input byte, when the input is longer than
 * the file, selects whether checksums are fixed after the mutation (to get past them into the
 * parsers). The file lives in a memfd. Errors are fine; crashes, hangs and sanitizer reports
 * are not.
 *
 *   fuzz/run.sh builds it with clang -fsanitize=fuzzer,address,undefined and runs it.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "base/le.h"
#include "base/log.h"
#include "dev/goldfish_rtc.h"
#include "dev/uart16550.h"
#include "dev/vmgenid.h"
#include "state/snapconfig.h"
#include "state/snapfile.h"

/* The reader's refusals are expected here by the thousand: keep them quiet. */
void log_set_level(enum log_level lvl)
{
    (void)lvl;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    (void)lvl;
    (void)fmt;
}

void log_limited(struct log_limit *l, enum log_level lvl, const char *fmt, ...)
{
    (void)l;
    (void)lvl;
    (void)fmt;
}

static uint8_t *tmpl;
static size_t tmpl_len;

static void irq_set(void *opaque, int line, int level)
{
    (void)opaque;
    (void)line;
    (void)level;
}

/* The template: a state file written by the real writer into a memfd. */
static int make_template(void)
{
    static const char cfg[] = "{\"ram_size\":4096,\"harts\":1,\"cmdline\":\"console=ttyS0\","
                              "\"firmware\":null,\"kernel\":\"/k\",\"initrd\":null,"
                              "\"devices\":[\"virtio-rng\"]}";
    struct uart16550 u;
    struct goldfish_rtc r;
    struct vmgenid v;
    struct irq_line irq = {irq_set, NULL, 1};
    uint8_t buf[64], mem[4096];
    uint64_t mtime = 123456789;
    struct snap_writer w;
    char path[64];
    int fd = memfd_create("fuzz-snapshot-template", 0);
    off_t end;

    if (fd < 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    memset(mem, 0x5a, sizeof(mem));
    uart16550_init(&u, &irq, NULL, NULL);
    goldfish_rtc_init(&r, &irq);
    if (vmgenid_init(&v, &irq))
        return -1;
    if (snap_writer_open_fd(&w, fd, "rv64", "riscv64") ||
        snap_write_section(&w, SNAP_CONFIG, 0, "config", cfg, strlen(cfg)) ||
        snap_write_section(&w, SNAP_MACHINE, 0, "mtime", &mtime, sizeof(mtime)) ||
        snap_write_section(&w, SNAP_CPU, 0, "hart", mem, 64) ||
        snap_write_section(&w, SNAP_DEVICE, 0, "uart", buf,
                           (uint64_t)uart16550_save(&u, buf, sizeof(buf))) ||
        snap_write_section(&w, SNAP_DEVICE, 0, "rtc", buf,
                           (uint64_t)goldfish_rtc_save(&r, buf, sizeof(buf))) ||
        snap_write_section(&w, SNAP_DEVICE, 0, "vmgenid", buf,
                           (uint64_t)vmgenid_save(&v, buf, sizeof(buf))) ||
        snap_write_memory(&w, 0, mem, sizeof(mem), -1) || snap_writer_end(&w))
        return -1;
    uart16550_destroy(&u);
    goldfish_rtc_destroy(&r);
    vmgenid_destroy(&v);
    end = lseek(fd, 0, SEEK_END);
    tmpl_len = (size_t)end;
    tmpl = malloc(tmpl_len);
    if (!tmpl || pread(fd, tmpl, tmpl_len, 0) != (ssize_t)tmpl_len)
        return -1;
    close(fd);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (make_template()) {
        fprintf(stderr, "fuzz_snapshot: cannot build the template state file\n");
        abort();
    }
    return 0;
}

/* Fixes every checksum that can be found by walking the (mutated) headers. */
static void fix_checksums(uint8_t *f, size_t len)
{
    uint64_t pos = SNAP_FILE_HDR_SIZE;

    if (len < SNAP_FILE_HDR_SIZE)
        return;
    le32_put(f + 60, (uint32_t)crc32(0, f, 60));
    for (int n = 0; n < 64 && pos + SNAP_SEC_HDR_SIZE <= len; n++) {
        uint8_t *h = f + pos;
        uint64_t plen = le64_get(h + 24), off = le64_get(h + 32);

        if (off >= pos + SNAP_SEC_HDR_SIZE && off <= len && plen <= len - off)
            le32_put(h + 40, (uint32_t)crc32(0, f + off, (uInt)plen));
        le32_put(h + 44, (uint32_t)crc32(0, h, 44));
        if (le32_get(h) == SNAP_END || off < pos + SNAP_SEC_HDR_SIZE || off > len ||
            plen > len - off)
            break;
        pos = off + plen;
    }
}

static void load_devices(const struct snap_reader *r)
{
    struct irq_line irq = {irq_set, NULL, 1};
    const struct snap_section *s;
    uint8_t buf[256];

    if ((s = snap_find(r, SNAP_DEVICE, 0, "uart")) && s->length <= sizeof(buf) &&
        !snap_read_payload(r, s, buf, s->length)) {
        struct uart16550 u;
        uart16550_init(&u, &irq, NULL, NULL);
        uart16550_load(&u, buf, s->length);
        uart16550_destroy(&u);
    }
    if ((s = snap_find(r, SNAP_DEVICE, 0, "rtc")) && s->length <= sizeof(buf) &&
        !snap_read_payload(r, s, buf, s->length)) {
        struct goldfish_rtc g;
        goldfish_rtc_init(&g, &irq);
        goldfish_rtc_load(&g, buf, s->length);
        goldfish_rtc_destroy(&g);
    }
    if ((s = snap_find(r, SNAP_DEVICE, 0, "vmgenid")) && s->length <= sizeof(buf) &&
        !snap_read_payload(r, s, buf, s->length)) {
        struct vmgenid v;
        if (!vmgenid_init(&v, &irq)) {
            vmgenid_load(&v, buf, s->length);
            vmgenid_destroy(&v);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len = tmpl_len + (size > tmpl_len + 1 ? size - tmpl_len - 1 : 0);
    uint8_t *f = calloc(1, len ? len : 1);
    struct snapshot_config c, now = {0};
    struct snap_reader r;
    char path[64], why[256];
    int fd;

    if (!f)
        return 0;
    memcpy(f, tmpl, tmpl_len);
    for (size_t i = 0; i < size && i < len; i++)
        f[i] ^= data[i];
    if (size > tmpl_len && (data[size - 1] & 1))
        fix_checksums(f, len);
    fd = memfd_create("fuzz-snapshot", 0);
    if (fd < 0 || write(fd, f, len) != (ssize_t)len) {
        if (fd >= 0)
            close(fd);
        free(f);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (!snapshot_open(&r, path, "rv64", "riscv64")) {
        if (!snapshot_read_config(&r, path, &c)) {
            now.ram_size = 4096;
            now.nharts = 1;
            snapshot_config_match(&c, &now, why, sizeof(why));
            snapshot_config_free(&c);
        }
        for (int i = 0; i < r.nsec; i++)
            if (r.sec[i].type == SNAP_MEMORY)
                snap_verify_memory(&r, &r.sec[i]);
        load_devices(&r);
        snap_reader_close(&r);
    }
    close(fd);
    free(f);
    return 0;
}
