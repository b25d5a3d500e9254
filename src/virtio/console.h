/* virtio-console (device ID 3): one port (no MULTIPORT), which Linux makes /dev/hvc0,
 * connected to a unix-socket chardev. */
#ifndef VESSEL_VIRTIO_CONSOLE_H
#define VESSEL_VIRTIO_CONSOLE_H

#include "backend/chardev/socket.h"
#include "virtio/virtio.h"

struct virtio_console;

/* sock stays the caller's (close it after virtio_console_destroy). Returns 0 or -errno. */
int virtio_console_create(struct virtio_console **out, struct chardev_socket *sock,
                          const struct gmem *mem);
struct virtio_dev *virtio_console_dev(struct virtio_console *c);
void virtio_console_destroy(struct virtio_console *c);

#endif
