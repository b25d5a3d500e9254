/* qcow2 image tools in the backend: the snapshot table parser (hostile entries), snapshots
 * with copy-on-write of shared tables and clusters, compressed writes, resize, emptying, the
 * backing-file rewrite and block status. Interoperability with qemu-img is
 * tests/integration/test_disk_tools.py's job. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/disk/disk.h"
#include "backend/disk/qcow2.h"
#include "backend/disk/qcow2_int.h"
#include "harness.h"

#define CS 65536ULL

static const char *tpath(const char *name)
{
    static char dir[64], buf[4][160];
    static int n;
    char *p = buf[n++ % 4];

    if (!dir[0]) {
        strcpy(dir, "/tmp/vessel-qcow2-tools-XXXXXX");
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

static bool clean(const char *path)
{
    struct disk_qcow2_check res;
    FILE *devnull = fopen("/dev/null", "w");
    int err = devnull ? disk_qcow2_check(path, false, devnull, &res) : -ENOMEM;

    if (devnull)
        fclose(devnull);
    return err == 0 && res.corruptions == 0 && res.leaks == 0;
}

static struct disk *make(const char *name, uint64_t size)
{
    struct disk_qcow2_create_opts o = {.size = size};
    struct disk *d = NULL;

    unlink(tpath(name));
    if (disk_qcow2_create(tpath(name), &o) || disk_open(&d, tpath(name), DISK_FORMAT_QCOW2, false))
        return NULL;
    return d;
}

/* A snapshot table entry: fixed part, extra data, ID, name, padding. */
static size_t entry(uint8_t *p, uint64_t l1off, uint32_t l1n, const char *id, const char *name,
                    uint32_t extra)
{
    size_t idn = strlen(id), namen = strlen(name), len;

    memset(p, 0, 40 + extra);
    qcow2_put_be64(p, l1off);
    p[8] = (uint8_t)(l1n >> 24);
    p[9] = (uint8_t)(l1n >> 16);
    p[10] = (uint8_t)(l1n >> 8);
    p[11] = (uint8_t)l1n;
    p[13] = (uint8_t)idn;
    p[15] = (uint8_t)namen;
    p[36] = (uint8_t)(extra >> 24);
    p[37] = (uint8_t)(extra >> 16);
    p[38] = (uint8_t)(extra >> 8);
    p[39] = (uint8_t)extra;
    if (extra >= 16)
        qcow2_put_be64(p + 48, 1 << 20); /* disk size */
    memcpy(p + 40 + extra, id, idn);
    memcpy(p + 40 + extra + idn, name, namen);
    len = 40 + extra + idn + namen;
    return (len + 7) & ~(size_t)7;
}

TEST(qcow2_snapshot_table_parse)
{
    struct disk *d = make("tbl.qcow2", 1 << 20);
    struct disk_qcow2_snapshot *list = NULL;
    static uint8_t buf[8192], *out;
    struct qcow2 *q;
    uint64_t used;
    size_t len, n;

    CHECK(d != NULL);
    if (!d)
        return;
    q = qcow2_of(d);
    n = entry(buf, 3 * CS, 1, "1", "first", 24);
    n += entry(buf + n, 3 * CS, 1, "7", "second", 40); /* 16 bytes of unknown extra data */
    buf[n - 8 - 3] = 0xab;                             /* inside the unknown extra data */
    CHECK_EQ(qcow2_snap_parse(q, buf, n, 2, &list, &used), 0);
    CHECK_EQ(used, n - 1); /* the last entry's padding is not counted */
    if (list) {
        CHECK(!strcmp(list[0].id, "1") && !strcmp(list[0].name, "first"));
        CHECK(!strcmp(list[1].id, "7") && !strcmp(list[1].name, "second"));
        CHECK_EQ(list[1].disk_size, 1 << 20);
        CHECK_EQ(list[1].extra_len, 40);
        /* serialized again, the unknown extra data is kept */
        CHECK_EQ(qcow2_snap_serialize(list, 2, &out, &len), 0);
        CHECK_EQ(len, (n + 7) & ~(size_t)7);
        CHECK(len >= n && !memcmp(out, buf, n));
        free(out);
        qcow2_snap_free(list, 2);
    }
    /* short buffers ask for more */
    for (size_t cut = 0; cut < n - 1; cut += 7)
        CHECK_EQ(qcow2_snap_parse(q, buf, cut, 2, &list, &used), -EAGAIN);
    /* hostile entries */
    n = entry(buf, 3 * CS, 1, "1", "bad", 2000); /* extra data beyond 1 KiB */
    CHECK_EQ(qcow2_snap_parse(q, buf, sizeof(buf), 1, &list, &used), -EINVAL);
    n = entry(buf, 3 * CS, 1, "1", "abcd", 24);
    buf[40 + 24 + 1 + 1] = 0; /* a NUL inside the name */
    CHECK_EQ(qcow2_snap_parse(q, buf, n, 1, &list, &used), -EINVAL);
    n = entry(buf, 3 * CS + 8, 1, "1", "misaligned", 24);
    CHECK_EQ(qcow2_snap_parse(q, buf, n, 1, &list, &used), -EINVAL);
    n = entry(buf, 0, 1, "1", "over the header", 24);
    CHECK_EQ(qcow2_snap_parse(q, buf, n, 1, &list, &used), -EINVAL);
    n = entry(buf, 1ULL << 40, 1, "1", "past the end", 24);
    CHECK_EQ(qcow2_snap_parse(q, buf, n, 1, &list, &used), -EINVAL);
    n = entry(buf, 3 * CS, 0x7fffffff, "1", "huge L1", 24);
    CHECK_EQ(qcow2_snap_parse(q, buf, n, 1, &list, &used), -EINVAL);
    CHECK_EQ(qcow2_snap_parse(q, buf, n, QCOW2_MAX_SNAPSHOTS + 1, &list, &used), -EINVAL);
    disk_close(d);
}

TEST(qcow2_snapshots_copy_on_write)
{
    static uint8_t a[2 * CS], b[2 * CS], r[2 * CS];
    struct disk *d = make("snap.qcow2", 4 << 20);
    const struct disk_qcow2_snapshot *list;
    uint64_t l2_before;
    uint32_t n;

    CHECK(d != NULL);
    if (!d)
        return;
    memset(a, 0xa1, sizeof(a));
    memset(b, 0xb2, sizeof(b));
    CHECK_EQ(io(d, true, 0, a, sizeof(a)), 0);
    CHECK_EQ(disk_qcow2_snapshot_create(d, "one"), 0);
    CHECK_EQ(disk_qcow2_snapshot_create(d, "one"), -EEXIST);
    l2_before = qcow2_of(d)->l1[0] & QCOW2_OFFSET_MASK;
    CHECK_EQ(io(d, true, 4096, b, 8192), 0); /* into a shared cluster through a shared table */
    CHECK(l2_before != (qcow2_of(d)->l1[0] & QCOW2_OFFSET_MASK)); /* the table was copied */
    CHECK_EQ(d->ops->discard(d, CS, CS), 0);
    CHECK_EQ(d->ops->flush(d), 0);
    CHECK_EQ(io(d, false, 0, r, sizeof(r)), 0);
    CHECK(r[0] == 0xa1 && r[4096] == 0xb2 && r[4096 + 8191] == 0xb2 && r[4096 + 8192] == 0xa1);
    CHECK(r[CS] == 0 && r[2 * CS - 1] == 0);
    disk_close(d);
    CHECK(clean(tpath("snap.qcow2")));
    CHECK_EQ(disk_open(&d, tpath("snap.qcow2"), DISK_FORMAT_QCOW2, false), 0);
    if (!d)
        return;
    disk_qcow2_snapshots(d, &list, &n);
    CHECK(n == 1 && !strcmp(list[0].name, "one") && !strcmp(list[0].id, "1"));
    CHECK_EQ(disk_qcow2_snapshot_find(d, "1"), 0);
    CHECK_EQ(disk_qcow2_snapshot_find(d, "one"), 0);
    CHECK_EQ(disk_qcow2_snapshot_find(d, "two"), -1);
    CHECK_EQ(disk_qcow2_snapshot_create(d, "two"), 0);
    CHECK_EQ(disk_qcow2_snapshot_apply(d, "one"), 0);
    CHECK_EQ(io(d, false, 0, r, sizeof(r)), 0);
    CHECK(!memcmp(r, a, sizeof(a))); /* back to what it was */
    CHECK_EQ(disk_qcow2_snapshot_apply(d, "two"), 0);
    CHECK_EQ(io(d, false, 0, r, 8192 + 4096), 0);
    CHECK(r[4096] == 0xb2 && r[0] == 0xa1);
    CHECK_EQ(disk_qcow2_snapshot_delete(d, "one"), 0);
    CHECK_EQ(disk_qcow2_snapshot_delete(d, "two"), 0);
    CHECK_EQ(disk_qcow2_snapshot_delete(d, "two"), -ENOENT);
    disk_close(d);
    CHECK(clean(tpath("snap.qcow2")));
}

TEST(qcow2_compressed_write_reads_back)
{
    static uint8_t in[CS], z[CS], r[CS];
    struct disk_qcow2_deflater *dz = disk_qcow2_deflater_new();
    struct disk *d = make("comp.qcow2", 1 << 20);
    size_t len;

    CHECK(d != NULL && dz != NULL);
    if (!d || !dz) {
        disk_qcow2_deflater_free(dz);
        return;
    }
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)("vessel qcow2 "[i % 13]);
    len = disk_qcow2_compress(dz, in, CS, z, CS);
    CHECK(len > 0 && len < CS / 10);
    for (int k = 0; k < 5; k++) /* packed back to back */
        CHECK_EQ(disk_qcow2_write_compressed(d, (uint64_t)k * CS, z, len), 0);
    CHECK_EQ(disk_qcow2_write_compressed(d, 0, z, len), -EEXIST);
    for (size_t i = 0, x = 88172645463325252ULL; i < sizeof(in); i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r[i] = (uint8_t)(x >> 24);
    }
    CHECK_EQ(disk_qcow2_compress(dz, r, CS, z, CS), 0); /* noise does not shrink */
    CHECK_EQ(d->ops->flush(d), 0);
    for (int k = 0; k < 5; k++) {
        CHECK_EQ(io(d, false, (uint64_t)k * CS, r, CS), 0);
        CHECK(!memcmp(r, in, CS));
    }
    disk_close(d);
    disk_qcow2_deflater_free(dz);
    CHECK(clean(tpath("comp.qcow2")));
}

TEST(qcow2_resize_empty_backing_status)
{
    static uint8_t w[CS], r[CS];
    struct disk_qcow2_create_opts o = {.backing = "base.qcow2"};
    struct disk *d = make("base.qcow2", 2 << 20), *t = NULL;
    struct disk_status st;

    CHECK(d != NULL);
    if (!d)
        return;
    memset(w, 0x33, sizeof(w));
    CHECK_EQ(io(d, true, 0, w, sizeof(w)), 0);
    /* grow past what the L1 table maps (512 MiB per entry), shrink back */
    CHECK_EQ(disk_qcow2_resize(d, 3ULL << 30), 0);
    CHECK_EQ(d->size, 3ULL << 30);
    CHECK(qcow2_of(d)->l1_size >= 6);
    CHECK_EQ(io(d, true, (3ULL << 30) - CS, w, CS), 0);
    CHECK_EQ(disk_qcow2_resize(d, 2 << 20), 0);
    CHECK_EQ(io(d, false, 0, r, CS), 0);
    CHECK(!memcmp(r, w, CS));
    disk_close(d);
    CHECK(clean(tpath("base.qcow2")));
    /* an overlay, written, emptied: reads fall through again */
    unlink(tpath("top.qcow2"));
    CHECK_EQ(disk_qcow2_create(tpath("top.qcow2"), &o), 0);
    CHECK_EQ(disk_open(&t, tpath("top.qcow2"), DISK_FORMAT_QCOW2, false), 0);
    if (!t)
        return;
    CHECK_EQ(disk_block_status(t, 0, t->size, &st), 0);
    CHECK(st.present && st.depth == 1 && (st.flags & DISK_EXT_DATA) && st.len == CS);
    CHECK_EQ(disk_block_status(t, CS, t->size - CS, &st), 0);
    CHECK(!st.present && st.depth == 1 && (st.flags & DISK_EXT_ZERO));
    memset(w, 0x44, sizeof(w));
    CHECK_EQ(io(t, true, 0, w, sizeof(w)), 0);
    CHECK_EQ(disk_block_status(t, 0, t->size, &st), 0);
    CHECK(st.present && st.depth == 0 && (st.flags & DISK_EXT_OFFSET));
    CHECK_EQ(disk_qcow2_make_empty(t), 0);
    CHECK_EQ(io(t, false, 0, r, CS), 0);
    CHECK(r[0] == 0x33);
    /* rewrite the header: no backing file, then a new name */
    CHECK_EQ(disk_qcow2_set_backing(t, NULL, NULL), 0);
    disk_close(t);
    CHECK(clean(tpath("top.qcow2")));
    CHECK_EQ(disk_open(&t, tpath("top.qcow2"), DISK_FORMAT_QCOW2, false), 0);
    if (!t)
        return;
    CHECK(t->backing == NULL);
    CHECK_EQ(io(t, false, 0, r, CS), 0);
    CHECK(r[0] == 0);
    CHECK_EQ(disk_qcow2_set_backing(t, "base.qcow2", "qcow2"), 0);
    disk_close(t);
    CHECK_EQ(disk_open(&t, tpath("top.qcow2"), DISK_FORMAT_QCOW2, true), 0);
    if (!t)
        return;
    CHECK(t->backing != NULL);
    CHECK_EQ(io(t, false, 0, r, CS), 0);
    CHECK(r[0] == 0x33);
    disk_close(t);
}
