/* VM actions forwarded to the VM's control socket (vm_ops.h): the balloon, snapshots, the
 * power button and reboots, live migration. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "host/mig_watch.h"
#include "host/shutdown_watch.h"
#include "host/vm_ops.h"
#include "host/vm_ops_int.h"

/* Sends one command line to the VM's --api-socket and gives its one-line answer (malloc'd);
 * waits up to timeout_s for it. */
int host_control_call(struct vm_host *h, struct host_vm *v, const char *cmd, int timeout_s,
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

/* The "error" of a VM's {"ok":false,"error":...} answer into why; false when it said ok. */
static bool answer_error(const char *answer, char *why, size_t whylen)
{
    json_t *a = json_loads(answer, 0, NULL);
    const char *msg = json_string_value(json_object_get(a, "error"));
    bool failed = !json_is_true(json_object_get(a, "ok"));

    if (failed)
        snprintf(why, whylen, "%.200s", msg ? msg : answer);
    json_decref(a);
    return failed;
}

int host_vm_shutdown(struct vm_host *h, struct host_vm *v, int timeout_s, const char **method,
                     char *why, size_t whylen, struct api_error *e)
{
    struct api_error ce = {0};
    char *answer = NULL;
    int err;

    registry_refresh(&h->reg, v);
    if (!vm_is_live(v))
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running or paused",
                             v->cfg.name, vm_state_name(v->state));
    if (host_need_pid(v, e))
        return e->status;
    shutdown_watch_free(v->shutdown);
    v->shutdown = NULL;
    v->stop_requested = true; /* its end is not a crash */
    registry_save(&h->reg, v);
    *method = "forced";
    why[0] = '\0';
    if (timeout_s == 0) {
        snprintf(why, whylen, "timeout_s 0");
    } else if (v->state == VM_INCOMING) {
        snprintf(why, whylen, "the VM waits for its incoming migration: no guest yet");
    } else {
        if (v->state == VM_PAUSED) { /* the guest must run to see the button */
            kill(v->vm_pid, SIGCONT);
            host_wait_state(h, v, VM_RUNNING, 2000);
        }
        if (host_control_call(h, v, "{\"shutdown\": null}", 3, &answer, &ce))
            snprintf(why, whylen, "%.200s", ce.message);
        else if (!answer_error(answer, why, whylen))
            *method = "power_button";
        free(answer);
    }
    if (!strcmp(*method, "power_button")) {
        err = shutdown_watch_start(&v->shutdown, v->vm_pid, v->vm_start, timeout_s * 1000);
        if (!err)
            return 0;
        snprintf(why, whylen, "cannot watch the VM process: %s", strerror(-err));
        *method = "forced";
    }
    log_info("serve: VM %s: stopping it by force (%s)", v->cfg.name, why);
    kill(v->vm_pid, SIGTERM);
    kill(v->vm_pid, SIGCONT); /* a paused VM must run to act on SIGTERM */
    host_wait_state(h, v, VM_STOPPED, 3000);
    return 0;
}

const char *host_vm_shutdown_state(struct host_vm *v)
{
    if (!v->shutdown)
        return NULL;
    switch (shutdown_watch_end(v->shutdown)) {
    case SHUTDOWN_WAITING: return "waiting";
    case SHUTDOWN_GUEST: return "guest";
    case SHUTDOWN_FORCED: break;
    }
    return "forced";
}

int host_vm_reboot(struct vm_host *h, struct host_vm *v, struct api_error *e)
{
    char *answer = NULL, why[256];
    int st;

    registry_refresh(&h->reg, v);
    if (v->state != VM_RUNNING)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running", v->cfg.name,
                             vm_state_name(v->state));
    if ((st = host_control_call(h, v, "{\"reboot\": null}", 3, &answer, e)))
        return st;
    st = answer_error(answer, why, sizeof(why))
             ? api_error_set(e, 409, "invalid_state", "VM %s: %s", v->cfg.name, why)
             : 0;
    free(answer);
    return st;
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
