/* A VM configuration as JSON (vm_config.h; docs/vm-config.md): how the daemon hands a VM
 * process its configuration, and `vessel run --config FILE`. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "vm/vm_config.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static const char *format_name(enum disk_format f)
{
    return f == DISK_FORMAT_RAW ? "raw" : f == DISK_FORMAT_QCOW2 ? "qcow2" : NULL;
}

static json_t *jail_json(const struct vm_jail *j)
{
    json_t *allow = json_array();

    for (int i = 0; allow && i < j->nallow; i++)
        json_array_append_new(allow, json_string(j->allow[i]));
    return json_pack("{s:I,s:I,s:o,s:o,s:o,s:o}", "uid_first", (json_int_t)j->uid_first,
                     "uid_count", (json_int_t)j->uid_count, "gid",
                     j->gid >= 0 ? json_integer((json_int_t)j->gid) : json_null(), "dir",
                     str_or_null(j->dir), "root", str_or_null(j->root), "allow",
                     allow ? allow : json_null());
}

char *vm_config_to_json(const struct vm_config *c)
{
    json_t *o = json_object(), *disks = json_array(), *nets = json_array();
    char *text = NULL;
    int bad = !o || !disks || !nets;

    for (int i = 0; !bad && i < c->ndisks; i++)
        bad |=
            json_array_append_new(disks, json_pack("{s:s,s:b,s:o}", "path", c->disks[i].path,
                                                   "readonly", c->disks[i].readonly, "format",
                                                   str_or_null(format_name(c->disks[i].format))));
    for (int i = 0; !bad && i < c->nnets; i++)
        bad |= json_array_append_new(nets, json_string(c->nets[i]));
    if (!bad) {
        bad |= json_object_set_new(o, "arch", str_or_null(c->arch));
        bad |= json_object_set_new(o, "kernel", str_or_null(c->kernel));
        bad |= json_object_set_new(o, "initrd", str_or_null(c->initrd));
        bad |= json_object_set_new(o, "firmware", str_or_null(c->firmware));
        bad |= json_object_set_new(o, "bootloader", str_or_null(c->bootloader));
        bad |= json_object_set_new(o, "cmdline", str_or_null(c->cmdline));
        bad |= json_object_set_new(o, "trace", str_or_null(c->trace));
        bad |= json_object_set_new(o, "rv64_tier", str_or_null(c->rv64_tier));
        if (c->rv64_jit_cache)
            bad |= json_object_set_new(o, "rv64_jit_cache_bytes",
                                       json_integer((json_int_t)c->rv64_jit_cache));
        if (c->mem_set)
            bad |= json_object_set_new(o, "memory_bytes", json_integer((json_int_t)c->mem));
        if (c->cpus_set)
            bad |= json_object_set_new(o, "cpus", json_integer(c->cpus));
        bad |= json_object_set(o, "disks", disks);
        bad |= json_object_set_new(o, "rng", json_boolean(c->rng));
        bad |= json_object_set_new(o, "console_socket", str_or_null(c->console_socket));
        bad |= json_object_set(o, "nets", nets);
        if (c->balloon)
            bad |=
                json_object_set_new(o, "balloon_bytes", json_integer((json_int_t)c->balloon_bytes));
        bad |= json_object_set_new(o, "api_socket", str_or_null(c->api_socket));
        bad |= json_object_set_new(o, "restore", str_or_null(c->restore));
        bad |= json_object_set_new(o, "clone", json_boolean(c->clone));
        bad |= json_object_set_new(o, "incoming", str_or_null(c->incoming));
        if (c->migration_secret)
            bad |= json_object_set_new(o, "migration_secret", json_string(c->migration_secret));
        if (c->incoming_timeout_s)
            bad |= json_object_set_new(o, "incoming_timeout_s",
                                       json_integer((json_int_t)c->incoming_timeout_s));
        if (c->incoming_max_mem)
            bad |= json_object_set_new(o, "incoming_max_memory_bytes",
                                       json_integer((json_int_t)c->incoming_max_mem));
        if (c->seccomp)
            bad |= json_object_set_new(o, "seccomp", json_true());
        if (c->jail.on)
            bad |= json_object_set_new(o, "jail", jail_json(&c->jail));
        if (c->overlay_dir)
            bad |= json_object_set_new(o, "overlay_dir", json_string(c->overlay_dir));
    }
    if (!bad)
        text = json_dumps(o, JSON_COMPACT);
    json_decref(disks);
    json_decref(nets);
    json_decref(o);
    return text;
}

static int fail(char *why, size_t whylen, const char *member, const char *what)
{
    snprintf(why, whylen, "\"%s\": %s", member, what);
    return -EINVAL;
}

/* A member that is a string (kept), null or absent (NULL). */
static int get_str(json_t *o, const char *key, char **out, char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || !json_string_length(v) ||
        strlen(json_string_value(v)) != json_string_length(v))
        return fail(why, whylen, key, "expected a non-empty string without NUL bytes");
    *out = vm_config_strdup(json_string_value(v));
    return 0;
}

static int get_bool(json_t *o, const char *key, bool *out, char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);

    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(why, whylen, key, "expected true or false");
    *out = json_is_true(v);
    return 0;
}

/* A non-negative integer member; *set tells whether it was there. */
static int get_uint(json_t *o, const char *key, uint64_t *out, bool *set, char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(why, whylen, key, "expected a non-negative integer");
    *out = (uint64_t)json_integer_value(v);
    *set = true;
    return 0;
}

static int get_disks(json_t *o, struct vm_config *c, char *why, size_t whylen)
{
    json_t *a = json_object_get(o, "disks"), *d;
    size_t i;

    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > VM_MAX_DEVICES)
        return fail(why, whylen, "disks", "expected an array of at most 16 disks");
    json_array_foreach(a, i, d)
    {
        struct vm_disk *k = &c->disks[c->ndisks];
        const char *key;
        json_t *v;
        char *fmt = NULL;
        int err;

        if (!json_is_object(d))
            return fail(why, whylen, "disks", "expected {\"path\", \"readonly\", \"format\"}");
        json_object_foreach(d, key, v)
        {
            if (strcmp(key, "path") && strcmp(key, "readonly") && strcmp(key, "format"))
                return fail(why, whylen, key, "unknown member of a disk");
        }
        c->ndisks++;
        err = get_str(d, "path", &k->path, why, whylen);
        if (!err && !k->path)
            err = fail(why, whylen, "disks", "a disk needs a \"path\"");
        if (!err)
            err = get_bool(d, "readonly", &k->readonly, why, whylen);
        if (!err)
            err = get_str(d, "format", &fmt, why, whylen);
        if (!err && fmt && (disk_format_parse(fmt, &k->format) || k->format == DISK_FORMAT_PROBE))
            err = fail(why, whylen, "format", "expected \"raw\" or \"qcow2\"");
        free(fmt);
        if (err)
            return err;
    }
    return 0;
}

static int get_nets(json_t *o, struct vm_config *c, char *why, size_t whylen)
{
    json_t *a = json_object_get(o, "nets"), *n;
    size_t i;

    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > VM_MAX_DEVICES)
        return fail(why, whylen, "nets", "expected an array of at most 16 strings");
    json_array_foreach(a, i, n)
    {
        if (!json_is_string(n) || !json_string_length(n))
            return fail(why, whylen, "nets", "expected --net specs as strings");
        c->nets[c->nnets++] = vm_config_strdup(json_string_value(n));
    }
    return 0;
}

/* {"uid_first", "uid_count", "gid", "dir", "root", "allow"} */
static int get_jail(json_t *o, struct vm_jail *j, char *why, size_t whylen)
{
    json_t *a = json_object_get(o, "jail"), *allow, *d;
    uint64_t first = 0, count = 0, gid = 0;
    bool set = false, gid_set = false;
    const char *key;
    size_t i;
    int err = 0;

    j->gid = -1;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_object(a))
        return fail(why, whylen, "jail", "expected an object");
    json_object_foreach(a, key, d)
    {
        if (strcmp(key, "uid_first") && strcmp(key, "uid_count") && strcmp(key, "gid") &&
            strcmp(key, "dir") && strcmp(key, "root") && strcmp(key, "allow"))
            return fail(why, whylen, key, "unknown member of \"jail\"");
    }
    j->on = true;
    err = err ? err : get_uint(a, "uid_first", &first, &set, why, whylen);
    err = err ? err : get_uint(a, "uid_count", &count, &set, why, whylen);
    if (!err && !json_is_null(json_object_get(a, "gid")))
        err = get_uint(a, "gid", &gid, &gid_set, why, whylen);
    if (!err && (first > 0xfffffffeu || count > 0xffffffffu || gid > 0xfffffffeu))
        err = fail(why, whylen, "jail", "uid or gid out of range");
    j->uid_first = (uint32_t)first;
    j->uid_count = (uint32_t)count;
    j->gid = gid_set ? (int64_t)gid : -1;
    err = err ? err : get_str(a, "dir", &j->dir, why, whylen);
    err = err ? err : get_str(a, "root", &j->root, why, whylen);
    allow = json_object_get(a, "allow");
    if (err || !allow || json_is_null(allow))
        return err;
    if (!json_is_array(allow) || json_array_size(allow) > VM_JAIL_ALLOW_MAX)
        return fail(why, whylen, "allow", "expected an array of at most 16 directories");
    json_array_foreach(allow, i, d)
    {
        if (!json_is_string(d) || json_string_value(d)[0] != '/')
            return fail(why, whylen, "allow", "expected absolute directory paths");
        j->allow[j->nallow++] = vm_config_strdup(json_string_value(d));
    }
    return 0;
}

static const char *const members[] = {
    "arch",
    "kernel",
    "initrd",
    "firmware",
    "bootloader",
    "cmdline",
    "trace",
    "rv64_tier",
    "rv64_jit_cache_bytes",
    "memory_bytes",
    "cpus",
    "disks",
    "rng",
    "console_socket",
    "nets",
    "balloon_bytes",
    "api_socket",
    "restore",
    "clone",
    "incoming",
    "migration_secret",
    "incoming_timeout_s",
    "incoming_max_memory_bytes",
    "seccomp",
    "jail",
    "overlay_dir",
    NULL,
};

static int known(const char *key)
{
    for (int i = 0; members[i]; i++)
        if (!strcmp(members[i], key))
            return 1;
    return 0;
}

static int parse(json_t *o, struct vm_config *c, char *why, size_t whylen)
{
    const char *key;
    json_t *v;
    uint64_t cpus = 0, timeout = 0;
    bool set = false;
    int err = 0;

    json_object_foreach(o, key, v)
    {
        if (!known(key))
            return fail(why, whylen, key, "unknown member");
    }
    err = err ? err : get_str(o, "arch", &c->arch, why, whylen);
    err = err ? err : get_str(o, "kernel", &c->kernel, why, whylen);
    err = err ? err : get_str(o, "initrd", &c->initrd, why, whylen);
    err = err ? err : get_str(o, "firmware", &c->firmware, why, whylen);
    err = err ? err : get_str(o, "bootloader", &c->bootloader, why, whylen);
    err = err ? err : get_str(o, "cmdline", &c->cmdline, why, whylen);
    err = err ? err : get_str(o, "trace", &c->trace, why, whylen);
    err = err ? err : get_str(o, "rv64_tier", &c->rv64_tier, why, whylen);
    err = err ? err : get_uint(o, "rv64_jit_cache_bytes", &c->rv64_jit_cache, &set, why, whylen);
    err = err ? err : get_uint(o, "memory_bytes", &c->mem, &c->mem_set, why, whylen);
    err = err ? err : get_uint(o, "cpus", &cpus, &c->cpus_set, why, whylen);
    if (!err && cpus > 1024)
        err = fail(why, whylen, "cpus", "too many");
    c->cpus = (int)cpus;
    err = err ? err : get_disks(o, c, why, whylen);
    err = err ? err : get_bool(o, "rng", &c->rng, why, whylen);
    err = err ? err : get_str(o, "console_socket", &c->console_socket, why, whylen);
    err = err ? err : get_nets(o, c, why, whylen);
    err = err ? err : get_uint(o, "balloon_bytes", &c->balloon_bytes, &c->balloon, why, whylen);
    err = err ? err : get_str(o, "api_socket", &c->api_socket, why, whylen);
    err = err ? err : get_str(o, "restore", &c->restore, why, whylen);
    err = err ? err : get_bool(o, "clone", &c->clone, why, whylen);
    err = err ? err : get_str(o, "incoming", &c->incoming, why, whylen);
    err = err ? err : get_str(o, "migration_secret", &c->migration_secret, why, whylen);
    err = err ? err : get_uint(o, "incoming_timeout_s", &timeout, &set, why, whylen);
    if (!err && timeout > 7 * 86400)
        err = fail(why, whylen, "incoming_timeout_s", "at most a week (604800)");
    c->incoming_timeout_s = (uint32_t)timeout;
    err = err ? err
              : get_uint(o, "incoming_max_memory_bytes", &c->incoming_max_mem, &set, why, whylen);
    err = err ? err : get_bool(o, "seccomp", &c->seccomp, why, whylen);
    err = err ? err : get_jail(o, &c->jail, why, whylen);
    err = err ? err : get_str(o, "overlay_dir", &c->overlay_dir, why, whylen);
    return err;
}

int vm_config_from_json(const char *text, size_t len, struct vm_config *c, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *o;
    int err;

    memset(c, 0, sizeof(*c));
    if (len > VM_CONFIG_MAX_LEN) {
        snprintf(why, whylen, "larger than %d KiB", VM_CONFIG_MAX_LEN >> 10);
        return -EINVAL;
    }
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(why, whylen, "not valid JSON: %s (line %d)", jerr.text, jerr.line);
        return -EINVAL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(why, whylen, "expected a JSON object");
        return -EINVAL;
    }
    err = parse(o, c, why, whylen);
    json_decref(o);
    if (err)
        vm_config_free(c);
    return err;
}
