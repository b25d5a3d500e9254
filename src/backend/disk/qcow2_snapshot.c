/* qcow2: internal snapshots - create, go back to (apply), delete - the way QEMU keeps them, so
 * that `qemu-img snapshot` and Vessel read and write each other's.
 *
 * A snapshot is a copy of the L1 table. Refcounts count references per L1 tree: taking a
 * snapshot adds 1 to every L2 table the active L1 names and to every cluster those tables
 * name, and clears the COPIED flags (nothing is owned alone any more). A later write copies a
 * shared L2 table or data cluster first (qcow2_l2.c, qcow2.c). Deleting a snapshot removes it
 * from the table first, then subtracts its tree; applying one adds its tree, switches the
 * active L1 to it, then subtracts the old active tree. Each step is durable before the next,
 * so a crash leaves at worst leaked clusters. Afterwards COPIED is set again on whatever the
 * active tree owns alone (refcount 1), as qemu-img check expects. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/disk/qcow2.h"
#include "backend/disk/qcow2_int.h"
#include "base/log.h"

static int check_l2_offset(struct qcow2 *q, uint64_t off)
{
    if ((off & (q->cluster_size - 1)) || off + q->cluster_size > q->file_size ||
        (qcow2_meta_at(q, off) & ~QCOW2_META_L2)) {
        log_err("disk: %s: L2 table at 0x%" PRIx64 " is misaligned, past end of file or over "
                "other metadata",
                q->path, off);
        return -EIO;
    }
    return 0;
}

/* Adds delta to the refcounts of every L2 table l1 names and every cluster they name. */
static int tree_refs(struct qcow2 *q, const uint64_t *l1, uint32_t n, int delta)
{
    uint64_t per = 1ULL << q->l2_bits;
    int err;

    for (uint32_t i = 0; i < n; i++) {
        uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
        struct qcow2_cache_ent *t;

        if (!l2off)
            continue;
        err = check_l2_offset(q, l2off);
        for (uint64_t j = 0; !err && j < per; j++) {
            uint64_t e, off, len;
            err = qcow2_cache_get(q, &q->l2c, l2off, false, &t);
            if (err)
                break;
            e = qcow2_be64(t->data + j * 8);
            if (e & QCOW2_OFLAG_COMPRESSED) {
                qcow2_compressed_range(q, e, &off, &len);
                err = qcow2_rc_add_range(q, off, len, delta);
            } else if ((off = e & QCOW2_OFFSET_MASK)) {
                err = qcow2_rc_add_range(q, off, q->cluster_size, delta);
            }
        }
        if (!err)
            err = qcow2_rc_add_range(q, l2off, q->cluster_size, delta);
        if (err)
            return err;
    }
    return 0;
}

/* COPIED on exactly the active L1 and L2 entries whose cluster has refcount 1. */
static int fix_copied(struct qcow2 *q)
{
    uint64_t per = 1ULL << q->l2_bits, rc;
    int err;

    for (uint32_t i = 0; i < q->l1_size; i++) {
        uint64_t l2off = q->l1[i] & QCOW2_OFFSET_MASK, want;
        struct qcow2_cache_ent *t;
        bool shared;

        if (!l2off)
            continue;
        err = check_l2_offset(q, l2off);
        if (!err)
            err = qcow2_rc_get(q, l2off >> q->cluster_bits, &rc);
        if (err)
            return err;
        want = rc == 1 ? QCOW2_OFLAG_COPIED : 0;
        if ((q->l1[i] & QCOW2_OFLAG_COPIED) != want) {
            q->l1[i] = (q->l1[i] & ~QCOW2_OFLAG_COPIED) | want;
            qcow2_l1_dirty(q, i);
        }
        shared = rc != 1;
        err = qcow2_cache_get(q, &q->l2c, l2off, false, &t);
        if (err)
            return err;
        for (uint64_t j = 0; j < per; j++) {
            uint64_t e = qcow2_be64(t->data + j * 8), off = e & QCOW2_OFFSET_MASK;
            if ((e & QCOW2_OFLAG_COMPRESSED) || !off)
                continue;
            /* a shared table names only shared clusters (every tree through it counts) */
            rc = 2;
            if (!shared) {
                err = qcow2_rc_get(q, off >> q->cluster_bits, &rc);
                if (err)
                    return err;
            }
            want = rc == 1 ? QCOW2_OFLAG_COPIED : 0;
            if ((e & QCOW2_OFLAG_COPIED) != want) {
                qcow2_put_be64(t->data + j * 8, (e & ~QCOW2_OFLAG_COPIED) | want);
                t->dirty = true;
            }
        }
    }
    return 0;
}

static int read_l1(struct qcow2 *q, const struct disk_qcow2_snapshot *s, uint64_t **out)
{
    uint64_t *l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
    uint8_t *buf = malloc((size_t)s->l1_size * 8 + 8);
    int err = l1 && buf ? qcow2_pread(q, buf, (size_t)s->l1_size * 8, s->l1_offset) : -ENOMEM;

    for (uint32_t i = 0; !err && i < s->l1_size; i++)
        l1[i] = qcow2_be64(buf + (size_t)i * 8);
    free(buf);
    if (err)
        free(l1);
    else
        *out = l1;
    return err;
}

static int find(struct qcow2 *q, const char *s)
{
    for (uint32_t i = 0; i < q->nb_snapshots; i++)
        if (!strcmp(q->snaps[i].id, s))
            return (int)i;
    for (uint32_t i = 0; i < q->nb_snapshots; i++)
        if (!strcmp(q->snaps[i].name, s))
            return (int)i;
    return -1;
}

static int do_create(struct qcow2 *q, const char *name)
{
    struct disk_qcow2_snapshot *list, *s, *prev = q->snaps;
    uint64_t bytes = (uint64_t)q->l1_size * 8, id = 0, off;
    struct timespec now;
    uint8_t *buf;
    int err;

    if (q->refcount_order == 0) {
        log_err("disk: %s: 1-bit refcounts cannot count a snapshot's references", q->path);
        return -ENOTSUP;
    }
    if (!name[0] || strlen(name) > UINT16_MAX) {
        log_err("disk: %s: a snapshot name is 1 to 65535 bytes", q->path);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < q->nb_snapshots; i++) {
        if (!strcmp(q->snaps[i].name, name)) {
            log_err("disk: %s: a snapshot named '%s' exists already (ID %s)", q->path, name,
                    q->snaps[i].id);
            return -EEXIST;
        }
        uint64_t n = strtoull(q->snaps[i].id, NULL, 10);
        id = n > id ? n : id;
    }
    if (q->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
        return -ENOSPC;
    err = qcow2_settle(q);
    if (err)
        return err;
    list = calloc((size_t)q->nb_snapshots + 1, sizeof(*list));
    buf = calloc(1, bytes ? bytes : 8);
    if (!list || !buf) {
        free(list);
        free(buf);
        return -ENOMEM;
    }
    if (q->nb_snapshots)
        memcpy(list, q->snaps, sizeof(*list) * q->nb_snapshots);
    s = &list[q->nb_snapshots];
    clock_gettime(CLOCK_REALTIME, &now);
    *s = (struct disk_qcow2_snapshot){.l1_size = q->l1_size,
                                      .date_sec = (uint32_t)now.tv_sec,
                                      .date_nsec = (uint32_t)now.tv_nsec,
                                      .disk_size = q->size,
                                      .icount = UINT64_MAX};
    s->name = strdup(name);
    if (s->name && asprintf(&s->id, "%" PRIu64, id + 1) < 0)
        s->id = NULL;
    err = s->name && s->id ? 0 : -ENOMEM;
    /* the snapshot's L1 table: a copy of the active one; nothing is owned alone any more */
    for (uint32_t i = 0; i < q->l1_size; i++)
        qcow2_put_be64(buf + (size_t)i * 8, q->l1[i] & ~QCOW2_OFLAG_COPIED);
    if (!err)
        err = qcow2_alloc_clusters(q, (bytes + q->cluster_size - 1) >> q->cluster_bits, &off);
    if (!err) {
        s->l1_offset = off;
        err = qcow2_pwrite(q, buf, bytes, off);
    }
    if (!err)
        err = tree_refs(q, q->l1, q->l1_size, 1);
    if (!err)
        err = fix_copied(q);
    if (!err)
        err = qcow2_settle(q);
    if (!err)
        err = qcow2_snap_store(q, list, q->nb_snapshots + 1);
    free(buf);
    if (q->snaps != list) { /* not adopted: the table on disk is the old one */
        free(s->id);
        free(s->name);
        free(list);
        return err;
    }
    free(prev);
    return err ? err : qcow2_settle(q);
}

static int do_apply(struct disk *d, struct qcow2 *q, int idx)
{
    const struct disk_qcow2_snapshot *s = &q->snaps[idx];
    uint64_t cover = q->cluster_size << q->l2_bits, *sl1 = NULL, *old = NULL;
    uint32_t old_n = q->l1_size;
    int err;

    if (s->l1_size < (s->disk_size + cover - 1) / cover) {
        log_err("disk: %s: snapshot %s: its L1 table (%u entries) cannot map its size", q->path,
                s->id, s->l1_size);
        return -EINVAL;
    }
    err = qcow2_settle(q);
    if (!err)
        err = read_l1(q, s, &sl1);
    if (err)
        return err;
    err = tree_refs(q, sl1, s->l1_size, 1);
    if (!err)
        err = qcow2_settle(q);
    if (!err)
        err = qcow2_l1_grow(q, s->l1_size);
    if (!err && !(old = malloc((size_t)old_n * 8 + 8)))
        err = -ENOMEM;
    if (err)
        goto out;
    memcpy(old, q->l1, (size_t)old_n * 8);
    for (uint32_t i = 0; i < q->l1_size && !err; i++) {
        q->l1[i] = i < s->l1_size ? sl1[i] & ~QCOW2_OFLAG_COPIED : 0;
        if (q->l1[i] & QCOW2_OFFSET_MASK)
            err = qcow2_meta_add(q, q->l1[i] & QCOW2_OFFSET_MASK, QCOW2_META_L2);
    }
    if (q->l1_size) {
        qcow2_l1_dirty(q, 0);
        qcow2_l1_dirty(q, q->l1_size - 1);
    }
    if (!err)
        err = qcow2_settle(q); /* the active L1 is the snapshot's now */
    if (!err && s->disk_size != q->size) {
        uint8_t be[8];
        qcow2_put_be64(be, s->disk_size);
        err = qcow2_header_write(q, 24, be, sizeof(be));
        if (!err)
            q->size = d->size = s->disk_size;
    }
    if (!err)
        err = tree_refs(q, old, old_n, -1);
    if (!err)
        err = fix_copied(q);
    if (!err)
        err = qcow2_settle(q);
out:
    q->dbuf_entry = 0;
    free(sl1);
    free(old);
    return err;
}

static int do_delete(struct qcow2 *q, int idx)
{
    struct disk_qcow2_snapshot gone = q->snaps[idx], *list, *prev = q->snaps;
    uint64_t *sl1 = NULL;
    int err;

    err = qcow2_settle(q);
    if (!err)
        err = read_l1(q, &gone, &sl1);
    if (err)
        return err;
    list = calloc(q->nb_snapshots, sizeof(*list));
    if (!list) {
        free(sl1);
        return -ENOMEM;
    }
    memcpy(list, q->snaps, sizeof(*list) * (size_t)idx);
    memcpy(list + idx, q->snaps + idx + 1, sizeof(*list) * (q->nb_snapshots - (uint32_t)idx - 1));
    err = qcow2_snap_store(q, list, q->nb_snapshots - 1);
    if (q->snaps != list) { /* not adopted: the snapshot is still there */
        free(list);
        free(sl1);
        return err;
    }
    free(prev);
    /* nothing names the snapshot's tree any more (after an error: leaks, no corruption) */
    if (!err)
        err = tree_refs(q, sl1, gone.l1_size, -1);
    if (!err)
        err = qcow2_rc_add_range(q, gone.l1_offset, (uint64_t)gone.l1_size * 8, -1);
    if (!err)
        err = fix_copied(q);
    if (!err)
        err = qcow2_settle(q);
    free(gone.id);
    free(gone.name);
    free(gone.extra);
    free(sl1);
    return err;
}

void disk_qcow2_snapshots(struct disk *d, const struct disk_qcow2_snapshot **list, uint32_t *n)
{
    struct qcow2 *q = qcow2_of(d);

    *list = q->snaps;
    *n = q->nb_snapshots;
}

int disk_qcow2_snapshot_find(struct disk *d, const char *s)
{
    return find(qcow2_of(d), s);
}

int disk_qcow2_snapshot_create(struct disk *d, const char *name)
{
    struct qcow2 *q = qcow2_of(d);
    int err;

    if (q->readonly)
        return -EROFS;
    pthread_mutex_lock(&q->lock);
    err = do_create(q, name);
    pthread_mutex_unlock(&q->lock);
    return err;
}

static int by_name(struct disk *d, const char *s, bool apply)
{
    struct qcow2 *q = qcow2_of(d);
    int idx, err;

    if (q->readonly)
        return -EROFS;
    pthread_mutex_lock(&q->lock);
    idx = find(q, s);
    if (idx < 0) {
        log_err("disk: %s: no snapshot with ID or name '%s'", q->path, s);
        err = -ENOENT;
    } else {
        err = apply ? do_apply(d, q, idx) : do_delete(q, idx);
    }
    pthread_mutex_unlock(&q->lock);
    return err;
}

int disk_qcow2_snapshot_apply(struct disk *d, const char *id_or_name)
{
    return by_name(d, id_or_name, true);
}

int disk_qcow2_snapshot_delete(struct disk *d, const char *id_or_name)
{
    return by_name(d, id_or_name, false);
}
