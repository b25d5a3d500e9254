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

/* Internal snapshots (the qcow2 snapshot table; `qemu-img snapshot` reads and writes the same).
 * Strings are NUL-terminated copies of the table's; icount is UINT64_MAX when not recorded. */
struct disk_qcow2_snapshot {
    char *id, *name;
    uint64_t l1_offset;
    uint32_t l1_size;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_ns, vm_state_size, disk_size, icount;
    uint32_t extra_len; /* extra data as found (kept when the table is rewritten) */
    uint8_t *extra;
};

/* The snapshot list of an open qcow2 disk (valid until the next snapshot call on it). */
void disk_qcow2_snapshots(struct disk *d, const struct disk_qcow2_snapshot **list, uint32_t *n);
/* The index of the snapshot whose ID is s, else whose name is s (QEMU's lookup), or -1. */
int disk_qcow2_snapshot_find(struct disk *d, const char *s);
/* Create a snapshot of the current disk content (id: the next free number), go back to one
 * (the current content is lost) or delete one. d must be open read-write. Log what failed;
 * a failure can leave leaked clusters (`vessel disk check --repair`), never a corruption. */
int disk_qcow2_snapshot_create(struct disk *d, const char *name);
int disk_qcow2_snapshot_apply(struct disk *d, const char *id_or_name);
int disk_qcow2_snapshot_delete(struct disk *d, const char *id_or_name);

/* New virtual size (a multiple of 512). Shrinking discards the clusters past the new end.
 * Refused for images with internal snapshots. */
int disk_qcow2_resize(struct disk *d, uint64_t size);
/* Points the image at another backing file (name stored as given, fmt "raw"/"qcow2" or NULL
 * to record none), or at none (name NULL). Only the header changes: the caller keeps the
 * content right (`vessel disk rebase`). The disk must be reopened to read through it. */
int disk_qcow2_set_backing(struct disk *d, const char *name, const char *fmt);
/* A backing file name as an image at path resolves it: against path's directory unless it is
 * absolute (malloc'd; NULL when out of memory). */
char *disk_qcow2_resolve_backing(const char *path, const char *name);
/* Makes every cluster unallocated (reads fall through to the backing file again) and frees the
 * space; internal snapshots keep theirs. */
int disk_qcow2_make_empty(struct disk *d);

/* Compressed clusters for `vessel disk convert -c`: disk_qcow2_compress() deflates one whole
 * cluster (zlib, as QEMU writes it) with a deflater (one per thread; NULL from _new when out
 * of memory) into out (cap bytes) and returns the compressed length, or 0 when that would
 * not be smaller than the cluster (store it uncompressed). disk_qcow2_write_compressed()
 * stores such data for the cluster at guest offset off, which must be unallocated. */
struct disk_qcow2_deflater;
struct disk_qcow2_deflater *disk_qcow2_deflater_new(void);
void disk_qcow2_deflater_free(struct disk_qcow2_deflater *z);
size_t disk_qcow2_compress(struct disk_qcow2_deflater *z, const void *in, size_t cluster_size,
                           void *out, size_t cap);
int disk_qcow2_write_compressed(struct disk *d, uint64_t off, const void *data, size_t len);
uint64_t disk_qcow2_cluster_size(struct disk *d);

#endif
