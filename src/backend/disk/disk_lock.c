/* QEMU-compatible image locks (see disk_lock.h). */
#include "backend/disk/disk_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>

#include "base/log.h"

#define PERM_BASE   100 /* QEMU's RAW_LOCK_PERM_BASE */
#define SHARED_BASE 200 /* QEMU's RAW_LOCK_SHARED_BASE */
#define NPERMS      4

#define PERM_CONSISTENT_READ (1u << 0)
#define PERM_WRITE           (1u << 1)
#define PERM_RESIZE          (1u << 3)

static const char *const perm_names[NPERMS] = {"consistent read", "write", "write unchanged",
                                               "resize"};
static atomic_bool enabled = true;
static atomic_bool warned;

void disk_lock_set_enabled(bool on)
{
    atomic_store(&enabled, on);
}

static unsigned held(enum disk_lock m)
{
    return m == DISK_LOCK_WRITE  ? PERM_CONSISTENT_READ | PERM_WRITE | PERM_RESIZE
           : m == DISK_LOCK_READ ? PERM_CONSISTENT_READ
                                 : 0;
}

/* Writers and readers alike let nobody else write or resize the image under them. */
static unsigned denied(enum disk_lock m)
{
    return m == DISK_LOCK_NONE ? 0 : PERM_WRITE | PERM_RESIZE;
}

static int set_byte(int fd, int off, short type)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};

    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* 1 when another open file description holds a lock on byte off, 0 when none, or -errno. */
static int taken(int fd, int off)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};

    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return -errno;
    return fl.l_type != F_UNLCK;
}

/* Sets every byte for mode; the first error (-EAGAIN: another user holds it exclusively). */
static int apply(int fd, enum disk_lock m, int *byte)
{
    unsigned h = held(m), d = denied(m);
    int err;

    for (int i = 0; i < NPERMS; i++) {
        *byte = PERM_BASE + i;
        if ((err = set_byte(fd, *byte, h & (1u << i) ? F_RDLCK : F_UNLCK)))
            return err;
        *byte = SHARED_BASE + i;
        if ((err = set_byte(fd, *byte, d & (1u << i) ? F_RDLCK : F_UNLCK)))
            return err;
    }
    return 0;
}

/* The first byte another user holds that conflicts with mode, or 0 (or -errno). */
static int conflict(int fd, enum disk_lock m)
{
    unsigned h = held(m), d = denied(m);
    int t;

    for (int i = 0; i < NPERMS; i++) {
        if ((h & (1u << i)) && (t = taken(fd, SHARED_BASE + i)))
            return t < 0 ? t : SHARED_BASE + i;
        if ((d & (1u << i)) && (t = taken(fd, PERM_BASE + i)))
            return t < 0 ? t : PERM_BASE + i;
    }
    return 0;
}

static void report(const char *path, int byte)
{
    const char *perm = perm_names[byte % 100 < NPERMS ? byte % 100 : 0];

    if (byte < SHARED_BASE)
        log_err("disk: %s: locked by another user: it holds the \"%s\" lock (byte %d of QEMU's "
                "lock scheme) - another VM, `vessel disk` or qemu-img is using this image",
                path, perm, byte);
    else
        log_err("disk: %s: locked by another user: it does not share the \"%s\" lock (byte %d "
                "of QEMU's lock scheme) - another VM, `vessel disk` or qemu-img has this image "
                "open and lets nobody else write it",
                path, perm, byte);
}

int disk_lock_fd(int fd, const char *path, enum disk_lock prev, enum disk_lock mode)
{
    int byte = 0, err;

    if (!atomic_load(&enabled))
        return 0;
    err = apply(fd, mode, &byte);
    if (err == -EINVAL || err == -ENOLCK || err == -EOPNOTSUPP) {
        if (!atomic_exchange(&warned, true))
            log_warn("disk: %s: the file system has no OFD locks (%s): images are used without "
                     "locks",
                     path, strerror(-err));
        return 0;
    }
    if (!err)
        err = conflict(fd, mode);
    else if (err == -EAGAIN || err == -EACCES)
        err = byte; /* another user holds that byte exclusively */
    if (err > 0) {
        report(path, err);
        apply(fd, prev, &byte);
        return -EBUSY;
    }
    if (err) {
        log_err("disk: %s: locking: %s", path, strerror(-err));
        apply(fd, prev, &byte);
    }
    return err;
}
