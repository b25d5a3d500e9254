/* qcow2: compressed clusters (read side). zlib clusters are raw deflate streams, zstd clusters
 * one zstd frame; both may be followed by padding up to the sector end, so decompression stops
 * when a whole cluster has come out. */
#include <errno.h>
#include <inttypes.h>
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
