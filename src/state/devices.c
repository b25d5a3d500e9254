/* The device strings of a snapshot's CONFIG (snapshot_devices.h). */
#include "state/devices.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/disk.h"
#include "backend/disk/qcow2.h"
#include "base/log.h"

char *snapshot_abs_path(const char *p)
{
    char buf[PATH_MAX];

    if (!p)
        return NULL;
    return strdup(realpath(p, buf) ? buf : p);
}

static int add(struct snapshot_config *c, char *d)
{
    if (!d)
        return -ENOMEM;
    if (c->ndevices == SNAPSHOT_MAX_DEVICES) {
        free(d);
        return -ENOSPC;
    }
    c->devices[c->ndevices++] = d;
    return 0;
}

/* "virtio-blk path=... format=... ro=... size=..." of disk dk with the read-only flag given;
 * NULL when out of memory. */
static char *describe_disk(const struct disk *dk, bool readonly)
{
    char *p = snapshot_abs_path(dk->path), *d = NULL;

    if (p && asprintf(&d, "virtio-blk path=%s format=%s ro=%d size=%llu", p, dk->ops->name,
                      readonly, (unsigned long long)dk->size) < 0)
        d = NULL;
    free(p);
    return d;
}

/* A qcow2 overlay of the same virtual size may stand for its backing file (a clone's own
 * overlay on the snapshot's disk): the backing file as a snapshot would have described it,
 * with the overlay's read-only flag. NULL otherwise (or when out of memory: no alternative). */
static char *describe_backing(struct disk *dk)
{
    struct disk_qcow2_info info;

    if (!disk_is_qcow2(dk))
        return NULL;
    disk_qcow2_info(dk, &info);
    if (!info.backing || info.backing->size != dk->size)
        return NULL;
    return describe_disk(info.backing, dk->readonly);
}

int snapshot_describe_devices(const struct virtio_devset_config *v, struct snapshot_config *c)
{
    int err = 0;

    for (int i = 0; !err && i < v->ndisks; i++) {
        char *alt = describe_backing(v->disks[i]);

        err = add(c, describe_disk(v->disks[i], v->disks[i]->readonly));
        if (err)
            free(alt);
        else
            c->alt_devices[c->ndevices - 1] = alt;
    }
    if (!err && v->rng)
        err = add(c, strdup("virtio-rng"));
    if (!err && v->console_socket)
        err = add(c, strdup("virtio-console"));
    for (int i = 0; !err && i < v->nnets; i++)
        err = add(c, strdup("virtio-net"));
    if (!err && v->balloon)
        err = add(c, strdup("virtio-balloon"));
    return err;
}

int snap_put_device(struct snap_writer *w, const char *name, uint32_t inst, long len,
                    const void *buf)
{
    if (len < 0) {
        log_err("snapshot: saving %s: %s", name, strerror((int)-len));
        return (int)len;
    }
    return snap_write_section(w, SNAP_DEVICE, inst, name, buf, (uint64_t)len);
}

long snap_get_device(const struct snap_reader *r, const char *path, const char *name, uint32_t inst,
                     void *buf, size_t cap)
{
    const struct snap_section *s = snap_find(r, SNAP_DEVICE, inst, name);

    if (!s || s->length > cap || snap_read_payload(r, s, buf, s->length)) {
        log_err("state: %s: no readable state for device %s %u", path, name, inst);
        return -EBADMSG;
    }
    return (long)s->length;
}

int snap_load_fail(const char *path, const char *what)
{
    log_err("state: %s: the saved state of %s does not fit this VM", path, what);
    return -EINVAL;
}
