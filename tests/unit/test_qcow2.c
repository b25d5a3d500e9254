/* qcow2 backend: round trips, copy-on-write, zeroes and discard, backing chains, refcount
 * widths, refcount-table growth and refusal of bad images. Images live in a temporary
 * directory; interoperability with qemu-img is tests/integration/test_qcow2.py's job. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/disk/disk.h"
#include "backend/disk/qcow2.h"
#include "backend/disk/qcow2_int.h"
#include "base/log.h"
#include "harness.h"

static char dir[64];

static const char *tpath(const char *name)
{
    static char buf[4][128];
    static int n;
    char *p = buf[n++ % 4];

    if (!dir[0]) {
        strcpy(dir, "/tmp/vessel-qcow2-unit-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    snprintf(p, 128, "%s/%s", dir, name);
    return p;
}

static void fill(uint8_t *b, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ seed);
}

static int rw(struct disk *d, bool write, uint64_t off, void *buf, size_t len)
{
    struct iovec v = {.iov_base = buf, .iov_len = len};

    return write ? d->ops->writev(d, off, &v, 1) : d->ops->readv(d, off, &v, 1);
}

static bool check_clean(const char *path)
{
    struct disk_qcow2_check res;
    FILE *devnull = fopen("/dev/null", "w");
    int err = disk_qcow2_check(path, false, devnull, &res);

    fclose(devnull);
    return err == 0 && res.corruptions == 0 && res.leaks == 0;
}

static struct disk *create_open(const char *name, uint64_t size, unsigned cb, int order)
{
    struct disk_qcow2_create_opts o = {.size = size, .cluster_bits = cb};
    struct disk *d = NULL;

    if (order >= 0) {
        o.refcount_order = (unsigned)order;
        o.refcount_order_set = true;
    }
    unlink(tpath(name));
    if (disk_qcow2_create(tpath(name), &o) || disk_open(&d, tpath(name), DISK_FORMAT_PROBE, false))
        return NULL;
    return d;
}

TEST(qcow2_roundtrip_and_reopen)
{
    static uint8_t w[200000], r[200000];
    struct disk *d = create_open("rt.qcow2", 8 << 20, 0, -1);

    CHECK(d != NULL);
    if (!d)
        return;
    CHECK(!strcmp(d->ops->name, "qcow2"));
    CHECK_EQ(d->size, 8 << 20);
    /* unallocated reads zero */
    CHECK_EQ(rw(d, false, 0, r, 4096), 0);
    CHECK_EQ(r[0] | r[4095], 0);
    fill(w, sizeof(w) / 512 * 512, 1);
    CHECK_EQ(rw(d, true, 65536 - 1024, w, 199680), 0); /* spans four clusters, partial ends */
    CHECK_EQ(rw(d, false, 65536 - 1024, r, 199680), 0);
    CHECK(!memcmp(w, r, 199680));
    /* bytes around the write stay zero (no copy-on-write garbage) */
    CHECK_EQ(rw(d, false, 65536 - 1536, r, 512), 0);
    CHECK_EQ(r[0] | r[511], 0);
    CHECK_EQ(d->ops->flush(d), 0);
    disk_close(d);
    CHECK(check_clean(tpath("rt.qcow2")));
    CHECK_EQ(disk_open(&d, tpath("rt.qcow2"), DISK_FORMAT_PROBE, true), 0);
    memset(r, 0, sizeof(r));
    CHECK_EQ(rw(d, false, 65536 - 1024, r, 199680), 0);
    CHECK(!memcmp(w, r, 199680));
    CHECK_EQ(rw(d, true, 0, w, 512), -EROFS);
    CHECK_EQ(rw(d, false, 8 << 20, r, 512), -EINVAL); /* past the end */
    disk_close(d);
}

TEST(qcow2_scatter_gather)
{
    static uint8_t w[3 * 65536], r[3 * 65536];
    struct disk *d = create_open("sg.qcow2", 1 << 20, 0, -1);
    struct iovec v[5];
    size_t cuts[] = {512, 65536 + 512, 1024, 65536, 3 * 65536 - 512 - 65536 - 512 - 1024 - 65536};
    size_t at = 0;

    CHECK(d != NULL);
    if (!d)
        return;
    fill(w, sizeof(w), 2);
    for (int i = 0; i < 5; i++) {
        v[i] = (struct iovec){.iov_base = w + at, .iov_len = cuts[i]};
        at += cuts[i];
    }
    CHECK_EQ(at, sizeof(w));
    CHECK_EQ(d->ops->writev(d, 4096, v, 5), 0);
    for (int i = 0; i < 5; i++)
        v[i].iov_base = r + ((uint8_t *)v[i].iov_base - w);
    CHECK_EQ(d->ops->readv(d, 4096, v, 5), 0);
    CHECK(!memcmp(w, r, sizeof(w)));
    disk_close(d);
    CHECK(check_clean(tpath("sg.qcow2")));
}

TEST(qcow2_zero_and_discard_free_clusters)
{
    static uint8_t w[4 * 65536], r[4 * 65536];
    struct disk *d = create_open("zd.qcow2", 4 << 20, 0, -1);
    struct disk_qcow2_check res;
    FILE *devnull = fopen("/dev/null", "w");

    CHECK(d != NULL);
    if (!d)
        return;
    fill(w, sizeof(w), 3);
    CHECK_EQ(rw(d, true, 0, w, sizeof(w)), 0);
    CHECK_EQ(d->ops->discard(d, 65536, 2 * 65536), 0);           /* two whole clusters */
    CHECK_EQ(d->ops->write_zeroes(d, 3 * 65536 + 512, 1024), 0); /* part of one */
    CHECK_EQ(rw(d, false, 0, r, sizeof(r)), 0);
    memset(w + 65536, 0, 2 * 65536);
    memset(w + 3 * 65536 + 512, 0, 1024);
    CHECK(!memcmp(w, r, sizeof(w)));
    disk_close(d);
    CHECK_EQ(disk_qcow2_check(tpath("zd.qcow2"), false, devnull, &res), 0);
    CHECK_EQ(res.corruptions, 0);
    CHECK_EQ(res.leaks, 0);
    /* header, refcount table and block, L1, one L2 and two remaining data clusters */
    CHECK_EQ(res.image_end, 9 * 65536);
    fclose(devnull);
}

TEST(qcow2_refcount_widths_and_table_growth)
{
    static uint8_t w[4096], r[4096];

    for (int order = 0; order <= 6; order++) {
        /* 512-byte clusters: a refcount block covers few clusters, the table must grow */
        struct disk *d = create_open("rc.qcow2", 16 << 20, 9, order);
        CHECK(d != NULL);
        if (!d)
            continue;
        for (unsigned i = 0; i < 600; i++) {
            fill(w, sizeof(w), i);
            CHECK_EQ(rw(d, true, (uint64_t)i * 24576 % (16 << 20), w, sizeof(w)), 0);
        }
        CHECK_EQ(d->ops->flush(d), 0);
        fill(w, sizeof(w), 599);
        CHECK_EQ(rw(d, false, (uint64_t)599 * 24576 % (16 << 20), r, sizeof(r)), 0);
        CHECK(!memcmp(w, r, sizeof(r)));
        disk_close(d);
        if (!check_clean(tpath("rc.qcow2")))
            test_fail(__FILE__, __LINE__, "refcount order %d: check not clean", order);
    }
}

TEST(qcow2_backing_chain_cow)
{
    static uint8_t base[2 * 65536], r[2 * 65536], w[4096];
    struct disk_qcow2_create_opts o = {.backing = "base.raw"};
    struct disk *d;
    int fd;

    fill(base, sizeof(base), 9);
    unlink(tpath("base.raw"));
    unlink(tpath("over.qcow2"));
    fd = open(tpath("base.raw"), O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && write(fd, base, sizeof(base)) == (ssize_t)sizeof(base));
    close(fd);
    CHECK_EQ(disk_qcow2_create(tpath("over.qcow2"), &o), 0);
    CHECK_EQ(disk_open(&d, tpath("over.qcow2"), DISK_FORMAT_PROBE, false), 0);
    if (!d)
        return;
    CHECK_EQ(d->size, sizeof(base)); /* size from the backing */
    fill(w, sizeof(w), 10);
    CHECK_EQ(rw(d, true, 1024, w, sizeof(w)), 0);
    CHECK_EQ(d->ops->discard(d, 65536, 65536), 0);
    CHECK_EQ(rw(d, false, 0, r, sizeof(r)), 0);
    CHECK(!memcmp(r, base, 1024));
    CHECK(!memcmp(r + 1024, w, sizeof(w)));
    CHECK(!memcmp(r + 1024 + 4096, base + 1024 + 4096, 65536 - 1024 - 4096));
    CHECK_EQ(r[65536] | r[2 * 65536 - 1], 0); /* discarded over a backing: zero flag */
    disk_close(d);
    CHECK(check_clean(tpath("over.qcow2")));
    fd = open(tpath("base.raw"), O_RDONLY);
    CHECK(fd >= 0 && read(fd, r, sizeof(r)) == (ssize_t)sizeof(r));
    close(fd);
    CHECK(!memcmp(r, base, sizeof(base))); /* the base is untouched */
}

TEST(qcow2_backing_loop_and_missing)
{
    struct disk_qcow2_create_opts o = {.size = 1 << 20};
    struct disk *d = NULL;
    int fd;

    unlink(tpath("la.qcow2"));
    unlink(tpath("lb.qcow2"));
    CHECK_EQ(disk_qcow2_create(tpath("lb.qcow2"), &o), 0);
    o.backing = "lb.qcow2";
    CHECK_EQ(disk_qcow2_create(tpath("la.qcow2"), &o), 0);
    /* now make lb name la as its backing file: la -> lb -> la */
    fd = open(tpath("lb.qcow2"), O_RDWR);
    if (fd >= 0) {
        /* header: backing_file_offset at 8, size at 16; put the name after the end extension */
        uint8_t off[8] = {0, 0, 0, 0, 0, 0, 0, 120}, len[4] = {0, 0, 0, 8};
        CHECK_EQ(pwrite(fd, "la.qcow2", 8, 120), 8);
        CHECK_EQ(pwrite(fd, off, 8, 8), 8);
        CHECK_EQ(pwrite(fd, len, 4, 16), 4);
        close(fd);
    }
    CHECK_EQ(disk_open(&d, tpath("la.qcow2"), DISK_FORMAT_PROBE, true), -ELOOP);
    unlink(tpath("lb.qcow2"));
    CHECK_EQ(disk_open(&d, tpath("la.qcow2"), DISK_FORMAT_PROBE, true), -ENOENT);
}

TEST(qcow2_bad_headers_refused)
{
    struct disk *d = NULL;
    uint8_t be8[8] = {0, 0, 0, 0, 0, 0, 0x04, 0}; /* incompatible bit 10 */
    int fd;

    d = create_open("bad.qcow2", 1 << 20, 0, -1);
    CHECK(d != NULL);
    disk_close(d);
    fd = open(tpath("bad.qcow2"), O_RDWR);
    CHECK_EQ(pwrite(fd, be8, 8, 72), 8);
    close(fd);
    CHECK_EQ(disk_open(&d, tpath("bad.qcow2"), DISK_FORMAT_PROBE, true), -ENOTSUP);
    fd = open(tpath("bad.qcow2"), O_RDWR);
    CHECK_EQ(ftruncate(fd, 40), 0);
    close(fd);
    CHECK_EQ(disk_open(&d, tpath("bad.qcow2"), DISK_FORMAT_QCOW2, true), -EINVAL);
}

TEST(qcow2_resolve_backing_like_qemu)
{
    char *p = qcow2_resolve_backing("/a/b/top.qcow2", "base.qcow2");

    CHECK(p && !strcmp(p, "/a/b/base.qcow2"));
    free(p);
    p = qcow2_resolve_backing("rel/top.qcow2", "../base.raw");
    CHECK(p && !strcmp(p, "rel/../base.raw"));
    free(p);
    p = qcow2_resolve_backing("top.qcow2", "base.qcow2");
    CHECK(p && !strcmp(p, "base.qcow2"));
    free(p);
    p = qcow2_resolve_backing("/x/top.qcow2", "/abs/base");
    CHECK(p && !strcmp(p, "/abs/base"));
    free(p);
}
