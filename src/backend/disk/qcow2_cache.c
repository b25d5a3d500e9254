/* qcow2: the metadata caches (L2 tables, refcount blocks) and the ordered metadata flush.
 *
 * A cache is a small array of cluster-sized buffers with LRU replacement. A dirty entry is
 * only ever written by qcow2_flush_meta(), which keeps the order that makes crashes safe:
 *   1. refcount blocks, then fdatasync: new clusters' data and their refcounts are durable;
 *   2. L2 tables, then fdatasync: mappings only point at durable data;
 *   3. L1 entries (when they changed), then fdatasync: they only point at durable L2 tables;
 *   4. refcounts of clusters that stopped being referenced are decremented (in the cache;
 *      they reach the disk on the next flush; a crash before that only leaks them).
 * Evicting a dirty entry runs the whole flush first. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/qcow2_int.h"
#include "base/log.h"

int qcow2_cache_init(struct qcow2 *q, struct qcow2_cache *c, unsigned n)
{
    c->e = calloc(n, sizeof(*c->e));
    if (!c->e)
        return -ENOMEM;
    c->n = n;
    c->last = 0;
    c->tick = 0;
    (void)q;
    return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
    for (unsigned i = 0; c->e && i < c->n; i++)
        free(c->e[i].data);
    free(c->e);
    c->e = NULL;
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].off == off) {
            c->e[i].off = 0;
            c->e[i].dirty = false;
        }
    }
}

static int write_dirty(struct qcow2 *q, struct qcow2_cache *c, bool *wrote)
{
    for (unsigned i = 0; i < c->n; i++) {
        struct qcow2_cache_ent *e = &c->e[i];
        if (!e->off || !e->dirty)
            continue;
        int err = qcow2_pwrite(q, e->data, q->cluster_size, e->off);
        if (err) {
            log_err("disk: %s: writing metadata at 0x%" PRIx64 ": %s", q->path, e->off,
                    strerror(-err));
            return err;
        }
        e->dirty = false;
        *wrote = true;
    }
    return 0;
}

static int write_l1(struct qcow2 *q)
{
    uint32_t lo = q->l1_dirty_lo, hi = q->l1_dirty_hi;
    uint8_t *buf;
    int err;

    if (lo >= hi)
        return 0;
    buf = malloc((size_t)(hi - lo) * 8);
    if (!buf)
        return -ENOMEM;
    for (uint32_t i = lo; i < hi; i++)
        qcow2_put_be64(buf + (size_t)(i - lo) * 8, q->l1[i]);
    err = qcow2_pwrite(q, buf, (size_t)(hi - lo) * 8, q->l1_offset + (uint64_t)lo * 8);
    free(buf);
    if (err) {
        log_err("disk: %s: writing the L1 table: %s", q->path, strerror(-err));
        return err;
    }
    q->l1_dirty_lo = q->l1_dirty_hi = 0;
    return 0;
}

/* Steps 1-3; no cache lookups happen here, so eviction can call it. */
static int write_meta(struct qcow2 *q)
{
    bool wrote = false;
    int err;

    err = write_dirty(q, &q->rbc, &wrote);
    if (err)
        goto out;
    if (q->data_dirty || wrote) {
        err = qcow2_sync(q);
        if (err)
            goto out;
    }
    wrote = false;
    err = write_dirty(q, &q->l2c, &wrote);
    if (!err && wrote)
        err = qcow2_sync(q);
    if (err)
        goto out;
    if (q->l1_dirty_lo < q->l1_dirty_hi) {
        err = write_l1(q);
        if (!err)
            err = qcow2_sync(q);
    }
out:
    return err;
}

int qcow2_flush_meta(struct qcow2 *q)
{
    int err;

    if (q->readonly || q->in_flush)
        return 0;
    q->in_flush = true;
    err = write_meta(q);
    if (!err)
        err = qcow2_apply_pending_frees(q);
    q->in_flush = false;
    return err;
}

int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, bool fresh,
                    struct qcow2_cache_ent **out)
{
    struct qcow2_cache_ent *e;
    unsigned victim = 0;
    int err;

    e = &c->e[c->last];
    if (e->off == off && off) {
        e->lru = ++c->tick;
        if (fresh)
            memset(e->data, 0, q->cluster_size);
        *out = e;
        return 0;
    }
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].off == off) {
            e = &c->e[i];
            e->lru = ++c->tick;
            c->last = i;
            if (fresh)
                memset(e->data, 0, q->cluster_size);
            *out = e;
            return 0;
        }
        if (!c->e[victim].off)
            continue; /* already have an empty slot */
        if (!c->e[i].off || c->e[i].lru < c->e[victim].lru)
            victim = i;
    }
    e = &c->e[victim];
    if (e->off && e->dirty) {
        if (q->in_flush) {
            /* only refcount decrements are dirty during a flush: safe to write directly */
            err = qcow2_pwrite(q, e->data, q->cluster_size, e->off);
        } else {
            q->in_flush = true;
            err = write_meta(q);
            q->in_flush = false;
        }
        if (err)
            return err;
        e->dirty = false;
    }
    if (!e->data) {
        e->data = malloc(q->cluster_size);
        if (!e->data)
            return -ENOMEM;
    }
    e->off = 0;
    if (fresh) {
        memset(e->data, 0, q->cluster_size);
    } else {
        err = qcow2_pread(q, e->data, q->cluster_size, off);
        if (err) {
            log_err("disk: %s: reading metadata at 0x%" PRIx64 ": %s", q->path, off,
                    strerror(-err));
            return err;
        }
    }
    e->off = off;
    e->dirty = false;
    e->lru = ++c->tick;
    c->last = victim;
    *out = e;
    return 0;
}
