/* qcow2: guest-to-host mapping through the L1 table and the L2-table cache. Every L2 table
 * offset and data cluster offset read from the file is checked before it is used. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "backend/disk/qcow2_int.h"
#include "base/log.h"

static void l1_mark_dirty(struct qcow2 *q, uint32_t i)
{
    if (q->l1_dirty_lo >= q->l1_dirty_hi) {
        q->l1_dirty_lo = i;
        q->l1_dirty_hi = i + 1;
        return;
    }
    if (i < q->l1_dirty_lo)
        q->l1_dirty_lo = i;
    if (i + 1 > q->l1_dirty_hi)
        q->l1_dirty_hi = i + 1;
}

static int check_meta_offset(struct qcow2 *q, const char *what, uint64_t off)
{
    uint64_t end;

    if ((off & (q->cluster_size - 1)) || __builtin_add_overflow(off, q->cluster_size, &end) ||
        end > q->file_size) {
        log_err("disk: %s: %s at 0x%" PRIx64 " is misaligned or points past end of file", q->path,
                what, off);
        return -EIO;
    }
    if (qcow2_overlaps_fixed(q, off, q->cluster_size)) {
        log_err("disk: %s: %s at 0x%" PRIx64 " overlaps the header, L1 or refcount table", q->path,
                what, off);
        return -EIO;
    }
    return 0;
}

int qcow2_check_data_offset(struct qcow2 *q, uint64_t off, uint64_t vc)
{
    uint64_t end;

    if ((off & (q->cluster_size - 1)) || __builtin_add_overflow(off, q->cluster_size, &end) ||
        end > q->file_size || qcow2_overlaps_fixed(q, off, q->cluster_size)) {
        log_err("disk: %s: L2 entry for guest offset 0x%" PRIx64 " points at 0x%" PRIx64
                ", which is misaligned, past end of file or inside metadata",
                q->path, vc << q->cluster_bits, off);
        return -EIO;
    }
    return 0;
}

/* The L2 table of guest cluster vc; with alloc, one that may be written (allocated when
 * missing); without, *out is NULL when there is none. */
static int l2_table(struct qcow2 *q, uint64_t vc, bool alloc, struct qcow2_cache_ent **out,
                    unsigned *idx)
{
    uint64_t l1i = vc >> q->l2_bits, l1e, l2off, rc;
    int err;

    *out = NULL;
    *idx = (unsigned)(vc & ((1ULL << q->l2_bits) - 1));
    if (l1i >= q->l1_size)
        return -EIO;
    l1e = q->l1[l1i];
    l2off = l1e & QCOW2_OFFSET_MASK;
    if (!l2off) {
        if (!alloc)
            return 0;
        err = qcow2_alloc_cluster(q, &l2off);
        if (err)
            return err;
        err = qcow2_cache_get(q, &q->l2c, l2off, true, out);
        if (err)
            return err;
        (*out)->dirty = true;
        q->l1[l1i] = l2off | QCOW2_OFLAG_COPIED;
        l1_mark_dirty(q, (uint32_t)l1i);
        return 0;
    }
    err = check_meta_offset(q, "L2 table", l2off);
    if (err)
        return err;
    if (alloc && !(l1e & QCOW2_OFLAG_COPIED)) {
        err = qcow2_rc_get(q, l2off >> q->cluster_bits, &rc);
        if (err)
            return err;
        if (rc != 1) {
            log_err("disk: %s: L2 table at 0x%" PRIx64 " is shared (refcount %" PRIu64
                    "); writing shared tables is not supported",
                    q->path, l2off, rc);
            return -EIO;
        }
        q->l1[l1i] = l2off | QCOW2_OFLAG_COPIED;
        l1_mark_dirty(q, (uint32_t)l1i);
    }
    return qcow2_cache_get(q, &q->l2c, l2off, false, out);
}

int qcow2_lookup(struct qcow2 *q, uint64_t vc, uint64_t *entry, enum qcow2_kind *kind)
{
    struct qcow2_cache_ent *t;
    unsigned idx;
    int err = l2_table(q, vc, false, &t, &idx);

    if (err)
        return err;
    *entry = t ? qcow2_be64(t->data + (size_t)idx * 8) : 0;
    if (*entry & QCOW2_OFLAG_COMPRESSED)
        *kind = QCOW2_COMPRESSED;
    else if (q->version >= 3 && (*entry & QCOW2_OFLAG_ZERO))
        *kind = QCOW2_ZERO;
    else if (*entry & QCOW2_OFFSET_MASK)
        *kind = QCOW2_NORMAL;
    else
        *kind = QCOW2_UNALLOC;
    return 0;
}

int qcow2_set_entry(struct qcow2 *q, uint64_t vc, uint64_t entry)
{
    struct qcow2_cache_ent *t;
    unsigned idx;
    int err = l2_table(q, vc, true, &t, &idx);

    if (err)
        return err;
    qcow2_put_be64(t->data + (size_t)idx * 8, entry);
    t->dirty = true;
    return 0;
}
