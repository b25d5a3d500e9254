#include "dev/vmgenid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"
#include "base/sbuf.h"

static int random_guid(uint8_t guid[VMGENID_SIZE])
{
    ssize_t n = getrandom(guid, VMGENID_SIZE, 0);

    if (n != VMGENID_SIZE) {
        int err = n < 0 ? errno : EIO;
        log_err("vmgenid: no random bytes for a generation ID: %s", strerror(err));
        return -err;
    }
    return 0;
}

int vmgenid_init(struct vmgenid *v, const struct irq_line *irq)
{
    memset(v, 0, sizeof(*v));
    if (irq)
        v->irq = *irq;
    pthread_mutex_init(&v->lock, NULL);
    return random_guid(v->guid);
}

void vmgenid_destroy(struct vmgenid *v)
{
    pthread_mutex_destroy(&v->lock);
}

void vmgenid_reset(struct vmgenid *v)
{
    pthread_mutex_lock(&v->lock);
    v->irq_level = 0;
    irq_line_set(&v->irq, 0);
    pthread_mutex_unlock(&v->lock);
}

int vmgenid_new_generation(struct vmgenid *v)
{
    uint8_t guid[VMGENID_SIZE];
    int err = random_guid(guid);

    if (err)
        return err;
    pthread_mutex_lock(&v->lock);
    memcpy(v->guid, guid, VMGENID_SIZE);
    v->irq_level = 1;
    irq_line_set(&v->irq, 1);
    pthread_mutex_unlock(&v->lock);
    return 0;
}

void vmgenid_get(struct vmgenid *v, uint8_t guid[VMGENID_SIZE])
{
    pthread_mutex_lock(&v->lock);
    memcpy(guid, v->guid, VMGENID_SIZE);
    pthread_mutex_unlock(&v->lock);
}

uint64_t vmgenid_read(void *opaque, uint64_t off, unsigned size)
{
    struct vmgenid *v = opaque;
    uint64_t val = 0;

    pthread_mutex_lock(&v->lock);
    /* Any width at any offset (Linux copies the GUID with memcpy); bytes past it read 0. */
    for (unsigned i = 0; i < size && i < 8; i++)
        if (off + i < VMGENID_SIZE)
            val |= (uint64_t)v->guid[off + i] << (8 * i);
    if (v->irq_level) { /* the guest has seen the new GUID */
        v->irq_level = 0;
        irq_line_set(&v->irq, 0);
    }
    pthread_mutex_unlock(&v->lock);
    return val;
}

void vmgenid_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    (void)opaque, (void)off, (void)size, (void)val; /* read-only */
}

ssize_t vmgenid_save(struct vmgenid *v, void *buf, size_t cap)
{
    struct sbuf b = sbuf_writer(buf, cap);

    pthread_mutex_lock(&v->lock);
    sbuf_put(&b, VMGENID_SAVE_VERSION, 4);
    for (int i = 0; i < VMGENID_SIZE; i++)
        sbuf_put(&b, v->guid[i], 1);
    sbuf_put(&b, v->irq_level, 1);
    pthread_mutex_unlock(&v->lock);
    return sbuf_result(&b);
}

int vmgenid_load(struct vmgenid *v, const void *buf, size_t len)
{
    struct sbuf b = sbuf_reader(buf, len);
    uint8_t guid[VMGENID_SIZE], level;

    if (sbuf_get(&b, 4) != VMGENID_SAVE_VERSION)
        return -EINVAL;
    for (int i = 0; i < VMGENID_SIZE; i++)
        guid[i] = (uint8_t)sbuf_get(&b, 1);
    level = (uint8_t)sbuf_get(&b, 1);
    if (!sbuf_done(&b) || level > 1)
        return -EINVAL;
    pthread_mutex_lock(&v->lock);
    memcpy(v->guid, guid, VMGENID_SIZE);
    v->irq_level = level;
    irq_line_set(&v->irq, level);
    pthread_mutex_unlock(&v->lock);
    return 0;
}

const struct bus_ops vmgenid_bus_ops = {
    .read = vmgenid_read,
    .write = vmgenid_write,
};
