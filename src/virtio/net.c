/* virtio-net: queue 0 receives (host -> guest), queue 1 transmits. Everything runs on the
 * device thread: transmit on kicks of queue 1, receive when the backend's rx fd is readable.
 * When the guest has no receive buffers the device stops watching that fd and keeps the frame
 * it holds; the next kick of queue 0 (the guest refilled) resumes. */
#include "virtio/net.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/iov.h"
#include "base/log.h"

#define NET_RXQ 0
#define NET_TXQ 1
#define NET_HDR sizeof(struct virtio_net_hdr)

struct virtio_net {
    struct virtio_dev *vdev;
    struct net_backend *nb;
    struct virtio_net_config cfg;
    bool watching;  /* the backend's rx fd is registered with the device thread */
    bool link_gone; /* the backend reported the link down for good */
    size_t held;    /* bytes of a frame in rxbuf waiting for receive buffers */
    struct {
        _Atomic uint64_t rx_packets, rx_bytes, rx_dropped, tx_packets, tx_bytes, tx_dropped;
    } st;
    uint16_t heads[VIRTQ_MAX_SIZE]; /* chains used for one mergeable frame */
    uint32_t lens[VIRTQ_MAX_SIZE];
    struct virtq_elem elem;
    uint8_t rxbuf[NET_FRAME_MAX];
    uint8_t txbuf[NET_FRAME_MAX];
};

uint16_t virtio_net_csum_fold(const uint8_t *data, size_t len, uint32_t seed)
{
    uint64_t sum = seed;
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)data[i] << 8 | data[i + 1];
    if (i < len)
        sum += (uint32_t)data[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* --- transmit --- */

/* Completes a partial checksum the guest left to us (VIRTIO_NET_F_CSUM). */
static bool tx_csum(uint8_t *frame, size_t len, const struct virtio_net_hdr *h)
{
    size_t start = h->csum_start, off = h->csum_offset;
    uint16_t sum;

    if (start >= len || len - start < 2 || off > len - start - 2)
        return false;
    sum = (uint16_t)~virtio_net_csum_fold(frame + start, len - start, 0);
    if (sum == 0)
        sum = 0xffff; /* for UDP, 0 means "no checksum"; for TCP both are zero */
    frame[start + off] = (uint8_t)(sum >> 8);
    frame[start + off + 1] = (uint8_t)sum;
    return true;
}

/* One chain from the guest: header, then the frame. Returns false to drop it. */
static bool tx_one(struct virtio_net *n, const struct virtq_elem *e)
{
    struct virtio_net_hdr h;
    struct iovec iov;
    size_t len;

    if (e->out_len < NET_HDR + NET_ETH_HLEN || e->out_len > NET_HDR + NET_FRAME_MAX)
        return false;
    iov_to_buf(e->iov, e->out_num, 0, &h, NET_HDR);
    len = iov_to_buf(e->iov, e->out_num, NET_HDR, n->txbuf, e->out_len - NET_HDR);
    if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
        return false; /* no segmentation offload was offered */
    if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
        (!virtio_dev_has_feature(n->vdev, VIRTIO_NET_F_CSUM) || !tx_csum(n->txbuf, len, &h)))
        return false;
    iov = (struct iovec){.iov_base = n->txbuf, .iov_len = len};
    if (n->link_gone || net_backend_send(n->nb, &iov, 1) < 0)
        return false;
    count(&n->st.tx_packets, 1);
    count(&n->st.tx_bytes, len);
    return true;
}

static void net_tx(struct virtio_dev *d)
{
    struct virtio_net *n = virtio_dev_priv(d);
    int r;

    do {
        virtio_queue_disable_notify(d, NET_TXQ);
        while ((r = virtio_queue_pop(d, NET_TXQ, &n->elem)) > 0) {
            if (!tx_one(n, &n->elem))
                count(&n->st.tx_dropped, 1);
            virtio_queue_push(d, NET_TXQ, n->elem.head, 0);
        }
    } while (r == 0 && virtio_queue_enable_notify(d, NET_TXQ));
    virtio_queue_notify(d, NET_TXQ);
}

/* --- receive --- */

/* Puts the held frame into receive buffers. Returns 1 (delivered or dropped for good) or 0
 * (no buffers: keep it). */
static int rx_one(struct virtio_net *n)
{
    struct virtio_dev *d = n->vdev;
    bool mrg = virtio_dev_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);
    struct virtio_net_hdr h = {.gso_type = VIRTIO_NET_HDR_GSO_NONE, .num_buffers = 1};
    struct iovec nb_iov[2]; /* where num_buffers of the first chain lives */
    size_t need = NET_HDR + n->held, done = 0;
    unsigned used = 0;
    int nb_cnt = 0, r;

    if (virtio_dev_has_feature(d, VIRTIO_NET_F_GUEST_CSUM))
        h.flags = VIRTIO_NET_HDR_F_DATA_VALID; /* every backend delivers complete checksums */
    while (done < need) {
        const struct iovec *in;
        size_t take;

        r = used == VIRTQ_MAX_SIZE ? 0 : virtio_queue_pop(d, NET_RXQ, &n->elem);
        if (r < 0)
            return 1; /* broken: the core has said why */
        if (r == 0) {
            while (used--)
                virtio_queue_unpop(d, NET_RXQ); /* they return in order, to be used later */
            return 0;
        }
        in = n->elem.iov + n->elem.out_num;
        if (n->elem.in_len < (used ? 1 : NET_HDR)) {
            virtio_dev_set_broken(d, "receive buffer of %llu bytes is too small",
                                  (unsigned long long)n->elem.in_len);
            return 1;
        }
        take = need - done < n->elem.in_len ? need - done : n->elem.in_len;
        if (!used) {
            iov_from_buf(in, n->elem.in_num, 0, &h, NET_HDR);
            nb_cnt = iov_slice(in, n->elem.in_num, NET_HDR - 2, 2, nb_iov, 2);
            iov_from_buf(in, n->elem.in_num, NET_HDR, n->rxbuf, take - NET_HDR);
        } else {
            iov_from_buf(in, n->elem.in_num, 0, n->rxbuf + done - NET_HDR, take);
        }
        n->heads[used] = n->elem.head;
        n->lens[used++] = (uint32_t)take;
        done += take;
        if (!mrg && done < need) {
            /* Without mergeable buffers a frame must fit one chain: drop it. */
            virtio_queue_push(d, NET_RXQ, n->heads[0], 0);
            count(&n->st.rx_dropped, 1);
            return 1;
        }
    }
    if (used > 1) {
        uint16_t nbuf = (uint16_t)used;

        iov_from_buf(nb_iov, nb_cnt > 0 ? (unsigned)nb_cnt : 0, 0, &nbuf, 2);
    }
    for (unsigned i = 0; i < used; i++)
        virtio_queue_push(d, NET_RXQ, n->heads[i], n->lens[i]);
    count(&n->st.rx_packets, 1);
    count(&n->st.rx_bytes, n->held);
    return 1;
}

static void net_rx_fd(struct virtio_dev *d, int fd, void *opaque);

static void rx_watch(struct virtio_net *n, bool on)
{
    int fd = net_backend_rx_fd(n->nb);

    if (on == n->watching || (on && n->link_gone))
        return;
    if (on && virtio_dev_add_fd(n->vdev, fd, net_rx_fd, n) < 0)
        return;
    if (!on)
        virtio_dev_del_fd(n->vdev, fd);
    n->watching = on;
}

static void link_down(struct virtio_net *n)
{
    uint16_t status = 0;

    n->link_gone = true;
    rx_watch(n, false);
    virtio_dev_config_set(n->vdev, offsetof(struct virtio_net_config, status), &status, 2);
}

/* Moves frames from the backend to the guest until either runs dry. */
static void net_rx(struct virtio_net *n)
{
    struct virtio_dev *d = n->vdev;
    unsigned frames = 0;

    while (virtio_queue_ready(d, NET_RXQ) && frames < 256) {
        if (!n->held) {
            ssize_t len = net_backend_recv(n->nb, n->rxbuf, sizeof(n->rxbuf));

            if (len == -EAGAIN)
                break;
            if (len < 0) {
                link_down(n);
                break;
            }
            n->held = (size_t)len;
        }
        if (!rx_one(n)) {
            rx_watch(n, false); /* no buffers: wait for the guest's next rx kick */
            break;
        }
        n->held = 0;
        frames++;
    }
    if (frames)
        virtio_queue_notify(d, NET_RXQ);
    /* frames == 256 with more pending: the fd stays readable and the thread comes back. */
}

static void net_rx_fd(struct virtio_dev *d, int fd, void *opaque)
{
    net_rx(virtio_dev_priv(d));
}

static void net_kick(struct virtio_dev *d, unsigned q)
{
    struct virtio_net *n = virtio_dev_priv(d);

    if (q == NET_TXQ) {
        net_tx(d);
        return;
    }
    /* The guest added receive buffers. */
    rx_watch(n, true);
    net_rx(n);
}

static void net_reset(struct virtio_dev *d)
{
    struct virtio_net *n = virtio_dev_priv(d);

    n->held = 0; /* the frame in flight is lost, as on a NIC reset */
    rx_watch(n, true);
}

static const struct virtio_dev_ops net_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2,
    .queue_max = 256,
    .features = (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
                (1ull << VIRTIO_NET_F_MTU) | (1ull << VIRTIO_NET_F_MAC) |
                (1ull << VIRTIO_NET_F_MRG_RXBUF) | (1ull << VIRTIO_NET_F_STATUS),
    .config_size = sizeof(struct virtio_net_config),
    .queue_kick = net_kick,
    .reset = net_reset,
};

int virtio_net_create(struct virtio_net **out, struct net_backend *nb, const uint8_t mac[6],
                      const struct gmem *mem)
{
    struct virtio_net *n = calloc(1, sizeof(*n));
    int err;

    if (!n)
        return -ENOMEM;
    n->nb = nb;
    err = virtio_dev_create(&n->vdev, &net_ops, n, mem);
    if (err)
        goto fail;
    memcpy(n->cfg.mac, mac, 6);
    n->cfg.status = VIRTIO_NET_S_LINK_UP; /* little-endian fields: the host is too */
    n->cfg.max_virtqueue_pairs = 1;
    n->cfg.mtu = VIRTIO_NET_MTU;
    virtio_dev_config_set(n->vdev, 0, &n->cfg, sizeof(n->cfg));
    rx_watch(n, true);
    if (!n->watching) {
        err = -EIO;
        log_err("virtio-net: %s: cannot watch the backend", net_backend_name(nb));
        goto fail;
    }
    *out = n;
    return 0;

fail:
    virtio_dev_destroy(n->vdev);
    free(n);
    return err;
}

struct virtio_dev *virtio_net_dev(struct virtio_net *n)
{
    return n->vdev;
}

void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *st)
{
    st->rx_packets = atomic_load(&n->st.rx_packets);
    st->rx_bytes = atomic_load(&n->st.rx_bytes);
    st->rx_dropped = atomic_load(&n->st.rx_dropped);
    st->tx_packets = atomic_load(&n->st.tx_packets);
    st->tx_bytes = atomic_load(&n->st.tx_bytes);
    st->tx_dropped = atomic_load(&n->st.tx_dropped);
}

int virtio_net_announce(struct virtio_net *n)
{
    uint8_t f[60] = {0}; /* the minimum Ethernet frame, zero-padded */
    uint8_t mac[6];
    struct iovec iov = {.iov_base = f, .iov_len = sizeof(f)};

    virtio_dev_config_get(n->vdev, 0, mac, sizeof(mac));
    memset(f, 0xff, 6); /* to everyone */
    memcpy(f + 6, mac, 6);
    f[12] = 0x80; /* ethertype 0x8035: RARP */
    f[13] = 0x35;
    f[15] = 1;              /* hardware type: Ethernet */
    f[16] = 0x08;           /* protocol type: IPv4 */
    f[18] = 6;              /* hardware address length */
    f[19] = 4;              /* protocol address length */
    f[21] = 3;              /* operation: reverse request */
    memcpy(f + 22, mac, 6); /* sender hardware address */
    memcpy(f + 32, mac, 6); /* target hardware address; both protocol addresses stay 0 */
    if (n->link_gone)
        return -ENETDOWN;
    return net_backend_send(n->nb, &iov, 1) < 0 ? -EIO : 0;
}

void virtio_net_destroy(struct virtio_net *n)
{
    if (!n)
        return;
    virtio_dev_destroy(n->vdev);
    free(n);
}
