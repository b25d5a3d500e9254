/* The disks of a VM the daemon runs as a clone of a snapshot ("restore" with "clone": true).
 * Each start is a new clone, so each start gets new qcow2 overlays: for every writable disk that
 * is the snapshot's own (its path, resolved, is a virtio-blk device of the snapshot's CONFIG),
 * the daemon creates STATE_DIR/vms/ID-diskN-clone-XXXXXXXX.qcow2 backed by it and passes that
 * as the --disk, so `vessel run --clone` does not make its own and the daemon knows which file
 * the clone writes to. The snapshot's disk stays as the snapshot has it; several clones of one
 * snapshot run at once, each on its own overlays. */
#ifndef VESSEL_HOST_CLONE_DISKS_H
#define VESSEL_HOST_CLONE_DISKS_H

#include <stddef.h>

#include "host/registry.h"

/* Before a start of clone VM v: removes the overlays of its previous start that the daemon
 * owns (not those a snapshot was taken with), then creates and records the new ones. Returns 0
 * or -errno with why filled. */
int clone_disks_prepare(const struct registry *r, struct host_vm *v, char *why, size_t cap);

/* A then=resume snapshot moved the VM from overlay `was` to `now` (the VMM's new overlay on
 * top of the frozen one, which the snapshot keeps): records `now` instead. True when `was` was
 * one of v's clone overlays. */
bool clone_disks_follow(struct host_vm *v, const char *was, const char *now);

/* A snapshot that leaves the recorded overlays as its disks (then=stop, or disks=keep): they
 * are no longer the daemon's to remove. */
void clone_disks_keep(struct host_vm *v);

/* Removes the overlays the daemon owns (when the VM is deleted) and forgets them all. */
void clone_disks_remove(const struct registry *r, struct host_vm *v);

#endif
