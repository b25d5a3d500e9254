/* qcow2 metadata overlap checks (src/backend/disk/qcow2_meta.c) and the other hostile-image
 * defects of issue 13: guest data never lands on an L2 table or a refcount block, check flags
 * reserved bits, a FIFO is refused without blocking. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/disk/disk.h"
#include "backend/disk/qcow2.h"
#include "backend/disk/qcow2_int.h"
#include "harness.h"

#define CS 65536ULL

static const char *mpath(const char *name)
{
    static char dir[64], buf[4][160];
    static int n;
    char *p = buf[n++ % 4];

    if (!dir[0]) {
        strcpy(dir, "/tmp/vessel-qcow2-meta-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    snprintf(p, 160, "%s/%s", dir, name);
    return p;
}

static int io(struct disk *d, bool write, uint64_t off, void *buf, size_t len)
{
    struct iovec v = {.iov_base = buf, .iov_len = len};

    return write ? d->ops->writev(d, off, &v, 1) : d->ops->readv(d, off, &v, 1);
}

/* A 16 MiB image with guest cluster 0 written: header, refcount table (cluster 1), refcount
 * block (2), L1 (3), and the L2 table and data cluster allocated at 4 and 5. */
static struct disk *fresh(const char *name)
{
    struct disk_qcow2_create_opts o = {.size = 16 << 20};
    static uint8_t buf[CS];
    struct disk *d = NULL;

    unlink(mpath(name));
    if (disk_qcow2_create(mpath(name), &o) || disk_open(&d, mpath(name), DISK_FORMAT_QCOW2, false))
        return NULL;
    memset(buf, 0x5a, sizeof(buf));
    if (io(d, true, 0, buf, sizeof(buf)) || d->ops->flush(d)) {
        disk_close(d);
        return NULL;
    }
    return d;
}

static uint64_t be64_at(const char *path, uint64_t off)
{
    uint8_t b[8] = {0};
    int fd = open(path, O_RDONLY);

    if (fd >= 0 && pread(fd, b, 8, (off_t)off) != 8)
        memset(b, 0, 8);
    if (fd >= 0)
        close(fd);
    return qcow2_be64(b);
}

static void put_be64_at(const char *path, uint64_t off, uint64_t v)
{
    uint8_t b[8];
    int fd = open(path, O_WRONLY);

    qcow2_put_be64(b, v);
    CHECK(fd >= 0 && pwrite(fd, b, 8, (off_t)off) == 8);
    if (fd >= 0)
        close(fd);
}

TEST(qcow2_meta_kinds)
{
    struct disk *d = fresh("kinds.qcow2");
    struct qcow2 *q;
    uint64_t l2;

    CHECK(d != NULL);
    if (!d)
        return;
    q = qcow2_of(d);
    l2 = q->l1[0] & QCOW2_OFFSET_MASK;
    CHECK(l2 != 0);
    CHECK_EQ(qcow2_meta_at(q, 0), QCOW2_META_HEADER);
    CHECK_EQ(qcow2_meta_at(q, q->rt_offset), QCOW2_META_RT);
    CHECK_EQ(qcow2_meta_at(q, q->rt[0] & QCOW2_RT_OFFSET_MASK), QCOW2_META_RB);
    CHECK_EQ(qcow2_meta_at(q, q->l1_offset), QCOW2_META_L1);
    CHECK_EQ(qcow2_meta_at(q, l2), QCOW2_META_L2);
    CHECK_EQ(qcow2_meta_at(q, l2 + CS), 0); /* the data cluster */
    CHECK_EQ(qcow2_meta_at(q, 1ULL << 40), 0);
    /* a snapshot adds its table and its L1 copy */
    CHECK_EQ(disk_qcow2_snapshot_create(d, "s"), 0);
    CHECK(q->nb_snapshots == 1);
    if (q->nb_snapshots == 1) {
        CHECK_EQ(qcow2_meta_at(q, q->snap_offset), QCOW2_META_SNAP_TABLE);
        CHECK_EQ(qcow2_meta_at(q, q->snaps[0].l1_offset), QCOW2_META_SNAP_L1);
    }
    CHECK_EQ(disk_qcow2_snapshot_delete(d, "s"), 0);
    CHECK_EQ(q->n_snap_ranges, 0);
    disk_close(d);
}

TEST(qcow2_meta_set_grows_and_forgets)
{
    struct disk *d = fresh("set.qcow2");
    struct qcow2 *q;

    CHECK(d != NULL);
    if (!d)
        return;
    q = qcow2_of(d);
    for (uint64_t i = 0; i < 20000; i++)
        CHECK_EQ(qcow2_meta_add(q, (1000 + i * 3) * CS, QCOW2_META_L2), 0);
    for (uint64_t i = 0; i < 20000; i += 1000) {
        CHECK_EQ(qcow2_meta_at(q, (1000 + i * 3) * CS), QCOW2_META_L2);
        CHECK_EQ(qcow2_meta_at(q, (1001 + i * 3) * CS), 0);
    }
    for (uint64_t i = 0; i < 20000; i += 2)
        qcow2_meta_forget(q, (1000 + i * 3) * CS);
    CHECK_EQ(qcow2_meta_at(q, 1000 * CS), 0);
    CHECK_EQ(qcow2_meta_at(q, 1003 * CS), QCOW2_META_L2);
    /* adding after forgetting: tombstones are reused or dropped on growth, lookups still hold */
    for (uint64_t i = 0; i < 20000; i++)
        CHECK_EQ(qcow2_meta_add(q, (200000 + i) * CS, QCOW2_META_RB), 0);
    CHECK_EQ(qcow2_meta_at(q, 1003 * CS), QCOW2_META_L2);
    CHECK_EQ(qcow2_meta_at(q, 1000 * CS), 0);
    CHECK_EQ(qcow2_meta_at(q, 219999 * CS), QCOW2_META_RB);
    CHECK_EQ(qcow2_meta_add(q, 1003 * CS, QCOW2_META_RB), 0);
    CHECK_EQ(qcow2_meta_at(q, 1003 * CS), QCOW2_META_L2 | QCOW2_META_RB);
    disk_close(d);
}

/* Issue 13 (4): an L2 entry pointing at its own L2 table (or at a refcount block): the guest's
 * write must fail and leave the metadata as it was, not replace it. */
TEST(qcow2_meta_guest_write_on_metadata_refused)
{
    static uint8_t before[CS], after[CS], buf[CS];
    const char *p = mpath("own.qcow2");
    struct disk *d = fresh("own.qcow2");
    uint64_t l2, rb;
    int fd;

    CHECK(d != NULL);
    if (!d)
        return;
    l2 = qcow2_of(d)->l1[0] & QCOW2_OFFSET_MASK;
    rb = qcow2_of(d)->rt[0] & QCOW2_RT_OFFSET_MASK;
    disk_close(d);
    put_be64_at(p, l2 + 8, QCOW2_OFLAG_COPIED | l2);  /* guest cluster 1 -> its L2 table */
    put_be64_at(p, l2 + 16, QCOW2_OFLAG_COPIED | rb); /* guest cluster 2 -> refcount block */
    fd = open(p, O_RDONLY);
    CHECK(fd >= 0 && pread(fd, before, CS, (off_t)l2) == CS);
    CHECK_EQ(disk_open(&d, p, DISK_FORMAT_QCOW2, false), 0);
    if (!d) {
        close(fd);
        return;
    }
    memset(buf, 0xee, sizeof(buf));
    CHECK_EQ(io(d, true, CS, buf, CS), -EIO);
    CHECK_EQ(io(d, true, CS + 4096, buf, 512), -EIO);
    CHECK_EQ(io(d, true, 2 * CS, buf, 4096), -EIO);
    CHECK_EQ(io(d, false, CS, buf, 4096), -EIO);
    CHECK_EQ(d->ops->write_zeroes(d, CS + 512, 512), -EIO);
    CHECK_EQ(io(d, true, 3 * CS, buf, CS), 0); /* the rest of the disk still works */
    CHECK_EQ(d->ops->flush(d), 0);
    disk_close(d);
    CHECK(pread(fd, after, CS, (off_t)l2) == CS);
    /* only entry 3 (the legitimate write) changed */
    CHECK(!memcmp(before, after, 24));
    CHECK(!memcmp(before + 32, after + 32, CS - 32));
    CHECK(be64_at(p, l2 + 24) != 0);
    close(fd);
}

/* An L1 entry naming a refcount block (or the L1 table) as its L2 table is refused too. */
TEST(qcow2_meta_l2_pointer_on_other_metadata_refused)
{
    struct disk_qcow2_create_opts o = {.size = 1ULL << 30};
    static uint8_t buf[4096];
    const char *p = mpath("l1rb.qcow2");
    struct disk *d = NULL;
    uint64_t rb, l1off;

    unlink(p);
    CHECK_EQ(disk_qcow2_create(p, &o), 0);
    CHECK_EQ(disk_open(&d, p, DISK_FORMAT_QCOW2, false), 0);
    if (!d)
        return;
    CHECK_EQ(qcow2_of(d)->l1_size, 2);
    rb = qcow2_of(d)->rt[0] & QCOW2_RT_OFFSET_MASK;
    l1off = qcow2_of(d)->l1_offset;
    disk_close(d);
    put_be64_at(p, l1off + 8, QCOW2_OFLAG_COPIED | rb); /* guest 512 MiB.. -> refcount block */
    CHECK_EQ(disk_open(&d, p, DISK_FORMAT_QCOW2, false), 0);
    if (!d)
        return;
    CHECK_EQ(io(d, false, 512u << 20, buf, sizeof(buf)), -EIO);
    CHECK_EQ(io(d, true, 512u << 20, buf, sizeof(buf)), -EIO);
    CHECK_EQ(io(d, false, 0, buf, sizeof(buf)), 0); /* the sane half still reads */
    disk_close(d);
    put_be64_at(p, l1off + 8, QCOW2_OFLAG_COPIED | l1off); /* -> the L1 table itself */
    CHECK_EQ(disk_open(&d, p, DISK_FORMAT_QCOW2, false), 0);
    if (!d)
        return;
    CHECK_EQ(io(d, true, 512u << 20, buf, sizeof(buf)), -EIO);
    disk_close(d);
}

/* Issue 13 (5): reserved bits in L1 and L2 entries are errors for check, as for qemu-img. */
TEST(qcow2_check_reserved_bits)
{
    const char *p = mpath("rsv.qcow2");
    struct disk *d = fresh("rsv.qcow2");
    struct disk_qcow2_check res;
    FILE *devnull = fopen("/dev/null", "w");
    uint64_t l1off, l2, e;

    CHECK(d != NULL);
    if (!d || !devnull) {
        if (devnull)
            fclose(devnull);
        return;
    }
    l1off = qcow2_of(d)->l1_offset;
    l2 = qcow2_of(d)->l1[0] & QCOW2_OFFSET_MASK;
    disk_close(d);
    CHECK_EQ(disk_qcow2_check(p, false, devnull, &res), 0);
    CHECK_EQ(res.corruptions, 0);
    e = be64_at(p, l2);
    put_be64_at(p, l2, e | (1ULL << 57)); /* L2 reserved bit 57 */
    CHECK_EQ(disk_qcow2_check(p, false, devnull, &res), 0);
    CHECK_EQ(res.corruptions, 1);
    put_be64_at(p, l2, e | (1ULL << 3)); /* L2 reserved bit 3 */
    CHECK_EQ(disk_qcow2_check(p, false, devnull, &res), 0);
    CHECK_EQ(res.corruptions, 1);
    put_be64_at(p, l2, e);
    e = be64_at(p, l1off);
    put_be64_at(p, l1off, e | (1ULL << 60)); /* L1 reserved bit 60 */
    CHECK_EQ(disk_qcow2_check(p, false, devnull, &res), 0);
    CHECK_EQ(res.corruptions, 1);
    put_be64_at(p, l1off, e | 1); /* L1 reserved bit 0 */
    CHECK_EQ(disk_qcow2_check(p, false, devnull, &res), 0);
    CHECK_EQ(res.corruptions, 1);
    put_be64_at(p, l1off, e);
    CHECK_EQ(disk_qcow2_check(p, false, devnull, &res), 0);
    CHECK_EQ(res.corruptions, 0);
    fclose(devnull);
}

/* Issue 13 (5): a FIFO as image or backing file is refused at once, not waited on. */
TEST(qcow2_fifo_refused_without_blocking)
{
    struct disk_qcow2_create_opts o = {.size = 1 << 20, .backing = "pipe", .backing_fmt = "raw"};
    struct disk *d = NULL;
    int fd;

    unlink(mpath("pipe"));
    unlink(mpath("over.qcow2"));
    unlink(mpath("base.raw"));
    CHECK_EQ(mkfifo(mpath("pipe"), 0600), 0);
    alarm(20); /* a regression blocks in open(): SIGALRM ends the run as a failure */
    CHECK_EQ(disk_open(&d, mpath("pipe"), DISK_FORMAT_PROBE, true), -EINVAL);
    CHECK_EQ(disk_open(&d, mpath("pipe"), DISK_FORMAT_RAW, false), -EINVAL);
    CHECK(disk_qcow2_create(mpath("over.qcow2"), &o) != 0); /* the backing cannot be opened */
    /* an overlay created over a regular file that is then replaced by a FIFO */
    fd = open(mpath("base.raw"), O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
    if (fd >= 0)
        close(fd);
    o.backing = "base.raw";
    CHECK_EQ(disk_qcow2_create(mpath("over.qcow2"), &o), 0);
    unlink(mpath("base.raw"));
    CHECK_EQ(mkfifo(mpath("base.raw"), 0600), 0);
    CHECK_EQ(disk_open(&d, mpath("over.qcow2"), DISK_FORMAT_PROBE, true), -EINVAL);
    CHECK_EQ(disk_open(&d, mpath("over.qcow2"), DISK_FORMAT_PROBE, false), -EINVAL);
    alarm(0);
    /* a directory is no image either */
    CHECK_EQ(disk_open(&d, "/tmp", DISK_FORMAT_RAW, true), -EISDIR);
}
