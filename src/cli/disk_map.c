/* `vessel disk map` (where an image's data lives, in qemu-img map's two output formats) and
 * `vessel disk compare` (do two images read the same). Both walk disk_block_status(), so
 * ranges that read as zeroes are neither listed as data nor read. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/disk_cmd.h"

#define CHUNK (4u << 20) /* compare reads at most this much of each image at once */

struct range {
    uint64_t start, len, host;
    int depth;
    bool present, zero, data, has_host, compressed;
    const struct disk *layer;
};

static bool mergeable(const struct range *a, const struct range *b)
{
    return a->depth == b->depth && a->present == b->present && a->zero == b->zero &&
           a->data == b->data && a->has_host == b->has_host && a->compressed == b->compressed &&
           a->layer == b->layer && (!a->has_host || a->host + a->len == b->host);
}

/* Prints r; returns -ENOTSUP for a compressed range in human output (no host offset). */
static int emit(const struct range *r, bool json, bool *first)
{
    if (json) {
        printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d"
               ", \"present\": %s, \"zero\": %s, \"data\": %s",
               *first ? "[" : ",\n", r->start, r->len, r->depth, r->present ? "true" : "false",
               r->zero ? "true" : "false", r->data ? "true" : "false");
        if (r->has_host)
            printf(", \"offset\": %" PRIu64, r->host);
        printf("}");
        *first = false;
        return 0;
    }
    if (!r->data)
        return 0;
    if (!r->has_host)
        return -ENOTSUP;
    if (*first)
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    *first = false;
    printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", r->start, r->len, r->host,
           r->layer->path);
    return 0;
}

int disk_cmd_map(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *fmt_name = NULL;
    struct range cur = {0};
    enum disk_format fmt;
    bool json = false, first = true, have = false;
    struct disk *d;
    uint64_t off = 0;
    int c, err = 0;

    while ((c = getopt_long(argc, argv, ":f:", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt_name = optarg; break;
        case 'o':
            if (strcmp(optarg, "json") && strcmp(optarg, "human"))
                return disk_usage_err("map", "--output %s: expected human or json", optarg);
            json = !strcmp(optarg, "json");
            break;
        case ':': return disk_usage_err("map", "option %s needs a value", argv[optind - 1]);
        default: return disk_usage_err("map", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return disk_usage_err("map", "IMG is required");
    if (optind + 1 < argc)
        return disk_usage_err("map", "unexpected argument '%s'", argv[optind + 1]);
    if (disk_cli_format("map", "-f", fmt_name, &fmt) || disk_open(&d, argv[optind], fmt, true))
        return DISK_EXIT_ERROR;
    while (off < d->size && !err) {
        struct disk_status st;
        struct range r;

        err = disk_block_status(d, off, d->size - off, &st);
        if (err)
            break;
        r = (struct range){.start = off,
                           .len = st.len,
                           .host = st.host,
                           .depth = st.depth,
                           .present = st.present,
                           .zero = (st.flags & DISK_EXT_ZERO) != 0,
                           .data = (st.flags & DISK_EXT_DATA) != 0,
                           .has_host = (st.flags & DISK_EXT_OFFSET) != 0,
                           .compressed = (st.flags & DISK_EXT_COMPRESSED) != 0,
                           .layer = st.layer};
        off += st.len;
        if (have && mergeable(&cur, &r)) {
            cur.len += r.len;
            continue;
        }
        if (have)
            err = emit(&cur, json, &first);
        cur = r;
        have = true;
    }
    if (!err && have)
        err = emit(&cur, json, &first);
    if (json && !err)
        printf("%s]\n", first ? "[" : "");
    disk_close(d);
    if (err == -ENOTSUP) {
        fprintf(stderr,
                "vessel: disk map: %s: compressed clusters have no host offset to show "
                "(use --output json)\n",
                argv[optind]);
    } else if (err) {
        fprintf(stderr, "vessel: disk map: %s: %s\n", argv[optind], strerror(-err));
    }
    return err ? DISK_EXIT_ERROR : DISK_EXIT_OK;
}

/* First offset in [off, off+len) where a and b differ, or UINT64_MAX. Either buffer may be NULL
 * for zeroes. */
static uint64_t first_diff(const uint8_t *a, const uint8_t *b, uint64_t off, uint64_t len)
{
    for (uint64_t i = 0; i < len; i += 512) {
        uint64_t n = len - i < 512 ? len - i : 512;
        bool same = a && b ? !memcmp(a + i, b + i, n)
                    : a    ? disk_buf_is_zero(a + i, n)
                    : b    ? disk_buf_is_zero(b + i, n)
                           : true;
        if (!same)
            return off + i;
    }
    return UINT64_MAX;
}

/* Compares [off, end) of a and b (b NULL: a must read as zeroes there). */
static int compare_range(struct disk *a, struct disk *b, uint64_t off, uint64_t end, uint8_t *ba,
                         uint8_t *bb, struct disk_progress *p, uint64_t *diff)
{
    int err;

    while (off < end) {
        struct disk_status sa, sb = {.flags = DISK_EXT_ZERO};
        uint64_t n = end - off < CHUNK ? end - off : CHUNK;
        bool za, zb;

        err = disk_block_status(a, off, n, &sa);
        if (!err && b)
            err = disk_block_status(b, off, n, &sb);
        if (err)
            return err;
        n = sa.len;
        if (b && sb.len < n)
            n = sb.len;
        za = (sa.flags & DISK_EXT_ZERO) && !(sa.flags & DISK_EXT_DATA);
        zb = (sb.flags & DISK_EXT_ZERO) && !(sb.flags & DISK_EXT_DATA);
        if (!za)
            err = disk_pread(a, ba, n, off);
        if (!err && !zb)
            err = disk_pread(b, bb, n, off);
        if (err)
            return err;
        *diff = first_diff(za ? NULL : ba, zb ? NULL : bb, off, n);
        if (*diff != UINT64_MAX)
            return 0;
        off += n;
        disk_progress_set(p, off);
    }
    return 0;
}

int disk_cmd_compare(int argc, char **argv)
{
    const char *fa = NULL, *fb = NULL;
    enum disk_format fmt_a, fmt_b;
    struct disk *a = NULL, *b = NULL, *big;
    struct disk_progress p;
    bool strict = false, progress = false;
    uint8_t *ba = NULL, *bb = NULL;
    uint64_t diff = UINT64_MAX, common;
    int c, err, rc = 2;

    while ((c = getopt(argc, argv, ":f:F:sp")) != -1) {
        switch (c) {
        case 'f': fa = optarg; break;
        case 'F': fb = optarg; break;
        case 's': strict = true; break;
        case 'p': progress = true; break;
        case ':': disk_usage_err("compare", "option %s needs a value", argv[optind - 1]); return 2;
        default: disk_usage_err("compare", "unknown option '%s'", argv[optind - 1]); return 2;
        }
    }
    if (argc - optind != 2) {
        disk_usage_err("compare", "two images are required");
        return 2;
    }
    if (disk_cli_format("compare", "-f", fa, &fmt_a) ||
        disk_cli_format("compare", "-F", fb, &fmt_b))
        return 2;
    if (disk_open(&a, argv[optind], fmt_a, true) || disk_open(&b, argv[optind + 1], fmt_b, true))
        goto out;
    ba = malloc(CHUNK);
    bb = malloc(CHUNK);
    if (!ba || !bb)
        goto out;
    if (a->size != b->size && strict) {
        printf("Strict mode: Image size mismatch!\n");
        rc = 1;
        goto out;
    }
    common = a->size < b->size ? a->size : b->size;
    big = a->size > b->size ? a : b;
    disk_progress_start(&p, progress, big->size);
    err = compare_range(a, b, 0, common, ba, bb, &p, &diff);
    if (!err && diff == UINT64_MAX && a->size != b->size) {
        printf("Warning: Image size mismatch!\n");
        err = compare_range(big, NULL, common, big->size, ba, bb, &p, &diff);
    }
    disk_progress_end(&p);
    if (err) {
        fprintf(stderr, "vessel: disk compare: reading: %s\n", strerror(-err));
        goto out;
    }
    if (diff != UINT64_MAX) {
        printf("Content mismatch at offset %" PRIu64 "!\n", diff);
        rc = 1;
    } else {
        printf("Images are identical.\n");
        rc = 0;
    }
out:
    if (a)
        disk_close(a);
    if (b)
        disk_close(b);
    free(ba);
    free(bb);
    return rc;
}
