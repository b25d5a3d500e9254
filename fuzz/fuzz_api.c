/* libFuzzer target: the management API's request validation (src/api/apireq.c) - the route
 * matcher and the JSON body parsers the daemon runs on every request (VM config, balloon,
 * snapshot, migrate, shutdown, empty action bodies). The first byte picks the parser; for the route
 * matcher the rest is "METHOD\nURL". Every result must be either success or a filled error
 * with a 4xx status. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/apireq.h"

static void check_error(int st, const struct api_error *e)
{
    if (st == 0)
        return;
    if (st != e->status || st < 400 || st > 499 || !e->code[0] || !e->message[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct api_vm_config cfg;
    struct api_error e = {0};
    char id[API_NAME_MAX];
    enum api_route route;
    uint64_t target;
    char *s;
    int st;

    if (size < 1)
        return 0;
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 7) {
    case 0: {
        char *nl = strchr(s, '\n');
        if (!nl)
            break;
        *nl = '\0';
        st = api_route_match(s, nl + 1, &route, id, &e);
        check_error(st, &e);
        if (!st && (route >= ROUTE_COUNT || (id[0] && !api_name_valid(id))))
            abort();
        break;
    }
    case 1: {
        bool restore;
        st = api_vm_config_parse(s, size - 1, &cfg, &e);
        check_error(st, &e);
        if (st)
            break;
        /* a restore takes kernel, vCPUs and RAM from the snapshot: 0 means "from there" */
        restore = cfg.restore[0] != '\0';
        if (cfg.incoming[0]) {
            /* no boot files; the source's cpus and RAM are required (checked below) */
            if (restore || cfg.kernel[0] || cfg.initrd[0] || cfg.firmware[0] ||
                !api_hostport_valid(cfg.incoming, false))
                abort();
        } else if (restore         ? cfg.restore[0] != '/' || cfg.kernel[0]
                   : cfg.kernel[0] ? cfg.kernel[0] != '/'
                                   /* no kernel: a riscv64 VM boots from its disks */
                                   : strcmp(cfg.arch, "riscv64") || !cfg.ndisks || cfg.initrd[0] ||
                                         cfg.cmdline[0]) {
            abort();
        }
        if (!(restore && cfg.cpus == 0) && (cfg.cpus < 1 || cfg.cpus > API_CPUS_MAX))
            abort();
        if (!(restore && cfg.memory_mib == 0) &&
            (cfg.memory_mib < API_MEM_MIN_MIB || cfg.memory_mib > API_MEM_MAX_MIB))
            abort();
        if (!api_name_valid(cfg.name) || (cfg.cpus && cfg.cpu_quota > cfg.cpus))
            abort();
        /* a clone is of a riscv64 snapshot; an x86_64 VM has no disks, nets or balloon */
        if ((cfg.clone && (!restore || strcmp(cfg.arch, "riscv64"))) ||
            (!strcmp(cfg.arch, "x86_64") && (cfg.ndisks || cfg.nnets || cfg.balloon)))
            abort();
        break;
    }
    case 2:
        st = api_balloon_parse(s, size - 1, &target, &e);
        check_error(st, &e);
        if (!st && target > API_MEM_MAX_MIB)
            abort();
        break;
    case 3: {
        char path[API_PATH_MAX];
        bool stop, keep;
        st = api_snapshot_parse(s, size - 1, path, &stop, &keep, &e);
        check_error(st, &e);
        if (!st && path[0] != '/')
            abort();
        break;
    }
    case 4: {
        struct api_migrate m;
        st = api_migrate_parse(s, size - 1, &m, &e);
        check_error(st, &e);
        if (!st && (!api_hostport_valid(m.to, true) || strchr(m.to, '"') || strchr(m.to, '\\') ||
                    m.downtime_ms > 60000 || m.timeout_ms > 3600000 || m.max_passes > 1000))
            abort();
        break;
    }
    case 5: {
        int timeout_s = -1;
        st = api_shutdown_parse(s, size - 1, &timeout_s, &e);
        check_error(st, &e);
        if (!st && (timeout_s < 0 || timeout_s > API_SHUTDOWN_TIMEOUT_MAX_S))
            abort();
        break;
    }
    default: check_error(api_empty_body_check(s, size - 1, &e), &e); break;
    }
    free(s);
    return 0;
}
