/* `vessel run --restore PATH` and the snapshot command's board hook: the CLI side. */
#ifndef VESSEL_CLI_RUN_RESTORE_H
#define VESSEL_CLI_RUN_RESTORE_H

#include <stdbool.h>
#include <stdint.h>

struct riscv_board;

/* Opens and checks the state file (header, checksums, engine and architecture, machine
 * configuration) and gives the machine settings it was taken with; the strings stay valid
 * until the process ends. On failure one line went to stderr: return 1 (bad input). */
int cli_restore_open(const char *path, uint64_t *mem, long *cpus, const char **append,
                     const char **firmware, const char **kernel, const char **initrd);
/* Prints the restore time (board creation to just before the first instruction) on stderr. */
void cli_restore_report(const char *path, double ms, uint64_t mem);
/* For --clone: the new VM generation ID and NIC MACs on stderr. */
void cli_clone_report(struct riscv_board *board, const uint8_t (*macs)[6], int nnets);
/* control.snapshot for a riscv board (opaque = struct riscv_board *). */
int cli_riscv_snapshot(void *board, const char *path, bool stop, double *ms, double *paused_ms);

#endif
