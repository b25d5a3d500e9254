/* libFuzzer target for qcow2 header and metadata parsing. The input is XORed onto a small valid
 * image (512-byte clusters: header, refcount table and block, L1, L2 tables, data), so an empty
 * input is a good image and every mutation is a corruption of some structure; the last input
 * byte selects the operations. The image lives in a memfd and goes through the real open path
 * (without a backing chain: backing names are file-controlled), reads, writes, zeroes,
 * discards, flush, close and check with repair. Errors are fine; crashes, hangs and sanitizer
 * reports are not.
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

#include "backend/disk/disk.h"
#include "backend/disk/qcow2.h"
#include "base/log.h"

/* The backend's error messages are expected here by the thousand: keep them quiet. */
void log_set_level(enum log_level lvl)
{
    (void)lvl;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    (void)lvl;
    (void)fmt;
}

static uint8_t *tmpl;
static size_t tmpl_len;
static FILE *devnull;

static int io(struct disk *d, bool write, uint64_t off, void *buf, size_t len)
{
    struct iovec v = {.iov_base = buf, .iov_len = len};

    if (off > d->size || len > d->size - off)
        return -1;
    return write ? d->ops->writev(d, off, &v, 1) : d->ops->readv(d, off, &v, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/vessel-fuzz-qcow2-XXXXXX", path[64];
    struct disk_qcow2_create_opts o = {.size = 64 << 10, .cluster_bits = 9};
    struct disk *d;
    uint8_t buf[2048];
    FILE *f;

    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof(path), "%s/t.qcow2", dir);
    if (disk_qcow2_create(path, &o) || disk_open(&d, path, DISK_FORMAT_QCOW2, false))
        abort();
    for (int i = 0; i < (int)sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    io(d, true, 0, buf, 512);
    io(d, true, 40 << 10, buf, 2048);
    io(d, true, 1024, buf, 1024);
    d->ops->discard(d, 40 << 10, 512);
    disk_close(d);
    f = fopen(path, "rb");
    tmpl = malloc(1 << 16);
    if (!f || !tmpl)
        abort();
    tmpl_len = fread(tmpl, 1, 1 << 16, f);
    fclose(f);
    unlink(path);
    rmdir(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t img[1 << 16], buf[8192];
    uint8_t ctl = size ? data[size - 1] : 0;
    struct disk_qcow2_check res;
    struct disk *d;
    char path[64];
    int fd;

    memcpy(img, tmpl, tmpl_len);
    for (size_t i = 0; size && i < size - 1 && i < tmpl_len; i++)
        img[i] ^= data[i];
    fd = memfd_create("qcow2", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, img, tmpl_len) != (ssize_t)tmpl_len) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (disk_qcow2_open_nobacking(&d, path, ctl & 1) == 0) {
        uint64_t end = d->size < (256 << 10) ? d->size : (256 << 10);
        for (uint64_t off = 0; off + 4096 <= end; off += 4096)
            io(d, false, off, buf, 4096);
        io(d, false, 0, buf, sizeof(buf));
        if (!(ctl & 1)) {
            uint64_t off = (uint64_t)(ctl >> 2) * 1536;
            memset(buf, ctl, sizeof(buf));
            io(d, true, off % (end ? end : 1), buf, 1024);
            if (end > 4096) {
                d->ops->write_zeroes(d, 2048, 1024);
                d->ops->discard(d, 0, 4096);
            }
            io(d, true, 512, buf, 4096);
            d->ops->flush(d);
            io(d, false, 0, buf, sizeof(buf));
        }
        disk_close(d);
    }
    disk_qcow2_check(path, ctl & 2, devnull, &res);
    close(fd);
    return 0;
}
