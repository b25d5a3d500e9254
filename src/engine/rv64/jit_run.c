/* rv64 JIT dispatcher: finds or translates the block at pc and runs it; runs through the
 * interpreter what the JIT does not translate; links blocks that asked for it. Also the C
 * helpers that translated code calls. */
#include <errno.h>

#include "engine/rv64/decode.h"
#include "engine/rv64/insn.h"
#include "engine/rv64/jit.h"

bool rv64_jit_load_helper(struct rv64_hart *h, uint64_t va, uint64_t size_sign)
{
    int size = (int)(size_sign & 0xf);
    uint64_t v;

    if (!rv64_load(h, va, size, &v))
        return false;
    if (size_sign & 0x10)
        v = size == 1 ? (uint64_t)(int8_t)v : size == 2 ? (uint64_t)(int16_t)v : sext32(v);
    h->jit_val = v;
    return true;
}

bool rv64_jit_store_helper(struct rv64_hart *h, uint64_t va, uint64_t size, uint64_t val)
{
    return rv64_store(h, va, (int)size, val);
}

bool rv64_jit_inline_generic(uint32_t insn)
{
    unsigned f3 = (insn >> 12) & 7;

    switch (insn & 0x7f) {
    case 0x2f: /* AMO */
    case 0x07: /* LOAD-FP */
    case 0x27: /* STORE-FP */
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f:
    case 0x53: return true;
    case 0x0f: return f3 == 0;            /* FENCE, not FENCE.I */
    case 0x73: return f3 != 0 && f3 != 4; /* CSR instructions */
    default: return false;
    }
}

bool rv64_jit_exec_one(struct rv64_hart *h, uint32_t insn, uint32_t raw, uint64_t len_unrun)
{
    unsigned len = (unsigned)(len_unrun & 0xff);
    uint64_t npc = h->pc + len;
    /* instret counts the instructions since the dispatcher entered, this one included (as the
     * interpreter's does) */
    int64_t ran = h->jit_left0 - h->jit_left - (int64_t)(len_unrun >> 8);

    h->instret += (uint64_t)ran;
    rv64_exec_one(h, insn, raw, len);
    h->instret -= (uint64_t)ran;
    return h->budget && h->pc == npc;
}

uint64_t rv64_jit_divrem(uint64_t a, uint64_t b, uint64_t op)
{
    int32_t a32 = (int32_t)a, b32 = (int32_t)b;
    uint32_t ua = (uint32_t)a, ub = (uint32_t)b;

    switch (op) {
    case OP_DIV:
        if (b == 0)
            return ~0ULL;
        if ((int64_t)a == INT64_MIN && (int64_t)b == -1)
            return a;
        return (uint64_t)((int64_t)a / (int64_t)b);
    case OP_DIVU: return b ? a / b : ~0ULL;
    case OP_REM:
        if (b == 0)
            return a;
        if ((int64_t)a == INT64_MIN && (int64_t)b == -1)
            return 0;
        return (uint64_t)((int64_t)a % (int64_t)b);
    case OP_REMU: return b ? a % b : a;
    case OP_DIVW:
        if (b32 == 0)
            return ~0ULL;
        if (a32 == INT32_MIN && b32 == -1)
            return sext32((uint32_t)a32);
        return sext32((uint32_t)(a32 / b32));
    case OP_DIVUW: return ub ? sext32(ua / ub) : ~0ULL;
    case OP_REMW:
        if (b32 == 0)
            return sext32((uint32_t)a32);
        if (a32 == INT32_MIN && b32 == -1)
            return 0;
        return sext32((uint32_t)(a32 % b32));
    default: return ub ? sext32(ua % ub) : sext32(ua); /* REMUW */
    }
}

/* A new entry for (pc, host, mode), not translated yet (flushes the cache when the table is
 * full). */
static struct jit_block *block_new(struct rv64_hart *h, uint64_t pc, uintptr_t host, uint64_t mode)
{
    struct rv64_jit *j = h->jit;
    struct jit_block *blk = rv64_jit_new(j);

    if (!blk) {
        j->n_full++;
        rv64_jit_flush(h);
        blk = rv64_jit_new(j);
    }
    memset(blk, 0, sizeof(*blk));
    blk->pc = pc;
    blk->host = host;
    blk->mode = (uint32_t)mode;
    blk->epoch = h->jit_epoch;
    rv64_jit_scan(blk);
    rv64_jit_insert(j, blk);
    return blk;
}

/* Translates blk. False when the cache was full and flushed (blk is gone with the rest). */
static bool block_translate(struct rv64_hart *h, struct jit_block *blk)
{
    struct rv64_jit *j = h->jit;
    struct x86_buf b;
    int err;

    if (!rv64_jit_code_begin(j, &b)) {
        j->n_full++;
        rv64_jit_flush(h);
        return false;
    }
    err = rv64_jit_translate(h, blk, &b);
    if (err == -ENOSPC) { /* cannot happen: JIT_BLOCK_BYTES is room for the largest block */
        j->n_full++;
        rv64_jit_flush(h);
        return false;
    }
    if (err)
        return true; /* the interpreter runs it (-ENOENT), or no memory: stays cold */
    rv64_jit_code_end(j, &b);
    j->n_insns += blk->ninsns;
    if (!(++j->n_translated & 0xffff) && j->stats)
        rv64_jit_stats(h);
    return true;
}

/* The entry for (pc, host, mode), up to date with the FENCE.I epoch; hint: the jump cache's
 * entry for pc, if it is that block (only its epoch was old). */
static struct jit_block *block_get(struct rv64_hart *h, uint64_t pc, uintptr_t host, uint64_t mode,
                                   struct jit_block *hint)
{
    struct rv64_jit *j = h->jit;
    struct jit_block *blk = hint ? hint : rv64_jit_find(j, pc, host, mode), *stale = NULL;
    uint64_t gen = j->gen;

    if (!blk || blk->epoch == h->jit_epoch)
        return blk ? blk : block_new(h, pc, host, mode);
    if (!blk->code) { /* not translated: decide again in place */
        rv64_jit_scan(blk);
        blk->epoch = h->jit_epoch;
        return blk;
    }
    if (!memcmp(blk->copy, (const void *)host, blk->glen)) {
        rv64_jit_set_epoch(j, blk, h->jit_epoch); /* FENCE.I since, but the code is the same */
        j->n_revalid++;
        return blk;
    }
    /* The code changed: a new translation at once (it was hot), and the old entry jumps to it
     * so that the links into the old one stay good. */
    rv64_jit_unhash(j, blk);
    j->n_changed++;
    stale = blk;
    blk = block_new(h, pc, host, mode);
    if (j->gen == gen && blk->ninsns && block_translate(h, blk) && j->gen == gen && blk->code)
        rv64_jit_redirect(j, stale, blk->code);
    return j->gen == gen ? blk : NULL;
}

/* Runs up to max instructions on the interpreter. */
static uint64_t interp(struct rv64_hart *h, uint64_t max)
{
    h->jit->n_interp++;
    return rv64_exec(h, max);
}

uint64_t rv64_jit_exec(struct rv64_hart *h, uint64_t n)
{
    struct rv64_jit *j = h->jit;
    uint64_t done = 0, link_gen = 0;
    uintptr_t link = 0;

    h->budget = 1;
    while (done < n) {
        uint64_t pc = h->pc, mode = 0, k, left = n - done;
        const struct rv64_tlb_entry *e;
        struct jit_block *blk = NULL;
        int fset, rc;

        fset = rv64_tlb_set(h->priv);
        e = &h->tlb[fset][ACC_X][(pc >> 12) & (TLB_SIZE - 1)];
        if (likely(e->tag == (pc >> 12) << 1)) {
            const struct jit_jentry *je = &j->jcache[(pc >> 1) & (JIT_JCACHE_SIZE - 1)];
            uintptr_t host = (uintptr_t)(pc + e->addend);
            mode = rv64_jit_mode(h);
            blk = je->blk;
            if (je->pc != pc || !blk || blk->host != host || blk->mode != mode) {
                blk = block_get(h, pc, host, mode, NULL);
                if (blk) /* translated or not: the next lookup of pc is quick */
                    j->jcache[(pc >> 1) & (JIT_JCACHE_SIZE - 1)] = (struct jit_jentry){pc, blk};
            } else if (blk->epoch != h->jit_epoch) {
                blk = block_get(h, pc, host, mode, blk);
                if (blk) /* translated or not: the next lookup of pc is quick */
                    j->jcache[(pc >> 1) & (JIT_JCACHE_SIZE - 1)] = (struct jit_jentry){pc, blk};
            }
        }
        if (blk && !blk->code && blk->ninsns && ++blk->count >= j->hot) {
            uint64_t gen = j->gen;
            if (!block_translate(h, blk) || j->gen != gen)
                blk = NULL;
        }
        if (!blk || !blk->code || blk->ninsns > left) {
            /* the interpreter: a fetch TLB miss or fault, a block not (yet) translated, one
             * the JIT does not translate, the end of the batch */
            link = 0;
            k = interp(h, !blk || !blk->ninsns ? 1 : blk->ninsns < left ? blk->ninsns : left);
            done += k;
            if (!h->budget)
                break;
            continue;
        }
        if (link) {
            if (link_gen == j->gen)
                rv64_jit_link(j, link, blk->code);
            link = 0;
        }
        h->jit_left = h->jit_left0 = (int64_t)left;
        h->jit_mode = mode;
        h->jit_xtlb = &h->tlb[fset][ACC_X][0];
        rc = rv64_jit_enter(h, blk->code);
        k = left - (uint64_t)h->jit_left;
        done += k;
        h->instret += k;
        if (rc == JIT_EXIT_TRAP || !h->budget)
            break;
        if (rc == JIT_EXIT_LINK) {
            link = h->jit_link;
            link_gen = j->gen;
        }
    }
    return done;
}
