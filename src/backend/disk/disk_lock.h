/* Disk image locks, as QEMU takes them, so that Vessel and QEMU (qemu-img, qemu-system) see each
 * other: open file description (OFD) locks on single bytes of the image file, all shared
 * (F_RDLCK). Byte 100+P is held by a user that has permission P; byte 200+P by a user that does
 * not share P with others. P: 0 "consistent read", 1 "write", 2 "write unchanged", 3 "resize".
 *
 *   reader (read-only disk, backing file, `vessel disk info/check`): holds 100, denies 201, 203
 *   writer (writable disk, `check --repair`): holds 100, 101, 103, denies 201, 203
 *
 * So a second writer is refused (its byte 101 meets the first's 201), a reader next to a
 * writer is refused both ways (201 against 101), readers share. After setting its bytes a user
 * checks for others' conflicting bytes with F_OFD_GETLK, as QEMU does; two users starting at
 * once may both be refused, never both let in. Locks belong to the open file description:
 * closing it releases them, and a second open of the same file in the same process is
 * another user. */
#ifndef VESSEL_BACKEND_DISK_DISK_LOCK_H
#define VESSEL_BACKEND_DISK_DISK_LOCK_H

#include <stdbool.h>

enum disk_lock { DISK_LOCK_NONE, DISK_LOCK_READ, DISK_LOCK_WRITE };

/* Sets fd's bytes for mode and checks that no other user conflicts. On a conflict fd is left
 * as it was before (its previous mode, prev) and -EBUSY is returned with one line logged:
 *   disk: PATH: locked by another user: it holds the "write" lock (byte 101 of QEMU's lock
 *   scheme) - another VM, `vessel disk` or qemu-img is using this image
 * (or "it does not share the "write" lock (byte 201 ...)" when the other one is a reader)
 * A file system without OFD locks (-EINVAL, -ENOLCK, -EOPNOTSUPP) gets one warning and 0.
 * Other errors: -errno, logged. */
int disk_lock_fd(int fd, const char *path, enum disk_lock prev, enum disk_lock mode);

/* Off: disk_lock_fd() does nothing (`vessel disk info|check --force-share`, like qemu-img -U). */
void disk_lock_set_enabled(bool on);

#endif
