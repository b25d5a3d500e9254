/* The daemon's path policy (policy.h). */
#include "host/policy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/jail.h"
#include "vm/vm_files.h"

int policy_add_dir(struct host_policy *p, const char *dir)
{
    char real[PATH_MAX];

    if (p->n == POLICY_DIRS_MAX)
        return -E2BIG;
    if (!realpath(dir, real))
        return -errno;
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->dirs[i], real))
            return 0;
    p->dirs[p->n] = strdup(real);
    if (!p->dirs[p->n])
        return -ENOMEM;
    p->n++;
    return 0;
}

void policy_free(struct host_policy *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->dirs[i]);
    p->n = 0;
}

void policy_dirs_text(const struct host_policy *p, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (int i = 0; i < p->n && n < cap; i++) {
        int k = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", p->dirs[i]);
        if (k < 0)
            break;
        n += (size_t)k;
    }
}

static int forbidden(const struct host_policy *p, const char *what, const char *path,
                     struct api_error *e)
{
    char dirs[200];

    policy_dirs_text(p, dirs, sizeof(dirs));
    return api_error_set(e, 403, "forbidden",
                         "%s %.300s is outside the directories this daemon lets clients use (%s; "
                         "vessel serve --allow-dir)",
                         what, path, dirs);
}

int policy_check_path(const struct host_policy *p, const char *what, const char *path,
                      struct api_error *e)
{
    char norm[PATH_MAX], real[PATH_MAX];

    if (!path[0])
        return 0;
    /* as written (a file outside is refused without being looked at) */
    if (path[0] != '/' || vm_path_normalize(path, norm, sizeof(norm)) ||
        !host_path_allowed(norm, p->dirs, p->n))
        return forbidden(p, what, path, e);
    /* and where it leads: no symlink out of the directories */
    if (realpath(path, real) && !host_path_allowed(real, p->dirs, p->n))
        return forbidden(p, what, path, e);
    return 0;
}

int policy_check_vm(const struct host_policy *p, const struct api_vm_config *a, struct api_error *e)
{
    struct vm_config c = {.arch = vm_config_strdup(a->arch)};
    struct vm_files fl;
    char why[600];
    int st = 0;

    c.kernel = a->kernel[0] ? vm_config_strdup(a->kernel) : NULL;
    c.initrd = a->initrd[0] ? vm_config_strdup(a->initrd) : NULL;
    c.firmware = a->firmware[0] ? vm_config_strdup(a->firmware) : NULL;
    c.restore = a->restore[0] ? vm_config_strdup(a->restore) : NULL;
    /* without "firmware", the board's default (from this daemon's VESSEL_CACHE or HOME) */
    for (int i = 0; i < a->ndisks; i++)
        c.disks[c.ndisks++] = (struct vm_disk){.path = vm_config_strdup(a->disks[i].path),
                                               .readonly = a->disks[i].readonly};
    if (vm_config_files(&c, &fl, why, sizeof(why))) {
        vm_config_free(&c);
        return api_error_set(e, 422, "bad_file", "%.250s", why);
    }
    for (int i = 0; i < fl.n && !st; i++)
        st = policy_check_path(p, fl.f[i].what, fl.f[i].path, e);
    vm_files_free(&fl);
    vm_config_free(&c);
    return st;
}

int policy_snapshot_path(const struct host_policy *p, const char *path, char *real,
                         struct api_error *e)
{
    char dir[PATH_MAX], rdir[PATH_MAX];
    const char *base = strrchr(path, '/');
    int st = policy_check_path(p, "'path'", path, e);

    if (st)
        return st;
    if (!base || !base[1] || !strcmp(base + 1, ".") || !strcmp(base + 1, "..") ||
        strlen(path) >= sizeof(dir))
        return api_error_set(e, 422, "out_of_range", "'path' must name a file");
    memcpy(dir, path, (size_t)(base - path));
    dir[base - path] = '\0';
    if (!realpath(dir[0] ? dir : "/", rdir))
        return api_error_set(e, 422, "bad_file", "'path' %.300s: its directory: %s", path,
                             strerror(errno));
    if (!host_path_allowed(rdir, p->dirs, p->n))
        return forbidden(p, "'path'", path, e);
    if (snprintf(real, PATH_MAX, "%s/%s", strcmp(rdir, "/") ? rdir : "", base + 1) >= PATH_MAX)
        return api_error_set(e, 422, "out_of_range", "'path' is too long");
    return 0;
}
