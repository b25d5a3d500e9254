/* Opening a disk image: the format is probed from the header unless the user forced it. */
#include "backend/disk/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

static int open_locked(struct disk **out, const char *path, unsigned flags,
                       int (*open_fd)(struct disk *d, int fd, void *arg), void *arg)
{
    bool readonly = flags & DISK_OPEN_READONLY;
    enum disk_lock mode = readonly ? DISK_LOCK_READ : DISK_LOCK_WRITE;
    struct disk *d;
    int fd, err;

    fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        log_err("disk: %s: %s", path, strerror(errno));
        return err;
    }
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
