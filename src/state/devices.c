/* The device strings of a snapshot's CONFIG (snapshot_devices.h). */
#include "state/devices.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/disk.h"

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

int snapshot_describe_devices(const struct virtio_devset_config *v, struct snapshot_config *c)
{
    int err = 0;

    for (int i = 0; !err && i < v->ndisks; i++) {
        const struct disk *dk = v->disks[i];
        char *p = snapshot_abs_path(dk->path), *d = NULL;
        if (p && asprintf(&d, "virtio-blk path=%s format=%s ro=%d size=%llu", p, dk->ops->name,
                          dk->readonly, (unsigned long long)dk->size) < 0)
            d = NULL;
        free(p);
        err = add(c, d);
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
