/* The device half of a snapshot's CONFIG (vm/snapshot.h) from a board's virtio device set, the
 * same strings for every board: a restore must give the same devices in the same order. */
#ifndef VESSEL_STATE_DEVICES_H
#define VESSEL_STATE_DEVICES_H

#include "virtio/devset.h"
#include "state/snapconfig.h"

/* An absolute path when the file exists (a restore may run elsewhere), else a copy of p; NULL
 * for p NULL or out of memory. malloc'd. */
char *snapshot_abs_path(const char *p);
/* Appends one string per device of v to c->devices in the order virtio_devset_create makes
 * them: "virtio-blk path=ABS format=F ro=0|1 size=N", "virtio-rng", "virtio-console",
 * "virtio-net", "virtio-balloon". Host-side backends (console socket, network) may differ
 * between snapshot and restore; disks may not. 0 or -ENOMEM (c keeps what it has: free it). */
int snapshot_describe_devices(const struct virtio_devset_config *v, struct snapshot_config *c);

#endif
