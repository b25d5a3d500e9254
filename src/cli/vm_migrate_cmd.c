/* `vessel vm migrate NAME|ID --to HOST:PORT`: starts a live migration through the daemon
 * (POST /v1/vms/{id}/migrate) and shows its progress from GET .../migration until it ends;
 * Ctrl-C cancels it (DELETE .../migration). */
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/vm_cmd.h"
#include "vm/migrate.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

static double num(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* One progress line: rewritten in place on a terminal, else printed once per pass. */
static void show(json_t *m, bool tty, int *last_pass)
{
    int pass = (int)num(m, "passes");

    if (!tty && pass == *last_pass)
        return;
    *last_pass = pass;
    fprintf(stderr,
            "%smigrating to %s: %s, pass %d, %.0f MiB sent (RAM %.0f MiB), %.0f pages dirty, "
            "dirtied %.0f pages/s, %.0f MB/s, ETA %.0f ms%s",
            tty ? "\r\033[K" : "", str(m, "to"), str(m, "state"), pass + 1,
            num(m, "sent_bytes") / (1 << 20), num(m, "ram_pages") * 4096 / (1 << 20),
            num(m, "remaining_pages"), num(m, "dirty_rate_pps"), num(m, "bandwidth_bps") / 1e6,
            num(m, "eta_ms"), tty ? "" : "\n");
}

/* Polls the status until the migration ends; returns the exit status. */
static int watch(const char *sock, const char *base, bool as_json)
{
    bool tty = isatty(STDERR_FILENO), cancel_sent = false;
    char path[200];
    int last_pass = -1, rc;

    snprintf(path, sizeof(path), "%s/migration", base);
    for (;;) {
        json_t *m;
        const char *state;

        if (interrupted && !cancel_sent) {
            cancel_sent = true;
            if (!vm_cmd_request(sock, "DELETE", path, NULL, &m))
                json_decref(m);
        }
        if ((rc = vm_cmd_request(sock, "GET", path, NULL, &m)))
            return rc;
        state = str(m, "state");
        if (!strcmp(state, "completed") || !strcmp(state, "failed") ||
            !strcmp(state, "cancelled") || !strcmp(state, "none")) {
            bool ok = !strcmp(state, "completed");
            if (tty)
                fputs("\r\033[K", stderr);
            if (as_json) {
                char *s = json_dumps(m, JSON_INDENT(2));
                if (s)
                    puts(s);
                free(s);
            }
            if (ok)
                fprintf(stderr,
                        "migrated to %s in %.0f ms: downtime %.1f ms (target %.0f), %.0f passes, "
                        "%.1f MiB sent\n",
                        str(m, "to"), num(m, "elapsed_ms"), num(m, "downtime_ms"),
                        num(m, "downtime_target_ms"), num(m, "passes"),
                        num(m, "sent_bytes") / (1 << 20));
            else
                fprintf(stderr, "vessel: vm migrate: %s: %s (the VM runs on here)\n", state,
                        json_is_string(json_object_get(m, "error")) ? str(m, "error")
                                                                    : "no migration is running");
            json_decref(m);
            return ok ? 0 : 2;
        }
        show(m, tty, &last_pass);
        json_decref(m);
        usleep(200000);
    }
}

int vm_cmd_migrate(const char *sock, bool as_json, int argc, char **argv)
{
    const char *to = NULL, *secret_file = NULL;
    long downtime = 0, timeout = 0, passes = 0;
    char base[160], path[200], *body, secret[MIGRATE_SECRET_MAX + 1], why[300];
    json_t *req, *out;
    int rc;

    if (argc < 2 || argv[1][0] == '-') {
        fputs("usage: vessel vm migrate NAME|ID --to HOST:PORT --secret-file FILE [--downtime MS]\n"
              "                          [--timeout MS] [--max-passes N]\n"
              "  FILE holds the destination VM's migration_secret (GET /v1/vms/ID there while it\n"
              "  is incoming), mode 0600\n",
              stderr);
        return 1;
    }
    for (int i = 2; i < argc; i += 2) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        long *dst = !strcmp(o, "--downtime")     ? &downtime
                    : !strcmp(o, "--timeout")    ? &timeout
                    : !strcmp(o, "--max-passes") ? &passes
                                                 : NULL;

        if (!val) {
            fprintf(stderr, "vessel: vm migrate: %s needs a value\n", o);
            return 1;
        }
        if (!strcmp(o, "--to")) {
            to = val;
        } else if (!strcmp(o, "--secret-file")) {
            secret_file = val;
        } else if (!dst || args_parse_int(val, 1, 3600000, dst)) {
            fprintf(stderr, "vessel: vm migrate: bad option or value: %s %s\n", o, val);
            return 1;
        }
    }
    if (!to || !secret_file) {
        fputs("vessel: vm migrate: --to HOST:PORT and --secret-file FILE are required\n", stderr);
        return 1;
    }
    if (migrate_secret_read(secret_file, secret, why, sizeof(why))) {
        fprintf(stderr, "vessel: vm migrate: --secret-file %s\n", why);
        return 1;
    }
    req = json_pack("{s:s,s:s}", "to", to, "secret", secret);
    explicit_bzero(secret, sizeof(secret));
    if (req && downtime)
        json_object_set_new(req, "downtime_ms", json_integer(downtime));
    if (req && timeout)
        json_object_set_new(req, "timeout_ms", json_integer(timeout));
    if (req && passes)
        json_object_set_new(req, "max_passes", json_integer(passes));
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        fputs("vessel: vm migrate: out of memory\n", stderr);
        return 1;
    }
    snprintf(base, sizeof(base), "/v1/vms/%.63s", argv[1]);
    snprintf(path, sizeof(path), "%s/migrate", base);
    signal(SIGINT, on_sigint);
    rc = vm_cmd_request(sock, "POST", path, body, &out);
    free(body);
    if (rc)
        return rc;
    json_decref(out);
    return watch(sock, base, as_json);
}
