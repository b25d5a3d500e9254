/* Route table and request-body validation of the management API (pure; see apireq.h). */
#include "api/apireq.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backend/net/net.h"
#include "vm/migrate.h"

/* Every route answers 401 on the TCP listener without credentials; 403 is a path outside the
 * allowed directories. */
#define ST_ACTION "200 400 401 404 409 413 500" /* an action on one VM with an empty body */

const struct api_route_def api_routes[ROUTE_COUNT] = {
    {"GET", "/v1/host", ROUTE_HOST, "200 401 413 500"},
    {"GET", "/v1/vms", ROUTE_VM_LIST, "200 401 413 500"},
    {"POST", "/v1/vms", ROUTE_VM_CREATE, "201 400 401 403 409 413 422 500"},
    {"GET", "/v1/vms/{id}", ROUTE_VM_GET, "200 401 404 413 500"},
    {"DELETE", "/v1/vms/{id}", ROUTE_VM_DELETE, ST_ACTION},
    {"POST", "/v1/vms/{id}/start", ROUTE_VM_START, "200 400 401 404 409 413 422 500"},
    {"POST", "/v1/vms/{id}/pause", ROUTE_VM_PAUSE, ST_ACTION},
    {"POST", "/v1/vms/{id}/resume", ROUTE_VM_RESUME, ST_ACTION},
    {"POST", "/v1/vms/{id}/stop", ROUTE_VM_STOP, ST_ACTION},
    {"POST", "/v1/vms/{id}/shutdown", ROUTE_VM_SHUTDOWN, "202 400 401 404 409 413 422 500"},
    {"POST", "/v1/vms/{id}/reboot", ROUTE_VM_REBOOT, ST_ACTION},
    {"PUT", "/v1/vms/{id}/balloon", ROUTE_VM_BALLOON, "200 400 401 404 409 413 422 500"},
    {"POST", "/v1/vms/{id}/snapshot", ROUTE_VM_SNAPSHOT, "200 400 401 403 404 409 413 422 500"},
    {"POST", "/v1/vms/{id}/migrate", ROUTE_VM_MIGRATE, "202 400 401 404 409 413 422 500"},
    {"GET", "/v1/vms/{id}/migration", ROUTE_VM_MIGRATION_GET, ST_ACTION},
    {"DELETE", "/v1/vms/{id}/migration", ROUTE_VM_MIGRATION_CANCEL, ST_ACTION},
    {"GET", "/v1/vms/{id}/stats", ROUTE_VM_STATS, "200 401 404 409 413 500"},
    {"GET", "/v1/vms/{id}/console", ROUTE_VM_CONSOLE, "101 401 403 404 409 413 426 500"},
    {"GET", "/metrics", ROUTE_METRICS, "200 401 413 500"},
};

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0: a stray continuation byte, a
 * lead byte without its continuations, an overlong form, a surrogate or a code point past
 * U+10FFFF. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80             ? 1
               : (s[0] & 0xe0) == 0xc0 ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    uint32_t cp;

    if (n < 2)
        return n;
    cp = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

void api_text_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p) {
        size_t n = utf8_len(p);

        if (!n || *p < 0x20 || *p == 0x7f) {
            *p++ = '?'; /* a client's bytes in a message stay printable and valid JSON text */
            continue;
        }
        p += n;
    }
}

int api_error_set(struct api_error *e, int status, const char *code, const char *fmt, ...)
{
    va_list ap;

    e->status = status;
    snprintf(e->code, sizeof(e->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    api_text_sanitize(e->message); /* also a multi-byte character cut at the end */
    return status;
}

bool api_name_valid(const char *s)
{
    size_t n = 0;

    if (!s || !*s || s[0] == '-' || s[0] == '.')
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok || n >= API_NAME_MAX - 1)
            return false;
    }
    return true;
}

/* Matches path against pattern; the "{id}" segment is copied to id. */
static bool path_match(const char *pattern, const char *path, char id[API_NAME_MAX])
{
    while (*pattern) {
        if (!strncmp(pattern, "{id}", 4)) {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= API_NAME_MAX)
                return false;
            memcpy(id, path, n);
            id[n] = '\0';
            path += n;
            pattern += 4;
            continue;
        }
        if (*pattern != *path)
            return false;
        pattern++;
        path++;
    }
    return *path == '\0' || (path[0] == '/' && path[1] == '\0');
}

int api_route_match(const char *method, const char *url, enum api_route *route,
                    char id[API_NAME_MAX], struct api_error *e)
{
    bool path_found = false;
    char tmp[API_NAME_MAX];

    id[0] = '\0';
    for (int i = 0; i < ROUTE_COUNT; i++) {
        tmp[0] = '\0';
        if (!path_match(api_routes[i].path, url, tmp))
            continue;
        path_found = true;
        if (strcmp(api_routes[i].method, method) != 0)
            continue;
        if (tmp[0] && !api_name_valid(tmp))
            return api_error_set(e, 404, "not_found", "no VM '%.63s' (not a valid id or name)",
                                 tmp);
        memcpy(id, tmp, sizeof(tmp));
        *route = api_routes[i].route;
        return 0;
    }
    if (path_found)
        return api_error_set(e, 405, "method_not_allowed", "%.16s is not allowed on %.128s", method,
                             url);
    return api_error_set(e, 404, "not_found", "no such endpoint: %.16s %.128s", method, url);
}

static int load_object(const char *body, size_t len, json_t **out, struct api_error *e)
{
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (len > API_BODY_MAX)
        return api_error_set(e, 413, "too_large", "request body over %d bytes", API_BODY_MAX);
    j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return api_error_set(e, 400, "bad_json", "malformed JSON at line %d column %d: %.150s",
                             jerr.line, jerr.column, jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return api_error_set(e, 400, "bad_json", "the body must be a JSON object");
    }
    *out = j;
    return 0;
}

/* Rejects any member not in the NULL-terminated list. */
static int check_fields(json_t *obj, const char *const *allowed, const char *where,
                        struct api_error *e)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (int i = 0; allowed[i]; i++)
            ok = ok || !strcmp(key, allowed[i]);
        if (!ok)
            return api_error_set(e, 400, "unknown_field", "unknown field '%.64s'%s", key, where);
    }
    return 0;
}

static int get_string(json_t *obj, const char *key, char *dst, size_t cap, bool required,
                      struct api_error *e)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v)) {
        if (required)
            return api_error_set(e, 400, "missing_field", "'%s' is required", key);
        return 0;
    }
    if (!json_is_string(v))
        return api_error_set(e, 400, "bad_type", "'%s' must be a string", key);
    if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
        return api_error_set(e, 422, "out_of_range", "'%s' is longer than %zu bytes or has NUL",
                             key, cap - 1);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_int(json_t *obj, const char *key, long long min, long long max, long long *dst,
                   bool required, struct api_error *e)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v)) {
        if (required)
            return api_error_set(e, 400, "missing_field", "'%s' is required", key);
        return 0;
    }
    if (!json_is_integer(v))
        return api_error_set(e, 400, "bad_type", "'%s' must be an integer", key);
    if (json_integer_value(v) < min || json_integer_value(v) > max)
        return api_error_set(e, 422, "out_of_range", "'%s' must be from %lld to %lld", key, min,
                             max);
    *dst = json_integer_value(v);
    return 0;
}

static int get_bool(json_t *obj, const char *key, bool *dst, struct api_error *e)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return api_error_set(e, 400, "bad_type", "'%s' must be true or false", key);
    *dst = json_is_true(v);
    return 0;
}

static int check_path(const char *key, const char *p, struct api_error *e)
{
    if (p[0] && p[0] != '/')
        return api_error_set(e, 422, "out_of_range", "'%s' must be an absolute path", key);
    return 0;
}

static int parse_disks(json_t *arr, struct api_vm_config *c, struct api_error *e)
{
    static const char *const fields[] = {"path", "readonly", "format", NULL};
    char fmt[16];
    size_t i;
    json_t *d, *f;

    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return api_error_set(e, 400, "bad_type", "'disks' must be an array");
    if (json_array_size(arr) > API_MAX_DISKS)
        return api_error_set(e, 422, "out_of_range", "at most %d disks", API_MAX_DISKS);
    json_array_foreach(arr, i, d)
    {
        struct api_disk *dk = &c->disks[i];
        int st;

        if (!json_is_object(d))
            return api_error_set(e, 400, "bad_type", "'disks[%zu]' must be an object", i);
        if ((st = check_fields(d, fields, " in a disk", e)) ||
            (st = get_string(d, "path", dk->path, sizeof(dk->path), true, e)) ||
            (st = get_bool(d, "readonly", &dk->readonly, e)))
            return st;
        f = json_object_get(d, "format");
        if (f && !json_is_null(f)) {
            if (!json_is_string(f))
                return api_error_set(e, 400, "bad_type", "'disks[%zu].format' must be a string", i);
            snprintf(fmt, sizeof(fmt), "%s", json_string_value(f));
            dk->format = !strcmp(fmt, "raw")     ? DISK_FORMAT_RAW
                         : !strcmp(fmt, "qcow2") ? DISK_FORMAT_QCOW2
                                                 : DISK_FORMAT_PROBE;
            if (json_string_length(f) >= sizeof(fmt) || dk->format == DISK_FORMAT_PROBE)
                return api_error_set(e, 422, "out_of_range",
                                     "'disks[%zu].format' must be \"raw\" or \"qcow2\"", i);
        }
        if (!dk->path[0] || dk->path[0] != '/' || strchr(dk->path, ','))
            return api_error_set(e, 422, "out_of_range",
                                 "'disks[%zu].path' must be an absolute path without commas", i);
        c->ndisks++;
    }
    return 0;
}

static int parse_nets(json_t *arr, struct api_vm_config *c, struct api_error *e)
{
    struct net_config nc;
    char why[160];
    size_t i;
    json_t *n;

    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return api_error_set(e, 400, "bad_type", "'nets' must be an array");
    if (json_array_size(arr) > API_MAX_NETS)
        return api_error_set(e, 422, "out_of_range", "at most %d nets", API_MAX_NETS);
    json_array_foreach(arr, i, n)
    {
        if (!json_is_string(n))
            return api_error_set(e, 400, "bad_type",
                                 "'nets[%zu]' must be a string like \"user\" (a --net value)", i);
        if (json_string_length(n) >= API_NET_SPEC_MAX ||
            strlen(json_string_value(n)) != json_string_length(n))
            return api_error_set(e, 422, "out_of_range", "'nets[%zu]' is too long", i);
        if (net_config_parse(json_string_value(n), &nc, why, sizeof(why)))
            return api_error_set(e, 422, "out_of_range", "'nets[%zu]': %s", i, why);
        if (nc.fd_set) /* a descriptor of the VM process: the daemon's to hand in, not a client's */
            return api_error_set(e, 422, "out_of_range",
                                 "'nets[%zu]': fd= is not for API clients (name the tap or switch)",
                                 i);
        memcpy(c->nets[i], json_string_value(n), json_string_length(n) + 1);
        c->nnets++;
    }
    return 0;
}

static int parse_config(json_t *j, struct api_vm_config *c, struct api_error *e)
{
    static const char *const fields[] = {
        "name",     "arch", "cpus",    "memory_mib", "kernel",  "initrd", "cmdline",  "disks",
        "firmware", "nets", "balloon", "cpu_quota",  "restore", "clone",  "incoming", NULL};
    long long cpus = 1, mem = 256;
    json_t *q;
    int st;

    *c = (struct api_vm_config){.balloon = true};
    snprintf(c->arch, sizeof(c->arch), "riscv64");
    if ((st = check_fields(j, fields, "", e)) ||
        (st = get_string(j, "restore", c->restore, sizeof(c->restore), false, e)) ||
        (st = get_string(j, "incoming", c->incoming, sizeof(c->incoming), false, e)))
        return st;
    if (c->restore[0])
        cpus = mem = 0; /* from the snapshot */
    if (c->incoming[0] && (!json_object_get(j, "cpus") || !json_object_get(j, "memory_mib")))
        return api_error_set(e, 400, "missing_field",
                             "'incoming' needs 'cpus' and 'memory_mib' (the source VM's)");
    if ((st = get_string(j, "name", c->name, sizeof(c->name), true, e)) ||
        (st = get_string(j, "arch", c->arch, sizeof(c->arch), false, e)) ||
        (st = get_int(j, "cpus", 1, API_CPUS_MAX, &cpus, false, e)) ||
        (st = get_int(j, "memory_mib", API_MEM_MIN_MIB, API_MEM_MAX_MIB, &mem, false, e)) ||
        (st = get_string(j, "kernel", c->kernel, sizeof(c->kernel), false, e)) ||
        (st = get_string(j, "initrd", c->initrd, sizeof(c->initrd), false, e)) ||
        (st = get_string(j, "firmware", c->firmware, sizeof(c->firmware), false, e)) ||
        (st = get_string(j, "cmdline", c->cmdline, sizeof(c->cmdline), false, e)) ||
        (st = get_bool(j, "balloon", &c->balloon, e)) ||
        (st = get_bool(j, "clone", &c->clone, e)) ||
        (st = parse_disks(json_object_get(j, "disks"), c, e)) ||
        (st = parse_nets(json_object_get(j, "nets"), c, e)))
        return st;
    c->cpus = (int)cpus;
    c->memory_mib = (uint64_t)mem;
    if (!api_name_valid(c->name))
        return api_error_set(e, 422, "out_of_range",
                             "'name' must be 1 to 63 of A-Z a-z 0-9 . _ - (not starting with . "
                             "or -)");
    if (strcmp(c->arch, "riscv64") != 0 && strcmp(c->arch, "x86_64") != 0)
        return api_error_set(e, 422, "out_of_range", "'arch' must be riscv64 or x86_64");
    if ((st = check_path("kernel", c->kernel, e)) || (st = check_path("initrd", c->initrd, e)) ||
        (st = check_path("firmware", c->firmware, e)))
        return st;
    if (c->incoming[0]) {
        if (!api_hostport_valid(c->incoming, false))
            return api_error_set(e, 422, "out_of_range",
                                 "'incoming' must be PORT or HOST:PORT (port 1 to 65535)");
        if (c->kernel[0] || c->initrd[0] || c->firmware[0] || c->cmdline[0] || c->restore[0])
            return api_error_set(e, 422, "out_of_range",
                                 "'incoming' takes the machine from the migration source: no "
                                 "'kernel', 'initrd', 'firmware', 'cmdline' or 'restore'");
    } else if (c->restore[0]) {
        if ((st = check_path("restore", c->restore, e)))
            return st;
        if (c->kernel[0] || c->initrd[0] || c->firmware[0] || c->cmdline[0])
            return api_error_set(e, 422, "out_of_range",
                                 "'restore' takes the machine from the snapshot: no 'kernel', "
                                 "'initrd', 'firmware' or 'cmdline'");
        if (c->clone && strcmp(c->arch, "riscv64") != 0)
            return api_error_set(e, 422, "out_of_range", "'clone' is for riscv64 VMs only");
    } else if (!c->kernel[0] && !c->ndisks) {
        /* Without a kernel a VM boots from its disks (where its board has a boot loader: the
         * daemon checks that, this file knows no boards). */
        return api_error_set(e, 422, "out_of_range",
                             "give 'kernel', or 'disks' to boot from (riscv64)");
    } else if (!c->kernel[0] && (c->initrd[0] || c->cmdline[0])) {
        return api_error_set(e, 422, "out_of_range",
                             "'initrd' and 'cmdline' go with 'kernel' (without one the boot "
                             "loader takes them from the disk)");
    }
    if (c->clone && !c->restore[0])
        return api_error_set(e, 422, "out_of_range",
                             "'clone' makes each start a new clone of the snapshot in 'restore': "
                             "give 'restore'");
    q = json_object_get(j, "cpu_quota");
    if (q && !json_is_null(q)) {
        if (!json_is_number(q))
            return api_error_set(e, 400, "bad_type", "'cpu_quota' must be a number (cores)");
        c->cpu_quota = json_number_value(q);
        if (!isfinite(c->cpu_quota) || c->cpu_quota < 0.01 ||
            c->cpu_quota > (c->cpus ? c->cpus : API_CPUS_MAX))
            return api_error_set(e, 422, "out_of_range",
                                 "'cpu_quota' must be from 0.01 to cpus (%d) cores, or null",
                                 c->cpus ? c->cpus : API_CPUS_MAX);
    }
    if (!strcmp(c->arch, "x86_64") && (c->ndisks || c->nnets || c->firmware[0]))
        return api_error_set(e, 422, "out_of_range",
                             "x86_64 VMs take no disks, nets or firmware yet");
    if (!strcmp(c->arch, "x86_64"))
        c->balloon = false;
    if (c->ndisks + c->nnets + c->balloon > API_MAX_DISKS)
        return api_error_set(e, 422, "out_of_range",
                             "at most 8 virtio devices (disks + nets + balloon)");
    return 0;
}

int api_vm_config_parse(const char *body, size_t len, struct api_vm_config *c, struct api_error *e)
{
    json_t *j;
    int st = load_object(body, len, &j, e);

    if (st)
        return st;
    st = parse_config(j, c, e);
    json_decref(j);
    return st;
}

int api_balloon_parse(const char *body, size_t len, uint64_t *target_mib, struct api_error *e)
{
    static const char *const fields[] = {"target_mib", NULL};
    long long v = 0;
    json_t *j;
    int st = load_object(body, len, &j, e);

    if (st)
        return st;
    if (!(st = check_fields(j, fields, "", e)) &&
        !(st = get_int(j, "target_mib", 0, API_MEM_MAX_MIB, &v, true, e)))
        *target_mib = (uint64_t)v;
    json_decref(j);
    return st;
}

int api_shutdown_parse(const char *body, size_t len, int *timeout_s, struct api_error *e)
{
    static const char *const fields[] = {"timeout_s", NULL};
    long long v = API_SHUTDOWN_TIMEOUT_S;
    json_t *j;
    int st;

    *timeout_s = API_SHUTDOWN_TIMEOUT_S;
    if (len == 0)
        return 0;
    if ((st = load_object(body, len, &j, e)))
        return st;
    if (!(st = check_fields(j, fields, "", e)) &&
        !(st = get_int(j, "timeout_s", 0, API_SHUTDOWN_TIMEOUT_MAX_S, &v, false, e)))
        *timeout_s = (int)v;
    json_decref(j);
    return st;
}

int api_snapshot_parse(const char *body, size_t len, char path[API_PATH_MAX], bool *stop,
                       bool *keep_disks, struct api_error *e)
{
    static const char *const fields[] = {"path", "then", "disks", NULL};
    char then[16] = "resume", disks[16] = "overlay";
    json_t *j;
    int st = load_object(body, len, &j, e);

    if (st)
        return st;
    path[0] = '\0';
    if (!(st = check_fields(j, fields, "", e)) &&
        !(st = get_string(j, "path", path, API_PATH_MAX, true, e)) &&
        !(st = get_string(j, "then", then, sizeof(then), false, e)) &&
        !(st = get_string(j, "disks", disks, sizeof(disks), false, e))) {
        if (path[0] != '/')
            st = api_error_set(e, 422, "out_of_range", "'path' must be an absolute path");
        else if (strcmp(then, "resume") != 0 && strcmp(then, "stop") != 0)
            st = api_error_set(e, 422, "out_of_range", "'then' must be \"resume\" or \"stop\"");
        else if (strcmp(disks, "overlay") != 0 && strcmp(disks, "keep") != 0)
            st = api_error_set(e, 422, "out_of_range", "'disks' must be \"overlay\" or \"keep\"");
        *stop = !strcmp(then, "stop");
        *keep_disks = !strcmp(disks, "keep");
    }
    json_decref(j);
    return st;
}

bool api_hostport_valid(const char *s, bool need_host)
{
    const char *port = s, *host = s;
    size_t hl = 0;
    bool v6 = false;
    long v = 0;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        host = s + 1;
        hl = (size_t)(close - host);
        port = close + 2;
        v6 = true;
    } else if (strchr(s, ':')) {
        port = strrchr(s, ':') + 1;
        hl = (size_t)(port - 1 - s);
    }
    if (hl == 0 && (need_host || port != s))
        return false;
    if (hl > 255)
        return false;
    for (size_t i = 0; i < hl; i++) {
        char c = host[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || (v6 ? c == ':' : c == '_');
        if (!ok)
            return false;
    }
    if (!*port || strlen(port) > 5)
        return false;
    for (const char *p = port; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    return v >= 1 && v <= 65535;
}

int api_migrate_parse(const char *body, size_t len, struct api_migrate *m, struct api_error *e)
{
    static const char *const fields[] = {"to",         "secret",     "downtime_ms",
                                         "timeout_ms", "max_passes", NULL};
    char why[120];
    long long downtime = 0, timeout = 0, passes = 0;
    json_t *j;
    int st = load_object(body, len, &j, e);

    *m = (struct api_migrate){0};
    if (st)
        return st;
    if (!(st = check_fields(j, fields, "", e)) &&
        !(st = get_string(j, "to", m->to, sizeof(m->to), true, e)) &&
        !(st = get_string(j, "secret", m->secret, sizeof(m->secret), true, e)) &&
        !(st = get_int(j, "downtime_ms", 1, 60000, &downtime, false, e)) &&
        !(st = get_int(j, "timeout_ms", 1, 3600000, &timeout, false, e)) &&
        !(st = get_int(j, "max_passes", 1, 1000, &passes, false, e))) {
        if (!api_hostport_valid(m->to, true))
            st = api_error_set(e, 422, "out_of_range",
                               "'to' must be HOST:PORT or [V6ADDR]:PORT (port 1 to 65535)");
        else if (migrate_secret_check(m->secret, why, sizeof(why)))
            st = api_error_set(e, 422, "out_of_range",
                               "'secret': %s (the destination VM's migration_secret)", why);
        m->downtime_ms = (uint32_t)downtime;
        m->timeout_ms = (uint32_t)timeout;
        m->max_passes = (uint32_t)passes;
    }
    json_decref(j);
    return st;
}

int api_empty_body_check(const char *body, size_t len, struct api_error *e)
{
    static const char *const none[] = {NULL};
    json_t *j;
    int st;

    for (size_t i = 0; i < len; i++)
        if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t')
            goto parse;
    return 0;
parse:
    if ((st = load_object(body, len, &j, e)))
        return st;
    st = check_fields(j, none, "", e);
    json_decref(j);
    return st;
}
