/* `vessel migrate`: starts a live migration through a VM's --api-socket and shows its progress
 * until the VM runs on the destination (or the migration failed and it runs on here). */
#include "cli/migrate_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm/migrate.h"

static const char usage[] =
    "usage: vessel migrate --api-socket PATH --to HOST:PORT --secret-file FILE\n"
    "                      [--downtime MS] [--timeout MS] [--max-passes N] [--no-wait]\n"
    "       vessel migrate --api-socket PATH --status | --cancel\n"
    "\n"
    "Moves the running VM behind PATH (`vessel run --api-socket PATH`) to the VM waiting with\n"
    "`vessel run --incoming PORT` on HOST, while the guest keeps running: guest RAM is copied\n"
    "pass after pass while the guest dirties it, then the VM pauses for the last pages and the\n"
    "CPU and device state, and continues on HOST. Disks are not copied: both hosts must see\n"
    "the same disk files (shared storage). Progress is shown until the VM runs on HOST.\n"
    "\n"
    "  --to HOST:PORT   the destination ([V6ADDR]:PORT for IPv6)\n"
    "  --secret-file FILE\n"
    "                   the migration's secret, as the destination was given it\n"
    "                   (--migration-secret-file): 16 to 256 bytes of text in a file only\n"
    "                   its owner can read. Each end proves to the other that it knows it\n"
    "                   before any state moves, and every section is authenticated with it\n"
    "  --downtime MS    pause the VM for the final copy once the estimated pause fits MS\n"
    "                   milliseconds (default 50)\n"
    "  --timeout MS     give up when the connection makes no progress for MS milliseconds,\n"
    "                   or when the handshake or any answer of the destination takes longer\n"
    "                   than that in all (default 10000); the VM then runs on here\n"
    "  --max-passes N   copy at most N passes before the final pause (default 30)\n"
    "  --no-wait        start it and return at once (watch with --status)\n"
    "  --status         print the migration's state as JSON\n"
    "  --cancel         stop a migration that has not handed the VM over yet\n"
    "\n"
    "Ctrl-C while waiting cancels the migration. Exit status: 0 the VM runs on the\n"
    "destination (or --status/--cancel/--no-wait succeeded), 1 usage or bad input, 2 the\n"
    "migration failed or was cancelled (the VM runs on here).\n";

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int usage_err(const char *fmt, const char *arg)
{
    fputs("vessel migrate: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see vessel migrate --help)\n", stderr);
    return 1;
}

static int api_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Sends one command line and parses the one-line answer; NULL when the VM is gone. */
static json_t *api_call(int fd, const char *line)
{
    char buf[8192];
    size_t len = 0;

    if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0)
        return NULL;
    while (len < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + len, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    return json_loads(buf, 0, NULL);
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

/* One progress line: on a terminal rewritten in place, else printed once per pass. */
static void show(json_t *m, bool tty, int *last_pass)
{
    int pass = (int)num(m, "passes");
    double ram = num(m, "ram_pages") * 4096 / (1 << 20);
    double sent = num(m, "sent_bytes") / (1 << 20);

    if (!tty && pass == *last_pass)
        return;
    *last_pass = pass;
    fprintf(stderr,
            "%smigrating to %s: %s, pass %d, %.1f MiB to go, %.1f MiB sent (RAM %.0f MiB), "
            "%.0f MB/s, dirtied %.0f pages/s, ETA %.0f ms%s",
            tty ? "\r\033[K" : "", str(m, "to"), str(m, "state"), pass + 1,
            num(m, "remaining_pages") * 4096 / (1 << 20), sent, ram, num(m, "bandwidth_bps") / 1e6,
            num(m, "dirty_rate_pps"), num(m, "eta_ms"), tty ? "" : "\n");
}

/* Polls the status until the migration ends; returns the exit status. */
static int watch(int fd)
{
    bool tty = isatty(STDERR_FILENO), cancel_sent = false;
    int last_pass = -1;
    json_t *last = NULL;

    for (;;) {
        json_t *r, *m;
        const char *state;

        if (interrupted && !cancel_sent) {
            json_decref(api_call(fd, "{\"migrate_cancel\": null}"));
            cancel_sent = true;
        }
        r = api_call(fd, "{\"migrate_status\": null}");
        m = json_object_get(r, "migration");
        if (!m) {
            json_decref(r);
            fprintf(stderr, "%svessel migrate: the VM's control socket closed%s\n", tty ? "\n" : "",
                    last ? " before the migration's end was seen (check the destination)" : "");
            json_decref(last);
            return 2;
        }
        json_incref(m);
        json_decref(last);
        json_decref(r);
        last = m;
        state = str(m, "state");
        if (!strcmp(state, "completed")) {
            fprintf(stderr,
                    "%smigrated to %s in %.0f ms: downtime %.1f ms (target %.0f), %.0f passes, "
                    "%.1f MiB sent\n"
                    "downtime: pause %.1f ms, last %.0f pages %.1f ms, device state and load "
                    "%.1f ms, handover %.1f ms\n",
                    tty ? "\r\033[K" : "", str(m, "to"), num(m, "elapsed_ms"),
                    num(m, "downtime_ms"), num(m, "downtime_target_ms"), num(m, "passes"),
                    num(m, "sent_bytes") / (1 << 20), num(m, "pause_ms"), num(m, "final_pages"),
                    num(m, "final_pages_ms"), num(m, "load_ms"), num(m, "handover_ms"));
            json_decref(m);
            return 0;
        }
        if (!strcmp(state, "failed") || !strcmp(state, "cancelled") || !strcmp(state, "none")) {
            fprintf(stderr, "%svessel migrate: %s: %s\n", tty ? "\r\033[K" : "", state,
                    json_is_string(json_object_get(m, "error")) ? str(m, "error")
                                                                : "no migration was started");
            json_decref(m);
            return 2;
        }
        show(m, tty, &last_pass);
        usleep(100000);
    }
}

int cli_migrate(int argc, char **argv)
{
    enum { O_SOCK = 256, O_TO, O_DOWNTIME, O_TIMEOUT, O_PASSES, O_NOWAIT, O_STATUS, O_CANCEL };
    enum { O_SECRET = 300 };
    static const struct option longopts[] = {
        {"api-socket", required_argument, NULL, O_SOCK},
        {"to", required_argument, NULL, O_TO},
        {"downtime", required_argument, NULL, O_DOWNTIME},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"max-passes", required_argument, NULL, O_PASSES},
        {"no-wait", no_argument, NULL, O_NOWAIT},
        {"status", no_argument, NULL, O_STATUS},
        {"cancel", no_argument, NULL, O_CANCEL},
        {"secret-file", required_argument, NULL, O_SECRET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sock = NULL, *to = NULL, *secret_file = NULL;
    char secret[MIGRATE_SECRET_MAX + 1] = "", why[300];
    long downtime = 0, timeout = 0, passes = 0;
    bool nowait = false, status = false, cancel = false;
    char host[256], port[8], *line = NULL;
    json_t *r;
    int c, fd, ret;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        char *end;
        long *dst = c == O_DOWNTIME ? &downtime : c == O_TIMEOUT ? &timeout : &passes;

        switch (c) {
        case O_SOCK: sock = optarg; break;
        case O_TO: to = optarg; break;
        case O_DOWNTIME:
        case O_TIMEOUT:
        case O_PASSES:
            errno = 0;
            *dst = strtol(optarg, &end, 10);
            if (errno || *end || *dst < 1 || *dst > 3600000)
                return usage_err("'%s' is not a positive number", optarg);
            break;
        case O_NOWAIT: nowait = true; break;
        case O_STATUS: status = true; break;
        case O_CANCEL: cancel = true; break;
        case O_SECRET: secret_file = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        case ':': return usage_err("option %s needs a value", argv[optind - 1]);
        default: return usage_err("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_err("unexpected argument '%s'", argv[optind]);
    if (!sock)
        return usage_err("%s", "--api-socket PATH is required");
    if (status + cancel + (to != NULL) != 1)
        return usage_err("%s", "give exactly one of --to, --status and --cancel");
    if (to && migrate_parse_hostport(to, host, sizeof(host), port, sizeof(port)))
        return usage_err("--to %s: expected HOST:PORT", to);
    if (passes > 1000)
        return usage_err("%s", "--max-passes: at most 1000");
    if (to && !secret_file)
        return usage_err("%s", "--secret-file FILE is required with --to");
    if (secret_file && migrate_secret_read(secret_file, secret, why, sizeof(why)))
        return usage_err("--secret-file %s", why);
    fd = api_connect(sock);
    if (fd < 0) {
        fprintf(stderr, "vessel migrate: --api-socket %s: %s\n", sock, strerror(-fd));
        return 1;
    }
    if (status || cancel) {
        r = api_call(fd, status ? "{\"migrate_status\": null}" : "{\"migrate_cancel\": null}");
        ret = r && json_is_true(json_object_get(r, "ok")) ? 0 : 2;
        if (status && r) {
            char *text =
                json_dumps(json_object_get(r, "migration"), JSON_COMPACT | JSON_REAL_PRECISION(10));
            printf("%s\n", text ? text : "null");
            free(text);
        } else if (r && ret) {
            fprintf(stderr, "vessel migrate: %s\n", str(r, "error"));
        }
        json_decref(r);
        close(fd);
        return r ? ret : 2;
    }
    r = json_pack("{s:{s:s,s:s}}", "migrate", "to", to, "secret", secret);
    explicit_bzero(secret, sizeof(secret));
    if (r && downtime)
        json_object_set_new(json_object_get(r, "migrate"), "downtime_ms", json_integer(downtime));
    if (r && timeout)
        json_object_set_new(json_object_get(r, "migrate"), "timeout_ms", json_integer(timeout));
    if (r && passes)
        json_object_set_new(json_object_get(r, "migrate"), "max_passes", json_integer(passes));
    line = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    r = line ? api_call(fd, line) : NULL;
    if (line)
        explicit_bzero(line, strlen(line));
    free(line);
    if (!r || !json_is_true(json_object_get(r, "ok"))) {
        fprintf(stderr, "vessel migrate: %s\n", r ? str(r, "error") : "no answer from the VM");
        json_decref(r);
        close(fd);
        return 2;
    }
    json_decref(r);
    if (nowait) {
        close(fd);
        return 0;
    }
    signal(SIGINT, on_sigint);
    ret = watch(fd);
    close(fd);
    return ret;
}
