/* Helpers shared by the `vessel disk` subcommands: error messages, format and size arguments,
 * the -p progress line, whole-buffer I/O. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/disk_cmd.h"

int disk_usage_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "vessel: disk %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see vessel disk %s --help)\n", cmd);
    return DISK_EXIT_ERROR;
}

int disk_cli_format(const char *cmd, const char *opt, const char *name, enum disk_format *fmt)
{
    *fmt = DISK_FORMAT_PROBE;
    if (!name)
        return 0;
    if (disk_format_parse(name, fmt)) {
        disk_usage_err(cmd, "%s %s: expected raw or qcow2", opt, name);
        return -EINVAL;
    }
    return 0;
}

int disk_cli_size(const char *cmd, const char *what, const char *s, uint64_t *bytes)
{
    int err = args_parse_size(s, bytes);

    if (err) {
        disk_usage_err(cmd, "%s %s: %s", what, s, args_size_error(err));
        return -EINVAL;
    }
    return 0;
}

void disk_progress_start(struct disk_progress *p, bool on, uint64_t total)
{
    *p = (struct disk_progress){.on = on, .total = total ? total : 1, .last = -1};
    disk_progress_set(p, 0);
}

void disk_progress_set(struct disk_progress *p, uint64_t done)
{
    int now;

    if (!p->on)
        return;
    if (done > p->total)
        done = p->total;
    now = (int)((unsigned __int128)done * 10000 / p->total);
    if (now == p->last)
        return;
    p->last = now;
    printf("    (%d.%02d/100%%)\r", now / 100, now % 100);
    fflush(stdout);
}

void disk_progress_end(struct disk_progress *p)
{
    if (!p->on)
        return;
    disk_progress_set(p, p->total);
    putchar('\n');
    fflush(stdout);
}

int disk_pread(struct disk *d, void *buf, uint64_t len, uint64_t off)
{
    struct iovec v = {.iov_base = buf, .iov_len = len};

    return d->ops->readv(d, off, &v, 1);
}

int disk_pwrite(struct disk *d, const void *buf, uint64_t len, uint64_t off)
{
    struct iovec v = {.iov_base = (void *)buf, .iov_len = len};

    return d->ops->writev(d, off, &v, 1);
}

bool disk_buf_is_zero(const void *buf, uint64_t len)
{
    const unsigned char *p = buf;

    /* the first 16 bytes, then the buffer against itself shifted by 16 */
    for (uint64_t i = 0; i < len && i < 16; i++)
        if (p[i])
            return false;
    return len <= 16 || !memcmp(p, p + 16, len - 16);
}
