/* qcow2: file I/O and scatter-list helpers. Reads past the end of the file see zeroes; short
 * writes continue where they stopped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/disk/qcow2_int.h"
#include "base/file.h"
#include "base/log.h"

int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
    struct iovec v = {.iov_base = buf, .iov_len = len};

    return qcow2_preadv(q, &v, 1, off);
}

int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off)
{
    struct iovec v = {.iov_base = (void *)buf, .iov_len = len};

    return qcow2_pwritev(q, &v, 1, off);
}

static int rw(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off, bool write)
{
    int err = file_prwv_full(q->fd, iov, cnt, off, write);

    if (write) {
        /* even a failed write may have grown the file: allocate beyond what it reached */
        uint64_t end = off;
        for (int i = 0; i < cnt; i++)
            end += iov[i].iov_len;
        q->data_dirty = true;
        if (end > q->file_size)
            q->file_size = end;
    }
    return err;
}

int qcow2_preadv(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off)
{
    return rw(q, iov, cnt, off, false);
}

int qcow2_pwritev(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off)
{
    if (q->readonly)
        return -EROFS;
    return rw(q, iov, cnt, off, true);
}

int qcow2_sync(struct qcow2 *q)
{
    if (fdatasync(q->fd) < 0) {
        int err = -errno;
        log_err("disk: %s: fdatasync: %s", q->path, strerror(errno));
        return err;
    }
    q->data_dirty = false;
    return 0;
}

int qcow2_iov_slice(const struct iovec *iov, int cnt, size_t skip, size_t len, struct iovec *out,
                    int max)
{
    int i = 0, n = 0;

    while (i < cnt && skip >= iov[i].iov_len) {
        skip -= iov[i].iov_len;
        i++;
    }
    while (len > 0) {
        if (i >= cnt || n >= max)
            return -EINVAL;
        size_t take = iov[i].iov_len - skip;
        if (take > len)
            take = len;
        out[n].iov_base = (char *)iov[i].iov_base + skip;
        out[n].iov_len = take;
        n++;
        len -= take;
        skip = 0;
        i++;
    }
    return n;
}

static void iov_walk(const struct iovec *iov, int cnt, size_t skip, uint8_t *buf, size_t len,
                     int op)
{
    for (int i = 0; i < cnt && len > 0; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t take = iov[i].iov_len - skip;
        uint8_t *p = (uint8_t *)iov[i].iov_base + skip;
        if (take > len)
            take = len;
        if (op == 0)
            memcpy(p, buf, take);
        else if (op == 1)
            memcpy(buf, p, take);
        else
            memset(p, 0, take);
        if (buf)
            buf += take;
        len -= take;
        skip = 0;
    }
}

void qcow2_iov_copy(const struct iovec *iov, int cnt, size_t skip, void *buf, size_t len,
                    bool to_iov)
{
    iov_walk(iov, cnt, skip, buf, len, to_iov ? 0 : 1);
}

void qcow2_iov_zero(const struct iovec *iov, int cnt, size_t skip, size_t len)
{
    iov_walk(iov, cnt, skip, NULL, len, 2);
}
