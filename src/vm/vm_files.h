/* The host files a VM opens by path, from its configuration: what a jail (host/jail.h) must
 * make visible to the VM process, and what the daemon's path policy checks. */
#ifndef VESSEL_VM_VM_FILES_H
#define VESSEL_VM_VM_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "vm/vm_config.h"

#define VM_FILES_MAX 128

struct vm_file {
    char *path;       /* absolute, as the VM opens it */
    bool writable;    /* read-write (a writable disk), else read-only */
    const char *what; /* "kernel", "disk", "backing file of /x.qcow2", ... (static or owned) */
    char *what_buf;
};

struct vm_files {
    struct vm_file f[VM_FILES_MAX];
    int n;
    bool user_net; /* --net user: libslirp reads /etc/resolv.conf */
    bool kvm;      /* the board's engine is kvm: /dev/kvm */
};

/* Makes every path of c absolute and canonical (realpath: a jail has no symlinks, and snapshots
 * record canonical disk paths), resolves the board's default firmware into c->firmware when c
 * boots without one, and lists every file the VM opens: boot files (and, for a restore, the
 * snapshot file and the boot files it records, which a guest reboot reads), disks and every
 * image of their qcow2 backing chains (read-only). 0, or -errno with why filled (a file that
 * cannot be found or opened). */
int vm_config_files(struct vm_config *c, struct vm_files *out, char *why, size_t whylen);
void vm_files_free(struct vm_files *fl);

/* path without "." and ".." parts and repeated slashes (lexically; path is absolute). 0, or
 * -ENAMETOOLONG. */
int vm_path_normalize(const char *path, char *out, size_t cap);

#endif
