/* Freezing a running VM's disks for a snapshot it continues after (then=resume): each writable
 * disk becomes the snapshot's, unchanged from now on, and the VM goes on writing to a new
 * qcow2 overlay on top of it (vm/snapshot.h: snapshot_overlay_name). */
#ifndef VESSEL_VM_SNAPSHOT_DISKS_H
#define VESSEL_VM_SNAPSHOT_DISKS_H

#include "backend/disk/disk.h"
#include "virtio/blk.h"
#include "vm/snapshot.h"

struct disk_freeze {
    int n;
    int index[SNAPSHOT_DISKS_MAX]; /* which disk of the VM */
    struct disk *overlay[SNAPSHOT_DISKS_MAX];
    struct disk *frozen[SNAPSHOT_DISKS_MAX]; /* its lock now a reader's (the overlay's backing) */
    char path[SNAPSHOT_DISKS_MAX][SNAPSHOT_PATH_MAX];
};

/* With the devices quiesced: flushes every writable disk and creates and opens its overlay
 * (the disk as backing file), in overlay_dir or (NULL) next to the disk. 0, or -errno (logged) with nothing left behind. */
int disk_freeze_prepare(struct disk_freeze *f, struct disk *const *disks, int ndisks,
                        const char *snap_path, const char *overlay_dir);
/* Once the snapshot is written: each virtio-blk device (blks[i] serves disks[i]) and disks[i]
 * take the overlay; the old disks are closed; res lists the moves. */
void disk_freeze_commit(struct disk_freeze *f, struct disk **disks, struct virtio_blk *const *blks,
                        struct snapshot_result *res);
/* The snapshot failed: closes and removes the overlays; the frozen disks are writers again. */
void disk_freeze_abort(struct disk_freeze *f);

#endif
