/* backend/disk/disk_lock.c: QEMU's lock scheme between open file descriptions of one image. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend/disk/disk.h"
#include "backend/disk/disk_lock.h"
#include "backend/disk/qcow2.h"
#include "harness.h"

static int open_tmp(char *path)
{
    int fd = mkstemp(path);

    if (fd >= 0 && ftruncate(fd, 1 << 20))
        return -1;
    return fd;
}

static int reopen(const char *path)
{
    return open(path, O_RDWR | O_CLOEXEC);
}

/* Which bytes fd holds, as a bit mask: bit i for byte 100+i, bit 4+i for byte 200+i (seen
 * from another open file description). */
static unsigned held_bytes(const char *path)
{
    int fd = reopen(path);
    unsigned m = 0;

    for (int i = 0; i < 4; i++) {
        for (int base = 0; base < 2; base++) {
            struct flock fl = {.l_type = F_WRLCK,
                               .l_whence = SEEK_SET,
                               .l_start = (base ? 200 : 100) + i,
                               .l_len = 1};
            if (!fcntl(fd, F_OFD_GETLK, &fl) && fl.l_type != F_UNLCK)
                m |= 1u << (base * 4 + i);
        }
    }
    close(fd);
    return m;
}

TEST(disk_lock_writer_excludes_writers_and_readers)
{
    char path[] = "/tmp/vessel-lock-XXXXXX";
    int a = open_tmp(path), b = reopen(path), c = reopen(path);

    CHECK(a >= 0 && b >= 0 && c >= 0);
    CHECK_EQ(disk_lock_fd(a, path, DISK_LOCK_NONE, DISK_LOCK_WRITE), 0);
    /* QEMU's bytes: holds consistent read, write, resize; shares neither write nor resize */
    CHECK_EQ(held_bytes(path), (1u << 0) | (1u << 1) | (1u << 3) | (1u << 5) | (1u << 7));
    CHECK_EQ(disk_lock_fd(b, path, DISK_LOCK_NONE, DISK_LOCK_WRITE), -EBUSY);
    CHECK_EQ(disk_lock_fd(b, path, DISK_LOCK_NONE, DISK_LOCK_READ), -EBUSY);
    /* a refused user is left holding nothing */
    CHECK_EQ(disk_lock_fd(a, path, DISK_LOCK_WRITE, DISK_LOCK_NONE), 0);
    CHECK_EQ(held_bytes(path), 0);
    /* readers share; a writer next to them is refused, and keeps what it had */
    CHECK_EQ(disk_lock_fd(b, path, DISK_LOCK_NONE, DISK_LOCK_READ), 0);
    CHECK_EQ(disk_lock_fd(c, path, DISK_LOCK_NONE, DISK_LOCK_READ), 0);
    CHECK_EQ(disk_lock_fd(a, path, DISK_LOCK_NONE, DISK_LOCK_WRITE), -EBUSY);
    CHECK_EQ(disk_lock_fd(b, path, DISK_LOCK_READ, DISK_LOCK_WRITE), -EBUSY);
    CHECK_EQ(held_bytes(path), (1u << 0) | (1u << 5) | (1u << 7));
    close(b);
    close(c);
    /* closing releases: a writer gets in, then a frozen writer becomes a reader */
    CHECK_EQ(disk_lock_fd(a, path, DISK_LOCK_NONE, DISK_LOCK_WRITE), 0);
    b = reopen(path);
    CHECK_EQ(disk_lock_fd(a, path, DISK_LOCK_WRITE, DISK_LOCK_READ), 0);
    CHECK_EQ(disk_lock_fd(b, path, DISK_LOCK_NONE, DISK_LOCK_READ), 0);
    close(a);
    close(b);
    unlink(path);
}

TEST(disk_lock_off_with_force_share)
{
    char path[] = "/tmp/vessel-lock-XXXXXX";
    int a = open_tmp(path), b = reopen(path);

    CHECK_EQ(disk_lock_fd(a, path, DISK_LOCK_NONE, DISK_LOCK_WRITE), 0);
    disk_lock_set_enabled(false);
    CHECK_EQ(disk_lock_fd(b, path, DISK_LOCK_NONE, DISK_LOCK_READ), 0); /* -U: nothing taken */
    disk_lock_set_enabled(true);
    CHECK_EQ(disk_lock_fd(b, path, DISK_LOCK_NONE, DISK_LOCK_READ), -EBUSY);
    close(a);
    close(b);
    unlink(path);
}

TEST(disk_open_refuses_a_second_writer)
{
    char path[] = "/tmp/vessel-lock-XXXXXX";
    int fd = open_tmp(path);
    struct disk *a = NULL, *b = NULL, *c = NULL;

    close(fd);
    CHECK_EQ(disk_open(&a, path, DISK_FORMAT_RAW, false), 0);
    CHECK_EQ(disk_open(&b, path, DISK_FORMAT_RAW, false), -EBUSY);
    CHECK_EQ(disk_open(&b, path, DISK_FORMAT_RAW, true), -EBUSY);
    /* an incoming migration opens without the lock and takes it when it reopens */
    CHECK_EQ(disk_open_ex(&c, path, DISK_FORMAT_RAW, DISK_OPEN_NOLOCK), 0);
    CHECK_EQ(disk_reopen(&c), -EBUSY);
    disk_close(a);
    CHECK_EQ(disk_reopen(&c), 0);
    CHECK_EQ(c->lock, DISK_LOCK_WRITE);
    CHECK_EQ(disk_open(&b, path, DISK_FORMAT_RAW, true), -EBUSY);
    disk_close(c);
    unlink(path);
}

TEST(disk_lock_backing_files_are_read_locked)
{
    char base[] = "/tmp/vessel-lock-base-XXXXXX", over[64];
    struct disk_qcow2_create_opts o = {.backing_fmt = "raw"};
    struct disk *top = NULL, *b = NULL;
    int fd = open_tmp(base);

    close(fd);
    snprintf(over, sizeof(over), "%s.qcow2", base);
    o.backing = base;
    CHECK_EQ(disk_qcow2_create(over, &o), 0);
    CHECK_EQ(disk_open(&top, over, DISK_FORMAT_QCOW2, false), 0);
    /* the overlay's backing file is a reader: no writer gets it, other readers do */
    CHECK_EQ(disk_open(&b, base, DISK_FORMAT_RAW, false), -EBUSY);
    CHECK_EQ(disk_open(&b, base, DISK_FORMAT_RAW, true), 0);
    disk_close(b);
    disk_close(top);
    CHECK_EQ(disk_open(&b, base, DISK_FORMAT_RAW, false), 0); /* all let go */
    disk_close(b);
    unlink(over);
    unlink(base);
}
