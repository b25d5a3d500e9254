/* Raw disk images: the file is the disk. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/disk/disk.h"
#include "base/file.h"
#include "base/log.h"

struct raw {
    int fd;
};

static int raw_fd(struct disk *d)
{
    return ((struct raw *)d->priv)->fd;
}

static int raw_readv(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
    return file_prwv_full(raw_fd(d), iov, iovcnt, off, false);
}

static int raw_writev(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
    return file_prwv_full(raw_fd(d), iov, iovcnt, off, true);
}

static int raw_flush(struct disk *d)
{
    return fdatasync(raw_fd(d)) < 0 ? -errno : 0;
}

static int raw_discard(struct disk *d, uint64_t off, uint64_t len)
{
    if (fallocate(raw_fd(d), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) <
        0)
        return -errno;
    return 0;
}

static int raw_write_zeroes(struct disk *d, uint64_t off, uint64_t len)
{
    if (fallocate(raw_fd(d), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) ==
        0)
        return 0;
    return raw_discard(d, off, len); /* a punched hole reads as zeroes too */
}

static void raw_close(struct disk *d)
{
    close(raw_fd(d));
    free(d->priv);
}

/* Holes read as zeroes: SEEK_DATA / SEEK_HOLE tell them apart (all data where unsupported). */
static int raw_extent(struct disk *d, uint64_t off, uint64_t len, struct disk_extent *e)
{
    off_t data = lseek(raw_fd(d), (off_t)off, SEEK_DATA), hole;
    uint64_t n;

    *e = (struct disk_extent){.len = len, .flags = DISK_EXT_DATA | DISK_EXT_OFFSET, .host = off};
    if (data < 0 && errno == ENXIO) { /* a hole up to the end of the file */
        e->flags = DISK_EXT_ZERO | DISK_EXT_OFFSET;
        return 0;
    }
    if (data < 0)
        return 0;
    if ((uint64_t)data > off) {
        n = (uint64_t)data - off;
        e->flags = DISK_EXT_ZERO | DISK_EXT_OFFSET;
        e->len = n < len ? n : len;
        return 0;
    }
    hole = lseek(raw_fd(d), (off_t)off, SEEK_HOLE);
    if (hole > (off_t)off && (uint64_t)hole - off < len)
        e->len = (uint64_t)hole - off;
    return 0;
}

static int raw_resize(struct disk *d, uint64_t size)
{
    if (d->readonly)
        return -EROFS;
    if (ftruncate(raw_fd(d), (off_t)size) < 0) {
        int err = -errno;
        log_err("disk: %s: resizing to %llu bytes: %s", d->path, (unsigned long long)size,
                strerror(errno));
        return err;
    }
    d->size = size;
    return 0;
}

static const struct disk_ops raw_ops = {
    .name = "raw",
    .readv = raw_readv,
    .writev = raw_writev,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .close = raw_close,
    .extent = raw_extent,
    .resize = raw_resize,
};

int disk_raw_open(struct disk *d, int fd)
{
    struct raw *r;
    struct stat st;

    if (fstat(fd, &st) < 0) {
        int err = -errno;
        log_err("disk: %s: %s", d->path, strerror(errno));
        close(fd);
        return err;
    }
    if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(fd, 0, SEEK_END);
        st.st_size = end < 0 ? 0 : end;
    }
    r = malloc(sizeof(*r));
    if (!r) {
        close(fd);
        return -ENOMEM;
    }
    r->fd = fd;
    d->priv = r;
    d->ops = &raw_ops;
    d->size = (uint64_t)st.st_size & ~511ULL;
    return 0;
}
