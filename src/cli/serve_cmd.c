/* `vessel serve`: argv -> the daemon's configuration (host/serve.h). */
#include "cli/serve_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/args.h"
#include "host/serve.h"

static const char usage_serve[] =
    "usage: vessel serve [OPTIONS]\n"
    "\n"
    "Runs the host daemon: an HTTP/1.1 + JSON API (docs/api/openapi.yaml) on a unix socket.\n"
    "Every VM runs in a process of its own (with a small vm-shim that owns its console), in\n"
    "its own session, so VMs survive a daemon restart and the daemon finds them again.\n"
    "\n"
    "  --socket PATH      the API socket (default /run/vessel/vessel.sock)\n"
    "  --state-dir DIR    VM definitions, consoles logs and sockets (default /var/lib/vessel)\n"
    "  --cpus N           host vCPU capacity before overcommit (default: online CPUs)\n"
    "  --memory SIZE      host memory capacity, e.g. 8G (default: the machine's RAM)\n"
    "  --overcommit R     vCPU overcommit ratio, 1.0 to 64 (default 1.0); memory is never\n"
    "                     overcommitted: each running VM reserves its RAM + 64 MiB\n"
    "  --print-routes     print the API's routes (METHOD PATH STATUS... per line: the HTTP\n"
    "                     statuses each can answer) and exit\n"
    "  -h, --help         this text\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "vessel serve: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

int cli_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"state-dir", required_argument, NULL, 'd'},
        {"cpus", required_argument, NULL, 'c'},
        {"memory", required_argument, NULL, 'm'},
        {"overcommit", required_argument, NULL, 'o'},
        {"print-routes", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct serve_config cfg;
    uint64_t bytes;
    long n;
    char *end;
    int c;

    host_serve_defaults(&cfg);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': cfg.socket = optarg; break;
        case 'd': cfg.state_dir = optarg; break;
        case 'c':
            if (args_parse_int(optarg, 1, 4096, &n))
                return usage_error("--cpus %s: expected 1 to 4096", optarg);
            cfg.cpus = (int)n;
            break;
        case 'm':
            if (args_parse_size(optarg, &bytes) || bytes < (1ULL << 20))
                return usage_error("--memory %s: expected a size like 4096M or 8G", optarg);
            cfg.memory_mib = bytes >> 20;
            break;
        case 'o':
            cfg.overcommit = strtod(optarg, &end);
            if (*end || !(cfg.overcommit >= 1.0 && cfg.overcommit <= 64))
                return usage_error("--overcommit %s: expected a ratio from 1.0 to 64", optarg);
            break;
        case 'p': host_serve_print_routes(); return 0;
        case 'h': fputs(usage_serve, stdout); return 0;
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s' (see vessel serve --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return host_serve(&cfg);
}
