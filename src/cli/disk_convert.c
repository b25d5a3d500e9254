/* `vessel disk convert [-f F] [-O raw|qcow2] [-c] [-p] SRC DST`: copies what SRC reads as -
 * through its whole backing chain - into a new image. The source is walked in 4 MiB windows;
 * a window that disk_block_status() says reads as zeroes is skipped without reading, and in
 * the others every destination cluster (4 KiB block for raw) that is all zeroes is left
 * unwritten, so the result is as sparse as the content allows. With -c each qcow2 cluster is
 * deflated by a pool of threads (disk_zpool.c, one per CPU) and written compressed when that
 * saves space; the pool compresses one window while this thread writes the previous one and
 * reads the next. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "cli/disk_cmd.h"

#define WINDOW    (4u << 20)
#define RAW_BLOCK 4096u

/* One window of the source and, with -c, its compressed clusters. */
struct window {
    uint64_t off, len;
    bool data; /* read: something in it is not zeroes */
    uint8_t *buf, *zbuf;
    size_t *zlen;
    bool *zskip;
};

struct conv {
    struct disk *src, *dst;
    bool compress;
    uint64_t gran; /* the destination's unit: its cluster, or RAW_BLOCK */
    struct window win[2];
    struct disk_zpool *pool;
};

/* Reads window w at off unless block status says it is all zeroes. */
static int read_window(struct conv *c, struct window *w, uint64_t off)
{
    uint64_t pos = 0;
    int err = 0;

    w->off = off;
    w->len = c->src->size - off < WINDOW ? c->src->size - off : WINDOW;
    w->data = false;
    while (pos < w->len && !w->data && !err) {
        struct disk_status st;
        err = disk_block_status(c->src, off + pos, w->len - pos, &st);
        w->data = !err && !((st.flags & DISK_EXT_ZERO) && !(st.flags & DISK_EXT_DATA));
        pos += err ? 0 : st.len;
    }
    if (!err && w->data)
        err = disk_pread(c->src, w->buf, w->len, off);
    return err;
}

static unsigned units(const struct conv *c, const struct window *w)
{
    return (unsigned)((w->len + c->gran - 1) / c->gran);
}

/* Hands w's non-zero whole clusters to the compression pool. */
static void compress_window(struct conv *c, struct window *w)
{
    unsigned n = units(c, w);

    for (unsigned i = 0; i < n; i++)
        w->zskip[i] = (i + 1) * c->gran > w->len || disk_buf_is_zero(w->buf + i * c->gran, c->gran);
    disk_zpool_start(c->pool, w->buf, w->zbuf, c->gran, w->zlen, w->zskip, n);
}

/* Writes w (compressed where that was possible), leaving out the units that are all zeroes
 * and merging the others into runs. */
static int write_window(struct conv *c, const struct window *w)
{
    uint64_t run = 0, run_len = 0;
    unsigned n = units(c, w);
    int err = 0;

    for (unsigned i = 0; i <= n && !err; i++) {
        uint64_t pos = (uint64_t)i * c->gran, ulen = 0;
        bool write = false;

        if (i < n) {
            ulen = w->len - pos < c->gran ? w->len - pos : c->gran;
            write = !disk_buf_is_zero(w->buf + pos, ulen);
        }
        if (write && c->compress && w->zlen[i]) {
            err = disk_qcow2_write_compressed(c->dst, w->off + pos, w->zbuf + pos, w->zlen[i]);
            write = false; /* done, and it ends any run */
        }
        if (write && run_len && run + run_len == pos) {
            run_len += ulen;
            continue;
        }
        if (run_len && !err)
            err = disk_pwrite(c->dst, w->buf + run, run_len, w->off + run);
        run = pos;
        run_len = write ? ulen : 0;
    }
    return err;
}

/* Windows alternate between two buffers: while the pool compresses one, this thread writes
 * the one before it and reads the one after it. */
static int copy(struct conv *c, struct disk_progress *p)
{
    struct window *prev = NULL, *cur;
    uint64_t off = 0;
    int err = 0, k = 0;

    while (off < c->src->size && !err) {
        cur = &c->win[k];
        err = read_window(c, cur, off);
        if (prev && c->compress && prev->data)
            disk_zpool_wait(c->pool);
        if (!err && c->compress && cur->data)
            compress_window(c, cur);
        if (!err && prev && prev->data)
            err = write_window(c, prev);
        if (prev)
            disk_progress_set(p, prev->off + prev->len);
        off += cur->len;
        prev = cur;
        k ^= 1;
    }
    if (prev && c->compress && prev->data)
        disk_zpool_wait(c->pool); /* also after an error: the pool must not touch freed buffers */
    if (!err && prev && prev->data)
        err = write_window(c, prev);
    return err;
}

/* Refuses a DST that is SRC or one of its backing files, or not a regular file. */
static int check_dst(struct disk *src, const char *dst)
{
    struct stat sd, ss;

    if (lstat(dst, &sd) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISREG(sd.st_mode)) {
        fprintf(stderr, "vessel: disk convert: %s exists and is not a regular file\n", dst);
        return -EINVAL;
    }
    for (struct disk *d = src; d; d = d->backing) {
        if (stat(d->path, &ss) == 0 && ss.st_dev == sd.st_dev && ss.st_ino == sd.st_ino) {
            fprintf(stderr, "vessel: disk convert: %s is %s, which is being read\n", dst, d->path);
            return -EINVAL;
        }
    }
    return unlink(dst) < 0 ? -errno : 0;
}

static int create_dst(const char *path, enum disk_format fmt, uint64_t size, struct disk **out)
{
    struct disk_qcow2_create_opts o = {.size = size};
    int fd, err = 0;

    if (fmt == DISK_FORMAT_QCOW2) {
        if (disk_qcow2_create(path, &o))
            return -EIO;
    } else {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
            err = -errno;
        if (fd >= 0)
            close(fd);
        if (err) {
            fprintf(stderr, "vessel: disk convert: %s: %s\n", path, strerror(-err));
            return err;
        }
    }
    return disk_open(out, path, fmt, false);
}

int disk_cmd_convert(int argc, char **argv)
{
    const char *in_fmt = NULL, *out_fmt = "raw", *src_path, *dst_path;
    enum disk_format fi, fo;
    struct conv c = {0};
    struct disk_progress p;
    bool progress = false;
    int opt, err;

    while ((opt = getopt(argc, argv, ":f:O:cp")) != -1) {
        switch (opt) {
        case 'f': in_fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        case 'c': c.compress = true; break;
        case 'p': progress = true; break;
        case ':': return disk_usage_err("convert", "option %s needs a value", argv[optind - 1]);
        default: return disk_usage_err("convert", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return disk_usage_err("convert", "SRC and DST are required");
    src_path = argv[optind];
    dst_path = argv[optind + 1];
    if (disk_cli_format("convert", "-f", in_fmt, &fi) ||
        disk_cli_format("convert", "-O", out_fmt, &fo))
        return DISK_EXIT_ERROR;
    if (c.compress && fo != DISK_FORMAT_QCOW2)
        return disk_usage_err("convert", "-c needs -O qcow2");
    if (disk_open(&c.src, src_path, fi, true))
        return DISK_EXIT_ERROR;
    err = check_dst(c.src, dst_path);
    if (err == -EINVAL) {
        disk_close(c.src);
        return DISK_EXIT_ERROR;
    }
    if (!err)
        err = create_dst(dst_path, fo, c.src->size, &c.dst);
    if (err) {
        if (err != -EIO)
            fprintf(stderr, "vessel: disk convert: %s: %s\n", dst_path, strerror(-err));
        disk_close(c.src);
        return DISK_EXIT_ERROR;
    }
    c.gran = fo == DISK_FORMAT_QCOW2 ? disk_qcow2_cluster_size(c.dst) : RAW_BLOCK;
    for (int i = 0; i < 2; i++) {
        struct window *w = &c.win[i];
        w->buf = aligned_alloc(4096, WINDOW);
        if (!w->buf)
            err = -ENOMEM;
        if (c.compress) {
            w->zbuf = malloc(WINDOW);
            w->zlen = calloc(WINDOW / c.gran + 1, sizeof(*w->zlen));
            w->zskip = calloc(WINDOW / c.gran + 1, sizeof(*w->zskip));
            if (!w->zbuf || !w->zlen || !w->zskip)
                err = -ENOMEM;
        }
    }
    if (!err && c.compress && !(c.pool = disk_zpool_new()))
        err = -ENOMEM;
    disk_progress_start(&p, progress, c.src->size);
    if (!err)
        err = copy(&c, &p);
    if (!err)
        err = c.dst->ops->flush(c.dst);
    disk_progress_end(&p);
    disk_zpool_free(c.pool);
    disk_close(c.dst);
    disk_close(c.src);
    for (int i = 0; i < 2; i++) {
        free(c.win[i].buf);
        free(c.win[i].zbuf);
        free(c.win[i].zlen);
        free(c.win[i].zskip);
    }
    if (err) {
        fprintf(stderr, "vessel: disk convert: %s -> %s: %s\n", src_path, dst_path, strerror(-err));
        unlink(dst_path);
        return DISK_EXIT_ERROR;
    }
    return DISK_EXIT_OK;
}
