/* The riscv board: a "virt"-style machine (layout.h) on the rv64 engine - ACLINT/CLINT, PLIC,
 * 16550 UART, goldfish RTC, VM generation ID, syscon power-off/reboot, virtio-mmio slots, a
 * device tree - booted through OpenSBI. The VM core drives it through board/board.h. */
#ifndef VESSEL_BOARD_RISCV_BOARD_H
#define VESSEL_BOARD_RISCV_BOARD_H

#include "board/board.h"

extern const struct board_ops riscv_board_ops;

#endif
