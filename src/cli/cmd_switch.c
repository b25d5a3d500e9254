#include "cli/cmd_switch.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "backend/net/switch_server.h"
#include "base/log.h"
#include "cli/args.h"

static const char usage_switch[] =
    "usage: vessel switch [--age SECONDS] PATH\n"
    "\n"
    "Runs a learning L2 Ethernet switch on the unix socket PATH (SOCK_SEQPACKET, one\n"
    "Ethernet frame per message) until SIGINT or SIGTERM. VMs plug in with\n"
    "`vessel run ... --net switch,path=PATH`; up to 64 ports. Frames to a learned MAC\n"
    "go to its port only; broadcast, multicast and unknown destinations go to every\n"
    "other port. A port leaving forgets its MACs and does not disturb the others. A\n"
    "stale socket at PATH is replaced; a switch already running there is an error.\n"
    "\n"
    "  --age SECONDS   forget a MAC not seen for this long (default 300)\n"
    "  -v, --verbose   log ports joining and leaving\n"
    "  -h, --help      this text\n"
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 for bad usage or an unusable PATH.\n";

int cmd_switch(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"age", required_argument, NULL, 'a'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long age = 300;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (args_parse_int(optarg, 1, 86400, &age)) {
                fprintf(stderr, "vessel: --age %s: expected seconds from 1 to 86400\n", optarg);
                return 1;
            }
            break;
        case 'v': log_set_level(LOG_INFO); break;
        case 'h': fputs(usage_switch, stdout); return 0;
        case ':':
            fprintf(stderr, "vessel: switch: option %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "vessel: switch: unknown option '%s' (see vessel switch --help)\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vessel: switch: expected exactly one PATH (see vessel switch --help)\n");
        return 1;
    }
    if (!*argv[optind]) {
        fprintf(stderr, "vessel: switch: PATH is empty\n");
        return 1;
    }
    return switch_serve(argv[optind], (uint64_t)age * 1000000000ULL) ? 1 : 0;
}
