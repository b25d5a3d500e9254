/* virtio-blk: one request queue, requests served in order on the device thread. A request is
 * {16-byte header: type, reserved, sector} [data] {1 status byte, the last writable byte}. */
#include "virtio/blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/iov.h"
#include "base/log.h"

#define SECTOR 512u

struct blk_req_hdr {
    uint32_t type, reserved;
    uint64_t sector;
};

struct blk_range { /* discard / write-zeroes segment */
    uint64_t sector;
    uint32_t num_sectors, flags;
};
#define RANGE_F_UNMAP 1u

struct virtio_blk {
    struct virtio_dev *vdev;
    struct disk *disk;
    char serial[VIRTIO_BLK_ID_BYTES];
    uint64_t sectors;
    struct virtq_elem elem;
    struct iovec data[VIRTQ_MAX_SIZE];
    struct virtio_blk_stats stats; /* one writer (the device thread): relaxed atomics */
};

/* counter += n by its only writer: a plain load and store, atomic so that readers see whole
 * values */
static inline void stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

void virtio_blk_get_stats(const struct virtio_blk *b, struct virtio_blk_stats *st)
{
    const uint64_t *src = (const uint64_t *)&b->stats;
    uint64_t *dst = (uint64_t *)st;

    for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* Counts a finished request of type type that moved len data bytes. */
static void count(struct virtio_blk *b, uint32_t type, uint64_t len, uint8_t status)
{
    if (status != VIRTIO_BLK_S_OK) {
        stat_add(&b->stats.errors, 1);
        return;
    }
    switch (type) {
    case VIRTIO_BLK_T_IN:
        stat_add(&b->stats.read_ops, 1);
        stat_add(&b->stats.read_bytes, len);
        break;
    case VIRTIO_BLK_T_OUT:
        stat_add(&b->stats.write_ops, 1);
        stat_add(&b->stats.write_bytes, len);
        break;
    case VIRTIO_BLK_T_FLUSH: stat_add(&b->stats.flush_ops, 1); break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: stat_add(&b->stats.discard_ops, 1); break;
    default: break;
    }
}

/* True when [sector, sector + n) lies on the disk. */
static bool range_ok(struct virtio_blk *b, uint64_t sector, uint64_t n)
{
    uint64_t end;

    return !__builtin_add_overflow(sector, n, &end) && end <= b->sectors;
}

static uint8_t do_rw(struct virtio_blk *b, const struct blk_req_hdr *h, struct virtq_elem *e,
                     uint32_t *written)
{
    bool write = h->type == VIRTIO_BLK_T_OUT;
    const struct iovec *iov = write ? e->iov : e->iov + e->out_num;
    unsigned cnt = write ? e->out_num : e->in_num;
    size_t off = write ? sizeof(*h) : 0;
    uint64_t len = write ? e->out_len - sizeof(*h) : e->in_len - 1;
    int n, err;

    if (len % SECTOR || !range_ok(b, h->sector, len / SECTOR)) {
        log_guest_warn("virtio-blk: %s: %s of %llu bytes at sector %llu past the end or unaligned",
                       b->disk->path, write ? "write" : "read", (unsigned long long)len,
                       (unsigned long long)h->sector);
        return VIRTIO_BLK_S_IOERR;
    }
    if (write && b->disk->readonly)
        return VIRTIO_BLK_S_IOERR;
    if (len == 0)
        return VIRTIO_BLK_S_OK;
    n = iov_slice(iov, cnt, off, len, b->data, VIRTQ_MAX_SIZE);
    if (n < 0)
        return VIRTIO_BLK_S_IOERR;
    err = write ? b->disk->ops->writev(b->disk, h->sector * SECTOR, b->data, n)
                : b->disk->ops->readv(b->disk, h->sector * SECTOR, b->data, n);
    if (err) {
        log_guest_err("virtio-blk: %s: %s at sector %llu: %s", b->disk->path,
                      write ? "write" : "read", (unsigned long long)h->sector, strerror(-err));
        return VIRTIO_BLK_S_IOERR;
    }
    if (!write)
        *written = (uint32_t)len;
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_ranges(struct virtio_blk *b, const struct blk_req_hdr *h, struct virtq_elem *e)
{
    bool zero = h->type == VIRTIO_BLK_T_WRITE_ZEROES;
    uint64_t len = e->out_len - sizeof(*h);
    struct blk_range r;
    int err;

    if (b->disk->readonly)
        return VIRTIO_BLK_S_IOERR;
    /* We announce max_*_seg = 1: exactly one range. */
    if (len != sizeof(r))
        return VIRTIO_BLK_S_UNSUPP;
    iov_to_buf(e->iov, e->out_num, sizeof(*h), &r, sizeof(r));
    if ((r.flags & ~RANGE_F_UNMAP) || (!zero && (r.flags & RANGE_F_UNMAP)))
        return VIRTIO_BLK_S_UNSUPP;
    if (r.num_sectors > VIRTIO_BLK_DISCARD_MAX_SECTORS || !range_ok(b, r.sector, r.num_sectors))
        return VIRTIO_BLK_S_IOERR;
    if (!r.num_sectors)
        return VIRTIO_BLK_S_OK;
    err = zero
              ? b->disk->ops->write_zeroes(b->disk, r.sector * SECTOR,
                                           (uint64_t)r.num_sectors * SECTOR)
              : b->disk->ops->discard(b->disk, r.sector * SECTOR, (uint64_t)r.num_sectors * SECTOR);
    if (err && !zero && err == -EOPNOTSUPP)
        return VIRTIO_BLK_S_OK; /* discard is a hint */
    if (err) {
        log_guest_err("virtio-blk: %s: %s at sector %llu: %s", b->disk->path,
                      zero ? "write-zeroes" : "discard", (unsigned long long)r.sector,
                      strerror(-err));
        return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

/* Serves one request; returns false when the chain is malformed (device now broken). */
static bool blk_request(struct virtio_blk *b, struct virtq_elem *e)
{
    struct blk_req_hdr h;
    uint32_t written = 0;
    uint8_t status;
    int err;

    if (e->out_len < sizeof(h) || e->in_len < 1) {
        virtio_dev_set_broken(b->vdev, "request without a header or a status byte");
        return false;
    }
    iov_to_buf(e->iov, e->out_num, 0, &h, sizeof(h));
    switch (h.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: status = do_rw(b, &h, e, &written); break;
    case VIRTIO_BLK_T_FLUSH:
        err = b->disk->readonly ? 0 : b->disk->ops->flush(b->disk);
        if (err)
            log_guest_err("virtio-blk: %s: flush: %s", b->disk->path, strerror(-err));
        status = err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
        break;
    case VIRTIO_BLK_T_GET_ID: {
        size_t n = e->in_len - 1 < sizeof(b->serial) ? e->in_len - 1 : sizeof(b->serial);
        written = (uint32_t)iov_from_buf(e->iov + e->out_num, e->in_num, 0, b->serial, n);
        status = VIRTIO_BLK_S_OK;
        break;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: status = do_ranges(b, &h, e); break;
    default: status = VIRTIO_BLK_S_UNSUPP; break;
    }
    count(b, h.type,
          h.type == VIRTIO_BLK_T_OUT  ? e->out_len - sizeof(h)
          : h.type == VIRTIO_BLK_T_IN ? e->in_len - 1
                                      : 0,
          status);
    iov_from_buf(e->iov + e->out_num, e->in_num, e->in_len - 1, &status, 1);
    virtio_queue_push(b->vdev, 0, e->head, written + 1);
    return true;
}

static void blk_kick(struct virtio_dev *d, unsigned q)
{
    struct virtio_blk *b = virtio_dev_priv(d);
    int r;

    do {
        virtio_queue_disable_notify(d, q);
        while ((r = virtio_queue_pop(d, q, &b->elem)) > 0)
            if (!blk_request(b, &b->elem))
                return;
    } while (r == 0 && virtio_queue_enable_notify(d, q));
    virtio_queue_notify(d, q);
}

static const struct virtio_dev_ops blk_ops = {
    .name = "blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_max = 256,
    .features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
                (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
                (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES),
    .config_size = sizeof(struct virtio_blk_config),
    .queue_kick = blk_kick,
};

static const struct virtio_dev_ops blk_ro_ops = {
    .name = "blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_max = 256,
    .features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
                (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
                (1ull << VIRTIO_BLK_F_RO),
    .config_size = sizeof(struct virtio_blk_config),
    .queue_kick = blk_kick,
};

int virtio_blk_create(struct virtio_blk **out, struct disk *disk, const char *serial,
                      const struct gmem *mem)
{
    struct virtio_blk *b = calloc(1, sizeof(*b));
    struct virtio_blk_config cfg = {0};
    int err;

    if (!b)
        return -ENOMEM;
    b->disk = disk;
    b->sectors = disk->size / SECTOR;
    if (serial)
        memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial))); /* NUL-padded */
    err = virtio_dev_create(&b->vdev, disk->readonly ? &blk_ro_ops : &blk_ops, b, mem);
    if (err) {
        free(b);
        return err;
    }
    cfg.capacity = b->sectors;
    cfg.size_max = VIRTIO_BLK_SIZE_MAX;
    cfg.seg_max = VIRTIO_BLK_SEG_MAX;
    cfg.blk_size = SECTOR;
    cfg.num_queues = 1;
    cfg.max_discard_sectors = VIRTIO_BLK_DISCARD_MAX_SECTORS;
    cfg.max_discard_seg = 1;
    cfg.discard_sector_alignment = 8;
    cfg.max_write_zeroes_sectors = VIRTIO_BLK_DISCARD_MAX_SECTORS;
    cfg.max_write_zeroes_seg = 1;
    virtio_dev_config_set(b->vdev, 0, &cfg, sizeof(cfg));
    *out = b;
    return 0;
}

struct virtio_dev *virtio_blk_dev(struct virtio_blk *b)
{
    return b->vdev;
}

struct disk *virtio_blk_swap_disk(struct virtio_blk *b, struct disk *disk)
{
    struct disk *old = b->disk;

    b->disk = disk;
    return old;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
    if (!b)
        return;
    virtio_dev_destroy(b->vdev);
    free(b);
}
