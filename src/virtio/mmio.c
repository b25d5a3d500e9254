/* virtio-mmio, version 2. Registers are 32 bits wide; config space (0x100 and up) takes 1-,
 * 2-, 4- and 8-byte accesses. Other widths and unknown offsets read 0 and ignore writes. */
#include "virtio/mmio.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/log.h"

struct virtio_mmio {
    struct virtio_dev *dev;
    struct irq_line irq;
    pthread_mutex_t irq_lock; /* orders raising against acknowledging */
};

static void mmio_interrupt(void *opaque, uint32_t isr, unsigned q)
{
    struct virtio_mmio *m = opaque;

    pthread_mutex_lock(&m->irq_lock);
    if (virtio_dev_isr(m->dev))
        irq_line_set(&m->irq, 1);
    pthread_mutex_unlock(&m->irq_lock);
}

static const struct virtio_transport_ops mmio_tops = {.interrupt = mmio_interrupt};

/* After an acknowledge or a reset: lower the line when nothing is pending. */
static void mmio_update_irq(struct virtio_mmio *m)
{
    pthread_mutex_lock(&m->irq_lock);
    irq_line_set(&m->irq, virtio_dev_isr(m->dev) != 0);
    pthread_mutex_unlock(&m->irq_lock);
}

int virtio_mmio_create(struct virtio_mmio **out, struct virtio_dev *d, const struct irq_line *irq)
{
    struct virtio_mmio *m = calloc(1, sizeof(*m));

    if (!m)
        return -ENOMEM;
    m->dev = d;
    m->irq = *irq;
    pthread_mutex_init(&m->irq_lock, NULL);
    virtio_dev_attach(d, &mmio_tops, m);
    *out = m;
    return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->irq_lock);
    free(m);
}

/* The common register behind a 32-bit mmio offset, or -1. */
static int mmio_reg(uint64_t off)
{
    switch (off) {
    case VIRTIO_MMIO_DEVICE_ID: return VIRTIO_REG_DEVICE_ID;
    case VIRTIO_MMIO_DEVICE_FEATURES: return VIRTIO_REG_DEVICE_FEATURES;
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: return VIRTIO_REG_DEVICE_FEATURES_SEL;
    case VIRTIO_MMIO_DRIVER_FEATURES: return VIRTIO_REG_DRIVER_FEATURES;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: return VIRTIO_REG_DRIVER_FEATURES_SEL;
    case VIRTIO_MMIO_QUEUE_SEL: return VIRTIO_REG_QUEUE_SEL;
    case VIRTIO_MMIO_QUEUE_NUM_MAX: return VIRTIO_REG_QUEUE_NUM_MAX;
    case VIRTIO_MMIO_QUEUE_NUM: return VIRTIO_REG_QUEUE_NUM;
    case VIRTIO_MMIO_QUEUE_READY: return VIRTIO_REG_QUEUE_READY;
    case VIRTIO_MMIO_INTERRUPT_STATUS: return VIRTIO_REG_ISR;
    case VIRTIO_MMIO_INTERRUPT_ACK: return VIRTIO_REG_ISR_ACK;
    case VIRTIO_MMIO_STATUS: return VIRTIO_REG_STATUS;
    case VIRTIO_MMIO_QUEUE_DESC_LOW: return VIRTIO_REG_QUEUE_DESC_LO;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH: return VIRTIO_REG_QUEUE_DESC_HI;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW: return VIRTIO_REG_QUEUE_DRIVER_LO;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: return VIRTIO_REG_QUEUE_DRIVER_HI;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW: return VIRTIO_REG_QUEUE_DEVICE_LO;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: return VIRTIO_REG_QUEUE_DEVICE_HI;
    case VIRTIO_MMIO_CONFIG_GENERATION: return VIRTIO_REG_CONFIG_GENERATION;
    default: return -1;
    }
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_mmio *m = opaque;
    uint64_t v;
    int reg;

    if (off >= VIRTIO_MMIO_CONFIG) {
        virtio_config_read(m->dev, (uint32_t)(off - VIRTIO_MMIO_CONFIG), size, &v);
        return v;
    }
    if (size != 4 || (off & 3)) {
        log_guest_warn("virtio-mmio: %u-byte read at 0x%llx", size, (unsigned long long)off);
        return 0;
    }
    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION: return 2;
    case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_VENDOR_ID;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH: return 0xffffffff; /* no shared memory regions */
    }
    reg = mmio_reg(off);
    return reg < 0 ? 0 : virtio_reg_read(m->dev, (enum virtio_reg)reg);
}

static void mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct virtio_mmio *m = opaque;
    int reg;

    if (off >= VIRTIO_MMIO_CONFIG) {
        virtio_config_write(m->dev, (uint32_t)(off - VIRTIO_MMIO_CONFIG), size, val);
        return;
    }
    if (size != 4 || (off & 3)) {
        log_guest_warn("virtio-mmio: %u-byte write at 0x%llx", size, (unsigned long long)off);
        return;
    }
    if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {
        /* Notification data (VIRTIO_F_NOTIFICATION_DATA) is not offered: the value is the
         * queue index. */
        virtio_queue_kick_from_guest(m->dev, (unsigned)(val & 0xffff));
        return;
    }
    reg = mmio_reg(off);
    if (reg < 0)
        return;
    virtio_reg_write(m->dev, (enum virtio_reg)reg, (uint32_t)val);
    if (reg == VIRTIO_REG_ISR_ACK || reg == VIRTIO_REG_STATUS)
        mmio_update_irq(m);
}

const struct bus_ops virtio_mmio_bus_ops = {.read = mmio_read, .write = mmio_write};
