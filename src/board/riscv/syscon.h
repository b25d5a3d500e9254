/* The SiFive "test" device QEMU's virt machine exposes as a syscon: a 32-bit write at offset 0
 * whose low 16 bits say what to do (0x5555 power off, 0x7777 reset, 0x3333 power off with the
 * failure code in the upper 16 bits). It signals the board; it does not act. */
#ifndef VESSEL_BOARD_RISCV_SYSCON_H
#define VESSEL_BOARD_RISCV_SYSCON_H

#include <stdint.h>

#include "bus/bus.h"

#define SYSCON_FAIL     0x3333u
#define SYSCON_POWEROFF 0x5555u
#define SYSCON_REBOOT   0x7777u

enum syscon_action { SYSCON_ACT_POWEROFF, SYSCON_ACT_REBOOT, SYSCON_ACT_FAIL };

struct syscon {
    /* code: the failure code for SYSCON_ACT_FAIL, else 0 */
    void (*action)(void *opaque, enum syscon_action act, uint32_t code);
    void *opaque;
};

extern const struct bus_ops syscon_bus_ops;

void syscon_init(struct syscon *sc, void (*action)(void *, enum syscon_action, uint32_t),
                 void *opaque);

#endif
