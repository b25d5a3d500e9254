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
#include "vm/snapfile.h"

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
    uint8_t fdt[RISCV_FDT_MAX_SIZE] __attribute__((aligned(8))); /* libfdt wants 8 */
};

/* snapshot.c, for riscv_board_create with cfg->restore_path: guest RAM mapped copy-on-write
 * from the file's memory section, then (devices created) every CPU, device and the machine
 * timer loaded. Both return 0 or -errno (logged). */
int riscv_board_restore_ram(struct riscv_board *b, const struct snap_reader *r);
int riscv_board_restore_state(struct riscv_board *b, const struct snap_reader *r);

#endif
