/* qcow2 image operations beyond the disk interface: create, inspect, check and repair. Used
 * by `vessel disk` (src/cli/disk_cmd.c), the tests and the fuzzer. */
#ifndef VESSEL_BACKEND_DISK_QCOW2_H
#define VESSEL_BACKEND_DISK_QCOW2_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backend/disk/disk.h"

struct disk_qcow2_create_opts {
    uint64_t size;           /* virtual size in bytes (rounded up to 512); 0: the backing's */
    const char *backing;     /* stored as given; resolved against the image's directory */
    const char *backing_fmt; /* "raw", "qcow2" or NULL to probe the backing file */
    unsigned version;        /* 2 or 3 (0: 3) */
    unsigned cluster_bits;   /* 9 to 21 (0: 16, 64 KiB) */
    unsigned refcount_order; /* 0 to 6 (version 3 only; 0 means the default 4 unless
                                refcount_order_set) */
    bool refcount_order_set;
    bool private_mode; /* mode 0600 (an overlay that will hold a guest's writes), not 0644 */
};

/* Creates a new qcow2 image: a new file or nothing (-EEXIST when path exists, a symbolic link
 * or FIFO planted there included: it is neither followed nor opened). Logs what went wrong. */
int disk_qcow2_create(const char *path, const struct disk_qcow2_create_opts *o);

struct disk_qcow2_info {
    uint32_t version;
    uint64_t cluster_size;
    uint32_t refcount_bits;
    const char *compression;  /* "zlib" or "zstd" */
    const char *backing_name; /* NULL without a backing file */
    const char *backing_path; /* resolved; NULL when the chain was not opened */
    const char *backing_fmt;  /* from the image ("" when not recorded) */
    struct disk *backing;     /* the opened backing disk, or NULL */
    uint32_t nb_snapshots;
    bool dirty, corrupt;
};

bool disk_is_qcow2(const struct disk *d);
/* Fills info for an open qcow2 disk; the strings live as long as the disk. */
void disk_qcow2_info(struct disk *d, struct disk_qcow2_info *info);

/* Opens a qcow2 image without its backing chain (for check, info and fuzzing). */
int disk_qcow2_open_nobacking(struct disk **out, const char *path, bool readonly);

struct disk_qcow2_check {
    uint64_t corruptions; /* referenced clusters with too small a refcount, bad pointers */
    uint64_t leaks;       /* clusters with a larger refcount than references */
    uint64_t leaks_fixed;
    uint64_t image_end; /* bytes of the file in use */
};

/* Checks refcounts against every reference (header, L1, L2 tables, data and compressed
 * clusters, refcount table and blocks) and every table pointer against the file and the
 * metadata. Each problem is printed on report; with repair, leaks are fixed. Returns 0 when
 * the check ran (see res), or -errno when the image could not be opened or read. */
int disk_qcow2_check(const char *path, bool repair, FILE *report, struct disk_qcow2_check *res);

#endif
