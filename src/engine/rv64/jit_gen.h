/* rv64 JIT translator internals shared by jit_gen.c (the block, integer instructions, control
 * transfers) and jit_gen_mem.c (loads and stores). */
#ifndef VESSEL_ENGINE_RV64_JIT_GEN_H
#define VESSEL_ENGINE_RV64_JIT_GEN_H

#include <stddef.h>

#include "engine/rv64/decode.h"
#include "engine/rv64/jit.h"

#define HOFF(field) ((int32_t)offsetof(struct rv64_hart, field))
#define XOFF(r)     ((int32_t)(8 * (r)))

/* A slow path, emitted after the block's straight-line code. */
struct jit_slow {
    uint8_t *jumps[2]; /* rel32 fields of the jumps into it (NULL: unused) */
    uintptr_t resume;  /* executable address to continue at */
    uint64_t pc;
    int idx;  /* instruction index in the block */
    int kind; /* 0 load, 1 store */
    int size, sign;
    int dst; /* load: host register for the value; store: host register holding it */
};

struct jit_gen {
    struct rv64_hart *h;
    struct rv64_jit *j;
    struct x86_buf *b;
    struct jit_block *blk;
    struct rv64_dinsn insn[JIT_BLOCK_MAX];
    int n;
    int dset;    /* data TLB set */
    uint64_t pc; /* of the instruction being translated */
    int idx;
    struct jit_slow slow[JIT_BLOCK_MAX];
    int nslow;
};

/* Guest register gr into host register hr. */
static inline void gen_ld(struct x86_buf *b, int hr, unsigned gr)
{
    int p = jit_pin(gr);

    if (gr == 0 || gr == 32)
        x86_mov_imm(b, hr, 0);
    else if (p >= 0)
        x86_mov_rr(b, hr, p);
    else
        x86_load64(b, hr, RBP, XOFF(gr));
}

/* Host register hr into guest register gr (nothing for x0). */
static inline void gen_st(struct x86_buf *b, unsigned gr, int hr)
{
    int p = jit_pin(gr);

    if (gr == 0 || gr == 32)
        return;
    if (p >= 0)
        x86_mov_rr(b, p, hr);
    else
        x86_store64(b, RBP, XOFF(gr), hr);
}

/* jit_gen_mem.c */
void jit_gen_load(struct jit_gen *g, const struct rv64_dinsn *d, int size, bool sign);
void jit_gen_store(struct jit_gen *g, const struct rv64_dinsn *d, int size);
void jit_gen_slow_paths(struct jit_gen *g);

/* jit_gen.c: leaves the block after instruction idx trapped (h->pc is already the handler). */
void jit_gen_trap_exit(struct jit_gen *g, int idx);

#endif
