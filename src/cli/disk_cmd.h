/* `vessel disk`: create, inspect, check, convert, resize, commit, rebase, map, snapshot and
 * compare disk images (src/cli/disk_*.c; docs/storage.md). */
#ifndef VESSEL_CLI_DISK_CMD_H
#define VESSEL_CLI_DISK_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/disk/disk.h"

/* argv[0] is "disk". Returns the process exit status. */
int cli_disk(int argc, char **argv);

/* The subcommands: argv[0] is the subcommand's name; each returns the exit status. */
int disk_cmd_create(int argc, char **argv);   /* disk_cmd.c */
int disk_cmd_info(int argc, char **argv);     /* disk_info.c */
int disk_cmd_check(int argc, char **argv);    /* disk_info.c */
int disk_cmd_convert(int argc, char **argv);  /* disk_convert.c */
int disk_cmd_resize(int argc, char **argv);   /* disk_image.c */
int disk_cmd_commit(int argc, char **argv);   /* disk_image.c */
int disk_cmd_rebase(int argc, char **argv);   /* disk_rebase.c */
int disk_cmd_map(int argc, char **argv);      /* disk_map.c */
int disk_cmd_compare(int argc, char **argv);  /* disk_map.c */
int disk_cmd_snapshot(int argc, char **argv); /* disk_snapshot.c */
/* Test helpers (disk_io.c): `vessel disk io` and `vessel disk bench`. */
int disk_cmd_io(int argc, char **argv);
int disk_cmd_bench(int argc, char **argv);

/* Shared by the subcommands (disk_util.c). */
#define DISK_EXIT_OK    0
#define DISK_EXIT_ERROR 1

/* Prints "vessel: disk CMD: MESSAGE (see vessel disk CMD --help)" and returns 1. */
int disk_usage_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "raw", "qcow2" or NULL (probe) -> the format; prints the error and returns -EINVAL. */
int disk_cli_format(const char *cmd, const char *opt, const char *name, enum disk_format *fmt);
/* A size argument (args_parse_size's rule); prints the error and returns -EINVAL. */
int disk_cli_size(const char *cmd, const char *what, const char *s, uint64_t *bytes);

/* `-p`: "    (12.34/100%)\r" on stdout, at most every 0.01%; the last call ends the line. */
struct disk_progress {
    bool on;
    uint64_t total;
    int last; /* hundredths of a percent last printed, -1 before the first */
};
void disk_progress_start(struct disk_progress *p, bool on, uint64_t total);
void disk_progress_set(struct disk_progress *p, uint64_t done);
void disk_progress_end(struct disk_progress *p);

/* Reads/writes exactly len bytes at off (one iovec). */
int disk_pread(struct disk *d, void *buf, uint64_t len, uint64_t off);
int disk_pwrite(struct disk *d, const void *buf, uint64_t len, uint64_t off);
bool disk_buf_is_zero(const void *buf, uint64_t len);
/* Compression in the background for convert -c (disk_zpool.c): one thread per CPU. start
 * compresses the n clusters of cs bytes at in (not those with skip[i]) into out + i * cs with
 * their lengths in len[i] (0: keep it uncompressed); wait returns when the batch is done. */
struct disk_zpool;
struct disk_zpool *disk_zpool_new(void); /* NULL: out of memory or threads */
void disk_zpool_start(struct disk_zpool *z, const uint8_t *in, uint8_t *out, size_t cs, size_t *len,
                      const bool *skip, unsigned n);
void disk_zpool_wait(struct disk_zpool *z);
void disk_zpool_free(struct disk_zpool *z); /* NULL is fine */

/* The snapshot list of an open qcow2 disk, as `qemu-img snapshot -l` prints it. */
void disk_print_snapshots(struct disk *d);

#endif
