/* qcow2: refcounts and cluster allocation.
 *
 * Refcount blocks go through the refcount-block cache. A missing refcount block (table entry
 * 0) means every cluster it covers is free; when one is needed it is placed in the first
 * cluster of the range it covers (which is free by definition) and so accounts for itself.
 * A full refcount table is replaced by a larger one placed, together with a new refcount block
 * that covers it, just past the range the old table could describe. Both are written and
 * synced before anything points at them. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/disk/qcow2_int.h"
#include "base/log.h"

#define MAX_HOST_OFFSET (1ULL << 56)

static uint64_t rb_read(const struct qcow2 *q, const uint8_t *b, uint64_t i)
{
    switch (q->refcount_order) {
    case 0: return (b[i / 8] >> (i % 8)) & 1;
    case 1: return (b[i / 4] >> (2 * (i % 4))) & 3;
    case 2: return (b[i / 2] >> (4 * (i % 2))) & 15;
    case 3: return b[i];
    case 4: return (uint64_t)b[2 * i] << 8 | b[2 * i + 1];
    case 5:
        return (uint64_t)b[4 * i] << 24 | (uint64_t)b[4 * i + 1] << 16 |
               (uint64_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    default: return qcow2_be64(b + 8 * i);
    }
}

void qcow2_rb_write(unsigned order, uint8_t *b, uint64_t i, uint64_t v)
{
    unsigned sh;

    switch (order) {
    case 0:
    case 1:
    case 2: {
        unsigned bits = 1u << order, per = 8 / bits;
        uint8_t mask = (uint8_t)((1u << bits) - 1);
        sh = bits * (unsigned)(i % per);
        b[i / per] = (uint8_t)((b[i / per] & ~(mask << sh)) | ((v & mask) << sh));
        break;
    }
    case 3: b[i] = (uint8_t)v; break;
    case 4:
        b[2 * i] = (uint8_t)(v >> 8);
        b[2 * i + 1] = (uint8_t)v;
        break;
    case 5:
        for (int k = 0; k < 4; k++)
            b[4 * i + (uint64_t)k] = (uint8_t)(v >> (24 - 8 * k));
        break;
    default: qcow2_put_be64(b + 8 * i, v); break;
    }
}

static uint64_t rc_max(const struct qcow2 *q)
{
    return q->refcount_order == 6 ? UINT64_MAX : (1ULL << (1u << q->refcount_order)) - 1;
}

/* The cached refcount block covering cluster, or *out NULL when none is allocated. */
static int block_of(struct qcow2 *q, uint64_t cluster, struct qcow2_cache_ent **out)
{
    uint64_t rti = cluster >> q->rb_bits, ent, boff, end;

    *out = NULL;
    if (rti >= q->rt_entries)
        return 0;
    ent = q->rt[rti];
    boff = ent & QCOW2_RT_OFFSET_MASK;
    if (!boff)
        return 0;
    if ((ent & 511) || (boff & (q->cluster_size - 1)) ||
        __builtin_add_overflow(boff, q->cluster_size, &end) || end > q->file_size ||
        (qcow2_meta_at(q, boff) & ~QCOW2_META_RB)) {
        log_err("disk: %s: refcount block at 0x%" PRIx64 " (table entry %" PRIu64
                ") is invalid or points past end of file",
                q->path, boff, rti);
        return -EIO;
    }
    return qcow2_cache_get(q, &q->rbc, boff, false, out);
}

int qcow2_rc_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc)
{
    struct qcow2_cache_ent *e;
    int err = block_of(q, cluster, &e);

    if (err)
        return err;
    *rc = e ? rb_read(q, e->data, cluster & ((1ULL << q->rb_bits) - 1)) : 0;
    return 0;
}

static int write_rt_entry(struct qcow2 *q, uint64_t rti)
{
    uint8_t be[8];

    qcow2_put_be64(be, q->rt[rti]);
    return qcow2_pwrite(q, be, 8, q->rt_offset + rti * 8);
}

static int grow_table(struct qcow2 *q, uint64_t rti)
{
    uint64_t entries = q->rt_entries * 2, k, kbytes, nc, bytes, *nrt;
    uint8_t *blk, *tbl, hdr[12];
    int err;

    if (entries < rti + 1)
        entries = rti + 1;
    bytes = (entries * 8 + q->cluster_size - 1) & ~(q->cluster_size - 1);
    nc = bytes >> q->cluster_bits;
    entries = bytes / 8;
    k = q->rt_entries << q->rb_bits;
    if (bytes > QCOW2_MAX_RT_BYTES || nc + 1 > (1ULL << q->rb_bits) ||
        (k >> q->rb_bits) != q->rt_entries || __builtin_mul_overflow(k, q->cluster_size, &kbytes) ||
        kbytes + (nc + 1) * q->cluster_size > MAX_HOST_OFFSET) {
        log_err("disk: %s: the refcount table cannot grow any further", q->path);
        return -EFBIG;
    }
    blk = calloc(1, q->cluster_size);
    tbl = calloc(1, bytes);
    nrt = calloc(entries, 8);
    if (!blk || !tbl || !nrt) {
        err = -ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i <= nc; i++)
        qcow2_rb_write(q->refcount_order, blk, i, 1);
    memcpy(nrt, q->rt, q->rt_entries * 8);
    nrt[q->rt_entries] = kbytes;
    for (uint64_t i = 0; i < entries; i++)
        qcow2_put_be64(tbl + i * 8, nrt[i]);
    err = qcow2_pwrite(q, blk, q->cluster_size, kbytes);
    if (!err)
        err = qcow2_pwrite(q, tbl, bytes, kbytes + q->cluster_size);
    if (!err)
        err = qcow2_sync(q);
    if (err)
        goto out;
    qcow2_put_be64(hdr, kbytes + q->cluster_size);
    hdr[8] = (uint8_t)(nc >> 24);
    hdr[9] = (uint8_t)(nc >> 16);
    hdr[10] = (uint8_t)(nc >> 8);
    hdr[11] = (uint8_t)nc;
    err = qcow2_pwrite(q, hdr, sizeof(hdr), 48);
    if (!err)
        err = qcow2_sync(q);
    if (err)
        goto out;
    /* the old table is free once the header no longer names it */
    err = qcow2_free_later(q, q->rt_offset, (uint64_t)q->rt_clusters << q->cluster_bits);
    if (!err)
        err = qcow2_meta_add(q, kbytes, QCOW2_META_RB);
    free(q->rt);
    q->rt = nrt;
    nrt = NULL;
    q->rt_entries = entries;
    q->rt_offset = kbytes + q->cluster_size;
    q->rt_clusters = (uint32_t)nc;
out:
    if (err)
        log_err("disk: %s: growing the refcount table: %s", q->path, strerror(-err));
    free(blk);
    free(tbl);
    free(nrt);
    return err;
}

/* Make sure the refcount block covering cluster exists. */
static int ensure_block(struct qcow2 *q, uint64_t cluster)
{
    uint64_t rti = cluster >> q->rb_bits, first, boff;
    struct qcow2_cache_ent *e;
    int err;

    if (rti >= q->rt_entries) {
        err = grow_table(q, rti);
        if (err)
            return err;
    }
    if (q->rt[rti] & QCOW2_RT_OFFSET_MASK)
        return 0;
    first = rti << q->rb_bits;
    for (boff = first << q->cluster_bits; qcow2_meta_at(q, boff); boff += q->cluster_size) {
        if (((boff >> q->cluster_bits) >> q->rb_bits) != rti)
            return -EIO;
    }
    if (boff + q->cluster_size > MAX_HOST_OFFSET)
        return -EFBIG;
    err = qcow2_cache_get(q, &q->rbc, boff, true, &e);
    if (err)
        return err;
    qcow2_rb_write(q->refcount_order, e->data, (boff >> q->cluster_bits) - first, 1);
    /* durable before the table entry names it */
    err = qcow2_pwrite(q, e->data, q->cluster_size, boff);
    if (!err)
        err = qcow2_sync(q);
    if (err) {
        qcow2_cache_drop(&q->rbc, boff);
        return err;
    }
    q->rt[rti] = boff;
    err = qcow2_meta_add(q, boff, QCOW2_META_RB);
    return err ? err : write_rt_entry(q, rti);
}

int qcow2_rc_set(struct qcow2 *q, uint64_t cluster, uint64_t rc)
{
    struct qcow2_cache_ent *e;
    int err;

    if (rc > rc_max(q))
        return -ERANGE;
    if (rc) {
        err = ensure_block(q, cluster);
        if (err)
            return err;
    }
    err = block_of(q, cluster, &e);
    if (err || !e)
        return err;
    qcow2_rb_write(q->refcount_order, e->data, cluster & ((1ULL << q->rb_bits) - 1), rc);
    e->dirty = true;
    return 0;
}

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *off)
{
    uint64_t idx = q->free_hint, rc, end;
    int err;

    for (;; idx++) {
        uint64_t byte = idx << q->cluster_bits;
        if (byte + q->cluster_size > MAX_HOST_OFFSET) {
            log_err("disk: %s: no free cluster below 64 PiB", q->path);
            return -ENOSPC;
        }
        /* metadata with a (corrupt) refcount of 0 is still not free */
        if (byte == 0 || qcow2_meta_at(q, byte))
            continue;
        err = qcow2_rc_get(q, idx, &rc);
        if (err)
            return err;
        if (rc)
            continue;
        err = ensure_block(q, idx);
        if (err)
            return err;
        err = qcow2_rc_get(q, idx, &rc); /* the new block may have taken idx itself */
        if (err)
            return err;
        if (!rc)
            break;
    }
    err = qcow2_rc_set(q, idx, 1);
    if (err)
        return err;
    q->free_hint = idx + 1;
    *off = idx << q->cluster_bits;
    end = *off + q->cluster_size;
    if (end > q->file_size) {
        if (ftruncate(q->fd, (off_t)end) < 0) {
            err = -errno;
            log_err("disk: %s: extending the file: %s", q->path, strerror(errno));
            return err;
        }
        q->file_size = end;
    }
    return 0;
}

/* A run of n clusters too long to fit between the refcount blocks that sit at the start of
 * each block's range: it goes into fresh ranges past the end of the file, R0..Rm, whose m + 1
 * new refcount blocks come first, in R0 (where block 0 counts them all), then the run. */
static int alloc_big(struct qcow2 *q, uint64_t n, uint64_t *off)
{
    uint64_t per = 1ULL << q->rb_bits, r0, m, first, end, base;
    uint64_t fsize = (q->file_size + q->cluster_size - 1) >> q->cluster_bits;
    int err;

    for (m = 0; (m + 1) * per < m + 1 + n; m++)
        ;
    for (;;) {
        fsize = (q->file_size + q->cluster_size - 1) >> q->cluster_bits;
        r0 = (fsize + per - 1) / per;
        while (r0 < q->rt_entries && (q->rt[r0] & QCOW2_RT_OFFSET_MASK))
            r0++;
        if (r0 + m < q->rt_entries) {
            bool busy = false;
            for (uint64_t r = r0; r <= r0 + m; r++)
                busy |= (q->rt[r] & QCOW2_RT_OFFSET_MASK) != 0;
            if (!busy)
                break;
            r0 += m + 1; /* a range in the way already has a block: look further */
            if (r0 + m < q->rt_entries)
                continue;
        }
        err = grow_table(q, r0 + m); /* places things past the end: then look again */
        if (err)
            return err;
    }
    first = r0 * per;
    base = first << q->cluster_bits;
    if (((first + m + 1 + n) << q->cluster_bits) > MAX_HOST_OFFSET)
        return -EFBIG;
    for (uint64_t i = 0; i <= m; i++) {
        struct qcow2_cache_ent *e;
        uint64_t lo = (r0 + i) * per, hi = lo + per, boff = base + (i << q->cluster_bits);
        err = qcow2_cache_get(q, &q->rbc, boff, true, &e);
        if (err)
            return err;
        /* this range's share of the blocks and of the run */
        for (uint64_t c = lo; c < hi && c < first + m + 1 + n; c++)
            qcow2_rb_write(q->refcount_order, e->data, c - lo, 1);
        err = qcow2_pwrite(q, e->data, q->cluster_size, boff);
        if (!err)
            err = qcow2_meta_add(q, boff, QCOW2_META_RB);
        if (err) {
            qcow2_cache_drop(&q->rbc, boff);
            return err;
        }
    }
    err = qcow2_sync(q); /* the blocks are durable before the table names them */
    for (uint64_t i = 0; !err && i <= m; i++) {
        q->rt[r0 + i] = base + (i << q->cluster_bits);
        err = write_rt_entry(q, r0 + i);
    }
    if (err)
        return err;
    *off = (first + m + 1) << q->cluster_bits;
    end = *off + (n << q->cluster_bits);
    if (end > q->file_size) {
        if (ftruncate(q->fd, (off_t)end) < 0) {
            err = -errno;
            log_err("disk: %s: extending the file: %s", q->path, strerror(errno));
            return err;
        }
        q->file_size = end;
    }
    return 0;
}

int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *off)
{
    uint64_t start = q->free_hint, hint = q->free_hint, rc, end;
    int err;

    if (n == 1)
        return qcow2_alloc_cluster(q, off);
    if (n == 0 || n > (MAX_HOST_OFFSET >> q->cluster_bits))
        return -EINVAL;
    if (n > (1ULL << q->rb_bits) / 4)
        return alloc_big(q, n, off);
    /* first fit: a run of n free clusters; creating a refcount block inside the candidate run
     * takes one of its clusters, which the recheck then finds */
    for (uint64_t i = 0; i < n;) {
        uint64_t idx = start + i, byte = idx << q->cluster_bits;
        if (byte + q->cluster_size > MAX_HOST_OFFSET) {
            log_err("disk: %s: no %" PRIu64 " free clusters below 64 PiB", q->path, n);
            return -ENOSPC;
        }
        if (byte == 0 || qcow2_meta_at(q, byte)) {
            start = idx + 1;
            i = 0;
            continue;
        }
        err = qcow2_rc_get(q, idx, &rc);
        if (!err && !rc)
            err = ensure_block(q, idx);
        if (!err && !rc)
            err = qcow2_rc_get(q, idx, &rc);
        if (err)
            return err;
        if (rc) {
            start = idx + 1;
            i = 0;
            continue;
        }
        i++;
    }
    for (uint64_t i = 0; i < n; i++) {
        err = qcow2_rc_set(q, start + i, 1);
        if (err)
            return err;
    }
    if (hint == start)
        q->free_hint = start + n;
    *off = start << q->cluster_bits;
    end = *off + (n << q->cluster_bits);
    if (end > q->file_size) {
        if (ftruncate(q->fd, (off_t)end) < 0) {
            err = -errno;
            log_err("disk: %s: extending the file: %s", q->path, strerror(errno));
            return err;
        }
        q->file_size = end;
    }
    return 0;
}

int qcow2_rc_add_range(struct qcow2 *q, uint64_t off, uint64_t len, int delta)
{
    uint64_t first, last, rc;
    int err;

    if (!len)
        return 0;
    first = off >> q->cluster_bits;
    last = (off + len - 1) >> q->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        err = qcow2_rc_get(q, c, &rc);
        if (err)
            return err;
        if (delta < 0 && rc < (uint64_t)-delta) {
            log_warn("disk: %s: cluster 0x%" PRIx64 " has refcount %" PRIu64
                     ", too small to drop by %d",
                     q->path, c << q->cluster_bits, rc, -delta);
            continue;
        }
        if (delta > 0 && rc + (uint64_t)delta < rc)
            return -ERANGE;
        rc += (uint64_t)(int64_t)delta;
        err = qcow2_rc_set(q, c, rc);
        if (err) {
            if (err == -ERANGE)
                log_err("disk: %s: the refcount of cluster 0x%" PRIx64 " would overflow its %u "
                        "bits",
                        q->path, c << q->cluster_bits, 1u << q->refcount_order);
            return err;
        }
        if (rc == 0) {
            qcow2_meta_forget(q, c << q->cluster_bits);
            if ((q->cfree >> q->cluster_bits) == c)
                q->cfree = 0;
            qcow2_cache_drop(&q->l2c, c << q->cluster_bits);
            if (c < q->free_hint)
                q->free_hint = c;
        }
    }
    q->dbuf_entry = 0;
    return 0;
}

int qcow2_free_later(struct qcow2 *q, uint64_t off, uint64_t len)
{
    uint64_t first, last;

    if (!len)
        return 0;
    first = off >> q->cluster_bits;
    last = (off + len - 1) >> q->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        if (q->n_pending == q->cap_pending) {
            size_t cap = q->cap_pending ? q->cap_pending * 2 : 64;
            uint64_t *p = realloc(q->pending_free, cap * sizeof(*p));
            if (!p)
                return -ENOMEM; /* a leak, not a corruption */
            q->pending_free = p;
            q->cap_pending = cap;
        }
        q->pending_free[q->n_pending++] = c;
        qcow2_cache_drop(&q->l2c, c << q->cluster_bits);
        qcow2_cache_drop(&q->rbc, c << q->cluster_bits);
    }
    q->dbuf_entry = 0;
    return 0;
}

int qcow2_apply_pending_frees(struct qcow2 *q)
{
    int err = 0;

    for (size_t i = 0; i < q->n_pending && !err; i++) {
        uint64_t c = q->pending_free[i], rc;
        err = qcow2_rc_get(q, c, &rc);
        if (err)
            break;
        if (rc == 0) {
            log_warn("disk: %s: freeing cluster 0x%" PRIx64 " whose refcount is already 0", q->path,
                     c << q->cluster_bits);
            continue;
        }
        err = qcow2_rc_set(q, c, rc - 1);
        if (!err && rc == 1) {
            qcow2_meta_forget(q, c << q->cluster_bits);
            if ((q->cfree >> q->cluster_bits) == c)
                q->cfree = 0;
            if (c < q->free_hint)
                q->free_hint = c;
        }
    }
    q->n_pending = 0;
    return err;
}

void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len)
{
    unsigned x = 62 - (q->cluster_bits - 8);
    uint64_t start = entry & ((1ULL << x) - 1);
    uint64_t nsec = ((entry >> x) & ((1ULL << (62 - x)) - 1)) + 1;

    *off = start;
    *len = (start & ~511ULL) + nsec * 512 - start;
}
