/* virtio-net (device ID 1) over a network backend of src/backend/net: one receive and one
 * transmit queue, the 12-byte virtio 1.x header, MAC, link status, MTU, mergeable receive
 * buffers and checksum offload both ways (no segmentation offloads). */
#ifndef VESSEL_VIRTIO_NET_H
#define VESSEL_VIRTIO_NET_H

#include <stdint.h>

#include "backend/net/net.h"
#include "virtio/virtio.h"

/* Feature bits (virtio 1.2, 5.1.3) */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU        3
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16

#define VIRTIO_NET_S_LINK_UP 1

/* virtio_net_hdr flags */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0

#define VIRTIO_NET_MTU 1500

/* The header in front of every frame (virtio 1.x: num_buffers is always there). */
struct virtio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
} __attribute__((packed));

/* The config space layout (little-endian), up to mtu. */
struct virtio_net_config {
    uint8_t mac[6];
    uint16_t status;
    uint16_t max_virtqueue_pairs;
    uint16_t mtu;
} __attribute__((packed));

struct virtio_net_stats {
    uint64_t rx_packets, rx_bytes, rx_dropped; /* towards the guest */
    uint64_t tx_packets, tx_bytes, tx_dropped; /* from the guest */
};

struct virtio_net;

/* nb stays the caller's: close it after virtio_net_destroy(). Returns 0 or -errno. */
int virtio_net_create(struct virtio_net **out, struct net_backend *nb, const uint8_t mac[6],
                      const struct gmem *mem);
struct virtio_dev *virtio_net_dev(struct virtio_net *n);
/* Counters (read racily from any thread; for display). */
void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *st);
/* After the VM moved (a completed live migration): sends a RARP broadcast from the guest's MAC
 * (as in the device's config space) through the backend, so that switches learn at once where
 * the guest is now. Returns 0 or -errno. */
int virtio_net_announce(struct virtio_net *n);
void virtio_net_destroy(struct virtio_net *n);

/* One's-complement sum of data folded into 16 bits, as the Internet checksum wants it (the
 * caller stores ~sum). Exposed for tests. */
uint16_t virtio_net_csum_fold(const uint8_t *data, size_t len, uint32_t seed);

#endif
