/* virtio-rng: one queue; every device-writable buffer is filled with host random bytes (at most
 * RNG_MAX_REQ per request, so one request cannot keep the device busy for long). */
#include "virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "base/log.h"

#define RNG_MAX_REQ 65536u

struct virtio_rng {
    struct virtio_dev *vdev;
    struct virtq_elem elem;
};

/* Fills the writable part of e; returns the bytes written. */
static uint32_t rng_fill(struct virtq_elem *e)
{
    uint32_t done = 0;

    for (unsigned i = e->out_num; i < e->out_num + e->in_num && done < RNG_MAX_REQ; i++) {
        uint8_t *p = e->iov[i].iov_base;
        size_t want = e->iov[i].iov_len, got = 0;

        if (want > RNG_MAX_REQ - done)
            want = RNG_MAX_REQ - done;
        while (got < want) {
            ssize_t n = getrandom(p + got, want - got, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                log_guest_err("virtio-rng: getrandom failed");
                return done + (uint32_t)got;
            }
            got += (size_t)n;
        }
        done += (uint32_t)got;
    }
    return done;
}

static void rng_kick(struct virtio_dev *d, unsigned q)
{
    struct virtio_rng *r = virtio_dev_priv(d);
    int n;

    do {
        virtio_queue_disable_notify(d, q);
        while ((n = virtio_queue_pop(d, q, &r->elem)) > 0)
            virtio_queue_push(d, q, r->elem.head, rng_fill(&r->elem));
    } while (n == 0 && virtio_queue_enable_notify(d, q));
    virtio_queue_notify(d, q);
}

static const struct virtio_dev_ops rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max = 64,
    .config_size = 0,
    .queue_kick = rng_kick,
};

int virtio_rng_create(struct virtio_rng **out, const struct gmem *mem)
{
    struct virtio_rng *r = calloc(1, sizeof(*r));
    int err;

    if (!r)
        return -ENOMEM;
    err = virtio_dev_create(&r->vdev, &rng_ops, r, mem);
    if (err) {
        free(r);
        return err;
    }
    *out = r;
    return 0;
}

struct virtio_dev *virtio_rng_dev(struct virtio_rng *r)
{
    return r->vdev;
}

void virtio_rng_destroy(struct virtio_rng *r)
{
    if (!r)
        return;
    virtio_dev_destroy(r->vdev);
    free(r);
}
