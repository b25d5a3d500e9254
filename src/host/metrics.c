/* The daemon's metrics: per-VM JSON and the Prometheus text (see metrics.h). */
#include "host/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/board.h"
#include "host/procinfo.h"

#define FAMILIES_MAX 64
#define SAMPLES_MAX  8192

/* "NAME:KIND" engine counters become {"NAME": {"KIND": N}} in JSON, NAME{kind="KIND"} in
 * Prometheus; the part before ':' is copied to name (cap bytes), the kind returned (NULL when
 * there is none). */
static const char *counter_split(const char *full, char *name, size_t cap)
{
    const char *colon = strchr(full, ':');
    size_t n = colon ? (size_t)(colon - full) : strlen(full);

    snprintf(name, cap, "%.*s", (int)n, full);
    return colon ? colon + 1 : NULL;
}

static json_t *engine_json(const char *engine, json_t *counters)
{
    json_t *out = json_object();
    const char *key;
    json_t *val;

    json_object_foreach(counters, key, val)
    {
        char name[64];
        const char *kind = counter_split(key, name, sizeof(name));
        if (!json_is_integer(val))
            continue;
        if (!kind) {
            json_object_set(out, name, val);
            continue;
        }
        if (!json_is_object(json_object_get(out, name)))
            json_object_set_new(out, name, json_object());
        json_object_set(json_object_get(out, name), kind, val);
    }
    return json_pack("{s:s,s:o}", "name", engine, "counters", out);
}

/* Adds config details ("path", "spec") and indexes to the VM's disks and nets. */
static void devices_json(const struct host_vm *v, json_t *a, json_t *out)
{
    size_t i;
    json_t *d;

    json_array_foreach(json_object_get(a, "disks"), i, d)
    {
        json_t *c = json_deep_copy(d);
        json_object_set_new(c, "index", json_integer((json_int_t)i));
        if ((int)i < v->cfg.ndisks)
            json_object_set_new(c, "path", json_string(v->cfg.disks[i].path));
        json_array_append_new(json_object_get(out, "disks"), c);
    }
    json_array_foreach(json_object_get(a, "nets"), i, d)
    {
        json_t *c = json_deep_copy(d);
        json_object_set_new(c, "index", json_integer((json_int_t)i));
        if ((int)i < v->cfg.nnets)
            json_object_set_new(c, "spec", json_string(v->cfg.nets[i]));
        json_array_append_new(json_object_get(out, "nets"), c);
    }
}

/* The VM's stats object; wait_ms: how long the VM may wait for the guest's memory statistics. */
static int stats_json(struct vm_host *h, struct host_vm *v, unsigned wait_ms, json_t **out,
                      struct api_error *e)
{
    const struct board_ops *b = board_find(v->cfg.arch);
    struct proc_info pi;
    int64_t cg_cpu, cg_mem;
    char *answer = NULL;
    json_t *j, *a, *ns;
    size_t i;
    int st;

    registry_refresh(&h->reg, v);
    if (!vm_is_live(v) || v->vm_pid <= 0)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s: no process to measure",
                             v->cfg.name, vm_state_name(v->state));
    j = json_pack("{s:s,s:s,s:s,s:I}", "id", v->id, "name", v->cfg.name, "state",
                  vm_state_name(v->state), "memory_mib", (json_int_t)v->cfg.memory_mib);
    if (!j)
        return api_error_set(e, 500, "internal", "out of memory");
    if (!proc_info_read(v->vm_pid, &pi)) {
        json_object_set_new(j, "cpu_time_s",
                            json_real(api_round_ms((double)pi.cpu_ticks / proc_ticks_per_s())));
        json_object_set_new(j, "rss_kib", json_integer((json_int_t)pi.rss_kib));
    }
    cgroup_vm_usage(&h->cg, v->id, &cg_cpu, &cg_mem);
    if (cg_cpu >= 0)
        json_object_set_new(j, "cgroup_cpu_ns", json_integer(cg_cpu));
    if (cg_mem >= 0)
        json_object_set_new(j, "cgroup_memory_bytes", json_integer(cg_mem));
    if (v->state != VM_RUNNING) /* paused or incoming: the VM process does not answer */
        goto out;
    st = host_vm_stats(h, v, wait_ms, &answer, e);
    a = st ? NULL : json_loads(answer, 0, NULL);
    free(answer);
    if (!json_is_true(json_object_get(a, "ok"))) {
        json_decref(a);
        goto out; /* e.g. it is ending: what /proc says */
    }
    json_object_set_new(j, "vcpus", json_array());
    json_array_foreach(json_object_get(a, "vcpu_cpu_ns"), i, ns) json_array_append_new(
        json_object_get(j, "vcpus"),
        json_pack("{s:f}", "cpu_time_s", api_round_ms((double)json_integer_value(ns) / 1e9)));
    json_object_set_new(j, "engine",
                        engine_json(b ? b->engine->name : "?", json_object_get(a, "engine")));
    json_object_set_new(j, "disks", json_array());
    json_object_set_new(j, "nets", json_array());
    devices_json(v, a, j);
    json_object_set(j, "balloon", json_object_get(a, "balloon") ?: json_null());
    json_object_set(j, "vmm_rss_kib", json_object_get(a, "vmm_rss_kib"));
    json_decref(a);
out:
    *out = j;
    return 0;
}

int host_vm_stats_json(struct vm_host *h, struct host_vm *v, json_t **out, struct api_error *e)
{
    return stats_json(h, v, 500, out, e);
}

/* --- the Prometheus text: samples grouped by family, each family with # HELP and # TYPE --- */

struct family {
    char name[80], help[200];
    const char *type;
};

struct sample {
    int fam;
    char labels[200];
    double value;
    bool is_int;
    uint64_t ivalue;
};

struct prom {
    struct family fam[FAMILIES_MAX];
    int nfam;
    struct sample *s;
    int ns;
};

static int fam(struct prom *p, const char *name, const char *type, const char *help)
{
    for (int i = 0; i < p->nfam; i++)
        if (!strcmp(p->fam[i].name, name))
            return i;
    if (p->nfam == FAMILIES_MAX)
        return -1;
    snprintf(p->fam[p->nfam].name, sizeof(p->fam[0].name), "%s", name);
    snprintf(p->fam[p->nfam].help, sizeof(p->fam[0].help), "%s", help);
    p->fam[p->nfam].type = type;
    return p->nfam++;
}

static void add(struct prom *p, const char *name, const char *type, const char *help,
                const char *labels, json_t *val)
{
    int f = fam(p, name, type, help);
    struct sample *s;

    if (f < 0 || p->ns == SAMPLES_MAX || !json_is_number(val))
        return;
    s = &p->s[p->ns++];
    s->fam = f;
    snprintf(s->labels, sizeof(s->labels), "%s", labels);
    s->is_int = json_is_integer(val);
    s->ivalue = s->is_int ? (uint64_t)json_integer_value(val) : 0;
    s->value = json_number_value(val);
}

static void add_int(struct prom *p, const char *name, const char *type, const char *help,
                    const char *labels, uint64_t v)
{
    json_t *j = json_integer((json_int_t)v);

    add(p, name, type, help, labels, j);
    json_decref(j);
}

/* One device's counters: every integer member M of d becomes PREFIX_M_total. */
static void add_device(struct prom *p, const char *prefix, const char *what, const char *vm,
                       const char *label, json_t *d)
{
    char name[80], help[200], labels[200];
    const char *key;
    json_t *val;

    snprintf(labels, sizeof(labels), "vm=\"%s\",%s=\"%lld\"", vm, label,
             (long long)json_integer_value(json_object_get(d, "index")));
    json_object_foreach(d, key, val)
    {
        if (!json_is_integer(val) || !strcmp(key, "index"))
            continue;
        snprintf(name, sizeof(name), "%s_%s_total", prefix, key);
        snprintf(help, sizeof(help), "%s of the VM's %s since its VM process started.", key, what);
        add(p, name, "counter", help, labels, val);
    }
}

static void add_engine(struct prom *p, const char *vm, json_t *counters)
{
    char name[80], help[200], labels[200];
    const char *key, *kind;
    json_t *val, *kv;

    json_object_foreach(counters, key, val)
    {
        snprintf(name, sizeof(name), "vessel_vm_%s_total", key);
        snprintf(help, sizeof(help),
                 "The engine's %s count for the VM, summed over its vCPUs (engine_ops.counters).",
                 key);
        if (json_is_integer(val)) {
            snprintf(labels, sizeof(labels), "vm=\"%s\"", vm);
            add(p, name, "counter", help, labels, val);
            continue;
        }
        json_object_foreach(val, kind, kv)
        {
            snprintf(labels, sizeof(labels), "vm=\"%s\",kind=\"%s\"", vm, kind);
            add(p, name, "counter", help, labels, kv);
        }
    }
}

static void add_vm(struct prom *p, struct host_vm *v, json_t *j)
{
    const char *vm = v->cfg.name;
    char labels[200];
    size_t i;
    json_t *x;

    snprintf(labels, sizeof(labels), "vm=\"%s\"", vm);
    add(p, "vessel_vm_cpu_seconds_total", "counter",
        "CPU time of the VM process (all its threads: vCPUs, devices, the VMM), /proc.", labels,
        json_object_get(j, "cpu_time_s"));
    json_array_foreach(json_object_get(j, "vcpus"), i, x)
    {
        snprintf(labels, sizeof(labels), "vm=\"%s\",vcpu=\"%zu\"", vm, i);
        add(p, "vessel_vm_vcpu_seconds_total", "counter",
            "Host CPU time of each vCPU's thread (user and system).", labels,
            json_object_get(x, "cpu_time_s"));
    }
    add_engine(p, vm, json_object_get(json_object_get(j, "engine"), "counters"));
    json_array_foreach(json_object_get(j, "disks"), i, x)
        add_device(p, "vessel_vm_disk", "virtio-blk disk", vm, "disk", x);
    json_array_foreach(json_object_get(j, "nets"), i, x)
        add_device(p, "vessel_vm_net", "virtio-net NIC (rx: to the guest)", vm, "nic", x);
    snprintf(labels, sizeof(labels), "vm=\"%s\"", vm);
    if (json_is_integer(json_object_get(j, "rss_kib")))
        add_int(p, "vessel_vm_rss_bytes", "gauge", "Resident memory of the VM process (VmRSS).",
                labels, (uint64_t)json_integer_value(json_object_get(j, "rss_kib")) << 10);
    add_int(p, "vessel_vm_memory_bytes", "gauge", "Guest RAM the VM was given.", labels,
            v->cfg.memory_mib << 20);
    x = json_object_get(j, "balloon");
    if (json_is_object(x)) {
        add_int(p, "vessel_vm_balloon_bytes", "gauge",
                "Memory the guest has given to the balloon (taken from the guest).", labels,
                (uint64_t)json_integer_value(json_object_get(x, "actual_mib")) << 20);
        add_int(p, "vessel_vm_balloon_target_bytes", "gauge", "The balloon's target size.", labels,
                (uint64_t)json_integer_value(json_object_get(x, "target_mib")) << 20);
    }
    if (json_is_integer(json_object_get(j, "cgroup_cpu_ns"))) {
        x = json_real((double)json_integer_value(json_object_get(j, "cgroup_cpu_ns")) / 1e9);
        add(p, "vessel_vm_cgroup_cpu_seconds_total", "counter", "CPU time of the VM's cgroup.",
            labels, x);
        json_decref(x);
    }
}

static char *render(const struct prom *p)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (!f)
        return NULL;
    for (int k = 0; k < p->nfam; k++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", p->fam[k].name, p->fam[k].help, p->fam[k].name,
                p->fam[k].type);
        for (int i = 0; i < p->ns; i++) {
            const struct sample *s = &p->s[i];
            if (s->fam != k)
                continue;
            if (s->is_int)
                fprintf(f, "%s{%s} %llu\n", p->fam[k].name, s->labels,
                        (unsigned long long)s->ivalue);
            else
                fprintf(f, "%s{%s} %.15g\n", p->fam[k].name, s->labels, s->value);
        }
    }
    if (fclose(f)) {
        free(text);
        return NULL;
    }
    return text;
}

char *host_metrics_text(struct vm_host *h)
{
    static const char *const states[] = {"created", "running",  "paused",  "stopped",
                                         "crashed", "incoming", "migrated"};
    struct prom *p = calloc(1, sizeof(*p));
    int count[7] = {0};
    char labels[160], *text = NULL;
    struct host_vm *vms[REGISTRY_MAX_VMS];
    int nvms = 0;

    if (!p || !(p->s = calloc(SAMPLES_MAX, sizeof(*p->s)))) {
        free(p);
        return NULL;
    }
    /* Asking a VM for its statistics lets go of the daemon's lock: the VMs are taken first and
     * held (inflight: none is deleted meanwhile). */
    for (int i = 0; i < h->reg.n && nvms < REGISTRY_MAX_VMS; i++) {
        vms[nvms] = h->reg.vms[i];
        vms[nvms++]->inflight++;
    }
    for (int i = 0; i < nvms; i++) {
        struct host_vm *v = vms[i];
        struct api_error e;
        json_t *j = NULL;

        registry_refresh(&h->reg, v);
        count[v->state]++;
        snprintf(labels, sizeof(labels), "vm=\"%s\",state=\"%s\"", v->cfg.name,
                 vm_state_name(v->state));
        add_int(p, "vessel_vm_state", "gauge",
                "1 for the VM's state (created, running, paused, stopped, crashed, incoming, "
                "migrated).",
                labels, 1);
        if (vm_is_live(v) && !stats_json(h, v, 0, &j, &e))
            add_vm(p, v, j);
        json_decref(j);
    }
    for (int i = 0; i < nvms; i++)
        vms[i]->inflight--;
    for (int s = 0; s < 7; s++) {
        snprintf(labels, sizeof(labels), "state=\"%s\"", states[s]);
        add_int(p, "vessel_vms", "gauge", "VMs the daemon knows, by state.", labels,
                (uint64_t)count[s]);
    }
    text = render(p);
    free(p->s);
    free(p);
    return text;
}
