/* The virtio core, device side: the device thread (queue kicks and other event sources), the
 * queue API devices call on it, interrupts, and save/load of the whole device state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"
#include "base/thread.h"
#include "virtio/virtio_priv.h"

#define EV_STOP UINT32_MAX
#define EV_FD   0x10000 /* data.u64 = EV_FD + fd for other event sources */

void virtio_raise(struct virtio_dev *d, uint32_t isr, unsigned q)
{
    atomic_fetch_or(&d->isr, isr);
    if (d->tops && d->tops->interrupt)
        d->tops->interrupt(d->topaque, isr, q);
}

static void drain(int fd)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
}

static void run_fd(struct virtio_dev *d, int fd)
{
    for (int i = 0; i < d->nfds; i++)
        if (d->fds[i].fd == fd) {
            d->fds[i].cb(d, fd, d->fds[i].opaque);
            return;
        }
}

static void *dev_thread(void *arg)
{
    struct virtio_dev *d = arg;
    struct epoll_event ev[16];

    for (;;) {
        int n = epoll_wait(d->epfd, ev, 16, -1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_err("virtio-%s: epoll_wait: %s", d->ops->name, strerror(errno));
            return NULL;
        }
        for (int i = 0; i < n; i++)
            if (ev[i].data.u64 == EV_STOP)
                return NULL;
        for (int i = 0; i < n; i++) {
            uint64_t tag = ev[i].data.u64;
            if (tag >= EV_FD) {
                run_fd(d, (int)(tag - EV_FD));
            } else if (tag < d->ops->num_queues) {
                drain(d->kick_fd[tag]);
                if (!atomic_load(&d->broken) && d->vq[tag].ready)
                    d->ops->queue_kick(d, (unsigned)tag);
            }
        }
    }
}

/* The thread role of a device, for the sandbox: each device kind gets its own syscalls. */
static enum thread_role dev_role(const struct virtio_dev *d)
{
    static const struct {
        const char *name;
        enum thread_role role;
    } roles[] = {
        {"blk", THREAD_VIRTIO_BLK},         {"net", THREAD_VIRTIO_NET},
        {"rng", THREAD_VIRTIO_RNG},         {"console", THREAD_VIRTIO_CONSOLE},
        {"balloon", THREAD_VIRTIO_BALLOON},
    };

    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (!strcmp(d->ops->name, roles[i].name))
            return roles[i].role;
    return THREAD_VIRTIO; /* a device kind the sandbox has no role of its own for */
}

int virtio_thread_start(struct virtio_dev *d)
{
    int err;

    if (d->running || d->quiesced)
        return 0;
    drain(d->stop_fd);
    err = thread_create(&d->thread, dev_role(d), dev_thread, d);
    if (err) {
        log_err("virtio-%s: creating the device thread: %s", d->ops->name, strerror(err));
        return -err;
    }
    d->running = true;
    /* Buffers made available before DRIVER_OK (or before a restore) are served now. */
    for (unsigned i = 0; i < d->ops->num_queues; i++)
        virtio_dev_kick(d, i);
    return 0;
}

void virtio_thread_stop(struct virtio_dev *d)
{
    uint64_t one = 1;

    if (!d->running)
        return;
    if (write(d->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        log_err("virtio-%s: waking the device thread: %s", d->ops->name, strerror(errno));
    pthread_join(d->thread, NULL);
    d->running = false;
    drain(d->stop_fd);
}

int virtio_dev_add_fd(struct virtio_dev *d, int fd, void (*cb)(struct virtio_dev *, int, void *),
                      void *opaque)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_FD + (uint64_t)fd};

    if (fd < 0 || !cb)
        return -EINVAL;
    if (d->nfds == VIRTIO_MAX_FDS)
        return -ENOSPC;
    d->fds[d->nfds++] = (struct virtio_fd){fd, cb, opaque};
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
        int err = -errno;
        d->nfds--;
        return err;
    }
    return 0;
}

void virtio_dev_del_fd(struct virtio_dev *d, int fd)
{
    for (int i = 0; i < d->nfds; i++)
        if (d->fds[i].fd == fd) {
            epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
            d->fds[i] = d->fds[--d->nfds];
            return;
        }
}

void virtio_dev_kick(struct virtio_dev *d, unsigned q)
{
    uint64_t one = 1;

    if (q >= d->ops->num_queues)
        return;
    /* A full eventfd counter (EAGAIN) still means "kicked". */
    if (write(d->kick_fd[q], &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_guest_err("virtio-%s: kick: %s", d->ops->name, strerror(errno));
}

/* --- queue API (device thread) --- */

bool virtio_queue_ready(struct virtio_dev *d, unsigned q)
{
    return q < d->ops->num_queues && d->vq[q].ready && !atomic_load(&d->broken);
}

int virtio_queue_pop(struct virtio_dev *d, unsigned q, struct virtq_elem *e)
{
    int r;

    if (!virtio_queue_ready(d, q))
        return 0;
    r = virtq_pop(&d->vq[q], e);
    if (r < 0)
        virtio_dev_set_broken(d, "queue %u: %s", q, d->vq[q].err);
    return r;
}

void virtio_queue_unpop(struct virtio_dev *d, unsigned q)
{
    if (q < d->ops->num_queues)
        virtq_unpop(&d->vq[q]);
}

void virtio_queue_push(struct virtio_dev *d, unsigned q, uint16_t head, uint32_t len)
{
    if (virtio_queue_ready(d, q))
        virtq_push(&d->vq[q], head, len);
}

void virtio_queue_notify(struct virtio_dev *d, unsigned q)
{
    if (virtio_queue_ready(d, q) && virtq_should_notify(&d->vq[q]))
        virtio_raise(d, VIRTIO_ISR_QUEUE, q);
}

void virtio_queue_disable_notify(struct virtio_dev *d, unsigned q)
{
    if (virtio_queue_ready(d, q))
        virtq_disable_notify(&d->vq[q]);
}

bool virtio_queue_enable_notify(struct virtio_dev *d, unsigned q)
{
    return virtio_queue_ready(d, q) && virtq_enable_notify(&d->vq[q]);
}

/* --- save / load --- */

#define SAVE_MAGIC   0x314f4956u /* "VIO1" */
#define SAVE_VERSION 1

struct saved_core {
    uint32_t magic, version, device_id, num_queues, config_size;
    uint32_t dev_features_sel, drv_features_sel, queue_sel, generation, isr;
    uint64_t drv_features;
    uint8_t status, broken, pad[6];
};

struct saved_queue {
    uint64_t desc, avail, used;
    uint16_t size, last_avail, used_idx, signalled_used;
    uint8_t ready, signalled_valid, event_idx, indirect;
};

ssize_t virtio_dev_save(struct virtio_dev *d, void *buf, size_t cap)
{
    struct saved_core c = {0};
    uint8_t *p = buf;
    size_t n = d->ops->num_queues, need;
    ssize_t dev_len = 0;
    uint32_t dl;

    need = sizeof(c) + n * sizeof(struct saved_queue) + d->ops->config_size + 4;
    if (cap < need)
        return -ENOSPC;
    pthread_mutex_lock(&d->ctl);
    virtio_thread_stop(d);
    pthread_mutex_lock(&d->lock);
    c.magic = SAVE_MAGIC;
    c.version = SAVE_VERSION;
    c.device_id = d->ops->device_id;
    c.num_queues = (uint32_t)n;
    c.config_size = d->ops->config_size;
    c.dev_features_sel = d->dev_features_sel;
    c.drv_features_sel = d->drv_features_sel;
    c.queue_sel = d->queue_sel;
    c.generation = d->generation;
    c.isr = atomic_load(&d->isr);
    c.drv_features = d->drv_features;
    c.status = d->status;
    c.broken = atomic_load(&d->broken);
    memcpy(p, &c, sizeof(c));
    p += sizeof(c);
    for (size_t i = 0; i < n; i++) {
        const struct virtq *q = &d->vq[i];
        struct saved_queue s = {q->desc_gpa,        q->avail_gpa, q->used_gpa,       q->size,
                                q->last_avail,      q->used_idx,  q->signalled_used, q->ready,
                                q->signalled_valid, q->event_idx, q->indirect};
        memcpy(p, &s, sizeof(s));
        p += sizeof(s);
    }
    memcpy(p, d->config, d->ops->config_size);
    p += d->ops->config_size;
    if (d->ops->save)
        dev_len = d->ops->save(d, p + 4, cap - need);
    if (dev_len >= 0) {
        dl = (uint32_t)dev_len;
        memcpy(p, &dl, 4);
    }
    pthread_mutex_unlock(&d->lock);
    if ((d->status & VIRTIO_STATUS_DRIVER_OK) && !atomic_load(&d->broken))
        virtio_thread_start(d);
    pthread_mutex_unlock(&d->ctl);
    return dev_len < 0 ? dev_len : (ssize_t)(need + (size_t)dev_len);
}

static int load_locked(struct virtio_dev *d, const uint8_t *p, size_t len)
{
    struct saved_core c;
    size_t n = d->ops->num_queues, need = sizeof(c) + n * sizeof(struct saved_queue);
    uint32_t dl;

    if (len < sizeof(c))
        return -EINVAL;
    memcpy(&c, p, sizeof(c));
    if (c.magic != SAVE_MAGIC || c.version != SAVE_VERSION || c.device_id != d->ops->device_id ||
        c.num_queues != n || c.config_size != d->ops->config_size)
        return -EINVAL;
    need += c.config_size + 4;
    if (len < need)
        return -EINVAL;
    memcpy(&dl, p + need - 4, 4);
    if (dl != len - need || (c.drv_features & ~d->dev_features))
        return -EINVAL;
    d->dev_features_sel = c.dev_features_sel;
    d->drv_features_sel = c.drv_features_sel;
    d->queue_sel = c.queue_sel;
    d->generation = c.generation;
    atomic_store(&d->isr, c.isr);
    d->drv_features = c.drv_features;
    d->status = c.status;
    atomic_store(&d->broken, c.broken != 0);
    p += sizeof(c);
    for (size_t i = 0; i < n; i++, p += sizeof(struct saved_queue)) {
        struct saved_queue s;
        struct virtq *q = &d->vq[i];
        memcpy(&s, p, sizeof(s));
        virtq_reset(q);
        *q = (struct virtq){.mem = d->mem,
                            .size = s.size,
                            .ready = s.ready,
                            .desc_gpa = s.desc,
                            .avail_gpa = s.avail,
                            .used_gpa = s.used,
                            .event_idx = s.event_idx,
                            .indirect = s.indirect,
                            .last_avail = s.last_avail,
                            .used_idx = s.used_idx,
                            .signalled_used = s.signalled_used,
                            .signalled_valid = s.signalled_valid};
        if (q->ready && (q->size > d->ops->queue_max || virtq_start(q)))
            return -EINVAL;
    }
    memcpy(d->config, p, c.config_size);
    p += c.config_size + 4;
    if (d->ops->load)
        return d->ops->load(d, p, dl);
    return dl ? -EINVAL : 0;
}

void virtio_dev_quiesce(struct virtio_dev *d)
{
    pthread_mutex_lock(&d->ctl);
    d->quiesced = true;
    virtio_thread_stop(d);
    pthread_mutex_unlock(&d->ctl);
}

void virtio_dev_unquiesce(struct virtio_dev *d)
{
    pthread_mutex_lock(&d->ctl);
    d->quiesced = false;
    if ((d->status & VIRTIO_STATUS_DRIVER_OK) && !atomic_load(&d->broken) && virtio_thread_start(d))
        virtio_dev_set_broken(d, "cannot restart the device thread");
    pthread_mutex_unlock(&d->ctl);
}

int virtio_dev_load(struct virtio_dev *d, const void *buf, size_t len)
{
    int err;

    pthread_mutex_lock(&d->ctl);
    virtio_thread_stop(d);
    pthread_mutex_lock(&d->lock);
    err = load_locked(d, buf, len); /* the caller names the file and the device: one line */
    pthread_mutex_unlock(&d->lock);
    if (!err && (d->status & VIRTIO_STATUS_DRIVER_OK) && !atomic_load(&d->broken))
        err = virtio_thread_start(d);
    pthread_mutex_unlock(&d->ctl);
    return err;
}
