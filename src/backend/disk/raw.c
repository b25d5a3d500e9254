/* Raw disk images: the file is the disk. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/disk/disk.h"
#include "base/log.h"

struct raw {
    int fd;
};

static int raw_fd(struct disk *d)
{
    return ((struct raw *)d->priv)->fd;
}

/* preadv/pwritev until done: a short transfer continues where it stopped. */
static int raw_rw(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt, bool write)
{
    struct iovec local[64], *base = local, *v;
    int n = iovcnt, err = 0;

    if (iovcnt > 64) {
        base = malloc(sizeof(*base) * (size_t)iovcnt);
        if (!base)
            return -ENOMEM;
    }
    memcpy(base, iov, sizeof(*base) * (size_t)iovcnt);
    v = base;
    while (n > 0) {
        ssize_t r =
            write ? pwritev(raw_fd(d), v, n, (off_t)off) : preadv(raw_fd(d), v, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = -errno;
            break;
        }
        if (r == 0) {
            /* past the end of a file shorter than the disk: reads see zeroes */
            if (write) {
                err = -EIO;
                break;
            }
            for (int i = 0; i < n; i++)
                memset(v[i].iov_base, 0, v[i].iov_len);
            break;
        }
        off += (uint64_t)r;
        while (n > 0 && (size_t)r >= v->iov_len) {
            r -= (ssize_t)v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (char *)v->iov_base + r;
            v->iov_len -= (size_t)r;
        }
    }
    if (base != local)
        free(base);
    return err;
}

static int raw_readv(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
    return raw_rw(d, off, iov, iovcnt, false);
}

static int raw_writev(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
    return raw_rw(d, off, iov, iovcnt, true);
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
