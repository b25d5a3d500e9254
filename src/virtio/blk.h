/* virtio-blk (device ID 2) over a disk image of src/backend/disk. Requests run on the
 * device's own thread, never on a vCPU thread. */
#ifndef VESSEL_VIRTIO_BLK_H
#define VESSEL_VIRTIO_BLK_H

#include "backend/disk/disk.h"
#include "virtio/virtio.h"

/* Feature bits */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2

#define VIRTIO_BLK_ID_BYTES            20
#define VIRTIO_BLK_SEG_MAX             126        /* data segments per request */
#define VIRTIO_BLK_SIZE_MAX            (1u << 20) /* bytes per segment */
#define VIRTIO_BLK_DISCARD_MAX_SECTORS (1u << 22)

/* The config space layout (little-endian), virtio 1.2 5.2.4 */
struct virtio_blk_config {
    uint64_t capacity; /* 512-byte sectors */
    uint32_t size_max;
    uint32_t seg_max;
    uint16_t cylinders;
    uint8_t heads, sectors;
    uint32_t blk_size;
    uint8_t physical_block_exp, alignment_offset;
    uint16_t min_io_size;
    uint32_t opt_io_size;
    uint8_t writeback, unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
    uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
    uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

struct virtio_blk;

/* disk stays the caller's (close it after virtio_blk_destroy). serial is the
 * GET_ID string (up to 20 bytes used; NULL: none). Returns 0 or -errno. */
int virtio_blk_create(struct virtio_blk **out, struct disk *disk, const char *serial,
                      const struct gmem *mem);
struct virtio_dev *virtio_blk_dev(struct virtio_blk *b);
/* With the device quiesced (virtio_dev_quiesce): requests from now on go to disk, which has
 * the same size and read-only flag (e.g. a new overlay on top of the old disk). Returns the
 * disk it replaces (still the caller's). */
struct disk *virtio_blk_swap_disk(struct virtio_blk *b, struct disk *disk);
void virtio_blk_destroy(struct virtio_blk *b);

/* Requests served since the device was created (completed or failed), and the bytes of the
 * reads and writes among them; a guest reset does not clear them. Written by the device's
 * thread with relaxed atomic stores (no locked instruction on the I/O path), read from any
 * thread. */
struct virtio_blk_stats {
    uint64_t read_ops, read_bytes, write_ops, write_bytes, flush_ops, discard_ops, errors;
};
void virtio_blk_get_stats(const struct virtio_blk *b, struct virtio_blk_stats *st);

#endif
