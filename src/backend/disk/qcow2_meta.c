/* qcow2: which host clusters hold metadata, so that guest data never lands on it.
 *
 * A data cluster named by an L2 entry must not be the header, the L1 table, the refcount
 * table, an L2 table, a refcount block, the snapshot table or a snapshot's L1 table; an L2
 * table pointer must not name anything but an L2 table, a refcount-block pointer nothing but a
 * refcount block. (QEMU refuses the same writes: "Preventing invalid write on metadata".)
 *
 * The fixed structures are three ranges. L2 tables and refcount blocks are single clusters,
 * found at open (from the L1 and refcount tables) and added when allocated: they live in an
 * open-addressing hash set keyed by cluster index, so the check on every guest request is a
 * couple of memory reads whatever the image size. A cluster leaves the set when its refcount
 * drops to 0 (nothing on disk names it any more). Snapshot structures are ranges that only
 * change when a snapshot is created or deleted: a sorted array searched by bisection. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/qcow2_int.h"
#include "base/log.h"

static size_t slot_of(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & (cap - 1);
}

static int set_grow(struct qcow2_meta_set *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64, live = 0;
    uint64_t *key = calloc(cap, sizeof(*key));
    uint8_t *type = calloc(cap, 1);

    if (!key || !type) {
        free(key);
        free(type);
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->key[i] || !s->type[i])
            continue; /* forgotten entries go away here */
        size_t j = slot_of(s->key[i], cap);
        while (key[j])
            j = (j + 1) & (cap - 1);
        key[j] = s->key[i];
        type[j] = s->type[i];
        live++;
    }
    free(s->key);
    free(s->type);
    s->key = key;
    s->type = type;
    s->cap = cap;
    s->used = live;
    return 0;
}

int qcow2_meta_add(struct qcow2 *q, uint64_t off, unsigned type)
{
    struct qcow2_meta_set *s = &q->meta;
    uint64_t key = (off >> q->cluster_bits) + 1;
    size_t i;
    int err;

    if (s->cap) {
        for (i = slot_of(key, s->cap); s->key[i]; i = (i + 1) & (s->cap - 1)) {
            if (s->key[i] == key) {
                s->type[i] |= (uint8_t)type;
                return 0;
            }
        }
    }
    if ((s->used + 1) * 2 > s->cap) {
        err = set_grow(s);
        if (err)
            return err;
    }
    for (i = slot_of(key, s->cap); s->key[i]; i = (i + 1) & (s->cap - 1))
        ;
    s->key[i] = key;
    s->type[i] = (uint8_t)type;
    s->used++;
    return 0;
}

static unsigned set_lookup(const struct qcow2 *q, uint64_t off)
{
    const struct qcow2_meta_set *s = &q->meta;
    uint64_t key = (off >> q->cluster_bits) + 1;

    if (!s->cap)
        return 0;
    for (size_t i = slot_of(key, s->cap); s->key[i]; i = (i + 1) & (s->cap - 1))
        if (s->key[i] == key)
            return s->type[i];
    return 0;
}

void qcow2_meta_forget(struct qcow2 *q, uint64_t off)
{
    struct qcow2_meta_set *s = &q->meta;
    uint64_t key = (off >> q->cluster_bits) + 1;

    if (!s->cap)
        return;
    for (size_t i = slot_of(key, s->cap); s->key[i]; i = (i + 1) & (s->cap - 1)) {
        if (s->key[i] == key) {
            s->type[i] = 0; /* the key stays as a tombstone until the next growth */
            return;
        }
    }
}

static unsigned ranges_at(const struct qcow2 *q, uint64_t off, uint64_t end)
{
    size_t lo = 0, hi = q->n_snap_ranges;
    unsigned t = 0;

    /* first range ending after off; ranges do not nest, so later ones start later */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->snap_ranges[mid].end <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < q->n_snap_ranges && q->snap_ranges[lo].off < end; lo++)
        if (q->snap_ranges[lo].end > off)
            t |= q->snap_ranges[lo].type;
    return t;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

unsigned qcow2_meta_at(const struct qcow2 *q, uint64_t off)
{
    uint64_t cs = q->cluster_size;
    unsigned t = 0;

    if (off < cs)
        t |= QCOW2_META_HEADER;
    if (overlap(off, cs, q->l1_offset, (uint64_t)q->l1_size * 8))
        t |= QCOW2_META_L1;
    if (overlap(off, cs, q->rt_offset, (uint64_t)q->rt_clusters << q->cluster_bits))
        t |= QCOW2_META_RT;
    t |= set_lookup(q, off);
    if (q->n_snap_ranges)
        t |= ranges_at(q, off, off + cs);
    return t;
}

const char *qcow2_meta_name(unsigned type)
{
    if (type & QCOW2_META_HEADER)
        return "the header";
    if (type & QCOW2_META_L1)
        return "the L1 table";
    if (type & QCOW2_META_RT)
        return "the refcount table";
    if (type & QCOW2_META_L2)
        return "an L2 table";
    if (type & QCOW2_META_RB)
        return "a refcount block";
    if (type & QCOW2_META_SNAP_TABLE)
        return "the snapshot table";
    if (type & QCOW2_META_SNAP_L1)
        return "a snapshot's L1 table";
    return "metadata";
}

static int range_cmp(const void *a, const void *b)
{
    const struct qcow2_range *x = a, *y = b;

    return x->off < y->off ? -1 : x->off > y->off;
}

int qcow2_meta_snapshots(struct qcow2 *q)
{
    struct qcow2_range *r;
    size_t n = 0;

    free(q->snap_ranges);
    q->snap_ranges = NULL;
    q->n_snap_ranges = 0;
    if (!q->nb_snapshots)
        return 0;
    r = calloc((size_t)q->nb_snapshots + 1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r[n++] = (struct qcow2_range){
        .off = q->snap_offset, .end = q->snap_offset + q->snap_size, .type = QCOW2_META_SNAP_TABLE};
    for (uint32_t i = 0; i < q->nb_snapshots; i++) {
        const struct disk_qcow2_snapshot *s = &q->snaps[i];
        if (s->l1_size)
            r[n++] = (struct qcow2_range){.off = s->l1_offset,
                                          .end = s->l1_offset + (uint64_t)s->l1_size * 8,
                                          .type = QCOW2_META_SNAP_L1};
    }
    qsort(r, n, sizeof(*r), range_cmp);
    /* merge overlapping ranges so that the search can rely on sorted, disjoint ends */
    size_t m = 0;
    for (size_t i = 1; i < n; i++) {
        if (r[i].off < r[m].end) {
            if (r[i].end > r[m].end)
                r[m].end = r[i].end;
            r[m].type |= r[i].type;
        } else {
            r[++m] = r[i];
        }
    }
    q->snap_ranges = r;
    q->n_snap_ranges = m + 1;
    return 0;
}

int qcow2_meta_init(struct qcow2 *q)
{
    uint64_t end;
    int err = 0;

    for (uint64_t i = 0; i < q->rt_entries && !err; i++) {
        uint64_t off = q->rt[i] & QCOW2_RT_OFFSET_MASK;
        if (off && !(off & (q->cluster_size - 1)) &&
            !__builtin_add_overflow(off, q->cluster_size, &end) && end <= q->file_size)
            err = qcow2_meta_add(q, off, QCOW2_META_RB);
    }
    for (uint32_t i = 0; i < q->l1_size && !err; i++) {
        uint64_t off = q->l1[i] & QCOW2_OFFSET_MASK;
        if (off && !(off & (q->cluster_size - 1)) && off + q->cluster_size <= q->file_size)
            err = qcow2_meta_add(q, off, QCOW2_META_L2);
    }
    if (!err)
        err = qcow2_meta_snapshots(q);
    return err;
}

void qcow2_meta_free(struct qcow2 *q)
{
    free(q->meta.key);
    free(q->meta.type);
    q->meta = (struct qcow2_meta_set){0};
    free(q->snap_ranges);
    q->snap_ranges = NULL;
    q->n_snap_ranges = 0;
}
