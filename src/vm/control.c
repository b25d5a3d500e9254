#include "vm/control.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "vm/vm.h"

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* {"snapshot": {"path": "...", "then": "resume"|"stop"}}: the one command with an object. */
static int parse_snapshot(const char *line, struct control_cmd *cmd, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *a, *path, *then, *disks;
    const char *k;
    json_t *v;
    int ret = -EINVAL;

    if (!o)
        return errbuf_set(err, errlen, "snapshot: bad JSON: %s", jerr.text);
    a = json_object_get(o, "snapshot");
    path = json_object_get(a, "path");
    then = json_object_get(a, "then");
    disks = json_object_get(a, "disks");
    if (json_object_size(o) != 1 || !json_is_object(a)) {
        errbuf_set(err, errlen, "expected {\"snapshot\": {\"path\": ..., \"then\": ...}}");
        goto out;
    }
    json_object_foreach(a, k, v)
    {
        if (strcmp(k, "path") && strcmp(k, "then") && strcmp(k, "disks")) {
            errbuf_set(err, errlen, "snapshot: unknown member '%.40s' (known: path, then, disks)",
                       k);
            goto out;
        }
    }
    if (disks && (!json_is_string(disks) || (strcmp(json_string_value(disks), "overlay") &&
                                             strcmp(json_string_value(disks), "keep")))) {
        errbuf_set(err, errlen, "snapshot: disks must be \"overlay\" or \"keep\"");
        goto out;
    }
    if (!json_is_string(path) || !*json_string_value(path) ||
        strlen(json_string_value(path)) >= sizeof(cmd->path)) {
        errbuf_set(err, errlen, "snapshot: path must be a non-empty string");
        goto out;
    }
    if (then && (!json_is_string(then) || (strcmp(json_string_value(then), "resume") &&
                                           strcmp(json_string_value(then), "stop")))) {
        errbuf_set(err, errlen, "snapshot: then must be \"resume\" or \"stop\"");
        goto out;
    }
    cmd->op = CONTROL_SNAPSHOT;
    snprintf(cmd->path, sizeof(cmd->path), "%s", json_string_value(path));
    cmd->stop = then && !strcmp(json_string_value(then), "stop");
    cmd->keep_disks = disks && !strcmp(json_string_value(disks), "keep");
    ret = 0;
out:
    json_decref(o);
    return ret;
}

/* A non-negative integer member up to max, or the default when absent; false when bad. */
static bool get_uint(json_t *o, const char *key, uint32_t max, uint32_t *out)
{
    json_t *v = json_object_get(o, key);

    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        return false;
    *out = (uint32_t)json_integer_value(v);
    return true;
}

/* {"migrate": {"to": "HOST:PORT", "secret": S, "downtime_ms": N, "timeout_ms": N,
 * "max_passes": N}} */
static int parse_migrate(const char *line, struct control_cmd *cmd, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *a, *to, *secret;
    char why[120];
    const char *k;
    json_t *v;
    int ret = -EINVAL;

    if (!o)
        return errbuf_set(err, errlen, "migrate: bad JSON: %s", jerr.text);
    a = json_object_get(o, "migrate");
    to = json_object_get(a, "to");
    secret = json_object_get(a, "secret");
    if (json_object_size(o) != 1 || !json_is_object(a)) {
        errbuf_set(err, errlen, "expected {\"migrate\": {\"to\": \"HOST:PORT\", ...}}");
        goto out;
    }
    json_object_foreach(a, k, v)
    {
        if (strcmp(k, "to") && strcmp(k, "secret") && strcmp(k, "downtime_ms") &&
            strcmp(k, "timeout_ms") && strcmp(k, "max_passes")) {
            errbuf_set(err, errlen,
                       "migrate: unknown member '%.40s' (known: to, secret, downtime_ms, "
                       "timeout_ms, max_passes)",
                       k);
            goto out;
        }
    }
    if (!json_is_string(to) ||
        migrate_parse_hostport(json_string_value(to), cmd->mig.host, sizeof(cmd->mig.host),
                               cmd->mig.port, sizeof(cmd->mig.port))) {
        errbuf_set(err, errlen, "migrate: to must be \"HOST:PORT\"");
        goto out;
    }
    if (!json_is_string(secret) || json_string_length(secret) > MIGRATE_SECRET_MAX ||
        strlen(json_string_value(secret)) != json_string_length(secret) ||
        migrate_secret_check(json_string_value(secret), why, sizeof(why))) {
        errbuf_set(err, errlen, "migrate: secret: %s",
                   json_is_string(secret) ? why : "the migration's secret is required");
        goto out;
    }
    snprintf(cmd->mig.secret, sizeof(cmd->mig.secret), "%s", json_string_value(secret));
    if (!get_uint(a, "downtime_ms", 60000, &cmd->mig.downtime_ms) ||
        !get_uint(a, "timeout_ms", 3600000, &cmd->mig.timeout_ms) ||
        !get_uint(a, "max_passes", 1000, &cmd->mig.max_passes)) {
        errbuf_set(err, errlen,
                   "migrate: downtime_ms (1..60000), timeout_ms (1..3600000) and max_passes "
                   "(1..1000) must be positive integers");
        goto out;
    }
    cmd->op = CONTROL_MIGRATE;
    ret = 0;
out:
    if (secret && json_is_string(secret))
        memset((char *)json_string_value(secret), 0, json_string_length(secret));
    json_decref(o);
    return ret;
}

/* {"sandbox": null}, {"sandbox": {"open": PATH}} or {"sandbox": {"denied_call": true}} */
static int parse_sandbox(const char *line, struct control_cmd *cmd, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *a, *path;
    int ret = -EINVAL;

    if (!o)
        return errbuf_set(err, errlen, "sandbox: bad JSON: %s", jerr.text);
    a = json_object_get(o, "sandbox");
    path = json_object_get(a, "open");
    cmd->op = CONTROL_SANDBOX;
    if (json_object_size(o) != 1)
        errbuf_set(err, errlen, "expected exactly one member");
    else if (json_is_null(a))
        cmd->sandbox = SANDBOX_STATUS, ret = 0;
    else if (json_is_object(a) && json_object_size(a) == 1 &&
             json_is_true(json_object_get(a, "denied_call")))
        cmd->sandbox = SANDBOX_DENIED_CALL, ret = 0;
    else if (json_is_object(a) && json_object_size(a) == 1 && json_is_string(path) &&
             *json_string_value(path) && strlen(json_string_value(path)) < sizeof(cmd->path)) {
        cmd->sandbox = SANDBOX_OPEN;
        snprintf(cmd->path, sizeof(cmd->path), "%s", json_string_value(path));
        ret = 0;
    } else
        errbuf_set(err, errlen,
                   "expected {\"sandbox\": null}, {\"sandbox\": {\"open\": PATH}} or "
                   "{\"sandbox\": {\"denied_call\": true}}");
    json_decref(o);
    return ret;
}

int control_parse(const char *line, struct control_cmd *cmd, char *err, size_t errlen)
{
    const char *p = skip_ws(line), *key;
    size_t klen;
    bool is_null = false;
    uint64_t num = 0;

    memset(cmd, 0, sizeof(*cmd));
    if (*p++ != '{')
        return errbuf_set(err, errlen, "expected a JSON object like {\"stats\": null}");
    p = skip_ws(p);
    if (*p++ != '"')
        return errbuf_set(err, errlen, "expected a quoted command name");
    key = p;
    while (*p && *p != '"' && (islower((unsigned char)*p) || *p == '_'))
        p++;
    if (*p != '"')
        return errbuf_set(err, errlen, "bad command name");
    klen = (size_t)(p - key);
    p = skip_ws(p + 1);
    if (*p++ != ':')
        return errbuf_set(err, errlen, "expected ':' after the command name");
    p = skip_ws(p);
    if (klen == 8 && !strncmp(key, "snapshot", klen))
        return parse_snapshot(line, cmd, err, errlen);
    if (klen == 7 && !strncmp(key, "migrate", klen))
        return parse_migrate(line, cmd, err, errlen);
    if (klen == 7 && !strncmp(key, "sandbox", klen))
        return parse_sandbox(line, cmd, err, errlen);
    if (!strncmp(p, "null", 4)) {
        is_null = true;
        p += 4;
    } else if (isdigit((unsigned char)*p)) {
        char *end;

        errno = 0;
        num = strtoull(p, &end, 10);
        if (errno == ERANGE)
            return errbuf_set(err, errlen, "number out of range");
        p = end;
    } else {
        return errbuf_set(err, errlen, "expected null or a non-negative integer");
    }
    p = skip_ws(p);
    if (*p++ != '}' || *skip_ws(p) != '\0')
        return errbuf_set(err, errlen, "expected exactly one member and a closing '}'");
    if (klen == 18 && !strncmp(key, "balloon_target_mib", klen)) {
        if (is_null)
            return errbuf_set(err, errlen, "balloon_target_mib needs a number of MiB");
        if (num > (UINT64_MAX >> 20))
            return errbuf_set(err, errlen, "balloon_target_mib: number out of range");
        cmd->op = CONTROL_BALLOON_TARGET;
        cmd->num = num;
        return 0;
    }
    if (klen == 5 && !strncmp(key, "stats", klen)) {
        if (!is_null && num > CONTROL_STATS_WAIT_MAX)
            return errbuf_set(err, errlen, "stats takes null or a wait of 0 to %d ms",
                              CONTROL_STATS_WAIT_MAX);
        cmd->op = CONTROL_STATS;
        cmd->num = is_null ? CONTROL_STATS_WAIT_MS : num;
        return 0;
    }
    if ((klen == 8 && !strncmp(key, "shutdown", klen)) ||
        (klen == 6 && !strncmp(key, "reboot", klen))) {
        if (!is_null)
            return errbuf_set(err, errlen, "%.*s takes null", (int)klen, key);
        cmd->op = klen == 8 ? CONTROL_SHUTDOWN : CONTROL_REBOOT;
        return 0;
    }
    if ((klen == 14 && !strncmp(key, "migrate_status", klen)) ||
        (klen == 14 && !strncmp(key, "migrate_cancel", klen))) {
        if (!is_null)
            return errbuf_set(err, errlen, "%.14s takes null", key);
        cmd->op = key[8] == 's' ? CONTROL_MIGRATE_STATUS : CONTROL_MIGRATE_CANCEL;
        return 0;
    }
    return errbuf_set(err, errlen,
                      "unknown command '%.*s' (known: balloon_target_mib, stats, snapshot, "
                      "migrate, migrate_status, migrate_cancel, shutdown, reboot, sandbox)",
                      (int)(klen > 40 ? 40 : klen), key);
}

uint64_t control_vmm_rss_kib(void)
{
    char line[256];
    uint64_t kib = 0;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %" SCNu64, &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Appends to out (always NUL-terminated; silently truncated). */
static void put(char *out, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*len >= cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

/* The VM's counters: ,"vcpu_cpu_ns":[...],"engine":{...},"disks":[...],"nets":[...] */
static void counters(const struct control *c, char *out, size_t cap, size_t *len)
{
    struct vm_stats *st = calloc(1, sizeof(*st));

    if (!st || !c->stats) {
        free(st);
        return;
    }
    c->stats(c->snapshot_opaque, st);
    put(out, cap, len, ",\"vcpu_cpu_ns\":[");
    for (int i = 0; i < st->ncpus; i++)
        put(out, cap, len, "%s%" PRIu64, i ? "," : "", st->cpu_ns[i]);
    put(out, cap, len, "],\"engine\":{");
    for (int k = 0; st->counter_names && st->counter_names[k] && k < ENGINE_COUNTERS_MAX; k++)
        put(out, cap, len, "%s\"%s\":%" PRIu64, k ? "," : "", st->counter_names[k],
            st->counters[k]);
    put(out, cap, len, "},\"disks\":[");
    for (int i = 0; i < st->ndisks; i++) {
        const struct virtio_blk_stats *d = &st->disks[i];
        put(out, cap, len,
            "%s{\"read_ops\":%" PRIu64 ",\"read_bytes\":%" PRIu64 ",\"write_ops\":%" PRIu64
            ",\"write_bytes\":%" PRIu64 ",\"flush_ops\":%" PRIu64 ",\"discard_ops\":%" PRIu64
            ",\"errors\":%" PRIu64 "}",
            i ? "," : "", d->read_ops, d->read_bytes, d->write_ops, d->write_bytes, d->flush_ops,
            d->discard_ops, d->errors);
    }
    put(out, cap, len, "],\"nets\":[");
    for (int i = 0; i < st->nnets; i++) {
        const struct virtio_net_stats *n = &st->nets[i];
        put(out, cap, len,
            "%s{\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"rx_dropped\":%" PRIu64
            ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64 ",\"tx_dropped\":%" PRIu64 "}",
            i ? "," : "", n->rx_packets, n->rx_bytes, n->rx_dropped, n->tx_packets, n->tx_bytes,
            n->tx_dropped);
    }
    put(out, cap, len, "]");
    free(st);
}

static void stats(const struct control *c, unsigned wait_ms, char *out, size_t cap)
{
    struct virtio_balloon_info bi;
    size_t len = 0;
    bool first = true;

    /* The balloon first (it may wait for the guest), so that RSS and balloon agree in time. */
    if (c->balloon)
        virtio_balloon_get_info(c->balloon, &bi, wait_ms);
    put(out, cap, &len, "{\"ok\":true,\"vmm_rss_kib\":%" PRIu64, control_vmm_rss_kib());
    counters(c, out, cap, &len);
    if (!c->balloon) {
        put(out, cap, &len, ",\"balloon\":null}");
        return;
    }
    put(out, cap, &len,
        ",\"balloon\":{\"target_mib\":%" PRIu64 ",\"actual_mib\":%" PRIu64
        ",\"discarded_mib\":%" PRIu64 ",\"reported_mib\":%" PRIu64 ",\"deflated_mib\":%" PRIu64
        ",\"stats\":{",
        bi.target_bytes >> 20, bi.actual_bytes >> 20, bi.discarded_bytes >> 20,
        bi.reported_bytes >> 20, bi.deflated_bytes >> 20);
    for (unsigned t = 0; t < VIRTIO_BALLOON_S_NR; t++) {
        if (!bi.stat_valid[t])
            continue;
        put(out, cap, &len, "%s\"%s\":%" PRIu64, first ? "" : ",", virtio_balloon_stat_name(t),
            bi.stat[t]);
        first = false;
    }
    put(out, cap, &len, "}}}");
}

static void snapshot(const struct control *c, const struct control_cmd *cmd, char *out, size_t cap)
{
    struct snapshot_result *res = calloc(1, sizeof(*res));
    json_t *a = NULL, *disks;
    char *text = NULL;
    int err;

    if (!c->snapshot || !res) {
        snprintf(out, cap, "{\"ok\":false,\"error\":\"%s\"}",
                 res ? "snapshots are not supported here" : "out of memory");
        free(res);
        return;
    }
    if (c->migration) {
        struct migrate_status st;
        migration_get_status(c->migration, &st);
        if (st.state == MIGRATE_CONNECTING || st.state == MIGRATE_PRECOPY ||
            st.state == MIGRATE_STOPCOPY) {
            snprintf(out, cap,
                     "{\"ok\":false,\"error\":\"a live migration is running (cancel it or "
                     "wait for its end)\"}");
            free(res);
            return;
        }
    }
    err = c->snapshot(c->snapshot_opaque, cmd, res);
    disks = json_array();
    for (int i = 0; disks && i < res->nmoved; i++)
        json_array_append_new(
            disks, json_pack("{s:s,s:s}", "snapshot", res->moved_from[i], "now", res->moved_to[i]));
    if (err) /* a late failure (the file's commit) can come after the disks moved */
        a = json_pack("{s:b,s:s++,s:o*}", "ok", 0, "error", "snapshot: ", strerror(-err),
                      " (see the VMM's log)", "disks", disks);
    else
        a = json_pack("{s:b,s:I,s:I,s:o*}", "ok", 1, "ms", (json_int_t)(res->ms + 0.5), "paused_ms",
                      (json_int_t)(res->paused_ms + 0.5), "disks", disks);
    text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    if (text && strlen(text) < cap)
        snprintf(out, cap, "%s", text);
    else if (err)
        snprintf(out, cap, "{\"ok\":false,\"error\":\"snapshot: %s\"}", strerror(-err));
    else
        snprintf(out, cap, "{\"ok\":true,\"ms\":%.0f,\"paused_ms\":%.0f}", res->ms, res->paused_ms);
    free(text);
    json_decref(a);
    free(res);
}

static void migrate(const struct control *c, const struct control_cmd *cmd, char *out, size_t cap)
{
    struct migrate_status st;
    int err;

    if (!c->migration) {
        snprintf(out, cap, "{\"ok\":false,\"error\":\"live migration is not supported here\"}");
        return;
    }
    switch (cmd->op) {
    case CONTROL_MIGRATE:
        err = migration_start(c->migration, &cmd->mig);
        if (err == -EBUSY)
            snprintf(out, cap,
                     "{\"ok\":false,\"error\":\"a migration is running or has completed\"}");
        else if (err)
            snprintf(out, cap, "{\"ok\":false,\"error\":\"migrate: %s\"}", strerror(-err));
        else
            snprintf(out, cap, "{\"ok\":true}");
        return;
    case CONTROL_MIGRATE_CANCEL:
        if (migration_cancel(c->migration))
            snprintf(out, cap,
                     "{\"ok\":false,\"error\":\"no migration to cancel (none running, or "
                     "past the point of no return)\"}");
        else
            snprintf(out, cap, "{\"ok\":true}");
        return;
    default:
        migration_get_status(c->migration, &st);
        snprintf(out, cap, "{\"ok\":true,\"migration\":");
        migrate_status_json(&st, out + strlen(out), cap - strlen(out) - 1);
        strcat(out, "}");
        return;
    }
}

static void power(const struct control *c, const struct control_cmd *cmd, char *out, size_t cap)
{
    int err = c->power ? c->power(c->snapshot_opaque, cmd->op == CONTROL_REBOOT) : -EOPNOTSUPP;

    if (!err)
        snprintf(out, cap, "{\"ok\":true}");
    else if (err == -EOPNOTSUPP && cmd->op == CONTROL_SHUTDOWN)
        snprintf(out, cap,
                 "{\"ok\":false,\"error\":\"this machine has no power button for the "
                 "guest; stop the VM instead\"}");
    else if (err == -ENODEV && cmd->op == CONTROL_SHUTDOWN)
        snprintf(out, cap,
                 "{\"ok\":false,\"error\":\"the guest does not drive the power button (no "
                 "driver for it, or not loaded yet); stop the VM instead\"}");
    else if (err == -EBUSY && cmd->op == CONTROL_SHUTDOWN)
        snprintf(out, cap,
                 "{\"ok\":false,\"error\":\"the guest has not taken the earlier power button "
                 "presses yet\"}");
    else
        snprintf(out, cap, "{\"ok\":false,\"error\":\"%s: %s\"}",
                 cmd->op == CONTROL_REBOOT ? "reboot" : "shutdown", strerror(-err));
}

void control_execute(const struct control *c, const struct control_cmd *cmd, char *out, size_t cap)
{
    switch (cmd->op) {
    case CONTROL_BALLOON_TARGET:
        if (!c->balloon)
            snprintf(out, cap,
                     "{\"ok\":false,\"error\":\"no balloon device (run with "
                     "--balloon SIZE)\"}");
        else if (virtio_balloon_set_target(c->balloon, cmd->num << 20))
            snprintf(out, cap,
                     "{\"ok\":false,\"error\":\"balloon_target_mib: %" PRIu64
                     " MiB is more than the guest's RAM\"}",
                     cmd->num);
        else
            snprintf(out, cap, "{\"ok\":true}");
        return;
    case CONTROL_STATS: stats(c, (unsigned)cmd->num, out, cap); return;
    case CONTROL_SNAPSHOT: snapshot(c, cmd, out, cap); return;
    case CONTROL_MIGRATE:
    case CONTROL_MIGRATE_STATUS:
    case CONTROL_MIGRATE_CANCEL: migrate(c, cmd, out, cap); return;
    case CONTROL_SHUTDOWN:
    case CONTROL_REBOOT: power(c, cmd, out, cap); return;
    case CONTROL_SANDBOX: control_sandbox(cmd, out, cap); return;
    }
    snprintf(out, cap, "{\"ok\":false,\"error\":\"unknown command\"}");
}

void control_handle_line(const struct control *c, const char *line, char *out, size_t cap)
{
    struct control_cmd cmd;
    char err[160], esc[2 * sizeof(err)];
    size_t j = 0;

    if (!control_parse(line, &cmd, err, sizeof(err))) {
        control_execute(c, &cmd, out, cap);
        return;
    }
    for (size_t i = 0; err[i] && j + 2 < sizeof(esc); i++) {
        if (err[i] == '"' || err[i] == '\\')
            esc[j++] = '\\';
        esc[j++] = (unsigned char)err[i] < 0x20 ? '?' : err[i];
    }
    esc[j] = '\0';
    snprintf(out, cap, "{\"ok\":false,\"error\":\"%s\"}", esc);
}
