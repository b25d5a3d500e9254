/* qcow2: consistency check and leak repair (`vessel disk check`). Every reference the image
 * makes (header, L1, refcount table and blocks, L2 tables, data and compressed clusters) is
 * counted per host cluster and compared with the stored refcount: a refcount below the
 * references is a corruption, one above is a leak. Pointers that are misaligned, point past
 * the end of the file or into the header/L1/refcount table are corruptions too, and so are L1
 * and L2 entries with reserved bits set. Internal snapshots count: the snapshot table, their
 * L1 tables and everything those reference; COPIED flags are checked on the active tables.
 * The wording follows qemu-img check so that the two read alike. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/qcow2.h"
#include "backend/disk/qcow2_int.h"
#include "base/log.h"

struct ctx {
    struct qcow2 *q;
    FILE *out;
    struct disk_qcow2_check *res;
    uint32_t *ref;
    uint64_t nclusters;
};

static void add_ref(struct ctx *c, const char *what, uint64_t off, uint64_t len)
{
    uint64_t first = off >> c->q->cluster_bits, last, end;

    if (!len)
        return;
    if (__builtin_add_overflow(off, len, &end)) {
        fprintf(c->out, "ERROR %s at 0x%" PRIx64 " has an impossible size\n", what, off);
        c->res->corruptions++;
        return;
    }
    last = (end - 1) >> c->q->cluster_bits;
    if (last >= c->nclusters) {
        fprintf(c->out, "ERROR %s at 0x%" PRIx64 " points past the end of the file\n", what, off);
        c->res->corruptions++;
        if (first >= c->nclusters)
            return;
        last = c->nclusters - 1;
    }
    if ((last + 1) << c->q->cluster_bits > c->res->image_end)
        c->res->image_end = (last + 1) << c->q->cluster_bits; /* as qemu-img: whole clusters */
    for (uint64_t i = first; i <= last; i++)
        if (c->ref[i] != UINT32_MAX)
            c->ref[i]++;
}

static bool bad_offset(struct ctx *c, const char *what, uint64_t off, uint64_t where)
{
    if (off & (c->q->cluster_size - 1)) {
        fprintf(c->out, "ERROR %s at 0x%" PRIx64 " (entry for 0x%" PRIx64 ") is not aligned\n",
                what, off, where);
        c->res->corruptions++;
        return true;
    }
    if (qcow2_overlaps_fixed(c->q, off, c->q->cluster_size)) {
        fprintf(c->out, "ERROR %s at 0x%" PRIx64 " overlaps the header, L1 or refcount table\n",
                what, off);
        c->res->corruptions++;
        return true;
    }
    return false;
}

/* Walks the L2 tables l1 names; with count, adds references (and reports reserved bits),
 * else checks the COPIED flags (the active table only). */
static int walk_l2(struct ctx *c, uint8_t *buf, const uint64_t *l1, uint32_t l1n, bool count)
{
    struct qcow2 *q = c->q;
    uint64_t l2n = 1ULL << q->l2_bits;

    for (uint32_t i = 0; i < l1n; i++) {
        uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK, rc;
        if (count && (l1[i] & QCOW2_L1_RESERVED)) {
            fprintf(c->out, "ERROR found L1 entry with reserved bits set: %" PRIx64 "\n", l1[i]);
            c->res->corruptions++;
        }
        if (!l2off)
            continue;
        if (count) {
            if (bad_offset(c, "L2 table", l2off, (uint64_t)i << (q->l2_bits + q->cluster_bits)))
                continue;
            add_ref(c, "L2 table", l2off, q->cluster_size);
        } else if (!(l2off & (q->cluster_size - 1)) &&
                   !qcow2_overlaps_fixed(q, l2off, q->cluster_size)) {
            if (!qcow2_rc_get(q, l2off >> q->cluster_bits, &rc) &&
                (rc == 1) != !!(l1[i] & QCOW2_OFLAG_COPIED)) {
                fprintf(c->out,
                        "ERROR OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64
                        " refcount=%" PRIu64 "\n",
                        i, l1[i], rc);
                c->res->corruptions++;
            }
        } else {
            continue;
        }
        if (l2off + q->cluster_size > q->file_size)
            continue;
        int err = qcow2_pread(q, buf, q->cluster_size, l2off);
        if (err)
            return err;
        for (uint64_t j = 0; j < l2n; j++) {
            uint64_t e = qcow2_be64(buf + j * 8), off, len;
            uint64_t guest = (((uint64_t)i << q->l2_bits) + j) << q->cluster_bits;
            if (count && !(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_L2_RESERVED)) {
                fprintf(c->out, "ERROR found l2 entry with reserved bits set: %" PRIx64 "\n", e);
                c->res->corruptions++;
            }
            if (e & QCOW2_OFLAG_COMPRESSED) {
                if (!count)
                    continue;
                if (e & QCOW2_OFLAG_COPIED) {
                    fprintf(c->out, "ERROR compressed cluster for 0x%" PRIx64 " has OFLAG_COPIED\n",
                            guest);
                    c->res->corruptions++;
                }
                qcow2_compressed_range(q, e, &off, &len);
                add_ref(c, "compressed cluster", off, len);
                continue;
            }
            off = e & QCOW2_OFFSET_MASK;
            if (!off)
                continue;
            if (count) {
                if (!bad_offset(c, "data cluster", off, guest))
                    add_ref(c, "data cluster", off, q->cluster_size);
            } else if (!(off & (q->cluster_size - 1)) &&
                       !qcow2_rc_get(q, off >> q->cluster_bits, &rc) &&
                       (rc == 1) != !!(e & QCOW2_OFLAG_COPIED)) {
                fprintf(c->out,
                        "ERROR OFLAG_COPIED data cluster: l2_entry=%" PRIx64 " refcount=%" PRIu64
                        "\n",
                        e, rc);
                c->res->corruptions++;
            }
        }
    }
    return 0;
}

/* The snapshot table, each snapshot's L1 table and everything its tree references. */
static int count_snapshots(struct ctx *c, uint8_t *buf)
{
    struct qcow2 *q = c->q;
    int err = 0;

    if (!q->nb_snapshots)
        return 0;
    add_ref(c, "snapshot table", q->snap_offset, q->snap_size);
    for (uint32_t i = 0; i < q->nb_snapshots && !err; i++) {
        const struct disk_qcow2_snapshot *s = &q->snaps[i];
        uint64_t *l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
        uint8_t *raw = malloc((size_t)s->l1_size * 8 + 8);

        err = l1 && raw ? qcow2_pread(q, raw, (size_t)s->l1_size * 8, s->l1_offset) : -ENOMEM;
        for (uint32_t j = 0; !err && j < s->l1_size; j++)
            l1[j] = qcow2_be64(raw + (size_t)j * 8);
        if (!err) {
            add_ref(c, "snapshot L1 table", s->l1_offset, (uint64_t)s->l1_size * 8);
            err = walk_l2(c, buf, l1, s->l1_size, true);
        }
        free(l1);
        free(raw);
    }
    return err;
}

static int compare(struct ctx *c, bool repair)
{
    struct qcow2 *q = c->q;
    uint64_t per = 1ULL << q->rb_bits, covered = 0;
    int err;

    for (uint64_t rti = 0; rti < q->rt_entries; rti++) {
        uint64_t first = rti << q->rb_bits, boff = q->rt[rti] & QCOW2_RT_OFFSET_MASK;
        if (first >= c->nclusters && !boff)
            continue;
        if (boff && (boff & (q->cluster_size - 1))) {
            fprintf(c->out, "ERROR refcount block %" PRIu64 " is not cluster aligned\n", rti);
            c->res->corruptions++;
            continue;
        }
        if (boff && (boff + q->cluster_size > q->file_size ||
                     qcow2_overlaps_fixed(q, boff, q->cluster_size))) {
            fprintf(c->out,
                    "ERROR refcount block %" PRIu64 " at 0x%" PRIx64
                    " is outside the image or overlaps metadata\n",
                    rti, boff);
            c->res->corruptions++;
            continue;
        }
        covered = first + per;
        for (uint64_t i = first; i < first + per; i++) {
            uint64_t rc = 0, r = i < c->nclusters ? c->ref[i] : 0;
            if (boff) {
                err = qcow2_rc_get(q, i, &rc);
                if (err)
                    return err;
            }
            if (rc == r)
                continue;
            if (rc < r) {
                fprintf(c->out,
                        "ERROR cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n", i,
                        rc, r);
                c->res->corruptions++;
                continue;
            }
            c->res->leaks++;
            if (repair) {
                err = qcow2_rc_set(q, i, r);
                if (err)
                    return err;
                c->res->leaks_fixed++;
                fprintf(c->out,
                        "Repairing cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64
                        "\n",
                        i, rc, r);
            } else {
                fprintf(c->out,
                        "Leaked cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n",
                        i, rc, r);
            }
        }
    }
    for (uint64_t i = covered; i < c->nclusters; i++) {
        if (c->ref[i]) {
            fprintf(c->out, "ERROR cluster %" PRIu64 " is referenced but has no refcount\n", i);
            c->res->corruptions++;
        }
    }
    return 0;
}

static int run_check(struct qcow2 *q, bool repair, FILE *out, struct disk_qcow2_check *res)
{
    struct ctx c = {.q = q, .out = out, .res = res};
    uint8_t *buf = NULL;
    int err;

    c.nclusters = (q->file_size + q->cluster_size - 1) >> q->cluster_bits;
    if (c.nclusters > (1ULL << 32)) {
        log_err("disk: %s: image too large to check", q->path);
        return -EFBIG;
    }
    c.ref = calloc(c.nclusters ? c.nclusters : 1, sizeof(*c.ref));
    buf = malloc(q->cluster_size);
    if (!c.ref || !buf) {
        err = -ENOMEM;
        goto out;
    }
    add_ref(&c, "header", 0, q->cluster_size);
    add_ref(&c, "L1 table", q->l1_offset, (uint64_t)q->l1_size * 8);
    add_ref(&c, "refcount table", q->rt_offset, (uint64_t)q->rt_clusters << q->cluster_bits);
    for (uint64_t i = 0; i < q->rt_entries; i++) {
        uint64_t boff = q->rt[i] & QCOW2_RT_OFFSET_MASK;
        if (boff && !bad_offset(&c, "refcount block", boff, i))
            add_ref(&c, "refcount block", boff, q->cluster_size);
    }
    err = walk_l2(&c, buf, q->l1, q->l1_size, true);
    if (!err)
        err = count_snapshots(&c, buf);
    if (!err)
        err = compare(&c, repair);
    if (!err)
        err = walk_l2(&c, buf, q->l1, q->l1_size, false);
    if (!err && repair && res->leaks_fixed) {
        err = qcow2_flush_meta(q);
        if (!err)
            err = qcow2_flush_meta(q);
    }
out:
    free(c.ref);
    free(buf);
    return err;
}

int disk_qcow2_check(const char *path, bool repair, FILE *report, struct disk_qcow2_check *res)
{
    struct disk *d;
    struct qcow2 *q;
    int err;

    *res = (struct disk_qcow2_check){0};
    err = disk_qcow2_open_nobacking(&d, path, !repair);
    if (err)
        return err;
    q = qcow2_of(d);
    pthread_mutex_lock(&q->lock);
    err = run_check(q, repair, report, res);
    pthread_mutex_unlock(&q->lock);
    disk_close(d);
    return err;
}
