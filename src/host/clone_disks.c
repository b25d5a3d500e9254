/* Per-start disk overlays of clone VMs (see clone_disks.h). */
#include "host/clone_disks.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "state/snapconfig.h"

/* Only files the daemon made in its own directory, named for this VM, are ever removed. */
static bool owned_path(const struct registry *r, const struct host_vm *v, const char *p)
{
    char dir[PATH_MAX];
    size_t n;

    if (!realpath(r->vmdir, dir))
        return false;
    n = strlen(dir);
    return !strncmp(p, dir, n) && p[n] == '/' && !strncmp(p + n + 1, v->id, strlen(v->id)) &&
           !strchr(p + n + 1, '/');
}

static void remove_owned(const struct registry *r, struct host_vm *v)
{
    for (int i = 0; i < API_MAX_DISKS; i++) {
        if (v->clone_disk[i][0] && !v->clone_keep[i] && owned_path(r, v, v->clone_disk[i]))
            unlink(v->clone_disk[i]);
        v->clone_disk[i][0] = '\0';
        v->clone_keep[i] = false;
    }
}

/* True when the snapshot's CONFIG has a virtio-blk device at the resolved path real. */
static bool snapshot_has_disk(const struct snapshot_config *sc, const char *real)
{
    char want[PATH_MAX + 32];

    snprintf(want, sizeof(want), "virtio-blk path=%s ", real);
    for (int d = 0; d < sc->ndevices; d++)
        if (!strncmp(sc->devices[d], want, strlen(want)))
            return true;
    return false;
}

int clone_disks_prepare(const struct registry *r, struct host_vm *v, char *why, size_t cap)
{
    struct snapshot_config sc;
    char dir[PATH_MAX];
    int err;

    remove_owned(r, v);
    if (!realpath(r->vmdir, dir)) {
        snprintf(why, cap, "%.200s: %s", r->vmdir, strerror(errno));
        return -errno;
    }
    err = snapshot_read_config_file(v->cfg.restore, "rv64", "riscv64", &sc);
    if (err) {
        snprintf(why, cap, "'restore' %.200s: not a usable riscv64 snapshot: %s", v->cfg.restore,
                 strerror(-err));
        return err;
    }
    for (int i = 0; i < v->cfg.ndisks && !err; i++) {
        struct disk_qcow2_create_opts o = {.private_mode = true};
        char real[PATH_MAX], name[PATH_MAX + 64];
        uint8_t rnd[4];
        int n;

        if (v->cfg.disks[i].readonly)
            continue;
        if (!realpath(v->cfg.disks[i].path, real)) {
            err = -errno;
            snprintf(why, cap, "disk %.200s: %s", v->cfg.disks[i].path, strerror(errno));
            break;
        }
        if (!snapshot_has_disk(&sc, real)) /* e.g. an overlay of it: the clone writes there */
            continue;
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
            err = -EIO;
            snprintf(why, cap, "getrandom: %s", strerror(errno));
            break;
        }
        n = snprintf(name, sizeof(name), "%s/%s-disk%d-clone-%02x%02x%02x%02x.qcow2", dir, v->id, i,
                     rnd[0], rnd[1], rnd[2], rnd[3]);
        if (n < 0 || (size_t)n >= sizeof(v->clone_disk[i])) {
            err = -ENAMETOOLONG;
            snprintf(why, cap, "an overlay name in %.200s is too long", dir);
            break;
        }
        memcpy(v->clone_disk[i], name, (size_t)n + 1);
        o.backing = real;
        err = disk_qcow2_create(v->clone_disk[i], &o); /* logs the details */
        if (err)
            snprintf(why, cap, "creating the overlay %.200s of %.200s: %s", v->clone_disk[i], real,
                     strerror(-err));
    }
    snapshot_config_free(&sc);
    if (err)
        remove_owned(r, v);
    return err;
}

bool clone_disks_follow(struct host_vm *v, const char *was, const char *now)
{
    char real[PATH_MAX];

    if (strlen(now) >= sizeof(v->clone_disk[0]))
        return false;
    for (int i = 0; i < API_MAX_DISKS; i++) {
        const char *p = v->clone_disk[i];
        if (p[0] && (!strcmp(p, was) || (realpath(p, real) && !strcmp(real, was)))) {
            snprintf(v->clone_disk[i], sizeof(v->clone_disk[i]), "%s", now);
            v->clone_keep[i] = false;
            return true;
        }
    }
    return false;
}

void clone_disks_keep(struct host_vm *v)
{
    for (int i = 0; i < API_MAX_DISKS; i++)
        v->clone_keep[i] = v->clone_disk[i][0] != '\0';
}

void clone_disks_remove(const struct registry *r, struct host_vm *v)
{
    remove_owned(r, v);
}
