/* rv64 JIT tier (x86-64 hosts): translates straight-line runs of guest instructions into host
 * code, one code cache per hart.
 *
 * - jit_cache.c  the code buffer (one memfd mapped twice: writable, and executable: W^X), the
 *                block table, the entry/exit trampolines, linking and flushing.
 * - jit_gen.c    translation of one block of guest instructions.
 * - jit_gen_mem.c loads and stores: the inline TLB fast path and the out-of-line slow path.
 * - jit_run.c    the dispatcher (rv64_jit_exec) and the helpers translated code calls.
 *
 * The interpreter stays the reference: an instruction the JIT does not translate (system,
 * floating point, atomics, a page-crossing instruction) ends the block and runs through
 * rv64_exec(), one instruction, exactly as on the interpreter tier.
 *
 * Translated code runs with RBP = the hart, guest registers either in host registers (the
 * pinned ones, see jit_pin) or in h->x[], h->jit_left counting down the instructions it may
 * still run (a block that does not fit leaves before its first instruction). A translation
 * depends on the guest pc, the host address of its first byte (so on the guest physical
 * address: every entry checks the fetch TLB) and the mode (the TLB sets for fetch and data).
 * Direct jumps within a page are linked block to block; other jumps look the target up in a
 * small cache checked against the fetch TLB.
 *
 * FENCE.I (and a reset) counts h->jit_epoch up. Every block entry compares the epoch it was last
 * checked in with the hart's; a stale block returns to the dispatcher, which compares the guest
 * bytes with the copy kept at translation: unchanged, the block is good for the new epoch;
 * changed, it is translated again and the old entry jumps to the new code. So stores reach
 * instruction fetch after FENCE.I, as on the interpreter tier, without retranslating
 * everything each time (Linux runs FENCE.I thousands of times while it boots). */
#ifndef VESSEL_ENGINE_RV64_JIT_H
#define VESSEL_ENGINE_RV64_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/rv64/cpu.h"
#include "engine/rv64/jit_x86.h"

/* How translated code returns to the dispatcher (EAX). */
enum jit_exit {
    JIT_EXIT_NORMAL = 0, /* h->pc is the next instruction to run */
    JIT_EXIT_LINK,       /* the same, and h->jit_link is a jump to point at pc's block */
    JIT_EXIT_TRAP,       /* an instruction trapped: h->pc is the handler */
};

#define JIT_BLOCK_MAX    64    /* guest instructions per block */
#define JIT_HASH_SIZE    32768 /* block table buckets per hart */
#define JIT_JCACHE_SIZE  16384 /* indirect-jump cache entries per hart */
#define JIT_BLOCK_BYTES  32768 /* room one translation may take at most (64 stores fit) */
#define JIT_CODE_PER_BLK 192   /* average code bytes per entry (cold ones have none): table size */
#define JIT_HOT          8 /* a block is translated when it starts for the 8th time (VESSEL_RV64_JIT_HOT) */

struct jit_block {
    uint64_t pc;
    uintptr_t host;         /* host address of the first instruction's first byte */
    uintptr_t code;         /* executable entry; 0 while not translated */
    const uint8_t *copy;    /* the guest bytes it was translated from (writable view) */
    struct jit_block *next; /* hash chain */
    uint32_t mode;
    uint32_t epoch;    /* h->jit_epoch it was last checked in */
    uint16_t ninsns;   /* instructions; 0: the interpreter runs the first one */
    uint16_t glen;     /* bytes of guest code */
    uint16_t count;    /* runs through the interpreter so far, while it has no code */
    uint8_t epoch_off; /* where the entry check's copy of epoch is in the code */
};

struct jit_jentry {
    uint64_t pc;
    struct jit_block *blk;
};

struct rv64_jit {
    uint8_t *rw, *rx; /* the two views of the code buffer */
    size_t size, used, stubs_end;
    struct jit_block *blocks;
    uint32_t nblocks, maxblocks;
    struct jit_block **hash;
    struct jit_jentry *jcache;
    uint64_t gen; /* flushes so far */
    unsigned hot; /* runs before a block is translated */
    /* shared stubs, executable addresses */
    uintptr_t enter, exit, lookup;
    /* called (CALL rel32) from blocks: the C helpers with the caller-saved pinned registers
     * (or, for exec_one, all of them) kept in h->x[] across; ZF set when the helper said
     * false. link_exit and trap_exit are jumped to. */
    uintptr_t call_load, call_store, call_exec_one, call_divrem, link_exit, trap_exit;
    /* statistics */
    uint64_t n_translated, n_flushes, n_full, n_interp, n_revalid, n_changed, n_insns;
    bool stats;
};

/* The mode a translation depends on: fetch and data TLB sets. */
static inline uint64_t rv64_jit_mode(const struct rv64_hart *h)
{
    return (uint64_t)rv64_tlb_set(h->priv) | (uint64_t)rv64_tlb_set(rv64_data_priv(h)) << 2;
}

/* Guest registers kept in host registers while translated code runs: the host register, or
 * -1 for one that lives in h->x[]. The caller-saved ones (R8..R11) are saved around calls. */
static inline int jit_pin(unsigned r)
{
    switch (r) {
    case 15: return RBX; /* a5 */
    case 14: return R12; /* a4 */
    case 10: return R13; /* a0 */
    case 2: return R14;  /* sp */
    case 8: return R15;  /* s0 */
    case 1: return R8;   /* ra */
    case 13: return R9;  /* a3 */
    case 9: return R10;  /* s1 */
    case 12: return R11; /* a2 */
    default: return -1;
    }
}

/* jit_cache.c */
bool rv64_jit_supported(void);
int rv64_jit_create(struct rv64_hart *h, size_t size);
void rv64_jit_destroy(struct rv64_hart *h);
void rv64_jit_flush(struct rv64_hart *h);
void rv64_jit_stats(const struct rv64_hart *h);
struct jit_block *rv64_jit_find(struct rv64_jit *j, uint64_t pc, uintptr_t host, uint64_t mode);
/* A free block entry (NULL when the table is full: flush); rv64_jit_insert() adds it. */
struct jit_block *rv64_jit_new(struct rv64_jit *j);
void rv64_jit_insert(struct rv64_jit *j, struct jit_block *blk);
/* Room for one translation (false when the cache is full: flush); rv64_jit_code_end() keeps
 * what was written. */
bool rv64_jit_code_begin(struct rv64_jit *j, struct x86_buf *b);
void rv64_jit_code_end(struct rv64_jit *j, const struct x86_buf *b);
void rv64_jit_link(struct rv64_jit *j, uintptr_t jump, uintptr_t target);
void rv64_jit_unhash(struct rv64_jit *j, struct jit_block *blk);
/* The block is valid in epoch (its guest bytes are unchanged). */
void rv64_jit_set_epoch(struct rv64_jit *j, struct jit_block *blk, uint32_t epoch);
/* A stale block's entry becomes a jump to its replacement (links into it stay good). */
void rv64_jit_redirect(struct rv64_jit *j, struct jit_block *old, uintptr_t target);
/* Runs translated code at the executable address code; returns an enum jit_exit. */
int rv64_jit_enter(struct rv64_hart *h, uintptr_t code);

/* jit_gen.c: the number of instructions of the block at blk->pc (blk->host: its first byte)
 * into blk->ninsns (0: the first is one the JIT does not translate). */
void rv64_jit_scan(struct jit_block *blk);
/* Translates the block into b and sets blk->code. Returns 0, -ENOSPC when the cache is full,
 * -ENOENT when the first instruction is not one the JIT translates. */
int rv64_jit_translate(struct rv64_hart *h, struct jit_block *blk, struct x86_buf *b);

/* jit_run.c: the helpers translated code calls */
bool rv64_jit_load_helper(struct rv64_hart *h, uint64_t va, uint64_t size);
bool rv64_jit_store_helper(struct rv64_hart *h, uint64_t va, uint64_t size, uint64_t val);
/* Runs one instruction of the block through rv64_exec_one() (len | after << 8: after counts the
 * block's instructions after it); false when the block must end there. */
bool rv64_jit_exec_one(struct rv64_hart *h, uint32_t insn, uint32_t raw, uint64_t len_unrun);
/* Instructions that translated code runs through rv64_jit_exec_one() without ending the block:
 * floating point, atomics, FENCE, CSR accesses. */
bool rv64_jit_inline_generic(uint32_t insn);
uint64_t rv64_jit_divrem(uint64_t a, uint64_t b, uint64_t op);

/* jit_run.c: runs up to n instructions on the JIT tier (the contract of rv64_exec). */
uint64_t rv64_jit_exec(struct rv64_hart *h, uint64_t n);

#endif
