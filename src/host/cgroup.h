/* Per-VM cgroups: a CPU limit (cpu_quota cores) and a memory limit (guest RAM plus the VMM
 * allowance) for each VM process, on cgroup v2 or v1, whichever this host makes usable.
 *
 * Detection (cgroup_detect): v2 is used when a cgroup2 mount offers both the cpu and memory
 * controllers; otherwise v1 when the cpu and memory controllers are mounted (cpuacct, for the
 * accounting, may be its own mount or share the cpu one). Each VM's groups live under the
 * daemon's own group, in a "vessel" child: e.g. /sys/fs/cgroup/cpu/<own>/vessel/<vm id>.
 *   v1: cpu.cfs_period_us = 100000, cpu.cfs_quota_us = quota * 100000 (-1: no limit),
 *       memory.limit_in_bytes; usage from cpuacct.usage and memory.usage_in_bytes.
 *   v2: cpu.max = "quota*100000 100000" ("max 100000"), memory.max; usage from cpu.stat
 *       usage_usec and memory.current. */
#ifndef VESSEL_HOST_CGROUP_H
#define VESSEL_HOST_CGROUP_H

#include <stdint.h>

#define CGROUP_PATH_MAX  512
#define CGROUP_MAX_DIRS  3
#define CGROUP_PERIOD_US 100000

struct cgroup_host {
    int version;                   /* 0: none usable, 1 or 2 */
    char cpu[CGROUP_PATH_MAX];     /* the "vessel" parent group of each controller; v2: all */
    char cpuacct[CGROUP_PATH_MAX]; /* v1 */
    char memory[CGROUP_PATH_MAX];  /* v1 */
    char why[160];                 /* version 0: why not */
};

/* Finds usable controllers and creates the "vessel" parent groups. Never fails: version 0
 * (with why) means VMs run without limits. */
void cgroup_detect(struct cgroup_host *h);

/* The directories VM `id`'s process joins (writes its pid to DIR/cgroup.procs). Returns the
 * count (0 with version 0). */
int cgroup_vm_dirs(const struct cgroup_host *h, const char *id,
                   char dirs[CGROUP_MAX_DIRS][CGROUP_PATH_MAX]);

/* (Re)creates VM id's groups with the limits: quota_cores 0 means no CPU limit. Returns 0 or
 * -errno (logged). */
int cgroup_vm_create(const struct cgroup_host *h, const char *id, double quota_cores,
                     uint64_t mem_limit_bytes);

/* CPU time (ns) and memory in use (bytes) by the VM's group; -1 for what is unreadable. */
void cgroup_vm_usage(const struct cgroup_host *h, const char *id, int64_t *cpu_ns,
                     int64_t *mem_bytes);

/* Periods in which the VM's group was throttled by its CPU limit (cpu.stat nr_throttled on v1
 * and v2), or -1. */
int64_t cgroup_vm_throttled(const struct cgroup_host *h, const char *id);

/* Removes the VM's groups (they must be empty; errors are ignored). */
void cgroup_vm_remove(const struct cgroup_host *h, const char *id);

/* Writes str to DIR/FILE. Returns 0 or -errno. */
int cgroup_write(const char *dir, const char *file, const char *str);

#endif
