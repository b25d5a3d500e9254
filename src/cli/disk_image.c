/* `vessel disk resize` and `vessel disk commit`. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/disk_lock.h"
#include "backend/disk/qcow2.h"
#include "cli/args.h"
#include "cli/disk_cmd.h"

#define WINDOW (4u << 20)

int disk_cmd_resize(int argc, char **argv)
{
    const char *fmt_name = NULL, *arg, *pos[2];
    char a[32], b[32];
    enum disk_format fmt;
    bool shrink = false;
    uint64_t n, size;
    struct disk *d;
    int npos = 0, sign = 0, err;

    /* by hand, not getopt: "-1G" is a size, not an option */
    for (int i = 1, opts = 1; i < argc; i++) {
        const char *o = argv[i];
        if (opts && !strcmp(o, "--")) {
            opts = 0;
        } else if (opts && !strcmp(o, "--shrink")) {
            shrink = true;
        } else if (opts && (!strcmp(o, "-f") || !strcmp(o, "--format"))) {
            if (i + 1 >= argc)
                return disk_usage_err("resize", "option %s needs a value", o);
            fmt_name = argv[++i];
        } else if (opts && o[0] == '-' && !(o[1] >= '0' && o[1] <= '9')) {
            return disk_usage_err("resize", "unknown option '%s'", o);
        } else if (npos == 2) {
            return disk_usage_err("resize", "unexpected argument '%s'", o);
        } else {
            pos[npos++] = o;
        }
    }
    if (npos != 2)
        return disk_usage_err("resize", "IMG and SIZE are required");
    argv = (char **)pos;
    optind = 0;
    arg = argv[optind + 1];
    if (arg[0] == '+' || arg[0] == '-')
        sign = *arg++ == '+' ? 1 : -1;
    if (disk_cli_size("resize", "size", arg, &n) || disk_cli_format("resize", "-f", fmt_name, &fmt))
        return DISK_EXIT_ERROR;
    if (disk_open(&d, argv[optind], fmt, false))
        return DISK_EXIT_ERROR;
    size = sign > 0 ? d->size + n : sign < 0 ? d->size - n : n;
    if ((sign > 0 && size < n) || (sign < 0 && n >= d->size)) {
        disk_close(d);
        return disk_usage_err("resize", "%s: the new size would be %s", argv[optind + 1],
                              sign > 0 ? "above 16 EiB" : "0 or less");
    }
    size = (size + 511) & ~511ULL;
    args_format_size(d->size, a, sizeof(a));
    args_format_size(size, b, sizeof(b));
    if (size < d->size && !shrink) {
        fprintf(stderr,
                "vessel: disk resize: %s: shrinking from %s to %s drops the data past %s; "
                "add --shrink if that is what you want\n",
                argv[optind], a, b, b);
        disk_close(d);
        return DISK_EXIT_ERROR;
    }
    err = size == d->size ? 0 : d->ops->resize ? d->ops->resize(d, size) : -ENOTSUP;
    disk_close(d);
    if (err) {
        fprintf(stderr, "vessel: disk resize: %s: %s\n", argv[optind], strerror(-err));
        return DISK_EXIT_ERROR;
    }
    printf("Image resized (%s -> %s).\n", a, b);
    return DISK_EXIT_OK;
}

/* Copies what ov's own layer holds (not its backing files') into b. */
static int commit_data(struct disk *ov, struct disk *b, struct disk_progress *p)
{
    uint8_t *buf = malloc(WINDOW);
    uint64_t off = 0;
    int err = buf ? 0 : -ENOMEM;

    while (!err && off < ov->size) {
        struct disk_status st;
        uint64_t n;

        err = disk_block_status(ov, off, ov->size - off, &st);
        if (err)
            break;
        n = st.len < WINDOW ? st.len : WINDOW;
        if (st.depth == 0 && st.present) {
            if (st.flags & DISK_EXT_DATA) {
                err = disk_pread(ov, buf, n, off);
                if (!err)
                    err = disk_pwrite(b, buf, n, off);
            } else {
                err = b->ops->write_zeroes(b, off, n);
            }
        }
        off += n;
        disk_progress_set(p, off);
    }
    free(buf);
    return err;
}

int disk_cmd_commit(int argc, char **argv)
{
    const char *fmt_name = NULL, *path;
    struct disk *ov = NULL, *b = NULL;
    struct disk_progress p;
    bool keep = false, progress = false;
    enum disk_format fmt, bfmt;
    int c, err;

    while ((c = getopt(argc, argv, ":f:dp")) != -1) {
        switch (c) {
        case 'f': fmt_name = optarg; break;
        case 'd': keep = true; break;
        case 'p': progress = true; break;
        case ':': return disk_usage_err("commit", "option %s needs a value", argv[optind - 1]);
        default: return disk_usage_err("commit", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return disk_usage_err("commit", "OVERLAY is required");
    path = argv[optind];
    if (disk_cli_format("commit", "-f", fmt_name, &fmt) || disk_open(&ov, path, fmt, true))
        return DISK_EXIT_ERROR;
    if (!ov->backing) {
        fprintf(stderr, "vessel: disk commit: %s has no backing file to commit into\n", path);
        disk_close(ov);
        return DISK_EXIT_ERROR;
    }
    err = disk_format_parse(ov->backing->ops->name, &bfmt);
    /* The overlay's chain holds its backing file as a reader; the commit writes it through
     * another open, which that reader's lock would refuse: this process lets go of it first. */
    if (!err)
        err = disk_set_lock(ov->backing, DISK_LOCK_NONE);
    if (!err && disk_open(&b, ov->backing->path, bfmt, false))
        err = -EIO;
    if (!err && b->size < ov->size) {
        err = b->ops->resize ? b->ops->resize(b, ov->size) : -ENOTSUP;
        if (err)
            fprintf(stderr, "vessel: disk commit: growing %s to %" PRIu64 " bytes: %s\n", b->path,
                    ov->size, strerror(-err));
    }
    disk_progress_start(&p, progress, ov->size);
    if (!err)
        err = commit_data(ov, b, &p);
    if (!err)
        err = b->ops->flush(b);
    disk_progress_end(&p);
    if (b)
        disk_close(b);
    disk_close(ov);
    if (!err && !keep) {
        /* the backing file has it all now: the overlay reads through to it again */
        err = disk_qcow2_open_nobacking(&ov, path, false);
        if (!err) {
            err = disk_qcow2_make_empty(ov);
            disk_close(ov);
        }
    }
    if (err) {
        fprintf(stderr, "vessel: disk commit: %s: %s\n", path, strerror(-err));
        return DISK_EXIT_ERROR;
    }
    printf("Image committed.\n");
    return DISK_EXIT_OK;
}
