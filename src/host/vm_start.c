/* Starting a VM: its process's configuration (JSON, with the jail when the daemon jails VMs),
 * its directories, and the vm-shim that runs it (vm_ops.h: host_vm_start). */
#include "host/vm_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/file.h"
#include "base/hmac256.h"
#include "host/clone_disks.h"
#include "host/mig_watch.h"
#include "host/procinfo.h"
#include "host/shutdown_watch.h"
#include "host/vm_events.h"
#include "vm/vm_config.h"

#define ARGV_MAX 96
/* How long a start waits for the VM process to be ready (its control socket is there) or to
 * end: a process that fails at once is answered with its reason. An incoming VM's socket
 * appears only once its migration arrived: its start waits INCOMING_WAIT_MS for an early end. */
#define START_WAIT_MS    5000
#define INCOMING_WAIT_MS 500

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
 * into the definition, the host and dir (the VM's own directory; api the control socket in
 * it): nothing to free. */
static void run_config(const struct vm_host *h, const struct host_vm *v, const char *api,
                       const char *dir, struct vm_config *r)
{
    const struct api_vm_config *c = &v->cfg;

    *r = (struct vm_config){.arch = (char *)c->arch, .api_socket = (char *)api};
    if (h->jail) {
        r->jail = (struct vm_jail){.on = true,
                                   .uid_first = h->jail_uid_first,
                                   .uid_count = h->jail_uid_count,
                                   .gid = h->jail_gid,
                                   .dir = (char *)dir};
        for (int i = 0; i < h->policy.n && i < VM_JAIL_ALLOW_MAX; i++)
            r->jail.allow[r->jail.nallow++] = h->policy.dirs[i];
    }
    r->overlay_dir = (char *)dir; /* snapshot overlays: in the VM's own directory */
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
            .format = v->clone_disk[i][0] ? DISK_FORMAT_QCOW2 : c->disks[i].format};
    for (int i = 0; i < c->nnets; i++)
        r->nets[r->nnets++] = (char *)c->nets[i];
    r->balloon = c->balloon; /* starts deflated */
    r->migration_secret = r->incoming && v->mig_secret[0] ? (char *)v->mig_secret : NULL;
}

/* A new secret for the migration an incoming VM's start waits for. */
static int new_mig_secret(struct host_vm *v)
{
    uint8_t rnd[32];
    int err = hmac256_random(rnd, sizeof(rnd));

    if (err)
        return err;
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(v->mig_secret + 2 * i, 3, "%02x", rnd[i]);
    hmac256_wipe(rnd, sizeof(rnd));
    return 0;
}

const char *host_vm_mig_secret(struct vm_host *h, struct host_vm *v)
{
    char path[REG_PATH_MAX + 16], why[200];
    struct vm_config rc;
    uint8_t *text;
    size_t len;

    if (!v->cfg.incoming[0])
        return NULL;
    if (!v->mig_secret[0]) { /* a daemon restarted since the start: the run configuration */
        registry_path(&h->reg, v, ".run.config", path, sizeof(path));
        if (file_read_all(path, VM_CONFIG_MAX_LEN, &text, &len))
            return NULL;
        if (!vm_config_from_json((const char *)text, len, &rc, why, sizeof(why))) {
            if (rc.migration_secret && strlen(rc.migration_secret) < sizeof(v->mig_secret))
                snprintf(v->mig_secret, sizeof(v->mig_secret), "%s", rc.migration_secret);
            vm_config_free(&rc);
        }
        hmac256_wipe(text, len);
        free(text);
    }
    return v->mig_secret[0] ? v->mig_secret : NULL;
}

/* Writes STATE_DIR/vms/ID.run.config (0600, atomically): what the VM process runs. */
static int write_run_config(struct vm_host *h, const struct host_vm *v, char *path, size_t cap)
{
    char api[REG_PATH_MAX + 16], tmp[REG_PATH_MAX + 32], dir[REG_PATH_MAX + 16];
    struct vm_config rc;
    char *json;
    int fd, err = 0;

    registry_path(&h->reg, v, REG_API, api, sizeof(api));
    registry_path(&h->reg, v, REG_DIR, dir, sizeof(dir));
    registry_path(&h->reg, v, ".run.config", path, cap);
    run_config(h, v, api, dir, &rc);
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
    if (h->jail)
        add(b, "--pidns"); /* the VM process is the first of a PID namespace of its own */
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

static bool exists(struct vm_host *h, struct host_vm *v, const char *suffix)
{
    char path[REG_PATH_MAX + 16];

    registry_path(&h->reg, v, suffix, path, sizeof(path));
    return access(path, F_OK) == 0;
}

/* Waits (boundedly) until the VM process is ready or has ended; an end is the start's failure,
 * answered with the reason the VM process logged (422 for its exit status 1, bad input; 500
 * otherwise). */
static int start_wait(struct vm_host *h, struct host_vm *v, struct api_error *e)
{
    int limit = v->cfg.incoming[0] ? INCOMING_WAIT_MS : START_WAIT_MS, t;

    v->starting = true;
    for (t = 0; t < limit; t += 10) {
        if (exists(h, v, ".exit") || (!v->cfg.incoming[0] && exists(h, v, REG_API)))
            break;
        registry_refresh(&h->reg, v);
        if (!vm_is_live(v))
            break; /* e.g. the shim failed before it recorded anything */
        vm_host_sleep(h, 10);
    }
    registry_refresh(&h->reg, v);
    v->starting = false;
    if (v->state == VM_CRASHED)
        return api_error_set(e, !strcmp(v->exit_desc, "exited 1") ? 422 : 500, "start_failed",
                             "VM %s did not start: %.400s", v->cfg.name, v->last_error);
    if (vm_is_live(v))
        vm_event(v, "started (pid %d%s)", (int)v->vm_pid,
                 t >= limit && !v->cfg.incoming[0] ? ", not ready yet" : "");
    return 0;
}

/* The VM process's own directory (0700; its jail shows it as the VM's) and its staging
 * directory for snapshots. */
static int vm_dirs(struct vm_host *h, struct host_vm *v)
{
    char path[REG_PATH_MAX + 16];

    registry_path(&h->reg, v, REG_DIR, path, sizeof(path));
    if (mkdir(path, 0700) && errno != EEXIST)
        return -errno;
    registry_path(&h->reg, v, REG_SNAP_STAGING, path, sizeof(path));
    if (mkdir(path, 0700) && errno != EEXIST)
        return -errno;
    return 0;
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
    registry_path(&h->reg, v, REG_API, path, sizeof(path)); /* "incoming" until it reappears */
    unlink(path);
    if ((err = vm_dirs(h, v)))
        return api_error_set(e, 500, "internal", "cannot make the directory of VM %s: %s",
                             v->cfg.name, strerror(-err));
    mig_watch_free(v->mig);
    v->mig = NULL;
    shutdown_watch_free(v->shutdown);
    v->shutdown = NULL;
    v->migrate_to[0] = '\0';
    v->last_error[0] = '\0';
    v->vmm_log_off = vm_events_log_size(&h->reg, v); /* this run's lines start here */
    v->started = true;
    v->stop_requested = false;
    v->incoming_arrived = false;
    v->mig_secret[0] = '\0';
    if (v->cfg.incoming[0] && (err = new_mig_secret(v)))
        return api_error_set(e, 500, "internal", "no random bytes for VM %s's migration secret: %s",
                             v->cfg.name, strerror(-err));
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
    v->state = VM_RUNNING; /* starting: a failure from here on is seen as the run's end */
    return start_wait(h, v, e);
}
