/* iovec helpers: sizes and copies between flat buffers and scatter lists. */
#ifndef VESSEL_BASE_IOV_H
#define VESSEL_BASE_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Total bytes of iov[0..cnt). */
size_t iov_size(const struct iovec *iov, unsigned cnt);
/* Copy up to len bytes starting at byte offset off of the scatter list into buf; returns the
 * number of bytes copied (less than len when the list ends first). */
size_t iov_to_buf(const struct iovec *iov, unsigned cnt, size_t off, void *buf, size_t len);
/* Copy up to len bytes from buf into the scatter list at byte offset off; returns bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned cnt, size_t off, const void *buf, size_t len);
/* Describe bytes [off, off+len) of iov in out (at most max entries); returns the number of
 * entries used, or -1 when max is too small or the range goes past the end. */
int iov_slice(const struct iovec *iov, unsigned cnt, size_t off, size_t len, struct iovec *out,
              unsigned max);

#endif
