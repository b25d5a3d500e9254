/* Per-VM cgroups on v1 or v2 (see cgroup.h). */
#include "host/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"

int cgroup_write(const char *dir, const char *file, const char *str)
{
    char path[CGROUP_PATH_MAX + 64];
    size_t n = strlen(str);
    ssize_t w;
    int fd, err = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    w = write(fd, str, n);
    if (w < 0)
        err = -errno;
    else if ((size_t)w != n)
        err = -EIO;
    close(fd);
    return err;
}

static int read_small(const char *dir, const char *file, char *buf, size_t cap)
{
    char path[CGROUP_PATH_MAX + 64];

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return file_read_text(path, buf, cap);
}

/* The daemon's own group in the hierarchy whose /proc/self/cgroup controller list contains
 * ctrl ("" for the v2 line "0::"). */
static bool own_group(const char *ctrl, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[1024];
    bool found = false;

    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = '\0';
        *c2 = '\0';
        c2[1 + strcspn(c2 + 1, "\n")] = '\0';
        if (!*ctrl) {
            found = !strcmp(line, "0") && c1[1] == '\0';
        } else {
            char *tok, *save = NULL;
            for (tok = strtok_r(c1 + 1, ",", &save); tok && !found;
                 tok = strtok_r(NULL, ",", &save))
                found = !strcmp(tok, ctrl);
        }
        if (found)
            snprintf(out, cap, "%s", strcmp(c2 + 1, "/") ? c2 + 1 : "");
    }
    fclose(f);
    return found;
}

static bool has_opt(const char *opts, const char *want)
{
    size_t n = strlen(want);

    for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (!strncmp(p, want, n) && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* mkdir -p of the last component only (the parent exists). */
static int make_dir(const char *path)
{
    if (mkdir(path, 0755) && errno != EEXIST)
        return -errno;
    return 0;
}

static bool v2_usable(const char *mnt, struct cgroup_host *h)
{
    char own[CGROUP_PATH_MAX / 2] = "", parent[CGROUP_PATH_MAX], buf[256];
    const char *cands[2];

    own_group("", own, sizeof(own));
    snprintf(parent, sizeof(parent), "%s%s", mnt, own);
    cands[0] = parent;
    cands[1] = mnt;
    for (int i = 0; i < 2; i++) {
        if (read_small(cands[i], "cgroup.controllers", buf, sizeof(buf)) || !strstr(buf, "cpu") ||
            !strstr(buf, "memory"))
            continue;
        if (cgroup_write(cands[i], "cgroup.subtree_control", "+cpu +memory"))
            continue;
        snprintf(h->cpu, sizeof(h->cpu), "%s/vessel", cands[i]);
        if (make_dir(h->cpu) || cgroup_write(h->cpu, "cgroup.subtree_control", "+cpu +memory"))
            continue;
        return true;
    }
    return false;
}

static void v1_dir(const char *mnt, const char *ctrl, char *out)
{
    char own[CGROUP_PATH_MAX / 2] = "";

    own_group(ctrl, own, sizeof(own));
    snprintf(out, CGROUP_PATH_MAX, "%s%s/vessel", mnt, own);
}

void cgroup_detect(struct cgroup_host *h)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    char dev[256], mnt[256], type[64], opts[512];
    char v2mnt[256] = "", cpu[256] = "", acct[256] = "", mem[256] = "";

    *h = (struct cgroup_host){0};
    if (!f) {
        snprintf(h->why, sizeof(h->why), "/proc/self/mounts unreadable");
        return;
    }
    while (fscanf(f, "%255s %255s %63s %511s %*d %*d", dev, mnt, type, opts) == 4) {
        if (!strcmp(type, "cgroup2") && !v2mnt[0])
            snprintf(v2mnt, sizeof(v2mnt), "%s", mnt);
        if (strcmp(type, "cgroup") != 0)
            continue;
        if (has_opt(opts, "cpu") && !cpu[0])
            snprintf(cpu, sizeof(cpu), "%s", mnt);
        if (has_opt(opts, "cpuacct") && !acct[0])
            snprintf(acct, sizeof(acct), "%s", mnt);
        if (has_opt(opts, "memory") && !mem[0])
            snprintf(mem, sizeof(mem), "%s", mnt);
    }
    fclose(f);
    if (v2mnt[0] && v2_usable(v2mnt, h)) {
        h->version = 2;
        return;
    }
    h->cpu[0] = '\0';
    if (!cpu[0] || !mem[0]) {
        snprintf(h->why, sizeof(h->why),
                 "neither cgroup v2 with cpu+memory nor v1 cpu and memory controllers");
        return;
    }
    v1_dir(cpu, "cpu", h->cpu);
    v1_dir(mem, "memory", h->memory);
    if (acct[0])
        v1_dir(acct, "cpuacct", h->cpuacct);
    if (make_dir(h->cpu) || make_dir(h->memory) || (h->cpuacct[0] && make_dir(h->cpuacct))) {
        snprintf(h->why, sizeof(h->why), "cannot create %.60s or %.60s: %s", h->cpu, h->memory,
                 strerror(errno));
        return;
    }
    h->version = 1;
}

int cgroup_vm_dirs(const struct cgroup_host *h, const char *id,
                   char dirs[CGROUP_MAX_DIRS][CGROUP_PATH_MAX])
{
    int n = 0;

    if (h->version == 0)
        return 0;
    snprintf(dirs[n++], CGROUP_PATH_MAX, "%.400s/%.63s", h->cpu, id);
    if (h->version == 1) {
        snprintf(dirs[n++], CGROUP_PATH_MAX, "%.400s/%.63s", h->memory, id);
        if (h->cpuacct[0] && strcmp(h->cpuacct, h->cpu) != 0)
            snprintf(dirs[n++], CGROUP_PATH_MAX, "%.400s/%.63s", h->cpuacct, id);
    }
    return n;
}

int cgroup_vm_create(const struct cgroup_host *h, const char *id, double quota_cores,
                     uint64_t mem_limit_bytes)
{
    char dirs[CGROUP_MAX_DIRS][CGROUP_PATH_MAX], val[64];
    int n = cgroup_vm_dirs(h, id, dirs), err;
    long long quota = quota_cores > 0 ? (long long)(quota_cores * CGROUP_PERIOD_US) : -1;

    if (quota > 0 && quota < 1000)
        quota = 1000; /* the kernel's minimum: 1 ms per period */
    for (int i = 0; i < n; i++) {
        rmdir(dirs[i]); /* a leftover of an earlier run; fails harmlessly when absent */
        if ((err = make_dir(dirs[i]))) {
            log_err("cgroup: mkdir %s: %s", dirs[i], strerror(-err));
            return err;
        }
    }
    if (h->version == 2) {
        if (quota > 0)
            snprintf(val, sizeof(val), "%lld %d", quota, CGROUP_PERIOD_US);
        else
            snprintf(val, sizeof(val), "max %d", CGROUP_PERIOD_US);
        if ((err = cgroup_write(dirs[0], "cpu.max", val)))
            goto fail;
        snprintf(val, sizeof(val), "%" PRIu64, mem_limit_bytes);
        if ((err = cgroup_write(dirs[0], "memory.max", val)))
            goto fail;
        return 0;
    }
    if (h->version == 1) {
        snprintf(val, sizeof(val), "%d", CGROUP_PERIOD_US);
        if ((err = cgroup_write(dirs[0], "cpu.cfs_period_us", val)))
            goto fail;
        snprintf(val, sizeof(val), "%lld", quota);
        if ((err = cgroup_write(dirs[0], "cpu.cfs_quota_us", val)))
            goto fail;
        snprintf(val, sizeof(val), "%" PRIu64, mem_limit_bytes);
        if ((err = cgroup_write(dirs[1], "memory.limit_in_bytes", val)))
            goto fail;
    }
    return 0;
fail:
    log_err("cgroup: setting limits for VM %s: %s", id, strerror(-err));
    return err;
}

void cgroup_vm_usage(const struct cgroup_host *h, const char *id, int64_t *cpu_ns,
                     int64_t *mem_bytes)
{
    char dir[CGROUP_PATH_MAX], buf[2048], *p;

    *cpu_ns = *mem_bytes = -1;
    if (h->version == 2) {
        snprintf(dir, sizeof(dir), "%.400s/%.63s", h->cpu, id);
        if (!read_small(dir, "cpu.stat", buf, sizeof(buf)) && (p = strstr(buf, "usage_usec ")))
            *cpu_ns = strtoll(p + 11, NULL, 10) * 1000;
        if (!read_small(dir, "memory.current", buf, sizeof(buf)))
            *mem_bytes = strtoll(buf, NULL, 10);
    } else if (h->version == 1) {
        snprintf(dir, sizeof(dir), "%.400s/%.63s", h->cpuacct[0] ? h->cpuacct : h->cpu, id);
        if (!read_small(dir, "cpuacct.usage", buf, sizeof(buf)))
            *cpu_ns = strtoll(buf, NULL, 10);
        snprintf(dir, sizeof(dir), "%.400s/%.63s", h->memory, id);
        if (!read_small(dir, "memory.usage_in_bytes", buf, sizeof(buf)))
            *mem_bytes = strtoll(buf, NULL, 10);
    }
}

int64_t cgroup_vm_throttled(const struct cgroup_host *h, const char *id)
{
    char dir[CGROUP_PATH_MAX], buf[2048], *p;

    if (h->version == 0)
        return -1;
    snprintf(dir, sizeof(dir), "%.400s/%.63s", h->cpu, id);
    if (read_small(dir, "cpu.stat", buf, sizeof(buf)) || !(p = strstr(buf, "nr_throttled ")))
        return -1;
    return strtoll(p + 13, NULL, 10);
}

void cgroup_vm_remove(const struct cgroup_host *h, const char *id)
{
    char dirs[CGROUP_MAX_DIRS][CGROUP_PATH_MAX];
    int n = cgroup_vm_dirs(h, id, dirs);

    for (int i = 0; i < n; i++)
        rmdir(dirs[i]);
}
