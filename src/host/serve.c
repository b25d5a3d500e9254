/* `vessel serve`: options, the API's request handler and the daemon's main loop. */
#include "host/serve.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/apireq.h"
#include "api/http.h"
#include "base/log.h"
#include "board/board.h"
#include "host/create_check.h"
#include "host/clone_disks.h"
#include "host/metrics.h"
#include "host/procinfo.h"
#include "host/serve_setup.h"
#include "host/vm_events.h"
#include "host/vm_ops.h"
#include "host/web_ui.h"
#include "state/snapconfig.h"

static struct vm_host host;
static struct web_ui web;

static char *error_json(const struct api_error *e)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", e->code, "message", e->message);
    char *s = j ? json_dumps(j, API_JSON_FLAGS) : NULL;

    json_decref(j);
    /* api_error_set keeps messages valid UTF-8; should one still not be, say so, not "out of
     * memory" */
    return s ? s
             : strdup("{\"error\":{\"code\":\"internal\",\"message\":\"the error message "
                      "could not be encoded\"}}");
}

/* Every board's engine: whether this host runs it, and what it found (board/board.h). */
static json_t *engines_json(void)
{
    json_t *a = json_array();

    for (int i = 0; a && board_list[i]; i++) {
        const struct engine_ops *e = board_list[i]->engine;
        char info[600], why[256];
        int err = e->probe(info, sizeof(info), why, sizeof(why));

        json_array_append_new(a, json_pack("{s:s,s:s,s:b,s:s}", "name", e->name, "arch",
                                           board_list[i]->arch, "available", !err, "note",
                                           err ? why : info));
    }
    return a;
}

static json_t *host_json(void)
{
    int cpus, cap = vm_host_vcpu_capacity(&host);
    uint64_t mem;
    json_t *cg;

    vm_host_allocated(&host, &cpus, &mem);
    if (host.cg.version == 1)
        cg = json_pack("{s:s,s:s,s:s,s:s}", "version", "v1", "cpu", host.cg.cpu, "memory",
                       host.cg.memory, "cpuacct", host.cg.cpuacct);
    else if (host.cg.version == 2)
        cg = json_pack("{s:s,s:s}", "version", "v2", "path", host.cg.cpu);
    else
        cg = json_pack("{s:s,s:s}", "version", "none", "why", host.cg.why);
    json_t *dirs = json_array();
    for (int i = 0; dirs && i < host.policy.n; i++)
        json_array_append_new(dirs, json_string(host.policy.dirs[i]));
    return json_pack("{s:{s:i,s:i,s:f,s:I},s:{s:i,s:I,s:i},s:{s:i,s:I},s:i,s:o,s:o,s:i,s:o,s:b}",
                     "capacity", "cpus", host.cpus, "vcpus", cap, "overcommit", host.overcommit,
                     "memory_mib", (json_int_t)host.memory_mib, "allocated", "vcpus", cpus,
                     "memory_mib", (json_int_t)mem, "vms", host.reg.n, "free", "vcpus", cap - cpus,
                     "memory_mib", (json_int_t)(host.memory_mib - mem), "vmm_allowance_mib",
                     VMM_ALLOWANCE_MIB, "engines", engines_json(), "cgroup", cg, "api_version", 1,
                     "allowed_dirs", dirs ? dirs : json_null(), "jail", host.jail);
}

static json_t *vm_summary(struct host_vm *v)
{
    registry_refresh(&host.reg, v);
    return json_pack("{s:s,s:s,s:s,s:i,s:I,s:o}", "id", v->id, "name", v->cfg.name, "state",
                     vm_state_name(v->state), "cpus", v->cfg.cpus, "memory_mib",
                     (json_int_t)v->cfg.memory_mib, "pid",
                     v->vm_pid > 0 ? json_integer(v->vm_pid) : json_null());
}

static json_t *vm_full(struct host_vm *v)
{
    char *cfg_text = vm_config_dump(&v->cfg), sock[REG_PATH_MAX + 16], log[REG_PATH_MAX + 16];
    json_t *j = vm_summary(v), *stats = json_object();
    struct proc_info pi;
    int64_t cg_cpu, cg_mem;

    json_object_set_new(j, "config", cfg_text ? json_loads(cfg_text, 0, NULL) : json_null());
    free(cfg_text);
    json_object_set_new(j, "created", json_integer((json_int_t)v->created));
    json_object_set_new(j, "last_exit", v->exit_desc[0] ? json_string(v->exit_desc) : json_null());
    json_object_set_new(j, "last_error",
                        v->last_error[0] ? json_string(v->last_error) : json_null());
    if (v->cfg.clone)
        json_object_set_new(j, "clone_disks", registry_clone_disks_json(v, false));
    json_object_set_new(j, "migrated_to",
                        v->state == VM_MIGRATED ? json_string(v->migrate_to) : json_null());
    if (host_vm_shutdown_state(v))
        json_object_set_new(j, "shutdown", json_string(host_vm_shutdown_state(v)));
    if (v->state == VM_INCOMING && host_vm_mig_secret(&host, v))
        /* for the source's POST .../migrate; only while the VM waits for it */
        json_object_set_new(j, "migration_secret", json_string(host_vm_mig_secret(&host, v)));
    registry_path(&host.reg, v, ".sock", sock, sizeof(sock));
    registry_path(&host.reg, v, ".log", log, sizeof(log));
    json_object_set_new(j, "console", json_pack("{s:s,s:s}", "socket", sock, "log", log));
    registry_path(&host.reg, v, ".vmm.log", log, sizeof(log));
    json_object_set_new(json_object_get(j, "console"), "vmm_log", json_string(log));
    json_object_set_new(j, "limits",
                        json_pack("{s:o,s:I}", "cpu_quota",
                                  v->cfg.cpu_quota > 0 ? json_real(v->cfg.cpu_quota) : json_null(),
                                  "memory_limit_mib",
                                  (json_int_t)(v->cfg.memory_mib + VMM_ALLOWANCE_MIB)));
    if (vm_is_live(v) && v->vm_pid > 0 && !proc_info_read(v->vm_pid, &pi)) {
        json_object_set_new(stats, "cpu_time_s",
                            json_real(api_round_ms((double)pi.cpu_ticks / proc_ticks_per_s())));
        json_object_set_new(stats, "rss_kib", json_integer((json_int_t)pi.rss_kib));
        if (!proc_info_read(v->shim_pid, &pi))
            json_object_set_new(stats, "shim_rss_kib", json_integer((json_int_t)pi.rss_kib));
        cgroup_vm_usage(&host.cg, v->id, &cg_cpu, &cg_mem);
        if (cg_cpu >= 0)
            json_object_set_new(stats, "cgroup_cpu_ns", json_integer(cg_cpu));
        if (cg_mem >= 0)
            json_object_set_new(stats, "cgroup_memory_bytes", json_integer(cg_mem));
        if ((cg_cpu = cgroup_vm_throttled(&host.cg, v->id)) >= 0)
            json_object_set_new(stats, "cgroup_throttled_periods", json_integer(cg_cpu));
    }
    json_object_set_new(j, "stats", stats);
    return j;
}

/* A snapshot with then=resume froze the VM's writable disks: from now on (and on its next
 * start) the VM uses the overlays the VMM created on top of them. A clone VM's own overlays
 * are followed in its clone records (its next start is a new clone of its snapshot again). */
static void follow_frozen_disks(struct host_vm *v, json_t *moved)
{
    size_t k;
    json_t *m;

    json_array_foreach(moved, k, m)
    {
        const char *was = json_string_value(json_object_get(m, "snapshot"));
        const char *now = json_string_value(json_object_get(m, "now"));
        char real[PATH_MAX];

        if (!was || !now || strlen(now) >= sizeof(v->cfg.disks[0].path) ||
            clone_disks_follow(v, was, now))
            continue;
        for (int i = 0; i < v->cfg.ndisks; i++) {
            const char *p = v->cfg.disks[i].path;
            if (!strcmp(p, was) || (realpath(p, real) && !strcmp(real, was))) {
                snprintf(v->cfg.disks[i].path, sizeof(v->cfg.disks[i].path), "%s", now);
                v->cfg.disks[i].format = DISK_FORMAT_QCOW2; /* the VMM's overlays are qcow2 */
                break;
            }
        }
    }
    if (json_array_size(moved))
        registry_save(&host.reg, v);
}

static int vm_action(enum api_route route, struct host_vm *v, const char *body, size_t len,
                     json_t **out, struct api_error *e)
{
    uint64_t target;
    char *answer = NULL, path[API_PATH_MAX];
    bool stop = false, keep_disks = false;
    int st;

    if (route == ROUTE_VM_SNAPSHOT) {
        json_t *a;
        char real[PATH_MAX];
        if ((st = api_snapshot_parse(body, len, path, &stop, &keep_disks, e)) ||
            (st = policy_snapshot_path(&host.policy, path, real, e)) ||
            (st = host_vm_snapshot(&host, v, real, stop, keep_disks, &answer, e)))
            return st;
        a = json_loads(answer, 0, NULL);
        follow_frozen_disks(v, json_object_get(a, "disks")); /* also after a late failure */
        if (!json_is_true(json_object_get(a, "ok"))) {
            const char *why = json_string_value(json_object_get(a, "error"));
            st = api_error_set(e, 500, "internal", "the VM did not write %.200s: %.200s", path,
                               why ? why : answer);
            json_decref(a);
            free(answer);
            return st;
        }
        if (stop || keep_disks) {
            clone_disks_keep(v); /* the snapshot's disks now: never removed by the daemon */
            registry_save(&host.reg, v);
        }
        *out = json_pack("{s:s,s:s,s:O,s:O,s:O*}", "path", path, "then", stop ? "stop" : "resume",
                         "ms", json_object_get(a, "ms"), "paused_ms",
                         json_object_get(a, "paused_ms"), "disks", json_object_get(a, "disks"));
        json_decref(a);
        free(answer);
        return *out ? 200 : api_error_set(e, 500, "internal", "out of memory");
    }

    if (route == ROUTE_VM_MIGRATE || route == ROUTE_VM_MIGRATION_GET ||
        route == ROUTE_VM_MIGRATION_CANCEL) {
        struct api_migrate m;
        if (route == ROUTE_VM_MIGRATE)
            st = api_migrate_parse(body, len, &m, e) ?: host_vm_migrate(&host, v, &m, &answer, e);
        else if (route == ROUTE_VM_MIGRATION_GET)
            st = api_empty_body_check(body, len, e)
                     ?: host_vm_migration_status(&host, v, &answer, e);
        else
            st = api_empty_body_check(body, len, e)
                     ?: host_vm_migration_cancel(&host, v, &answer, e);
        if (st)
            return st;
        *out = json_loads(answer, 0, NULL);
        free(answer);
        if (!*out)
            return api_error_set(e, 500, "internal", "the VM's migration status is not JSON");
        return route == ROUTE_VM_MIGRATE ? 202 : 200;
    }

    if (route == ROUTE_VM_SHUTDOWN) {
        const char *method;
        char why[300];
        int timeout_s;
        if ((st = api_shutdown_parse(body, len, &timeout_s, e)) ||
            (st = host_vm_shutdown(&host, v, timeout_s, &method, why, sizeof(why), e)))
            return st;
        *out = vm_full(v);
        json_object_set_new(*out, "shutdown_request",
                            json_pack("{s:s,s:i,s:o}", "method", method, "timeout_s", timeout_s,
                                      "forced_because", why[0] ? json_string(why) : json_null()));
        return 202;
    }

    if (route == ROUTE_VM_BALLOON) {
        if ((st = api_balloon_parse(body, len, &target, e)) ||
            (st = host_vm_balloon(&host, v, target, &answer, e)))
            return st;
        *out = json_pack("{s:I,s:o}", "target_mib", (json_int_t)target, "vm_answer",
                         json_loads(answer, 0, NULL) ?: json_string(answer));
        free(answer);
        return 200;
    }
    if ((st = api_empty_body_check(body, len, e)))
        return st;
    switch (route) {
    case ROUTE_VM_START: st = host_vm_start(&host, v, e); break;
    case ROUTE_VM_PAUSE: st = host_vm_pause(&host, v, e); break;
    case ROUTE_VM_RESUME: st = host_vm_resume(&host, v, e); break;
    case ROUTE_VM_STOP: st = host_vm_stop(&host, v, false, e); break;
    case ROUTE_VM_REBOOT: st = host_vm_reboot(&host, v, e); break;
    default: return api_error_set(e, 500, "internal", "unhandled route");
    }
    if (st)
        return st;
    *out = vm_full(v);
    return 200;
}

static int handle_route(enum api_route route, struct host_vm *v, const char *body, size_t len,
                        json_t **out, struct api_error *e);

static int handle(const char *method, const char *url, const char *body, size_t len, json_t **out,
                  struct api_error *e)
{
    enum api_route route;
    char id[API_NAME_MAX];
    struct host_vm *v = NULL;
    int st;

    if ((st = api_route_match(method, url, &route, id, e)))
        return st;
    if (id[0] && !(v = registry_find(&host.reg, id)))
        return api_error_set(e, 404, "not_found", "no VM with id or name '%s'", id);
    if (v) { /* it stays while this request lets go of the lock to wait on it */
        v->inflight++;
        st = handle_route(route, v, body, len, out, e);
        if (route != ROUTE_VM_DELETE || st != 200) /* else v is gone */
            v->inflight--;
        return st;
    }
    return handle_route(route, NULL, body, len, out, e);
}

static int handle_route(enum api_route route, struct host_vm *v, const char *body, size_t len,
                        json_t **out, struct api_error *e)
{
    struct api_vm_config *cfg;
    int st;

    switch (route) {
    case ROUTE_HOST: *out = host_json(); return 200;
    case ROUTE_VM_LIST: {
        json_t *arr = json_array();
        for (int i = 0; i < host.reg.n; i++)
            json_array_append_new(arr, vm_summary(host.reg.vms[i]));
        *out = json_pack("{s:o}", "vms", arr);
        return 200;
    }
    case ROUTE_VM_CREATE:
        cfg = malloc(sizeof(*cfg));
        if (!cfg)
            return api_error_set(e, 500, "internal", "out of memory");
        st = api_vm_config_parse(body, len, cfg, e);
        if (!st)
            st = host_vm_create_check(&host, cfg, e);
        if (!st) {
            st = registry_add(&host.reg, cfg, &v);
            if (st == -EEXIST)
                st = api_error_set(e, 409, "name_taken", "a VM named '%s' exists", cfg->name);
            else if (st == -ENOSPC)
                st = api_error_set(e, 409, "insufficient_capacity", "at most %d VMs",
                                   REGISTRY_MAX_VMS);
            else if (st)
                st = api_error_set(e, 500, "internal", "saving the VM: %s", strerror(-st));
        }
        free(cfg);
        if (st)
            return st;
        vm_event(v, "created (%s, %d vCPUs, %llu MiB%s)", v->cfg.arch, v->cfg.cpus,
                 (unsigned long long)v->cfg.memory_mib,
                 v->cfg.restore[0]    ? ", from a snapshot"
                 : v->cfg.incoming[0] ? ", receives a migration"
                                      : "");
        *out = vm_full(v);
        return 201;
    case ROUTE_VM_GET: *out = vm_full(v); return 200;
    case ROUTE_VM_STATS: return host_vm_stats_json(&host, v, out, e) ?: 200;
    case ROUTE_VM_DELETE:
        if ((st = api_empty_body_check(body, len, e)))
            return st;
        registry_refresh(&host.reg, v);
        if (vm_is_live(v))
            return api_error_set(e, 409, "invalid_state", "VM %s is %s; stop it first", v->cfg.name,
                                 vm_state_name(v->state));
        if (v->inflight > 1)
            return api_error_set(e, 409, "invalid_state",
                                 "VM %s has another request under way; try again", v->cfg.name);
        vm_event(v, "deleted");
        cgroup_vm_remove(&host.cg, v->id);
        clone_disks_remove(&host.reg, v);
        registry_remove(&host.reg, v);
        *out = json_object();
        return 200;
    default: return vm_action(route, v, body, len, out, e);
    }
}

static void on_request(void *opaque, const char *method, const char *url, const char *body,
                       size_t len, struct api_reply *r)
{
    struct api_error e = {0};
    json_t *out = NULL;
    enum api_route route;
    char id[API_NAME_MAX];

    if (web_ui_reply(&web, method, url, r)) /* the web console's pages: no VM state */
        goto reply;
    pthread_mutex_lock(&host.lock);
    if (!api_route_match(method, url, &route, id, &e) && route == ROUTE_VM_CONSOLE) {
        struct host_vm *v = registry_find(&host.reg, id);
        if (v)
            registry_refresh(&host.reg, v);
        r->status = v ? web_console_open(&host.reg, v, r, &e)
                      : api_error_set(&e, 404, "not_found", "no VM with id or name '%s'", id);
        pthread_mutex_unlock(&host.lock);
        if (r->status != 101)
            r->json = error_json(&e);
        return;
    }
    if (!api_route_match(method, url, &route, id, &e) && route == ROUTE_METRICS) {
        r->json = host_metrics_text(&host); /* lets go of the lock while it asks the VMs */
        pthread_mutex_unlock(&host.lock);
        r->status = r->json ? 200 : 500;
        r->content_type = r->json ? "text/plain; version=0.0.4; charset=utf-8" : NULL;
        if (!r->json) {
            api_error_set(&e, 500, "internal", "out of memory");
            r->json = error_json(&e);
        }
        return;
    }
    r->status = handle(method, url, body, len, &out, &e);
    pthread_mutex_unlock(&host.lock);
    if (r->status >= 400 || !out) {
        if (r->status < 400)
            api_error_set(&e, 500, "internal", "out of memory");
        r->status = e.status;
        r->json = error_json(&e);
    } else {
        r->json = json_dumps(out, API_JSON_FLAGS);
    }
    json_decref(out);
    return;
reply:
    if (!r->json) {
        api_error_set(&e, 500, "internal", "out of memory");
        r->status = 500;
        r->json = error_json(&e);
    }
}

static int mkdir_parent(const char *path)
{
    char dir[4096];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    if (mkdir(dir, 0755) && errno != EEXIST)
        return -errno;
    return 0;
}

/* One line on stderr; returns the exit status 1. */
static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "vessel serve: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

void host_serve_defaults(struct serve_config *c)
{
    struct sysinfo si;

    *c = (struct serve_config){
        .socket = "/run/vessel/vessel.sock",
        .state_dir = "/var/lib/vessel",
        .cpus = (int)sysconf(_SC_NPROCESSORS_ONLN),
        .overcommit = 1.0,
        .jail = true,
        .jail_gid = -1,
        .memory_mib = sysinfo(&si) ? 1024 : (uint64_t)si.totalram * si.mem_unit >> 20,
    };
}

void host_serve_print_routes(void)
{
    for (int i = 0; i < ROUTE_COUNT; i++)
        printf("%s %s %s\n", api_routes[i].method, api_routes[i].path, api_routes[i].statuses);
}

int host_serve(const struct serve_config *c)
{
    const char *sock = c->socket, *state = c->state_dir;
    struct api_http_config hc;
    struct api_http *http;
    char image_dir[4096], dirs[400];
    sigset_t set;
    ssize_t len;
    int sig, err;

    host.cpus = c->cpus;
    host.overcommit = c->overcommit;
    host.memory_mib = c->memory_mib;
    host.jail = c->jail;
    host.jail_uid_first = c->jail_uid_first;
    host.jail_uid_count = c->jail_uid_count;
    host.jail_gid = c->jail_gid;
    pthread_mutex_init(&host.lock, NULL);
    if (host.jail && geteuid() != 0)
        return fail("VM processes are jailed, which needs root: run as root, or give "
                    "--no-jail%s",
                    "");
    len = readlink("/proc/self/exe", host.self, sizeof(host.self) - 1);
    if (len <= 0)
        return fail("cannot find this program's path (%s)", "/proc/self/exe");
    host.self[len] = '\0';
    if (mkdir_parent(sock))
        return fail("cannot create the directory of %s", sock);
    if (registry_open(&host.reg, state))
        return fail("cannot use the state directory %s", state);
    if (serve_policy(c, &host.policy, image_dir, sizeof(image_dir)) || serve_http_config(c, &hc)) {
        registry_close(&host.reg);
        return 1;
    }
    web_ui_setup(&web, c->web_dir, c->web_vendor, host.self);
    cgroup_detect(&host.cg);
    if (!host.cg.version)
        log_warn("serve: no usable cgroups (%s): VMs run without CPU and memory limits",
                 host.cg.why);
    /* Signals go to this thread only (sigwait below), not to libmicrohttpd's. */
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    err = api_http_start(&http, &hc, on_request, NULL);
    serve_http_config_free(&hc);
    if (err) {
        registry_close(&host.reg);
        policy_free(&host.policy);
        return fail("cannot serve on %s (see above)", sock);
    }
    policy_dirs_text(&host.policy, dirs, sizeof(dirs));
    if (c->listen)
        fprintf(stderr,
                "vessel serve: listening on TCP %s (port %d), with authentication; web console "
                "at /ui/\n",
                c->listen, api_http_tcp_port(http));
    fprintf(stderr,
            "vessel serve: listening on %s, state in %s, %d VMs known; clients may use files in "
            "%s; VM processes %s\n",
            sock, state, host.reg.n, dirs, host.jail ? "jailed" : "not jailed (--no-jail)");
    for (;;) {
        struct timespec ts = {.tv_sec = 1};
        sig = sigtimedwait(&set, NULL, &ts);
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            break;
    }
    api_http_stop(http);
    pthread_mutex_lock(&host.lock); /* no handler is under way now */
    registry_close(&host.reg);
    policy_free(&host.policy);
    fprintf(stderr, "vessel serve: stopped (running VMs keep running)\n");
    return 0;
}
