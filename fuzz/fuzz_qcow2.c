/* libFuzzer target for qcow2 header and metadata parsing. The input is XORed onto a small valid
 * image (512-byte clusters: header, refcount table and block, L1, L2 tables, data, an internal
 * snapshot with its table and L1 copy, a compressed cluster), so an empty input is a good
 * image and every mutation is a corruption of some structure; the last input byte selects the
 * operations. The image lives in a memfd and goes through the real open path (without a
 * backing chain: backing names are file-controlled), reads, writes, zeroes, discards, block
 * status, flush, close and check with repair, and the image tools: snapshot list, create,
 * apply and delete, resize, compressed writes, emptying, backing-name rewrite. Errors are fine;
 * crashes, hangs and sanitizer reports are not.
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

static struct disk_qcow2_deflater *dz;
static uint8_t *tmpl;
static size_t tmpl_len, snap_off;
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
    dz = disk_qcow2_deflater_new();
    if (!dz)
        abort();
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
    /* an internal snapshot, then writes that copy shared clusters out of it */
    if (disk_qcow2_snapshot_create(d, "fuzz"))
        abort();
    io(d, true, 0, buf + 7, 1024);
    memset(buf, 'q', 512);
    if (disk_qcow2_write_compressed(d, 60 << 10, buf,
                                    disk_qcow2_compress(dz, buf, 512, buf + 512, 512)))
        abort();
    disk_close(d);
    f = fopen(path, "rb");
    tmpl = malloc(1 << 16);
    if (!f || !tmpl)
        abort();
    tmpl_len = fread(tmpl, 1, 1 << 16, f);
    fclose(f);
    for (int i = 0; i < 8; i++) /* the snapshot table's offset, from the header */
        snap_off = snap_off << 8 | tmpl[64 + i];
    if (snap_off == 0 || snap_off >= tmpl_len)
        abort();
    unlink(path);
    rmdir(dir);
    return 0;
}

/* Every range's status through disk_block_status(), as `vessel disk map` walks it. */
static void status(struct disk *d)
{
    uint64_t off = 0;
    struct disk_status st;

    for (int n = 0; off < d->size && n < 4096; n++) {
        if (disk_block_status(d, off, d->size - off, &st))
            break;
        off += st.len;
    }
}

/* The image tools on a (read-write) mutated image, chosen by the bits of ops. */
static void tools(struct disk *d, uint8_t ops, uint8_t *buf)
{
    const struct disk_qcow2_snapshot *s;
    uint32_t n;
    size_t clen;

    disk_qcow2_snapshots(d, &s, &n);
    if ((ops & 1) && n)
        disk_qcow2_snapshot_apply(d, s[ops % n].id);
    if (ops & 2)
        disk_qcow2_snapshot_create(d, ops & 4 ? "fuzz" : "another");
    disk_qcow2_snapshots(d, &s, &n);
    if ((ops & 8) && n)
        disk_qcow2_snapshot_delete(d, s[(ops >> 4) % n].name);
    if (ops & 16)
        disk_qcow2_resize(d, ops & 32 ? d->size + (64 << 10) : d->size / 2 & ~511ULL);
    if (ops & 64) {
        memset(buf, ops, 512);
        clen = disk_qcow2_compress(dz, buf, 512, buf + 512, 512);
        if (clen && d->size >= 512)
            disk_qcow2_write_compressed(d, (d->size - 512) & ~511ULL, buf + 512, clen);
    }
    if (ops & 128)
        disk_qcow2_set_backing(d, ops & 1 ? "base.img" : NULL, "raw");
    if ((ops & 0xc0) == 0xc0)
        disk_qcow2_make_empty(d);
    io(d, true, 0, buf, 1024);
    d->ops->flush(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t img[1 << 16], buf[8192];
    uint8_t ctl = size ? data[size - 1] : 0, ops = size > 1 ? data[size - 2] : 0;
    struct disk_qcow2_check res;
    struct disk *d;
    char path[64];
    int fd;

    memcpy(img, tmpl, tmpl_len);
    /* the first 2 KiB of input over the image's start (header, refcount table and block, L1,
     * L2), the rest over the snapshot table; the last two bytes choose operations */
    for (size_t i = 0; size > 2 && i < size - 2; i++) {
        size_t pos = i < 2048 ? i : snap_off + (i - 2048);
        if (pos < tmpl_len)
            img[pos] ^= data[i];
    }
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
            tools(d, ops, buf);
        }
        status(d);
        disk_close(d);
    }
    disk_qcow2_check(path, ctl & 2, devnull, &res);
    close(fd);
    return 0;
}
