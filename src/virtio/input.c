/* virtio-input: a fixed set of keys (input.h). Queue 0 (eventq) takes the events the device
 * sends, one 8-byte struct virtio_input_event per buffer; queue 1 (statusq) brings LED and the
 * like from the driver, which a button has no use for (consumed and returned). The config space
 * answers the driver's select/subsel queries: name, ids, no properties, the EV_KEY bitmap. */
#include "virtio/input.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/iov.h"
#include "base/le.h"
#include "base/log.h"

#define EVENTQ  0
#define STATUSQ 1

/* config space: select, subsel, size, reserved[5], then 128 bytes of answer */
#define CFG_SELECT  0
#define CFG_SUBSEL  1
#define CFG_SIZE    2
#define CFG_U       8
#define CFG_U_LEN   128
#define CONFIG_SIZE (CFG_U + CFG_U_LEN)

#define SEL_UNSET     0x00
#define SEL_ID_NAME   0x01
#define SEL_ID_SERIAL 0x02
#define SEL_ID_DEVIDS 0x03
#define SEL_PROP_BITS 0x10
#define SEL_EV_BITS   0x11
#define SEL_ABS_INFO  0x12

#define EVENT_SIZE 8
#define KEY_MAX    1024

struct virtio_input {
    struct virtio_dev *vdev;
    char name[CFG_U_LEN];
    uint8_t keybits[KEY_MAX / 8];
    unsigned keybytes; /* bytes of keybits up to the highest key */
    uint16_t product;
    struct virtq_elem elem;
    pthread_mutex_t lock; /* pending: pressed (any thread), sent (device thread) */
    uint8_t pending[VIRTIO_INPUT_MAX_PENDING][EVENT_SIZE];
    unsigned npending;
};

/* The answer to a (select, subsel) the driver wrote; device lock held (config_write). Only
 * select and subsel are the driver's: a write anywhere else is undone by the answer. */
static void input_config_write(struct virtio_dev *d, uint32_t off, uint32_t len)
{
    struct virtio_input *in = virtio_dev_priv(d);
    static const uint8_t zeros[CFG_U - CFG_SIZE - 1];
    uint8_t sel[2], u[CFG_U_LEN] = {0};
    uint8_t size = 0;

    virtio_dev_config_peek(d, CFG_SELECT, sel, sizeof(sel));
    switch (sel[0]) {
    case SEL_ID_NAME:
        if (sel[1] == 0) {
            size = (uint8_t)strlen(in->name);
            memcpy(u, in->name, size);
        }
        break;
    case SEL_ID_DEVIDS:
        if (sel[1] == 0) {
            le16_put(u + 0, INPUT_BUS_VIRTUAL);
            le16_put(u + 2, 0x1af4); /* the virtio vendor, as QEMU's devices */
            le16_put(u + 4, in->product);
            le16_put(u + 6, 1);
            size = 8;
        }
        break;
    case SEL_EV_BITS:
        if (sel[1] == INPUT_EV_KEY) {
            size = (uint8_t)in->keybytes;
            memcpy(u, in->keybits, size);
        }
        break;
    default: break; /* UNSET, SERIAL, PROP_BITS, ABS_INFO and others: nothing (size 0) */
    }
    virtio_dev_config_poke(d, CFG_SIZE, &size, 1);
    virtio_dev_config_poke(d, CFG_SIZE + 1, zeros, sizeof(zeros)); /* reserved */
    virtio_dev_config_poke(d, CFG_U, u, sizeof(u));
}

/* Device thread: as many pending events as the driver gave buffers for. */
static void send_pending(struct virtio_dev *d, struct virtio_input *in)
{
    unsigned sent = 0;
    int r = 0;

    pthread_mutex_lock(&in->lock);
    do {
        virtio_queue_disable_notify(d, EVENTQ);
        while (sent < in->npending && (r = virtio_queue_pop(d, EVENTQ, &in->elem)) > 0) {
            struct virtq_elem *e = &in->elem;
            if (e->in_num == 0 || iov_from_buf(e->iov + e->out_num, e->in_num, 0, in->pending[sent],
                                               EVENT_SIZE) != EVENT_SIZE) {
                virtio_dev_set_broken(d, "event buffer shorter than %d bytes", EVENT_SIZE);
                r = -EINVAL;
                break;
            }
            virtio_queue_push(d, EVENTQ, e->head, EVENT_SIZE);
            sent++;
        }
    } while (r == 0 && sent < in->npending && virtio_queue_enable_notify(d, EVENTQ));
    memmove(in->pending, in->pending[sent], (in->npending - sent) * EVENT_SIZE);
    in->npending -= sent;
    pthread_mutex_unlock(&in->lock);
    if (sent)
        virtio_queue_notify(d, EVENTQ);
}

/* Device thread: status events (LEDs, ...) mean nothing to buttons: consumed. */
static void drain_status(struct virtio_dev *d, struct virtio_input *in)
{
    int r;

    do {
        virtio_queue_disable_notify(d, STATUSQ);
        while ((r = virtio_queue_pop(d, STATUSQ, &in->elem)) > 0)
            virtio_queue_push(d, STATUSQ, in->elem.head, 0);
    } while (r == 0 && virtio_queue_enable_notify(d, STATUSQ));
    virtio_queue_notify(d, STATUSQ);
}

static void input_kick(struct virtio_dev *d, unsigned q)
{
    struct virtio_input *in = virtio_dev_priv(d);

    if (q == EVENTQ)
        send_pending(d, in);
    else
        drain_status(d, in);
}

/* A new driver starts without the old one's events. */
static void input_reset(struct virtio_dev *d)
{
    struct virtio_input *in = virtio_dev_priv(d);

    pthread_mutex_lock(&in->lock);
    in->npending = 0;
    pthread_mutex_unlock(&in->lock);
}

/* Saved: the number of pending events (le32), 4 bytes reserved, the events. */
static ssize_t input_save(struct virtio_dev *d, void *buf, size_t cap)
{
    struct virtio_input *in = virtio_dev_priv(d);
    uint8_t *p = buf;
    size_t n;

    pthread_mutex_lock(&in->lock);
    n = 8 + (size_t)in->npending * EVENT_SIZE;
    if (cap >= n) {
        le32_put(p, in->npending);
        le32_put(p + 4, 0);
        memcpy(p + 8, in->pending, (size_t)in->npending * EVENT_SIZE);
    }
    pthread_mutex_unlock(&in->lock);
    return cap >= n ? (ssize_t)n : -ENOSPC;
}

static int input_load(struct virtio_dev *d, const void *buf, size_t len)
{
    struct virtio_input *in = virtio_dev_priv(d);
    const uint8_t *p = buf;
    uint32_t n;

    if (len < 8)
        return -EINVAL;
    n = le32_get(p);
    if (n > VIRTIO_INPUT_MAX_PENDING || len != 8 + (size_t)n * EVENT_SIZE)
        return -EINVAL;
    pthread_mutex_lock(&in->lock);
    memcpy(in->pending, p + 8, (size_t)n * EVENT_SIZE);
    in->npending = n;
    pthread_mutex_unlock(&in->lock);
    return 0;
}

static const struct virtio_dev_ops input_ops = {
    .name = "input",
    .device_id = VIRTIO_ID_INPUT,
    .num_queues = 2,
    .queue_max = 64,
    .config_size = CONFIG_SIZE,
    .queue_kick = input_kick,
    .config_write = input_config_write,
    .reset = input_reset,
    .save = input_save,
    .load = input_load,
};

int virtio_input_create(struct virtio_input **out, const struct gmem *mem, const char *name,
                        const uint16_t *keys, unsigned nkeys, uint16_t product)
{
    struct virtio_input *in;
    int err;

    if (strlen(name) >= CFG_U_LEN)
        return -EINVAL;
    for (unsigned i = 0; i < nkeys; i++)
        if (keys[i] >= KEY_MAX)
            return -EINVAL;
    in = calloc(1, sizeof(*in));
    if (!in)
        return -ENOMEM;
    strcpy(in->name, name);
    for (unsigned i = 0; i < nkeys; i++) {
        in->keybits[keys[i] / 8] |= (uint8_t)(1u << (keys[i] % 8));
        if (keys[i] / 8 + 1u > in->keybytes)
            in->keybytes = keys[i] / 8 + 1u;
    }
    in->product = product;
    pthread_mutex_init(&in->lock, NULL);
    err = virtio_dev_create(&in->vdev, &input_ops, in, mem);
    if (err) {
        pthread_mutex_destroy(&in->lock);
        free(in);
        return err;
    }
    *out = in;
    return 0;
}

struct virtio_dev *virtio_input_dev(struct virtio_input *in)
{
    return in->vdev;
}

void virtio_input_destroy(struct virtio_input *in)
{
    if (!in)
        return;
    virtio_dev_destroy(in->vdev);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

static void event_put(uint8_t ev[EVENT_SIZE], uint16_t type, uint16_t code, uint32_t value)
{
    le16_put(ev, type);
    le16_put(ev + 2, code);
    le32_put(ev + 4, value);
}

int virtio_input_press(struct virtio_input *in, uint16_t key)
{
    if (key >= KEY_MAX || !(in->keybits[key / 8] & (1u << (key % 8))))
        return -EINVAL;
    if (!(virtio_reg_read(in->vdev, VIRTIO_REG_STATUS) & VIRTIO_STATUS_DRIVER_OK))
        return -ENODEV;
    pthread_mutex_lock(&in->lock);
    if (in->npending + 4 > VIRTIO_INPUT_MAX_PENDING) {
        pthread_mutex_unlock(&in->lock);
        return -EBUSY;
    }
    event_put(in->pending[in->npending++], INPUT_EV_KEY, key, 1);
    event_put(in->pending[in->npending++], INPUT_EV_SYN, INPUT_SYN_REPORT, 0);
    event_put(in->pending[in->npending++], INPUT_EV_KEY, key, 0);
    event_put(in->pending[in->npending++], INPUT_EV_SYN, INPUT_SYN_REPORT, 0);
    pthread_mutex_unlock(&in->lock);
    virtio_dev_kick(in->vdev, EVENTQ);
    return 0;
}
