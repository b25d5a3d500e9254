/* The CONFIG section of a state file (docs/state-format.md): what a restore must match (RAM
 * size, harts, the device list) and the boot files a guest reboot after a restore reads again,
 * as JSON; and opening a file for restore with the engine and architecture checked. */
#ifndef VESSEL_STATE_SNAPCONFIG_H
#define VESSEL_STATE_SNAPCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "state/snapfile.h"

#define SNAPSHOT_MAX_DEVICES 32

/* CONFIG: {"ram_size":N,"harts":N,"cmdline":S|null,"firmware":S|null,"kernel":S|null,
 *          "initrd":S|null,"bootloader":S|null,"devices":[S,...]} ("bootloader" absent in
 *          files written before it existed: null). A device is described by one string, e.g.
 * "virtio-blk path=/abs/disk.img format=raw ro=0 size=1048576", "virtio-rng",
 * "virtio-console", "virtio-net", "virtio-balloon", in virtio slot order. Strings are
 * malloc'd. */
struct snapshot_config {
    uint64_t ram_size;
    int nharts;
    char *cmdline, *firmware, *kernel, *initrd, *bootloader;
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

#endif
