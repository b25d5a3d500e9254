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

static const struct disk_ops raw_ops = {
    .name = "raw",
    .readv = raw_readv,
    .writev = raw_writev,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .close = raw_close,
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
