/* Opening a disk image: the format is probed from the header unless the user forced it. */
#include "backend/disk/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#define QCOW2_MAGIC "QFI\xfb"

int disk_format_parse(const char *name, enum disk_format *fmt)
{
    if (!strcmp(name, "raw"))
        *fmt = DISK_FORMAT_RAW;
    else if (!strcmp(name, "qcow2"))
        *fmt = DISK_FORMAT_QCOW2;
    else
        return -EINVAL;
    return 0;
}

static enum disk_format probe(int fd)
{
    char magic[4];

    if (pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
        !memcmp(magic, QCOW2_MAGIC, sizeof(magic)))
        return DISK_FORMAT_QCOW2;
    return DISK_FORMAT_RAW;
}

int disk_open_fd(const char *path, bool readonly, const char *who)
{
    struct stat st;
    int fd, flags, err;

    /* O_NONBLOCK: a FIFO would otherwise block open() until someone writes to it */
    fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        err = -errno;
        log_err("disk: %s%s: %s", who, path, strerror(errno));
        return err;
    }
    if (fstat(fd, &st) < 0) {
        err = -errno;
        log_err("disk: %s%s: %s", who, path, strerror(errno));
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        log_err("disk: %s%s: is a %s, not a regular file or block device", who, path,
                S_ISDIR(st.st_mode)    ? "directory"
                : S_ISFIFO(st.st_mode) ? "FIFO"
                : S_ISSOCK(st.st_mode) ? "socket"
                : S_ISCHR(st.st_mode)  ? "character device"
                                       : "special file");
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        err = -errno;
        log_err("disk: %s%s: fcntl: %s", who, path, strerror(errno));
        close(fd);
        return err;
    }
    return fd;
}

static int open_locked(struct disk **out, const char *path, unsigned flags,
                       int (*open_fd)(struct disk *d, int fd, void *arg), void *arg)
{
    bool readonly = flags & DISK_OPEN_READONLY;
    enum disk_lock mode = readonly ? DISK_LOCK_READ : DISK_LOCK_WRITE;
    struct disk *d;
    int fd, err;

    fd = disk_open_fd(path, readonly, "");
    if (fd < 0)
        return fd;
    /* before the format reads anything: another writer may be changing it */
    if (!(flags & DISK_OPEN_NOLOCK) && (err = disk_lock_fd(fd, path, DISK_LOCK_NONE, mode))) {
        close(fd);
        return err;
    }
    d = calloc(1, sizeof(*d));
    if (!d || !(d->path = strdup(path))) {
        free(d);
        close(fd);
        return -ENOMEM;
    }
    d->readonly = readonly;
    d->lock_fd = fd;
    d->lock = flags & DISK_OPEN_NOLOCK ? DISK_LOCK_NONE : mode;
    err = open_fd(d, fd, arg);
    if (err) {
        /* the format closed fd and logged what was wrong */
        free(d->path);
        free(d);
        return err;
    }
    *out = d;
    return 0;
}

int disk_open_with(struct disk **out, const char *path, bool readonly,
                   int (*open_fd)(struct disk *d, int fd, void *arg), void *arg)
{
    return open_locked(out, path, readonly ? DISK_OPEN_READONLY : 0, open_fd, arg);
}

static int open_probed(struct disk *d, int fd, void *arg)
{
    enum disk_format fmt = *(enum disk_format *)arg;

    if (fmt == DISK_FORMAT_PROBE)
        fmt = probe(fd);
    return fmt == DISK_FORMAT_QCOW2 ? disk_qcow2_open(d, fd) : disk_raw_open(d, fd);
}

int disk_open_ex(struct disk **out, const char *path, enum disk_format fmt, unsigned flags)
{
    return open_locked(out, path, flags, open_probed, &fmt);
}

int disk_open(struct disk **out, const char *path, enum disk_format fmt, bool readonly)
{
    return disk_open_ex(out, path, fmt, readonly ? DISK_OPEN_READONLY : 0);
}

int disk_set_lock(struct disk *d, enum disk_lock mode)
{
    int err = disk_lock_fd(d->lock_fd, d->path, d->lock, mode);

    if (!err)
        d->lock = mode;
    return err;
}

int disk_reopen(struct disk **d)
{
    enum disk_lock was = (*d)->lock;
    enum disk_format fmt;
    struct disk *nd;
    int err = disk_format_parse((*d)->ops->name, &fmt);

    if (err)
        return err;
    disk_set_lock(*d, DISK_LOCK_NONE); /* the new open is another user of the file */
    err = disk_open(&nd, (*d)->path, fmt, (*d)->readonly);
    if (err) {
        disk_set_lock(*d, was);
        return err;
    }
    disk_close(*d);
    *d = nd;
    return 0;
}

void disk_close(struct disk *d)
{
    if (!d)
        return;
    d->ops->close(d);
    free(d->path);
    free(d);
}

int disk_block_status(struct disk *d, uint64_t off, uint64_t len, struct disk_status *st)
{
    struct disk_extent e;
    int depth = 0, err;

    if (!len || off > d->size || len > d->size - off)
        return -EINVAL;
    for (;;) {
        if (d->ops->extent) {
            err = d->ops->extent(d, off, len, &e);
            if (err)
                return err;
        } else {
            e = (struct disk_extent){.len = len, .flags = DISK_EXT_DATA};
        }
        if (e.len == 0 || e.len > len)
            return -EIO;
        if ((e.flags & (DISK_EXT_DATA | DISK_EXT_ZERO)) || !d->backing || off >= d->backing->size) {
            *st = (struct disk_status){.len = e.len,
                                       .flags = e.flags,
                                       .present = !!(e.flags & (DISK_EXT_DATA | DISK_EXT_ZERO)),
                                       .depth = depth,
                                       .layer = d,
                                       .host = e.host};
            if (!st->present)
                st->flags |= DISK_EXT_ZERO;
            return 0;
        }
        /* not allocated here: the backing file decides, as far as it reaches */
        len = e.len;
        if (len > d->backing->size - off)
            len = d->backing->size - off;
        d = d->backing;
        depth++;
    }
}
