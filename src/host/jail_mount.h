/* The jail's mount tree (host/jail.h, step 4): a private tmpfs root with bind mounts, then
 * pivot_root. Runs as root in the VM process's new mount namespace. */
#ifndef VESSEL_HOST_JAIL_MOUNT_H
#define VESSEL_HOST_JAIL_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

enum jail_bind_kind { JAIL_BIND_FILE, JAIL_BIND_DIR, JAIL_BIND_DEV };

struct jail_mounts {
    const char *root; /* the (empty) host directory the tmpfs root is mounted on */
    uid_t uid;        /* the VM's: a bound file's owner appears as it */
    gid_t gid;
    int userns[8]; /* idmapping user namespaces, one per owner seen */
    uid_t owner_uid[8];
    gid_t owner_gid[8];
    int nuserns;
    bool warned_idmap;
};

/* Mounts a tmpfs on m->root (created if missing) in this process's (private) mount
 * namespace. 0 or -errno (logged). */
int jail_mounts_begin(struct jail_mounts *m);
/* Makes host path src visible in the jail at dst (a file, a directory or a device node),
 * read-only unless writable. Regular files and directories go through an idmapped mount that
 * shows their owner as m->uid (and group as m->gid); where the file system cannot do that the
 * bind is plain (one warning) and the file's own permissions apply. 0 or -errno (logged). */
int jail_bind(struct jail_mounts *m, const char *src, const char *dst, enum jail_bind_kind kind,
              bool writable);
/* /proc for this PID namespace only (subset=pid): the VM's own /proc/self. */
int jail_mount_proc(struct jail_mounts *m);
/* pivot_root into the tmpfs, the old root detached, the new root made read-only. */
int jail_mounts_finish(struct jail_mounts *m);

#endif
