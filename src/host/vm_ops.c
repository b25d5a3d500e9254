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
#include "vm/vm_config.h"

#define ARGV_MAX 96

static void sleep_ms(int ms)
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
        sleep_ms(10);
    }
    registry_refresh(&h->reg, v);
    return 0;
}

/* Waits up to ms for the VM to reach state. */
static void wait_state(struct vm_host *h, struct host_vm *v, enum vm_state want, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        registry_refresh(&h->reg, v);
        if (v->state == want || (want == VM_STOPPED && !vm_is_live(v)))
            return;
        sleep_ms(10);
    }
}

static int need_pid(struct host_vm *v, struct api_error *e)
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
    if (need_pid(v, e))
        return e->status;
    if (kill(v->vm_pid, SIGSTOP))
        return api_error_set(e, 500, "internal", "SIGSTOP: %s", strerror(errno));
    wait_state(h, v, VM_PAUSED, 2000);
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
    wait_state(h, v, VM_RUNNING, 2000);
    return 0;
}

static int control_call(struct vm_host *h, struct host_vm *v, const char *cmd, int timeout_s,
                        char **answer, struct api_error *e);

/* A graceful stop of a running VM presses its power button through the control socket: the
 * guest's OS powers off by itself (x86: ACPI; acpid or systemd-logind) and the VM ends
 * `stopped`; false when the machine has none (the VM says so) or did not answer. */
static bool press_power_button(struct vm_host *h, struct host_vm *v)
{
    struct api_error ignored = {0};
    char *answer = NULL;
    bool ok;

    if (v->state != VM_RUNNING || control_call(h, v, "{\"shutdown\": null}", 5, &answer, &ignored))
        return false;
    ok = strstr(answer, "\"ok\":true") != NULL;
    free(answer);
    return ok;
}

int host_vm_stop(struct vm_host *h, struct host_vm *v, bool graceful, struct api_error *e)
{
    registry_refresh(&h->reg, v);
    if (!vm_is_live(v))
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running or paused",
                             v->cfg.name, vm_state_name(v->state));
    if (need_pid(v, e))
        return e->status;
    if (graceful && press_power_button(h, v)) {
        wait_state(h, v, VM_STOPPED, 3000); /* the guest takes its time; the state follows */
        return 0;
    }
    v->stop_requested = true;
    registry_save(&h->reg, v);
    if (graceful) {
        kill(v->vm_pid, SIGTERM);
        kill(v->vm_pid, SIGCONT); /* a paused VM must run to act on SIGTERM */
    } else {
        kill(v->vm_pid, SIGKILL);
    }
    wait_state(h, v, VM_STOPPED, 3000);
    return 0;
}

/* Sends one command line to the VM's --api-socket and gives its one-line answer (malloc'd);
 * waits up to timeout_s for it. */
static int control_call(struct vm_host *h, struct host_vm *v, const char *cmd, int timeout_s,
                        char **answer, struct api_error *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = timeout_s};
    char path[REG_PATH_MAX + 16], line[4096];
    size_t got = 0, n = strlen(cmd);
    int fd;

    registry_path(&h->reg, v, ".api", path, sizeof(path));
    if (strlen(path) >= sizeof(sa.sun_path))
        return api_error_set(e, 500, "internal", "control socket path too long");
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return api_error_set(e, 500, "internal", "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        close(fd);
        return api_error_set(e, 409, "unsupported", "VM %s's control socket is not there (yet): %s",
                             v->cfg.name, strerror(errno));
    }
    if (send(fd, cmd, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
        close(fd);
        return api_error_set(e, 500, "internal", "sending to the VM: %s", strerror(errno));
    }
    while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
        ssize_t r = recv(fd, line + got, sizeof(line) - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    line[got] = '\0';
    if (!memchr(line, '\n', got))
        return api_error_set(e, 500, "internal", "no answer from the VM's control socket");
    line[strcspn(line, "\n")] = '\0';
    *answer = strdup(line);
    return *answer ? 0 : api_error_set(e, 500, "internal", "out of memory");
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
    return control_call(h, v, line, 3, answer, e);
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
    st = control_call(h, v, line, 120, answer, e);
    free(line);
    if (stop) {
        if (st) {
            v->stop_requested = false;
            registry_save(&h->reg, v);
        } else {
            wait_state(h, v, VM_STOPPED, 3000);
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
    if (need_pid(v, e))
        return e->status;
    if (v->mig && mig_watch_end(v->mig) == MIG_WATCH_RUNNING)
        return api_error_set(e, 409, "invalid_state", "VM %s is migrating already (to %s)",
                             v->cfg.name, v->migrate_to);
    cmd = json_pack("{s:{s:s}}", "migrate", "to", m->to);
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
        if ((st = control_call(h, v, "{\"migrate_status\": null}", 3, &answer, e)))
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
    if ((st = control_call(h, v, "{\"migrate_cancel\": null}", 5, &answer, e)))
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
        sleep_ms(10);
    return host_vm_migration_status(h, v, status, e);
}
