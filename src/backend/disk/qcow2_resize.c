/* qcow2: changing the virtual size, growing the L1 table, and emptying an image (after
 * `vessel disk commit`).
 *
 * Order, for crash safety: a new L1 table is written and synced, with the refcounts that
 * account for it, before the header names it; the old one is freed only after. Growing writes
 * the new size last; shrinking writes it first and then drops the clusters past the end, so a
 * crash in between leaves clusters beyond the end that are still counted (harmless), never a
 * mapping to freed space. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "backend/disk/qcow2_int.h"
#include "base/log.h"

int qcow2_settle(struct qcow2 *q)
{
    int err = qcow2_flush_meta(q);

    if (!err)
        err = qcow2_flush_meta(q); /* writes the refcounts the first round's frees changed */
    if (!err && q->data_dirty)
        err = qcow2_sync(q);
    return err;
}

int qcow2_l1_grow(struct qcow2 *q, uint32_t entries)
{
    uint64_t bytes = (uint64_t)entries * 8, n, off, old = q->l1_offset;
    uint64_t old_bytes = (uint64_t)q->l1_size * 8;
    uint64_t *l1;
    uint8_t *buf, hdr[12];
    int err;

    if (entries <= q->l1_size)
        return 0;
    if (bytes > QCOW2_MAX_L1_BYTES) {
        log_err("disk: %s: an L1 table of %u entries is larger than %u MiB", q->path, entries,
                QCOW2_MAX_L1_BYTES >> 20);
        return -EFBIG;
    }
    err = qcow2_settle(q);
    if (err)
        return err;
    n = (bytes + q->cluster_size - 1) >> q->cluster_bits;
    l1 = calloc(entries, 8);
    buf = calloc(n, q->cluster_size);
    if (!l1 || !buf) {
        free(l1);
        free(buf);
        return -ENOMEM;
    }
    memcpy(l1, q->l1, old_bytes);
    for (uint32_t i = 0; i < entries; i++)
        qcow2_put_be64(buf + (size_t)i * 8, l1[i]);
    err = qcow2_alloc_clusters(q, n, &off);
    if (!err)
        err = qcow2_pwrite(q, buf, n << q->cluster_bits, off);
    free(buf);
    if (!err)
        err = qcow2_settle(q); /* the table and its refcounts */
    if (!err)
        err = qcow2_sync(q);
    if (err) {
        free(l1);
        return err;
    }
    hdr[0] = (uint8_t)(entries >> 24);
    hdr[1] = (uint8_t)(entries >> 16);
    hdr[2] = (uint8_t)(entries >> 8);
    hdr[3] = (uint8_t)entries;
    qcow2_put_be64(hdr + 4, off);
    err = qcow2_header_write(q, 36, hdr, sizeof(hdr));
    if (err) {
        free(l1);
        return err;
    }
    free(q->l1);
    q->l1 = l1;
    q->l1_size = entries;
    q->l1_offset = off;
    q->l1_dirty_lo = q->l1_dirty_hi = 0;
    /* the header no longer names the old table */
    return qcow2_rc_add_range(q, old, old_bytes, -1);
}

/* Drops L1 entry i: its L2 table and, through it, this image's references to its data. */
static int drop_l2(struct qcow2 *q, uint32_t i)
{
    uint64_t l2off = q->l1[i] & QCOW2_OFFSET_MASK, n = 1ULL << q->l2_bits;
    struct qcow2_cache_ent *t;
    int err;

    if (!l2off)
        return 0;
    if ((l2off & (q->cluster_size - 1)) || l2off + q->cluster_size > q->file_size ||
        (qcow2_meta_at(q, l2off) & ~QCOW2_META_L2)) {
        log_err("disk: %s: L2 table at 0x%" PRIx64 " is misaligned, past end of file or over "
                "other metadata",
                q->path, l2off);
        return -EIO;
    }
    for (uint64_t j = 0; j < n; j++) {
        uint64_t e, off, len;
        err = qcow2_cache_get(q, &q->l2c, l2off, false, &t);
        if (err)
            return err;
        e = qcow2_be64(t->data + j * 8);
        if (e & QCOW2_OFLAG_COMPRESSED) {
            qcow2_compressed_range(q, e, &off, &len);
            err = qcow2_free_later(q, off, len);
        } else if ((off = e & QCOW2_OFFSET_MASK)) {
            err = qcow2_free_later(q, off, q->cluster_size);
        }
        if (err)
            return err;
    }
    q->l1[i] = 0;
    qcow2_l1_dirty(q, i);
    return qcow2_free_later(q, l2off, q->cluster_size);
}

/* Cuts the file after the last cluster in use. */
static int trim_file(struct qcow2 *q)
{
    uint64_t n = (q->file_size + q->cluster_size - 1) >> q->cluster_bits, rc = 0;
    int err;

    while (n > 1) {
        err = qcow2_rc_get(q, n - 1, &rc);
        if (err)
            return err;
        if (rc || qcow2_meta_at(q, (n - 1) << q->cluster_bits))
            break;
        n--;
    }
    if ((n << q->cluster_bits) >= q->file_size)
        return 0;
    if (ftruncate(q->fd, (off_t)(n << q->cluster_bits)) < 0) {
        err = -errno;
        log_err("disk: %s: truncating: %s", q->path, strerror(errno));
        return err;
    }
    q->file_size = n << q->cluster_bits;
    return 0;
}

static int write_size(struct qcow2 *q, uint64_t size)
{
    uint8_t be[8];

    qcow2_put_be64(be, size);
    return qcow2_header_write(q, 24, be, sizeof(be));
}

static int do_resize(struct disk *d, struct qcow2 *q, uint64_t size)
{
    uint64_t cover = q->cluster_size << q->l2_bits;
    uint64_t need = (size + cover - 1) / cover, keep;
    int err;

    if (q->nb_snapshots) {
        log_err("disk: %s: resizing an image with internal snapshots is not supported (delete "
                "them first)",
                q->path);
        return -ENOTSUP;
    }
    if (!size || (size & 511) || size > (1ULL << 62)) {
        log_err("disk: %s: virtual size %" PRIu64 " is invalid", q->path, size);
        return -EINVAL;
    }
    if (size >= q->size) {
        if (need > q->l1_size) {
            err = qcow2_l1_grow(q, (uint32_t)need);
            if (err)
                return err;
        }
        err = qcow2_settle(q);
        if (!err)
            err = write_size(q, size);
        if (!err)
            q->size = d->size = size;
        return err;
    }
    err = qcow2_settle(q);
    if (!err)
        err = write_size(q, size);
    if (err)
        return err;
    /* from the first whole cluster past the new end: unallocated; whole L2 tables dropped */
    keep = (size + q->cluster_size - 1) & ~(q->cluster_size - 1);
    if (keep < q->size && keep % cover) {
        uint64_t end = (keep / cover + 1) * cover; /* the rest of the boundary L2 table */
        err = qcow2_zero_range(q, keep, (end < q->size ? end : q->size) - keep, true);
    }
    q->size = d->size = size;
    for (uint64_t i = (keep + cover - 1) / cover; !err && i < q->l1_size; i++)
        err = drop_l2(q, (uint32_t)i);
    if (!err)
        err = qcow2_settle(q);
    if (!err)
        err = trim_file(q);
    return err;
}

int disk_qcow2_resize(struct disk *d, uint64_t size)
{
    struct qcow2 *q = qcow2_of(d);
    int err;

    if (q->readonly)
        return -EROFS;
    pthread_mutex_lock(&q->lock);
    err = do_resize(d, q, size);
    pthread_mutex_unlock(&q->lock);
    return err;
}

int disk_qcow2_make_empty(struct disk *d)
{
    struct qcow2 *q = qcow2_of(d);
    int err = 0;

    if (q->readonly)
        return -EROFS;
    pthread_mutex_lock(&q->lock);
    for (uint32_t i = 0; !err && i < q->l1_size; i++)
        err = drop_l2(q, i);
    if (!err)
        err = qcow2_settle(q);
    if (!err)
        err = trim_file(q);
    pthread_mutex_unlock(&q->lock);
    return err;
}
