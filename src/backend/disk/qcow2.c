/* qcow2 disk images (versions 2 and 3): the disk ops and opening an image. Reads walk the
 * guest range cluster by cluster, merging runs of contiguous host clusters into one preadv;
 * writes go in place into clusters the image owns alone and otherwise into a newly allocated
 * cluster, filled around the written part from the backing file, the decompressed cluster or
 * zeroes (copy-on-write). See qcow2_int.h for locking and crash-consistency rules. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "backend/disk/qcow2_int.h"
#include "base/log.h"

/* A run of guest bytes [pos, pos+len) of the request that maps to host bytes at host. */
struct run {
    uint64_t host;
    size_t pos, len;
};

static int run_io(struct qcow2 *q, struct run *r, const struct iovec *iov, int cnt, bool write)
{
    struct iovec local[64], *v = local;
    int n, err;

    if (!r->len)
        return 0;
    if (cnt > 64 && !(v = malloc(sizeof(*v) * (size_t)cnt)))
        return -ENOMEM;
    n = qcow2_iov_slice(iov, cnt, r->pos, r->len, v, cnt > 64 ? cnt : 64);
    err = n < 0 ? n : write ? qcow2_pwritev(q, v, n, r->host) : qcow2_preadv(q, v, n, r->host);
    if (v != local)
        free(v);
    r->len = 0;
    return err;
}

static bool run_extend(struct run *r, uint64_t host, size_t pos, size_t len)
{
    if (r->len && r->host + r->len == host && r->pos + r->len == pos) {
        r->len += len;
        return true;
    }
    return false;
}

/* Guest bytes [voff, voff+len) from the backing file (zeroes past its end) into buf or iov. */
static int read_backing(struct qcow2 *q, uint64_t voff, size_t len, const struct iovec *iov,
                        int cnt, size_t pos, uint8_t *buf)
{
    struct iovec one = {.iov_base = buf, .iov_len = len}, local[64], *v = local;
    size_t have = 0;
    int n, err = 0;

    if (q->backing && voff < q->backing->size)
        have = q->backing->size - voff < len ? (size_t)(q->backing->size - voff) : len;
    if (have) {
        if (buf) {
            one.iov_len = have;
            err = q->backing->ops->readv(q->backing, voff, &one, 1);
        } else {
            if (cnt > 64 && !(v = malloc(sizeof(*v) * (size_t)cnt)))
                return -ENOMEM;
            n = qcow2_iov_slice(iov, cnt, pos, have, v, cnt > 64 ? cnt : 64);
            err = n < 0 ? n : q->backing->ops->readv(q->backing, voff, v, n);
            if (v != local)
                free(v);
        }
        if (err)
            return err;
    }
    if (buf)
        memset(buf + have, 0, len - have);
    else
        qcow2_iov_zero(iov, cnt, pos + have, len - have);
    return 0;
}

static size_t iov_total(const struct iovec *iov, int cnt)
{
    size_t t = 0;

    for (int i = 0; i < cnt; i++)
        t += iov[i].iov_len;
    return t;
}

static int check_range(struct disk *d, uint64_t off, uint64_t len)
{
    uint64_t end;

    if (__builtin_add_overflow(off, len, &end) || end > d->size)
        return -EINVAL;
    return 0;
}

static int do_read(struct qcow2 *q, uint64_t off, const struct iovec *iov, int cnt, size_t total)
{
    struct run r = {0};
    size_t pos = 0;
    int err = 0;

    while (pos < total && !err) {
        uint64_t voff = off + pos, vc = voff >> q->cluster_bits, entry, host;
        size_t coff = voff & (q->cluster_size - 1), n = q->cluster_size - coff;
        enum qcow2_kind kind;

        if (n > total - pos)
            n = total - pos;
        err = qcow2_lookup(q, vc, &entry, &kind);
        if (err)
            break;
        if (kind == QCOW2_NORMAL) {
            host = entry & QCOW2_OFFSET_MASK;
            err = qcow2_check_data_offset(q, host, vc);
            if (!err && !run_extend(&r, host + coff, pos, n)) {
                err = run_io(q, &r, iov, cnt, false);
                r = (struct run){.host = host + coff, .pos = pos, .len = n};
            }
            pos += n;
            continue;
        }
        err = run_io(q, &r, iov, cnt, false);
        if (err)
            break;
        if (kind == QCOW2_ZERO) {
            qcow2_iov_zero(iov, cnt, pos, n);
        } else if (kind == QCOW2_UNALLOC) {
            err = read_backing(q, voff, n, iov, cnt, pos, NULL);
        } else {
            err = qcow2_decompress(q, entry);
            if (!err)
                qcow2_iov_copy(iov, cnt, pos, q->dbuf + coff, n, true);
        }
        pos += n;
    }
    if (!err)
        err = run_io(q, &r, iov, cnt, false);
    return err;
}

static int qcow2_readv(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
    struct qcow2 *q = qcow2_of(d);
    size_t total = iov_total(iov, iovcnt);
    int err = check_range(d, off, total);

    if (err)
        return err;
    pthread_mutex_lock(&q->lock);
    err = do_read(q, off, iov, iovcnt, total);
    pthread_mutex_unlock(&q->lock);
    return err;
}

/* Write n bytes (from iov at pos, or zeroes when iov is NULL) into guest cluster vc at coff,
 * into a newly allocated cluster: the rest of the cluster comes from what the guest saw there
 * before (backing file, decompressed data, the old shared cluster, or zeroes). */
static int write_cow(struct qcow2 *q, uint64_t vc, size_t coff, size_t n, const struct iovec *iov,
                     int cnt, size_t pos, uint64_t entry, enum qcow2_kind kind)
{
    uint64_t voff = vc << q->cluster_bits, new, old = entry &QCOW2_OFFSET_MASK;
    uint64_t prev_end = q->file_size;
    bool full = coff == 0 && n == q->cluster_size;
    struct run r;
    int err;

    err = qcow2_alloc_cluster(q, &new);
    if (err)
        return err;
    if (full && iov) {
        r = (struct run){.host = new, .pos = pos, .len = n};
        err = run_io(q, &r, iov, cnt, true);
    } else if (!full && iov && new >= prev_end &&
               (kind == QCOW2_ZERO || (kind == QCOW2_UNALLOC && !q->backing))) {
        /* a cluster past the old end of file already reads as zeroes */
        r = (struct run){.host = new + coff, .pos = pos, .len = n};
        err = run_io(q, &r, iov, cnt, true);
    } else {
        if (full || kind == QCOW2_ZERO) {
            memset(q->bounce, 0, q->cluster_size);
        } else if (kind == QCOW2_UNALLOC) {
            err = read_backing(q, voff, q->cluster_size, NULL, 0, 0, q->bounce);
        } else if (kind == QCOW2_COMPRESSED) {
            err = qcow2_decompress(q, entry);
            if (!err)
                memcpy(q->bounce, q->dbuf, q->cluster_size);
        } else {
            err = qcow2_check_data_offset(q, old, vc);
            if (!err)
                err = qcow2_pread(q, q->bounce, q->cluster_size, old);
        }
        if (err)
            return err;
        if (iov)
            qcow2_iov_copy(iov, cnt, pos, q->bounce + coff, n, false);
        else
            memset(q->bounce + coff, 0, n);
        err = qcow2_pwrite(q, q->bounce, q->cluster_size, new);
    }
    if (err)
        return err;
    /* the data is written; the mapping follows it (to disk at the next flush) */
    err = qcow2_set_entry(q, vc, new | QCOW2_OFLAG_COPIED);
    if (err)
        return err;
    if (kind == QCOW2_COMPRESSED) {
        uint64_t coff2, clen;
        qcow2_compressed_range(q, entry, &coff2, &clen);
        return qcow2_free_later(q, coff2, clen);
    }
    if (old && kind != QCOW2_UNALLOC)
        return qcow2_free_later(q, old, q->cluster_size);
    return 0;
}

/* Is guest cluster vc, with entry/kind, one a whole-cluster write can simply take a new
 * cluster for (nothing to copy, nothing to free)? */
static bool fresh_target(struct qcow2 *q, uint64_t entry, enum qcow2_kind kind)
{
    return kind == QCOW2_UNALLOC || (kind == QCOW2_ZERO && !(entry & QCOW2_OFFSET_MASK));
}

/* Whole clusters from guest cluster vc on, written from iov at pos (avail bytes left): when
 * at least two in a row need new clusters, they get contiguous ones and one write (data first,
 * then the mappings). Returns the bytes done (0: not such a case) or -errno. */
static ssize_t write_fresh_run(struct qcow2 *q, uint64_t vc, const struct iovec *iov, int cnt,
                               size_t pos, size_t avail)
{
    uint64_t k = 0, max = avail >> q->cluster_bits, entry, host;
    enum qcow2_kind kind;
    struct run r;
    int err;

    if (max > 512)
        max = 512;
    if (max > (1ULL << q->rb_bits) / 4) /* first fit finds it between refcount blocks */
        max = (1ULL << q->rb_bits) / 4;
    while (k < max) {
        err = qcow2_lookup(q, vc + k, &entry, &kind);
        if (err)
            return err;
        if (!fresh_target(q, entry, kind))
            break;
        k++;
    }
    if (k < 2)
        return 0;
    err = qcow2_alloc_clusters(q, k, &host);
    if (err)
        return err;
    r = (struct run){.host = host, .pos = pos, .len = k << q->cluster_bits};
    err = run_io(q, &r, iov, cnt, true);
    for (uint64_t j = 0; !err && j < k; j++)
        err = qcow2_set_entry(q, vc + j, (host + (j << q->cluster_bits)) | QCOW2_OFLAG_COPIED);
    return err ? err : (ssize_t)(k << q->cluster_bits);
}

int qcow2_write(struct qcow2 *q, uint64_t off, const struct iovec *iov, int cnt, size_t total)
{
    struct run r = {0};
    size_t pos = 0;
    int err = 0;

    while (pos < total && !err) {
        uint64_t voff = off + pos, vc = voff >> q->cluster_bits, entry, host, rc;
        size_t coff = voff & (q->cluster_size - 1), n = q->cluster_size - coff;
        enum qcow2_kind kind;

        if (n > total - pos)
            n = total - pos;
        err = qcow2_lookup(q, vc, &entry, &kind);
        if (err)
            break;
        if (iov && coff == 0 && n == q->cluster_size && fresh_target(q, entry, kind)) {
            ssize_t done;
            err = run_io(q, &r, iov, cnt, true);
            done = err ? err : write_fresh_run(q, vc, iov, cnt, pos, total - pos);
            if (done < 0)
                err = (int)done;
            pos += done > 0 ? (size_t)done : 0;
            if (done != 0)
                continue;
        }
        host = entry & QCOW2_OFFSET_MASK;
        if (kind == QCOW2_NORMAL && !(entry & QCOW2_OFLAG_COPIED)) {
            err = qcow2_rc_get(q, host >> q->cluster_bits, &rc);
            if (!err && rc == 1) {
                entry |= QCOW2_OFLAG_COPIED; /* owned after all: fix the flag */
                err = qcow2_set_entry(q, vc, entry);
            }
            if (err)
                break;
        }
        if (kind == QCOW2_NORMAL && (entry & QCOW2_OFLAG_COPIED) && !iov) {
            err = run_io(q, &r, iov, cnt, true);
            if (!err)
                err = qcow2_check_data_offset(q, host, vc);
            if (!err) {
                memset(q->bounce, 0, n);
                err = qcow2_pwrite(q, q->bounce, n, host + coff);
            }
        } else if (kind == QCOW2_NORMAL && (entry & QCOW2_OFLAG_COPIED)) {
            err = qcow2_check_data_offset(q, host, vc);
            if (!err && !run_extend(&r, host + coff, pos, n)) {
                err = run_io(q, &r, iov, cnt, true);
                r = (struct run){.host = host + coff, .pos = pos, .len = n};
            }
        } else {
            err = run_io(q, &r, iov, cnt, true);
            if (!err)
                err = write_cow(q, vc, coff, n, iov, cnt, pos, entry, kind);
        }
        pos += n;
    }
    if (!err)
        err = run_io(q, &r, iov, cnt, true);
    return err;
}

static int qcow2_writev(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
    struct qcow2 *q = qcow2_of(d);
    size_t total = iov_total(iov, iovcnt);
    int err = check_range(d, off, total);

    if (err)
        return err;
    if (q->readonly)
        return -EROFS;
    pthread_mutex_lock(&q->lock);
    err = qcow2_write(q, off, iov, iovcnt, total);
    pthread_mutex_unlock(&q->lock);
    return err;
}

static int qcow2_zero_op(struct disk *d, uint64_t off, uint64_t len)
{
    struct qcow2 *q = qcow2_of(d);
    int err = check_range(d, off, len);

    if (err)
        return err;
    if (q->readonly)
        return -EROFS;
    pthread_mutex_lock(&q->lock);
    err = qcow2_zero_range(q, off, len, false);
    pthread_mutex_unlock(&q->lock);
    return err;
}

static int qcow2_flush(struct disk *d)
{
    struct qcow2 *q = qcow2_of(d);
    int err = 0;

    if (q->readonly)
        return 0;
    pthread_mutex_lock(&q->lock);
    err = qcow2_flush_meta(q);
    if (!err && q->data_dirty)
        err = qcow2_sync(q);
    pthread_mutex_unlock(&q->lock);
    return err;
}

static void qcow2_free(struct qcow2 *q)
{
    if (q->backing)
        disk_close(q->backing);
    qcow2_cache_free(&q->l2c);
    qcow2_cache_free(&q->rbc);
    qcow2_compress_free(q);
    qcow2_meta_free(q);
    qcow2_snap_free(q->snaps, q->nb_snapshots);
    free(q->l1);
    free(q->rt);
    free(q->pending_free);
    free(q->backing_name);
    free(q->backing_path);
    free(q->bounce);
    free(q->l2copy);
    free(q->cbuf);
    free(q->dbuf);
    pthread_mutex_destroy(&q->lock);
    if (q->fd >= 0)
        close(q->fd);
    free(q);
}

static void qcow2_close(struct disk *d)
{
    struct qcow2 *q = qcow2_of(d);

    if (!q->readonly) {
        /* the second flush writes the refcount decrements the first one applied */
        if (!qcow2_flush_meta(q))
            qcow2_flush_meta(q);
        if (q->data_dirty)
            qcow2_sync(q);
    }
    qcow2_free(q);
    d->priv = NULL;
}

static int qcow2_extent_op(struct disk *d, uint64_t off, uint64_t len, struct disk_extent *e)
{
    struct qcow2 *q = qcow2_of(d);
    int err = check_range(d, off, len);

    if (err)
        return err;
    pthread_mutex_lock(&q->lock);
    err = qcow2_extent(q, off, len, e);
    pthread_mutex_unlock(&q->lock);
    return err;
}

static const struct disk_ops qcow2_ops = {
    .name = "qcow2",
    .readv = qcow2_readv,
    .writev = qcow2_writev,
    .flush = qcow2_flush,
    .discard = qcow2_zero_op,
    .write_zeroes = qcow2_zero_op,
    .close = qcow2_close,
    .extent = qcow2_extent_op,
    .resize = disk_qcow2_resize,
};

static int load_tables(struct qcow2 *q)
{
    uint8_t *buf;
    size_t l1b = (size_t)q->l1_size * 8, rtb = (size_t)q->rt_entries * 8;
    int err;

    q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
    q->rt = calloc(q->rt_entries, 8);
    buf = malloc(l1b > rtb ? l1b : rtb);
    if (!q->l1 || !q->rt || !buf) {
        free(buf);
        return -ENOMEM;
    }
    err = qcow2_pread(q, buf, l1b, q->l1_offset);
    for (size_t i = 0; !err && i < q->l1_size; i++)
        q->l1[i] = qcow2_be64(buf + i * 8);
    if (!err)
        err = qcow2_pread(q, buf, rtb, q->rt_offset);
    for (size_t i = 0; !err && i < q->rt_entries; i++)
        q->rt[i] = qcow2_be64(buf + i * 8);
    free(buf);
    return err;
}

int qcow2_open_fd(struct disk *d, int fd, unsigned flags, const struct qcow2_chain *chain)
{
    struct qcow2_chain self;
    struct qcow2 *q;
    struct stat st;
    uint8_t *hdr = NULL, head[QCOW2_V3_HEADER_LEN];
    uint32_t cb;
    unsigned l2n;
    int err;

    q = calloc(1, sizeof(*q));
    if (!q) {
        close(fd);
        return -ENOMEM;
    }
    q->fd = fd;
    q->path = d->path;
    q->readonly = d->readonly;
    pthread_mutex_init(&q->lock, NULL);
    if (fstat(fd, &st) < 0) {
        err = -errno;
        goto fail;
    }
    q->file_size = (uint64_t)st.st_size;
    self = (struct qcow2_chain){.next = chain,
                                .dev = (uint64_t)st.st_dev,
                                .ino = (uint64_t)st.st_ino,
                                .depth = chain ? chain->depth + 1 : 0};
    err = -EINVAL;
    if (q->file_size < QCOW2_V2_HEADER_LEN) {
        log_err("disk: %s: file of %" PRIu64 " bytes is too short for a qcow2 header", d->path,
                q->file_size);
        goto fail;
    }
    err = qcow2_pread(q, head, sizeof(head), 0);
    if (err)
        goto fail;
    cb = (uint32_t)head[20] << 24 | (uint32_t)head[21] << 16 | (uint32_t)head[22] << 8 | head[23];
    if (memcmp(head, "QFI\xfb", 4) || cb < QCOW2_MIN_CLUSTER_BITS || cb > QCOW2_MAX_CLUSTER_BITS) {
        log_err("disk: %s: not a qcow2 image (bad magic or cluster size 2^%u)", d->path, cb);
        err = -EINVAL;
        goto fail;
    }
    hdr = malloc(1ULL << cb);
    err = hdr ? qcow2_pread(q, hdr, 1ULL << cb, 0) : -ENOMEM;
    if (!err)
        err = qcow2_parse_header(q, hdr, q->file_size);
    free(hdr);
    if (err)
        goto fail;
    err = load_tables(q);
    if (!err)
        err = qcow2_snap_load(q);
    if (!err)
        err = qcow2_meta_init(q);
    if (err)
        goto fail;
    /* enough L2 tables to map the whole disk, within 32 MiB */
    l2n = q->l1_size < 16 ? 16 : q->l1_size;
    if ((uint64_t)l2n << q->cluster_bits > (32u << 20))
        l2n = (unsigned)((32u << 20) >> q->cluster_bits) < 16
                  ? 16
                  : (unsigned)((32u << 20) >> q->cluster_bits);
    err = qcow2_cache_init(q, &q->l2c, l2n);
    if (!err)
        err = qcow2_cache_init(q, &q->rbc, 16);
    q->bounce = malloc(q->cluster_size);
    q->l2copy = malloc(q->cluster_size);
    q->cbuf = malloc(2 * q->cluster_size + 512);
    q->dbuf = malloc(q->cluster_size);
    if (!err && (!q->bounce || !q->l2copy || !q->cbuf || !q->dbuf))
        err = -ENOMEM;
    if (err)
        goto fail;
    if (!q->readonly && q->version >= 3 && q->autoclear) {
        /* features this implementation does not maintain (bitmaps) become invalid */
        uint8_t zero[8] = {0};
        err = qcow2_pwrite(q, zero, 8, 88);
        if (!err)
            err = qcow2_sync(q);
        if (err)
            goto fail;
        q->autoclear = 0;
    }
    if (q->backing_name && !(flags & QCOW2_OPEN_NO_BACKING)) {
        err = qcow2_open_backing(q, &self);
        if (err)
            goto fail;
    }
    d->priv = q;
    d->ops = &qcow2_ops;
    d->size = q->size;
    d->backing = q->backing;
    return 0;
fail:
    qcow2_free(q);
    return err;
}

int disk_qcow2_open(struct disk *d, int fd)
{
    return qcow2_open_fd(d, fd, 0, NULL);
}
