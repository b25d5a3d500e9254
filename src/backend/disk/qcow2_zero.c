/* qcow2: zeroing and deallocating guest ranges (discard, write_zeroes, shrinking, emptying).
 * Whole clusters lose their data: the L2 entry becomes "unallocated" (no backing file, or when
 * unmapping) or the v3 zero flag (over a backing file), and the old host clusters are freed
 * after the next flush; parts of clusters get real zeroes. */
#include <stdbool.h>

#include "backend/disk/qcow2_int.h"

/* Does guest cluster vc read as zeroes without any data of its own? */
static bool reads_zero(struct qcow2 *q, uint64_t vc, enum qcow2_kind kind)
{
    return kind == QCOW2_ZERO ||
           (kind == QCOW2_UNALLOC && (!q->backing || (vc << q->cluster_bits) >= q->backing->size));
}

int qcow2_zero_range(struct qcow2 *q, uint64_t off, uint64_t len, bool unmap)
{
    uint64_t pos = 0;
    int err = 0;

    while (pos < len && !err) {
        uint64_t voff = off + pos, vc = voff >> q->cluster_bits, entry, target;
        uint64_t coff = voff & (q->cluster_size - 1), n = q->cluster_size - coff;
        enum qcow2_kind kind;
        bool whole;

        if (n > len - pos)
            n = len - pos;
        pos += n;
        /* the bytes of the last cluster past the disk's end do not count */
        whole = coff == 0 && (n == q->cluster_size || voff + n >= q->size);
        err = qcow2_lookup(q, vc, &entry, &kind);
        if (err || (!unmap && reads_zero(q, vc, kind)) || (unmap && kind == QCOW2_UNALLOC))
            continue;
        if (!whole || (!unmap && q->version < 3 && q->backing)) {
            /* part of a cluster (or no zero flag to say it): write real zeroes */
            err = qcow2_write(q, voff, NULL, 0, n);
            continue;
        }
        target = q->backing && !unmap ? QCOW2_OFLAG_ZERO : 0;
        err = qcow2_set_entry(q, vc, target);
        if (err)
            break;
        if (kind == QCOW2_COMPRESSED) {
            uint64_t coff2, clen;
            qcow2_compressed_range(q, entry, &coff2, &clen);
            err = qcow2_free_later(q, coff2, clen);
        } else if (entry & QCOW2_OFFSET_MASK) {
            err = qcow2_free_later(q, entry & QCOW2_OFFSET_MASK, q->cluster_size);
        }
    }
    return err;
}
