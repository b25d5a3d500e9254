/* Disk overlays for snapshots a VM continues after (vm/snapshot_disks.h). */
#include "vm/snapshot_disks.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "base/log.h"

/* The bottom of d's backing chain (d itself when it has no backing file): its name gives the
 * overlays their stem, so that overlay names do not grow with every snapshot. */
static const char *chain_root(struct disk *d)
{
    struct disk_qcow2_info info;

    while (disk_is_qcow2(d)) {
        disk_qcow2_info(d, &info);
        if (!info.backing)
            break;
        d = info.backing;
    }
    return d->path;
}

int disk_freeze_prepare(struct disk_freeze *f, struct disk *const *disks, int ndisks,
                        const char *snap_path, const char *overlay_dir)
{
    int err = 0;

    memset(f, 0, sizeof(*f));
    for (int i = 0; i < ndisks && !err; i++) {
        struct disk *d = disks[i];
        char backing[PATH_MAX];
        struct disk_qcow2_create_opts o = {.backing_fmt = d->ops->name, .private_mode = true};
        int k = f->n;

        if (d->readonly)
            continue;
        if (f->n == SNAPSHOT_DISKS_MAX) {
            log_err("snapshot: more than %d writable disks to freeze", SNAPSHOT_DISKS_MAX);
            err = -E2BIG;
            break;
        }
        if (!realpath(d->path, backing)) {
            err = -errno;
            log_err("snapshot: %s: %s", d->path, strerror(errno));
            break;
        }
        o.backing = backing;
        err = d->ops->flush(d); /* the frozen disk holds everything written so far */
        if (err) {
            log_err("snapshot: flushing %s: %s", d->path, strerror(-err));
            break;
        }
        err = snapshot_overlay_name(backing, chain_root(d), overlay_dir, snap_path, f->path[k],
                                    sizeof(f->path[k]));
        if (err) {
            log_err("snapshot: an overlay name for %s is too long", backing);
            break;
        }
        /* The overlay opens the disk as its backing file: a reader from now on. */
        err = disk_set_lock(d, DISK_LOCK_READ);
        if (err)
            break;
        err = disk_qcow2_create(f->path[k], &o); /* logs; -EEXIST for an existing file */
        if (!err) {
            err = disk_open(&f->overlay[k], f->path[k], DISK_FORMAT_QCOW2, false);
            if (err)
                unlink(f->path[k]);
        }
        if (err) {
            disk_set_lock(d, DISK_LOCK_WRITE);
            break;
        }
        f->frozen[k] = d;
        f->index[k] = i;
        f->n++;
    }
    if (err)
        disk_freeze_abort(f);
    return err;
}

void disk_freeze_commit(struct disk_freeze *f, struct disk **disks, struct virtio_blk *const *blks,
                        struct snapshot_result *res)
{
    for (int k = 0; k < f->n; k++) {
        int i = f->index[k];
        struct disk *old = virtio_blk_swap_disk(blks[i], f->overlay[k]);

        snprintf(res->moved_from[res->nmoved], sizeof(res->moved_from[0]), "%s", old->path);
        snprintf(res->moved_to[res->nmoved], sizeof(res->moved_to[0]), "%s", f->path[k]);
        res->nmoved++;
        disks[i] = f->overlay[k];
        disk_close(old);
        log_info("snapshot: %s is frozen; the VM writes to %s", res->moved_from[k], f->path[k]);
    }
    f->n = 0;
}

void disk_freeze_abort(struct disk_freeze *f)
{
    for (int k = 0; k < f->n; k++) {
        disk_close(f->overlay[k]);
        unlink(f->path[k]);
        if (disk_set_lock(f->frozen[k], DISK_LOCK_WRITE))
            log_err("snapshot: %s: the VM writes it on without its lock", f->frozen[k]->path);
    }
    f->n = 0;
}

int snapshot_overlay_name(const char *disk, const char *root, const char *dir, const char *snap,
                          char *out, size_t len)
{
    static const char *const endings[] = {".qcow2", ".img", ".raw"};
    const char *slash = strrchr(disk, '/');
    const char *rbase = strrchr(root, '/') ? strrchr(root, '/') + 1 : root;
    const char *sbase = strrchr(snap, '/') ? strrchr(snap, '/') + 1 : snap;
    size_t ddir = slash ? (size_t)(slash + 1 - disk) : 0, stem = strlen(rbase);
    int n;

    for (size_t i = 0; i < sizeof(endings) / sizeof(endings[0]); i++) {
        size_t el = strlen(endings[i]);
        if (stem > el && !strcmp(rbase + stem - el, endings[i])) {
            stem -= el;
            break;
        }
    }
    if (dir)
        n = snprintf(out, len, "%s/%.*s-%s.qcow2", dir, (int)stem, rbase, sbase);
    else
        n = snprintf(out, len, "%.*s%.*s-%s.qcow2", (int)ddir, disk, (int)stem, rbase, sbase);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
