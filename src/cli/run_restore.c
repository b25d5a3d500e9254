#include "cli/run_restore.h"

#include <stdio.h>

#include "board/riscv/board.h"
#include "vm/snapshot.h"

/* Lives until exit: the board keeps pointers to its strings (a guest reboot reads the files). */
static struct snapshot_config restored;

int cli_restore_open(const char *path, uint64_t *mem, long *cpus, const char **append,
                     const char **firmware, const char **kernel, const char **initrd)
{
    struct snap_reader r;

    if (snapshot_open(&r, path, "rv64", "riscv64"))
        return 1; /* logged */
    if (snapshot_read_config(&r, path, &restored)) {
        snap_reader_close(&r);
        return 1;
    }
    snap_reader_close(&r);
    *mem = restored.ram_size;
    *cpus = restored.nharts;
    *append = restored.cmdline;
    *firmware = restored.firmware;
    *kernel = restored.kernel;
    *initrd = restored.initrd;
    return 0;
}

void cli_restore_report(const char *path, double ms, uint64_t mem)
{
    fprintf(stderr, "vessel: restored %s in %.2f ms (%llu MiB of RAM mapped copy-on-write)\r\n",
            path, ms, (unsigned long long)(mem >> 20));
}

void cli_clone_report(struct riscv_board *board, const uint8_t (*macs)[6], int nnets)
{
    uint8_t g[16];

    riscv_board_generation_id(board, g);
    fprintf(stderr, "vessel: clone: VM generation ID ");
    for (int i = 0; i < 16; i++)
        fprintf(stderr, "%02x", g[i]);
    for (int i = 0; i < nnets; i++)
        fprintf(stderr, ", eth%d %02x:%02x:%02x:%02x:%02x:%02x", i, macs[i][0], macs[i][1],
                macs[i][2], macs[i][3], macs[i][4], macs[i][5]);
    fprintf(stderr, "\r\n");
}

int cli_riscv_snapshot(void *board, const char *path, bool stop, double *ms, double *paused_ms)
{
    return riscv_board_snapshot(board, path, stop, ms, paused_ms);
}
