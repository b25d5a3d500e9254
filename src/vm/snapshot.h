/* Whole-VM snapshot files on top of the state format (vm/snapfile.h, docs/state-format.md):
 * the CONFIG section's JSON (what a restore must match: RAM size, harts, the device list, and
 * the boot files a guest reboot after a restore reads again), and opening a file for restore
 * with the engine and architecture checked. The board writes and loads the other sections. */
#ifndef VESSEL_VM_SNAPSHOT_H
#define VESSEL_VM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "vm/snapfile.h"

#define SNAPSHOT_MAX_DEVICES 32

/* CONFIG: {"ram_size":N,"harts":N,"cmdline":S|null,"firmware":S|null,"kernel":S|null,
 *          "initrd":S|null,"devices":[S,...]}. A device is described by one string, e.g.
 * "virtio-blk path=/abs/disk.img format=raw ro=0 size=1048576", "virtio-rng",
 * "virtio-console", "virtio-net", "virtio-balloon", in virtio slot order. Strings are
 * malloc'd. */
struct snapshot_config {
    uint64_t ram_size;
    int nharts;
    char *cmdline, *firmware, *kernel, *initrd;
    char *devices[SNAPSHOT_MAX_DEVICES];
    /* Not in the JSON; only in a description of the VM being restored: what else device i
     * may stand for (a qcow2 overlay: its backing file, described as devices[] describes a
     * disk), or NULL. */
    char *alt_devices[SNAPSHOT_MAX_DEVICES];
    int ndevices;
};

/* The JSON text (malloc'd, NUL-terminated) or NULL when out of memory. */
char *snapshot_config_json(const struct snapshot_config *c);
/* Parses CONFIG JSON; 0, or -EINVAL with a reason in err. */
int snapshot_config_parse(const char *json, size_t len, struct snapshot_config *c, char *err,
                          size_t errlen);
void snapshot_config_free(struct snapshot_config *c);
/* 0 when a VM configured as now can take the state saved with saved (RAM, harts, devices in
 * order; a device of now also matches the saved one its alt_devices entry names); else -EINVAL and a one-line reason naming the first difference in err. */
int snapshot_config_match(const struct snapshot_config *saved, const struct snapshot_config *now,
                          char *err, size_t errlen);

/* Opens a state file (snap_reader_open's checks) and refuses one written by another engine or
 * for another architecture (-ENOEXEC). Every failure is logged on one line naming the file. */
int snapshot_open(struct snap_reader *r, const char *path, const char *engine, const char *arch);
/* Reads and parses the CONFIG section of an open file; 0 or -errno (logged). */
int snapshot_read_config(const struct snap_reader *r, const char *path, struct snapshot_config *c);
/* snapshot_open, snapshot_read_config and close: the machine a file at path was taken of. */
int snapshot_read_config_file(const char *path, const char *engine, const char *arch,
                              struct snapshot_config *c);

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

/* The overlay a running VM continues on after a snapshot froze disk: next to the disk, named
 * after both, "DIR/STEM-SNAPBASE.qcow2" (STEM: the disk's name without a .qcow2/.img/.raw
 * ending). 0, or -ENAMETOOLONG. */
int snapshot_overlay_name(const char *disk, const char *snap, char *out, size_t len);

/* Milliseconds of CLOCK_MONOTONIC, for timing snapshots and restores. */
double snapshot_now_ms(void);

#endif
