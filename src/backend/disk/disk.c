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

int disk_open_with(struct disk **out, const char *path, bool readonly,
                   int (*open_fd)(struct disk *d, int fd, void *arg), void *arg)
{
    struct disk *d;
    int fd, err;

    fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        log_err("disk: %s: %s", path, strerror(errno));
        return err;
    }
    d = calloc(1, sizeof(*d));
    if (!d || !(d->path = strdup(path))) {
        free(d);
        close(fd);
        return -ENOMEM;
    }
    d->readonly = readonly;
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

static int open_probed(struct disk *d, int fd, void *arg)
{
    enum disk_format fmt = *(enum disk_format *)arg;

    if (fmt == DISK_FORMAT_PROBE)
        fmt = probe(fd);
    return fmt == DISK_FORMAT_QCOW2 ? disk_qcow2_open(d, fd) : disk_raw_open(d, fd);
}

int disk_open(struct disk **out, const char *path, enum disk_format fmt, bool readonly)
{
    return disk_open_with(out, path, readonly, open_probed, &fmt);
}

int disk_reopen(struct disk **d)
{
    enum disk_format fmt;
    struct disk *nd;
    int err = disk_format_parse((*d)->ops->name, &fmt);

    if (!err)
        err = disk_open(&nd, (*d)->path, fmt, (*d)->readonly);
    if (err)
        return err;
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
