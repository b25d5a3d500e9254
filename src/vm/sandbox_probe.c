/* {"sandbox": ...} on the control socket (control.h): what confines this VM process, seen from
 * inside it, and two probes that tests use to prove it. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/control.h"

/* The fields of /proc/self/status the answer carries: JSON name, status name. */
static const char *const status_fields[][2] = {
    {"uid", "Uid"},
    {"gid", "Gid"},
    {"groups", "Groups"},
    {"cap_inh", "CapInh"},
    {"cap_prm", "CapPrm"},
    {"cap_eff", "CapEff"},
    {"cap_bnd", "CapBnd"},
    {"cap_amb", "CapAmb"},
    {"no_new_privs", "NoNewPrivs"},
    {"seccomp", "Seccomp"},
    {"seccomp_filters", "Seccomp_filters"},
};

static void add_status(json_t *o)
{
    char line[512];
    FILE *f = fopen("/proc/self/status", "r");

    if (!f) {
        json_object_set_new(o, "status_error", json_string(strerror(errno)));
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':'), *v;

        if (!colon)
            continue;
        *colon = '\0';
        v = colon + 1 + strspn(colon + 1, " \t");
        v[strcspn(v, "\n")] = '\0';
        for (size_t i = 0; i < sizeof(status_fields) / sizeof(status_fields[0]); i++) {
            if (strcmp(line, status_fields[i][1]))
                continue;
            if (!strcmp(line, "Uid") || !strcmp(line, "Gid")) /* real, effective, saved, fs */
                json_object_set_new(o, status_fields[i][0], json_integer(strtoll(v, NULL, 10)));
            else if (v[strspn(v, "0123456789")] == '\0' && *v && strncmp(line, "Cap", 3))
                json_object_set_new(o, status_fields[i][0], json_integer(strtoll(v, NULL, 10)));
            else
                json_object_set_new(o, status_fields[i][0], json_string(v));
        }
    }
    fclose(f);
}

static json_t *namespaces(void)
{
    static const char *const ns[] = {"mnt", "pid", "ipc", "uts", "net", "user"};
    json_t *o = json_object();
    char path[64], link[128];

    for (size_t i = 0; o && i < sizeof(ns) / sizeof(ns[0]); i++) {
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
        n = readlink(path, link, sizeof(link) - 1);
        json_object_set_new(o, ns[i], n > 0 ? json_stringn(link, (size_t)n) : json_null());
    }
    return o;
}

void control_sandbox(const struct control_cmd *cmd, char *out, size_t cap)
{
    json_t *o = json_pack("{s:b}", "ok", 1);
    char *text;
    int fd;

    switch (cmd->sandbox) {
    case SANDBOX_STATUS:
        json_object_set_new(o, "pid", json_integer(getpid()));
        add_status(o);
        json_object_set_new(o, "ns", namespaces());
        break;
    case SANDBOX_OPEN:
        fd = open(cmd->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        json_object_set_new(o, "open", json_string(cmd->path));
        json_object_set_new(o, "error", fd < 0 ? json_string(strerror(errno)) : json_null());
        if (fd >= 0)
            close(fd);
        break;
    case SANDBOX_DENIED_CALL: {
        /* No control thread ever executes a program; without a filter this just fails. */
        char *const argv[] = {"vessel-denied-call", NULL};
        execve("/nonexistent/vessel-denied-call", argv, argv + 1);
        json_object_set_new(o, "error", json_string(strerror(errno)));
        break;
    }
    }
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(out, cap, "%s",
             text && strlen(text) < cap ? text : "{\"ok\":false,\"error\":\"out of memory\"}");
    free(text);
    json_decref(o);
}
