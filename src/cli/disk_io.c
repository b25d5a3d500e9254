/* `vessel disk io` and `vessel disk bench`: drive a disk backend directly, for the qcow2
 * integration tests (tests/integration/test_qcow2.py) and bench/disk_formats.sh.
 *
 * io protocol, one command per line on stdin, one answer per command on stdout:
 *   r OFF LEN        -> "data LEN\n" then LEN raw bytes
 *   w OFF LEN TAG    -> writes the pattern: every 512-byte sector at disk offset o holds
 *                       32 copies of the little-endian pair (o / 512, TAG); -> "ok"
 *   W OFF LEN        -> LEN raw bytes follow the line; -> "ok"
 *   z OFF LEN / d OFF LEN -> write_zeroes / discard; -> "ok"
 *   f                -> flush; "ok" only once the flush is durable
 *   q                -> closes the disk (flushes) and exits 0
 * Any failure answers "err MESSAGE" and the loop goes on. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/disk/disk.h"
#include "cli/disk_cmd.h"

static void fill_pattern(uint8_t *buf, uint64_t off, uint64_t len, uint64_t tag)
{
    for (uint64_t s = 0; s < len / 512; s++) {
        uint64_t sector = off / 512 + s;
        for (int k = 0; k < 32; k++) {
            uint8_t *p = buf + s * 512 + (uint64_t)k * 16;
            for (int b = 0; b < 8; b++) {
                p[b] = (uint8_t)(sector >> (8 * b));
                p[8 + b] = (uint8_t)(tag >> (8 * b));
            }
        }
    }
}

static int open_disk(int argc, char **argv, int first, struct disk **d, bool *ro, const char **path)
{
    enum disk_format fmt = DISK_FORMAT_PROBE;

    *path = NULL;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--readonly")) {
            *ro = true;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            if (disk_format_parse(argv[++i], &fmt)) {
                fprintf(stderr, "vessel: disk: --format %s: expected raw or qcow2\n", argv[i]);
                return -EINVAL;
            }
        } else if (argv[i][0] != '-' && !*path) {
            *path = argv[i];
        }
    }
    if (!*path) {
        fprintf(stderr, "vessel: disk: PATH is required\n");
        return -EINVAL;
    }
    return disk_open(d, *path, fmt, *ro);
}

static int do_cmd(struct disk *d, char *line, uint8_t **buf, size_t *cap)
{
    char op = line[0];
    uint64_t off = 0, len = 0, tag = 0;
    struct iovec v;
    int err;

    if (op == 'f')
        return d->ops->flush(d);
    if (sscanf(line + 1, "%" SCNu64 " %" SCNu64 " %" SCNu64, &off, &len, &tag) < 2)
        return -EINVAL;
    if ((off | len) & 511 || off > d->size || len > d->size - off || len > (1u << 30))
        return -ERANGE;
    if (op == 'z')
        return d->ops->write_zeroes(d, off, len);
    if (op == 'd')
        return d->ops->discard(d, off, len);
    if (len > *cap) {
        uint8_t *n = realloc(*buf, len);
        if (!n)
            return -ENOMEM;
        *buf = n;
        *cap = len;
    }
    v = (struct iovec){.iov_base = *buf, .iov_len = len};
    if (op == 'w') {
        fill_pattern(*buf, off, len, tag);
        return d->ops->writev(d, off, &v, 1);
    }
    if (op == 'W') {
        if (fread(*buf, 1, len, stdin) != len)
            return -EIO;
        return d->ops->writev(d, off, &v, 1);
    }
    if (op == 'r') {
        err = d->ops->readv(d, off, &v, 1);
        if (err)
            return err;
        printf("data %" PRIu64 "\n", len);
        fwrite(*buf, 1, len, stdout);
        return 1; /* answered */
    }
    return -EINVAL;
}

int disk_cmd_io(int argc, char **argv)
{
    struct disk *d;
    const char *path;
    bool ro = false;
    char line[256];
    uint8_t *buf = NULL;
    size_t cap = 0;

    if (open_disk(argc, argv, 1, &d, &ro, &path))
        return 1;
    printf("ready %s %" PRIu64 "\n", d->ops->name, d->size);
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin)) {
        int err;
        if (line[0] == 'q')
            break;
        if (line[0] == '\n')
            continue;
        err = do_cmd(d, line, &buf, &cap);
        if (err < 0)
            printf("err %s\n", strerror(-err));
        else if (err == 0)
            printf("ok\n");
        fflush(stdout);
    }
    disk_close(d);
    free(buf);
    printf("closed\n");
    return 0;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int disk_cmd_bench(int argc, char **argv)
{
    const char *rw = "read", *pattern = "seq", *path;
    uint64_t bs = 4096, count = 0, x = 0x9e3779b97f4a7c15ULL;
    struct disk *d;
    bool ro = false, write;
    uint8_t *buf;
    double t0, t;

    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--rw"))
            rw = argv[++i];
        else if (!strcmp(argv[i], "--pattern"))
            pattern = argv[++i];
        else if (!strcmp(argv[i], "--bs") && disk_cli_size("bench", "--bs", argv[++i], &bs))
            return 1;
        else if (!strcmp(argv[i], "--count"))
            count = strtoull(argv[++i], NULL, 10);
    }
    write = !strcmp(rw, "write");
    if ((bs & 511) || !bs) {
        fprintf(stderr, "vessel: disk bench: --bs must be a multiple of 512\n");
        return 1;
    }
    if (open_disk(argc, argv, 1, &d, &ro, &path))
        return 1;
    if (!count)
        count = d->size / bs;
    buf = aligned_alloc(4096, (bs + 4095) & ~4095ULL);
    if (!buf || d->size < bs) {
        disk_close(d);
        free(buf);
        return 1;
    }
    memset(buf, 0xa5, bs);
    t0 = now();
    for (uint64_t i = 0; i < count; i++) {
        uint64_t blocks = d->size / bs, off;
        struct iovec v = {.iov_base = buf, .iov_len = bs};
        int err;
        if (!strcmp(pattern, "rand")) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            off = (x % blocks) * bs;
        } else {
            off = (i % blocks) * bs;
        }
        err = write ? d->ops->writev(d, off, &v, 1) : d->ops->readv(d, off, &v, 1);
        if (err) {
            fprintf(stderr, "vessel: disk bench: %s at %" PRIu64 ": %s\n", rw, off, strerror(-err));
            disk_close(d);
            free(buf);
            return 1;
        }
    }
    if (write)
        d->ops->flush(d);
    t = now() - t0;
    printf("%s %s %s bs=%" PRIu64 " ops=%" PRIu64 " secs=%.3f ops/s=%.0f MB/s=%.1f\n", d->ops->name,
           pattern, rw, bs, count, t, (double)count / t, (double)count * (double)bs / t / 1e6);
    disk_close(d);
    free(buf);
    return 0;
}
