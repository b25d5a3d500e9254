/* `vessel info`: which engines this host supports, and why not. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "board/board.h"
#include "cli/run.h"

static const char usage_info[] =
    "usage: vessel info\n"
    "Lists each board's engine (kvm for x86_64, rv64 for riscv64) and whether this host can\n"
    "run it, with what it found or why not. Exit status 0.\n";

int cli_info(int argc, char **argv)
{
    if (argc > 1) {
        bool help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");
        fputs(usage_info, help && argc == 2 ? stdout : stderr);
        return help && argc == 2 ? 0 : 1;
    }
    printf("vessel engines on this host:\n");
    for (int i = 0; board_list[i]; i++) {
        const struct board_ops *b = board_list[i];
        char info[600], why[256];
        int err = b->engine->probe(info, sizeof(info), why, sizeof(why));

        if (err)
            printf("  %-5s %s guests: not supported: %s\n", b->engine->name, b->arch, why);
        else
            printf("  %-5s %s guests: supported (%s)\n", b->engine->name, b->arch, info);
    }
    return 0;
}
