#include "virtio/devset.h"

#include <stdio.h>

#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"

static void blk_destroy(void *dev)
{
    virtio_blk_destroy(dev);
}

static void rng_destroy(void *dev)
{
    virtio_rng_destroy(dev);
}

static void console_destroy(void *dev)
{
    virtio_console_destroy(dev);
}

static void net_destroy(void *dev)
{
    virtio_net_destroy(dev);
}

static void balloon_destroy(void *dev)
{
    virtio_balloon_destroy(dev);
}

int virtio_devset_create(const struct virtio_devset_config *cfg, const struct gmem *ram,
                         virtio_attach_fn attach, void *board, struct virtio_balloon **balloon)
{
    int err;

    *balloon = NULL;
    for (int i = 0; i < cfg->ndisks; i++) {
        struct virtio_blk *b;
        char serial[24];

        snprintf(serial, sizeof(serial), "vessel-disk%d", i);
        err = virtio_blk_create(&b, cfg->disks[i], serial, ram);
        if (!err)
            err = attach(board, virtio_blk_dev(b), b, blk_destroy);
        if (err)
            return err;
    }
    if (cfg->rng) {
        struct virtio_rng *r;
        err = virtio_rng_create(&r, ram);
        if (!err)
            err = attach(board, virtio_rng_dev(r), r, rng_destroy);
        if (err)
            return err;
    }
    if (cfg->console_socket) {
        struct virtio_console *c;
        err = virtio_console_create(&c, cfg->console_socket, ram);
        if (!err)
            err = attach(board, virtio_console_dev(c), c, console_destroy);
        if (err)
            return err;
    }
    for (int i = 0; i < cfg->nnets; i++) {
        struct virtio_net *n;
        err = virtio_net_create(&n, cfg->nets[i], cfg->net_macs[i], ram);
        if (!err)
            err = attach(board, virtio_net_dev(n), n, net_destroy);
        if (err)
            return err;
    }
    if (cfg->balloon) {
        struct virtio_balloon *b;
        err = virtio_balloon_create(&b, ram, cfg->balloon_bytes);
        if (!err)
            err = attach(board, virtio_balloon_dev(b), b, balloon_destroy);
        if (err)
            return err;
        *balloon = b;
    }
    return 0;
}
