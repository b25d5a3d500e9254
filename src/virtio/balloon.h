/* virtio-balloon (device ID 5): the host asks the guest to give back memory (inflate) or
 * lets it take memory again (deflate). Pages the guest gives back, and free pages it reports
 * (VIRTIO_BALLOON_F_REPORTING), are punched out of the memfd behind guest RAM, so the VMM's
 * RSS really drops. Also: memory statistics (F_STATS_VQ) and deflate-on-OOM. */
#ifndef VESSEL_VIRTIO_BALLOON_H
#define VESSEL_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio.h"

/* Feature bits (virtio 1.2, 5.5.3) */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ       1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON    4
#define VIRTIO_BALLOON_F_REPORTING      5

#define VIRTIO_BALLOON_PAGE_SIZE 4096u /* PFNs in the queues are always 4 KiB frames */

/* Statistics tags (virtio 1.2, 5.5.6.3) */
enum {
    VIRTIO_BALLOON_S_SWAP_IN,
    VIRTIO_BALLOON_S_SWAP_OUT,
    VIRTIO_BALLOON_S_MAJFLT,
    VIRTIO_BALLOON_S_MINFLT,
    VIRTIO_BALLOON_S_MEMFREE,
    VIRTIO_BALLOON_S_MEMTOT,
    VIRTIO_BALLOON_S_AVAIL,
    VIRTIO_BALLOON_S_CACHES,
    VIRTIO_BALLOON_S_HTLB_PGALLOC,
    VIRTIO_BALLOON_S_HTLB_PGFAIL,
    VIRTIO_BALLOON_S_NR
};

struct virtio_balloon_config {
    uint32_t num_pages; /* device: the target, in 4 KiB pages */
    uint32_t actual;    /* driver: pages in the balloon now */
    uint32_t free_page_hint_cmd_id;
    uint32_t poison_val;
} __attribute__((packed));

struct virtio_balloon_info {
    uint64_t target_bytes, actual_bytes; /* balloon size asked for, and reached by the guest */
    uint64_t discarded_bytes;            /* returned to the host so far (inflate) */
    uint64_t reported_bytes;             /* free pages reported and discarded so far */
    uint64_t deflated_bytes;             /* given back to the guest so far */
    bool has_stats;                      /* the guest has sent statistics */
    uint64_t stats_age_ms;               /* since the last statistics update */
    bool stat_valid[VIRTIO_BALLOON_S_NR];
    uint64_t stat[VIRTIO_BALLOON_S_NR]; /* as the guest reported them (bytes or counts) */
};

struct virtio_balloon;

/* initial_bytes: the balloon size to ask for from the start (0: none). */
int virtio_balloon_create(struct virtio_balloon **out, const struct gmem *mem,
                          uint64_t initial_bytes);
struct virtio_dev *virtio_balloon_dev(struct virtio_balloon *b);
void virtio_balloon_destroy(struct virtio_balloon *b);

/* Any thread: ask the guest for a balloon of this many bytes (rounded down to 4 KiB pages;
 * at most the RAM size). Returns 0 or -EINVAL (larger than RAM). */
int virtio_balloon_set_target(struct virtio_balloon *b, uint64_t bytes);
/* Any thread: the current state. With wait_ms > 0, first asks the guest for fresh statistics
 * and waits up to wait_ms for them. */
void virtio_balloon_get_info(struct virtio_balloon *b, struct virtio_balloon_info *info,
                             unsigned wait_ms);
/* "swap_in", "free_memory", ... (NULL for an unknown tag). */
const char *virtio_balloon_stat_name(unsigned tag);

#endif
