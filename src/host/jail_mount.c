/* The jail's mount tree (jail_mount.h). */
#include "host/jail_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"

/* mkdir -p of path's parents (and path itself when dir). */
static int make_dirs(const char *path, bool dir)
{
    char p[PATH_MAX];
    size_t n = strlen(path);

    if (n >= sizeof(p))
        return -ENAMETOOLONG;
    memcpy(p, path, n + 1);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (dir && mkdir(p, 0755) && errno != EEXIST)
        return -errno;
    return 0;
}

int jail_mounts_begin(struct jail_mounts *m)
{
    int err = make_dirs(m->root, true);

    if (!err && chmod(m->root, 0700))
        err = -errno;
    if (err) {
        log_err("jail: %s: %s", m->root, strerror(-err));
        return err;
    }
    /* private: nothing mounted here shows outside this mount namespace */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
        mount("vessel-jail", m->root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0755,size=1m,nr_inodes=4096")) {
        err = -errno;
        log_err("jail: mounting the jail's root on %s: %s", m->root, strerror(errno));
        return err;
    }
    return 0;
}

/* A user namespace mapping owner (uid, gid) to the VM's, for idmapped mounts: a child enters a
 * new one and tells its pid as the host's /proc knows it; this process writes the maps. */
static int userns_for(struct jail_mounts *m, uid_t uid, gid_t gid)
{
    char path[64], map[64], pid[32] = "";
    int sync[2], go[2], fd, ns = -1, err = 0;
    ssize_t n;
    pid_t child;

    for (int i = 0; i < m->nuserns; i++)
        if (m->owner_uid[i] == uid && m->owner_gid[i] == gid)
            return m->userns[i];
    if (m->nuserns == (int)(sizeof(m->userns) / sizeof(m->userns[0])))
        return -ENOSPC;
    if (pipe2(sync, O_CLOEXEC))
        return -errno;
    if (pipe2(go, O_CLOEXEC)) {
        close(sync[0]);
        close(sync[1]);
        return -errno;
    }
    child = fork();
    if (child == 0) {
        char c;
        close(go[1]);
        close(sync[0]);
        if (unshare(CLONE_NEWUSER))
            _exit(1);
        n = readlink("/proc/self", pid, sizeof(pid) - 1);
        if (n <= 0 || write(sync[1], pid, (size_t)n) != n)
            _exit(1);
        if (read(go[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(sync[1]);
    close(go[0]);
    if (child < 0) {
        err = -errno;
        close(sync[0]);
        close(go[1]);
        return err;
    }
    n = read(sync[0], pid, sizeof(pid) - 1);
    close(sync[0]);
    if (n <= 0) {
        err = -ECHILD;
        goto out;
    }
    pid[n] = '\0';
    for (int k = 0; k < 2 && !err; k++) {
        snprintf(path, sizeof(path), "/proc/%s/%s", pid, k ? "gid_map" : "uid_map");
        snprintf(map, sizeof(map), "%u %u 1\n", k ? (unsigned)gid : (unsigned)uid,
                 k ? (unsigned)m->gid : (unsigned)m->uid);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
            err = -errno;
        if (fd >= 0)
            close(fd);
    }
    snprintf(path, sizeof(path), "/proc/%s/ns/user", pid);
    if (!err && (ns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        err = -errno;
out:
    close(go[1]); /* the child ends */
    waitpid(child, NULL, 0);
    if (err)
        return err;
    m->owner_uid[m->nuserns] = uid;
    m->owner_gid[m->nuserns] = gid;
    m->userns[m->nuserns++] = ns;
    return ns;
}

/* The target for a bind: an empty file or directory inside the tmpfs. */
static int make_target(const char *t, enum jail_bind_kind kind)
{
    int err = make_dirs(t, kind == JAIL_BIND_DIR), fd;

    if (err || kind == JAIL_BIND_DIR)
        return err;
    fd = open(t, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -errno;
    close(fd);
    return 0;
}

int jail_bind(struct jail_mounts *m, const char *src, const char *dst, enum jail_bind_kind kind,
              bool writable)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID};
    char target[PATH_MAX * 2];
    struct stat st;
    int tree = -1, err;

    if (snprintf(target, sizeof(target), "%s%s", m->root, dst) >= (int)sizeof(target))
        return -ENAMETOOLONG;
    if ((err = make_target(target, kind)))
        goto fail;
    tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0 || fstat(tree, &st)) {
        err = -errno;
        goto fail;
    }
    if (!writable)
        attr.attr_set |= MOUNT_ATTR_RDONLY;
    if (kind != JAIL_BIND_DEV)
        attr.attr_set |= MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (kind != JAIL_BIND_DEV) {
        int ns = userns_for(m, st.st_uid, st.st_gid);
        struct mount_attr idm = attr;

        idm.attr_set |= MOUNT_ATTR_IDMAP;
        idm.userns_fd = (uint64_t)ns;
        if (ns >= 0 && !syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &idm, sizeof(idm)))
            goto move;
        if (!m->warned_idmap) {
            log_warn("jail: %s: no idmapped mount (%s): the VM (uid %u) has the file's own "
                     "permissions for others",
                     src, strerror(ns < 0 ? -ns : errno), (unsigned)m->uid);
            m->warned_idmap = true;
        }
    }
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr))) {
        err = -errno;
        goto fail;
    }
move:
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)) {
        err = -errno;
        goto fail;
    }
    close(tree);
    return 0;
fail:
    log_err("jail: making %s visible in the jail: %s", src, strerror(-err));
    if (tree >= 0)
        close(tree);
    return err;
}

int jail_mount_proc(struct jail_mounts *m)
{
    char target[PATH_MAX];
    int err;

    snprintf(target, sizeof(target), "%s/proc", m->root);
    if ((err = make_dirs(target, true)))
        return err;
    if (mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "subset=pid,hidepid=invisible")) {
        err = -errno;
        log_err("jail: mounting /proc: %s", strerror(errno));
        return err;
    }
    return 0;
}

int jail_mounts_finish(struct jail_mounts *m)
{
    for (int i = 0; i < m->nuserns; i++)
        close(m->userns[i]);
    m->nuserns = 0;
    if (chdir(m->root) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) ||
        chdir("/")) {
        int err = -errno;
        log_err("jail: pivot_root into %s: %s", m->root, strerror(errno));
        return err;
    }
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
        int err = -errno;
        log_err("jail: making the jail's root read-only: %s", strerror(errno));
        return err;
    }
    return 0;
}
