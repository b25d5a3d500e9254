/* virtio-rng (device ID 4): entropy from the host's getrandom(). */
#ifndef VESSEL_VIRTIO_RNG_H
#define VESSEL_VIRTIO_RNG_H

#include "virtio/virtio.h"

struct virtio_rng;

int virtio_rng_create(struct virtio_rng **out, const struct gmem *mem);
struct virtio_dev *virtio_rng_dev(struct virtio_rng *r);
void virtio_rng_destroy(struct virtio_rng *r);

#endif
