/* CLINT (ACLINT MSWI + MTIMER in the SiFive layout): msip at 0x0 + 4*hart, mtimecmp at
 * 0x4000 + 8*hart, mtime at 0xbff8. 4- and 8-byte accesses. The timer state lives with the
 * harts (every hart compares it), so the CLINT reaches it through callbacks; the board wires
 * them to the rv64 engine and tests to plain variables. */
#ifndef VESSEL_BOARD_RISCV_CLINT_H
#define VESSEL_BOARD_RISCV_CLINT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus/bus.h"

#define CLINT_MSIP     0x0u
#define CLINT_MTIMECMP 0x4000u
#define CLINT_MTIME    0xbff8u

struct clint_ops {
    void (*set_msip)(void *opaque, int hart, int level);
    uint64_t (*get_mtimecmp)(void *opaque, int hart);
    void (*set_mtimecmp)(void *opaque, int hart, uint64_t val);
    uint64_t (*get_mtime)(void *opaque);
    void (*set_mtime)(void *opaque, uint64_t val);
};

/* Snapshot state of the CLINT itself; mtime and mtimecmp are saved with the harts. */
struct clint_state {
    uint32_t msip[64];
};

struct clint {
    pthread_mutex_t lock;
    struct clint_state s;
    int nharts;
    const struct clint_ops *ops;
    void *opaque;
};

extern const struct bus_ops clint_bus_ops;

/* Returns 0 or -EINVAL for a hart count the layout cannot hold. */
int clint_init(struct clint *c, int nharts, const struct clint_ops *ops, void *opaque);
void clint_destroy(struct clint *c);
/* Clears every msip (and drives the lines low). */
void clint_reset(struct clint *c);

/* Snapshot state (version CLINT_SAVE_VERSION): u32 version, u32 harts, u32 msip[harts]. load
 * (machine paused) drives every hart's MSIP line to the loaded level; 0 or -EINVAL. */
#define CLINT_SAVE_VERSION 1
#define CLINT_SAVE_MAX     (8 + 4 * 64)
ssize_t clint_save(struct clint *c, void *buf, size_t cap);
int clint_load(struct clint *c, const void *buf, size_t len);

uint64_t clint_read(void *opaque, uint64_t off, unsigned size);
void clint_write(void *opaque, uint64_t off, unsigned size, uint64_t val);

#endif
