/* qcow2: guest-to-host mapping through the L1 table and the L2-table cache. Every L2 table
 * offset and data cluster offset read from the file is checked before it is used. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "backend/disk/qcow2_int.h"
#include "base/log.h"

void qcow2_l1_dirty(struct qcow2 *q, uint32_t i)
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
    unsigned meta;

    if ((off & (q->cluster_size - 1)) || __builtin_add_overflow(off, q->cluster_size, &end) ||
        end > q->file_size) {
        log_err("disk: %s: %s at 0x%" PRIx64 " is misaligned or points past end of file", q->path,
                what, off);
        return -EIO;
    }
    meta = qcow2_meta_at(q, off) & ~QCOW2_META_L2;
    if (meta) {
        log_err("disk: %s: %s at 0x%" PRIx64 " overlaps %s", q->path, what, off,
                qcow2_meta_name(meta));
        return -EIO;
    }
    return 0;
}

int qcow2_check_data_offset(struct qcow2 *q, uint64_t off, uint64_t vc)
{
    uint64_t end;
    unsigned meta;

    if ((off & (q->cluster_size - 1)) || __builtin_add_overflow(off, q->cluster_size, &end) ||
        end > q->file_size) {
        log_err("disk: %s: L2 entry for guest offset 0x%" PRIx64 " points at 0x%" PRIx64
                ", which is misaligned or past end of file",
                q->path, vc << q->cluster_bits, off);
        return -EIO;
    }
    meta = qcow2_meta_at(q, off);
    if (meta) {
        /* QEMU: "Preventing invalid write on metadata" */
        log_err("disk: %s: L2 entry for guest offset 0x%" PRIx64 " points at 0x%" PRIx64
                ", inside metadata (%s): refusing guest data there",
                q->path, vc << q->cluster_bits, off, qcow2_meta_name(meta));
        return -EIO;
    }
    return 0;
}

/* The L2 table at l2off is shared with a snapshot: give L1 entry l1i a copy of its own. */
static int l2_cow(struct qcow2 *q, uint64_t l1i, uint64_t l2off, struct qcow2_cache_ent **out)
{
    struct qcow2_cache_ent *e;
    uint64_t new;
    int err;

    err = qcow2_cache_get(q, &q->l2c, l2off, false, &e);
    if (err)
        return err;
    memcpy(q->l2copy, e->data, q->cluster_size);
    err = qcow2_alloc_cluster(q, &new);
    if (!err)
        err = qcow2_meta_add(q, new, QCOW2_META_L2);
    if (!err)
        err = qcow2_cache_get(q, &q->l2c, new, true, &e);
    if (err)
        return err;
    memcpy(e->data, q->l2copy, q->cluster_size);
    e->dirty = true;
    q->l1[l1i] = new | QCOW2_OFLAG_COPIED;
    qcow2_l1_dirty(q, (uint32_t)l1i);
    /* the copy's entries keep pointing at the same clusters: the snapshot's references to them
     * are counted through the old table, which loses the active image's reference */
    err = qcow2_free_later(q, l2off, q->cluster_size);
    if (!err)
        err = qcow2_cache_get(q, &q->l2c, new, false, out);
    return err;
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
        err = qcow2_meta_add(q, l2off, QCOW2_META_L2);
        if (!err)
            err = qcow2_cache_get(q, &q->l2c, l2off, true, out);
        if (err)
            return err;
        (*out)->dirty = true;
        q->l1[l1i] = l2off | QCOW2_OFLAG_COPIED;
        qcow2_l1_dirty(q, (uint32_t)l1i);
        return 0;
    }
    err = check_meta_offset(q, "L2 table", l2off);
    if (err)
        return err;
    if (alloc && !(l1e & QCOW2_OFLAG_COPIED)) {
        err = qcow2_rc_get(q, l2off >> q->cluster_bits, &rc);
        if (err)
            return err;
        if (rc != 1)
            return l2_cow(q, l1i, l2off, out);
        q->l1[l1i] = l2off | QCOW2_OFLAG_COPIED;
        qcow2_l1_dirty(q, (uint32_t)l1i);
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

static unsigned entry_flags(struct qcow2 *q, uint64_t entry, uint64_t coff, uint64_t *host)
{
    uint64_t off = entry & QCOW2_OFFSET_MASK;

    *host = 0;
    if (entry & QCOW2_OFLAG_COMPRESSED)
        return DISK_EXT_DATA | DISK_EXT_COMPRESSED;
    if (q->version >= 3 && (entry & QCOW2_OFLAG_ZERO)) {
        *host = off ? off + coff : 0;
        return DISK_EXT_ZERO | (off ? DISK_EXT_OFFSET : 0);
    }
    if (off) {
        *host = off + coff;
        return DISK_EXT_DATA | DISK_EXT_OFFSET;
    }
    return 0;
}

int qcow2_extent(struct qcow2 *q, uint64_t off, uint64_t len, struct disk_extent *e)
{
    uint64_t pos = 0, host0 = 0;
    unsigned flags0 = 0;

    while (pos < len) {
        uint64_t voff = off + pos, vc = voff >> q->cluster_bits, host, entry = 0;
        uint64_t coff = voff & (q->cluster_size - 1), n = q->cluster_size - coff;
        struct qcow2_cache_ent *t;
        unsigned idx, flags;
        int err = l2_table(q, vc, false, &t, &idx);

        if (err)
            return err;
        if (!t) /* no L2 table: the rest of its range is unallocated too */
            n = ((((vc >> q->l2_bits) + 1) << (q->l2_bits + q->cluster_bits))) - voff;
        else
            entry = qcow2_be64(t->data + (size_t)idx * 8);
        if (n > len - pos)
            n = len - pos;
        flags = entry_flags(q, entry, coff, &host);
        if (pos == 0) {
            flags0 = flags;
            host0 = host;
        } else if (flags != flags0 || ((flags & DISK_EXT_OFFSET) && host != host0 + pos)) {
            break;
        }
        pos += n;
    }
    *e = (struct disk_extent){.len = pos, .flags = flags0, .host = host0};
    return 0;
}
