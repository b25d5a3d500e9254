/* Disk images behind one small interface: raw and qcow2. Calls are synchronous and
 * thread-safe (a format that keeps metadata serializes internally); devices run them on I/O
 * worker threads so that a slow disk never stalls a vCPU. Every call returns 0 or -errno. */
#ifndef VESSEL_BACKEND_DISK_DISK_H
#define VESSEL_BACKEND_DISK_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backend/disk/disk_lock.h"

struct disk;

/* One layer's view of a range (disk_ops.extent). Neither DATA nor ZERO: not allocated in this
 * layer - reads come from the backing file, or are zeroes without one. */
#define DISK_EXT_DATA       1u /* data stored in this layer */
#define DISK_EXT_ZERO       2u /* reads as zeroes (a hole, a zero cluster) */
#define DISK_EXT_OFFSET     4u /* host: where the range starts in this layer's file */
#define DISK_EXT_COMPRESSED 8u /* data in compressed clusters */
struct disk_extent {
    uint64_t len;
    unsigned flags;
    uint64_t host;
};

struct disk_ops {
    const char *name; /* "raw", "qcow2" */
    /* Read/write exactly the bytes described by iov at byte offset off (off and the total
     * length are multiples of 512; callers check the range against disk->size). */
    int (*readv)(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
    int (*writev)(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
    /* Durable once it returns: data and the metadata that points at it. */
    int (*flush)(struct disk *d);
    /* Deallocate (discard) or zero a range; the range reads as zeroes afterwards unless the
     * format says discarded data is undefined (raw and qcow2 both read zeroes). */
    int (*discard)(struct disk *d, uint64_t off, uint64_t len);
    int (*write_zeroes)(struct disk *d, uint64_t off, uint64_t len);
    void (*close)(struct disk *d);
    /* What [off, off+len) is in this layer, from off on: e->len (> 0, <= len) bytes alike. */
    int (*extent)(struct disk *d, uint64_t off, uint64_t len, struct disk_extent *e);
    /* New virtual size (a multiple of 512); shrinking drops the data past the end. */
    int (*resize)(struct disk *d, uint64_t size);
};

struct disk {
    const struct disk_ops *ops;
    uint64_t size; /* virtual size in bytes */
    bool readonly;
    char *path;
    void *priv;           /* the format's own state */
    int lock_fd;          /* the image file's fd (the format owns it) */
    enum disk_lock lock;  /* what this open holds (disk_lock.h) */
    struct disk *backing; /* the backing file (owned by the format), or NULL */
};

/* What reads of [off, off+len) return, through the backing chain (`vessel disk map`,
 * convert, compare): st->len (> 0) bytes from off on come from st->layer, depth st->depth
 * (0 = d itself); st->flags are that layer's DISK_EXT_*; present is false where no layer has
 * the range allocated (it reads as zeroes). Returns 0 or -errno. */
struct disk_status {
    uint64_t len;
    unsigned flags;
    bool present;
    int depth;
    struct disk *layer;
    uint64_t host;
};
int disk_block_status(struct disk *d, uint64_t off, uint64_t len, struct disk_status *st);

enum disk_format { DISK_FORMAT_PROBE = 0, DISK_FORMAT_RAW, DISK_FORMAT_QCOW2 };

/* Opens path; with DISK_FORMAT_PROBE the format comes from the file's header. The image is
 * locked (disk_lock.h) for reading or writing, its backing files for reading; another user's
 * conflicting lock is -EBUSY. On failure a one-line message naming the file and the problem is
 * logged and -errno returned. */
int disk_open(struct disk **out, const char *path, enum disk_format fmt, bool readonly);
#define DISK_OPEN_READONLY 1u
#define DISK_OPEN_NOLOCK   2u /* the image itself is not locked (backing files still are) */
int disk_open_ex(struct disk **out, const char *path, enum disk_format fmt, unsigned flags);
void disk_close(struct disk *d);
/* Opens *d's file again (same path, format and read-only flag), locked as disk_open() locks,
 * and closes the old handle: the image's metadata is read afresh, e.g. after another process
 * wrote it (a migration source on shared storage), and a disk opened with DISK_OPEN_NOLOCK
 * takes its lock now. On failure *d stays as it was. Returns 0 or -errno (logged). */
int disk_reopen(struct disk **d);
/* Changes what the image's lock holds (a writable disk frozen by a snapshot becomes a reader;
 * a migration source lets the destination take it). 0, or -EBUSY / -errno (logged) with the
 * lock as it was. */
int disk_set_lock(struct disk *d, enum disk_lock mode);
int disk_format_parse(const char *name, enum disk_format *fmt);

/* Formats implement these; only disk.c calls them. */
/* Opens an image file without blocking (a FIFO would block open() forever) and refuses what
 * is not a regular file or a block device. who prefixes path in the message. fd or -errno. */
int disk_open_fd(const char *path, bool readonly, const char *who);
int disk_raw_open(struct disk *d, int fd);
/* Opens path and hands the fd to open_fd(d, fd, arg), which sets up the format (on failure it
 * closes fd and logs why); disk_open() is this with the probing opener. */
int disk_open_with(struct disk **out, const char *path, bool readonly,
                   int (*open_fd)(struct disk *d, int fd, void *arg), void *arg);
int disk_qcow2_open(struct disk *d, int fd);

#endif
