/* The riscv board's state, shared by board.c (creation, boot, run) and snapshot.c (snapshot
 * and restore). Nothing outside src/board/riscv/ includes this. */
#ifndef VESSEL_BOARD_RISCV_BOARD_INT_H
#define VESSEL_BOARD_RISCV_BOARD_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "board/riscv/board.h"
#include "board/riscv/clint.h"
#include "board/riscv/fdt.h"
#include "board/riscv/plic.h"
#include "board/riscv/syscon.h"
#include "bus/bus.h"
#include "dev/goldfish_rtc.h"
#include "dev/uart16550.h"
#include "dev/vmgenid.h"
#include "engine/rv64/rv64.h"
#include "mem/gmem.h"
#include "virtio/virtio.h"
#include "state/snapfile.h"

/* Room for the largest device state (save buffers). */
#define RISCV_DEV_SAVE_MAX (PLIC_SAVE_MAX > VIRTIO_SAVE_MAX ? PLIC_SAVE_MAX : VIRTIO_SAVE_MAX)

struct riscv_board {
    struct riscv_board_config cfg;
    struct riscv_images img;
    struct riscv_boot_plan plan;
    struct gmem ram;
    struct bus bus;
    struct rv64_machine *m;
    struct plic plic;
    struct clint clint;
    struct uart16550 uart;
    struct goldfish_rtc rtc;
    struct vmgenid vmgenid;
    struct syscon syscon;
    struct riscv_virtio virtio;
    atomic_int user_quit;
    /* Snapshots: snap_lock keeps a snapshot and a reboot's reload apart; snap_stop says the
     * last snapshot asked the VM to stop (riscv_board_run returns RISCV_EXIT_SNAPSHOT). */
    pthread_mutex_t snap_lock;
    atomic_int snap_stop;
    /* Live migration (migrate.c): the paused guest's mtime; set once the VM moved away. */
    uint64_t mig_mtime;
    int mig_err; /* the pause failed (the machine is stopping): the migration fails */
    atomic_int migrated;
    atomic_int held; /* paused for good after an unconfirmed handover: no resume, no snapshot */
    bool incoming;   /* created from an incoming migration: devices wait for the go-ahead */
    uint8_t fdt[RISCV_FDT_MAX_SIZE] __attribute__((aligned(8))); /* libfdt wants 8 */
};

/* snapshot.c, for riscv_board_create with cfg->restore_path: guest RAM mapped copy-on-write
 * from the file's memory section, then (devices created) every CPU, device and the machine
 * timer loaded. Both return 0 or -errno (logged). */
int riscv_board_restore_ram(struct riscv_board *b, const struct snap_reader *r);
int riscv_board_restore_state(struct riscv_board *b, const struct snap_reader *r);
/* The CONFIG section's JSON (malloc'd), or NULL when out of memory. */
char *riscv_board_config_json(const struct riscv_board *b);
/* With the harts paused: the MACHINE (mtime), CPU and DEVICE sections; buf holds
 * RISCV_DEV_SAVE_MAX bytes. 0 or -errno (logged). */
int riscv_board_write_state(struct riscv_board *b, struct snap_writer *w, uint64_t mtime,
                            uint8_t *buf);

#endif
