/* virtio-balloon. Queues, in order (indices are dense: a queue whose feature was not negotiated
 * takes no index, as Linux and QEMU number them): inflate, deflate, stats (F_STATS_VQ),
 * reporting (F_REPORTING). Guest RAM is a MAP_SHARED memfd mapping, so giving pages back to the
 * host is madvise(MADV_REMOVE): it punches the range out of the memfd and RSS drops; the guest
 * reading the page again later gets zeros, which is what a balloon page may contain. A VM
 * restored from a snapshot maps its RAM MAP_PRIVATE from the file: there gmem_discard() uses
 * MADV_DONTNEED, which drops the private copy (the page reads as the snapshot's bytes). */
#include "virtio/balloon.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/iov.h"
#include "base/log.h"

#define Q_INFLATE 0
#define Q_DEFLATE 1
#define PFN_BATCH 256

enum role { R_INFLATE, R_DEFLATE, R_STATS, R_REPORT, R_NONE };

struct virtio_balloon {
    struct virtio_dev *vdev;
    const struct gmem *mem;
    _Atomic uint64_t target_pages;
    _Atomic uint64_t discarded, reported, deflated; /* bytes */
    atomic_bool want_stats;
    /* The stats buffer the device holds until it wants fresh numbers (device thread). */
    bool stats_held;
    uint16_t stats_head;
    /* Latest statistics: written on the device thread, read by get_info. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t stats_gen, stats_time_ns;
    bool stat_valid[VIRTIO_BALLOON_S_NR];
    uint64_t stat[VIRTIO_BALLOON_S_NR];
    struct virtq_elem elem;
};

static const char *const stat_names[VIRTIO_BALLOON_S_NR] = {
    "swap_in",      "swap_out",         "major_faults", "minor_faults",        "free_memory",
    "total_memory", "available_memory", "disk_caches",  "hugetlb_allocations", "hugetlb_failures",
};

const char *virtio_balloon_stat_name(unsigned tag)
{
    return tag < VIRTIO_BALLOON_S_NR ? stat_names[tag] : NULL;
}

static enum role queue_role(struct virtio_dev *d, unsigned q)
{
    bool stats = virtio_dev_has_feature(d, VIRTIO_BALLOON_F_STATS_VQ);
    bool report = virtio_dev_has_feature(d, VIRTIO_BALLOON_F_REPORTING);

    if (q == Q_INFLATE)
        return R_INFLATE;
    if (q == Q_DEFLATE)
        return R_DEFLATE;
    if (stats && q == 2)
        return R_STATS;
    if (report && q == 2u + stats)
        return R_REPORT;
    return R_NONE;
}

/* Gives host pages [hva, hva+len) back (page-aligned). Returns 0 or -errno. */
static int discard(struct virtio_balloon *b, uint8_t *hva, size_t len)
{
    int err = gmem_discard(b->mem, hva, len);

    /* Not expected (MADV_REMOVE on the memfd, MADV_DONTNEED on a restored private mapping). */
    if (err)
        log_guest_warn("virtio-balloon: discarding %zu bytes: %s", len, strerror(-err));
    return err;
}

/* An inflate or deflate buffer: an array of le32 page frame numbers. Runs of consecutive
 * frames are discarded with one call. */
static void pfn_list(struct virtio_balloon *b, const struct virtq_elem *e, bool inflate)
{
    uint32_t pfns[PFN_BATCH];
    uint64_t n = e->out_len / 4, run_start = 0, run_len = 0;

    for (uint64_t i = 0; i < n; i += PFN_BATCH) {
        unsigned cnt = n - i < PFN_BATCH ? (unsigned)(n - i) : PFN_BATCH;

        iov_to_buf(e->iov, e->out_num, i * 4, pfns, cnt * 4ull);
        for (unsigned j = 0; j < cnt; j++) {
            uint64_t gpa = (uint64_t)pfns[j] * VIRTIO_BALLOON_PAGE_SIZE;

            if (!gmem_ptr(b->mem, gpa, VIRTIO_BALLOON_PAGE_SIZE)) {
                virtio_dev_set_broken(b->vdev, "%s: page frame 0x%x is not guest RAM",
                                      inflate ? "inflate" : "deflate", pfns[j]);
                return;
            }
            if (!inflate) {
                atomic_fetch_add(&b->deflated, VIRTIO_BALLOON_PAGE_SIZE);
                continue;
            }
            if (run_len && gpa == run_start + run_len) {
                run_len += VIRTIO_BALLOON_PAGE_SIZE;
                continue;
            }
            if (run_len && !discard(b, gmem_ptr(b->mem, run_start, run_len), run_len))
                atomic_fetch_add(&b->discarded, run_len);
            run_start = gpa;
            run_len = VIRTIO_BALLOON_PAGE_SIZE;
        }
    }
    if (run_len && !discard(b, gmem_ptr(b->mem, run_start, run_len), run_len))
        atomic_fetch_add(&b->discarded, run_len);
}

/* A free page report: the device-writable buffers are the free memory itself. */
static void report(struct virtio_balloon *b, const struct virtq_elem *e)
{
    for (unsigned i = e->out_num; i < e->out_num + e->in_num; i++) {
        uintptr_t s = (uintptr_t)e->iov[i].iov_base, end = s + e->iov[i].iov_len;

        /* Only whole pages: round the start up and the end down. */
        s = (s + VIRTIO_BALLOON_PAGE_SIZE - 1) & ~(uintptr_t)(VIRTIO_BALLOON_PAGE_SIZE - 1);
        end &= ~(uintptr_t)(VIRTIO_BALLOON_PAGE_SIZE - 1);
        if (end > s && !discard(b, (uint8_t *)s, end - s))
            atomic_fetch_add(&b->reported, end - s);
    }
}

/* A stats buffer: {le16 tag, le64 value} entries, packed. */
static void stats_read(struct virtio_balloon *b, const struct virtq_elem *e)
{
    uint8_t ent[10];

    pthread_mutex_lock(&b->lock);
    for (uint64_t off = 0; off + sizeof(ent) <= e->out_len && off < 64 * sizeof(ent);
         off += sizeof(ent)) {
        uint16_t tag;
        uint64_t val;

        iov_to_buf(e->iov, e->out_num, off, ent, sizeof(ent));
        memcpy(&tag, ent, 2);
        memcpy(&val, ent + 2, 8);
        if (tag < VIRTIO_BALLOON_S_NR) {
            b->stat[tag] = val;
            b->stat_valid[tag] = true;
        }
    }
    b->stats_gen++;
    b->stats_time_ns = clock_now_ns();
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static void stats_kick(struct virtio_balloon *b, unsigned q)
{
    struct virtio_dev *d = b->vdev;

    while (virtio_queue_pop(d, q, &b->elem) > 0) {
        if (b->stats_held) /* a second buffer: give the old one back */
            virtio_queue_push(d, q, b->stats_head, 0);
        stats_read(b, &b->elem);
        b->stats_held = true;
        b->stats_head = b->elem.head;
    }
    /* Returning the buffer asks the driver to refill it with fresh numbers. */
    if (b->stats_held && atomic_exchange(&b->want_stats, false)) {
        virtio_queue_push(d, q, b->stats_head, 0);
        b->stats_held = false;
    }
    virtio_queue_notify(d, q);
}

static void balloon_kick(struct virtio_dev *d, unsigned q)
{
    struct virtio_balloon *b = virtio_dev_priv(d);
    enum role role = queue_role(d, q);
    int r;

    if (role == R_STATS) {
        stats_kick(b, q);
        return;
    }
    if (role == R_NONE)
        return;
    do {
        virtio_queue_disable_notify(d, q);
        while ((r = virtio_queue_pop(d, q, &b->elem)) > 0) {
            if (role == R_REPORT)
                report(b, &b->elem);
            else
                pfn_list(b, &b->elem, role == R_INFLATE);
            virtio_queue_push(d, q, b->elem.head, 0);
        }
    } while (r == 0 && virtio_queue_enable_notify(d, q));
    virtio_queue_notify(d, q);
}

/* The driver writes `actual`; keep what it wrote (nothing else in the config is writable,
 * and num_pages is re-read from b->target_pages by the host side). */
static void balloon_config_write(struct virtio_dev *d, uint32_t off, uint32_t len) {}

static void balloon_reset(struct virtio_dev *d)
{
    struct virtio_balloon *b = virtio_dev_priv(d);

    b->stats_held = false;
}

struct balloon_saved {
    uint16_t stats_head;
    uint8_t stats_held, pad[5];
    uint64_t target_pages;
};

static ssize_t balloon_save(struct virtio_dev *d, void *buf, size_t cap)
{
    struct virtio_balloon *b = virtio_dev_priv(d);
    struct balloon_saved s = {.stats_head = b->stats_head,
                              .stats_held = b->stats_held,
                              .target_pages = atomic_load(&b->target_pages)};

    if (cap < sizeof(s))
        return -ENOSPC;
    memcpy(buf, &s, sizeof(s));
    return sizeof(s);
}

static int balloon_load(struct virtio_dev *d, const void *buf, size_t len)
{
    struct virtio_balloon *b = virtio_dev_priv(d);
    struct balloon_saved s;

    if (len != sizeof(s))
        return -EINVAL;
    memcpy(&s, buf, sizeof(s));
    b->stats_head = s.stats_head;
    b->stats_held = s.stats_held != 0;
    atomic_store(&b->target_pages, s.target_pages);
    return 0;
}

static const struct virtio_dev_ops balloon_ops = {
    .name = "balloon",
    .device_id = VIRTIO_ID_BALLOON,
    .num_queues = 4,
    .queue_max = 128,
    .features = (1ull << VIRTIO_BALLOON_F_STATS_VQ) | (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
                (1ull << VIRTIO_BALLOON_F_REPORTING),
    .config_size = sizeof(struct virtio_balloon_config),
    .queue_kick = balloon_kick,
    .config_write = balloon_config_write,
    .reset = balloon_reset,
    .save = balloon_save,
    .load = balloon_load,
};

int virtio_balloon_set_target(struct virtio_balloon *b, uint64_t bytes)
{
    uint32_t pages;

    if (bytes > b->mem->size)
        return -EINVAL;
    pages = (uint32_t)(bytes / VIRTIO_BALLOON_PAGE_SIZE);
    atomic_store(&b->target_pages, pages);
    virtio_dev_config_set(b->vdev, offsetof(struct virtio_balloon_config, num_pages), &pages,
                          sizeof(pages));
    return 0;
}

void virtio_balloon_get_info(struct virtio_balloon *b, struct virtio_balloon_info *info,
                             unsigned wait_ms)
{
    uint32_t actual = 0;

    memset(info, 0, sizeof(*info));
    pthread_mutex_lock(&b->lock);
    if (wait_ms && virtio_dev_has_feature(b->vdev, VIRTIO_BALLOON_F_STATS_VQ)) {
        uint64_t gen = b->stats_gen, deadline = clock_now_ns() + wait_ms * 1000000ULL;
        struct timespec ts;

        atomic_store(&b->want_stats, true);
        virtio_dev_kick(b->vdev, 2);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (b->stats_gen == gen && clock_now_ns() < deadline)
            if (pthread_cond_timedwait(&b->cond, &b->lock, &ts) == ETIMEDOUT)
                break;
    }
    info->has_stats = b->stats_gen > 0;
    if (info->has_stats)
        info->stats_age_ms = (clock_now_ns() - b->stats_time_ns) / 1000000;
    memcpy(info->stat_valid, b->stat_valid, sizeof(info->stat_valid));
    memcpy(info->stat, b->stat, sizeof(info->stat));
    pthread_mutex_unlock(&b->lock);
    virtio_dev_config_get(b->vdev, offsetof(struct virtio_balloon_config, actual), &actual, 4);
    info->target_bytes = atomic_load(&b->target_pages) * VIRTIO_BALLOON_PAGE_SIZE;
    info->actual_bytes = (uint64_t)actual * VIRTIO_BALLOON_PAGE_SIZE;
    info->discarded_bytes = atomic_load(&b->discarded);
    info->reported_bytes = atomic_load(&b->reported);
    info->deflated_bytes = atomic_load(&b->deflated);
}

int virtio_balloon_create(struct virtio_balloon **out, const struct gmem *mem,
                          uint64_t initial_bytes)
{
    struct virtio_balloon *b = calloc(1, sizeof(*b));
    int err;

    if (!b)
        return -ENOMEM;
    b->mem = mem;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    err = virtio_dev_create(&b->vdev, &balloon_ops, b, mem);
    if (!err)
        err = virtio_balloon_set_target(b, initial_bytes);
    if (err) {
        virtio_dev_destroy(b->vdev);
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return err;
    }
    *out = b;
    return 0;
}

struct virtio_dev *virtio_balloon_dev(struct virtio_balloon *b)
{
    return b->vdev;
}

void virtio_balloon_destroy(struct virtio_balloon *b)
{
    if (!b)
        return;
    virtio_dev_destroy(b->vdev);
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
    free(b);
}
