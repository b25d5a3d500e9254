/* virtio-input (device ID 18, virtio 1.2 section 5.8): a keyboard-like device with a fixed set
 * of keys, for buttons of the machine (the riscv board's power button). The guest's virtio_input
 * driver makes it an evdev input device; pressing a key queues its press and release events
 * (each followed by a SYN_REPORT) for the guest. */
#ifndef VESSEL_VIRTIO_INPUT_H
#define VESSEL_VIRTIO_INPUT_H

#include <stdint.h>

#include "virtio/virtio.h"

/* Linux input event codes (include/uapi/linux/input-event-codes.h) */
#define INPUT_EV_SYN      0x00
#define INPUT_EV_KEY      0x01
#define INPUT_SYN_REPORT  0
#define INPUT_KEY_POWER   116
#define INPUT_BUS_VIRTUAL 0x06

#define VIRTIO_INPUT_MAX_PENDING 32 /* events waiting for guest buffers (8 presses) */
#define VIRTIO_INPUT_SAVE_MAX    (8 + 8 * VIRTIO_INPUT_MAX_PENDING)

struct virtio_input;

/* A device named name (at most 127 bytes) with the keys keys[0..nkeys) (codes below 1024), and
 * the evdev ids product/version. 0 or -errno. */
int virtio_input_create(struct virtio_input **out, const struct gmem *mem, const char *name,
                        const uint16_t *keys, unsigned nkeys, uint16_t product);
struct virtio_dev *virtio_input_dev(struct virtio_input *in);
void virtio_input_destroy(struct virtio_input *in);

/* Any thread: presses and releases key. 0 once the events are queued for a driver that is
 * running; -ENODEV when no driver runs the device (the guest would never see the press);
 * -EBUSY when earlier presses still wait for guest buffers; -EINVAL for a key it has not. */
int virtio_input_press(struct virtio_input *in, uint16_t key);

#endif
