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
struct migrate_incoming;
/* What an incoming VM must have (0: anything): e.g. what a daemon reserved for it. */
struct cli_incoming_want {
    uint64_t mem;
    long cpus;
};
/* `vessel run --incoming SPEC`: listens, waits for a source, reads and checks its machine
 * configuration (against want) and gives the settings as cli_restore_open. Returns 0, 1 (bad
 * SPEC, one line on stderr) or 2 (the migration failed or was refused; logged). */
int cli_incoming_accept(struct migrate_incoming *in, const char *spec,
                        const struct cli_incoming_want *want, uint64_t *mem, long *cpus,
                        const char **append, const char **firmware, const char **kernel,
                        const char **initrd);
struct riscv_board_config;
struct gmem;
struct migration;
/* Checks that bc (the device options given here) takes the source's configuration, answers
 * the source, creates guest RAM in *ram and receives the VM into it and the incoming state
 * file. 0, 1 (configuration mismatch; one line on stderr) or 2 (failed; logged). */
int cli_incoming_receive(struct migrate_incoming *in, const struct riscv_board_config *bc,
                         struct gmem *ram);
/* One line on stderr: what arrived, how long the board took to load it and until it ran. */
void cli_incoming_report(const struct migrate_incoming *in, double load_ms, double ms);
/* One line on stderr after the VM moved away: where to, total time, downtime. */
void cli_migrated_report(struct migration *mg);
struct args_disk;
/* --restore --clone: every writable disk that is the snapshot's own disk is replaced by a new
 * qcow2 overlay on top of it (DIR/STEM-clone-XXXXXXXX.qcow2, one line on stderr), so that the
 * snapshot's disk stays as it is and each clone keeps its own writes. After cli_restore_open.
 * 0, or 1 (logged). */
int cli_clone_disks(struct args_disk *disks, int n);
/* Prints the restore time (board creation to just before the first instruction) on stderr. */
void cli_restore_report(const char *path, double ms, uint64_t mem);
/* For --clone: the new VM generation ID and NIC MACs on stderr. */
void cli_clone_report(struct riscv_board *board, const uint8_t (*macs)[6], int nnets);
/* control.snapshot for a riscv board (opaque = struct riscv_board *). */
struct control_cmd;
struct snapshot_result;
int cli_riscv_snapshot(void *board, const struct control_cmd *cmd, struct snapshot_result *res);

#endif
