/* Which host paths the daemon's clients may use: every file a VM definition names (kernel,
 * initrd, firmware, restore, disks, and what they lead to: qcow2 backing chains, the boot files
 * a snapshot records) and every snapshot path must lie in one of the allowed directories
 * (`vessel serve --allow-dir`, default the state and image directories), else 403 "forbidden"
 * naming the path and the directories. Paths are checked as written and again once symlinks
 * are resolved, before the daemon looks at the file at all, so that a refusal says nothing
 * about files outside. The VM's jail checks the same list again when it starts. */
#ifndef VESSEL_HOST_POLICY_H
#define VESSEL_HOST_POLICY_H

#include "api/apireq.h"

#define POLICY_DIRS_MAX 16

struct host_policy {
    char *dirs[POLICY_DIRS_MAX]; /* canonical */
    int n;
};

/* Adds a directory (made canonical: it must exist). 0 or -errno. */
int policy_add_dir(struct host_policy *p, const char *dir);
void policy_free(struct host_policy *p);
/* "/a, /b" for messages. */
void policy_dirs_text(const struct host_policy *p, char *out, size_t cap);

/* 0, or 403 with e filled: what ("'initrd'", "disk", ...) path is outside the directories. A
 * file that does not exist (inside them) is 0: the caller says 422 bad_file. */
int policy_check_path(const struct host_policy *p, const char *what, const char *path,
                      struct api_error *e);
/* A definition's files and what they lead to (backing chains, a snapshot's boot files). */
int policy_check_vm(const struct host_policy *p, const struct api_vm_config *c,
                    struct api_error *e);
/* A snapshot's path: its directory must exist inside the allowed ones, its name must be a plain
 * file name. real (PATH_MAX) gets the canonical path. 0, 403 or 422. */
int policy_snapshot_path(const struct host_policy *p, const char *path, char *real,
                         struct api_error *e);

#endif
