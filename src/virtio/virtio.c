/* The virtio core, transport side: feature negotiation, status and reset, queue registers and
 * the config space. Everything here runs on vCPU threads: it records state and signals. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/virtio_priv.h"

#define CORE_FEATURES                                                                              \
    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |                        \
     (1ull << VIRTIO_RING_F_EVENT_IDX))

static bool ops_valid(const struct virtio_dev_ops *ops)
{
    uint16_t m = ops->queue_max;

    return ops->name && ops->queue_kick && ops->num_queues >= 1 &&
           ops->num_queues <= VIRTIO_MAX_QUEUES && m && m <= VIRTQ_MAX_SIZE && !(m & (m - 1)) &&
           ops->config_size <= VIRTIO_CONFIG_MAX && !(ops->features & CORE_FEATURES);
}

int virtio_dev_create(struct virtio_dev **out, const struct virtio_dev_ops *ops, void *priv,
                      const struct gmem *mem)
{
    struct virtio_dev *d;
    struct epoll_event ev = {.events = EPOLLIN};
    int err = -ENOMEM;

    if (!ops_valid(ops))
        return -EINVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->ops = ops;
    d->priv = priv;
    d->mem = mem;
    d->dev_features = ops->features | CORE_FEATURES;
    pthread_mutex_init(&d->ctl, NULL);
    pthread_mutex_init(&d->lock, NULL);
    d->stop_fd = d->epfd = -1;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        d->kick_fd[i] = -1;
        d->vq[i].mem = mem;
        d->vq[i].size = ops->queue_max;
    }
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->epfd < 0 || d->stop_fd < 0)
        goto fail_errno;
    ev.data.u64 = UINT32_MAX;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->stop_fd, &ev))
        goto fail_errno;
    for (unsigned i = 0; i < ops->num_queues; i++) {
        d->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ev.data.u64 = i;
        if (d->kick_fd[i] < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->kick_fd[i], &ev))
            goto fail_errno;
    }
    *out = d;
    return 0;

fail_errno:
    err = -errno;
    log_err("virtio-%s: creating the device's event fds: %s", ops->name, strerror(errno));
    virtio_dev_destroy(d);
    return err;
}

void virtio_dev_destroy(struct virtio_dev *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->ctl);
    virtio_thread_stop(d);
    pthread_mutex_unlock(&d->ctl);
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        if (d->kick_fd[i] >= 0)
            close(d->kick_fd[i]);
    if (d->stop_fd >= 0)
        close(d->stop_fd);
    if (d->epfd >= 0)
        close(d->epfd);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->ctl);
    free(d);
}

void *virtio_dev_priv(const struct virtio_dev *d)
{
    return d->priv;
}

const char *virtio_dev_name(const struct virtio_dev *d)
{
    return d->ops->name;
}

uint32_t virtio_dev_config_size(const struct virtio_dev *d)
{
    return d->ops->config_size;
}

bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned bit)
{
    return bit < 64 && (d->drv_features >> bit) & 1;
}

void virtio_dev_attach(struct virtio_dev *d, const struct virtio_transport_ops *tops, void *opaque)
{
    pthread_mutex_lock(&d->lock);
    d->tops = tops;
    d->topaque = opaque;
    pthread_mutex_unlock(&d->lock);
}

uint32_t virtio_dev_isr(struct virtio_dev *d)
{
    return atomic_load(&d->isr);
}

void virtio_dev_isr_clear(struct virtio_dev *d, uint32_t isr)
{
    atomic_fetch_and(&d->isr, ~isr);
}

bool virtio_dev_is_broken(const struct virtio_dev *d)
{
    return atomic_load(&d->broken);
}

void virtio_broken_locked(struct virtio_dev *d, const char *msg)
{
    if (atomic_exchange(&d->broken, true))
        return;
    log_guest_err("virtio-%s: %s; device needs reset", d->ops->name, msg);
    d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (d->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_raise(d, VIRTIO_ISR_CONFIG, 0);
}

void virtio_dev_set_broken(struct virtio_dev *d, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&d->lock);
    virtio_broken_locked(d, msg);
    pthread_mutex_unlock(&d->lock);
}

/* --- config space --- */

void virtio_dev_config_set(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
    bool live;

    if (off > d->ops->config_size || len > d->ops->config_size - off)
        return;
    pthread_mutex_lock(&d->lock);
    memcpy(d->config + off, buf, len);
    d->generation++;
    live = d->status & VIRTIO_STATUS_DRIVER_OK;
    if (live)
        virtio_raise(d, VIRTIO_ISR_CONFIG, 0);
    pthread_mutex_unlock(&d->lock);
}

void virtio_dev_config_get(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
    if (off > d->ops->config_size || len > d->ops->config_size - off)
        return;
    pthread_mutex_lock(&d->lock);
    memcpy(buf, d->config + off, len);
    pthread_mutex_unlock(&d->lock);
}

void virtio_dev_config_peek(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
    if (off <= d->ops->config_size && len <= d->ops->config_size - off)
        memcpy(buf, d->config + off, len);
}

void virtio_dev_config_poke(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
    if (off <= d->ops->config_size && len <= d->ops->config_size - off)
        memcpy(d->config + off, buf, len);
}

static bool config_access_ok(struct virtio_dev *d, uint32_t off, unsigned size)
{
    if ((size != 1 && size != 2 && size != 4 && size != 8) || off > d->ops->config_size ||
        size > d->ops->config_size - off) {
        log_guest_warn("virtio-%s: config access of %u bytes at 0x%x outside its %u bytes",
                       d->ops->name, size, off, d->ops->config_size);
        return false;
    }
    return true;
}

int virtio_config_read(struct virtio_dev *d, uint32_t off, unsigned size, uint64_t *val)
{
    *val = 0;
    if (!config_access_ok(d, off, size))
        return -EINVAL;
    pthread_mutex_lock(&d->lock);
    memcpy(val, d->config + off, size); /* little-endian host */
    pthread_mutex_unlock(&d->lock);
    return 0;
}

int virtio_config_write(struct virtio_dev *d, uint32_t off, unsigned size, uint64_t val)
{
    if (!config_access_ok(d, off, size))
        return -EINVAL;
    if (!d->ops->config_write)
        return 0; /* read-only config space: the write is dropped */
    pthread_mutex_lock(&d->lock);
    memcpy(d->config + off, &val, size);
    d->ops->config_write(d, off, size);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

/* --- registers --- */

static struct virtq *sel_queue(struct virtio_dev *d)
{
    return d->queue_sel < d->ops->num_queues ? &d->vq[d->queue_sel] : NULL;
}

uint32_t virtio_reg_read(struct virtio_dev *d, enum virtio_reg reg)
{
    uint32_t v = 0;
    struct virtq *q;

    pthread_mutex_lock(&d->lock);
    q = sel_queue(d);
    switch (reg) {
    case VIRTIO_REG_DEVICE_ID: v = d->ops->device_id; break;
    case VIRTIO_REG_DEVICE_FEATURES:
        v = d->dev_features_sel < 2 ? (uint32_t)(d->dev_features >> (32 * d->dev_features_sel)) : 0;
        break;
    case VIRTIO_REG_DEVICE_FEATURES_SEL: v = d->dev_features_sel; break;
    case VIRTIO_REG_DRIVER_FEATURES:
        v = d->drv_features_sel < 2 ? (uint32_t)(d->drv_features >> (32 * d->drv_features_sel)) : 0;
        break;
    case VIRTIO_REG_DRIVER_FEATURES_SEL: v = d->drv_features_sel; break;
    case VIRTIO_REG_QUEUE_SEL: v = d->queue_sel; break;
    case VIRTIO_REG_QUEUE_NUM_MAX: v = q ? d->ops->queue_max : 0; break;
    case VIRTIO_REG_QUEUE_NUM: v = q ? q->size : 0; break;
    case VIRTIO_REG_QUEUE_READY: v = q ? q->ready : 0; break;
    case VIRTIO_REG_QUEUE_DESC_LO: v = q ? (uint32_t)q->desc_gpa : 0; break;
    case VIRTIO_REG_QUEUE_DESC_HI: v = q ? (uint32_t)(q->desc_gpa >> 32) : 0; break;
    case VIRTIO_REG_QUEUE_DRIVER_LO: v = q ? (uint32_t)q->avail_gpa : 0; break;
    case VIRTIO_REG_QUEUE_DRIVER_HI: v = q ? (uint32_t)(q->avail_gpa >> 32) : 0; break;
    case VIRTIO_REG_QUEUE_DEVICE_LO: v = q ? (uint32_t)q->used_gpa : 0; break;
    case VIRTIO_REG_QUEUE_DEVICE_HI: v = q ? (uint32_t)(q->used_gpa >> 32) : 0; break;
    case VIRTIO_REG_NUM_QUEUES: v = d->ops->num_queues; break;
    case VIRTIO_REG_STATUS: v = d->status; break;
    case VIRTIO_REG_CONFIG_GENERATION: v = d->generation; break;
    case VIRTIO_REG_ISR: v = atomic_load(&d->isr); break;
    case VIRTIO_REG_ISR_ACK: break;
    }
    pthread_mutex_unlock(&d->lock);
    return v;
}

static void set_addr(uint64_t *a, uint32_t val, bool hi)
{
    *a = hi ? (*a & 0xffffffffull) | ((uint64_t)val << 32) : (*a & ~0xffffffffull) | val;
}

/* Queue registers may change only before DRIVER_OK and while the queue is not ready. */
static void queue_write(struct virtio_dev *d, enum virtio_reg reg, uint32_t val)
{
    struct virtq *q = sel_queue(d);

    if (!q || (d->status & VIRTIO_STATUS_DRIVER_OK)) {
        log_debug("virtio-%s: queue register write ignored", d->ops->name);
        return;
    }
    if (reg == VIRTIO_REG_QUEUE_READY) {
        if (!val) {
            q->ready = false;
            return;
        }
        if (q->size > d->ops->queue_max) {
            virtio_broken_locked(d, "queue size above QueueNumMax");
            return;
        }
        q->event_idx = virtio_dev_has_feature(d, VIRTIO_RING_F_EVENT_IDX);
        q->indirect = virtio_dev_has_feature(d, VIRTIO_RING_F_INDIRECT_DESC);
        if (virtq_start(q)) {
            char msg[128];
            snprintf(msg, sizeof(msg), "queue %u: %s", d->queue_sel, q->err);
            virtio_broken_locked(d, msg);
            return;
        }
        q->ready = true;
        return;
    }
    if (q->ready)
        return;
    switch (reg) {
    case VIRTIO_REG_QUEUE_NUM: q->size = (uint16_t)(val > 0xffff ? 0 : val); break;
    case VIRTIO_REG_QUEUE_DESC_LO: set_addr(&q->desc_gpa, val, false); break;
    case VIRTIO_REG_QUEUE_DESC_HI: set_addr(&q->desc_gpa, val, true); break;
    case VIRTIO_REG_QUEUE_DRIVER_LO: set_addr(&q->avail_gpa, val, false); break;
    case VIRTIO_REG_QUEUE_DRIVER_HI: set_addr(&q->avail_gpa, val, true); break;
    case VIRTIO_REG_QUEUE_DEVICE_LO: set_addr(&q->used_gpa, val, false); break;
    case VIRTIO_REG_QUEUE_DEVICE_HI: set_addr(&q->used_gpa, val, true); break;
    default: break;
    }
}

/* The driver wrote 0: back to the initial state. ctl held, lock not held. */
static void dev_reset(struct virtio_dev *d)
{
    virtio_thread_stop(d);
    pthread_mutex_lock(&d->lock);
    d->status = 0;
    d->drv_features = 0;
    d->dev_features_sel = d->drv_features_sel = d->queue_sel = 0;
    atomic_store(&d->isr, 0);
    atomic_store(&d->broken, false);
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        virtq_reset(&d->vq[i]);
        d->vq[i].size = d->ops->queue_max;
    }
    if (d->ops->reset)
        d->ops->reset(d);
    pthread_mutex_unlock(&d->lock);
}

bool virtio_go_live(struct virtio_dev *d)
{
    for (unsigned i = 0; i < d->ops->num_queues; i++) {
        struct virtq *q = &d->vq[i];
        if (q->ready && virtq_start(q)) {
            virtio_broken_locked(d, q->err);
            return false;
        }
    }
    if (d->ops->activate && d->ops->activate(d)) {
        virtio_broken_locked(d, "activating the device failed");
        return false;
    }
    return true;
}

static void status_write(struct virtio_dev *d, uint32_t val)
{
    uint8_t old, new = (uint8_t)val;
    bool start = false;

    pthread_mutex_lock(&d->ctl);
    if (new == 0) {
        dev_reset(d);
        pthread_mutex_unlock(&d->ctl);
        return;
    }
    pthread_mutex_lock(&d->lock);
    old = d->status;
    new |= old &VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if ((new &VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        bool ok = (d->drv_features >> VIRTIO_F_VERSION_1) & 1;
        if (ok && d->ops->features_ok)
            ok = d->ops->features_ok(d, d->drv_features);
        if (!ok) {
            log_guest_warn("virtio-%s: driver features 0x%llx refused", d->ops->name,
                           (unsigned long long)d->drv_features);
            new &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
        }
    }
    if ((new &VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
        if (!(new &VIRTIO_STATUS_FEATURES_OK)) {
            d->status = new;
            virtio_broken_locked(d, "DRIVER_OK without FEATURES_OK");
            pthread_mutex_unlock(&d->lock);
            pthread_mutex_unlock(&d->ctl);
            return;
        }
        d->status = new;
        start = virtio_go_live(d);
    }
    d->status = new | (d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    pthread_mutex_unlock(&d->lock);
    if (start && virtio_thread_start(d))
        virtio_dev_set_broken(d, "cannot start the device thread");
    pthread_mutex_unlock(&d->ctl);
}

void virtio_reg_write(struct virtio_dev *d, enum virtio_reg reg, uint32_t val)
{
    if (reg == VIRTIO_REG_STATUS) {
        status_write(d, val);
        return;
    }
    pthread_mutex_lock(&d->lock);
    switch (reg) {
    case VIRTIO_REG_DEVICE_FEATURES_SEL: d->dev_features_sel = val; break;
    case VIRTIO_REG_DRIVER_FEATURES_SEL: d->drv_features_sel = val; break;
    case VIRTIO_REG_DRIVER_FEATURES:
        if (d->drv_features_sel < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
            unsigned sh = 32 * d->drv_features_sel;
            d->drv_features = (d->drv_features & ~(0xffffffffull << sh)) |
                              (((uint64_t)val << sh) & d->dev_features);
        }
        break;
    case VIRTIO_REG_QUEUE_SEL: d->queue_sel = val; break;
    case VIRTIO_REG_QUEUE_NUM:
    case VIRTIO_REG_QUEUE_READY:
    case VIRTIO_REG_QUEUE_DESC_LO:
    case VIRTIO_REG_QUEUE_DESC_HI:
    case VIRTIO_REG_QUEUE_DRIVER_LO:
    case VIRTIO_REG_QUEUE_DRIVER_HI:
    case VIRTIO_REG_QUEUE_DEVICE_LO:
    case VIRTIO_REG_QUEUE_DEVICE_HI: queue_write(d, reg, val); break;
    case VIRTIO_REG_ISR_ACK: atomic_fetch_and(&d->isr, ~val); break;
    default: break; /* read-only */
    }
    pthread_mutex_unlock(&d->lock);
}

void virtio_queue_kick_from_guest(struct virtio_dev *d, unsigned q)
{
    virtio_dev_kick(d, q);
}

int virtio_queue_kick_fd(struct virtio_dev *d, unsigned q)
{
    return q < d->ops->num_queues ? d->kick_fd[q] : -1;
}
