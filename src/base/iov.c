#include "base/iov.h"

#include <string.h>

size_t iov_size(const struct iovec *iov, unsigned cnt)
{
    size_t n = 0;

    for (unsigned i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return n;
}

size_t iov_to_buf(const struct iovec *iov, unsigned cnt, size_t off, void *buf, size_t len)
{
    size_t done = 0;

    for (unsigned i = 0; i < cnt && done < len; i++) {
        size_t n;

        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        n = iov[i].iov_len - off;
        if (n > len - done)
            n = len - done;
        memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + off, n);
        done += n;
        off = 0;
    }
    return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned cnt, size_t off, const void *buf, size_t len)
{
    size_t done = 0;

    for (unsigned i = 0; i < cnt && done < len; i++) {
        size_t n;

        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        n = iov[i].iov_len - off;
        if (n > len - done)
            n = len - done;
        memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)buf + done, n);
        done += n;
        off = 0;
    }
    return done;
}

int iov_slice(const struct iovec *iov, unsigned cnt, size_t off, size_t len, struct iovec *out,
              unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < cnt && len > 0; i++) {
        size_t take;

        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        if (n == max)
            return -1;
        take = iov[i].iov_len - off;
        if (take > len)
            take = len;
        out[n].iov_base = (uint8_t *)iov[i].iov_base + off;
        out[n].iov_len = take;
        n++;
        len -= take;
        off = 0;
    }
    return len ? -1 : (int)n;
}
