/* The virtio core's private state, shared by virtio.c (registers, negotiation, config) and
 * virtio_run.c (device thread, queue API, save/load). Devices and transports never see it. */
#ifndef VESSEL_VIRTIO_VIRTIO_PRIV_H
#define VESSEL_VIRTIO_VIRTIO_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "virtio/virtio.h"

#define VIRTIO_MAX_FDS 8

struct virtio_fd {
    int fd;
    void (*cb)(struct virtio_dev *, int, void *);
    void *opaque;
};

struct virtio_dev {
    const struct virtio_dev_ops *ops;
    void *priv;
    const struct gmem *mem;
    const struct virtio_transport_ops *tops;
    void *topaque;

    /* ctl serializes thread start/stop (status writes, save/load, destroy); it is taken
     * before lock. lock guards everything below that a transport reads or writes. */
    pthread_mutex_t ctl, lock;
    uint64_t dev_features, drv_features;
    uint32_t dev_features_sel, drv_features_sel, queue_sel;
    uint8_t status;
    uint32_t generation;
    atomic_uint isr;
    atomic_bool broken;
    uint8_t config[VIRTIO_CONFIG_MAX];
    struct virtq vq[VIRTIO_MAX_QUEUES];

    /* device thread */
    int kick_fd[VIRTIO_MAX_QUEUES];
    int stop_fd, epfd;
    pthread_t thread;
    bool running;
    bool quiesced; /* virtio_dev_quiesce(): the thread stays stopped until unquiesce */
    struct virtio_fd fds[VIRTIO_MAX_FDS];
    int nfds;
};

/* virtio_run.c */
int virtio_thread_start(struct virtio_dev *d); /* ctl held, lock not held */
void virtio_thread_stop(struct virtio_dev *d); /* ctl held, lock not held */
void virtio_raise(struct virtio_dev *d, uint32_t isr, unsigned q);
/* virtio.c: lock held. Applies DRIVER_OK: starts the queues; false if the device broke. */
bool virtio_go_live(struct virtio_dev *d);
void virtio_broken_locked(struct virtio_dev *d, const char *msg);

#endif
