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
#include "base/hmac256.h"
#include "base/log.h"
#include "host/clone_disks.h"
#include "host/mig_watch.h"
#include "host/procinfo.h"
#include "host/shutdown_watch.h"
#include "host/vm_control.h"
#include "host/vm_events.h"
#include "host/vm_ops_int.h"
#include "vm/vm_config.h"

#define ARGV_MAX 96
/* How long a start waits for the VM process to be ready (its control socket is there) or to
 * end: a process that fails at once is answered with its reason. An incoming VM's socket
 * appears only once its migration arrived: its start waits INCOMING_WAIT_MS for an early end. */
#define START_WAIT_MS    5000
#define INCOMING_WAIT_MS 500

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
        if (exists(h, v, ".exit") || (!v->cfg.incoming[0] && exists(h, v, ".api")))
            break;
        registry_refresh(&h->reg, v);
        if (!vm_is_live(v))
            break; /* e.g. the shim failed before it recorded anything */
        host_sleep_ms(10);
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
    vm_event(v, "paused");
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
    vm_event(v, "resumed");
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
    /* a stop during a graceful shutdown's wait ends that wait: the guest did not power off */
    shutdown_watch_free(v->shutdown);
    v->shutdown = NULL;
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

int host_vm_balloon(struct vm_host *h, struct host_vm *v, uint64_t target_mib, char **answer,
                    struct api_error *e)
{
    char line[64];

    registry_refresh(&h->reg, v);
    if (!v->cfg.balloon)
        return api_error_set(e, 409, "unsupported",
                             "VM %s has no balloon device (created with "
                             "\"balloon\": false or not riscv64)",
                             v->cfg.name);
    if (v->state != VM_RUNNING)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running", v->cfg.name,
                             vm_state_name(v->state));
    if (target_mib > v->cfg.memory_mib)
        return api_error_set(e, 422, "out_of_range",
                             "target_mib %llu is more than the VM's "
                             "%llu MiB",
                             (unsigned long long)target_mib, (unsigned long long)v->cfg.memory_mib);
    snprintf(line, sizeof(line), "{\"balloon_target_mib\": %llu}", (unsigned long long)target_mib);
    return host_control_call(h, v, line, 3, answer, e);
}

int host_vm_stats(struct vm_host *h, struct host_vm *v, unsigned wait_ms, char **answer,
                  struct api_error *e)
{
    char line[64];

    registry_refresh(&h->reg, v);
    if (v->state != VM_RUNNING || v->vm_pid <= 0)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running", v->cfg.name,
                             vm_state_name(v->state));
    snprintf(line, sizeof(line), "{\"stats\": %u}", wait_ms);
    return host_control_call(h, v, line, 3, answer, e);
}

int host_vm_snapshot(struct vm_host *h, struct host_vm *v, const char *path, bool stop,
                     bool keep_disks, char **answer, struct api_error *e)
{
    json_t *cmd;
    char *line;
    int st;

    registry_refresh(&h->reg, v);
    if (v->state != VM_RUNNING)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running", v->cfg.name,
                             vm_state_name(v->state));
    cmd = json_pack("{s:{s:s,s:s,s:s}}", "snapshot", "path", path, "then", stop ? "stop" : "resume",
                    "disks", keep_disks ? "keep" : "overlay");
    line = cmd ? json_dumps(cmd, JSON_COMPACT) : NULL;
    json_decref(cmd);
    if (!line)
        return api_error_set(e, 500, "internal", "out of memory");
    if (stop) {
        /* The VM exits 0 after the file is written: not a crash. */
        v->stop_requested = true;
        registry_save(&h->reg, v);
    }
    st = host_control_call(h, v, line, 120, answer, e);
    free(line);
    if (stop) {
        if (st) {
            v->stop_requested = false;
            registry_save(&h->reg, v);
        } else {
            host_wait_state(h, v, VM_STOPPED, 3000);
        }
    }
    return st;
}

/* The "migration" member of the VM's {"ok":true,"migration":{...}} answer, as JSON text. */
static int migration_member(struct host_vm *v, const char *answer, char **status,
                            struct api_error *e)
{
    json_t *a = json_loads(answer, 0, NULL), *m = json_object_get(a, "migration");

    *status = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(a);
    if (!*status)
        return api_error_set(e, 500, "internal", "VM %s answered no migration status: %.200s",
                             v->cfg.name, answer);
    return 0;
}

int host_vm_migrate(struct vm_host *h, struct host_vm *v, const struct api_migrate *m,
                    char **status, struct api_error *e)
{
    char path[REG_PATH_MAX + 16], *line, *answer = NULL;
    json_t *cmd, *a;
    const char *why;
    int err, st;

    *status = NULL;
    registry_refresh(&h->reg, v);
    if (v->state != VM_RUNNING)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running", v->cfg.name,
                             vm_state_name(v->state));
    if (host_need_pid(v, e))
        return e->status;
    if (v->mig && mig_watch_end(v->mig) == MIG_WATCH_RUNNING)
        return api_error_set(e, 409, "invalid_state", "VM %s is migrating already (to %s)",
                             v->cfg.name, v->migrate_to);
    cmd = json_pack("{s:{s:s,s:s}}", "migrate", "to", m->to, "secret", m->secret);
    a = json_object_get(cmd, "migrate");
    if (cmd && m->downtime_ms)
        json_object_set_new(a, "downtime_ms", json_integer(m->downtime_ms));
    if (cmd && m->timeout_ms)
        json_object_set_new(a, "timeout_ms", json_integer(m->timeout_ms));
    if (cmd && m->max_passes)
        json_object_set_new(a, "max_passes", json_integer(m->max_passes));
    line = cmd ? json_dumps(cmd, JSON_COMPACT) : NULL;
    json_decref(cmd);
    if (!line)
        return api_error_set(e, 500, "internal", "out of memory");
    mig_watch_free(v->mig);
    v->mig = NULL;
    /* From here an exit 0 of the VM process is the hand-over, not a power-off. */
    snprintf(v->migrate_to, sizeof(v->migrate_to), "%s", m->to);
    registry_save(&h->reg, v);
    registry_path(&h->reg, v, ".api", path, sizeof(path));
    err = mig_watch_start(&v->mig, path, line, &answer);
    free(line);
    if (!v->mig) {
        v->migrate_to[0] = '\0';
        registry_save(&h->reg, v);
        if (err) {
            free(answer);
            return api_error_set(e, 409, "unsupported",
                                 "VM %s's control socket does not answer: %s", v->cfg.name,
                                 strerror(-err));
        }
        a = json_loads(answer, 0, NULL);
        why = json_string_value(json_object_get(a, "error"));
        st = api_error_set(e, why && strstr(why, "running") ? 409 : 500,
                           why && strstr(why, "running") ? "invalid_state" : "internal",
                           "VM %s did not start the migration: %.200s", v->cfg.name,
                           why ? why : answer);
        json_decref(a);
        free(answer);
        return st;
    }
    free(answer);
    vm_event(v, "live migration to %s started", m->to);
    *status = mig_watch_status(v->mig, &(enum mig_watch_end){0});
    return *status ? 0 : api_error_set(e, 500, "internal", "out of memory");
}

int host_vm_migration_status(struct vm_host *h, struct host_vm *v, char **status,
                             struct api_error *e)
{
    char *answer = NULL;
    json_t *j;
    int st;

    *status = NULL;
    registry_refresh(&h->reg, v);
    if (v->mig) {
        *status = mig_watch_status(v->mig, &(enum mig_watch_end){0});
    } else if (v->state == VM_RUNNING && v->vm_pid > 0) {
        /* e.g. started before this daemon did: ask the VM */
        if ((st = host_control_call(h, v, "{\"migrate_status\": null}", 3, &answer, e)))
            return st;
        st = migration_member(v, answer, status, e);
        free(answer);
        return st;
    } else {
        j = v->state == VM_MIGRATED
                ? json_pack("{s:s,s:s}", "state", "completed", "to", v->migrate_to)
                : json_pack("{s:s}", "state", "none");
        *status = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    }
    return *status ? 0 : api_error_set(e, 500, "internal", "out of memory");
}

int host_vm_migration_cancel(struct vm_host *h, struct host_vm *v, char **status,
                             struct api_error *e)
{
    char *answer = NULL;
    const char *why;
    json_t *a;
    bool ok;
    int st;

    *status = NULL;
    registry_refresh(&h->reg, v);
    if (v->state != VM_RUNNING || v->vm_pid <= 0)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s: no migration to cancel",
                             v->cfg.name, vm_state_name(v->state));
    if ((st = host_control_call(h, v, "{\"migrate_cancel\": null}", 5, &answer, e)))
        return st;
    a = json_loads(answer, 0, NULL);
    ok = json_is_true(json_object_get(a, "ok"));
    why = json_string_value(json_object_get(a, "error"));
    st = ok ? 0
            : api_error_set(e, 409, "invalid_state", "VM %s: %.200s", v->cfg.name,
                            why ? why : answer);
    json_decref(a);
    free(answer);
    if (st)
        return st;
    /* It will not hand over now: a later exit 0 is a power-off. */
    v->migrate_to[0] = '\0';
    registry_save(&h->reg, v);
    for (int t = 0; v->mig && t < 3000 && mig_watch_end(v->mig) == MIG_WATCH_RUNNING; t += 10)
        host_sleep_ms(10);
    return host_vm_migration_status(h, v, status, e);
}
