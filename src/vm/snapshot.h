/* What a snapshot of a running VM did (src/vm/vm_snapshot.c), and the overlays its frozen
 * disks continue on. */
#ifndef VESSEL_VM_SNAPSHOT_H
#define VESSEL_VM_SNAPSHOT_H

#include <stddef.h>

#define SNAPSHOT_DISKS_MAX 16
#define SNAPSHOT_PATH_MAX  1024

/* What a snapshot did: how long it took, and the disks the VM now writes to new overlays
 * (with then=resume every writable disk is frozen as the snapshot's and the VM continues on
 * a qcow2 overlay on top of it). */
struct snapshot_result {
    double ms, paused_ms; /* the whole call; the time the guest was paused */
    int nmoved;
    char moved_from[SNAPSHOT_DISKS_MAX][SNAPSHOT_PATH_MAX]; /* frozen: the snapshot's disk */
    char moved_to[SNAPSHOT_DISKS_MAX][SNAPSHOT_PATH_MAX];   /* the overlay written from now */
};

/* The overlay a running VM continues on after a snapshot froze disk: in dir, or next to the
 * disk when dir is NULL, named after the bottom of its backing chain (root; the disk itself
 * when it has none) and the snapshot, "DIR/STEM-SNAPBASE.qcow2" (STEM: root's name without a
 * .qcow2/.img/.raw ending), so that names do not grow snapshot after snapshot. 0, or
 * -ENAMETOOLONG. */
int snapshot_overlay_name(const char *disk, const char *root, const char *dir, const char *snap,
                          char *out, size_t len);

#endif
