/* qcow2: backing files. A backing file name is resolved against the directory of the image
 * that names it (as QEMU does), opened read-only, probed unless the image names its format,
 * and checked against the chain opened so far so that a loop is refused, not followed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/disk/qcow2_int.h"
#include "base/log.h"

char *qcow2_resolve_backing(const char *image, const char *name)
{
    const char *slash = strrchr(image, '/');
    char *out;

    if (name[0] == '/' || !slash)
        return strdup(name);
    if (asprintf(&out, "%.*s/%s", (int)(slash - image), image, name) < 0)
        return NULL;
    return out;
}

char *disk_qcow2_resolve_backing(const char *path, const char *name)
{
    return qcow2_resolve_backing(path, name);
}

int qcow2_open_backing(struct qcow2 *q, const struct qcow2_chain *chain)
{
    enum disk_format fmt = DISK_FORMAT_PROBE;
    struct disk *b;
    struct stat st;
    char magic[4], *who;
    int fd, err;

    q->backing_path = qcow2_resolve_backing(q->path, q->backing_name);
    if (!q->backing_path)
        return -ENOMEM;
    if (q->backing_fmt[0] && disk_format_parse(q->backing_fmt, &fmt)) {
        log_err("disk: %s: backing file format '%s' is not supported (raw and qcow2 are)", q->path,
                q->backing_fmt);
        return -ENOTSUP;
    }
    if (chain->depth + 1 >= QCOW2_MAX_CHAIN) {
        log_err("disk: %s: backing chain deeper than %d images", q->path, QCOW2_MAX_CHAIN);
        return -ELOOP;
    }
    if (asprintf(&who, "%s: backing file ", q->path) < 0)
        return -ENOMEM;
    fd = disk_open_fd(q->backing_path, true, who);
    free(who);
    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    if ((err = disk_lock_fd(fd, q->backing_path, DISK_LOCK_NONE, DISK_LOCK_READ))) {
        close(fd);
        return err;
    }
    for (const struct qcow2_chain *c = chain; c; c = c->next) {
        if (c->dev == (uint64_t)st.st_dev && c->ino == (uint64_t)st.st_ino) {
            log_err("disk: %s: backing file loop: %s is already in the chain", q->path,
                    q->backing_path);
            close(fd);
            return -ELOOP;
        }
    }
    if (fmt == DISK_FORMAT_PROBE) {
        fmt = DISK_FORMAT_RAW;
        if (pread(fd, magic, 4, 0) == 4 && !memcmp(magic, "QFI\xfb", 4))
            fmt = DISK_FORMAT_QCOW2;
    }
    b = calloc(1, sizeof(*b));
    if (!b || !(b->path = strdup(q->backing_path))) {
        free(b);
        close(fd);
        return -ENOMEM;
    }
    b->readonly = true;
    b->lock_fd = fd;
    b->lock = DISK_LOCK_READ;
    if (fmt == DISK_FORMAT_QCOW2)
        err = qcow2_open_fd(b, fd, 0, chain);
    else
        err = disk_raw_open(b, fd);
    if (err) {
        log_err("disk: %s: cannot open its backing file %s", q->path, q->backing_path);
        free(b->path);
        free(b);
        return err;
    }
    q->backing = b;
    return 0;
}
