/* The files a VM opens (vm_files.h). */
#include "vm/vm_files.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "board/board.h"
#include "state/snapconfig.h"

int vm_path_normalize(const char *path, char *out, size_t cap)
{
    size_t n = 0;
    const char *p = path;

    if (cap < 2)
        return -ENAMETOOLONG;
    out[n++] = '/';
    while (*p) {
        size_t len;

        while (*p == '/')
            p++;
        len = strcspn(p, "/");
        if (!len)
            break;
        if (len == 1 && p[0] == '.') {
            /* nothing */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 1 && out[n - 1] != '/')
                n--;
            if (n > 1)
                n--; /* the slash before the dropped part */
        } else {
            if (n > 1)
                out[n++] = '/';
            if (n + len + 1 > cap)
                return -ENAMETOOLONG;
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
        if (n + 2 > cap)
            return -ENAMETOOLONG;
    }
    out[n] = '\0';
    return 0;
}

void vm_files_free(struct vm_files *fl)
{
    for (int i = 0; i < fl->n; i++) {
        free(fl->f[i].path);
        free(fl->f[i].what_buf);
    }
    fl->n = 0;
}

static int add(struct vm_files *fl, const char *path, bool writable, const char *what,
               const char *of, char *why, size_t whylen)
{
    char norm[PATH_MAX];
    struct vm_file *f;

    if (vm_path_normalize(path, norm, sizeof(norm))) {
        snprintf(why, whylen, "%s %s: path too long", what, path);
        return -ENAMETOOLONG;
    }
    for (int i = 0; i < fl->n; i++) {
        if (!strcmp(fl->f[i].path, norm)) {
            fl->f[i].writable |= writable;
            return 0;
        }
    }
    if (fl->n == VM_FILES_MAX) {
        snprintf(why, whylen, "more than %d files", VM_FILES_MAX);
        return -E2BIG;
    }
    f = &fl->f[fl->n];
    *f = (struct vm_file){.path = strdup(norm), .writable = writable, .what = what};
    if (of && asprintf(&f->what_buf, "%s of %s", what, of) >= 0)
        f->what = f->what_buf;
    if (!f->path) {
        free(f->what_buf);
        return -ENOMEM;
    }
    fl->n++;
    return 0;
}

/* Replaces *p (malloc'd) by its canonical path; a file that does not exist is an error. */
static int canonical(char **p, const char *what, char *why, size_t whylen)
{
    char real[PATH_MAX];

    if (!*p)
        return 0;
    if (!realpath(*p, real)) {
        int err = -errno;
        snprintf(why, whylen, "%s %s: %s", what, *p, strerror(errno));
        return err;
    }
    free(*p);
    *p = vm_config_strdup(real);
    return 0;
}

/* The disk and every image of its backing chain. The lock test is left to the VM: here the
 * image is only looked at (its own bytes unlocked; backing files take a reader's lock). */
static int add_disk(struct vm_files *fl, const struct vm_disk *k, char *why, size_t whylen)
{
    struct disk *d, *cur;
    unsigned flags = DISK_OPEN_READONLY | DISK_OPEN_NOLOCK;
    int err = disk_open_ex(&d, k->path, k->format, flags);

    if (err) {
        snprintf(why, whylen, "--disk %s: cannot open the disk (see above)", k->path);
        return err;
    }
    err = add(fl, k->path, !k->readonly, "disk", NULL, why, whylen);
    for (cur = d; !err && cur && disk_is_qcow2(cur);) {
        struct disk_qcow2_info qi;
        char real[PATH_MAX];

        disk_qcow2_info(cur, &qi);
        if (!qi.backing)
            break;
        /* where the VM's qcow2 code opens it, and the file itself */
        err = add(fl, qi.backing->path, false, "backing file", k->path, why, whylen);
        if (!err && realpath(qi.backing->path, real))
            err = add(fl, real, false, "backing file", k->path, why, whylen);
        cur = qi.backing;
    }
    disk_close(d);
    return err;
}

/* A restore: the snapshot, and the boot files it records (a guest reboot reads them). */
static int add_restore(struct vm_files *fl, const struct vm_config *c, const struct board_ops *b,
                       char *why, size_t whylen)
{
    struct snapshot_config sc;
    const char *boot[4];
    static const char *const names[] = {"kernel", "initrd", "firmware", "boot loader"};
    int err = add(fl, c->restore, false, "snapshot", NULL, why, whylen);

    if (err)
        return err;
    if (snapshot_read_config_file(c->restore, b->engine->name, b->arch, &sc)) {
        snprintf(why, whylen, "--restore %s: not a usable snapshot (see above)", c->restore);
        return -EINVAL;
    }
    boot[0] = sc.kernel;
    boot[1] = sc.initrd;
    boot[2] = sc.firmware;
    boot[3] = sc.bootloader;
    for (int i = 0; !err && i < 4; i++) {
        char real[PATH_MAX];
        if (boot[i] && boot[i][0] == '/' && realpath(boot[i], real)) /* else a reboot fails */
            err = add(fl, real, false, names[i], "the snapshot", why, whylen);
    }
    snapshot_config_free(&sc);
    return err;
}

/* The board's default file name in the guest cache, into *path (unset when there is no cache
 * directory: vm_create says what is missing then). */
static int cache_default(char **path, const struct board_ops *b, const char *name)
{
    const char *cache = getenv("VESSEL_CACHE"), *home = getenv("HOME");

    if (cache && *cache)
        return asprintf(path, "%s/%s/%s", cache, b->arch, name) < 0 ? -ENOMEM : 0;
    if (home && *home)
        return asprintf(path, "%s/.cache/vessel/%s/%s", home, b->arch, name) < 0 ? -ENOMEM : 0;
    return 0;
}

/* The default firmware, and the default boot loader of a VM that boots from its disk: named
 * here so that a jail holds them (vm_create would look them up the same way). */
static int default_files(struct vm_config *c, const struct board_ops *b)
{
    int err = 0;

    if (!c->firmware && !c->restore && b->default_firmware)
        err = cache_default(&c->firmware, b, b->default_firmware);
    if (!err && !c->kernel && !c->bootloader && !c->restore && !c->incoming &&
        b->default_bootloader)
        err = cache_default(&c->bootloader, b, b->default_bootloader);
    return err;
}

int vm_config_files(struct vm_config *c, struct vm_files *out, char *why, size_t whylen)
{
    const struct board_ops *b = board_find(c->arch ? c->arch : VM_DEFAULT_ARCH);
    int err;

    memset(out, 0, sizeof(*out));
    if (!b) {
        snprintf(why, whylen, "--arch %s: unknown architecture", c->arch);
        return -EINVAL;
    }
    out->kvm = !strcmp(b->engine->name, "kvm");
    for (int i = 0; i < c->nnets; i++)
        out->user_net |=
            !strncmp(c->nets[i], "user", 4) && (!c->nets[i][4] || c->nets[i][4] == ',');
    if ((err = default_files(c, b)) || (err = canonical(&c->kernel, "--kernel", why, whylen)) ||
        (err = canonical(&c->bootloader, "--bootloader", why, whylen)) ||
        (err = canonical(&c->initrd, "--initrd", why, whylen)) ||
        (err = canonical(&c->firmware, "--firmware", why, whylen)) ||
        (err = canonical(&c->restore, "--restore", why, whylen)))
        return err;
    for (int i = 0; i < c->ndisks; i++)
        if ((err = canonical(&c->disks[i].path, "--disk", why, whylen)))
            return err;
    if ((c->kernel && (err = add(out, c->kernel, false, "kernel", NULL, why, whylen))) ||
        (c->initrd && (err = add(out, c->initrd, false, "initrd", NULL, why, whylen))) ||
        (c->firmware && (err = add(out, c->firmware, false, "firmware", NULL, why, whylen))) ||
        (c->bootloader &&
         (err = add(out, c->bootloader, false, "boot loader", NULL, why, whylen))) ||
        (c->restore && (err = add_restore(out, c, b, why, whylen))))
        goto fail;
    for (int i = 0; i < c->ndisks; i++)
        if ((err = add_disk(out, &c->disks[i], why, whylen)))
            goto fail;
    return 0;
fail:
    vm_files_free(out);
    return err;
}
