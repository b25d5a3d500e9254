/* Split virtqueue, device side. Layout (virtio 1.2, 2.7): descriptor table of 16-byte
 * {addr le64, len le32, flags le16, next le16}; avail ring {flags, idx, ring[n], used_event};
 * used ring {flags, idx, ring[n] of {id le32, len le32}, avail_event}. The host is
 * little-endian (x86-64, riscv64), so fields are read as native integers. */
#include "virtio/virtq.h"

#include <errno.h>
#include <string.h>

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

#define AVAIL_FLAGS(q)   ((uint16_t *)((q)->avail))
#define AVAIL_IDX(q)     ((uint16_t *)((q)->avail + 2))
#define AVAIL_RING(q, i) ((uint16_t *)((q)->avail + 4 + 2 * (size_t)(i)))
#define USED_EVENT(q)    AVAIL_RING(q, (q)->size)
#define USED_FLAGS(q)    ((uint16_t *)((q)->used))
#define USED_IDX(q)      ((uint16_t *)((q)->used + 2))
#define USED_ELEM(q, i)  ((uint32_t *)((q)->used + 4 + 8 * (size_t)(i)))
#define AVAIL_EVENT(q)   ((uint16_t *)((q)->used + 4 + 8 * (size_t)(q)->size))
#define LOAD16(p)        __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE16(p, v)    __atomic_store_n((p), (uint16_t)(v), __ATOMIC_RELAXED)

static int fail(struct virtq *q, const char *why)
{
    q->err = why;
    return -EINVAL;
}

void virtq_reset(struct virtq *q)
{
    const struct gmem *mem = q->mem;

    memset(q, 0, sizeof(*q));
    q->mem = mem;
}

int virtq_start(struct virtq *q)
{
    unsigned n = q->size;

    q->desc = q->avail = q->used = NULL;
    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
        return fail(q, "queue size is not a power of two up to the maximum");
    if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
        return fail(q, "misaligned ring address");
    q->desc = gmem_ptr(q->mem, q->desc_gpa, virtq_desc_bytes(n));
    q->avail = gmem_ptr(q->mem, q->avail_gpa, virtq_avail_bytes(n));
    q->used = gmem_ptr(q->mem, q->used_gpa, virtq_used_bytes(n));
    if (!q->desc || !q->avail || !q->used) {
        q->desc = q->avail = q->used = NULL;
        return fail(q, "ring outside guest memory");
    }
    return 0;
}

uint16_t virtq_avail_count(struct virtq *q)
{
    if (!q->avail)
        return 0;
    return (uint16_t)(__atomic_load_n(AVAIL_IDX(q), __ATOMIC_ACQUIRE) - q->last_avail);
}

/* Walks the chain starting at head into e; with e NULL, marks its device-writable buffers in
 * the memory's dirty log instead (virtq_push while migrating). */
static int walk_chain(struct virtq *q, uint16_t head, struct virtq_elem *e)
{
    const uint8_t *table = q->desc;
    unsigned tsize = q->size, idx = head, count = 0, ndesc = 0;
    bool indirect = false;

    if (e) {
        e->head = head;
        e->out_num = e->in_num = 0;
        e->out_len = e->in_len = 0;
    }
    for (;;) {
        struct vdesc d;
        void *p;

        if (++count > tsize)
            return fail(q, "descriptor chain longer than its table (loop?)");
        memcpy(&d, table + 16 * (size_t)idx, sizeof(d));
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!q->indirect)
                return fail(q, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
            if (indirect)
                return fail(q, "indirect table inside an indirect table");
            if (d.flags & VIRTQ_DESC_F_NEXT)
                return fail(q, "indirect descriptor with NEXT set");
            if (d.len == 0 || d.len % 16 || d.len / 16 > VIRTQ_MAX_SIZE)
                return fail(q, "indirect table length not a multiple of 16 or too long");
            table = gmem_ptr(q->mem, d.addr, d.len);
            if (!table)
                return fail(q, "indirect table outside guest memory");
            tsize = d.len / 16;
            idx = 0;
            count = 0;
            indirect = true;
            continue;
        }
        if (d.len == 0)
            return fail(q, "zero-length descriptor");
        p = gmem_ptr(q->mem, d.addr, d.len);
        if (!p)
            return fail(q, "descriptor buffer outside guest memory");
        if (++ndesc > VIRTQ_MAX_SIZE)
            return fail(q, "descriptor chain too long");
        if (!e) {
            if (d.flags & VIRTQ_DESC_F_WRITE)
                gmem_mark_dirty(q->mem, p, d.len);
        } else if (d.flags & VIRTQ_DESC_F_WRITE) {
            e->in_len += d.len;
            e->iov[e->out_num + e->in_num].iov_base = p;
            e->iov[e->out_num + e->in_num].iov_len = d.len;
            e->in_num++;
        } else {
            if (e->in_num)
                return fail(q, "device-readable descriptor after a device-writable one");
            e->out_len += d.len;
            e->iov[e->out_num].iov_base = p;
            e->iov[e->out_num].iov_len = d.len;
            e->out_num++;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        idx = d.next;
        if (idx >= tsize)
            return fail(q, "next descriptor index out of range");
    }
}

int virtq_pop(struct virtq *q, struct virtq_elem *e)
{
    uint16_t avail, head;
    int err;

    if (!q->ready || !q->avail)
        return 0;
    avail = __atomic_load_n(AVAIL_IDX(q), __ATOMIC_ACQUIRE);
    if (avail == q->last_avail)
        return 0;
    if ((uint16_t)(avail - q->last_avail) > q->size)
        return fail(q, "avail index moved by more than the queue size");
    head = LOAD16(AVAIL_RING(q, q->last_avail & (q->size - 1)));
    if (head >= q->size)
        return fail(q, "avail ring names a descriptor past the table");
    err = walk_chain(q, head, e);
    if (err)
        return err;
    q->last_avail++;
    return 1;
}

void virtq_unpop(struct virtq *q)
{
    q->last_avail--;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
    uint32_t *el;

    if (!q->used)
        return;
    el = USED_ELEM(q, q->used_idx & (q->size - 1));
    __atomic_store_n(&el[0], (uint32_t)head, __ATOMIC_RELAXED);
    __atomic_store_n(&el[1], len, __ATOMIC_RELAXED);
    q->used_idx++;
    if (__atomic_load_n(&q->mem->dirty, __ATOMIC_ACQUIRE)) {
        /* Migrating: what the device wrote for this chain, and the used ring, must be sent
         * again. Marked before used->idx is published: until then the driver cannot reuse
         * the chain, so its descriptors still name the buffers the device wrote. */
        walk_chain(q, head, NULL);
        gmem_mark_dirty(q->mem, q->used, virtq_used_bytes(q->size));
    }
    __atomic_store_n(USED_IDX(q), q->used_idx, __ATOMIC_RELEASE);
    /* Looks at the log again (a load, nothing when off): a collection, or logging switched on,
     * between the marks above and this store must still see used->idx change. */
    gmem_mark_dirty(q->mem, USED_IDX(q), 2);
}

bool virtq_should_notify(struct virtq *q)
{
    uint16_t old, new, ev;
    bool valid;

    if (!q->avail)
        return false;
    /* Our used->idx store must be visible before we read the driver's suppression. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!q->event_idx)
        return !(LOAD16(AVAIL_FLAGS(q)) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    old = q->signalled_used;
    new = q->used_idx;
    valid = q->signalled_valid;
    q->signalled_used = new;
    q->signalled_valid = true;
    if (!valid)
        return true;
    ev = LOAD16(USED_EVENT(q));
    /* Notify when used_event lies in (old, new]: the driver asked to hear of that entry. */
    return (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
}

void virtq_disable_notify(struct virtq *q)
{
    if (!q->used || q->event_idx)
        return; /* with EVENT_IDX, a stale avail_event already suppresses kicks */
    STORE16(USED_FLAGS(q), VIRTQ_USED_F_NO_NOTIFY);
    gmem_mark_dirty(q->mem, q->used, 2);
}

bool virtq_enable_notify(struct virtq *q)
{
    if (!q->used)
        return false;
    if (q->event_idx)
        STORE16(AVAIL_EVENT(q), q->last_avail);
    else
        STORE16(USED_FLAGS(q), 0);
    gmem_mark_dirty(q->mem, q->used, virtq_used_bytes(q->size));
    /* Publish the request before looking for buffers that raced with it. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return virtq_avail_count(q) != 0;
}
