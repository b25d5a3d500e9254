/* The virtio device core (virtio 1.x, modern only): feature negotiation, status and reset,
 * config space with a generation counter, the queues, interrupts, the device thread and
 * save/load. Transports (virtio-mmio in mmio.c, virtio-pci in pci.c) sit on one side, devices on
 * the other.
 *
 * HOW TO WRITE A DEVICE (see src/virtio/rng.c for the smallest complete one)
 *
 *  1. A const ops table and your own state struct:
 *       static const struct virtio_dev_ops foo_ops = {
 *           .name = "foo", .device_id = VIRTIO_ID_FOO, .num_queues = 2, .queue_max = 256,
 *           .features = (1ull << FOO_F_BAR),      // device-specific bits only
 *           .config_size = sizeof(struct foo_config),
 *           .queue_kick = foo_kick, .reset = foo_reset, .save = ..., .load = ...,
 *       };
 *     The core always offers and requires VIRTIO_F_VERSION_1 and offers
 *     VIRTIO_RING_F_INDIRECT_DESC and VIRTIO_RING_F_EVENT_IDX; do not list them.
 *  2. Create: virtio_dev_create(&vdev, &foo_ops, foo, mem); fill the config space with
 *     virtio_dev_config_set(vdev, 0, &cfg, sizeof(cfg)) (little-endian fields!). The board
 *     then attaches a transport (virtio_mmio_create(..., vdev, ...)).
 *  3. Work happens on the device thread that the core runs while the driver has set
 *     DRIVER_OK: ops->queue_kick(vdev, q) is called there when the driver notifies queue q.
 *     A typical handler:
 *         struct virtq_elem *e = foo->elem;            // big (iovec array): keep it in state
 *         int r;
 *         do {
 *             virtio_queue_disable_notify(vdev, q);
 *             while ((r = virtio_queue_pop(vdev, q, e)) > 0) {
 *                 ... read e->iov[0..out_num), write e->iov[out_num..out_num+in_num) ...
 *                 virtio_queue_push(vdev, q, e->head, bytes_written);
 *             }
 *         } while (r == 0 && virtio_queue_enable_notify(vdev, q));
 *         virtio_queue_notify(vdev, q);                // interrupt, unless suppressed
 *     virtio_queue_pop() returns -errno when the guest handed in garbage: the core has then
 *     already logged it and marked the device broken (DEVICE_NEEDS_RESET); just return.
 *     Iovecs point straight into guest RAM; use src/base/iov.h to copy in and out. A request
 *     you cannot serve now (rx with no data yet) can wait: keep the element, or
 *     virtio_queue_unpop() it.
 *  4. Other event sources (a tap fd, a socket, a timerfd): virtio_dev_add_fd() registers a
 *     callback that runs on the same device thread, so device state needs no lock between
 *     kick handlers and fd callbacks. Other threads (API, control channel) may only call the
 *     functions marked "any thread".
 *  5. Never act on the VM; never block a vCPU thread. Everything a vCPU calls into (transport
 *     register access) only records state or writes an eventfd. Guest values are hostile:
 *     check every length and offset you read from a request header yourself (the core has
 *     validated only that the buffers are in guest RAM); on nonsense call
 *     virtio_dev_set_broken() or fail the request with the device's error status.
 *  6. ops->reset runs after the device thread has stopped (driver wrote status 0, or
 *     teardown): drop in-flight requests, keep the backend. ops->save/load serialize the
 *     device's own state (queues, features, status and config are saved by the core).
 */
#ifndef VESSEL_VIRTIO_VIRTIO_H
#define VESSEL_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mem/gmem.h"
#include "virtio/virtq.h"

/* Device IDs (virtio 1.2, section 5) */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_INPUT   18

/* Device status bits */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED             0x80

/* Reserved feature bits the core handles */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

/* Interrupt reasons (the ISR / InterruptStatus bits) */
#define VIRTIO_ISR_QUEUE  1
#define VIRTIO_ISR_CONFIG 2

#define VIRTIO_MAX_QUEUES 16
#define VIRTIO_CONFIG_MAX 256        /* bytes of device-specific config space */
#define VIRTIO_VENDOR_ID  0x4c535356 /* "VSSL" */
#define VIRTIO_SAVE_MAX   4096       /* bytes virtio_dev_save() may need, device part incl. */

struct virtio_dev;

struct virtio_dev_ops {
    const char *name;     /* "blk", "rng", ... (log lines) */
    uint32_t device_id;   /* VIRTIO_ID_* */
    unsigned num_queues;  /* 1..VIRTIO_MAX_QUEUES */
    uint16_t queue_max;   /* QueueNumMax, a power of two <= VIRTQ_MAX_SIZE */
    uint64_t features;    /* device-specific feature bits offered */
    uint32_t config_size; /* bytes of config space, <= VIRTIO_CONFIG_MAX */
    /* Device thread: the driver notified queue q. Required. */
    void (*queue_kick)(struct virtio_dev *d, unsigned q);
    /* Transport (vCPU) thread, device lock held: the driver wrote config bytes [off,off+len)
     * (already stored in the config space). Optional; without it writes are ignored (and
     * the stored bytes restored). Must only record state or signal. */
    void (*config_write)(struct virtio_dev *d, uint32_t off, uint32_t len);
    /* Called with FEATURES_OK being set: return false to refuse the feature set. Optional. */
    bool (*features_ok)(struct virtio_dev *d, uint64_t features);
    /* The driver set DRIVER_OK; called just before the device thread starts. Optional. */
    int (*activate)(struct virtio_dev *d);
    /* Device reset; the device thread is not running. Optional. */
    void (*reset)(struct virtio_dev *d);
    /* Device thread stopped: append the device's own state to buf (cap bytes); return the
     * length or -ENOSPC. load gets the same bytes back. Optional (no device state). */
    ssize_t (*save)(struct virtio_dev *d, void *buf, size_t cap);
    int (*load)(struct virtio_dev *d, const void *buf, size_t len);
};

/* What a transport provides to the core. interrupt() is called from any thread: raise the
 * interrupt for reason isr (VIRTIO_ISR_QUEUE for queue q, or VIRTIO_ISR_CONFIG). */
struct virtio_transport_ops {
    void (*interrupt)(void *opaque, uint32_t isr, unsigned q);
};

/* ---- device side ---- */

/* Creates the device (not yet attached to a transport). priv is the device's own state.
 * Returns 0 or -errno. */
int virtio_dev_create(struct virtio_dev **out, const struct virtio_dev_ops *ops, void *priv,
                      const struct gmem *mem);
/* Stops the device thread and frees the core state (not priv). */
void virtio_dev_destroy(struct virtio_dev *d);
void *virtio_dev_priv(const struct virtio_dev *d);
const char *virtio_dev_name(const struct virtio_dev *d);
/* Bytes of device-specific config space (ops->config_size). */
uint32_t virtio_dev_config_size(const struct virtio_dev *d);
/* Negotiated feature bit (valid once FEATURES_OK is set). Any thread. */
bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned bit);

/* Any thread: update config bytes [off, off+len); bumps the generation and, once the driver
 * is running, raises a config-change interrupt. */
void virtio_dev_config_set(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len);
/* Any thread: copy config bytes out (e.g. a field the driver wrote). */
void virtio_dev_config_get(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len);
/* From ops->config_write only (the device lock is held there): read config bytes, and write the
 * device's answer to what the driver wrote (a selector's data: no generation change, no
 * interrupt). Out-of-range accesses are ignored (peek leaves buf alone). */
void virtio_dev_config_peek(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len);
void virtio_dev_config_poke(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len);

/* Any thread: the guest broke the protocol. Logs "virtio-NAME: <msg>", sets
 * DEVICE_NEEDS_RESET, raises a config interrupt and stops queue processing until reset. */
void virtio_dev_set_broken(struct virtio_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool virtio_dev_is_broken(const struct virtio_dev *d);

/* Device thread: another event source. cb(d, fd, opaque) runs on the device thread when fd
 * is readable (level-triggered). Register before the device is attached or from the device
 * thread. Returns 0 or -errno. */
int virtio_dev_add_fd(struct virtio_dev *d, int fd, void (*cb)(struct virtio_dev *, int, void *),
                      void *opaque);
void virtio_dev_del_fd(struct virtio_dev *d, int fd);
/* Any thread: run ops->queue_kick(d, q) on the device thread as if the driver had kicked. */
void virtio_dev_kick(struct virtio_dev *d, unsigned q);

/* Device thread: the queue API. pop returns 1 (element), 0 (empty or queue not ready) or
 * -errno (device now broken). */
int virtio_queue_pop(struct virtio_dev *d, unsigned q, struct virtq_elem *e);
void virtio_queue_unpop(struct virtio_dev *d, unsigned q);
void virtio_queue_push(struct virtio_dev *d, unsigned q, uint16_t head, uint32_t len);
/* Interrupt for queue q unless the driver suppressed it (EVENT_IDX or NO_INTERRUPT). */
void virtio_queue_notify(struct virtio_dev *d, unsigned q);
void virtio_queue_disable_notify(struct virtio_dev *d, unsigned q);
bool virtio_queue_enable_notify(struct virtio_dev *d, unsigned q);
bool virtio_queue_ready(struct virtio_dev *d, unsigned q);

/* ---- transport side (called on vCPU threads; they only record state or signal) ---- */

/* Registers common to every transport (mmio registers, pci common config). */
enum virtio_reg {
    VIRTIO_REG_DEVICE_ID,
    VIRTIO_REG_DEVICE_FEATURES, /* 32 bits selected by DEVICE_FEATURES_SEL */
    VIRTIO_REG_DEVICE_FEATURES_SEL,
    VIRTIO_REG_DRIVER_FEATURES,
    VIRTIO_REG_DRIVER_FEATURES_SEL,
    VIRTIO_REG_QUEUE_SEL,
    VIRTIO_REG_QUEUE_NUM_MAX,
    VIRTIO_REG_QUEUE_NUM,
    VIRTIO_REG_QUEUE_READY,
    VIRTIO_REG_QUEUE_DESC_LO,
    VIRTIO_REG_QUEUE_DESC_HI,
    VIRTIO_REG_QUEUE_DRIVER_LO,
    VIRTIO_REG_QUEUE_DRIVER_HI,
    VIRTIO_REG_QUEUE_DEVICE_LO,
    VIRTIO_REG_QUEUE_DEVICE_HI,
    VIRTIO_REG_NUM_QUEUES,
    VIRTIO_REG_STATUS,
    VIRTIO_REG_CONFIG_GENERATION,
    VIRTIO_REG_ISR,     /* read: pending reasons (not cleared) */
    VIRTIO_REG_ISR_ACK, /* write: clear these reasons */
};

/* Attach a transport; interrupts go to tops->interrupt(opaque, ...). */
void virtio_dev_attach(struct virtio_dev *d, const struct virtio_transport_ops *tops, void *opaque);
uint32_t virtio_reg_read(struct virtio_dev *d, enum virtio_reg reg);
void virtio_reg_write(struct virtio_dev *d, enum virtio_reg reg, uint32_t val);
/* Config space access; size 1, 2, 4 or 8 and within config_size, else the read returns 0
 * (logged) and the write is dropped. Returns 0 or -EINVAL. */
int virtio_config_read(struct virtio_dev *d, uint32_t off, unsigned size, uint64_t *val);
int virtio_config_write(struct virtio_dev *d, uint32_t off, unsigned size, uint64_t val);
/* QueueNotify: wakes the device thread for queue q (an eventfd write; never blocks). */
void virtio_queue_kick_from_guest(struct virtio_dev *d, unsigned q);
/* The kick eventfd of queue q (for KVM ioeventfd), or -1. */
int virtio_queue_kick_fd(struct virtio_dev *d, unsigned q);
/* Pending interrupt reasons (VIRTIO_ISR_*). Any thread. */
uint32_t virtio_dev_isr(struct virtio_dev *d);
/* Clears reasons (a transport that signalled them another way, e.g. MSI-X). Any thread, no
 * lock taken: callable from the transport's interrupt(). */
void virtio_dev_isr_clear(struct virtio_dev *d, uint32_t isr);

/* ---- save / load (VM paused: no vCPU touches the device) ---- */

/* Stops the device thread and keeps it stopped (a driver's DRIVER_OK, save and load included)
 * until virtio_dev_unquiesce(), so that the device writes no guest memory while a snapshot
 * copies it. Queue kicks and backend input wait in their fds meanwhile. */
void virtio_dev_quiesce(struct virtio_dev *d);
void virtio_dev_unquiesce(struct virtio_dev *d);
/* Serializes status, features, queue state, config space and the device's own state into
 * buf. Returns the length or -ENOSPC. The device thread is stopped during the save and
 * restarted afterwards. */
ssize_t virtio_dev_save(struct virtio_dev *d, void *buf, size_t cap);
/* Restores a saved state into a device created with the same ops (and attached); restarts
 * the device thread when the saved driver was running. Returns 0 or -EINVAL. */
int virtio_dev_load(struct virtio_dev *d, const void *buf, size_t len);

#endif
