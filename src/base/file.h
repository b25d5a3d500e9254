/* File helpers: whole-file loading for guest images (kernels, firmware, initrds) and complete
 * positioned scatter/gather I/O for disk images. */
#ifndef VESSEL_BASE_FILE_H
#define VESSEL_BASE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Reads the regular file at path into a malloc'd buffer (*out, *len; free() it). Returns 0,
 * -errno from open/fstat/read, -EISDIR or -EINVAL for something that is not a regular file,
 * -EFBIG when it is larger than max bytes, -EIO on a short read. */
int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len);

/* Reads a small text file (procfs, sysfs, cgroup files) into buf, NUL-terminated, at most
 * cap - 1 bytes. Returns 0, -errno from open, or -EIO. */
int file_read_text(const char *path, char *buf, size_t cap);

/* preadv/pwritev of all of iov at offset off, continuing after short transfers and EINTR.
 * A read that reaches the end of the file fills the rest with zeroes; a write that cannot
 * progress is -EIO. Returns 0 or -errno. */
int file_prwv_full(int fd, const struct iovec *iov, int cnt, uint64_t off, bool write);

/* Writes all len bytes to fd (a file, pipe or socket), continuing after short writes and
 * EINTR. Returns 0 or -errno (-EIO when the fd takes nothing). */
int file_write_all(int fd, const void *buf, size_t len);

#endif
