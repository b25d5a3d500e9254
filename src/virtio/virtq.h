/* Split virtqueues (virtio 1.x, section 2.7): the device side of one queue in guest memory.
 * Everything read from guest memory is validated here: ring addresses, descriptor addresses
 * and lengths (through gmem_ptr, overflow-checked), chain length (bounded; loops detected),
 * indirect tables (multiple of 16 bytes, not nested, bounded) and descriptor order (device-
 * readable before device-writable). A malformed chain makes virtq_pop() fail with -EINVAL and
 * a message in q->err; the caller (the virtio core) marks the device broken.
 *
 * A virtq is not locked: once the driver has set DRIVER_OK only the device's own thread
 * touches it (queue addresses cannot change until a reset, which stops that thread first). */
#ifndef VESSEL_VIRTIO_VIRTQ_H
#define VESSEL_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/gmem.h"

#define VIRTQ_MAX_SIZE 1024 /* largest queue size any device offers; also the iovec bound */

/* Descriptor flags */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
/* avail->flags / used->flags */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq {
    const struct gmem *mem;
    uint16_t size; /* power of two, 1..VIRTQ_MAX_SIZE; set by the driver (QueueNum) */
    bool ready;
    uint64_t desc_gpa, avail_gpa, used_gpa; /* QueueDesc, QueueDriver, QueueDevice */
    bool event_idx;                         /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;                          /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    /* Device-side indices (saved and restored with the device) */
    uint16_t last_avail;     /* next avail ring slot to consume */
    uint16_t used_idx;       /* our copy of used->idx */
    uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
    bool signalled_valid;    /* signalled_used means something */
    /* Host pointers into guest memory, computed by virtq_start() */
    uint8_t *desc, *avail, *used;
    const char *err; /* why the last virtq_pop()/virtq_start() failed */
};

/* One popped chain. iov[0..out_num) are device-readable (driver -> device), then
 * iov[out_num..out_num+in_num) device-writable. Each iovec points into guest RAM. */
struct virtq_elem {
    uint16_t head; /* give it back to virtq_push() */
    unsigned out_num, in_num;
    uint64_t out_len, in_len; /* byte totals of each side */
    struct iovec iov[VIRTQ_MAX_SIZE];
};

/* Clears everything but mem (device reset). */
void virtq_reset(struct virtq *q);
/* Validates size and the three ring areas against guest memory and caches their host
 * pointers; call when the queue becomes ready. Returns 0 or -EINVAL (q->err says why). */
int virtq_start(struct virtq *q);

/* Takes the next available chain. Returns 1 with *e filled, 0 when the ring is empty, or
 * -EINVAL for a malformed ring or chain (q->err says why; the queue is then unusable). */
int virtq_pop(struct virtq *q, struct virtq_elem *e);
/* Returns the last popped chain to the avail ring (to be popped again, e.g. when a device
 * could not use a receive buffer yet). */
void virtq_unpop(struct virtq *q);
/* Puts (head, len written) on the used ring and publishes used->idx. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* True when the driver wants an interrupt for what was pushed since the last one (honours
 * EVENT_IDX used_event or VIRTQ_AVAIL_F_NO_INTERRUPT). Updates the signalled index. */
bool virtq_should_notify(struct virtq *q);

/* Kick suppression while the device is busy: disable asks the driver not to notify; enable
 * asks for notifications again and returns true when buffers arrived meanwhile (the caller
 * then keeps popping). With EVENT_IDX this writes avail_event; otherwise used->flags. */
void virtq_disable_notify(struct virtq *q);
bool virtq_enable_notify(struct virtq *q);
/* Number of available chains not yet popped (0 when not started). */
uint16_t virtq_avail_count(struct virtq *q);

/* Ring area sizes for a queue of n entries (for range checks and tests). */
static inline uint64_t virtq_desc_bytes(unsigned n)
{
    return 16ull * n;
}
static inline uint64_t virtq_avail_bytes(unsigned n)
{
    return 6ull + 2ull * n; /* flags, idx, ring[n], used_event */
}
static inline uint64_t virtq_used_bytes(unsigned n)
{
    return 6ull + 8ull * n; /* flags, idx, ring[n] {id, len}, avail_event */
}

#endif
