#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t done = 0;
    int fd, err;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        err = -EISDIR;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err = -EINVAL;
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        err = -EFBIG;
        goto out;
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        err = -ENOMEM;
        goto out;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = -errno;
            goto out;
        }
        if (n == 0) {
            err = -EIO; /* the file shrank under us */
            goto out;
        }
        done += (size_t)n;
    }
    *out = buf;
    *len = done;
    buf = NULL;
    err = 0;
out:
    free(buf);
    close(fd);
    return err;
}

int file_prwv_full(int fd, const struct iovec *iov, int cnt, uint64_t off, bool write)
{
    struct iovec local[64], *base = local, *v;
    int n = cnt, err = 0;

    if (cnt < 0 || off > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (cnt > 64 && !(base = malloc(sizeof(*iov) * (size_t)cnt)))
        return -ENOMEM;
    if (cnt)
        memcpy(base, iov, sizeof(*iov) * (size_t)cnt);
    v = base;
    while (n > 0) {
        ssize_t r;

        if (v->iov_len == 0) { /* empty entries would make a zero-length transfer look like EOF */
            v++;
            n--;
            continue;
        }
        r = write ? pwritev(fd, v, n, (off_t)off) : preadv(fd, v, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = -errno;
            break;
        }
        if (r == 0) {
            if (write) {
                err = -EIO;
                break;
            }
            for (int i = 0; i < n; i++)
                memset(v[i].iov_base, 0, v[i].iov_len);
            break;
        }
        off += (uint64_t)r;
        while (n > 0 && (size_t)r >= v->iov_len) {
            r -= (ssize_t)v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (char *)v->iov_base + r;
            v->iov_len -= (size_t)r;
        }
    }
    if (base != local)
        free(base);
    return err;
}

int file_read_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    do
        n = read(fd, buf, cap - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return -EIO;
    buf[n] = '\0';
    return 0;
}

int file_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len > (1U << 30) ? (1U << 30) : len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
