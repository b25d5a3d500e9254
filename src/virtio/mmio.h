/* virtio-mmio transport, version 2 (virtio 1.2, section 4.2.2): one register window per
 * device, config space at 0x100, one level-triggered interrupt line. It decodes registers
 * and forwards them to the device core; it knows nothing of any particular device. */
#ifndef VESSEL_VIRTIO_MMIO_H
#define VESSEL_VIRTIO_MMIO_H

#include <stdint.h>

#include "bus/bus.h"
#include "dev/irq.h"
#include "virtio/virtio.h"

/* Register offsets */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000
#define VIRTIO_MMIO_VERSION             0x004
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_SHM_SEL             0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW         0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH        0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW        0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH       0x0bc
#define VIRTIO_MMIO_QUEUE_RESET         0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */

struct virtio_mmio;

/* Attaches d to a new transport raising irq. The board registers the window:
 * bus_register(bus, base, RISCV_VIRTIO_SIZE, &virtio_mmio_bus_ops, m, name). 0 or -errno. */
int virtio_mmio_create(struct virtio_mmio **out, struct virtio_dev *d, const struct irq_line *irq);
/* Frees the transport; destroy the device first (its thread raises interrupts here). */
void virtio_mmio_destroy(struct virtio_mmio *m);

extern const struct bus_ops virtio_mmio_bus_ops;

#endif
