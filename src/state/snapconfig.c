/* The CONFIG section of a state file (JSON through jansson) and checked opening for restore. */
#include "state/snapconfig.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

char *snapshot_config_json(const struct snapshot_config *c)
{
    json_t *o = json_object(), *devs = json_array();
    char *text = NULL;

    if (!o || !devs)
        goto out;
    for (int i = 0; i < c->ndevices; i++)
        if (json_array_append_new(devs, json_string(c->devices[i])))
            goto out;
    if (json_object_set_new(o, "ram_size", json_integer((json_int_t)c->ram_size)) ||
        json_object_set_new(o, "harts", json_integer(c->nharts)) ||
        json_object_set_new(o, "cmdline", str_or_null(c->cmdline)) ||
        json_object_set_new(o, "firmware", str_or_null(c->firmware)) ||
        json_object_set_new(o, "kernel", str_or_null(c->kernel)) ||
        json_object_set_new(o, "initrd", str_or_null(c->initrd)) ||
        json_object_set_new(o, "bootloader", str_or_null(c->bootloader)) ||
        json_object_set(o, "devices", devs))
        goto out;
    text = json_dumps(o, JSON_COMPACT);
out:
    json_decref(devs);
    json_decref(o);
    return text;
}

void snapshot_config_free(struct snapshot_config *c)
{
    free(c->cmdline);
    free(c->firmware);
    free(c->kernel);
    free(c->initrd);
    free(c->bootloader);
    for (int i = 0; i < c->ndevices; i++) {
        free(c->devices[i]);
        free(c->alt_devices[i]);
    }
    memset(c, 0, sizeof(*c));
}

/* A member that is a string or null; false for anything else. */
static bool get_opt_string(json_t *o, const char *key, char **out)
{
    json_t *v = json_object_get(o, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    *out = strdup(json_string_value(v));
    return *out != NULL;
}

int snapshot_config_parse(const char *json, size_t len, struct snapshot_config *c, char *err,
                          size_t errlen)
{
    json_error_t jerr;
    json_t *o, *ram, *harts, *devs;
    size_t n;

    memset(c, 0, sizeof(*c));
    /* The payload may end with the NUL the writer included. */
    while (len && json[len - 1] == '\0')
        len--;
    o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(err, errlen, "machine configuration is not JSON: %s", jerr.text);
        return -EINVAL;
    }
    ram = json_object_get(o, "ram_size");
    harts = json_object_get(o, "harts");
    devs = json_object_get(o, "devices");
    if (!json_is_integer(ram) || json_integer_value(ram) <= 0 || !json_is_integer(harts) ||
        json_integer_value(harts) < 1 || json_integer_value(harts) > 1024 || !json_is_array(devs) ||
        json_array_size(devs) > SNAPSHOT_MAX_DEVICES)
        goto bad;
    c->ram_size = (uint64_t)json_integer_value(ram);
    c->nharts = (int)json_integer_value(harts);
    if (!get_opt_string(o, "cmdline", &c->cmdline) ||
        !get_opt_string(o, "firmware", &c->firmware) || !get_opt_string(o, "kernel", &c->kernel) ||
        !get_opt_string(o, "initrd", &c->initrd) ||
        !get_opt_string(o, "bootloader", &c->bootloader))
        goto bad;
    n = json_array_size(devs);
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(devs, i);
        if (!json_is_string(d))
            goto bad;
        c->devices[i] = strdup(json_string_value(d));
        if (!c->devices[i])
            goto bad;
        c->ndevices++;
    }
    json_decref(o);
    return 0;

bad:
    json_decref(o);
    snapshot_config_free(c);
    snprintf(err, errlen, "machine configuration has missing or bad members");
    return -EINVAL;
}

int snapshot_config_match(const struct snapshot_config *saved, const struct snapshot_config *now,
                          char *err, size_t errlen)
{
    if (saved->ram_size != now->ram_size) {
        snprintf(err, errlen, "the snapshot has %llu MiB of RAM, this VM %llu MiB",
                 (unsigned long long)(saved->ram_size >> 20),
                 (unsigned long long)(now->ram_size >> 20));
        return -EINVAL;
    }
    if (saved->nharts != now->nharts) {
        snprintf(err, errlen, "the snapshot has %d harts, this VM %d", saved->nharts, now->nharts);
        return -EINVAL;
    }
    for (int i = 0; i < saved->ndevices || i < now->ndevices; i++) {
        const char *a = i < saved->ndevices ? saved->devices[i] : NULL;
        const char *b = i < now->ndevices ? now->devices[i] : NULL;
        const char *alt = i < now->ndevices ? now->alt_devices[i] : NULL;
        if (a && b && (!strcmp(a, b) || (alt && !strcmp(a, alt))))
            continue;
        snprintf(err, errlen,
                 "virtio device %d differs: the snapshot has '%s', the command line gives '%s' "
                 "(give the same device options as when the snapshot was taken)",
                 i, a ? a : "(none)", b ? b : "(none)");
        return -EINVAL;
    }
    return 0;
}

int snapshot_open(struct snap_reader *r, const char *path, const char *engine, const char *arch)
{
    int err = snap_reader_open(r, path);

    if (err)
        return err;
    if (strcmp(r->engine, engine) || strcmp(r->arch, arch)) {
        log_err("state: %s: written by the %s engine for %s; this VM runs the %s engine for %s",
                path, r->engine, r->arch, engine, arch);
        snap_reader_close(r);
        return -ENOEXEC;
    }
    return 0;
}

int snapshot_read_config_file(const char *path, const char *engine, const char *arch,
                              struct snapshot_config *c)
{
    struct snap_reader r;
    int err = snapshot_open(&r, path, engine, arch);

    memset(c, 0, sizeof(*c));
    if (err)
        return err;
    err = snapshot_read_config(&r, path, c);
    snap_reader_close(&r);
    return err;
}

int snapshot_read_config(const struct snap_reader *r, const char *path, struct snapshot_config *c)
{
    const struct snap_section *s = snap_find(r, SNAP_CONFIG, 0, NULL);
    char why[200];
    char *buf;
    int err;

    memset(c, 0, sizeof(*c));
    if (!s || s->length > (1u << 20)) {
        log_err("state: %s: no machine configuration section", path);
        return -EBADMSG;
    }
    buf = malloc(s->length + 1);
    if (!buf)
        return -ENOMEM;
    err = snap_read_payload(r, s, buf, s->length);
    if (!err) {
        buf[s->length] = '\0';
        err = snapshot_config_parse(buf, s->length, c, why, sizeof(why));
        if (err)
            log_err("state: %s: %s", path, why);
    } else {
        log_err("state: %s: reading the machine configuration: %s", path, strerror(-err));
    }
    free(buf);
    return err;
}
