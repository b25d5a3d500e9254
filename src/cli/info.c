/* `vessel info`: which engines this host supports, and why not. */
#include <stdio.h>

#include "board/board.h"
#include "cli/run.h"

int cli_info(void)
{
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
