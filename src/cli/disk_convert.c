/* `vessel disk convert [-f F] [-O raw|qcow2] [-c] [-p] SRC DST`: copies what SRC reads as -
 * through its whole backing chain - into a new image. The source is walked in 4 MiB windows;
 * a window that disk_block_status() says reads as zeroes is skipped without reading, and in
 * the others every destination cluster (4 KiB block for raw) that is all zeroes is left
 * unwritten, so the result is as sparse as the content allows. With -c each qcow2 cluster is
 * deflated by a small pool of threads (one per CPU, the calling thread included) and written
 * compressed when that saves space. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "cli/disk_cmd.h"

#define WINDOW      (4u << 20)
#define RAW_BLOCK   4096u
#define MAX_WORKERS 8

/* Deflating one window's clusters in parallel. */
struct zpool {
    pthread_t th[MAX_WORKERS];
    int nth;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned gen, busy;
    bool quit;
    /* the current batch */
    const uint8_t *in;
    uint8_t *out;
    size_t cs, *len;
    const bool *skip;
    unsigned n;
    atomic_uint next;
};

static void zpool_work(struct zpool *z)
{
    unsigned i;

    while ((i = atomic_fetch_add(&z->next, 1)) < z->n)
        z->len[i] = z->skip[i]
                        ? 0
                        : disk_qcow2_compress(z->in + i * z->cs, z->cs, z->out + i * z->cs, z->cs);
}

static void *zpool_thread(void *arg)
{
    struct zpool *z = arg;
    unsigned seen = 0;

    pthread_mutex_lock(&z->mu);
    for (;;) {
        while (z->gen == seen && !z->quit)
            pthread_cond_wait(&z->go, &z->mu);
        if (z->quit)
            break;
        seen = z->gen;
        pthread_mutex_unlock(&z->mu);
        zpool_work(z);
        pthread_mutex_lock(&z->mu);
        if (--z->busy == 0)
            pthread_cond_signal(&z->done);
    }
    pthread_mutex_unlock(&z->mu);
    return NULL;
}

static void zpool_init(struct zpool *z)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->go, NULL);
    pthread_cond_init(&z->done, NULL);
    for (long i = 1; i < cpus && z->nth < MAX_WORKERS; i++) {
        if (pthread_create(&z->th[z->nth], NULL, zpool_thread, z))
            break; /* fewer helpers; the calling thread works anyway */
        z->nth++;
    }
}

static void zpool_run(struct zpool *z)
{
    atomic_store(&z->next, 0);
    pthread_mutex_lock(&z->mu);
    z->busy = (unsigned)z->nth;
    z->gen++;
    pthread_cond_broadcast(&z->go);
    pthread_mutex_unlock(&z->mu);
    zpool_work(z);
    pthread_mutex_lock(&z->mu);
    while (z->busy)
        pthread_cond_wait(&z->done, &z->mu);
    pthread_mutex_unlock(&z->mu);
}

static void zpool_stop(struct zpool *z)
{
    pthread_mutex_lock(&z->mu);
    z->quit = true;
    pthread_cond_broadcast(&z->go);
    pthread_mutex_unlock(&z->mu);
    for (int i = 0; i < z->nth; i++)
        pthread_join(z->th[i], NULL);
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->go);
    pthread_cond_destroy(&z->done);
}

struct conv {
    struct disk *src, *dst;
    bool compress;
    uint64_t gran; /* the destination's unit: its cluster, or RAW_BLOCK */
    uint8_t *buf, *zbuf;
    size_t *zlen;
    bool *zskip;
    struct zpool pool;
};

/* Writes buf (len bytes at off; off and len multiples of c->gran except at the disk's end),
 * leaving out the units that are all zeroes and merging the others into runs. */
static int write_window(struct conv *c, uint64_t off, uint64_t len)
{
    uint64_t run = 0, run_len = 0;
    unsigned n = (unsigned)((len + c->gran - 1) / c->gran);
    int err = 0;

    if (c->compress) {
        for (unsigned i = 0; i < n; i++)
            c->zskip[i] =
                (i + 1) * c->gran > len || disk_buf_is_zero(c->buf + i * c->gran, c->gran);
        c->pool.in = c->buf;
        c->pool.out = c->zbuf;
        c->pool.cs = c->gran;
        c->pool.len = c->zlen;
        c->pool.skip = c->zskip;
        c->pool.n = n;
        zpool_run(&c->pool);
    }
    for (unsigned i = 0; i <= n && !err; i++) {
        uint64_t pos = (uint64_t)i * c->gran, ulen = len - pos < c->gran ? len - pos : c->gran;
        bool write = i < n && !disk_buf_is_zero(c->buf + pos, ulen);

        if (write && c->compress && c->zlen[i]) {
            err = disk_qcow2_write_compressed(c->dst, off + pos, c->zbuf + pos, c->zlen[i]);
            write = false; /* done, and it ends any run */
        }
        if (write && run_len && run + run_len == pos) {
            run_len += ulen;
            continue;
        }
        if (run_len && !err)
            err = disk_pwrite(c->dst, c->buf + run, run_len, off + run);
        run = pos;
        run_len = write ? ulen : 0;
    }
    return err;
}

static int copy(struct conv *c, struct disk_progress *p)
{
    uint64_t size = c->src->size, off = 0;
    int err = 0;

    while (off < size && !err) {
        uint64_t n = size - off < WINDOW ? size - off : WINDOW, pos = 0;
        bool zero = true;

        /* does anything in the window hold data? */
        while (pos < n && zero && !err) {
            struct disk_status st;
            err = disk_block_status(c->src, off + pos, n - pos, &st);
            zero = !err && (st.flags & DISK_EXT_ZERO) && !(st.flags & DISK_EXT_DATA);
            pos += err ? 0 : st.len;
        }
        if (!err && !zero) {
            err = disk_pread(c->src, c->buf, n, off);
            if (!err)
                err = write_window(c, off, n);
        }
        off += n;
        disk_progress_set(p, off);
    }
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
    c.buf = aligned_alloc(4096, WINDOW);
    if (c.compress) {
        c.zbuf = malloc(WINDOW);
        c.zlen = calloc(WINDOW / c.gran + 1, sizeof(*c.zlen));
        c.zskip = calloc(WINDOW / c.gran + 1, sizeof(*c.zskip));
        zpool_init(&c.pool);
    }
    err = !c.buf || (c.compress && (!c.zbuf || !c.zlen || !c.zskip)) ? -ENOMEM : 0;
    disk_progress_start(&p, progress, c.src->size);
    if (!err)
        err = copy(&c, &p);
    if (!err)
        err = c.dst->ops->flush(c.dst);
    disk_progress_end(&p);
    if (c.compress)
        zpool_stop(&c.pool);
    disk_close(c.dst);
    disk_close(c.src);
    free(c.buf);
    free(c.zbuf);
    free(c.zlen);
    free(c.zskip);
    if (err) {
        fprintf(stderr, "vessel: disk convert: %s -> %s: %s\n", src_path, dst_path, strerror(-err));
        unlink(dst_path);
        return DISK_EXIT_ERROR;
    }
    return DISK_EXIT_OK;
}
