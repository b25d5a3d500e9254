/* qcow2: compressed clusters (read side). zlib clusters are raw deflate streams, zstd clusters
 * one zstd frame; both may be followed by padding up to the sector end, so decompression stops
 * when a whole cluster has come out. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include "backend/disk/qcow2_int.h"
#include "base/log.h"

static int inflate_cluster(struct qcow2 *q, size_t len)
{
    z_stream zs = {0};
    int ret;

    if (inflateInit2(&zs, -15) != Z_OK)
        return -ENOMEM;
    zs.next_in = q->cbuf;
    zs.avail_in = (uInt)len;
    zs.next_out = q->dbuf;
    zs.avail_out = (uInt)q->cluster_size;
    ret = inflate(&zs, Z_FINISH);
    inflateEnd(&zs);
    if (zs.avail_out != 0 || (ret != Z_STREAM_END && ret != Z_OK && ret != Z_BUF_ERROR))
        return -EIO;
    return 0;
}

static int unzstd_cluster(struct qcow2 *q, size_t len)
{
    ZSTD_inBuffer in = {.src = q->cbuf, .size = len, .pos = 0};
    ZSTD_outBuffer out = {.dst = q->dbuf, .size = q->cluster_size, .pos = 0};

    if (!q->zstd && !(q->zstd = ZSTD_createDCtx()))
        return -ENOMEM;
    ZSTD_DCtx_reset(q->zstd, ZSTD_reset_session_only);
    while (out.pos < out.size) {
        size_t r = ZSTD_decompressStream(q->zstd, &out, &in);
        if (ZSTD_isError(r))
            return -EIO;
        if (out.pos == out.size)
            break;
        if (r == 0 || in.pos == in.size)
            return -EIO; /* frame ended early, or input ran out */
    }
    return 0;
}

int qcow2_decompress(struct qcow2 *q, uint64_t entry)
{
    uint64_t off, len, end;
    int err;

    if (entry == q->dbuf_entry && entry)
        return 0;
    qcow2_compressed_range(q, entry, &off, &len);
    if (len > 2 * q->cluster_size || off < q->cluster_size ||
        __builtin_add_overflow(off, len, &end) || end > q->file_size + 512) {
        log_err("disk: %s: compressed cluster at 0x%" PRIx64 " (%" PRIu64
                " bytes) is invalid or points past end of file",
                q->path, off, len);
        return -EIO;
    }
    q->dbuf_entry = 0;
    err = qcow2_pread(q, q->cbuf, len, off);
    if (err)
        return err;
    err = q->compression_type == QCOW2_COMPRESS_ZSTD ? unzstd_cluster(q, len)
                                                     : inflate_cluster(q, len);
    if (err) {
        log_err("disk: %s: compressed cluster at 0x%" PRIx64 " does not decompress (%s)", q->path,
                off, q->compression_type == QCOW2_COMPRESS_ZSTD ? "zstd" : "zlib");
        return err;
    }
    q->dbuf_entry = entry;
    return 0;
}

void qcow2_compress_free(struct qcow2 *q)
{
    ZSTD_freeDCtx(q->zstd);
    q->zstd = NULL;
}

struct disk_qcow2_deflater {
    z_stream zs;
};

struct disk_qcow2_deflater *disk_qcow2_deflater_new(void)
{
    struct disk_qcow2_deflater *z = calloc(1, sizeof(*z));

    /* raw deflate with a 4 KiB window: what QEMU writes and what every reader inflates */
    if (z && deflateInit2(&z->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) !=
                 Z_OK) {
        free(z);
        z = NULL;
    }
    return z;
}

void disk_qcow2_deflater_free(struct disk_qcow2_deflater *z)
{
    if (!z)
        return;
    deflateEnd(&z->zs);
    free(z);
}

size_t disk_qcow2_compress(struct disk_qcow2_deflater *z, const void *in, size_t cluster_size,
                           void *out, size_t cap)
{
    size_t len = 0;

    /* one stream per thread, reset per cluster: no allocation for each of them */
    if (deflateReset(&z->zs) != Z_OK)
        return 0;
    if (cap > cluster_size - 1)
        cap = cluster_size - 1; /* not smaller than the cluster: store it as it is */
    z->zs.next_in = (Bytef *)in;
    z->zs.avail_in = (uInt)cluster_size;
    z->zs.next_out = out;
    z->zs.avail_out = (uInt)cap;
    if (deflate(&z->zs, Z_FINISH) == Z_STREAM_END)
        len = cap - z->zs.avail_out;
    return len;
}

uint64_t disk_qcow2_cluster_size(struct disk *d)
{
    return qcow2_of(d)->cluster_size;
}

/* len bytes for compressed data, packed after the previous compressed cluster when it fits in
 * the same or the directly following host cluster; each host cluster counts one reference per
 * compressed cluster that touches it. */
static int alloc_bytes(struct qcow2 *q, uint64_t len, uint64_t *out)
{
    uint64_t cs = q->cluster_size, pos = q->cfree, new;
    int err;

    if (pos && (pos & (cs - 1)) + len <= cs) {
        err = qcow2_rc_add_range(q, pos, 1, 1);
    } else {
        err = qcow2_alloc_cluster(q, &new);
        if (!err && pos && new == (pos & ~(cs - 1)) + cs)
            err = qcow2_rc_add_range(q, pos, 1, 1); /* spans the old and the new cluster */
        else
            pos = new;
    }
    if (err)
        return err;
    *out = pos;
    q->cfree = (pos + len) & (cs - 1) ? pos + len : 0;
    return 0;
}

static int write_compressed(struct qcow2 *q, uint64_t off, const void *data, size_t len)
{
    unsigned x = 62 - (q->cluster_bits - 8);
    uint64_t vc = off >> q->cluster_bits, entry, host, nsec;
    enum qcow2_kind kind;
    int err;

    err = qcow2_lookup(q, vc, &entry, &kind);
    if (err)
        return err;
    if (kind != QCOW2_UNALLOC) {
        log_err("disk: %s: compressed data can only go to an unallocated cluster (0x%" PRIx64 ")",
                q->path, off);
        return -EEXIST;
    }
    err = alloc_bytes(q, len, &host);
    if (!err)
        err = qcow2_pwrite(q, data, len, host);
    if (err)
        return err;
    nsec = ((host + len - 1) >> 9) - (host >> 9) + 1;
    return qcow2_set_entry(q, vc, QCOW2_OFLAG_COMPRESSED | ((nsec - 1) << x) | host);
}

int disk_qcow2_write_compressed(struct disk *d, uint64_t off, const void *data, size_t len)
{
    struct qcow2 *q = qcow2_of(d);
    int err;

    if (q->readonly)
        return -EROFS;
    if ((off & (q->cluster_size - 1)) || off >= d->size || !len || len >= q->cluster_size)
        return -EINVAL;
    pthread_mutex_lock(&q->lock);
    err = write_compressed(q, off, data, len);
    pthread_mutex_unlock(&q->lock);
    return err;
}
