/* qcow2: creating images, and what `vessel disk info` shows of an open one.
 *
 * A new image is laid out as: cluster 0 header (extensions, backing file name), cluster 1
 * refcount table, cluster 2 the first refcount block, clusters 3.. the L1 table. Everything
 * else is allocated on first write. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "backend/disk/qcow2_int.h"
#include "base/log.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
    while (len) {
        ssize_t r = pwrite(fd, buf, len, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO;
        buf = (const uint8_t *)buf + r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Opens the backing file the way the new image will, for its format and size. */
static int probe_backing(const char *path, const struct disk_qcow2_create_opts *o,
                         const char **fmt_name, uint64_t *size)
{
    enum disk_format fmt = DISK_FORMAT_PROBE;
    char *resolved = qcow2_resolve_backing(path, o->backing);
    struct disk *b;
    int err;

    if (!resolved)
        return -ENOMEM;
    if (o->backing_fmt && disk_format_parse(o->backing_fmt, &fmt)) {
        log_err("disk: %s: backing format '%s' is not supported (raw or qcow2)", path,
                o->backing_fmt);
        free(resolved);
        return -EINVAL;
    }
    err = disk_open(&b, resolved, fmt, true);
    if (err) {
        log_err("disk: %s: cannot open the backing file %s", path, resolved);
        free(resolved);
        return err;
    }
    *fmt_name = b->ops->name; /* a static string */
    *size = b->size;
    disk_close(b);
    free(resolved);
    return 0;
}

int disk_qcow2_create(const char *path, const struct disk_qcow2_create_opts *o)
{
    unsigned version = o->version ? o->version : 3;
    unsigned cb = o->cluster_bits ? o->cluster_bits : 16;
    unsigned order = o->refcount_order_set ? o->refcount_order : 4;
    const char *bfmt = NULL;
    uint64_t size = o->size, cs, l1_entries, l1_clusters, nmeta, bsize = 0, pos;
    uint8_t *buf = NULL;
    size_t blen = 0;
    int fd, err;

    if ((version != 2 && version != 3) || cb < QCOW2_MIN_CLUSTER_BITS ||
        cb > QCOW2_MAX_CLUSTER_BITS || order > 6 || (version == 2 && order != 4)) {
        log_err("disk: %s: invalid version, cluster size or refcount width", path);
        return -EINVAL;
    }
    cs = 1ULL << cb;
    if (o->backing) {
        blen = strlen(o->backing);
        if (blen == 0 || blen > QCOW2_MAX_BACKING_LEN) {
            log_err("disk: %s: backing file name must be 1 to 1023 bytes", path);
            return -EINVAL;
        }
        err = probe_backing(path, o, &bfmt, &bsize);
        if (err)
            return err;
        if (!size)
            size = bsize;
    }
    if (!size || size > (1ULL << 62)) {
        log_err("disk: %s: virtual size %" PRIu64 " is invalid", path, size);
        return -EINVAL;
    }
    size = (size + 511) & ~511ULL;
    l1_entries = (size + (cs << (cb - 3)) - 1) / (cs << (cb - 3));
    if (l1_entries * 8 > QCOW2_MAX_L1_BYTES) {
        log_err("disk: %s: virtual size too large for %" PRIu64 "-byte clusters", path, cs);
        return -EFBIG;
    }
    l1_clusters = (l1_entries * 8 + cs - 1) / cs;
    nmeta = 3 + l1_clusters;
    if (nmeta > (1ULL << (cb + 3 - order))) {
        log_err("disk: %s: virtual size too large for this cluster size", path);
        return -EFBIG;
    }

    buf = calloc(1, cs);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, "QFI\xfb", 4);
    put32(buf + 4, version);
    put32(buf + 20, cb);
    qcow2_put_be64(buf + 24, size);
    put32(buf + 36, (uint32_t)l1_entries);
    qcow2_put_be64(buf + 40, 3 * cs);
    qcow2_put_be64(buf + 48, cs);
    put32(buf + 56, 1);
    pos = QCOW2_V2_HEADER_LEN;
    if (version == 3) {
        put32(buf + 96, order);
        put32(buf + 100, 112);
        pos = 112;
    }
    if (bfmt) {
        size_t flen = strlen(bfmt);
        put32(buf + pos, QCOW2_EXT_BACKING_FMT);
        put32(buf + pos + 4, (uint32_t)flen);
        memcpy(buf + pos + 8, bfmt, flen);
        pos += 8 + ((flen + 7) & ~7ULL);
    }
    pos += 8; /* end of extensions */
    if (o->backing) {
        if (pos + blen > cs) {
            log_err("disk: %s: backing file name does not fit in the header cluster", path);
            free(buf);
            return -EINVAL;
        }
        qcow2_put_be64(buf + 8, pos);
        put32(buf + 16, (uint32_t)blen);
        memcpy(buf + pos, o->backing, blen);
    }

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              o->private_mode ? 0600 : 0644);
    if (fd < 0) {
        err = -errno;
        log_err("disk: %s: %s", path, strerror(errno));
        free(buf);
        return err;
    }
    err = write_all(fd, buf, cs, 0); /* header */
    if (!err) {
        memset(buf, 0, cs);
        qcow2_put_be64(buf, 2 * cs); /* refcount table -> block at cluster 2 */
        err = write_all(fd, buf, cs, cs);
    }
    if (!err) {
        memset(buf, 0, cs);
        for (uint64_t i = 0; i < nmeta; i++)
            qcow2_rb_write(order, buf, i, 1);
        err = write_all(fd, buf, cs, 2 * cs);
    }
    if (!err && ftruncate(fd, (off_t)(nmeta * cs)) < 0)
        err = -errno;
    if (!err && fsync(fd) < 0)
        err = -errno;
    close(fd);
    free(buf);
    if (err) {
        log_err("disk: %s: writing the new image: %s", path, strerror(-err));
        unlink(path);
    }
    return err;
}

bool disk_is_qcow2(const struct disk *d)
{
    return d && d->ops && !strcmp(d->ops->name, "qcow2");
}

void disk_qcow2_info(struct disk *d, struct disk_qcow2_info *info)
{
    struct qcow2 *q = qcow2_of(d);

    *info = (struct disk_qcow2_info){
        .version = q->version,
        .cluster_size = q->cluster_size,
        .refcount_bits = 1u << q->refcount_order,
        .compression = q->compression_type == QCOW2_COMPRESS_ZSTD ? "zstd" : "zlib",
        .backing_name = q->backing_name,
        .backing_path = q->backing_path,
        .backing_fmt = q->backing_fmt,
        .backing = q->backing,
        .nb_snapshots = q->nb_snapshots,
        .dirty = !!(q->incompat & QCOW2_INCOMPAT_DIRTY),
        .corrupt = !!(q->incompat & QCOW2_INCOMPAT_CORRUPT),
    };
}

static int open_nobacking(struct disk *d, int fd, void *arg)
{
    (void)arg;
    return qcow2_open_fd(d, fd, QCOW2_OPEN_NO_BACKING, NULL);
}

int disk_qcow2_open_nobacking(struct disk **out, const char *path, bool readonly)
{
    return disk_open_with(out, path, readonly, open_nobacking, NULL);
}
