/* VM definitions on disk and their run-time state (see registry.h). */
#include "host/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "host/mig_watch.h"
#include "host/procinfo.h"
#include "host/shutdown_watch.h"
#include "host/vm_events.h"

const char *vm_state_name(enum vm_state s)
{
    static const char *const names[] = {"created", "running",  "paused",  "stopped",
                                        "crashed", "incoming", "migrated"};
    return names[s];
}

bool vm_is_live(const struct host_vm *v)
{
    return v->state == VM_RUNNING || v->state == VM_PAUSED || v->state == VM_INCOMING;
}

void registry_path(const struct registry *r, const struct host_vm *v, const char *suffix, char *out,
                   size_t cap)
{
    snprintf(out, cap, "%s/%s%s", r->vmdir, v->id, suffix);
}

char *vm_config_dump(const struct api_vm_config *c)
{
    json_t *j = json_object(), *disks = json_array(), *nets = json_array();
    char *s;

    json_object_set_new(j, "name", json_string(c->name));
    json_object_set_new(j, "arch", json_string(c->arch));
    json_object_set_new(j, "cpus", json_integer(c->cpus));
    json_object_set_new(j, "memory_mib", json_integer((json_int_t)c->memory_mib));
    json_object_set_new(j, "kernel", c->kernel[0] ? json_string(c->kernel) : json_null());
    json_object_set_new(j, "initrd", c->initrd[0] ? json_string(c->initrd) : json_null());
    json_object_set_new(j, "firmware", c->firmware[0] ? json_string(c->firmware) : json_null());
    json_object_set_new(j, "cmdline", json_string(c->cmdline));
    for (int i = 0; i < c->ndisks; i++) {
        json_t *d =
            json_pack("{s:s,s:b}", "path", c->disks[i].path, "readonly", c->disks[i].readonly);
        if (d && c->disks[i].format != DISK_FORMAT_PROBE)
            json_object_set_new(
                d, "format", json_string(c->disks[i].format == DISK_FORMAT_RAW ? "raw" : "qcow2"));
        json_array_append_new(disks, d);
    }
    for (int i = 0; i < c->nnets; i++)
        json_array_append_new(nets, json_string(c->nets[i]));
    json_object_set_new(j, "disks", disks);
    json_object_set_new(j, "nets", nets);
    json_object_set_new(j, "cpu_quota", c->cpu_quota > 0 ? json_real(c->cpu_quota) : json_null());
    json_object_set_new(j, "balloon", json_boolean(c->balloon));
    if (c->restore[0])
        json_object_set_new(j, "restore", json_string(c->restore));
    if (c->clone)
        json_object_set_new(j, "clone", json_true());
    if (c->incoming[0])
        json_object_set_new(j, "incoming", json_string(c->incoming));
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

json_t *registry_clone_disks_json(const struct host_vm *v, bool with_keep)
{
    json_t *a = json_array();

    for (int i = 0; a && i < API_MAX_DISKS; i++) {
        if (!v->clone_disk[i][0])
            continue;
        json_t *d =
            json_pack("{s:i,s:s,s:s}", "index", i, "disk",
                      i < v->cfg.ndisks ? v->cfg.disks[i].path : "", "overlay", v->clone_disk[i]);
        if (d && with_keep)
            json_object_set_new(d, "keep", json_boolean(v->clone_keep[i]));
        json_array_append_new(a, d);
    }
    return a;
}

int registry_save(const struct registry *r, const struct host_vm *v)
{
    char path[REG_PATH_MAX + 16], tmp[REG_PATH_MAX + 32];
    char *cfg = vm_config_dump(&v->cfg), *text = NULL, *clones, *lerr;
    json_t *cj = registry_clone_disks_json(v, true), *lj = json_string(v->last_error);
    int fd, n, err = 0;

    clones = cj ? json_dumps(cj, JSON_COMPACT) : NULL;
    lerr = lj ? json_dumps(lj, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(cj);
    json_decref(lj);
    if (!cfg || !clones || !lerr) {
        free(cfg);
        free(clones);
        free(lerr);
        return -ENOMEM;
    }
    n = asprintf(&text,
                 "{\"id\":\"%s\",\"created\":%lld,\"started\":%s,\"stop_requested\":%s,"
                 "\"migrate_to\":\"%s\",\"last_error\":%s,\"vmm_log_offset\":%llu,"
                 "\"clone_disks\":%s,\"config\":%s}\n",
                 v->id, (long long)v->created, v->started ? "true" : "false",
                 v->stop_requested ? "true" : "false", v->migrate_to, lerr,
                 (unsigned long long)v->vmm_log_off, clones, cfg);
    free(cfg);
    free(clones);
    free(lerr);
    if (n < 0)
        return -ENOMEM;
    registry_path(r, v, ".json", path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = -errno;
    } else {
        if (write(fd, text, (size_t)n) != n || fsync(fd))
            err = -EIO;
        close(fd);
        if (!err && rename(tmp, path))
            err = -errno;
    }
    if (err)
        log_err("serve: saving %s: %s", path, strerror(-err));
    free(text);
    return err;
}

static void load_clone_disks(struct host_vm *v, json_t *arr)
{
    size_t k;
    json_t *d;

    json_array_foreach(arr, k, d)
    {
        json_int_t i = json_integer_value(json_object_get(d, "index"));
        const char *p = json_string_value(json_object_get(d, "overlay"));
        if (i < 0 || i >= v->cfg.ndisks || !p || p[0] != '/' || strlen(p) >= API_PATH_MAX)
            continue;
        snprintf(v->clone_disk[i], sizeof(v->clone_disk[i]), "%s", p);
        v->clone_keep[i] = json_is_true(json_object_get(d, "keep"));
    }
}

static void crash_reason(const struct registry *r, struct host_vm *v);

static int load_one(struct registry *r, const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *cfg;
    struct api_error e;
    struct host_vm *v;
    const char *id;
    char *text;
    int st;

    if (!j) {
        log_err("serve: %s: %s (skipped)", path, jerr.text);
        return -EINVAL;
    }
    id = json_string_value(json_object_get(j, "id"));
    cfg = json_object_get(j, "config");
    v = calloc(1, sizeof(*v));
    text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
    if (!v || !id || !api_name_valid(id) || !text ||
        (st = api_vm_config_parse(text, strlen(text), &v->cfg, &e))) {
        log_err("serve: %s: not a valid VM definition (skipped)", path);
        free(v);
        free(text);
        json_decref(j);
        return -EINVAL;
    }
    free(text);
    snprintf(v->id, sizeof(v->id), "%s", id);
    v->created = (time_t)json_integer_value(json_object_get(j, "created"));
    v->started = json_is_true(json_object_get(j, "started"));
    v->stop_requested = json_is_true(json_object_get(j, "stop_requested"));
    /* only ever set from a validated HOST:PORT (no quotes or backslashes) */
    if (json_is_string(json_object_get(j, "migrate_to")) &&
        api_hostport_valid(json_string_value(json_object_get(j, "migrate_to")), true))
        snprintf(v->migrate_to, sizeof(v->migrate_to), "%s",
                 json_string_value(json_object_get(j, "migrate_to")));
    load_clone_disks(v, json_object_get(j, "clone_disks"));
    if (json_is_string(json_object_get(j, "last_error")))
        snprintf(v->last_error, sizeof(v->last_error), "%s",
                 json_string_value(json_object_get(j, "last_error")));
    if (json_integer_value(json_object_get(j, "vmm_log_offset")) > 0)
        v->vmm_log_off = (uint64_t)json_integer_value(json_object_get(j, "vmm_log_offset"));
    json_decref(j);
    if (r->n == REGISTRY_MAX_VMS || registry_find(r, v->id) || registry_find(r, v->cfg.name)) {
        log_err("serve: %s: duplicate id or name, or too many VMs (skipped)", path);
        free(v);
        return -EEXIST;
    }
    r->vms[r->n++] = v;
    registry_refresh(r, v);
    if (v->state == VM_CRASHED && !v->last_error[0]) /* it crashed while the daemon was away */
        crash_reason(r, v);
    return 0;
}

int registry_open(struct registry *r, const char *state_dir)
{
    struct dirent *de;
    DIR *d;

    *r = (struct registry){0};
    if (mkdir(state_dir, 0755) && errno != EEXIST)
        return -errno;
    snprintf(r->vmdir, sizeof(r->vmdir), "%s/vms", state_dir);
    if (mkdir(r->vmdir, 0755) && errno != EEXIST)
        return -errno;
    d = opendir(r->vmdir);
    if (!d)
        return -errno;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        char path[REG_PATH_MAX + 300];
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", r->vmdir, de->d_name);
        load_one(r, path);
    }
    closedir(d);
    return 0;
}

void registry_close(struct registry *r)
{
    for (int i = 0; i < r->n; i++) {
        mig_watch_free(r->vms[i]->mig);
        shutdown_watch_free(r->vms[i]->shutdown);
        free(r->vms[i]);
    }
    r->n = 0;
}

struct host_vm *registry_find(struct registry *r, const char *id_or_name)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->vms[i]->id, id_or_name))
            return r->vms[i];
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->vms[i]->cfg.name, id_or_name))
            return r->vms[i];
    return NULL;
}

int registry_add(struct registry *r, const struct api_vm_config *cfg, struct host_vm **out)
{
    struct host_vm *v;
    uint8_t rnd[4];
    int err;

    if (registry_find(r, cfg->name))
        return -EEXIST;
    if (r->n == REGISTRY_MAX_VMS)
        return -ENOSPC;
    v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    do {
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
            free(v);
            return -EIO;
        }
        snprintf(v->id, sizeof(v->id), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    } while (registry_find(r, v->id));
    v->cfg = *cfg;
    v->created = time(NULL);
    v->state = VM_CREATED;
    err = registry_save(r, v);
    if (err) {
        free(v);
        return err;
    }
    r->vms[r->n++] = v;
    *out = v;
    return 0;
}

void registry_remove(struct registry *r, struct host_vm *v)
{
    static const char *const suffixes[] = {".json",       ".log",  ".vmm.log", ".sock",
                                           ".run.config", REG_API, ".pid",     ".exit"};
    char path[REG_PATH_MAX + 16];

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        registry_path(r, v, suffixes[i], path, sizeof(path));
        unlink(path);
    }
    /* the VM's directory goes when empty: overlays its disks moved to stay */
    registry_path(r, v, REG_SNAP_STAGING, path, sizeof(path));
    rmdir(path);
    registry_path(r, v, REG_DIR, path, sizeof(path));
    rmdir(path);
    for (int i = 0; i < r->n; i++) {
        if (r->vms[i] == v) {
            r->vms[i] = r->vms[--r->n];
            break;
        }
    }
    mig_watch_free(v->mig);
    shutdown_watch_free(v->shutdown);
    free(v);
}

/* A live VM: running, or still waiting for its incoming migration (the VMM creates its control
 * socket only once the migrated VM runs; vm_start removes a stale one). Once it ran, it stays
 * running while its process lives, also when the socket goes away as the process ends (e.g.
 * after it migrated on). */
static enum vm_state live_state(const struct registry *r, struct host_vm *v)
{
    char path[REG_PATH_MAX + 16];

    if (!v->cfg.incoming[0] || v->incoming_arrived)
        return VM_RUNNING;
    registry_path(r, v, REG_API, path, sizeof(path));
    v->incoming_arrived = access(path, F_OK) == 0;
    return v->incoming_arrived ? VM_RUNNING : VM_INCOMING;
}

/* A failed migration's reason from its last status. */
static void migration_failed(const struct registry *r, struct host_vm *v)
{
    enum mig_watch_end end;
    char *text = mig_watch_status(v->mig, &end);
    json_t *st = text ? json_loads(text, 0, NULL) : NULL;
    const char *why = json_string_value(json_object_get(st, "error"));
    const char *state = json_string_value(json_object_get(st, "state"));

    snprintf(v->last_error, sizeof(v->last_error), "migration to %s %s: %s", v->migrate_to,
             state && !strcmp(state, "cancelled") ? "cancelled" : "failed",
             why ? why : "no reason given");
    vm_event(v, "%s; it runs on here", v->last_error);
    json_decref(st);
    free(text);
}

/* v->last_error for a VM process that ended in failure: its exit and what it logged last. */
static void crash_reason(const struct registry *r, struct host_vm *v)
{
    char why[400];

    vm_events_reason(r, v, why, sizeof(why));
    if (!why[0] && !strncmp(v->exit_desc, "signal ", 7))
        snprintf(why, sizeof(why), "the VM process was killed (it logged nothing)");
    snprintf(v->last_error, sizeof(v->last_error), "%s: %s", v->exit_desc,
             why[0] ? why : "the VM process logged nothing");
}

/* Logs how a live VM ended, or that its incoming migration arrived; once per change. */
static void note_change(const struct registry *r, struct host_vm *v, enum vm_state was)
{
    bool was_live = was == VM_RUNNING || was == VM_PAUSED || was == VM_INCOMING;

    if (was == VM_INCOMING && v->state == VM_RUNNING)
        vm_event(v, "incoming migration arrived; running");
    if (!was_live || v->state == was || vm_is_live(v))
        return;
    if (v->state == VM_CRASHED) {
        crash_reason(r, v);
        vm_event(v, "%s (%s)", v->starting ? "failed to start" : "crashed", v->last_error);
        registry_save(r, v);
    } else if (v->state == VM_STOPPED) {
        vm_event(v, "stopped (%s%s)", v->exit_desc, v->stop_requested ? ", as asked" : "");
    } else if (v->state == VM_MIGRATED) {
        vm_event(v, "migrated to %s; it runs there now", v->migrate_to);
    }
}

static void derive_state(const struct registry *r, struct host_vm *v);

void registry_refresh(const struct registry *r, struct host_vm *v)
{
    enum vm_state was = v->state;

    v->vm_pid = v->shim_pid = 0;
    if (v->migrate_to[0] && v->mig && mig_watch_end(v->mig) == MIG_WATCH_FAILED) {
        migration_failed(r, v);
        v->migrate_to[0] = '\0'; /* the VM runs on here: a later exit 0 is a power-off */
        registry_save(r, v);
    }
    derive_state(r, v);
    note_change(r, v, was);
}

static void derive_state(const struct registry *r, struct host_vm *v)
{
    char path[REG_PATH_MAX + 16], buf[128];
    unsigned long long vs, ss;
    int vp, sp, code;
    struct proc_info pi;

    registry_path(r, v, ".exit", path, sizeof(path));
    if (!file_read_text(path, buf, sizeof(buf))) {
        buf[strcspn(buf, "\n")] = '\0';
        snprintf(v->exit_desc, sizeof(v->exit_desc), "%.31s", buf);
        v->spawned_shim = 0;
        if (!v->stop_requested && v->migrate_to[0] && !strcmp(buf, "exited 0"))
            v->state = VM_MIGRATED;
        else if (v->stop_requested || !strcmp(buf, "exited 0") || !strcmp(buf, "exited 130"))
            v->state = VM_STOPPED;
        else
            v->state = VM_CRASHED;
        return;
    }
    registry_path(r, v, ".pid", path, sizeof(path));
    if (!file_read_text(path, buf, sizeof(buf)) &&
        sscanf(buf, "%d %llu %d %llu", &vp, &vs, &sp, &ss) == 4) {
        v->vm_pid = vp;
        v->vm_start = vs;
        v->shim_pid = sp;
        v->shim_start = ss;
        v->spawned_shim = 0;
        if (!proc_info_read(vp, &pi) && pi.start == vs && pi.state != 'Z' && pi.state != 'X') {
            v->state = (pi.state == 'T' || pi.state == 't') ? VM_PAUSED : live_state(r, v);
            return;
        }
        if (proc_alive(sp, ss)) {
            v->state = live_state(r, v); /* exiting: the shim is about to record how */
            return;
        }
        snprintf(v->exit_desc, sizeof(v->exit_desc), "lost");
        v->state = v->stop_requested ? VM_STOPPED : VM_CRASHED;
        return;
    }
    if (v->spawned_shim && proc_alive(v->spawned_shim, v->spawned_shim_start)) {
        v->state = live_state(r, v); /* starting */
        return;
    }
    if (v->started) {
        code = v->spawned_shim ? 1 : 0;
        snprintf(v->exit_desc, sizeof(v->exit_desc), "%s", code ? "shim failed" : "lost");
        v->state = v->stop_requested ? VM_STOPPED : VM_CRASHED;
        return;
    }
    v->state = VM_CREATED;
}
