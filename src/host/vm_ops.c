/* VM lifecycle actions (see vm_ops.h). */
#include "host/vm_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "host/clone_disks.h"
#include "host/mig_watch.h"
#include "host/procinfo.h"
#include "host/shutdown_watch.h"
#include "host/vm_ops_int.h"
#include "vm/vm_config.h"

#define ARGV_MAX 96

void host_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int vm_host_vcpu_capacity(const struct vm_host *h)
{
    return (int)floor(h->cpus * h->overcommit + 1e-9);
}

void vm_host_allocated(struct vm_host *h, int *cpus, uint64_t *mem_mib)
{
    *cpus = 0;
    *mem_mib = 0;
    for (int i = 0; i < h->reg.n; i++) {
        struct host_vm *v = h->reg.vms[i];
        registry_refresh(&h->reg, v);
        if (vm_is_live(v)) {
            *cpus += v->cfg.cpus;
            *mem_mib += v->cfg.memory_mib + VMM_ALLOWANCE_MIB;
        }
    }
}

/* Argument strings for the shim and `vessel run`, kept in one arena. */
struct argv_build {
    char *argv[ARGV_MAX];
    int n;
    char arena[16384];
    size_t used;
};

static void add(struct argv_build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct argv_build *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->n >= ARGV_MAX - 1 || b->used >= sizeof(b->arena))
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->arena + b->used, sizeof(b->arena) - b->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(b->arena) - b->used)
        return;
    b->argv[b->n++] = b->arena + b->used;
    b->used += (size_t)n + 1;
}

/* The VM process's configuration (vm/vm_config.h) from the VM's definition. The strings point
 * into the definition (and api into the caller's buffer): nothing to free. */
static void run_config(const struct host_vm *v, const char *api, struct vm_config *r)
{
    const struct api_vm_config *c = &v->cfg;

    *r = (struct vm_config){.arch = (char *)c->arch, .api_socket = (char *)api};
    if (c->restore[0]) {
        /* The snapshot sets RAM, vCPUs and the boot files; devices are given as before. */
        r->restore = (char *)c->restore;
        r->clone = c->clone;
    } else {
        /* With incoming, RAM and vCPUs are what the source's VM must have. */
        r->incoming = c->incoming[0] ? (char *)c->incoming : NULL;
        r->kernel = c->kernel[0] ? (char *)c->kernel : NULL;
        r->mem = c->memory_mib << 20;
        r->cpus = c->cpus;
        r->mem_set = r->cpus_set = true;
    }
    r->initrd = c->initrd[0] ? (char *)c->initrd : NULL;
    r->firmware = c->firmware[0] ? (char *)c->firmware : NULL;
    r->cmdline = c->cmdline[0] ? (char *)c->cmdline : NULL;
    for (int i = 0; i < c->ndisks; i++)
        /* a clone's overlay of the snapshot's disk, made by clone_disks_prepare() */
        r->disks[r->ndisks++] = (struct vm_disk){
            .path = (char *)(v->clone_disk[i][0] ? v->clone_disk[i] : c->disks[i].path),
            .readonly = c->disks[i].readonly,
            .format = v->clone_disk[i][0] ? DISK_FORMAT_QCOW2 : DISK_FORMAT_PROBE};
    for (int i = 0; i < c->nnets; i++)
        r->nets[r->nnets++] = (char *)c->nets[i];
    r->balloon = c->balloon; /* starts deflated */
}

/* Writes STATE_DIR/vms/ID.run.config (0600, atomically): what the VM process runs. */
static int write_run_config(struct vm_host *h, const struct host_vm *v, char *path, size_t cap)
{
    char api[REG_PATH_MAX + 16], tmp[REG_PATH_MAX + 32];
    struct vm_config rc;
    char *json;
    int fd, err = 0;

    registry_path(&h->reg, v, ".api", api, sizeof(api));
    registry_path(&h->reg, v, ".run.config", path, cap);
    run_config(v, api, &rc);
    json = vm_config_to_json(&rc);
    if (!json)
        return -ENOMEM;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        err = -errno;
    else {
        err = file_write_all(fd, json, strlen(json));
        if (!err && fsync(fd))
            err = -errno;
        close(fd);
    }
    if (!err && rename(tmp, path))
        err = -errno;
    if (err)
        unlink(tmp);
    free(json);
    return err;
}

static void build_argv(struct vm_host *h, struct host_vm *v, const char *config,
                       struct argv_build *b)
{
    char dirs[CGROUP_MAX_DIRS][CGROUP_PATH_MAX];
    int ncg = cgroup_vm_dirs(&h->cg, v->id, dirs);

    add(b, "%s", h->self);
    add(b, "vm-shim");
    add(b, "--dir");
    add(b, "%s", h->reg.vmdir);
    add(b, "--id");
    add(b, "%s", v->id);
    for (int i = 0; i < ncg; i++) {
        add(b, "--cgroup");
        add(b, "%s", dirs[i]);
    }
    add(b, "--");
    add(b, "%s", h->self);
    add(b, "run");
    add(b, "--config");
    add(b, "%s", config);
    b->argv[b->n] = NULL;
}

int host_vm_start(struct vm_host *h, struct host_vm *v, struct api_error *e)
{
    static struct argv_build b;
    int cpus, err, cap = vm_host_vcpu_capacity(h);
    uint64_t mem, need;
    char path[REG_PATH_MAX + 16], why[600];
    struct proc_info pi;
    pid_t pid;

    registry_refresh(&h->reg, v);
    if (vm_is_live(v))
        return api_error_set(e, 409, "invalid_state", "VM %s is already %s", v->cfg.name,
                             vm_state_name(v->state));
    if (v->state == VM_MIGRATED)
        return api_error_set(e, 409, "invalid_state",
                             "VM %s was migrated to %s and runs there; delete it here", v->cfg.name,
                             v->migrate_to);
    vm_host_allocated(h, &cpus, &mem);
    need = v->cfg.memory_mib + VMM_ALLOWANCE_MIB;
    if (cpus + v->cfg.cpus > cap || mem + need > h->memory_mib)
        return api_error_set(e, 409, "insufficient_capacity",
                             "VM %s needs %d vCPUs and %llu MiB (RAM + %d MiB VMM allowance); "
                             "free: %d vCPUs, %llu MiB",
                             v->cfg.name, v->cfg.cpus, (unsigned long long)need, VMM_ALLOWANCE_MIB,
                             cap - cpus, (unsigned long long)(h->memory_mib - mem));
    if (h->cg.version && (err = cgroup_vm_create(&h->cg, v->id, v->cfg.cpu_quota,
                                                 (v->cfg.memory_mib + VMM_ALLOWANCE_MIB) << 20)))
        return api_error_set(e, 500, "internal", "cannot set up the cgroups of VM %s: %s",
                             v->cfg.name, strerror(-err));
    if (v->cfg.clone && (err = clone_disks_prepare(&h->reg, v, why, sizeof(why)))) {
        registry_save(&h->reg, v);
        return api_error_set(e, 500, "internal", "VM %s: %.400s", v->cfg.name, why);
    }
    registry_path(&h->reg, v, ".exit", path, sizeof(path));
    unlink(path);
    registry_path(&h->reg, v, ".pid", path, sizeof(path));
    unlink(path);
    registry_path(&h->reg, v, ".api", path, sizeof(path)); /* "incoming" until it reappears */
    unlink(path);
    mig_watch_free(v->mig);
    v->mig = NULL;
    shutdown_watch_free(v->shutdown);
    v->shutdown = NULL;
    v->migrate_to[0] = '\0';
    v->started = true;
    v->stop_requested = false;
    v->incoming_arrived = false;
    if ((err = registry_save(&h->reg, v)))
        return api_error_set(e, 500, "internal", "cannot save VM %s: %s", v->cfg.name,
                             strerror(-err));
    if ((err = write_run_config(h, v, path, sizeof(path))))
        return api_error_set(e, 500, "internal", "cannot write the configuration of VM %s: %s",
                             v->cfg.name, strerror(-err));
    b = (struct argv_build){0};
    build_argv(h, v, path, &b);
    pid = fork();
    if (pid < 0)
        return api_error_set(e, 500, "internal", "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Only async-signal-safe calls here: the daemon has other threads. */
        sigset_t all;
        int null = open("/dev/null", O_RDWR);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        setsid();
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        syscall(SYS_close_range, 3U, ~0U, 0U);
        execv(b.argv[0], b.argv);
        _exit(127);
    }
    v->spawned_shim = pid;
    proc_info_read(pid, &pi);
    v->spawned_shim_start = pi.start;
    /* Until the shim records the VM's pid the VM counts as running (starting); waiting a little
     * here makes the answer carry the pid in the common case. */
    registry_path(&h->reg, v, ".pid", path, sizeof(path));
    for (int i = 0; i < 100 && access(path, F_OK) != 0; i++) {
        registry_path(&h->reg, v, ".exit", path, sizeof(path));
        if (access(path, F_OK) == 0)
            break;
        registry_path(&h->reg, v, ".pid", path, sizeof(path));
        host_sleep_ms(10);
    }
    registry_refresh(&h->reg, v);
    return 0;
}

void host_wait_state(struct vm_host *h, struct host_vm *v, enum vm_state want, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        registry_refresh(&h->reg, v);
        if (v->state == want || (want == VM_STOPPED && !vm_is_live(v)))
            return;
        host_sleep_ms(10);
    }
}

int host_need_pid(struct host_vm *v, struct api_error *e)
{
    if (v->vm_pid <= 0)
        return api_error_set(e, 409, "invalid_state", "VM %s is starting; try again", v->cfg.name);
    return 0;
}

int host_vm_pause(struct vm_host *h, struct host_vm *v, struct api_error *e)
{
    registry_refresh(&h->reg, v);
    if (v->state != VM_RUNNING)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running", v->cfg.name,
                             vm_state_name(v->state));
    if (host_need_pid(v, e))
        return e->status;
    if (kill(v->vm_pid, SIGSTOP))
        return api_error_set(e, 500, "internal", "SIGSTOP: %s", strerror(errno));
    host_wait_state(h, v, VM_PAUSED, 2000);
    return 0;
}

int host_vm_resume(struct vm_host *h, struct host_vm *v, struct api_error *e)
{
    registry_refresh(&h->reg, v);
    if (v->state != VM_PAUSED)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not paused", v->cfg.name,
                             vm_state_name(v->state));
    if (kill(v->vm_pid, SIGCONT))
        return api_error_set(e, 500, "internal", "SIGCONT: %s", strerror(errno));
    host_wait_state(h, v, VM_RUNNING, 2000);
    return 0;
}

int host_vm_stop(struct vm_host *h, struct host_vm *v, bool graceful, struct api_error *e)
{
    registry_refresh(&h->reg, v);
    if (!vm_is_live(v))
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running or paused",
                             v->cfg.name, vm_state_name(v->state));
    if (host_need_pid(v, e))
        return e->status;
    v->stop_requested = true;
    registry_save(&h->reg, v);
    if (graceful) {
        kill(v->vm_pid, SIGTERM);
        kill(v->vm_pid, SIGCONT); /* a paused VM must run to act on SIGTERM */
    } else {
        kill(v->vm_pid, SIGKILL);
    }
    host_wait_state(h, v, VM_STOPPED, 3000);
    return 0;
}
