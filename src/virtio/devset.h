/* The virtio devices a VM asks for, created in one order for every board (disks, rng,
 * console, nets, balloon); each board only gives a created device its transport. */
#ifndef VESSEL_VIRTIO_DEVSET_H
#define VESSEL_VIRTIO_DEVSET_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/chardev/socket.h"
#include "backend/disk/disk.h"
#include "backend/net/net.h"
#include "mem/gmem.h"
#include "virtio/balloon.h"
#include "virtio/virtio.h"

/* What the VM asks for; the disks, the socket and the net backends stay the caller's. */
struct virtio_devset_config {
    struct disk **disks; /* virtio-blk, one each */
    int ndisks;
    bool rng;                              /* virtio-rng */
    struct chardev_socket *console_socket; /* virtio-console port 0, or NULL */
    struct net_backend **nets;             /* virtio-net, one each (eth0, eth1, ...) */
    const uint8_t (*net_macs)[6];          /* the MAC of each */
    int nnets;
    bool balloon;           /* virtio-balloon */
    uint64_t balloon_bytes; /* its initial target */
};

/* Gives a created device its transport (slot, window, interrupt). From the call on the board
 * owns dev and destroys it with destroy(dev), also when attaching fails. Returns 0 or -errno. */
typedef int (*virtio_attach_fn)(void *board, struct virtio_dev *vdev, void *dev,
                                void (*destroy)(void *dev));

/* Creates every device of cfg in order and attaches each; stops at the first failure (the
 * board then destroys what it attached). *balloon is the balloon device, or NULL. */
int virtio_devset_create(const struct virtio_devset_config *cfg, const struct gmem *ram,
                         virtio_attach_fn attach, void *board, struct virtio_balloon **balloon);

#endif
