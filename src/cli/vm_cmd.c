/* `vessel vm create|list|show|stats|start|pause|resume|stop|shutdown|reboot|delete|balloon|
 * snapshot|migrate|console` and
 * `vessel console`: talk to the `vessel serve` daemon over its unix socket. */
#include "cli/vm_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/args.h"
#include "cli/http_client.h"

static const char usage_vm[] =
    "usage: vessel vm [--socket PATH | --api URL] [--json] COMMAND ...\n"
    "\n"
    "  create NAME --kernel IMAGE|--disk IMAGE|--restore SNAPSHOT [--clone]|\n"
    "         --incoming [HOST:]PORT\n"
    "         [--initrd FILE] [--firmware FILE] [--append STR] [--arch riscv64|x86_64] [--cpus N]\n"
    "         [--mem SIZE] [--disk PATH[,ro][,format=raw|qcow2]]... [--net SPEC]...\n"
    "         [--cpu-quota CORES]\n"
    "         [--no-balloon] [--start]\n"
    "                            --clone (with --restore): each start is a new clone of the\n"
    "                            snapshot (new VM generation ID and MACs); a writable --disk\n"
    "                            that is the snapshot's own gets a new overlay in the daemon's\n"
    "                            state dir per start (`vm show`: clone_disks)\n"
    "                            without --kernel (riscv64) the VM boots from its first\n"
    "                            --disk like a machine (U-Boot reads the disk's\n"
    "                            /boot/extlinux/extlinux.conf; `vessel image build`)\n"
    "                            --incoming: the VM receives a live migration on PORT when\n"
    "                            started (state incoming, then running); --cpus and --mem are\n"
    "                            required and must be the source VM's, devices the same\n"
    "  list                      all VMs (ID, NAME, STATE, CPUS, MEM, PID)\n"
    "  show NAME|ID              configuration, state, last error, limits and live stats\n"
    "  stats NAME|ID             a running VM's counters (vCPU time, engine events, disk and\n"
    "                            network bytes and operations, RSS, balloon)\n"
    "  start|pause|resume|stop|reboot|delete NAME|ID\n"
    "                            stop: at once (SIGKILL); reboot: reset, the guest boots again\n"
    "  shutdown NAME|ID [--timeout S] [--no-wait]\n"
    "                            press the guest's power button (riscv64: virtio-input; x86_64:\n"
    "                            ACPI) and wait for it to power off; after S seconds (default\n"
    "                            30; 0: at once) or when the guest cannot see the button (no\n"
    "                            driver), the VM is stopped by force (its disks flushed);\n"
    "                            --no-wait returns once it is pressed\n"
    "  balloon NAME|ID MIB       set the balloon target\n"
    "  snapshot NAME|ID PATH [--stop]  write a running VM's state to PATH (then resume it, or\n"
    "                            stop it); `create NAME --restore PATH` runs it again\n"
    "  migrate NAME|ID --to HOST:PORT --secret-file FILE [--downtime MS] [--timeout MS]\n"
    "          [--max-passes N]  live-migrate a running VM to an incoming VM on HOST\n"
    "                            (same disk files there; FILE holds that VM's\n"
    "                            migration_secret); shows progress until it ends;\n"
    "                            Ctrl-C cancels; exit 0 completed (the VM here is then\n"
    "                            `migrated`), 2 failed or cancelled (it runs on here)\n"
    "  console NAME|ID           attach to the serial console (Ctrl-] detaches)\n"
    "\n"
    "--socket PATH: the daemon's socket (default $VESSEL_SOCKET, else /run/vessel/vessel.sock).\n"
    "--api http://HOST:PORT: the daemon's TCP listener instead (default $VESSEL_API), with the\n"
    "bearer token in the file $VESSEL_TOKEN_FILE.\n"
    "--json: print the daemon's JSON answer instead of a table.\n"
    "`vessel vm COMMAND --help` shows one command's usage.\n"
    "Exit status: 0 done, 1 refused (the daemon's error is printed) or bad usage, 2 the daemon\n"
    "cannot be reached.\n";

/* Each command's usage, for `vessel vm COMMAND --help` (exit status 0, on stdout). */
static const struct {
    const char *name, *usage;
} vm_usages[] = {
    {"create",
     "usage: vessel vm [--socket PATH] [--json] create NAME\n"
     "         --kernel IMAGE | --restore SNAPSHOT [--clone] | --incoming [HOST:]PORT\n"
     "         [--initrd FILE] [--firmware FILE] [--append STR] [--arch riscv64|x86_64]\n"
     "         [--cpus N] [--mem SIZE] [--disk PATH[,ro][,format=raw|qcow2]]... [--net SPEC]...\n"
     "         [--cpu-quota CORES] [--no-balloon] [--start]\n"
     "Defines a VM in the daemon (POST /v1/vms); --start starts it too. The daemon checks the\n"
     "kernel, initrd and firmware against the architecture and refuses unusable ones.\n"
     "Relative paths are made absolute here. --mem: a bare number is MiB (256, 1G, 1.5G).\n"},
    {"list", "usage: vessel vm [--socket PATH] [--json] list\n"
             "All VMs: ID, NAME, STATE, CPUS, MEM, PID.\n"},
    {"show", "usage: vessel vm [--socket PATH] [--json] show NAME|ID\n"
             "The VM's configuration, state, last error, limits and live stats.\n"},
    {"stats", "usage: vessel vm [--socket PATH] [--json] stats NAME|ID\n"
              "A running VM's counters: vCPU time, engine events, disk and network bytes and\n"
              "operations, RSS, balloon (GET /v1/vms/{id}/stats).\n"},
    {"start", "usage: vessel vm [--socket PATH] [--json] start NAME|ID\n"
              "Starts a created, stopped or crashed VM; a VM process that fails at once is\n"
              "reported with its reason (exit status 1).\n"},
    {"pause", "usage: vessel vm [--socket PATH] [--json] pause NAME|ID\n"},
    {"resume", "usage: vessel vm [--socket PATH] [--json] resume NAME|ID\n"},
    {"stop", "usage: vessel vm [--socket PATH] [--json] stop NAME|ID\n"
             "Forced stop (the VM process is killed).\n"},
    {"shutdown", "usage: vessel vm [--socket PATH] [--json] shutdown NAME|ID\n"},
    {"delete", "usage: vessel vm [--socket PATH] [--json] delete NAME|ID\n"
               "Removes a VM that is not running or paused.\n"},
    {"balloon", "usage: vessel vm [--socket PATH] [--json] balloon NAME|ID MIB\n"
                "Sets the balloon target (MiB taken from the guest).\n"},
    {"snapshot", "usage: vessel vm [--socket PATH] [--json] snapshot NAME|ID PATH [--stop]\n"
                 "Writes a running VM's state to PATH, then resumes it (or stops it with\n"
                 "--stop); `vessel vm create NAME --restore PATH` runs it again.\n"},
    {"migrate", "usage: vessel vm [--socket PATH] [--json] migrate NAME|ID --to HOST:PORT\n"
                "         --secret-file FILE [--downtime MS] [--timeout MS] [--max-passes N]\n"
                "Live-migrates a running VM to an incoming VM on HOST; shows progress until it\n"
                "ends; Ctrl-C cancels. Exit 0 completed, 2 failed or cancelled.\n"},
    {"console", "usage: vessel vm [--socket PATH] console NAME|ID   (Ctrl-] detaches)\n"},
};

/* `vessel vm CMD ... --help`: the command's usage on stdout. Returns true when it was asked
 * for (argv[0] is the command). */
static bool vm_help(int argc, char **argv)
{
    bool asked = false;

    for (int i = 1; i < argc; i++)
        asked = asked || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
    if (!asked)
        return false;
    for (size_t i = 0; i < sizeof(vm_usages) / sizeof(vm_usages[0]); i++) {
        if (!strcmp(vm_usages[i].name, argv[0])) {
            fputs(vm_usages[i].usage, stdout);
            return true;
        }
    }
    fputs(usage_vm, stdout);
    return true;
}

static const char *default_socket(void)
{
    const char *a = getenv("VESSEL_API"), *s = getenv("VESSEL_SOCKET");

    if (a && *a)
        return a;
    return s && *s ? s : "/run/vessel/vessel.sock";
}

int vm_cmd_request(const char *sock, const char *method, const char *path, const char *body,
                   json_t **out)
{
    char *resp = NULL;
    int status = 0, err = http_request(sock, method, path, body, &status, &resp);
    json_t *j;

    *out = NULL;
    if (err == -ENOENT || err == -ECONNREFUSED || err == -ENOTDIR) {
        fprintf(stderr,
                "vessel: the daemon is not running at %s (%s); start it with `vessel serve`, "
                "or point --socket / VESSEL_SOCKET at its socket\n",
                sock, strerror(-err));
        return 2;
    }
    if (err) {
        fprintf(stderr, "vessel: talking to the daemon at %s: %s\n", sock, strerror(-err));
        free(resp);
        return 2;
    }
    j = json_loads(resp, 0, NULL);
    free(resp);
    if (!j) {
        fprintf(stderr, "vessel: the daemon answered %d with something that is not JSON\n", status);
        return 2;
    }
    if (status >= 400) {
        json_t *e = json_object_get(j, "error");
        fprintf(stderr, "vessel: %s (HTTP %d, %s)\n",
                json_string_value(json_object_get(e, "message")) ?: "error", status,
                json_string_value(json_object_get(e, "code")) ?: "?");
        json_decref(j);
        return 1;
    }
    *out = j;
    return 0;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    if (s)
        puts(s);
    free(s);
}

static void print_list(json_t *j)
{
    size_t i;
    json_t *v;

    printf("%-10s %-20s %-8s %4s %8s %8s\n", "ID", "NAME", "STATE", "CPUS", "MEM", "PID");
    json_array_foreach(json_object_get(j, "vms"), i, v)
    {
        json_t *pid = json_object_get(v, "pid");
        char pids[24] = "-";
        if (json_is_integer(pid))
            snprintf(pids, sizeof(pids), "%lld", (long long)json_integer_value(pid));
        printf("%-10s %-20s %-8s %4lld %7lldM %8s\n", json_string_value(json_object_get(v, "id")),
               json_string_value(json_object_get(v, "name")),
               json_string_value(json_object_get(v, "state")),
               (long long)json_integer_value(json_object_get(v, "cpus")),
               (long long)json_integer_value(json_object_get(v, "memory_mib")), pids);
    }
}

/* "key: value" lines of an object's scalar members, then nested objects indented. */
static void print_object(json_t *o, int indent)
{
    const char *key;
    json_t *v;

    json_object_foreach(o, key, v)
    {
        if (json_is_object(v)) {
            printf("%*s%s:\n", indent, "", key);
            print_object(v, indent + 2);
            continue;
        }
        char *s = json_is_string(v)
                      ? strdup(json_string_value(v))
                      : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
        printf("%*s%-20s %s\n", indent, "", key, s ? s : "?");
        free(s);
    }
}

static int do_create(const char *sock, bool as_json, int argc, char **argv)
{
    json_t *req = json_object(), *disks = json_array(), *nets = json_array(), *out;
    bool start = false;
    uint64_t bytes;
    long n;
    int rc;

    if (argc < 2 || argv[1][0] == '-') {
        fputs(usage_vm, stderr);
        return 1;
    }
    json_object_set_new(req, "name", json_string(argv[1]));
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool flag = !strcmp(o, "--start") || !strcmp(o, "--no-balloon") || !strcmp(o, "--clone");

        if (!flag && !val) {
            fprintf(stderr, "vessel: vm create: %s needs a value\n", o);
            return 1;
        }
        if (!strcmp(o, "--start")) {
            start = true;
        } else if (!strcmp(o, "--clone")) {
            json_object_set_new(req, "clone", json_true());
        } else if (!strcmp(o, "--no-balloon")) {
            json_object_set_new(req, "balloon", json_false());
        } else if (!strcmp(o, "--kernel") || !strcmp(o, "--initrd") || !strcmp(o, "--firmware") ||
                   !strcmp(o, "--arch") || !strcmp(o, "--restore")) {
            char *abs = o[2] == 'a' ? strdup(val) : realpath(val, NULL);
            json_object_set_new(req, o + 2, json_string(abs ? abs : val));
            free(abs);
        } else if (!strcmp(o, "--incoming")) {
            json_object_set_new(req, "incoming", json_string(val));
        } else if (!strcmp(o, "--append")) {
            json_object_set_new(req, "cmdline", json_string(val));
        } else if (!strcmp(o, "--cpus") && !args_parse_int(val, 1, 1024, &n)) {
            json_object_set_new(req, "cpus", json_integer(n));
        } else if (!strcmp(o, "--mem") && !args_parse_size(val, &bytes)) {
            json_object_set_new(req, "memory_mib", json_integer((json_int_t)(bytes >> 20)));
        } else if (!strcmp(o, "--cpu-quota")) {
            json_object_set_new(req, "cpu_quota", json_real(strtod(val, NULL)));
        } else if (!strcmp(o, "--disk")) {
            struct args_disk d;
            const char *why;
            char *abs;
            if (args_parse_disk(val, &d, &why)) {
                fprintf(stderr, "vessel: --disk %s: %s\n", val, why);
                return 1;
            }
            abs = realpath(d.path, NULL);
            json_t *dj = json_pack("{s:s,s:b}", "path", abs ? abs : d.path, "readonly", d.readonly);
            if (d.format != DISK_FORMAT_PROBE)
                json_object_set_new(dj, "format",
                                    json_string(d.format == DISK_FORMAT_RAW ? "raw" : "qcow2"));
            json_array_append_new(disks, dj);
            free(abs);
        } else if (!strcmp(o, "--net")) {
            json_array_append_new(nets, json_string(val));
        } else {
            fprintf(stderr, "vessel: vm create: bad option or value: %s %s\n", o, val);
            return 1;
        }
        if (!flag)
            i++;
    }
    json_object_set_new(req, "disks", disks);
    json_object_set_new(req, "nets", nets);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    rc = vm_cmd_request(sock, "POST", "/v1/vms", body, &out);
    free(body);
    if (rc)
        return rc;
    if (start) {
        char path[160];
        json_t *o2;
        snprintf(path, sizeof(path), "/v1/vms/%s/start",
                 json_string_value(json_object_get(out, "id")));
        rc = vm_cmd_request(sock, "POST", path, NULL, &o2);
        if (!rc) {
            json_decref(out);
            out = o2;
        }
    }
    if (as_json)
        print_json(out);
    else
        printf("%s %s %s\n", json_string_value(json_object_get(out, "id")),
               json_string_value(json_object_get(out, "name")),
               json_string_value(json_object_get(out, "state")));
    json_decref(out);
    return rc;
}

/* The daemon's answer to GET /v1/vms/ID, or NULL (the error printed). */
static json_t *vm_get(const char *sock, const char *id)
{
    char path[160];
    json_t *out;

    snprintf(path, sizeof(path), "/v1/vms/%.63s", id);
    return vm_cmd_request(sock, "GET", path, NULL, &out) ? NULL : out;
}

static bool state_live(const char *s)
{
    return s && (!strcmp(s, "running") || !strcmp(s, "paused") || !strcmp(s, "incoming"));
}

/* argv: shutdown NAME [--timeout S] [--no-wait] */
static int do_shutdown(const char *sock, bool as_json, int argc, char **argv)
{
    const char *id = argv[1], *method, *state = NULL;
    bool wait = true;
    long timeout = -1;
    char path[160], body[48];
    json_t *out, *v = NULL;
    double t0 = clock_now_ms(), limit;
    int rc;

    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--no-wait"))
            wait = false;
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc &&
                 !args_parse_int(argv[i + 1], 0, 3600, &timeout))
            i++;
        else {
            fprintf(stderr, "vessel: vm shutdown: bad option or value: %s (see vessel vm --help)\n",
                    argv[i]);
            return 1;
        }
    }
    snprintf(path, sizeof(path), "/v1/vms/%.63s/shutdown", id);
    snprintf(body, sizeof(body), "{\"timeout_s\":%ld}", timeout < 0 ? 30L : timeout);
    if ((rc = vm_cmd_request(sock, "POST", path, body, &out)))
        return rc;
    method = json_string_value(json_object_get(json_object_get(out, "shutdown_request"), "method"));
    if (method && !strcmp(method, "power_button"))
        fprintf(stderr, "vessel: %s: power button pressed; the guest has %ld s to power off\n", id,
                timeout < 0 ? 30L : timeout);
    else
        fprintf(stderr, "vessel: %s: stopping it by force: %s\n", id,
                json_string_value(
                    json_object_get(json_object_get(out, "shutdown_request"), "forced_because"))
                    ?: "?");
    if (!wait) {
        if (as_json)
            print_json(out);
        json_decref(out);
        return 0;
    }
    json_decref(out);
    /* the deadline, the daemon's SIGKILL 10 s after its SIGTERM, and some slack */
    limit = ((timeout < 0 ? 30 : timeout) + 20) * 1000.0;
    while (clock_now_ms() - t0 < limit) {
        json_decref(v);
        if (!(v = vm_get(sock, id)))
            return 2;
        state = json_string_value(json_object_get(v, "state"));
        if (!state_live(state))
            break;
        struct timespec ts = {.tv_nsec = 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (as_json)
        print_json(v);
    if (state_live(state)) {
        fprintf(stderr, "vessel: %s: still %s after %.0f s\n", id, state, limit / 1000);
        rc = 1;
    } else {
        const char *how = json_string_value(json_object_get(v, "shutdown"));
        const char *exit_desc = json_string_value(json_object_get(v, "last_exit"));
        if (how && !strcmp(how, "guest"))
            fprintf(stderr, "vessel: %s: the guest powered off (%.1f s); state %s\n", id,
                    (clock_now_ms() - t0) / 1000, state);
        else
            fprintf(stderr, "vessel: %s: stopped by force (%.1f s, %s); state %s\n", id,
                    (clock_now_ms() - t0) / 1000, exit_desc ? exit_desc : "?", state);
    }
    json_decref(v);
    return rc;
}

static int do_console(const char *sock, const char *id)
{
    char path[160];
    json_t *out;
    int rc;

    snprintf(path, sizeof(path), "/v1/vms/%.63s", id);
    if ((rc = vm_cmd_request(sock, "GET", path, NULL, &out)))
        return rc;
    const char *cs = json_string_value(json_object_get(json_object_get(out, "console"), "socket"));
    char *copy = cs ? strdup(cs) : NULL;
    json_decref(out);
    if (!copy)
        return 2;
    rc = console_attach(copy, id);
    free(copy);
    return rc;
}

/* Takes --socket PATH and --json out of argv, wherever they are. */
static int take_globals(int argc, char **argv, const char **sock, bool *as_json)
{
    int n = 0;

    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "--socket") || !strcmp(argv[i], "--api")) && i + 1 < argc) {
            *sock = argv[++i];
        } else if (!strncmp(argv[i], "--api=", 6)) {
            *sock = argv[i] + 6;
        } else if (!strncmp(argv[i], "--socket=", 9)) {
            *sock = argv[i] + 9;
        } else if (!strcmp(argv[i], "--json")) {
            *as_json = true;
        } else {
            argv[n++] = argv[i];
        }
    }
    return n;
}

int cli_console(int argc, char **argv)
{
    const char *sock = default_socket();
    bool as_json = false;

    argc = take_globals(argc, argv, &sock, &as_json);
    if (argc != 2 || argv[1][0] == '-') {
        bool help = argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
        fputs("usage: vessel console [--socket PATH] NAME|ID   (Ctrl-] detaches)\n",
              help ? stdout : stderr);
        return help ? 0 : 1;
    }
    return do_console(sock, argv[1]);
}

int cli_vm(int argc, char **argv)
{
    static const char *const actions[] = {"start",  "pause",  "resume", "stop",
                                          "reboot", "delete", NULL};
    const char *sock = default_socket(), *cmd;
    bool as_json = false;
    char path[160], body[64];
    json_t *out;
    int rc;

    argc = take_globals(argc, argv, &sock, &as_json);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_vm, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    cmd = argv[1];
    if (vm_help(argc - 1, argv + 1))
        return 0;
    if (!strcmp(cmd, "create"))
        return do_create(sock, as_json, argc - 1, argv + 1);
    if (!strcmp(cmd, "migrate"))
        return vm_cmd_migrate(sock, as_json, argc - 1, argv + 1);
    if (!strcmp(cmd, "list") && argc == 2) {
        if ((rc = vm_cmd_request(sock, "GET", "/v1/vms", NULL, &out)))
            return rc;
        as_json ? print_json(out) : print_list(out);
        json_decref(out);
        return 0;
    }
    if (argc < 3) {
        fputs(usage_vm, stderr);
        return 1;
    }
    snprintf(path, sizeof(path), "/v1/vms/%.63s", argv[2]);
    if (!strcmp(cmd, "console") && argc == 3)
        return do_console(sock, argv[2]);
    if (!strcmp(cmd, "shutdown"))
        return do_shutdown(sock, as_json, argc - 1, argv + 1);
    if (!strcmp(cmd, "show") && argc == 3) {
        rc = vm_cmd_request(sock, "GET", path, NULL, &out);
    } else if (!strcmp(cmd, "stats") && argc == 3) {
        strncat(path, "/stats", sizeof(path) - strlen(path) - 1);
        rc = vm_cmd_request(sock, "GET", path, NULL, &out);
    } else if (!strcmp(cmd, "balloon") && argc == 4) {
        long mib;
        if (args_parse_int(argv[3], 0, 1 << 20, &mib)) {
            fprintf(stderr, "vessel: vm balloon: %s is not a number of MiB\n", argv[3]);
            return 1;
        }
        snprintf(body, sizeof(body), "{\"target_mib\":%ld}", mib);
        strncat(path, "/balloon", sizeof(path) - strlen(path) - 1);
        rc = vm_cmd_request(sock, "PUT", path, body, &out);
    } else if (!strcmp(cmd, "snapshot") &&
               (argc == 4 || (argc == 5 && !strcmp(argv[4], "--stop")))) {
        char cwd[2048], *abs = NULL, *text;
        json_t *req;
        if (argv[3][0] != '/' && getcwd(cwd, sizeof(cwd)) &&
            asprintf(&abs, "%s/%s", cwd, argv[3]) < 0)
            abs = NULL;
        req = json_pack("{s:s,s:s}", "path", abs ? abs : argv[3], "then",
                        argc == 5 ? "stop" : "resume");
        free(abs);
        text = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (!text) {
            fprintf(stderr, "vessel: vm snapshot: out of memory\n");
            return 1;
        }
        strncat(path, "/snapshot", sizeof(path) - strlen(path) - 1);
        rc = vm_cmd_request(sock, "POST", path, text, &out);
        free(text);
    } else {
        int i;
        for (i = 0; actions[i] && strcmp(actions[i], cmd); i++) {
        }
        if (!actions[i] || argc != 3) {
            fprintf(stderr,
                    "vessel: vm: unknown command or arguments '%s' (see vessel vm "
                    "--help)\n",
                    cmd);
            return 1;
        }
        if (!strcmp(cmd, "delete")) {
            rc = vm_cmd_request(sock, "DELETE", path, NULL, &out);
        } else {
            strncat(path, "/", sizeof(path) - strlen(path) - 1);
            strncat(path, cmd, sizeof(path) - strlen(path) - 1);
            rc = vm_cmd_request(sock, "POST", path, NULL, &out);
        }
    }
    if (rc)
        return rc;
    if (as_json)
        print_json(out);
    else if (json_object_get(out, "id"))
        print_object(out, 0);
    else if (!strcmp(cmd, "delete"))
        printf("deleted %s\n", argv[2]);
    else
        print_object(out, 0);
    json_decref(out);
    return 0;
}
