/* The riscv board's state, shared by board.c (creation, boot, reset), state.c (its snapshot
 * sections) and virtio_devs.c (virtio-mmio slots). Nothing outside src/board/riscv/ includes
 * this. */
#ifndef VESSEL_BOARD_RISCV_BOARD_INT_H
#define VESSEL_BOARD_RISCV_BOARD_INT_H

#include <stdatomic.h>

#include "board/board.h"
#include "board/riscv/boot.h"
#include "board/riscv/clint.h"
#include "board/riscv/fdt.h"
#include "board/riscv/layout.h"
#include "board/riscv/plic.h"
#include "board/riscv/syscon.h"
#include "bus/bus.h"
#include "dev/goldfish_rtc.h"
#include "dev/uart16550.h"
#include "dev/vmgenid.h"
#include "engine/rv64/rv64.h"
#include "mem/gmem.h"
#include "virtio/input.h"
#include "virtio/mmio.h"

struct riscv_board {
    struct board_params p;
    struct gmem *ram; /* the VM's */
    struct bus bus;
    struct rv64_machine *m;
    struct plic plic;
    struct clint clint;
    struct uart16550 uart;
    struct goldfish_rtc rtc;
    struct vmgenid vmgenid;
    struct syscon syscon;
    /* virtio-mmio transports, slot i at RISCV_VIRTIO_BASE + i * RISCV_VIRTIO_SIZE */
    struct virtio_mmio *mmio[RISCV_VIRTIO_SLOTS];
    int nvirtio;
    /* the power button (board_ops.power_button): a virtio-input device of the board's own */
    struct virtio_input *button;
    struct virtio_mmio *button_mmio;
    uint8_t fdt[RISCV_FDT_MAX_SIZE] __attribute__((aligned(8))); /* libfdt wants 8 */
};

/* virtio_devs.c */
int riscv_virtio_attach(void *board, struct virtio_dev *vdev);
void riscv_virtio_destroy(struct riscv_board *b);
/* The power button: created with the board's devices, destroyed with them. */
int riscv_button_create(struct riscv_board *b);
void riscv_button_destroy(struct riscv_board *b);

/* state.c: the board's snapshot sections (board_ops save, load, load_done). */
int riscv_board_save(void *board, struct snap_writer *w);
int riscv_board_load(void *board, const struct snap_reader *r, const char *path);
int riscv_board_load_done(void *board, const struct snap_reader *r, const char *path);

#endif
