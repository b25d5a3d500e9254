/* SiFive PLIC as on QEMU's virt machine: level-triggered sources 1..RISCV_PLIC_NDEV, two
 * contexts per hart (2*hart: M-mode external interrupt, 2*hart+1: S-mode). The board turns a
 * context's output into the hart's MEIP/SEIP through the set_irq callback. */
#ifndef VESSEL_BOARD_RISCV_PLIC_H
#define VESSEL_BOARD_RISCV_PLIC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "board/riscv/layout.h"
#include "bus/bus.h"

#define PLIC_NSRC        (RISCV_PLIC_NDEV + 1) /* source 0 does not exist */
#define PLIC_WORDS       ((PLIC_NSRC + 31) / 32)
#define PLIC_MAX_CTX     64 /* 2 * RV64_MAX_HARTS */
#define PLIC_PRIO_MASK   7u
#define PLIC_PRIORITY    0x0u
#define PLIC_PENDING     0x1000u
#define PLIC_ENABLE      0x2000u
#define PLIC_ENABLE_STEP 0x80u
#define PLIC_CONTEXT     0x200000u
#define PLIC_CTX_STEP    0x1000u

struct plic_state {
    uint32_t priority[PLIC_NSRC];
    uint32_t level[PLIC_WORDS];   /* input lines as the devices drive them */
    uint32_t pending[PLIC_WORDS]; /* gateway has a request waiting to be claimed */
    uint32_t claimed[PLIC_WORDS]; /* claimed, not yet completed: no new request */
    uint32_t enable[PLIC_MAX_CTX][PLIC_WORDS];
    uint32_t threshold[PLIC_MAX_CTX];
};

typedef void (*plic_set_irq_fn)(void *opaque, int context, int level);

struct plic {
    pthread_mutex_t lock;
    struct plic_state s;
    int ncontexts;
    uint8_t out[PLIC_MAX_CTX]; /* last level given to set_irq */
    plic_set_irq_fn set_irq;
    void *opaque;
};

extern const struct bus_ops plic_bus_ops;

/* ncontexts is 2 * number of harts (at most PLIC_MAX_CTX). Returns 0 or -EINVAL. */
int plic_init(struct plic *p, int ncontexts, plic_set_irq_fn set_irq, void *opaque);
void plic_destroy(struct plic *p);
void plic_reset(struct plic *p);
/* Drives source src's input line; matches struct irq_line's set(). */
void plic_set_level(void *plic, int src, int level);

/* Snapshot state (version PLIC_SAVE_VERSION, little-endian): u32 version, u32 sources,
 * u32 contexts, then u32 priority[sources], level, pending and claimed bit words, and per
 * context its enable words and u32 threshold. save returns the length or -ENOSPC; load
 * (machine paused) returns 0 or -EINVAL for another version, shape or impossible values, and
 * drives every context output to match the loaded state. */
#define PLIC_SAVE_VERSION 1
#define PLIC_SAVE_MAX     (12 + 4 * PLIC_NSRC + 12 * PLIC_WORDS + PLIC_MAX_CTX * (4 * PLIC_WORDS + 4))
ssize_t plic_save(struct plic *p, void *buf, size_t cap);
int plic_load(struct plic *p, const void *buf, size_t len);

uint64_t plic_read(void *opaque, uint64_t off, unsigned size);
void plic_write(void *opaque, uint64_t off, unsigned size, uint64_t val);

#endif
