/* Whole-file loading for guest images (kernels, firmware, initrds). */
#ifndef VESSEL_BASE_FILE_H
#define VESSEL_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Reads the regular file at path into a malloc'd buffer (*out, *len; free() it). Returns 0,
 * -errno from open/fstat/read, -EISDIR or -EINVAL for something that is not a regular file,
 * -EFBIG when it is larger than max bytes, -EIO on a short read. */
int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len);

#endif
