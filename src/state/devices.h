/* Devices in a state file: the device half of the CONFIG section (state/snapconfig.h) from a
 * VM's virtio device set - the same strings for every board: a restore must give the same
 * devices in the same order - and the DEVICE sections that hold each device's state. */
#ifndef VESSEL_STATE_DEVICES_H
#define VESSEL_STATE_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "state/snapconfig.h"
#include "state/snapfile.h"
#include "virtio/devset.h"

/* An absolute path when the file exists (a restore may run elsewhere), else a copy of p; NULL
 * for p NULL or out of memory. malloc'd. */
char *snapshot_abs_path(const char *p);
/* Appends one string per device of v to c->devices in the order virtio_devset_create makes
 * them: "virtio-blk path=ABS format=F ro=0|1 size=N", "virtio-rng", "virtio-console",
 * "virtio-net", "virtio-balloon". Host-side backends (console socket, network) may differ
 * between snapshot and restore; disks may not (a qcow2 overlay of the same size may stand for
 * its backing file: alt_devices). 0 or -ENOMEM (c keeps what it has: free it). */
int snapshot_describe_devices(const struct virtio_devset_config *v, struct snapshot_config *c);

/* A DEVICE section from what a device's save function returned: len bytes of buf, or len < 0
 * (that function's -errno: logged naming the device). 0 or -errno. */
int snap_put_device(struct snap_writer *w, const char *name, uint32_t inst, long len,
                    const void *buf);
/* Reads DEVICE section (name, inst) into buf (at most cap bytes): its length, or -EBADMSG when
 * it is missing, too large or unreadable (logged naming path). */
long snap_get_device(const struct snap_reader *r, const char *path, const char *name, uint32_t inst,
                     void *buf, size_t cap);
/* Logs "state: PATH: the saved state of WHAT does not fit this VM" and returns -EINVAL. */
int snap_load_fail(const char *path, const char *what);

#endif
