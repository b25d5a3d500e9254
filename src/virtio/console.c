/* virtio-console: queue 0 carries host->guest bytes (receiveq), queue 1 guest->host
 * (transmitq). Both directions run on the device thread: the socket's listener and client fds
 * are event sources of the device. The client fd is watched only while the guest has posted
 * receive buffers, so a full guest applies back-pressure to the socket instead of spinning. */
#include "virtio/console.h"

#include <errno.h>
#include <stdlib.h>

#include "base/log.h"

#define Q_RX 0
#define Q_TX 1

struct virtio_console_config {
    uint16_t cols, rows;
    uint32_t max_nr_ports, emerg_wr;
} __attribute__((packed));

struct virtio_console {
    struct virtio_dev *vdev;
    struct chardev_socket *sock;
    int watched; /* client fd registered with the device, or -1 */
    struct virtq_elem elem;
};

static void client_ready(struct virtio_dev *d, int fd, void *opaque);

static void watch_client(struct virtio_console *c, bool on)
{
    int fd = chardev_socket_client_fd(c->sock);

    if (c->watched >= 0 && (!on || c->watched != fd)) {
        virtio_dev_del_fd(c->vdev, c->watched);
        c->watched = -1;
    }
    if (on && fd >= 0 && c->watched < 0 && !virtio_dev_add_fd(c->vdev, fd, client_ready, c))
        c->watched = fd;
}

/* Moves socket input into receive buffers while both exist. */
static void console_rx(struct virtio_console *c)
{
    struct virtio_dev *d = c->vdev;
    bool pushed = false;
    int r;

    while (chardev_socket_client_fd(c->sock) >= 0) {
        ssize_t n;

        r = virtio_queue_pop(d, Q_RX, &c->elem);
        if (r <= 0) {
            if (r == 0 && virtio_queue_enable_notify(d, Q_RX))
                continue;
            watch_client(c, false); /* no buffers: wait for the driver's kick */
            break;
        }
        if (!c->elem.in_num) {
            virtio_dev_set_broken(d, "receive buffer with no writable part");
            break;
        }
        n = chardev_socket_readv(c->sock, c->elem.iov + c->elem.out_num, (int)c->elem.in_num);
        if (n <= 0) {
            virtio_queue_unpop(d, Q_RX);
            if (n == 0)
                log_info("virtio-console: client disconnected");
            watch_client(c, n != 0);
            break;
        }
        virtio_queue_push(d, Q_RX, c->elem.head, (uint32_t)n);
        pushed = true;
    }
    if (pushed)
        virtio_queue_notify(d, Q_RX);
}

static void client_ready(struct virtio_dev *d, int fd, void *opaque)
{
    console_rx(opaque);
}

static void listener_ready(struct virtio_dev *d, int fd, void *opaque)
{
    struct virtio_console *c = opaque;

    watch_client(c, false);
    if (chardev_socket_accept(c->sock) == 0) {
        log_info("virtio-console: client connected");
        watch_client(c, true);
        console_rx(c);
    }
}

static void console_tx(struct virtio_console *c)
{
    struct virtio_dev *d = c->vdev;
    int r;

    do {
        virtio_queue_disable_notify(d, Q_TX);
        while ((r = virtio_queue_pop(d, Q_TX, &c->elem)) > 0) {
            for (unsigned i = 0; i < c->elem.out_num; i++)
                chardev_socket_write(c->sock, c->elem.iov[i].iov_base, c->elem.iov[i].iov_len);
            virtio_queue_push(d, Q_TX, c->elem.head, 0);
        }
    } while (r == 0 && virtio_queue_enable_notify(d, Q_TX));
    virtio_queue_notify(d, Q_TX);
}

static void console_kick(struct virtio_dev *d, unsigned q)
{
    struct virtio_console *c = virtio_dev_priv(d);

    if (q == Q_TX) {
        console_tx(c);
        return;
    }
    watch_client(c, true); /* new receive buffers: listen to the client again */
    console_rx(c);
}

static void console_reset(struct virtio_dev *d)
{
    struct virtio_console *c = virtio_dev_priv(d);

    watch_client(c, false);
}

static const struct virtio_dev_ops console_ops = {
    .name = "console",
    .device_id = VIRTIO_ID_CONSOLE,
    .num_queues = 2,
    .queue_max = 128,
    .config_size = sizeof(struct virtio_console_config),
    .queue_kick = console_kick,
    .reset = console_reset,
};

int virtio_console_create(struct virtio_console **out, struct chardev_socket *sock,
                          const struct gmem *mem)
{
    struct virtio_console *c = calloc(1, sizeof(*c));
    int err;

    if (!c)
        return -ENOMEM;
    c->sock = sock;
    c->watched = -1;
    err = virtio_dev_create(&c->vdev, &console_ops, c, mem);
    if (!err)
        err = virtio_dev_add_fd(c->vdev, chardev_socket_listen_fd(sock), listener_ready, c);
    if (err) {
        virtio_dev_destroy(c->vdev);
        free(c);
        return err;
    }
    *out = c;
    return 0;
}

struct virtio_dev *virtio_console_dev(struct virtio_console *c)
{
    return c->vdev;
}

void virtio_console_destroy(struct virtio_console *c)
{
    if (!c)
        return;
    virtio_dev_destroy(c->vdev);
    free(c);
}
