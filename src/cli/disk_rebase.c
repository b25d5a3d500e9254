/* `vessel disk rebase [-u] -b BACKING [-F FMT] IMG`: give a qcow2 image another backing file.
 *
 * Safe mode keeps what IMG reads: every range IMG does not hold itself is read through the old
 * chain and through the new backing file, and wherever the two differ (compared per 512-byte
 * sector) the old content is written into IMG - a partial cluster is completed by IMG's usual
 * copy-on-write from the old chain. Only then does the header name the new file. -u only
 * rewrites the header. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "cli/disk_cmd.h"

#define WINDOW (4u << 20)

/* Reads [off, off+n) of d into buf, zeroes past d's end (d may be NULL: all zeroes). */
static int read_or_zero(struct disk *d, uint8_t *buf, uint64_t n, uint64_t off)
{
    uint64_t have = 0;

    if (d && off < d->size)
        have = d->size - off < n ? d->size - off : n;
    memset(buf + have, 0, n - have);
    return have ? disk_pread(d, buf, have, off) : 0;
}

/* Writes into img the sectors of [off, off+n) where old (what img reads now) and new differ. */
static int keep_differences(struct disk *img, const uint8_t *old, const uint8_t *new, uint64_t n,
                            uint64_t off)
{
    uint64_t run = 0, len = 0;
    int err = 0;

    for (uint64_t i = 0; i <= n && !err; i += 512) {
        bool differ = i < n && memcmp(old + i, new + i, 512);
        if (differ) {
            if (!len)
                run = i;
            len += 512;
            continue;
        }
        if (len)
            err = disk_pwrite(img, old + run, len, off + run);
        len = 0;
    }
    return err;
}

static int rebase_data(struct disk *img, struct disk *nb, struct disk_progress *p)
{
    uint8_t *old = malloc(WINDOW), *new = malloc(WINDOW);
    uint64_t off = 0;
    int err = old && new ? 0 : -ENOMEM;

    while (!err && off < img->size) {
        struct disk_status st;
        uint64_t n;

        err = disk_block_status(img, off, img->size - off, &st);
        if (err)
            break;
        n = st.len < WINDOW ? st.len : WINDOW;
        if (!(st.depth == 0 && st.present)) { /* read from the old chain: compare */
            err = read_or_zero(img, old, n, off);
            if (!err)
                err = read_or_zero(nb, new, n, off);
            if (!err)
                err = keep_differences(img, old, new, n, off);
        }
        off += n;
        disk_progress_set(p, off);
    }
    free(old);
    free(new);
    return err;
}

/* Refuses a new backing chain that contains img itself. */
static int check_loop(const char *img, struct disk *nb)
{
    struct stat si, sb;

    if (stat(img, &si) < 0)
        return -errno;
    for (struct disk *d = nb; d; d = d->backing) {
        if (stat(d->path, &sb) == 0 && si.st_dev == sb.st_dev && si.st_ino == sb.st_ino) {
            fprintf(stderr, "vessel: disk rebase: %s would be its own backing file (%s)\n", img,
                    d->path);
            return -ELOOP;
        }
    }
    return 0;
}

int disk_cmd_rebase(int argc, char **argv)
{
    const char *fmt_name = NULL, *bname = NULL, *bfmt_name = NULL, *path, *rec_fmt = NULL;
    enum disk_format fmt, bfmt;
    struct disk *img = NULL, *nb = NULL;
    struct disk_progress p;
    bool unsafe = false, progress = false;
    char *resolved = NULL;
    int c, err = 0;

    while ((c = getopt(argc, argv, ":f:b:F:up")) != -1) {
        switch (c) {
        case 'f': fmt_name = optarg; break;
        case 'b': bname = optarg; break;
        case 'F': bfmt_name = optarg; break;
        case 'u': unsafe = true; break;
        case 'p': progress = true; break;
        case ':': return disk_usage_err("rebase", "option %s needs a value", argv[optind - 1]);
        default: return disk_usage_err("rebase", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return disk_usage_err("rebase", "IMG is required");
    if (!bname)
        return disk_usage_err("rebase", "-b BACKING is required (-b \"\" for none)");
    path = argv[optind];
    if (disk_cli_format("rebase", "-f", fmt_name, &fmt) ||
        disk_cli_format("rebase", "-F", bfmt_name, &bfmt))
        return DISK_EXIT_ERROR;
    if (fmt == DISK_FORMAT_RAW)
        return disk_usage_err("rebase", "only qcow2 images have a backing file");
    if (!bname[0])
        bname = NULL;
    if (bname) {
        resolved = disk_qcow2_resolve_backing(path, bname);
        if (!resolved)
            return DISK_EXIT_ERROR;
        rec_fmt = bfmt_name;
        if (!unsafe) { /* safe mode reads the new backing file */
            err = disk_open(&nb, resolved, bfmt, true);
            if (!err)
                err = check_loop(path, nb);
            if (!err)
                rec_fmt = nb->ops->name;
        } else if (!bfmt_name && access(resolved, F_OK) == 0) {
            /* -u: the file need not open (its own chain may be broken); probe what we can */
            err = disk_open(&nb, resolved, DISK_FORMAT_PROBE, true);
            if (err)
                fprintf(stderr, "vessel: disk rebase: %s: recording no backing format\n", resolved);
            rec_fmt = err ? NULL : nb->ops->name;
            err = 0;
        }
    }
    if (!err && unsafe)
        err = disk_qcow2_open_nobacking(&img, path, false);
    else if (!err)
        err = disk_open(&img, path, DISK_FORMAT_QCOW2, false);
    if (!err && !disk_is_qcow2(img))
        err = -EINVAL;
    if (!err && !unsafe) {
        disk_progress_start(&p, progress, img->size);
        err = rebase_data(img, nb, &p);
        if (!err)
            err = img->ops->flush(img);
        disk_progress_end(&p);
    }
    if (!err)
        err = disk_qcow2_set_backing(img, bname, rec_fmt);
    if (img)
        disk_close(img);
    if (nb)
        disk_close(nb);
    free(resolved);
    if (err) {
        fprintf(stderr, "vessel: disk rebase: %s: %s\n", path, strerror(-err));
        return DISK_EXIT_ERROR;
    }
    return DISK_EXIT_OK;
}
