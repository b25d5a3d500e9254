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
    "  --image-dir DIR    where clients keep images (default STATE_DIR/images)\n"
    "  --allow-dir DIR    a directory whose files clients may name (kernels, disks,\n"
    "                     snapshots...); repeatable; the state and image directories always\n"
    "                     are; any other path gets 403\n"
    "  --socket-group GROUP  the group of the API socket (mode 0660; default the daemon's)\n"
    "  --listen ADDR:PORT also serve the API over TCP, with authentication: --token-file\n"
    "                     and/or --tls-cert, --tls-key and --tls-client-ca (all that are\n"
    "                     given are required of each request; without any it will not start)\n"
    "  --token-file FILE  a bearer token (16 or more characters; one line) that TCP clients\n"
    "                     send as \"Authorization: Bearer TOKEN\"; the file must not be\n"
    "                     readable by others\n"
    "  --tls-cert FILE --tls-key FILE   HTTPS on the TCP listener (PEM)\n"
    "  --tls-client-ca FILE  require a client certificate signed by this CA (PEM)\n"
    "  --web-dir DIR      the web console's pages (default: web/ beside the binary's\n"
    "                     directory, i.e. the source tree's); the console is at /ui/ on\n"
    "                     both listeners: open http://ADDR:PORT/ui/ and log in with the token\n"
    "                     (docs/web.md)\n"
    "  --web-vendor DIR   the npm packages the pages use (xterm.js), installed by\n"
    "                     scripts/setup-web.sh (default\n"
    "                     ${VESSEL_TOOLS:-$HOME/.cache/vessel-tools}/web/node_modules)\n"
    "  --jail-uids FIRST-LAST  each VM process runs as a free uid of this range (default\n"
    "                     900000000-900065535), gid the same number unless --jail-gid\n"
    "  --jail-gid GID     one group for every VM process\n"
    "  --no-jail          run VM processes as the daemon's user, unconfined (no root needed)\n"
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
        {"image-dir", required_argument, NULL, 'I'},
        {"allow-dir", required_argument, NULL, 'A'},
        {"socket-group", required_argument, NULL, 'G'},
        {"listen", required_argument, NULL, 'L'},
        {"token-file", required_argument, NULL, 'T'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"tls-client-ca", required_argument, NULL, 'R'},
        {"jail-uids", required_argument, NULL, 'U'},
        {"jail-gid", required_argument, NULL, 'g'},
        {"no-jail", no_argument, NULL, 'n'},
        {"web-dir", required_argument, NULL, 'W'},
        {"web-vendor", required_argument, NULL, 'V'},
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
        case 'I': cfg.image_dir = optarg; break;
        case 'A':
            if (cfg.nallow == SERVE_ALLOW_MAX)
                return usage_error("--allow-dir %s: at most 14 directories", optarg);
            if (optarg[0] != '/')
                return usage_error("--allow-dir %s: expected an absolute path", optarg);
            cfg.allow[cfg.nallow++] = optarg;
            break;
        case 'G': cfg.socket_group = optarg; break;
        case 'L': cfg.listen = optarg; break;
        case 'T': cfg.token_file = optarg; break;
        case 'C': cfg.tls_cert = optarg; break;
        case 'K': cfg.tls_key = optarg; break;
        case 'R': cfg.tls_client_ca = optarg; break;
        case 'n': cfg.jail = false; break;
        case 'W': cfg.web_dir = optarg; break;
        case 'V': cfg.web_vendor = optarg; break;
        case 'g':
            if (args_parse_int(optarg, 1, 0x7ffffffe, &n))
                return usage_error("--jail-gid %s: expected a group number", optarg);
            cfg.jail_gid = n;
            break;
        case 'U': {
            unsigned long a, b;
            char *e1, *e2;
            a = strtoul(optarg, &e1, 10);
            b = *e1 == '-' ? strtoul(e1 + 1, &e2, 10) : 0;
            if (*e1 != '-' || *e2 || !a || b < a || b > 0xfffffffeul)
                return usage_error("--jail-uids %s: expected FIRST-LAST", optarg);
            cfg.jail_uid_first = (uint32_t)a;
            cfg.jail_uid_count = (uint32_t)(b - a + 1);
            break;
        }
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
