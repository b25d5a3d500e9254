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
#include <sys/stat.h>
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
#include "host/snap_move.h"
#include "host/vm_control.h"
#include "host/vm_events.h"
#include "host/vm_ops_int.h"
#include "vm/vm_config.h"

void vm_host_sleep(struct vm_host *h, int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    pthread_mutex_unlock(&h->lock);
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&h->lock);
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

void host_wait_state(struct vm_host *h, struct host_vm *v, enum vm_state want, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        registry_refresh(&h->reg, v);
        if (v->state == want || (want == VM_STOPPED && !vm_is_live(v)))
            return;
        vm_host_sleep(h, 10);
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

    char staged[REG_PATH_MAX + API_PATH_MAX], why[600];
    const char *base = strrchr(path, '/') + 1;
    bool moved_ok;
    json_t *a;

    registry_refresh(&h->reg, v);
    if (v->state != VM_RUNNING)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running", v->cfg.name,
                             vm_state_name(v->state));
    /* A jailed VM writes only its own directory: there, then moved (snap_move.h). The name is
     * the one asked for, which the overlays of frozen disks are named after. */
    registry_path(&h->reg, v, REG_SNAP_STAGING, staged, sizeof(staged));
    snprintf(staged + strlen(staged), sizeof(staged) - strlen(staged), "/%s", base);
    cmd = json_pack("{s:{s:s,s:s,s:s}}", "snapshot", "path", h->jail ? staged : path, "then",
                    stop ? "stop" : "resume", "disks", keep_disks ? "keep" : "overlay");
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
    a = st ? NULL : json_loads(*answer, 0, NULL);
    moved_ok = json_is_true(json_object_get(a, "ok"));
    json_decref(a);
    if (!st && h->jail && moved_ok) {
        pthread_mutex_unlock(&h->lock); /* a copy across file systems takes a while */
        moved_ok = !snap_move(staged, path, why, sizeof(why));
        pthread_mutex_lock(&h->lock);
        /* The answer says what happened to the disks either way: the VM goes on with them. */
        a = moved_ok ? NULL : json_loads(*answer, 0, NULL);
        if (a && !json_object_set_new(a, "ok", json_false()) &&
            !json_object_set_new(a, "error", json_string(why))) {
            free(*answer);
            *answer = json_dumps(a, JSON_COMPACT);
            st = *answer ? 0 : api_error_set(e, 500, "internal", "out of memory");
        }
        json_decref(a);
    }
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
    registry_path(&h->reg, v, REG_API, path, sizeof(path));
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
        vm_host_sleep(h, 10);
    return host_vm_migration_status(h, v, status, e);
}
